package metrics

import (
	"context"
	"testing"

	"github.com/netsql/netsql/queries"
	"github.com/netsql/netsql/queries/internal/enginetest"
)

// TestScrapeWalksProcOnce: the queries of one scrape that name owners
// (by program, by unit) share one /proc fd walk, and the next scrape
// walks again, so its owners are not a scrape old.
func TestScrapeWalksProcOnce(t *testing.T) {
	eng, src := enginetest.Open(t, "../../vtab/testdata/fixture/proc")
	var qs []queries.Query
	for _, name := range []string{"metric-sockets-by-program", "metric-sockets-by-unit"} {
		q, ok := queries.Lookup(name)
		if !ok {
			t.Fatalf("no built-in query %s", name)
		}
		qs = append(qs, q)
	}
	set, err := NewSet(eng, qs, nil)
	if err != nil {
		t.Fatal(err)
	}
	for scrape := 1; scrape <= 2; scrape++ {
		before := src.OwnerScans()
		mfs, failed, err := set.Gather(context.Background())
		if err != nil || len(failed) > 0 {
			t.Fatalf("scrape %d: %v %v", scrape, err, failed)
		}
		if len(families(mfs)["netsql_program_sockets"].GetMetric()) == 0 {
			t.Fatalf("scrape %d: no program samples from the fixture", scrape)
		}
		if n := src.OwnerScans() - before; n != 1 {
			t.Errorf("scrape %d walked /proc %d times, want 1", scrape, n)
		}
	}
}
