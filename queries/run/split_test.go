package run

import (
	"reflect"
	"testing"
)

func TestSplit(t *testing.T) {
	cases := []struct {
		in    string
		stmts []string
		rest  string
	}{
		{"SELECT 1; SELECT 2;", []string{"SELECT 1", "SELECT 2"}, ""},
		{"SELECT ';' ; SELECT \"a;b\" FROM t", []string{"SELECT ';'"}, `SELECT "a;b" FROM t`},
		{"SELECT 1 -- no ; here\n; /* nor ; */ SELECT 2;", []string{"SELECT 1 -- no ; here", "/* nor ; */ SELECT 2"}, ""},
		{"SELECT 'it''s;'; ;;", []string{"SELECT 'it''s;'"}, ""},
		{"-- only a comment\n", nil, ""},
		{"SELECT [a;b] FROM t;", []string{"SELECT [a;b] FROM t"}, ""},
	}
	for _, c := range cases {
		stmts, rest := Split(c.in)
		var got []string
		for _, s := range stmts {
			got = append(got, s.SQL)
		}
		if !reflect.DeepEqual(got, c.stmts) || rest != c.rest {
			t.Errorf("Split(%q) = %q, rest %q; want %q, rest %q", c.in, got, rest, c.stmts, c.rest)
		}
	}
}

func TestSplitFindsParams(t *testing.T) {
	stmts, _ := Split("SELECT :limit, @b, $c, ':notme', x::y FROM t WHERE a = :limit;")
	if got := stmts[0].Params; !reflect.DeepEqual(got, []string{"limit", "b", "c"}) {
		t.Errorf("params = %q", got)
	}
}

// TestStatements: a script run whole keeps its unterminated last
// statement, with its parameters, even after a trailing comment or with a
// quote left open (which SQLite then reports).
func TestStatements(t *testing.T) {
	cases := []struct {
		in    string
		stmts []string
		last  []string // the last statement's params
	}{
		{"SELECT 1; SELECT :n", []string{"SELECT 1", "SELECT :n"}, []string{"n"}},
		{"SELECT :n -- the count", []string{"SELECT :n -- the count"}, []string{"n"}},
		{"SELECT 'abc", []string{"SELECT 'abc"}, nil},
		{"SELECT 1 /* open", []string{"SELECT 1 /* open"}, nil},
		{"SELECT 1;\n-- done\n", []string{"SELECT 1"}, nil},
		{"", nil, nil},
	}
	for _, c := range cases {
		stmts := Statements(c.in)
		var got []string
		for _, s := range stmts {
			got = append(got, s.SQL)
		}
		var params []string
		if len(stmts) > 0 {
			params = stmts[len(stmts)-1].Params
		}
		if !reflect.DeepEqual(got, c.stmts) || !reflect.DeepEqual(params, c.last) {
			t.Errorf("Statements(%q) = %q, last params %q; want %q, %q", c.in, got, params, c.stmts, c.last)
		}
	}
}

func TestComplete(t *testing.T) {
	for in, want := range map[string]bool{
		"SELECT 1;":          true,
		"SELECT 1":           false,
		"SELECT ';'":         false,
		"SELECT 1; SELECT 2": false,
		"SELECT 1; -- c":     false, // the comment is still open, as sqlite3_complete says
		"SELECT 1; -- c\n":   true,
	} {
		if got := Complete(in); got != want {
			t.Errorf("Complete(%q) = %v, want %v", in, got, want)
		}
	}
}
