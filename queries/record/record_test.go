package record

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netsql/netsql/queries"
	"github.com/netsql/netsql/vtab"
)

func TestSnapshots(t *testing.T) {
	eng, err := vtab.Open(vtab.Options{ProcRoot: "../../vtab/testdata/fixture/proc"})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	ok, _ := queries.Parse("listening-ports.sql", "SELECT local_port, proto FROM sockets WHERE state = 'LISTEN' ORDER BY 1, 2;")
	bad, _ := queries.Parse("bad.sql", "SELECT nope FROM sockets;")
	file := filepath.Join(t.TempDir(), "h.db")
	ctx := context.Background()
	r, err := Open(ctx, file, eng, []queries.Query{ok, bad}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	fixed := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	r.now = func() time.Time { return fixed } // two snapshots in one instant
	var ats []string
	for i := 0; i < 2; i++ {
		snap, err := r.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(snap.Failed) != 1 || !strings.Contains(snap.Failed[0].Error(), "query bad: no such column: nope") || snap.Rows["listening-ports"] == 0 {
			t.Errorf("snapshot = %+v", snap)
		}
		ats = append(ats, snap.CapturedAt)
	}
	if ats[0] != "2026-01-02 03:04:05.000000" || ats[1] <= ats[0] {
		t.Errorf("captured_at = %q: want distinct, increasing stamps", ats)
	}
	var n, errs int
	r.db.QueryRow("SELECT count(DISTINCT captured_at) FROM listening_ports").Scan(&n)
	r.db.QueryRow("SELECT count(*) FROM netsql_snapshots WHERE query = 'bad' AND error LIKE '%nope%' AND rows IS NULL").Scan(&errs)
	if n != 2 || errs != 2 {
		t.Errorf("snapshots in the table: %d, failures recorded: %d", n, errs)
	}
	if err := r.Run(ctx, 0, nil); err == nil || !strings.Contains(err.Error(), "no such column") {
		t.Errorf("Run once with a failing query = %v, want its error", err)
	}
}

func TestTableName(t *testing.T) {
	if got := TableName("sockets-by-state"); got != "sockets_by_state" {
		t.Errorf("TableName = %q", got)
	}
}
