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

// TestKeepPrunesOldSnapshots: with Keep set, a snapshot deletes the rows
// captured more than Keep before it from every recorded table and from
// the ledger, in the same transaction, and leaves other tables alone.
func TestKeepPrunesOldSnapshots(t *testing.T) {
	eng, err := vtab.Open(vtab.Options{ProcRoot: "../../vtab/testdata/fixture/proc"})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	listening, _ := queries.Parse("listening-ports.sql", "SELECT local_port FROM sockets WHERE state = 'LISTEN';")
	one, _ := queries.Parse("one.sql", "SELECT 1 AS one;")
	file := filepath.Join(t.TempDir(), "h.db")
	ctx := context.Background()
	r, err := Open(ctx, file, eng, []queries.Query{listening, one}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// A table of the user's own in the same file is never pruned.
	if _, err := r.db.Exec("CREATE TABLE notes(captured_at TEXT, note TEXT); INSERT INTO notes VALUES ('2000-01-01 00:00:00.000000', 'mine')"); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	clock := start
	r.now = func() time.Time { return clock }
	perSnapshot := 0
	stamps := func(table string) []string {
		rows, err := r.db.Query("SELECT DISTINCT captured_at FROM " + table + " ORDER BY 1")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var s string
			rows.Scan(&s)
			out = append(out, s)
		}
		return out
	}
	for i := range 4 { // snapshots at 3:00, 4:00, 5:00, 6:00
		clock = start.Add(time.Duration(i) * time.Hour)
		if i == 3 {
			r.Keep = 90 * time.Minute // from now on keep 4:30 and later
		}
		snap, err := r.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		perSnapshot = snap.Rows["listening-ports"] + snap.Rows["one"]
		if i < 3 && snap.Pruned != 0 {
			t.Errorf("snapshot %d pruned %d rows without Keep", i, snap.Pruned)
		}
		if i == 3 && snap.Pruned != int64(2*perSnapshot) {
			t.Errorf("the 6:00 snapshot pruned %d rows, want the 3:00 and 4:00 snapshots' %d", snap.Pruned, 2*perSnapshot)
		}
	}
	want := []string{"2026-01-02 05:00:00.000000", "2026-01-02 06:00:00.000000"}
	for _, table := range []string{"listening_ports", "one", SnapshotsTable} {
		if got := stamps(table); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s holds snapshots %v, want %v", table, got, want)
		}
	}
	if got := stamps("notes"); len(got) != 1 {
		t.Errorf("the user's notes table was touched: %v", got)
	}
}
