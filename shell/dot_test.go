package shell

import (
	"reflect"
	"testing"
)

func TestParseDot(t *testing.T) {
	tests := []struct {
		line string
		want dotLine
	}{
		{".tables", dotLine{Name: "tables"}},
		{"  .schema sockets  ", dotLine{Name: "schema", Args: []string{"sockets"}, Rest: "sockets"}},
		{".param set name 'hello world'", dotLine{Name: "param", Args: []string{"set", "name", "hello world"}, Rest: "param set name 'hello world'"[6:]}},
		{`.param set q "it""s"`, dotLine{Name: "param", Args: []string{"set", "q", `it"s`}, Rest: `set q "it""s"`}},
		{".param set e ''", dotLine{Name: "param", Args: []string{"set", "e", ""}, Rest: "set e ''"}},
		{".watch 2 SELECT 'a  b' FROM sockets;", dotLine{Name: "watch", Args: []string{"2", "SELECT", "a  b", "FROM", "sockets;"}, Rest: "2 SELECT 'a  b' FROM sockets;"}},
		{".mode\tcsv", dotLine{Name: "mode", Args: []string{"csv"}, Rest: "csv"}},
	}
	for _, tt := range tests {
		got, err := parseDot(tt.line)
		if err != nil {
			t.Errorf("parseDot(%q): %v", tt.line, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseDot(%q) = %#v, want %#v", tt.line, got, tt.want)
		}
	}
	if _, err := parseDot(".param set x 'open"); err == nil {
		t.Error("an unterminated quote should be an error")
	}
}

func TestDotHelpCoversEveryCommand(t *testing.T) {
	for _, c := range dotCommands() {
		if c.help == "" || c.run == nil {
			t.Errorf(".%s lacks help or a handler", c.name)
		}
	}
	for _, name := range []string{"tables", "schema", "mode", "headers", "timer", "run", "queries", "read", "output", "once", "param", "parameter", "watch", "netstat", "quit", "exit", "help"} {
		if _, ok := findDot(name); !ok {
			t.Errorf(".%s is missing", name)
		}
	}
}

func TestLikeMatch(t *testing.T) {
	for _, tt := range []struct {
		pattern, name string
		want          bool
	}{
		{"sock", "sockets", false}, // LIKE, as sqlite3: no implicit %
		{"owner", "socket_owners", false},
		{"SOCKETS", "sockets", true},
		{"%owner%", "socket_owners", true},
		{"sock%", "socket_owners", true},
		{"%s", "processes", true},
		{"s_ckets", "sockets", true},
		{"proc", "sockets", false},
		{"sock%s", "socket_owner", false},
	} {
		if got := likeMatch(tt.pattern, tt.name); got != tt.want {
			t.Errorf("likeMatch(%q, %q) = %v", tt.pattern, tt.name, got)
		}
	}
}

// TestDotAbbreviations: a unique prefix names its command; sqlite3's
// choices (.h is .headers, .q is .quit) hold; any other shared prefix is
// an error naming the candidates.
func TestDotAbbreviations(t *testing.T) {
	for prefix, want := range map[string]string{
		"h": "headers", "he": "headers", "hel": "help", "sch": "schema", "ta": "tables", "q": "quit",
		"que": "queries", "param": "parameter", "parameter": "parameter", "header": "headers",
		"sep": "separator", "sh": "show", "wi": "width", "exit": "quit", "mode": "mode",
	} {
		c, err := lookupDot(prefix)
		if err != nil || c.name != want {
			t.Errorf("lookupDot(%q) = .%s, %v; want .%s", prefix, c.name, err, want)
		}
	}
	for prefix, want := range map[string]string{
		"s":    "ambiguous command .s: .schema, .separator, .show",
		"t":    "ambiguous command .t: .tables, .timer",
		"nope": "unknown command .nope (.help lists them)",
	} {
		if _, err := lookupDot(prefix); err == nil || err.Error() != want {
			t.Errorf("lookupDot(%q) error = %v, want %q", prefix, err, want)
		}
	}
}
