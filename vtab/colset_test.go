package vtab

import (
	"context"
	"fmt"
	"slices"
	"testing"
)

// TestWideTable: a table of more than 63 columns opens, every column reads
// its own value, and the columns a producer is told are used follow
// SQLite's ColUsed, whose bit 63 stands for "column 63 or later".
func TestWideTable(t *testing.T) {
	const n = 70
	type rec struct{ v [n]int64 }
	var seen []string // the used columns of the last read
	wide := &Table[rec]{Name: "wide", Doc: "wide"}
	for i := 0; i < n; i++ {
		wide.Columns = append(wide.Columns, Column[rec]{
			Name: fmt.Sprintf("c%d", i), Type: Integer, Doc: "column",
			Value: func(r *rec) any { return r.v[i] },
		})
	}
	wide.Rows = func(ctx context.Context, src *Source, q *Query) ([]rec, error) {
		seen = nil
		for _, c := range wide.Columns {
			if q.Uses(c.Name) {
				seen = append(seen, c.Name)
			}
		}
		var out []rec
		for r := int64(0); r < 3; r++ {
			var x rec
			for i := range x.v {
				x.v[i] = r*1000 + int64(i)
			}
			out = append(out, x)
		}
		return out, nil
	}
	eng, err := Open(Options{Tables: []Def{wide}})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	from63 := func(extra ...string) []string {
		out := extra
		for i := 63; i < n; i++ {
			out = append(out, fmt.Sprintf("c%d", i))
		}
		return out
	}
	for _, tc := range []struct {
		stmt string
		want []string // rows
		used []string
	}{
		{"SELECT c69 FROM wide", []string{"69", "1069", "2069"}, from63()},
		{"SELECT c64, c2 FROM wide WHERE c66 = 1066", []string{"1064|1002"}, from63("c2")},
		{"SELECT c62 FROM wide", []string{"62", "1062", "2062"}, []string{"c62"}},
		{"SELECT c0 FROM wide WHERE c1 = 2001", []string{"2000"}, []string{"c0", "c1"}},
		{"SELECT count(*) FROM wide", []string{"3"}, nil},
	} {
		got := query(t, eng, tc.stmt)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.stmt, got, tc.want)
		}
		if !slices.Equal(seen, tc.used) {
			t.Errorf("%s: producer told columns %v are used, want %v", tc.stmt, seen, tc.used)
		}
	}
}

// TestColSetEncoding: a plan's column set survives idxStr whatever its size.
func TestColSetEncoding(t *testing.T) {
	for _, cols := range [][]int{nil, {0}, {63}, {64}, {0, 5, 63, 64, 127, 128, 200}} {
		var s colSet
		for _, c := range cols {
			s = s.with(c)
		}
		back, err := decodeColSet(s.encode())
		if err != nil {
			t.Fatalf("%v: %v", cols, err)
		}
		for i := 0; i < 256; i++ {
			if back.has(i) != slices.Contains(cols, i) {
				t.Errorf("%v: column %d: has %v after a round trip", cols, i, back.has(i))
			}
		}
		if !back.covers(s) || !s.covers(back) {
			t.Errorf("%v: round trip changed the set", cols)
		}
	}
}

// TestColumnCostRoutesReads: a producer learns from the costs declared on
// the columns a statement reads what work it must do, with no list of
// column names: an fd scan only for a column declaring CostOwners, a
// cgroup read only for one declaring CostCgroup, past column 63 too.
func TestColumnCostRoutesReads(t *testing.T) {
	type rec struct{}
	var owners, cgroups bool
	costly := &Table[rec]{Name: "costly", Doc: "costs", Rows: func(ctx context.Context, src *Source, q *Query) ([]rec, error) {
		owners, cgroups = q.Needs(CostOwners), q.Needs(CostCgroup)
		return []rec{{}}, nil
	}}
	for i := 0; i < 66; i++ {
		c := Column[rec]{Name: fmt.Sprintf("c%d", i), Type: Integer, Doc: "column", Value: func(*rec) any { return int64(0) }}
		switch i {
		case 1:
			c.Cost = CostOwners
		case 2, 65:
			c.Cost = CostOwners | CostCgroup
		}
		costly.Columns = append(costly.Columns, c)
	}
	eng, err := Open(Options{Tables: []Def{costly}})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	for _, tc := range []struct {
		stmt            string
		owners, cgroups bool
	}{
		{"SELECT c0 FROM costly", false, false},
		{"SELECT count(*) FROM costly", false, false},
		{"SELECT c1 FROM costly", true, false},
		{"SELECT c0 FROM costly WHERE c2 = 0", true, true},
		{"SELECT c65 FROM costly", true, true},
		{"SELECT c64 FROM costly", true, true}, // bit 63 of ColUsed: column 63 or later
	} {
		query(t, eng, tc.stmt)
		if owners != tc.owners || cgroups != tc.cgroups {
			t.Errorf("%s: Needs(owners, cgroup) = %v, %v; want %v, %v", tc.stmt, owners, cgroups, tc.owners, tc.cgroups)
		}
	}
}
