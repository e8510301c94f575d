package main

import (
	"bufio"
	"bytes"
	"io"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestUnknownCommand: a word that is neither SQL nor a sub-command is a
// usage error naming it, with the nearest command when it looks like a
// typo, before the flags after it are parsed.
func TestUnknownCommand(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"netsat", "-tanp"}, "netsql: unknown command netsat (did you mean netstat?)\n"},
		{[]string{"--format", "csv", "nestat", "-a"}, "netsql: unknown command nestat (did you mean netstat?)\n"},
		{[]string{"sevre"}, "netsql: unknown command sevre (did you mean serve?)\n"},
		{[]string{"recrod", "--db", "x"}, "netsql: unknown command recrod (did you mean record?)\n"},
		{[]string{"sockets"}, "netsql: unknown command sockets (commands: netstat, export, serve, record; or give SQL)\n"},
	} {
		out, errs, code := runCLI(t, "", c.args...)
		if code != 2 || out != "" || !strings.HasPrefix(errs, c.want) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 and %q", c.args, code, out, errs, c.want)
		}
	}
	// SQL still runs however it starts, and a typo inside SQL is SQLite's
	// to report.
	for _, sql := range []string{"SELECT 1", "select 1", "values (1)", "WITH a AS (SELECT 1) SELECT * FROM a", "-- c\nSELECT 1", "/* c */ SELECT 1"} {
		if out, errs, code := runCLI(t, "", "--format", "csv", "--header=false", sql); code != 0 || out != "1\n" {
			t.Errorf("%q: exit %d, %q, %q", sql, code, out, errs)
		}
	}
	if out, errs, code := runCLI(t, "", "--format", "csv", "--header=false", "SELECT", "1"); code != 0 || out != "1\n" {
		t.Errorf("SQL in words: exit %d, %q, %q", code, out, errs)
	}
	if _, errs, code := runCLI(t, "", "selec 1"); code != 1 || !strings.Contains(errs, `near "selec": syntax error`) {
		t.Errorf("SQL typo: exit %d, %q", code, errs)
	}
}

// TestHelp: -h and --help print the usage on stdout and exit 0; the usage
// mentions the shell and says what --header applies to.
func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"--help"}, {"--format", "csv", "-help"}} {
		out, errs, code := runCLI(t, "", args...)
		if code != 0 || errs != "" || !strings.HasPrefix(out, "usage: netsql [flags] [SQL]") {
			t.Errorf("%q: exit %d, stderr %q, stdout %.60q", args, code, errs, out)
		}
		for _, want := range []string{"interactive shell", "a markdown table always has them", "-version"} {
			if !strings.Contains(out, want) {
				t.Errorf("%q: usage lacks %q:\n%s", args, want, out)
			}
		}
	}
	for _, cmd := range []string{"export", "serve", "record"} {
		out, errs, code := runCLI(t, "", cmd, "-h")
		if code != 0 || errs != "" || !strings.HasPrefix(out, "usage: netsql [flags] "+cmd) {
			t.Errorf("%s -h: exit %d, stderr %q, stdout %.60q", cmd, code, errs, out)
		}
	}
	// Errors keep stderr.
	if out, errs, code := runCLI(t, "", "--bogus"); code != 2 || out != "" || !strings.Contains(errs, "flag provided but not defined: -bogus") {
		t.Errorf("--bogus: exit %d, %q, %q", code, out, errs)
	}
}

// TestVersionFormat: --version prints the module version, the VCS
// revision (and time, and whether the tree was modified) and the Go
// version from the build information.
func TestVersionFormat(t *testing.T) {
	var b bytes.Buffer
	printVersion(&b, &debug.BuildInfo{GoVersion: "go1.99.1", Main: debug.Module{Path: "github.com/netsql/netsql", Version: "v1.2.3"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123abc"}, {Key: "vcs.time", Value: "2026-11-27T10:00:00Z"}, {Key: "vcs.modified", Value: "true"}}})
	want := "netsql v1.2.3\nrevision 0123abc (2026-11-27T10:00:00Z, modified)\ngo1.99.1 " + runtime.GOOS + "/" + runtime.GOARCH + "\n"
	if b.String() != want {
		t.Errorf("version:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	printVersion(&b, &debug.BuildInfo{GoVersion: "go1.99.1", Main: debug.Module{Version: "(devel)"}})
	if want := "netsql (devel)\nrevision unknown (built without VCS information)\ngo1.99.1 " + runtime.GOOS + "/" + runtime.GOARCH + "\n"; b.String() != want {
		t.Errorf("version without VCS:\n%s\nwant:\n%s", b.String(), want)
	}
}

// TestVersionOfBuiltBinary builds netsql as a user would (with VCS
// stamping when the source is a git checkout) and checks that --version
// agrees with what `go version -m` reads from the same binary.
func TestVersionOfBuiltBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildNetsql(t)
	meta, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatalf("go version -m: %v", err)
	}
	want := map[string]string{}
	for _, line := range strings.Split(string(meta), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && f[0] == "mod":
			want["version"] = f[2]
		case len(f) == 2 && f[0] == "build":
			if k, v, ok := strings.Cut(f[1], "="); ok {
				want[k] = v
			}
		}
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatalf("--version: %v", err)
	}
	lines := strings.Split(string(out), "\n")
	if len(lines) != 4 || lines[0] != "netsql "+want["version"] || lines[2] != runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH {
		t.Errorf("--version:\n%s\ngo version -m:\n%s", out, meta)
	}
	if rev := want["vcs.revision"]; rev != "" {
		if !strings.HasPrefix(lines[1], "revision "+rev+" ("+want["vcs.time"]) {
			t.Errorf("--version: %q, want revision %s", lines[1], rev)
		}
	} else if lines[1] != "revision unknown (built without VCS information)" {
		t.Errorf("--version without VCS stamp: %q", lines[1])
	}
}

// TestRawViewsRefuseLayoutFlags: the netstat views print netstat's text;
// flags that shape rows (--format, --header, --fail-on-rows) or add
// tables (--db) cannot apply to them, so each is a usage error that says
// where the rows are, never silently ignored or printing SQL as headers.
func TestRawViewsRefuseLayoutFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--format", "json", "-q", "netstat-route"},
			"netsql: --format does not apply to netstat-route, which prints netstat's own text layout; for its rows as data, query the routes table (netsql --format csv 'SELECT * FROM routes')\n"},
		{[]string{"--fail-on-rows", "-q", "netstat-unix"},
			"netsql: --fail-on-rows does not apply to netstat-unix, which prints netstat's own text layout; for its rows as data, query the sockets table (netsql --format csv 'SELECT * FROM sockets')\n"},
		{[]string{"--fail-on-rows", "--format", "table", "-q", "netstat-unix"}, "netsql: --fail-on-rows does not apply to netstat-unix"},
		{[]string{"--header=false", "-q", "netstat-interfaces"}, "netsql: --header does not apply to netstat-interfaces"},
		{[]string{"--format", "csv", "netstat", "-tan"}, "netsql: --format does not apply to netstat, which prints netstat's own text layout"},
		{[]string{"--fail-on-rows", "netstat", "-x"}, "netsql: --fail-on-rows does not apply to netstat"},
		{[]string{"netstat", "-r", "--format", "json"}, "netstat: unrecognized option '--format'"},
	} {
		out, errs, code := runCLI(t, "", append([]string{"--proc", netstatFixture}, c.args...)...)
		if code != 2 || out != "" || !strings.HasPrefix(errs, c.want) {
			t.Errorf("%q: exit %d, stdout %.80q, stderr %q; want exit 2 and %q", c.args, code, out, errs, c.want)
		}
	}
	// Without them the views print netstat's layout.
	if out, errs, code := runCLI(t, "", "--proc", netstatFixture, "-q", "netstat-route"); code != 0 || !strings.HasPrefix(out, "Kernel IP routing table\n") {
		t.Errorf("-q netstat-route: exit %d, %q, %q", code, out, errs)
	}
}

// buildNetsql returns the binary built for this run (netsqlBinary); in
// -short mode it skips the test instead.
func buildNetsql(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	return netsqlBinary(t)
}

// TestNetstatContinuousSignals: a signal ends netstat -c as it ends
// netstat, which dies of it (its shell reports 128+N: 130 for Ctrl-C).
func TestNetstatContinuousSignals(t *testing.T) {
	bin := buildNetsql(t)
	// start runs the command, waits for its passes'th listing and sends
	// sig.
	start := func(sig syscall.Signal, passes int, name string, args ...string) *exec.Cmd {
		t.Helper()
		cmd := exec.Command(name, args...)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReader(stdout)
		for seen := 0; seen < passes; {
			line, err := r.ReadString('\n')
			if err != nil {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("%s %q ended after %d listings: %v (%v)", name, args, seen, err, cmd.ProcessState)
			}
			if strings.HasPrefix(line, "Active Internet connections") {
				seen++
			}
		}
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		go io.Copy(io.Discard, stdout)
		return cmd
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		cmd := start(sig, 1, bin, "--proc", netstatFixture, "netstat", "-c", "-t")
		err := cmd.Wait()
		if code := cmd.ProcessState.ExitCode(); code != 128+int(sig) {
			t.Errorf("netsql netstat -c after %v: exit %d (%v), want %d", sig, code, err, 128+int(sig))
		}
		if _, err := exec.LookPath("netstat"); err != nil {
			continue
		}
		// The real netstat dies of the signal.
		cmd = start(sig, 1, "netstat", "-c", "-t")
		cmd.Wait()
		ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
		if !ok || !ws.Signaled() || ws.Signal() != sig {
			t.Errorf("netstat -c after %v: %v (the test's premise)", sig, cmd.ProcessState)
		}
	}
	// --timeout bounds each listing, not the run: a third listing comes a
	// second after the second (netstat's interval), past the 300ms.
	cmd := start(syscall.SIGINT, 3, bin, "--timeout", "300ms", "--proc", netstatFixture, "netstat", "-c", "-t")
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Errorf("--timeout 300ms netstat -c: exit %d after its third listing and SIGINT, want 130", code)
	}
}

// TestNetstatHasNoDefaultTimeout: netstat has no time limit, so neither
// has `netsql netstat` unless --timeout is given (at 400k sockets
// `netstat -tanp` takes minutes); SQL keeps its 30 s default.
func TestNetstatHasNoDefaultTimeout(t *testing.T) {
	for _, c := range []struct {
		args []string
		want time.Duration
	}{
		{[]string{"netstat", "-tanp"}, 0},
		{[]string{"--timeout", "5s", "netstat", "-tanp"}, 5 * time.Second},
		{[]string{"SELECT 1"}, 30 * time.Second},
		{[]string{"--timeout", "0", "SELECT 1"}, 0},
	} {
		cfg, err := parseArgs(c.args, io.Discard)
		if err != nil {
			t.Fatalf("%q: %v", c.args, err)
		}
		if cfg.timeout != c.want {
			t.Errorf("%q: timeout %v, want %v", c.args, cfg.timeout, c.want)
		}
	}
}

// TestNoBPFFlag: --no-bpf, given before SQL, netstat or a sub-command or
// among a sub-command's flags, makes the engine walk /proc/*/fd instead
// of loading the fd iterator; without it the engine may use it.
func TestNoBPFFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		walk bool
	}{
		{[]string{"SELECT 1"}, false},
		{[]string{"--no-bpf", "SELECT 1"}, true},
		{[]string{"SELECT 1", "--no-bpf"}, true},
		{[]string{"--no-bpf", "netstat", "-tanp"}, true},
		{[]string{"--no-bpf", "top", "--batch"}, true},
	} {
		cfg, err := parseArgs(c.args, io.Discard)
		if err != nil {
			t.Fatalf("%q: %v", c.args, err)
		}
		if got := cfg.engineOptions(nil).WalkFDs; got != c.walk {
			t.Errorf("%q: WalkFDs %v, want %v", c.args, got, c.walk)
		}
	}
	// The sub-commands take it among their own flags.
	for _, args := range [][]string{
		{"top", "--batch", "-n", "1", "--no-bpf", "--proc", netstatFixture},
		{"export", "--no-bpf", "--proc", netstatFixture, "--textfile", t.TempDir() + "/m.prom"},
	} {
		if _, errs, code := runCLI(t, "", args...); code != 0 {
			t.Errorf("%q: exit %d: %s", args, code, errs)
		}
	}
}
