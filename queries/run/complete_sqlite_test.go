package run

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// sqliteComplete asks SQLite's own sqlite3_complete about text.
func sqliteComplete(t *testing.T, tls *libc.TLS, text string) bool {
	t.Helper()
	p, err := libc.CString(text)
	if err != nil {
		t.Fatal(err)
	}
	defer libc.Xfree(tls, p)
	return sqlite3.Xsqlite3_complete(tls, p) != 0
}

// splitterPieces are the fragments the generated scripts are made of:
// everything sqlite3_complete's state machine tells apart, and near misses.
var splitterPieces = []string{
	";", ";", ";", " ", "\n", "\t", "\r", "\f", "'", "\"", "`", "[", "]", "/*", "*/", "*", "/",
	"--", "-", "(", ")", "create", "CREATE", "Create", "temp", "TEMPORARY", "trigger", "TRIGGER",
	"end", "END", "explain", "EXPLAIN", "begin", "select", "1", "x", "é", "$a", ":a", "@b", "?1",
	"endx", "ctrigger", "creat", "temps", "e", "t", "c", "_end", "end_", "end$", "0", "'a;b'", "''",
}

// TestSplitterMatchesSQLite checks the splitter against SQLite's own
// sqlite3_complete over generated scripts: Complete answers as it does,
// and Split cuts a script at exactly the semicolons after which SQLite
// calls the text so far complete.
func TestSplitterMatchesSQLite(t *testing.T) {
	tls := libc.NewTLS()
	defer tls.Close()
	fixed := []string{
		"CREATE TRIGGER t AFTER INSERT ON x BEGIN SELECT 1; END;",
		"create temp trigger t after insert on x begin select 1; select 2; end; select 3;",
		"EXPLAIN CREATE TRIGGER t BEGIN SELECT 1; END;",
		"CREATE TABLE end(a); SELECT 1;",
		"0;/*0", "0;--", "0;--\n", "SELECT 1; -- c", "SELECT [a;b];", "SELECT 'it''s;';",
		"", " ", ";", "/**/;", "create/**/trigger x;end;", "END;",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	inputs := fixed
	for range 20000 {
		var b strings.Builder
		for n := rng.IntN(14); n >= 0; n-- {
			b.WriteString(splitterPieces[rng.IntN(len(splitterPieces))])
		}
		inputs = append(inputs, b.String())
	}
	for _, in := range inputs {
		if got, want := Complete(in), sqliteComplete(t, tls, in); got != want {
			t.Fatalf("Complete(%q) = %v, sqlite3_complete says %v", in, got, want)
		}
		var want []int
		for i := range len(in) {
			if in[i] == ';' && sqliteComplete(t, tls, in[:i+1]) {
				want = append(want, i)
			}
		}
		var got []int
		for _, c := range cutPoints(in) {
			got = append(got, c.at)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Split(%q) cuts at %v, SQLite at %v", in, got, want)
		}
	}
}

// TestSplitTrigger: a trigger body's semicolons do not end the CREATE
// TRIGGER statement, and an unfinished one is not complete.
func TestSplitTrigger(t *testing.T) {
	trig := "CREATE TEMP TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; SELECT 2; END"
	stmts, rest := Split(trig + "; SELECT 3;")
	var got []string
	for _, s := range stmts {
		got = append(got, s.SQL)
	}
	if want := []string{trig, "SELECT 3"}; !reflect.DeepEqual(got, want) || rest != "" {
		t.Fatalf("Split = %q, rest %q; want %q", got, rest, want)
	}
	for in, want := range map[string]bool{
		"CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1;": false,
		trig + ";":  true,
		"0;/*0":     false,
		"0;/*0*/":   true,
		"0;-- c\n":  true,
		"SELECT 1;": true,
	} {
		if got := Complete(in); got != want {
			t.Errorf("Complete(%q) = %v, want %v", in, got, want)
		}
	}
}
