package shell

import (
	"bytes"
	"context"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/netsql/netsql/queries/format"
	"github.com/netsql/netsql/queries/run"
)

// modeRows is a query whose rows exercise the sqlite3 modes: numbers,
// reals, NULL, text needing quotes, a keyword and a spaced column name,
// multi-byte text, a blob, a long value that wraps. (Control characters
// are left out: netsql escapes them where sqlite3 does not, see
// TestTerminalSafe.)
const modeRows = `SELECT 1 AS a, 'hello' AS "b b", NULL AS "select", 2.5 AS d, x'4142' AS e, 'it''s' AS f
UNION ALL SELECT 100, 'é€x', 'z', -0.1, NULL, 'a,b'
UNION ALL SELECT -7, '', 'two words', 3.0, NULL, replace(hex(zeroblob(40)), '0', 'ab')`

// sqlite3Output runs sqlite3 on dot-commands and a query.
func sqlite3Output(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("sqlite3", append([]string{":memory:"}, args...)...).Output()
	if err != nil {
		t.Fatalf("sqlite3 %q: %v", args, err)
	}
	return string(out)
}

// TestModesMatchSQLite3: column, box, list, tabs, quote and insert print
// byte for byte what sqlite3 prints for the same rows, with headers on and
// off and with .width.
func TestModesMatchSQLite3(t *testing.T) {
	if _, err := exec.LookPath("sqlite3"); err != nil {
		t.Skip("sqlite3 is not installed (apt-get install sqlite3): nothing to compare with")
	}
	eng := openFixture(t)
	type tc struct {
		mode    string
		headers bool
		widths  []int
		extra   []string // more sqlite3 dot-commands
		opts    func(*format.Options)
	}
	var cases []tc
	for _, m := range []string{"column", "box", "list", "tabs", "quote", "insert"} {
		cases = append(cases, tc{mode: m, headers: true}, tc{mode: m, headers: false})
	}
	cases = append(cases,
		tc{mode: "column", headers: true, widths: []int{3, -8, 0, -6}},
		tc{mode: "box", headers: true, widths: []int{-4, 2}},
		tc{mode: "list", headers: true, extra: []string{".separator , ;"}, opts: func(o *format.Options) { o.Separator, o.RowSeparator = ",", ";" }},
		tc{mode: "insert t", headers: true, opts: func(o *format.Options) { o.Table = "t" }},
	)
	for _, c := range cases {
		args := []string{".headers " + map[bool]string{true: "on", false: "off"}[c.headers], ".mode " + c.mode}
		if c.widths != nil {
			w := ".width"
			for _, n := range c.widths {
				w += " " + strconv.Itoa(n)
			}
			args = append(args, w)
		}
		args = append(append(args, c.extra...), modeRows)
		want := sqlite3Output(t, args...)

		opts := format.Options{Headers: c.headers, Widths: c.widths}
		if c.opts != nil {
			c.opts(&opts)
		}
		var got bytes.Buffer
		r := &run.Runner{Engine: eng, Out: &got, Format: strings.Fields(c.mode)[0], Opts: opts}
		if _, err := r.Run(context.Background(), modeRows); err != nil {
			t.Fatal(err)
		}
		if got.String() != want {
			t.Errorf("%q:\nnetsql:\n%s\nsqlite3:\n%s", args[:len(args)-1], got.String(), want)
		}
	}
}

// sqlite3Script is a script of sqlite3's dot-commands (some abbreviated,
// as sqlite3 hands type them) and queries whose output netsql must print
// byte for byte as sqlite3 does.
const sqlite3Script = `.nullvalue ''
.h on
.mode box
SELECT 1 AS a, 'hello' AS b, NULL AS c;
.width 3 -6
.mode column
SELECT 1 AS a, 'hello' AS b UNION ALL SELECT 22, 'x';
.width
.mode list
.separator ", " "\n"
SELECT 1 AS a, 'it''s' AS b;
.headers off
.mode tabs
SELECT 1, 2.5, NULL;
.mode quote
SELECT 'a', 1, -0.1, x'00ff';
.mode insert t
.headers on
SELECT 1 AS "select", 'x' AS b;
.sep |
.mode list
SELECT 'one', 'two';
`

// TestShellSpeaksSQLite3: the same script of dot-commands and queries,
// piped into netsql's shell and into sqlite3, prints the same bytes.
func TestShellSpeaksSQLite3(t *testing.T) {
	if _, err := exec.LookPath("sqlite3"); err != nil {
		t.Skip("sqlite3 is not installed (apt-get install sqlite3): nothing to compare with")
	}
	cmd := exec.Command("sqlite3", ":memory:")
	cmd.Stdin = strings.NewReader(sqlite3Script)
	want, err := cmd.Output()
	if err != nil {
		t.Fatalf("sqlite3: %v", err)
	}
	got, errs := runScript(t, ShellConfig{}, sqlite3Script)
	if errs != "" || got != string(want) {
		t.Fatalf("netsql (errors %q):\n%s\nsqlite3:\n%s", errs, got, want)
	}
}

// TestShowAndWidth: .show reports what .mode, .width and .separator set.
func TestShowAndWidth(t *testing.T) {
	out, errs := runScript(t, ShellConfig{}, ".mode insert conns\n.width 4 -2\n.separator ; \\r\\n\n.nullvalue -\n.show\n.width x\n")
	want := "     headers: on\n        mode: insert conns\n   nullvalue: \"-\"\n      output: stdout\ncolseparator: \";\"\nrowseparator: \"\\r\\n\"\n       width: 4 -2 \n       timer: off\n         fit: on\n"
	if out != want {
		t.Errorf(".show:\n%s\nwant\n%s", out, want)
	}
	if errs != "Error: .width: \"x\" is not a number of characters\n" {
		t.Errorf("errors = %q", errs)
	}
}
