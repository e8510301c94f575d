package top

import (
	"reflect"
	"testing"

	"github.com/netsql/netsql/queries/result"
)

func set(cols []string, rows ...[]any) *result.Set {
	return &result.Set{Columns: cols, Types: make([]string, len(cols)), Rows: rows}
}

func TestRates(t *testing.T) {
	cols := []string{"name", "ns", "label", "bytes", "pkts"}
	prev := set(cols,
		[]any{"eth0", int64(1), "x", int64(1000), int64(10)},
		[]any{"eth1", int64(1), "x", int64(5000), int64(50)}, // resets below
		[]any{"gone", int64(1), "x", int64(7), int64(7)},     // vanishes
		[]any{"dup", int64(1), "x", int64(1), int64(1)},      // twice in cur
		[]any{"eth0", int64(2), "x", int64(0), nil},          // same name, other ns
		[]any{"twice", int64(1), "x", int64(1), int64(1)},    // twice in prev
		[]any{"twice", int64(1), "x", int64(2), int64(2)},
		[]any{"text", int64(1), "x", "12", 1.5},
	)
	cur := set(cols,
		[]any{"eth0", int64(1), "y", int64(3000), int64(14)},
		[]any{"eth1", int64(1), "y", int64(100), int64(51)},
		[]any{"new", int64(1), "y", int64(99), int64(9)},
		[]any{"dup", int64(1), "y", int64(5), int64(5)},
		[]any{"dup", int64(1), "y", int64(6), int64(6)},
		[]any{"eth0", int64(2), "y", int64(40), int64(4)},
		[]any{"twice", int64(1), "y", int64(3), int64(3)},
		[]any{"text", int64(1), "y", "20", 3.5},
	)
	got, err := Rates(prev, cur, []string{"name", "ns"}, []string{"bytes", "pkts"}, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]any{
		{"eth0", int64(1), "y", 1000.0, 2.0},
		{"eth1", int64(1), "y", nil, 0.5}, // bytes went down: reset, unknown
		{"new", int64(1), "y", nil, nil},  // no previous value
		{"dup", int64(1), "y", nil, nil},  // ambiguous key
		{"dup", int64(1), "y", nil, nil},
		{"eth0", int64(2), "y", 20.0, nil}, // NULL before: unknown
		{"twice", int64(1), "y", nil, nil},
		{"text", int64(1), "y", nil, 1.0}, // text is no counter
	}
	if !reflect.DeepEqual(got.Rows, want) {
		t.Errorf("rates:\n got %v\nwant %v", got.Rows, want)
	}
	if cur.Rows[0][3] != int64(3000) {
		t.Errorf("Rates modified its input: %v", cur.Rows[0])
	}

	// No previous result, or no time between them: every rate unknown.
	for _, tc := range []struct {
		prev *result.Set
		dt   float64
	}{{nil, 2}, {prev, 0}, {prev, -1}} {
		got, err := Rates(tc.prev, cur, []string{"name", "ns"}, []string{"bytes", "pkts"}, tc.dt)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range got.Rows {
			if r[3] != nil || r[4] != nil {
				t.Errorf("prev %v dt %v: row %v has a rate", tc.prev != nil, tc.dt, r)
			}
		}
	}

	// No key columns: the one row against the one row.
	one, err := Rates(set([]string{"c"}, []any{int64(10)}), set([]string{"c"}, []any{int64(16)}), nil, []string{"c"}, 3)
	if err != nil || one.Rows[0][0] != 2.0 {
		t.Errorf("keyless rate = %v, %v; want 2", one.Rows, err)
	}
	// A counter or key the query does not return is the panel's error.
	if _, err := Rates(nil, cur, []string{"nope"}, nil, 1); err == nil {
		t.Error("a missing key column is no error")
	}
	if _, err := Rates(nil, cur, nil, []string{"nope"}, 1); err == nil {
		t.Error("a missing counter column is no error")
	}
}

// TestRatesWithoutCountersDoNoRowWork: a panel that declares no
// counters (programs, hosts, listeners: their rates come from the
// snapshot's per-socket columns) gets its result back as it is, with
// its key columns still checked: no copy of its rows, no key encoded
// per row, however many rows it has.
func TestRatesWithoutCountersDoNoRowWork(t *testing.T) {
	cols := []string{"host", "conns"}
	mk := func(n int) *result.Set {
		s := set(cols)
		for i := 0; i < n; i++ {
			s.Rows = append(s.Rows, []any{"10.0.0." + itoa(i), int64(i)})
		}
		return s
	}
	prev, cur := mk(10000), mk(10000)
	got, err := Rates(prev, cur, []string{"host"}, nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, cur) {
		t.Fatalf("Rates without counters changed the result")
	}
	if allocs := testing.AllocsPerRun(5, func() { Rates(prev, cur, []string{"host"}, nil, 2) }); allocs > 10 {
		t.Errorf("Rates without counters over 10,000 rows made %.0f allocations, want a few (no per-row work)", allocs)
	}
	if _, err := Rates(prev, cur, []string{"nope"}, nil, 2); err == nil {
		t.Errorf("a key column missing from the result is not an error")
	}
}
