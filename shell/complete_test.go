package shell

import (
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/netsql/netsql/vtab"
)

func testCompleter(t *testing.T) *completer {
	eng := openFixture(t)
	return &completer{
		schemas: eng.Schemas(),
		dots:    dotNames(),
		queries: func() []string { return []string{"listening", "states"} },
	}
}

func TestKeywordsSorted(t *testing.T) {
	if !sort.StringsAreSorted(sqlKeywords) {
		t.Fatal("sqlKeywords must be sorted (isKeyword searches it)")
	}
}

func TestCompleter(t *testing.T) {
	c := testCompleter(t)
	tests := []struct {
		pending, line string
		word          string
		want          []string // all of these are among the candidates
		not           []string // none of these are
	}{
		{"", "SELECT * FROM soc", "soc", []string{"sockets", "socket_owners"}, []string{"processes", "SELECT"}},
		{"", "select * from sockets s join proc", "proc", []string{"processes"}, nil},
		{"", "SELECT * FROM sockets, proc", "proc", []string{"processes"}, nil},
		{"", "SELECT local_p", "local_p", []string{"local_port"}, nil},
		{"", "SELECT st", "st", []string{"state"}, nil},
		{"", "SELECT * FROM sockets WHERE sta", "sta", []string{"state"}, nil},
		{"", "SELECT * FROM processes WHERE p", "p", []string{"pid", "ppid", "program"}, []string{"peer_inode"}},
		{"", "SELECT * FROM sockets WHERE state = 'LISTEN' AND local_", "local_", []string{"local_address", "local_port"}, nil},
		{"", "SELECT sockets.rem", "rem", []string{"remote_address", "remote_port"}, []string{"REMOTE"}},
		{"", "SELECT p.cmd", "cmd", nil, nil}, // alias not known yet
		{"", "SELECT * FROM processes p WHERE p.cmd", "cmd", []string{"cmdline"}, nil},
		{"SELECT s.local_port\nFROM sockets AS s\n", "WHERE s.sta", "sta", []string{"state"}, nil},
		{"", "SELECT * FROM sockets WH", "WH", []string{"WHERE"}, nil},
		{"", "select * from sockets wh", "wh", []string{"where"}, []string{"WHERE"}},
		{"", "SELECT 1; SELECT * FROM proc", "proc", []string{"processes"}, nil},
		{"", "SELECT count(*) FROM sockets GROUP BY pro", "pro", []string{"proto", "protocol", "program"}, nil},
		{"", ".ta", "ta", []string{"tables"}, nil},
		{"", ".", "", []string{"tables", "schema", "watch", "run", "quit", "help"}, nil},
		{"", ".schema sock", "sock", []string{"sockets", "socket_owners"}, nil},
		{"", ".run l", "l", []string{"listening"}, []string{"states"}},
		{"", ".run ", "", []string{"listening", "states"}, nil},
		{"", ".mode c", "c", []string{"csv"}, nil},
		{"", ".headers o", "o", []string{"on", "off"}, nil},
		{"", ".watch 2 SELECT * FROM pro", "pro", []string{"processes"}, nil},
		{"", ".watch 2 .ru", "ru", []string{"run"}, nil},
		{"", ".help wa", "wa", []string{"watch"}, nil},
		// a dot on a continuation line is SQL, not a command
		{"SELECT *\n", "FROM sockets WHERE sockets.sta", "sta", []string{"state"}, nil},
	}
	for _, tt := range tests {
		word, got := c.complete(tt.pending, tt.line)
		if word != tt.word {
			t.Errorf("complete(%q, %q) word = %q, want %q", tt.pending, tt.line, word, tt.word)
		}
		for _, w := range tt.want {
			if !slices.Contains(got, w) {
				t.Errorf("complete(%q, %q) = %v, missing %q", tt.pending, tt.line, got, w)
			}
		}
		for _, n := range tt.not {
			if slices.Contains(got, n) {
				t.Errorf("complete(%q, %q) = %v, should not offer %q", tt.pending, tt.line, got, n)
			}
		}
		if tt.want == nil && tt.not == nil && len(got) > 0 {
			t.Errorf("complete(%q, %q) = %v, want nothing", tt.pending, tt.line, got)
		}
	}
}

// The alias is declared after the cursor: Do sees the whole line.
func TestCompleteAliasAfterCursor(t *testing.T) {
	c := testCompleter(t)
	line := "SELECT s.loc FROM sockets s"
	pos := len("SELECT s.loc")
	got, n := c.Do([]rune(line), pos)
	if n != 3 {
		t.Fatalf("Do length = %d, want 3", n)
	}
	var cands []string
	for _, g := range got {
		cands = append(cands, string(g))
	}
	if !reflect.DeepEqual(cands, []string{"al_address", "al_port"}) {
		t.Fatalf("Do = %q, want the rest of local_address and local_port", cands)
	}
}

// Every declared table and column is offered: completion comes from the
// declarations, so it cannot drift from them.
func TestCompleteEveryColumn(t *testing.T) {
	c := testCompleter(t)
	for _, s := range c.schemas {
		_, got := c.complete("", "SELECT * FROM "+s.Name[:2])
		if !slices.Contains(got, s.Name) {
			t.Errorf("tables after FROM %q: %v lacks %s", s.Name[:2], got, s.Name)
		}
		for _, col := range s.Columns {
			_, got := c.complete("", "SELECT "+s.Name+"."+col.Name[:1])
			if !slices.Contains(got, col.Name) {
				t.Errorf("%s.%s not offered: %v", s.Name, col.Name, got)
			}
		}
	}
}

func TestSQLTokens(t *testing.T) {
	got := sqlTokens("SELECT a.b, 'x -- y' FROM \"t\" -- c\n/* d */ WHERE x=1")
	want := []string{"SELECT", "a", ".", "b", ",", "''", "FROM", "t", "WHERE", "x", "=", "1"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("sqlTokens = %q, want %q", got, want)
	}
	if m := matching("S", []string{"sockets", "SELECT", "state"}); strings.Join(m, ",") != "SELECT,Sockets,State" {
		t.Fatalf("matching keeps the typed prefix: %v", m)
	}
}

// complete returns the word before the cursor and every candidate that
// starts with it, sorted. text is the current line up to the cursor;
// pending holds the earlier lines of an unfinished statement.
func (c *completer) complete(pending, text string) (word string, cands []string) {
	return c.completeAt(pending, text, "")
}

// TestCompleteClosedSetValues: inside a string literal compared with a
// column that declares its closed set of values, Tab offers those values.
func TestCompleteClosedSetValues(t *testing.T) {
	c := testCompleter(t)
	c.schemas = append(c.schemas, vtab.Schema{Name: "conns", Columns: []vtab.ColumnSchema{
		{Name: "state", Type: "TEXT", Values: []string{"CLOSE_WAIT", "CLOSING", "CLOSE", "LISTEN", "ESTABLISHED"}},
		{Name: "note", Type: "TEXT"},
	}})
	tests := []struct {
		line, word string
		want       []string
	}{
		{"SELECT * FROM conns WHERE state = 'CL", "CL", []string{"CLOSE'", "CLOSE_WAIT'", "CLOSING'"}},
		{"SELECT * FROM conns c WHERE c.state <> 'L", "L", []string{"LISTEN'"}},
		{"SELECT * FROM conns WHERE state IN ('LISTEN', 'E", "E", []string{"ESTABLISHED'"}},
		{"SELECT * FROM conns WHERE state NOT IN ('", "", []string{"CLOSE'", "CLOSE_WAIT'", "CLOSING'", "ESTABLISHED'", "LISTEN'"}},
		{"SELECT * FROM conns WHERE note = 'CL", "CL", nil},
		{"SELECT * FROM conns WHERE state = 'cl", "cl", nil},
	}
	for _, tt := range tests {
		word, got := c.complete("", tt.line)
		if word != tt.word || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("complete(%q) = %q, %q; want %q, %q", tt.line, word, got, tt.word, tt.want)
		}
	}
}
