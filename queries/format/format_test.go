package format

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func render(t *testing.T, format string, opts Options, cols []string, rows ...[]any) string {
	t.Helper()
	var b bytes.Buffer
	w, err := NewWriter(format, &b, opts)
	if err != nil {
		t.Fatal(err)
	}
	w.Begin(cols)
	for _, r := range rows {
		w.Row(r)
	}
	if err := w.End(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestTableColorAndWidth(t *testing.T) {
	cols := []string{"proto", "path"}
	rows := [][]any{{"unix", "/run/systemd/journal/stdout"}, {"tcp", nil}}

	plain := render(t, "table", DefaultOptions, cols, rows...)
	if strings.Contains(plain, "\x1b") {
		t.Fatalf("colour without Options.Color:\n%q", plain)
	}

	opts := DefaultOptions
	opts.Color = true
	got := render(t, "table", opts, cols, rows...)
	want := "\x1b[1mproto\x1b[0m  \x1b[1mpath\x1b[0m\n" +
		"-----  ---------------------------\n" +
		"unix   /run/systemd/journal/stdout\n" +
		"tcp    \x1b[2mNULL\x1b[0m\n"
	if got != want {
		t.Fatalf("coloured table:\n%q\nwant\n%q", got, want)
	}
	if md := render(t, "markdown", opts, cols, rows...); strings.Contains(md, "\x1b") {
		t.Fatalf("markdown is for pasting: no colour\n%q", md)
	}
	if line := render(t, "line", opts, cols, rows...); !strings.Contains(line, "path = \x1b[2mNULL\x1b[0m") {
		t.Fatalf("line mode dims NULL:\n%q", line)
	}

	opts = DefaultOptions
	opts.MaxWidth = 20
	got = render(t, "table", opts, cols, rows...)
	want = "proto  path\n" +
		"-----  ------------" + Ellipsis + "\n" +
		"unix   /run/systemd" + Ellipsis + "\n" +
		"tcp    NULL\n"
	if got != want {
		t.Fatalf("fitted table:\n%s\nwant\n%s", got, want)
	}
	opts.Color = true
	for _, l := range strings.Split(strings.TrimSpace(render(t, "table", opts, cols, rows...)), "\n") {
		if n := len([]rune(stripANSI(l))); n > 20 {
			t.Errorf("line %q is %d cells wide, want at most 20", l, n)
		}
	}
}

func stripANSI(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b {
			for i < len(s) && s[i] != 'm' {
				i++
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// hostile is kernel data an unprivileged user controls: an argv[0] that
// forges a table row, escape sequences that clear the screen and set the
// title, a bidi override, C1 controls and invalid UTF-8.
var hostile = []string{"x\n 22 sshd", "\x1b[2J\x1b]0;owned\x07", "a\u202eb", "c\u009bd", "\xff", "\xfe", "ok|\\|"}

// TestTerminalSafe: no terminal-bound format lets a control character
// through, whatever the value; each shows as \xHH.
func TestTerminalSafe(t *testing.T) {
	if got, want := TerminalSafe("x\n 22 sshd\x1b[2J\xff\u202eé\\"), `x\x0a 22 sshd\x1b[2J\xff\xe2\x80\xaeé\`; got != want {
		t.Fatalf("TerminalSafe = %q, want %q", got, want)
	}
	rows := make([][]any, len(hostile))
	for i, h := range hostile {
		rows[i] = []any{h, int64(i)}
	}
	opts := DefaultOptions
	for _, f := range []string{"table", "line", "markdown", "column", "box"} {
		out := render(t, f, opts, []string{"program\x1b[31m", "n"}, rows...)
		if bad := unsafeIn(out); bad != "" {
			t.Errorf("%s output lets %q through:\n%s", f, bad, out)
		}
		if !strings.Contains(out, `x\x0a 22 sshd`) {
			t.Errorf("%s output does not show the newline as \\x0a:\n%s", f, out)
		}
	}
	term := opts
	term.Terminal = true
	for _, f := range []string{"csv", "list", "tabs", "quote", "insert"} {
		if out := render(t, f, term, []string{"p"}, rows...); unsafeIn(out) != "" {
			t.Errorf("%s output to a terminal lets %q through:\n%s", f, unsafeIn(out), out)
		}
		// To a file or a pipe the bytes are kept.
		if out := render(t, f, opts, []string{"p"}, rows...); !strings.Contains(out, "\x1b[2J") || !strings.Contains(out, "\xff") {
			t.Errorf("%s output to a file changed the bytes:\n%q", f, out)
		}
	}
}

// unsafeIn returns the first byte sequence of s a terminal must not get.
func unsafeIn(s string) string {
	for i, r := range s {
		if r == '\n' || r == '\t' { // line ends; tabs output's separator
			continue
		}
		if unsafeRune(r, len(string(r))) || r == utf8.RuneError {
			return s[i:min(len(s), i+4)]
		}
	}
	return ""
}

// TestMarkdownCells: a pipe or a backslash in a value cannot end a cell.
func TestMarkdownCells(t *testing.T) {
	got := render(t, "markdown", DefaultOptions, []string{"a|b", "v"}, []any{`x\|y`, "p|q"}, []any{`\`, nil})
	want := "| a\\|b   | v    |\n" +
		"| ------ | ---- |\n" +
		"| x\\\\\\|y | p\\|q |\n" +
		"| \\\\     | NULL |\n"
	if got != want {
		t.Fatalf("markdown:\n%s\nwant\n%s", got, want)
	}
	// Every row has as many unescaped pipes as the header.
	for _, l := range strings.Split(strings.TrimSpace(got), "\n") {
		if n := strings.Count(strings.ReplaceAll(strings.ReplaceAll(l, `\\`, ""), `\|`, ""), "|"); n != 3 {
			t.Errorf("row %q has %d cell borders, want 3", l, n)
		}
	}
}

// TestNullColumnLeftAligned: a column holding only NULL is text, not a
// number: left-aligned in table output, no ":" in markdown.
func TestNullColumnLeftAligned(t *testing.T) {
	got := render(t, "table", DefaultOptions, []string{"path", "n"}, []any{nil, int64(1)}, []any{nil, int64(100)})
	want := "path  n\n" +
		"----  ---\n" +
		"NULL    1\n" +
		"NULL  100\n"
	if got != want {
		t.Fatalf("table:\n%s\nwant\n%s", got, want)
	}
	if md := render(t, "markdown", DefaultOptions, []string{"path"}, []any{nil}); strings.Contains(md, ":") {
		t.Fatalf("markdown right-aligns a NULL column:\n%s", md)
	}
}

// TestJSONKeysAndBytes: keys are unique, SQLite's way ("a", "a:1"), also
// beside --host-field; invalid UTF-8 stays distinct (\udcHH per byte);
// control characters are escaped.
func TestJSONKeysAndBytes(t *testing.T) {
	got := render(t, "json", DefaultOptions, []string{"a", "a", "a:1", "p"}, []any{int64(1), int64(2), int64(3), "\xff"}, []any{int64(4), int64(5), int64(6), "\xfe\x1b"})
	want := "[\n{\"a\":1,\"a:2\":2,\"a:1\":3,\"p\":\"\\udcff\"},\n{\"a\":4,\"a:2\":5,\"a:1\":6,\"p\":\"\\udcfe\\u001b\"}\n]\n"
	if got != want {
		t.Fatalf("json:\n%s\nwant\n%s", got, want)
	}
	opts := DefaultOptions
	opts.Fields = []Field{{"a", "host1"}, {"at", "2026-01-01T00:00:00Z"}}
	got = render(t, "ndjson", opts, []string{"a", "b"}, []any{int64(1), "é\u2028"})
	want = `{"a":"host1","at":"2026-01-01T00:00:00Z","a:1":1,"b":"é\u2028"}` + "\n"
	if got != want {
		t.Fatalf("ndjson with fields:\n%s\nwant\n%s", got, want)
	}
	for _, out := range []string{render(t, "json", DefaultOptions, []string{"p"}, []any{"\xff"}, []any{"\xfe"}), got} {
		var v any
		if err := json.Unmarshal([]byte(strings.ReplaceAll(out, "\n", "")), &v); err != nil && !strings.HasPrefix(out, "{") {
			t.Fatalf("not JSON: %v\n%s", err, out)
		}
	}
}

// TestCSVLineEnds pins the documented choice: RFC 4180 quoting with LF
// line ends (sqlite3 writes CRLF), as Go's encoding/csv and the Unix tools
// that read netsql's output expect; CR and LF inside a value are kept,
// quoted.
func TestCSVLineEnds(t *testing.T) {
	got := render(t, "csv", DefaultOptions, []string{"a", "b"}, []any{"x\r\ny", `say "hi"`}, []any{int64(1), nil})
	if want := "a,b\n\"x\r\ny\",\"say \"\"hi\"\"\"\n1,\n"; got != want {
		t.Fatalf("csv = %q, want %q", got, want)
	}
}
