package metrics

import (
	"context"
	"testing"

	"github.com/netsql/netsql/queries"
)

// TestConntrackMetrics gathers the builtin metric-conntrack over the
// fixture tree, whose table holds 950 of 1000 entries and whose per-CPU
// counters show 3 drops and 5 early drops.
func TestConntrackMetrics(t *testing.T) {
	q, ok := queries.Lookup("metric-conntrack")
	if !ok {
		t.Fatal("no builtin metric-conntrack")
	}
	set, err := NewSet(engine(t), []queries.Query{q}, nil)
	if err != nil {
		t.Fatal(err)
	}
	mfs, failed, err := set.Gather(context.Background())
	if err != nil || len(failed) > 0 {
		t.Fatalf("gather: %v %v", err, failed)
	}
	m := families(mfs)
	for name, want := range map[string]float64{
		"netsql_conntrack_fill_ratio": 0.95, "netsql_conntrack_entries": 950, "netsql_conntrack_max_entries": 1000,
		"netsql_conntrack_dropped_total": 3, "netsql_conntrack_early_dropped_total": 5, "netsql_conntrack_insert_failed_total": 1,
	} {
		ms := m[name].GetMetric()
		if len(ms) != 1 {
			t.Errorf("%s: %d samples, want 1", name, len(ms))
			continue
		}
		v := ms[0].GetGauge().GetValue() + ms[0].GetCounter().GetValue()
		if v != want {
			t.Errorf("%s = %v, want %v", name, v, want)
		}
	}
}
