package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// badQueryDir makes a user query directory holding one good metric query
// (mine, metric my_gauge), one good plain query and one file with a header
// typo (typo.sql, query my-typo).
func badQueryDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range map[string]string{
		"mine.sql":  "-- description: my gauge\n-- metric: my_gauge\n-- type: gauge\n-- value: v\nSELECT 7 AS v;\n",
		"plain.sql": "-- description: plain\nSELECT 'plain' AS p;\n",
		"typo.sql":  "-- name: my-typo\n-- description: typo\n-- metric: my_typo\n-- type: gaug\n-- value: v\nSELECT 1 AS v;\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// reportedOnce checks that stderr names the bad file exactly once.
func reportedOnce(t *testing.T, what, stderr, file string) {
	t.Helper()
	if n := strings.Count(stderr, file); n != 1 || !strings.Contains(stderr, `type "gaug"`) {
		t.Errorf("%s: stderr names %s %d times, want once with the reason:\n%s", what, file, n, stderr)
	}
}

// TestBadUserFileDoesNotStopOthers: a user query file with a header typo
// is reported once, by name, and skipped; every other query runs, in every
// mode, from the default directory and from --queries.
func TestBadUserFileDoesNotStopOthers(t *testing.T) {
	dir := badQueryDir(t)

	// The default directory: $XDG_CONFIG_HOME/netsql/queries.
	cfg := t.TempDir()
	if err := os.Mkdir(filepath.Join(cfg, "netsql"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(dir, filepath.Join(cfg, "netsql", "queries")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("XDG_CONFIG_HOME", cfg)
	typo := filepath.Join(cfg, "netsql", "queries", "typo.sql")
	out, errs, code := runCLI(t, "", "--format", "csv", "-q", "sockets-by-state")
	if code != 0 || !strings.HasPrefix(out, "proto,state,") {
		t.Errorf("-q built-in beside a bad user file: exit %d, %q, %s", code, out, errs)
	}
	reportedOnce(t, "-q sockets-by-state", errs, typo)
	out, errs, code = runCLI(t, "", "--format", "csv", "--header=false", "-q", "plain")
	if code != 0 || out != "plain\n" {
		t.Errorf("-q plain: exit %d, %q, %s", code, out, errs)
	}
	out, errs, code = runCLI(t, "", "-q")
	if code != 0 || !strings.Contains(out, "mine ") || !strings.Contains(out, "sockets-by-state ") || strings.Contains(out, "my-typo") {
		t.Errorf("-q listing: exit %d:\n%s\n%s", code, out, errs)
	}
	reportedOnce(t, "-q listing", errs, typo)
	// Asking for the bad query itself says why it is missing.
	out, errs, code = runCLI(t, "", "-q", "my-typo")
	if code != 1 || out != "" || !strings.Contains(errs, "query my-typo: its file "+typo+" was skipped") {
		t.Errorf("-q my-typo: exit %d, %q, %s", code, out, errs)
	}
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	typo = filepath.Join(dir, "typo.sql")

	// export writes every other metric and counts the skipped file;
	// its exit status says the export is incomplete.
	file := filepath.Join(t.TempDir(), "netsql.prom")
	_, errs, code = runCLI(t, "", "export", "--queries", dir, "--textfile", file)
	b, err := os.ReadFile(file)
	if code != 1 || err != nil {
		t.Fatalf("export: exit %d, %v, %s", code, err, errs)
	}
	reportedOnce(t, "export", errs, typo)
	mfs := parseMetrics(t, string(b))
	if v, ok := sample(mfs["netsql_query_file_errors"], nil); !ok || v != 1 {
		t.Errorf("netsql_query_file_errors = %v, %v\n%s", v, ok, b)
	}
	if v, ok := sample(mfs["my_gauge"], nil); !ok || v != 7 {
		t.Errorf("my_gauge = %v, %v", v, ok)
	}
	if mfs["netsql_sockets"] == nil {
		t.Errorf("built-in metrics missing:\n%s", b)
	}
	// Without the bad file the count is 0 and the export succeeds.
	good := t.TempDir()
	os.WriteFile(filepath.Join(good, "mine.sql"), []byte("-- metric: my_gauge\n-- type: gauge\n-- value: v\nSELECT 7 AS v;\n"), 0o644)
	if _, errs, code := runCLI(t, "", "export", "--queries", good, "--textfile", file); code != 0 {
		t.Errorf("export of good files: exit %d, %s", code, errs)
	}
	b, _ = os.ReadFile(file)
	if v, ok := sample(parseMetrics(t, string(b))["netsql_query_file_errors"], nil); !ok || v != 0 {
		t.Errorf("no bad file: netsql_query_file_errors = %v, %v", v, ok)
	}

	// serve starts and exposes the count. It reads the fixture tree: on
	// a host holding half a million sockets the live built-in queries
	// take the whole 5 s budget and the user's query would never run,
	// while what is tested here is which files serve loads.
	addr, stderr, stop := startServe(t, "--proc", netstatFixture, "--queries", dir, "--scrape-timeout", "5s")
	defer stop()
	// Longer than serve's whole scrape budget, so the client never loses
	// the race with a slow scrape.
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	mfs = parseMetrics(t, string(body))
	if v, ok := sample(mfs["netsql_query_file_errors"], nil); !ok || v != 1 {
		t.Errorf("serve: netsql_query_file_errors = %v, %v", v, ok)
	}
	if v, ok := sample(mfs["my_gauge"], nil); !ok || v != 7 {
		t.Errorf("serve: my_gauge = %v, %v", v, ok)
	}
	if code := stop(); code != 0 {
		t.Errorf("serve exit %d", code)
	}
	reportedOnce(t, "serve", stderr.String(), typo)

	// record records its defaults and a named good user query.
	db := filepath.Join(t.TempDir(), "h.db")
	_, errs, code = runCLI(t, "", "record", "--queries", dir, "--db", db, "-q", "sockets-by-state,plain")
	if code != 0 {
		t.Errorf("record: exit %d, %s", code, errs)
	}
	reportedOnce(t, "record", errs, typo)
	out, errs, code = runCLI(t, "", "--db", db, "--format", "csv", "--header=false", "SELECT p FROM plain")
	if code != 0 || out != "plain\n" {
		t.Errorf("record did not record plain: exit %d, %q, %s", code, out, errs)
	}
}

// TestUserMetricCollisionsReported: a user query declaring a built-in
// metric, or a second file naming an existing user query, is reported by
// name and skipped; the built-in series stay.
func TestUserMetricCollisionsReported(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "mine.sql"), []byte("-- metric: netsql_sockets\n-- type: gauge\n-- value: v\nSELECT 1 AS v;\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "a.sql"), []byte("-- name: same\nSELECT 'a' AS x;\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "b.sql"), []byte("-- name: same\nSELECT 'b' AS x;\n"), 0o644)
	out, errs, code := runCLI(t, "", "--queries", dir, "-q")
	if code != 0 {
		t.Fatalf("-q: exit %d %s", code, errs)
	}
	for _, want := range []string{
		filepath.Join(dir, "mine.sql") + " skipped: metric netsql_sockets is already declared by query metric-sockets",
		filepath.Join(dir, "b.sql") + " skipped: query name same is already taken by " + filepath.Join(dir, "a.sql"),
	} {
		if strings.Count(errs, want) != 1 {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	if strings.Contains(out, "mine ") {
		t.Errorf("mine listed:\n%s", out)
	}
	file := filepath.Join(t.TempDir(), "netsql.prom")
	runCLI(t, "", "export", "--queries", dir, "--textfile", file, "-q", "metric-sockets")
	b, _ := os.ReadFile(file)
	if v, ok := sample(parseMetrics(t, string(b))["netsql_query_success"], map[string]string{"query": "metric-sockets"}); !ok || v != 1 {
		t.Errorf("built-in metric-sockets did not run:\n%s", b)
	}
}

// TestQueriesDirUsage: --queries naming no directory is a usage error in
// every mode.
func TestQueriesDirUsage(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nonexistent")
	for _, args := range [][]string{
		{"--queries", missing, "-q", "listening"},
		{"--queries", missing, "-q"},
		{"--queries", missing, "SELECT 1"},
		{"export", "--queries", missing, "--textfile", filepath.Join(t.TempDir(), "x.prom")},
		{"record", "--queries", missing, "--db", filepath.Join(t.TempDir(), "x.db")},
	} {
		out, errs, code := runCLI(t, "", args...)
		if code != 2 || !strings.Contains(errs, "--queries "+missing+": no such directory") {
			t.Errorf("%q: exit %d, %q", args, code, errs)
		}
		oneLineError(t, strings.Join(args, " "), out, errs)
	}
}

// TestUnreadableDefaultQueryDir: a default query directory the user cannot
// read (root's, seen by another user) is a notice; built-in queries run.
func TestUnreadableDefaultQueryDir(t *testing.T) {
	bin := nobodyBinary(t)
	cfg := worldDir(t)
	dir := filepath.Join(cfg, "netsql", "queries")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "mine.sql"), []byte("SELECT 1;\n"), 0o644)
	if err := os.Chmod(dir, 0o700); err != nil { // root's own
		t.Fatal(err)
	}
	out := worldDir(t)
	if err := os.Chmod(out, 0o777); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"--format", "csv", "-q", "sockets-by-state"},
		{"-q"},
		{"export", "--textfile", filepath.Join(out, "x.prom")},
	} {
		cmd := append([]string{"env", "XDG_CONFIG_HOME=" + cfg, bin}, args...)
		out, errs, code := runBinary(t, "/usr/bin/env", nobody, cmd[1:]...)
		if code != 0 || out == "" && args[0] != "export" {
			t.Errorf("as nobody, %q: exit %d, %q, %q", args, code, out, errs)
		}
		if !strings.Contains(errs, "netsql: user queries in "+dir+" not read: permission denied") {
			t.Errorf("as nobody, %q: no notice: %q", args, errs)
		}
	}
}

// TestParamBinding: -p names are checked against what the query takes,
// bound under SQLite's name rules, and valued as SQLite reads numbers.
func TestParamBinding(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string // stdout, or the stderr line for a failure
	}{
		{[]string{"-q", "netstat-inet", "-p", "protoo=udp"}, 2,
			"netsql: -p: no parameter :protoo in netstat-inet, which takes :tcp, :udp, :udplite, :raw, :inet, :inet6, :all, :listening, :numeric, :wide, :extend, :programs, :timers\n"},
		{[]string{"-q", "close-wait-over", "-p", "lmit=3"}, 2, "netsql: -p: no parameter :lmit in close-wait-over, which takes :limit\n"},
		{[]string{"-p", "x=1", "SELECT 1"}, 2, "netsql: -p: no parameter :x in the SQL, which takes none\n"},
		{[]string{"-p", "x=1", "-p", "y=2", "SELECT :y"}, 2, "netsql: -p: no parameter :x in the SQL, which takes :y\n"},
		{[]string{"export", "--textfile", "/nonexistent/x", "-p", "x=1"}, 2, "netsql: -p: no parameter :x in the queries run, which takes none\n"},
		{[]string{"-p", "é=1", "SELECT :é, typeof(:é)"}, 0, "1,integer\n"},
		{[]string{"-p", "x=1_000", "SELECT :x, typeof(:x)"}, 0, "1_000,text\n"},
		{[]string{"-p", "x=2e3", "SELECT :x, typeof(:x)"}, 0, "2000.0,real\n"},
		{[]string{"-p", "x=007", "SELECT :x, typeof(:x)"}, 0, "7,integer\n"},
		{[]string{"SELECT :1"}, 1, "netsql: parameter :1 cannot be bound: a parameter name starts with a letter (:name, given with -p name=VALUE)\n"},
		{[]string{"SELECT ?5"}, 1, "netsql: positional parameter ?5 is not supported; use :name with -p name=VALUE\n"},
		{[]string{"-p", "limit=1", "SELECT ?"}, 2, "netsql: -p: no parameter :limit in the SQL, which takes none\n"},
	} {
		args := append([]string{"--format", "csv", "--header=false"}, c.args...)
		if slices.Contains(c.args, "netstat-inet") { // a raw view takes no --format
			args = c.args
		}
		out, errs, code := runCLI(t, "", args...)
		got := out
		if c.code != 0 {
			got = errs
		}
		if code != c.code || got != c.want {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit %d and %q", c.args, code, out, errs, c.code, c.want)
		}
	}
	// Malformed -p and --timeout are usage errors before anything runs.
	for _, args := range [][]string{
		{"-p", "a b=5", "SELECT 1"},
		{"-p", "=5", "SELECT 1"},
		{"-p", "1x=5", "SELECT 1"},
		{"-p", "noequals", "SELECT 1"},
		{"--timeout", "-1s", "SELECT 1"},
		{"export", "--textfile", "/nonexistent/x", "--timeout", "-1s"},
		{"-p", "x=1", "netstat", "-tan"},
		{"-p", "x=1", "-q"},
	} {
		out, errs, code := runCLI(t, "", args...)
		if code != 2 || out != "" || !strings.HasPrefix(errs, "netsql: ") {
			t.Errorf("%q: exit %d, %q, %q; want a usage error", args, code, out, errs)
		}
	}
}
