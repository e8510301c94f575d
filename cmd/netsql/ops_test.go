package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	_ "modernc.org/sqlite" // the plain driver, to read record's files
)

// oneLineError checks a failed run's stderr: one "netsql: " line, nothing
// on stdout.
func oneLineError(t *testing.T, what, stdout, stderr string) {
	t.Helper()
	if !strings.HasPrefix(stderr, "netsql: ") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("%s: want one netsql: line on stderr, got %q", what, stderr)
	}
	if stdout != "" {
		t.Errorf("%s: printed to stdout: %q", what, stdout)
	}
}

// closeWaitSockets opens n loopback connections whose client side is
// closed, leaving the accepted sockets (held by this process) in
// CLOSE_WAIT, plus the listener. Everything is closed at the test's end.
func closeWaitSockets(t *testing.T, n int) (port int) {
	t.Helper()
	return loopbackConns(t, n, true)
}

// established opens n loopback connections and keeps both ends open.
func established(t *testing.T, n int) {
	t.Helper()
	loopbackConns(t, n, false)
}

// loopbackConns listens on a loopback port and opens n connections to it,
// returning the port. The accepted ends and the listener stay open until
// the test's end; so do the client ends, unless closeClients, which closes
// them at once (leaving the accepted ends in CLOSE_WAIT).
func loopbackConns(t *testing.T, n int, closeClients bool) (port int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if closeClients {
			c.Close()
		} else {
			t.Cleanup(func() { c.Close() })
		}
	}
	return ln.Addr().(*net.TCPAddr).Port
}

func TestFailOnRowsExitCodes(t *testing.T) {
	pid := strconv.Itoa(os.Getpid())
	closeWaitSockets(t, 3)
	cases := []struct {
		args []string
		code int
	}{
		{[]string{"--fail-on-rows", "SELECT 1 WHERE 0"}, 0},
		{[]string{"--fail-on-rows", "SELECT 1"}, 3},
		{[]string{"SELECT 1"}, 0},
		// Only the last statement counts.
		{[]string{"--fail-on-rows", "SELECT 1; SELECT 2 WHERE 0"}, 0},
		{[]string{"--fail-on-rows", "SELECT 1 WHERE 0; SELECT 2"}, 3},
		{[]string{"--fail-on-rows", "SELEC 1"}, 1},
		{[]string{"--fail-on-rows", "SELECT :nope"}, 1},
		{[]string{"--fail-on-rows", "--bogus", "SELECT 1"}, 2},
		{[]string{"--fail-on-rows", "-q", "no-such-query"}, 2},
		// The cron line, on a tree where no process holds any
		// CLOSE_WAIT socket: no rows, exit 0.
		{[]string{"--proc", fixtureProc, "--fail-on-rows", "-q", "close-wait-over", "-p", "limit=0"}, 0},
		// This process holds 3 CLOSE_WAIT sockets.
		{[]string{"--fail-on-rows", "-q", "close-wait-over", "-p", "limit=2", "--format", "csv"}, 3},
		{[]string{"--fail-on-rows", "-q", "netstat-unix"}, 2},
	}
	for _, c := range cases {
		out, errs, code := runCLI(t, "", c.args...)
		if code != c.code {
			t.Errorf("%q: exit %d, want %d (stderr %q)", c.args, code, c.code, errs)
		}
		if c.code == 1 || c.code == 2 {
			if !strings.HasPrefix(errs, "netsql: ") {
				t.Errorf("%q: stderr %q", c.args, errs)
			}
		}
		if c.code == 3 && c.args[len(c.args)-1] == "csv" && !strings.Contains(out, ","+pid+",") {
			t.Errorf("close-wait-over does not name this process (pid %s): %q", pid, out)
		}
	}
	// Above the limit this process is not named. Other processes on the
	// host may be, so the exit status says nothing here: only this
	// process's row counts.
	out, errs, code := runCLI(t, "", "--fail-on-rows", "-q", "close-wait-over", "-p", "limit=3", "--format", "csv")
	if code != 0 && code != 3 || strings.Contains(out, ","+pid+",") {
		t.Errorf("limit=3: this process (3 CLOSE_WAIT) is named or the run failed: exit %d, %q, stderr %q", code, out, errs)
	}
}

func TestOperationalQueriesRun(t *testing.T) {
	established(t, 2)
	for _, name := range []string{"sockets-by-state", "sockets-by-program", "sockets-by-remote-host",
		"sockets-by-local-port", "close-wait-by-program", "close-wait-over", "listening",
		"connections-over", "interface-errors", "interface-counters", "routes-by-table",
		"metric-sockets", "metric-sockets-by-program", "metric-listening", "metric-interfaces", "metric-tcp"} {
		out, errs, code := runCLI(t, "", "--format", "csv", "-q", name)
		if code != 0 || !strings.Contains(out, "\n") {
			t.Errorf("-q %s: exit %d, %q, stderr %q", name, code, out, errs)
		}
	}
	// listening names this process's listener with its pid.
	out, _, _ := runCLI(t, "", "--format", "csv", "-q", "listening")
	if !strings.Contains(out, ","+strconv.Itoa(os.Getpid())+",") {
		t.Errorf("listening misses this process's listener:\n%s", out)
	}
}

func TestUserQueries(t *testing.T) {
	cfg := t.TempDir()
	dir := filepath.Join(cfg, "netsql", "queries")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "mine.sql"), []byte("-- description: my own\n-- param: n=5 a number\nSELECT :n * 2 AS twice;\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "listening.sql"), []byte("-- description: my listening\nSELECT 'shadowed' AS who;\n"), 0o644)
	t.Setenv("XDG_CONFIG_HOME", cfg)

	out, errs, code := runCLI(t, "", "-q")
	if code != 0 {
		t.Fatalf("-q: exit %d %s", code, errs)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^mine +\[user\] my own$`),
		regexp.MustCompile(`(?m)^listening +\[user, shadows built-in\] my listening$`),
		regexp.MustCompile(`(?m)^sockets-by-state +how many`),
	} {
		if !want.MatchString(out) {
			t.Errorf("netsql -q lacks %s:\n%s", want, out)
		}
	}
	if out, _, code := runCLI(t, "", "--format", "csv", "--header=false", "-q", "mine"); code != 0 || out != "10\n" {
		t.Errorf("-q mine: %q exit %d", out, code)
	}
	if out, _, code := runCLI(t, "", "--format", "csv", "--header=false", "-q", "mine", "-p", "n=21"); code != 0 || out != "42\n" {
		t.Errorf("-q mine -p n=21: %q exit %d", out, code)
	}
	if out, _, code := runCLI(t, "", "--format", "csv", "--header=false", "-q", "listening"); code != 0 || out != "shadowed\n" {
		t.Errorf("user listening does not shadow the built-in: %q exit %d", out, code)
	}
	// --queries DIR wins over the config directory.
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "other.sql"), []byte("SELECT 'other' AS x;\n"), 0o644)
	if out, _, code := runCLI(t, "", "--queries", other, "--format", "csv", "--header=false", "-q", "other"); code != 0 || out != "other\n" {
		t.Errorf("--queries: %q exit %d", out, code)
	}
	if _, _, code := runCLI(t, "", "--queries", other, "-q", "mine"); code != 2 {
		t.Errorf("--queries still sees the config directory (exit %d)", code)
	}
	out, errs, code = runCLI(t, "", "--queries", filepath.Join(other, "missing"), "-q", "other")
	if code != 2 {
		t.Errorf("missing --queries dir: exit %d", code)
	}
	oneLineError(t, "missing --queries dir", out, errs)
}

// parseMetrics parses Prometheus text with client_golang's parser.
func parseMetrics(t *testing.T, text string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("not Prometheus text: %v\n%s", err, text)
	}
	return mfs
}

// sample returns the value of the sample of mf whose labels include want.
func sample(mf *dto.MetricFamily, want map[string]string) (float64, bool) {
	if mf == nil {
		return 0, false
	}
	for _, m := range mf.GetMetric() {
		ok := true
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			ok = ok && have[k] == v
		}
		if !ok {
			continue
		}
		switch {
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		}
	}
	return 0, false
}

func countSockets(t *testing.T, where string) int {
	t.Helper()
	out, errs, code := runCLI(t, "", "--format", "csv", "--header=false", "SELECT count(*) FROM sockets WHERE "+where)
	if code != 0 {
		t.Fatalf("count: %s", errs)
	}
	n, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestExportTextfile(t *testing.T) {
	const n = 7
	established(t, n)
	closeWaitSockets(t, 2)
	dir := t.TempDir()
	file := filepath.Join(dir, "netsql.prom")
	// Other processes (other test packages run in parallel, some churning
	// thousands of connections) open and close sockets between the direct
	// counts and the export: retry until the export lies between them.
	var mfs map[string]*dto.MetricFamily
	for attempt := 0; ; attempt++ {
		before := countSockets(t, "proto = 'tcp' AND state = 'ESTABLISHED'")
		// --timeout beyond the 30 s default: every built-in query must
		// succeed, and on a host holding hundreds of thousands of
		// sockets the fd scan alone can take longer.
		_, errs, code := runCLI(t, "", "--timeout", "5m", "export", "--textfile", file)
		if code != 0 {
			t.Fatalf("export: exit %d: %s", code, errs)
		}
		after := countSockets(t, "proto = 'tcp' AND state = 'ESTABLISHED'")
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		mfs = parseMetrics(t, string(b))
		got, ok := sample(mfs["netsql_sockets"], map[string]string{"proto": "tcp", "state": "ESTABLISHED"})
		if !ok {
			t.Fatalf("no netsql_sockets{proto=tcp,state=ESTABLISHED}:\n%s", b)
		}
		if min(before, after) <= int(got) && int(got) <= max(before, after) {
			if got < 2*n {
				t.Errorf("netsql_sockets{tcp,ESTABLISHED} = %v, below the %d this test holds", got, 2*n)
			}
			break
		}
		if attempt == 20 {
			t.Fatalf("export says %v ESTABLISHED, direct queries %d then %d", got, before, after)
		}
	}
	if mf := mfs["netsql_sockets"]; mf.GetType() != dto.MetricType_GAUGE || mf.GetHelp() == "" {
		t.Errorf("netsql_sockets: type %v help %q", mf.GetType(), mf.GetHelp())
	}
	// Other programs (other test packages running in parallel) may hold
	// CLOSE_WAIT sockets too, fewer than 2 and sorted before this one: the
	// sample that must count the test's 2 is this program's.
	prog, errs, code := runCLI(t, "", "--format", "csv", "--header=false", "SELECT program FROM processes WHERE pid = "+strconv.Itoa(os.Getpid()))
	if prog = strings.TrimSpace(prog); code != 0 || prog == "" {
		t.Fatalf("this process's program: %q, exit %d: %s", prog, code, errs)
	}
	if v, ok := sample(mfs["netsql_program_sockets"], map[string]string{"program": prog, "state": "CLOSE_WAIT"}); !ok || v < 2 {
		t.Errorf("netsql_program_sockets{program=%q,state=CLOSE_WAIT} = %v, %v", prog, v, ok)
	}
	if mf := mfs["netsql_tcp_retransmitted_segments_total"]; mf.GetType() != dto.MetricType_COUNTER {
		t.Errorf("TCP retransmits counter missing or not a counter: %v", mf)
	}
	for _, m := range []string{"netsql_tcp_resets_sent_total", "netsql_tcp_listen_overflows_total",
		"netsql_interface_receive_bytes_total", "netsql_listening_sockets"} {
		if mfs[m] == nil {
			t.Errorf("metric %s missing", m)
		}
	}
	for _, q := range []string{"metric-sockets", "metric-sockets-by-program", "metric-listening", "metric-interfaces", "metric-tcp"} {
		if v, ok := sample(mfs["netsql_query_success"], map[string]string{"query": q}); !ok || v != 1 {
			t.Errorf("netsql_query_success{query=%q} = %v, %v", q, v, ok)
		}
		if _, ok := sample(mfs["netsql_query_duration_seconds"], map[string]string{"query": q}); !ok {
			t.Errorf("no duration for %s", q)
		}
	}
	fi, err := os.Stat(file)
	if err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("textfile mode: %v %v", fi, err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("export left files behind: %v", ents)
	}

	// -q picks queries; a non-metric query is a usage error.
	_, errs, code = runCLI(t, "", "export", "--textfile", file, "-q", "metric-tcp")
	b, _ := os.ReadFile(file)
	if code != 0 || strings.Contains(string(b), "netsql_sockets") || !strings.Contains(string(b), "netsql_tcp_") {
		t.Errorf("export -q metric-tcp: exit %d %s\n%s", code, errs, b)
	}
	if _, _, code := runCLI(t, "", "export", "--textfile", file, "-q", "listening"); code != 2 {
		t.Errorf("export of a non-metric query: exit %d", code)
	}
	if _, _, code := runCLI(t, "", "export"); code != 2 {
		t.Errorf("export without --textfile: exit %d", code)
	}
}

func TestExportUnwritable(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	os.WriteFile(notDir, []byte("x"), 0o644)
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	for _, target := range []string{
		"/nonexistent-netsql-dir/netsql.prom",
		filepath.Join(notDir, "netsql.prom"),
		filepath.Join(dir, "sub"), // a directory
	} {
		out, errs, code := runCLI(t, "", "export", "--textfile", target, "-q", "metric-tcp")
		if code != 1 {
			t.Errorf("%s: exit %d, want 1", target, code)
		}
		oneLineError(t, target, out, errs)
		if !strings.Contains(errs, target) {
			t.Errorf("%s: the error does not name the file: %q", target, errs)
		}
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		t.Errorf("failed exports left files behind: %v", ents)
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "sub")); len(ents) != 0 {
		t.Errorf("failed export left files in sub: %v", ents)
	}
}

// lockedBuffer is a bytes.Buffer safe to write from the command and read
// from the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var servingLine = regexp.MustCompile(`netsql: serving http://(\S+)/metrics`)

// startServe runs `netsql serve` in-process and returns its address and a
// stop function that waits for it to exit and returns its exit code.
func startServe(t *testing.T, args ...string) (addr string, stderr *lockedBuffer, stop func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stderr = &lockedBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...), strings.NewReader(""), io.Discard, stderr)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := servingLine.FindStringSubmatch(stderr.String()); m != nil {
			addr = m[1]
			break
		}
		select {
		case code := <-done:
			cancel()
			t.Fatalf("serve exited %d: %s", code, stderr)
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("serve did not start: %s", stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
	var once sync.Once
	code := -1
	stop = func() int {
		once.Do(func() {
			cancel()
			select {
			case code = <-done:
			case <-time.After(10 * time.Second):
				t.Error("serve did not stop")
			}
		})
		return code
	}
	return addr, stderr, stop
}

func TestServe(t *testing.T) {
	established(t, 3)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "broken.sql"), []byte(
		"-- description: a metric query that fails\n-- metric: netsql_broken\n-- type: gauge\n-- value: v\nSELECT v FROM no_such_table;\n"), 0o644)
	addr, stderr, stop := startServe(t, "--queries", dir, "-q", "metric-sockets,broken", "--scrape-timeout", "5s")
	defer stop()
	client := &http.Client{Timeout: 30 * time.Second} // beyond serve's 5 s budget
	get := func(method, path string) (int, string) {
		req, _ := http.NewRequest(method, "http://"+addr+path, nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for i := 0; i < 2; i++ { // the second scrape evaluates again
		code, body := get("GET", "/metrics")
		if code != 200 {
			t.Fatalf("GET /metrics: %d %s", code, body)
		}
		mfs := parseMetrics(t, body)
		if v, ok := sample(mfs["netsql_query_success"], map[string]string{"query": "broken"}); !ok || v != 0 {
			t.Errorf("broken query: netsql_query_success = %v, %v\n%s", v, ok, body)
		}
		if v, ok := sample(mfs["netsql_query_success"], map[string]string{"query": "metric-sockets"}); !ok || v != 1 {
			t.Errorf("metric-sockets: netsql_query_success = %v, %v", v, ok)
		}
		if v, ok := sample(mfs["netsql_sockets"], map[string]string{"proto": "tcp", "state": "ESTABLISHED"}); !ok || v < 6 {
			t.Errorf("netsql_sockets{tcp,ESTABLISHED} = %v, %v", v, ok)
		}
		if mfs["netsql_broken"] != nil {
			t.Error("the broken query exported samples")
		}
	}
	if code, body := get("GET", "/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("GET /healthz: %d %q", code, body)
	}
	if code, _ := get("POST", "/metrics"); code != http.StatusMethodNotAllowed {
		t.Errorf("POST /metrics: %d", code)
	}
	if code, _ := get("GET", "/"); code != 404 {
		t.Errorf("GET /: %d", code)
	}
	// The failure is logged once, not on every scrape.
	if n := strings.Count(stderr.String(), "query broken: no such table: no_such_table"); n != 1 {
		t.Errorf("broken query logged %d times:\n%s", n, stderr)
	}
	if code := stop(); code != 0 {
		t.Errorf("serve exit %d: %s", code, stderr)
	}
}

func TestServePortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	out, errs, code := runCLI(t, "", "serve", "--listen", ln.Addr().String())
	if code != 1 || !strings.Contains(errs, "address already in use") {
		t.Errorf("serve on a busy port: exit %d, %q", code, errs)
	}
	oneLineError(t, "busy port", out, errs)
}

func openDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestRecordTwiceThenQuery(t *testing.T) {
	closeWaitSockets(t, 2)
	file := filepath.Join(t.TempDir(), "history.db")
	for i := 0; i < 2; i++ {
		if _, errs, code := runCLI(t, "", "record", "--db", file); code != 0 {
			t.Fatalf("record: exit %d: %s", code, errs)
		}
	}
	out, errs, code := runCLI(t, "", "--db", file, "--format", "csv", "--header=false",
		"SELECT query, count(DISTINCT captured_at), sum(rows > 0), count(error) FROM netsql_snapshots GROUP BY query ORDER BY query")
	want := "interface-counters,2,2,0\nlistening,2,2,0\nsockets-by-program,2,2,0\nsockets-by-state,2,2,0\n"
	if code != 0 || out != want {
		t.Errorf("snapshots: exit %d %s\n%s\nwant\n%s", code, errs, out, want)
	}
	// The README's trend question, answered from the history beside the
	// live tables; the test's process holds 2 CLOSE_WAIT sockets.
	out, errs, code = runCLI(t, "", "--db", file, "--format", "csv", "--header=false",
		`SELECT strftime('%Y-%m-%d %H:00', captured_at) AS hour, max(sockets)
		 FROM sockets_by_program WHERE state = 'CLOSE_WAIT' AND program = (SELECT program FROM processes WHERE pid = `+strconv.Itoa(os.Getpid())+`)
		 GROUP BY hour`)
	if code != 0 || !regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:00,[2-9]\d*\n`).MatchString(out) {
		t.Errorf("CLOSE_WAIT per program per hour: exit %d %s %q", code, errs, out)
	}
	out, _, code = runCLI(t, "", "--db", file, "--format", "csv", "--header=false",
		"SELECT count(*) > 0 FROM history.listening l JOIN sockets s ON s.local_port = l.local_port")
	if code != 0 || out != "1\n" {
		t.Errorf("join of history and live tables: %q exit %d", out, code)
	}

	// A query that grows a column widens its table.
	dir := t.TempDir()
	q := filepath.Join(dir, "grow.sql")
	os.WriteFile(q, []byte("SELECT 1 AS a;\n"), 0o644)
	if _, errs, code := runCLI(t, "", "record", "--db", file, "--queries", dir, "-q", "grow"); code != 0 {
		t.Fatalf("record grow: %s", errs)
	}
	os.WriteFile(q, []byte("SELECT 2 AS a, 'x' AS b;\n"), 0o644)
	if _, errs, code := runCLI(t, "", "record", "--db", file, "--queries", dir, "-q", "grow"); code != 0 {
		t.Fatalf("record grown: %s", errs)
	}
	out, _, _ = runCLI(t, "", "--db", file, "--format", "csv", "--header=false", "SELECT a, b FROM grow ORDER BY captured_at")
	if out != "1,\n2,x\n" {
		t.Errorf("grown table: %q", out)
	}
	// Snapshots are written in WAL mode; a finished record leaves the
	// file in rollback mode, which a user who may not write it can read.
	var mode string
	openDB(t, file).QueryRow("PRAGMA journal_mode").Scan(&mode)
	if mode != "delete" {
		t.Errorf("journal_mode after record = %q, want delete", mode)
	}
}

func TestRecordBadInput(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	os.WriteFile(notDir, []byte("not a database"), 0o644)
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"record", "--db", "/nonexistent-netsql-dir/h.db"}, 1},
		{[]string{"record", "--db", filepath.Join(notDir, "h.db")}, 1},
		{[]string{"record", "--db", dir}, 1},
		{[]string{"record", "--db", notDir}, 1},
		{[]string{"--db", filepath.Join(dir, "missing.db"), "SELECT 1"}, 1},
		{[]string{"--db", notDir, "SELECT 1"}, 1},
		{[]string{"record"}, 2},
		{[]string{"record", "--db", filepath.Join(dir, "h.db"), "-q", "nope"}, 2},
		{[]string{"record", "--db", filepath.Join(dir, "h.db"), "--keep", "0"}, 2},
		{[]string{"record", "--db", filepath.Join(dir, "h.db"), "--keep", "-3d"}, 2},
		{[]string{"record", "--db", filepath.Join(dir, "h.db"), "--keep", "1.5d"}, 2},
		{[]string{"record", "--db", filepath.Join(dir, "h.db"), "--keep", "soon"}, 2},
	} {
		out, errs, code := runCLI(t, "", c.args...)
		if code != c.code {
			t.Errorf("%q: exit %d, want %d (%q)", c.args, code, c.code, errs)
		}
		if c.code == 1 {
			oneLineError(t, strings.Join(c.args, " "), out, errs)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("failed runs left files behind: %v", ents)
	}
	if b, _ := os.ReadFile(notDir); string(b) != "not a database" {
		t.Errorf("record changed a file that is not a database: %q", b)
	}
}

// TestRecordKilledMidRun SIGKILLs `record --every 50ms` after several
// snapshots and checks that the file is intact and every snapshot in it is
// whole: each table holds exactly the rows its snapshot says it stored,
// and no rows belong to a snapshot that was not committed.
func TestRecordKilledMidRun(t *testing.T) {
	bin := netsqlBinary(t)
	established(t, 20)
	file := filepath.Join(t.TempDir(), "history.db")
	for round := 0; round < 3; round++ {
		cmd := exec.Command(bin, "record", "--db", file, "--every", "50ms")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Wait for a few more snapshots, then kill at an arbitrary moment.
		// A snapshot runs four queries, one of them an fd scan of every
		// process: on a host busy with other tests' sockets it can take
		// seconds, so the wait is bounded generously (the test is about
		// what a kill leaves, not about speed) and ends early if record
		// dies.
		target := (round + 1) * 4
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		deadline := time.Now().Add(3 * time.Minute)
	wait:
		for snapshots(t, file) < target && time.Now().Before(deadline) {
			select {
			case <-exited:
				break wait
			case <-time.After(20 * time.Millisecond):
			}
		}
		time.Sleep(time.Duration(round*17) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		<-exited
		if snapshots(t, file) < target {
			t.Fatalf("round %d: fewer than %d snapshots; stderr: %s", round, target, stderr.String())
		}
	}
	db := openDB(t, file)
	var ok string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("integrity_check = %q, %v", ok, err)
	}
	rows, err := db.Query("SELECT captured_at, table_name, rows FROM netsql_snapshots WHERE error IS NULL")
	if err != nil {
		t.Fatal(err)
	}
	type snap struct {
		at, table string
		rows      int
	}
	var snaps []snap
	for rows.Next() {
		var s snap
		rows.Scan(&s.at, &s.table, &s.rows)
		snaps = append(snaps, s)
	}
	rows.Close()
	perTable := map[string]int{}
	for _, s := range snaps {
		var n int
		db.QueryRow(fmt.Sprintf("SELECT count(*) FROM %q WHERE captured_at = ?", s.table), s.at).Scan(&n)
		if n != s.rows {
			t.Errorf("snapshot %s of %s: %d rows stored, %d announced", s.at, s.table, n, s.rows)
		}
		perTable[s.table] += s.rows
	}
	for table, want := range perTable {
		var n int
		db.QueryRow(fmt.Sprintf("SELECT count(*) FROM %q", table)).Scan(&n)
		if n != want {
			t.Errorf("%s holds %d rows, its snapshots %d: rows of an uncommitted snapshot", table, n, want)
		}
	}
	if len(perTable) != 4 {
		t.Errorf("tables recorded: %v", perTable)
	}
}

// snapshots counts the snapshots committed to file so far.
func snapshots(t *testing.T, file string) int {
	t.Helper()
	if _, err := os.Stat(file); err != nil {
		return 0
	}
	db, err := sql.Open("sqlite", file)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(DISTINCT captured_at) FROM netsql_snapshots").Scan(&n); err != nil {
		return 0 // not created yet
	}
	return n
}

func TestNDJSONHostAndTimestamp(t *testing.T) {
	before := time.Now().Add(-time.Second)
	out, errs, code := runCLI(t, "", "--format", "ndjson", "--host-field", "host", "--timestamp-field", "@timestamp",
		"SELECT 1 AS a, '{x}' AS b UNION ALL SELECT 2, NULL")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	host, _ := os.Hostname()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("ndjson = %q", out)
	}
	for i, l := range lines {
		var obj map[string]any
		if err := json.Unmarshal([]byte(l), &obj); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		ts, err := time.Parse(time.RFC3339Nano, fmt.Sprint(obj["@timestamp"]))
		if obj["host"] != host || err != nil || ts.Before(before) || ts.After(time.Now()) || obj["a"] != float64(i+1) {
			t.Errorf("line %d = %v", i, obj)
		}
	}
	if !strings.HasPrefix(lines[0], `{"host":`) || !strings.HasSuffix(lines[0], `"a":1,"b":"{x}"}`) {
		t.Errorf("field order: %s", lines[0])
	}
	if _, _, code := runCLI(t, "", "--host-field", "host", "SELECT 1"); code != 2 {
		t.Errorf("--host-field without ndjson: exit %d", code)
	}
}

// TestServeQuiet: with --quiet, serve answers as usual and prints nothing
// (not even its "serving" line) while nothing fails.
func TestServeQuiet(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // a free port for serve to take
	ctx, cancel := context.WithCancel(context.Background())
	stderr := &lockedBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--quiet", "--listen", addr, "-q", "metric-sockets", "--scrape-timeout", "5s"}, strings.NewReader(""), io.Discard, stderr)
	}()
	// Longer than serve's scrape budget, so a loaded host cannot make
	// the client give up first.
	client := &http.Client{Timeout: 30 * time.Second}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		resp, err := client.Get("http://" + addr + "/metrics")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(body), "netsql_sockets") {
				t.Errorf("GET /metrics with --quiet: %d\n%s", resp.StatusCode, body)
			}
			break
		}
		select {
		case code := <-done:
			cancel()
			t.Fatalf("serve --quiet exited %d: %s", code, stderr)
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("serve --quiet never answered on %s: %v", addr, err)
		}
	}
	cancel()
	if code := <-done; code != 0 || stderr.String() != "" {
		t.Errorf("serve --quiet: exit %d, stderr %q; want 0 and nothing", code, stderr)
	}
}
