package record

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/netsql/netsql/queries"
	"github.com/netsql/netsql/queries/internal/enginetest"
)

// TestSnapshotWalksProcOnce: the queries of one snapshot that name
// owners share one /proc fd walk, and the next snapshot walks again.
func TestSnapshotWalksProcOnce(t *testing.T) {
	eng, src := enginetest.Open(t, "../../vtab/testdata/fixture/proc")
	byProgram, _ := queries.Parse("by-program.sql", "SELECT program, count(*) AS n FROM sockets GROUP BY 1;")
	byUnit, _ := queries.Parse("by-unit.sql", "SELECT unit, count(*) AS n FROM sockets GROUP BY 1;")
	ctx := context.Background()
	r, err := Open(ctx, filepath.Join(t.TempDir(), "h.db"), eng, []queries.Query{byProgram, byUnit}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for i := 1; i <= 2; i++ {
		before := src.OwnerScans()
		snap, err := r.Snapshot(ctx)
		if err != nil || len(snap.Failed) > 0 {
			t.Fatalf("snapshot %d: %v %v", i, err, snap.Failed)
		}
		if n := src.OwnerScans() - before; n != 1 {
			t.Errorf("snapshot %d walked /proc %d times, want 1", i, n)
		}
	}
}
