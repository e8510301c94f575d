package queries_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/netsql/netsql/queries"
	"github.com/netsql/netsql/vtab"
)

// TestConntrackFullAlert runs the builtin conntrack-full alert over the
// fixture tree (950 of 1000 entries, 3 drops): one row above 90 %, and
// still one at 99 % because of the drops: a row is what --fail-on-rows
// turns into a failing exit.
func TestConntrackFullAlert(t *testing.T) {
	q, ok := queries.Lookup("conntrack-full")
	if !ok {
		t.Fatal("no builtin conntrack-full")
	}
	eng, err := vtab.Open(vtab.Options{ProcRoot: "../vtab/testdata/fixture/proc"})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	for _, percent := range []int{90, 99} {
		rows, err := eng.QueryContext(context.Background(), q.SQL, sql.Named("percent", percent))
		if err != nil {
			t.Fatalf("percent %d: %v", percent, err)
		}
		n := 0
		for rows.Next() {
			var count, max, dropped, early int64
			var fill float64
			if err := rows.Scan(&count, &max, &fill, &dropped, &early); err != nil {
				t.Fatal(err)
			}
			if count != 950 || max != 1000 || fill != 95 || dropped != 3 || early != 5 {
				t.Errorf("percent %d: %d %d %v %d %d", percent, count, max, fill, dropped, early)
			}
			n++
		}
		rows.Close()
		if n != 1 {
			t.Errorf("percent %d: %d rows, want 1", percent, n)
		}
	}
}
