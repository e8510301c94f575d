package vtab

import (
	"context"
	"slices"
	"strings"
	"testing"
)

// TestAdapterFillsNetns: a per-namespace table declares its netns column
// without a getter and the adapter fills it with the inode of the
// namespace read (the fixture tree's self/ns/net), for SELECT and WHERE
// alike; a column without a getter anywhere else is a declaration error.
func TestAdapterFillsNetns(t *testing.T) {
	type rec struct{ n int64 }
	perNS := &Table[rec]{
		Name: "per_ns", Doc: "one row per namespace read", PerNetNS: true,
		Columns: []Column[rec]{
			{Name: "n", Type: Integer, Doc: "n", Value: func(r *rec) any { return r.n }},
			{Name: "netns", Type: Integer, Doc: "namespace"},
		},
		Rows: func(ctx context.Context, src *Source, q *Query) ([]rec, error) {
			return []rec{{1}, {2}}, nil
		},
	}
	eng, err := Open(Options{ProcRoot: fixtureProc, Tables: []Def{perNS}})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	for stmt, want := range map[string][]string{
		"SELECT n, netns FROM per_ns":                     {"1|4026531840", "2|4026531840"},
		"SELECT n FROM per_ns WHERE netns = 4026531840":   {"1", "2"},
		"SELECT count(*) FROM per_ns WHERE netns = 12345": {"0"},
	} {
		if got := query(t, eng, stmt); !slices.Equal(got, want) {
			t.Errorf("%s: got %q, want %q", stmt, got, want)
		}
	}

	plain := &Table[rec]{
		Name: "plain", Doc: "not per namespace",
		Columns: []Column[rec]{{Name: "netns", Type: Integer, Doc: "namespace"}},
		Rows:    perNS.Rows,
	}
	if _, err := Open(Options{ProcRoot: fixtureProc, Tables: []Def{plain}}); err == nil || !strings.Contains(err.Error(), "plain column netns: no Value") {
		t.Errorf("a column without a getter outside a per-namespace table: err = %v", err)
	}
}
