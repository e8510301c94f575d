package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fixtureProc is a /proc tree copied from the host the netstat captures
// were taken on (see testdata/README.md).
const fixtureProc = "../../vtab/procnet/testdata/proc"

func runCLI(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), code
}

func TestTableOutputFromProcTree(t *testing.T) {
	out, errs, code := runCLI(t, "", "--proc", fixtureProc,
		"SELECT proto, local_address, local_port, state, recv_q FROM sockets WHERE protocol = 'tcp' AND state = 'ESTABLISHED' AND family = 'inet' ORDER BY local_port")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	want := "" +
		"proto  local_address  local_port  state        recv_q\n" +
		"-----  -------------  ----------  -----------  ------\n" +
		"tcp    127.0.0.1            8080  ESTABLISHED    1234\n" +
		"tcp    127.0.0.1           45280  ESTABLISHED       0\n"
	if out != want {
		t.Errorf("table output:\n%s\nwant:\n%s", out, want)
	}
}

func TestJSONKeepsTypes(t *testing.T) {
	out, errs, code := runCLI(t, "", "--proc", fixtureProc, "--format", "json",
		"SELECT local_port, path, 1.5 AS r, state FROM sockets WHERE proto = 'udp' AND local_port = 5353")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if len(rows) != 1 {
		t.Fatalf("rows = %v", rows)
	}
	r := rows[0]
	if r["local_port"] != float64(5353) || r["path"] != nil || r["r"] != 1.5 || r["state"] != "UNCONN" {
		t.Errorf("row = %#v: want numbers as numbers, NULL as null", r)
	}
	if _, present := r["path"]; !present {
		t.Error("NULL column missing from the object; it must be present as null")
	}
	// Keys keep column order.
	if !strings.HasPrefix(strings.TrimSpace(out), `[`+"\n"+`{"local_port":5353,"path":null,"r":1.5,"state":"UNCONN"}`) {
		t.Errorf("json text = %q", out)
	}
}

func TestNDJSONAndCSV(t *testing.T) {
	out, _, code := runCLI(t, "", "--format", "ndjson", "SELECT 1 AS a, 'x' AS b UNION ALL SELECT 2, NULL")
	if code != 0 || out != "{\"a\":1,\"b\":\"x\"}\n{\"a\":2,\"b\":null}\n" {
		t.Errorf("ndjson = %q (exit %d)", out, code)
	}
	out, _, code = runCLI(t, "", "--format", "csv", `SELECT 'a,b' AS "x y", 'say "hi"' AS q, NULL AS n`)
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if code != 0 || err != nil || len(recs) != 2 || recs[0][0] != "x y" || recs[1][0] != "a,b" || recs[1][1] != `say "hi"` || recs[1][2] != "" {
		t.Errorf("csv = %q, parsed %v, %v", out, recs, err)
	}
}

func TestLineAndMarkdown(t *testing.T) {
	out, _, _ := runCLI(t, "", "--format", "line", "SELECT 1 AS a, 'x' AS long_name")
	if out != "        a = 1\nlong_name = x\n" {
		t.Errorf("line = %q", out)
	}
	out, _, _ = runCLI(t, "", "--format", "markdown", "SELECT 'a|b' AS s, 10 AS n")
	if out != "| s    | n   |\n| ---- | --: |\n| a\\|b |  10 |\n" {
		t.Errorf("markdown = %q", out)
	}
}

func TestSeveralStatementsAndStdin(t *testing.T) {
	out, errs, code := runCLI(t, "SELECT 1 AS one; SELECT 'two;' AS two;\n-- trailing comment\n")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	want := "one\n---\n  1\ntwo\n----\ntwo;\n"
	if out != want {
		t.Errorf("stdin script = %q, want %q", out, want)
	}
}

func TestErrorsAndExitCodes(t *testing.T) {
	cases := []struct {
		args     []string
		code     int
		stderrIs string
	}{
		{[]string{"SELEC 1"}, 1, "netsql: near \"SELEC\": syntax error\n"},
		{[]string{"SELECT * FROM nope"}, 1, "netsql: no such table: nope\n"},
		{[]string{"SELECT nope FROM sockets"}, 1, "netsql: no such column: nope\n"},
		{[]string{"--proc", fixtureProc, "DELETE FROM sockets"}, 1, "netsql: sockets: DELETE closes sockets and netsql is read-only by default: run netsql --allow-kill, or .allow kill in the shell\n"},
		{[]string{"--proc", fixtureProc, "--allow-kill", "UPDATE sockets SET state = 'LISTEN'"}, 1, "netsql: sockets is a read-only view of the kernel\n"},
		{[]string{"--format", "xml", "SELECT 1"}, 2, ""},
		{[]string{"--bogus"}, 2, ""},
		{[]string{"--proc", "/nonexistent", "SELECT 1"}, 1, ""},
		{[]string{"SELECT :limit"}, 1, "netsql: missing parameter :limit (give it with -p limit=VALUE)\n"},
	}
	for _, c := range cases {
		out, errs, code := runCLI(t, "", c.args...)
		if code != c.code {
			t.Errorf("%q: exit %d, want %d (stderr %q)", c.args, code, c.code, errs)
		}
		if c.stderrIs != "" && errs != c.stderrIs {
			t.Errorf("%q: stderr %q, want %q", c.args, errs, c.stderrIs)
		}
		if strings.Count(strings.TrimSpace(errs), "\n") > 1 || !strings.HasPrefix(errs, "netsql: ") {
			t.Errorf("%q: stderr must be one netsql: line (plus usage hint), got %q", c.args, errs)
		}
		if strings.Contains(errs, "goroutine") || strings.Contains(errs, "panic") {
			t.Errorf("%q: stack trace reached the user: %s", c.args, errs)
		}
		if c.code != 0 && out != "" {
			t.Errorf("%q: failed run printed to stdout: %q", c.args, out)
		}
	}
}

func TestParamsBindAsNumbers(t *testing.T) {
	out, errs, code := runCLI(t, "", "--format", "csv", "--header=false", "-p", "limit=100", "-p", "name=x", "SELECT 150 > :limit, :name")
	if code != 0 || out != "1,x\n" {
		t.Errorf("params: %q %q exit %d", out, errs, code)
	}
}

func TestFlagsAfterSQLAndFile(t *testing.T) {
	out, _, code := runCLI(t, "", "SELECT 7 AS n", "--format", "csv")
	if code != 0 || out != "n\n7\n" {
		t.Errorf("flag after SQL: %q exit %d", out, code)
	}
	f := filepath.Join(t.TempDir(), "q.sql")
	os.WriteFile(f, []byte("SELECT 8 AS n;"), 0o644)
	out, _, code = runCLI(t, "", "-f", f, "--format", "csv")
	if code != 0 || out != "n\n8\n" {
		t.Errorf("-f: %q exit %d", out, code)
	}
}

// TestREADMEQueryRunsAsCommand builds the real binary and runs the
// README's first example the way a user types it.
func TestREADMEQueryRunsAsCommand(t *testing.T) {
	bin := netsqlBinary(t)
	cmd := exec.Command(bin, readmeQuickStartSQL(t))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("netsql: %v", err)
	}
	// The rows depend on the host; the header and the shape do not.
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) < 2 || strings.Join(strings.Fields(lines[0]), " ") != "program count(*)" || strings.Trim(lines[1], "- ") != "" {
		t.Errorf("output = %q", out)
	}
	for _, l := range lines[2:] {
		if f := strings.Fields(l); len(f) < 2 {
			t.Errorf("row %q lacks program and count", l)
		}
	}
}

// TestREADMESQLExamplesRun runs every ```sql block of the README, so its
// examples stay true.
func TestREADMESQLExamplesRun(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := strings.Split(string(b), "```sql\n")[1:]
	if len(blocks) == 0 {
		t.Fatal("README has no sql examples")
	}
	for _, blk := range blocks {
		sql, _, _ := strings.Cut(blk, "```")
		if _, errs, code := runCLI(t, "", "--proc", fixtureProc, sql); code != 0 {
			t.Errorf("README example failed (exit %d): %s\n%s", code, errs, sql)
		}
	}
}

// netstatFixture is the shared fixture host the netstat captures describe.
const netstatFixture = "../../vtab/testdata/fixture/proc"

func TestCannedQueries(t *testing.T) {
	out, _, code := runCLI(t, "", "-q")
	if code != 0 || !strings.Contains(out, "netstat-inet ") || !strings.Contains(out, "Internet connections") {
		t.Errorf("netsql -q: exit %d, %q", code, out)
	}
	out, errs, code := runCLI(t, "", "--proc", netstatFixture, "-q", "netstat-unix", "-p", "listening=1")
	want := "Active UNIX domain sockets (only servers)\n" +
		"Proto RefCnt Flags       Type       State         I-Node   Path\n" +
		"unix  2      [ ACC ]     STREAM     LISTENING     219995   /var/run/demo-app.sock\n" +
		"unix  2      [ ACC ]     STREAM     LISTENING     219996   @anchors-abstract\n"
	if code != 0 || out != want {
		t.Errorf("netsql -q netstat-unix: exit %d, stderr %q\n%s\nwant:\n%s", code, errs, out, want)
	}
	// --format cannot turn a raw view's text into rows: a usage error
	// naming the table that has them (TestRawViewsRefuseLayoutFlags).
	if _, _, code = runCLI(t, "", "--proc", netstatFixture, "--format", "csv", "--header=false", "-q", "netstat-groups"); code != 2 {
		t.Errorf("netsql --format csv -q netstat-groups: exit %d", code)
	}
	if _, errs, code := runCLI(t, "", "-q", "nope"); code != 2 || !strings.Contains(errs, "no canned query") {
		t.Errorf("unknown query: exit %d, %q", code, errs)
	}
}

func TestNetstatSubcommand(t *testing.T) {
	want, err := os.ReadFile("../../queries/netstat/testdata/captures/netstat_tanp.txt")
	if err != nil {
		t.Fatal(err)
	}
	out, errs, code := runCLI(t, "", "--proc", netstatFixture, "netstat", "-tanp")
	if code != 0 || out != string(want) {
		t.Errorf("netsql netstat -tanp: exit %d, stderr %q\n%s", code, errs, out)
	}
	_, errs, code = runCLI(t, "", "netstat", "--bogus")
	if code != 2 || !strings.HasPrefix(errs, "netstat: unrecognized option '--bogus'\nusage: netstat") {
		t.Errorf("netsql netstat --bogus: exit %d, %q", code, errs)
	}
}
