package shell

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netsql/netsql/queries/format"
)

// The tests in this file drive the real shell through a terminal: tmux
// runs the test binary (see TestMain) in a 120x40 pane, the test types
// with send-keys and reads the screen with capture-pane.

// tmuxShell is one shell running in a tmux pane.
type tmuxShell struct {
	t      *testing.T
	socket string
	name   string
}

// shellEnv is a home for one test: XDG directories under a temp dir.
type shellEnv struct {
	home, state, config string
}

func newShellEnv(t *testing.T) shellEnv {
	dir := t.TempDir()
	e := shellEnv{home: filepath.Join(dir, "home"), state: filepath.Join(dir, "state"), config: filepath.Join(dir, "config")}
	for _, d := range []string{e.home, e.state, e.config} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// startShell runs the shell in tmux; extra are more VAR=value settings.
func startShell(t *testing.T, env shellEnv, extra ...string) *tmuxShell {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed (.ci/run installs it); the terminal tests need it")
	}
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	proc, err := filepath.Abs(fixtureProc)
	if err != nil {
		t.Fatal(err)
	}
	s := &tmuxShell{t: t, socket: filepath.Join(t.TempDir(), "tmux.sock"), name: "netsql"}
	var more string
	for _, e := range extra {
		more += fmt.Sprintf(" %q", e)
	}
	cmd := fmt.Sprintf("env -u NETSQL_HISTORY -u NO_COLOR NETSQL_TEST_SHELL=1 NETSQL_TEST_PROC=%q HOME=%q XDG_STATE_HOME=%q XDG_CONFIG_HOME=%q%s %q -test.run=^$",
		proc, env.home, env.state, env.config, more, bin)
	s.tmux("new-session", "-d", "-x", "120", "-y", "40", "-s", s.name, cmd)
	s.tmux("set-option", "-t", s.name, "remain-on-exit", "on")
	t.Cleanup(s.stop)
	s.waitPrompt()
	return s
}

// stop ends the shell (Ctrl-C, Ctrl-D) and waits for it before the test's
// directories are removed, then ends tmux.
func (s *tmuxShell) stop() {
	run := func(args ...string) string {
		out, _ := exec.Command("tmux", append([]string{"-S", s.socket}, args...)...).Output()
		return strings.TrimSpace(string(out))
	}
	run("send-keys", "-t", s.name, "C-c")
	run("send-keys", "-t", s.name, "C-d")
	for i := 0; i < 100 && !s.exited(); i++ {
		time.Sleep(20 * time.Millisecond)
	}
	run("kill-server")
}

// exited reports whether the shell's process has ended.
func (s *tmuxShell) exited() bool {
	out, err := exec.Command("tmux", "-S", s.socket, "display-message", "-p", "-t", s.name, "#{pane_dead}").Output()
	return err != nil || strings.TrimSpace(string(out)) == "1"
}

func (s *tmuxShell) tmux(args ...string) string {
	s.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", s.socket}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// typeText types text literally.
func (s *tmuxShell) typeText(text string) {
	// tmux reads an argument ending in ";" as a command separator.
	if strings.HasSuffix(text, ";") {
		text = strings.TrimSuffix(text, ";") + `\;`
	}
	s.tmux("send-keys", "-t", s.name, "-l", text)
}

// key presses named keys: Enter, Tab, C-c, C-d, Up.
func (s *tmuxShell) key(keys ...string) {
	s.tmux(append([]string{"send-keys", "-t", s.name}, keys...)...)
}

// line types text and presses Enter.
func (s *tmuxShell) line(text string) {
	s.typeText(text)
	s.key("Enter")
}

func (s *tmuxShell) screen() string {
	// -S -: include what scrolled off; -J: join wrapped lines.
	return s.tmux("capture-pane", "-p", "-J", "-S", "-", "-t", s.name)
}

// waitFor waits until the screen shows want and returns the screen.
func (s *tmuxShell) waitFor(want string) string {
	s.t.Helper()
	return s.waitUntil(want, func(sc string) bool { return strings.Contains(sc, want) })
}

// waitUntil waits until ok holds for the screen.
func (s *tmuxShell) waitUntil(what string, ok func(screen string) bool) string {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second) // generous: CI machines are busy
	for {
		sc := s.screen()
		if ok(sc) {
			return sc
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("screen never showed %s; it shows:\n%s", what, sc)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// interruptUntil presses Ctrl-C until the screen shows want, again every
// second. A Ctrl-C reaches a running statement only once the shell has
// left the line editor (the terminal is raw until then and the key is
// input, not a SIGINT), which a busy machine may not have done yet.
func (s *tmuxShell) interruptUntil(want string) string {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s.key("C-c")
		for try := time.Now().Add(time.Second); time.Now().Before(try); time.Sleep(50 * time.Millisecond) {
			if sc := s.screen(); strings.Contains(sc, want) {
				return sc
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("screen never showed %s after Ctrl-C; it shows:\n%s", want, s.screen())
		}
	}
}

// lastLine is the screen's last non-empty line.
func lastLine(screen string) string {
	lines := strings.Split(strings.TrimRight(screen, "\n "), "\n")
	return lines[len(lines)-1]
}

// atPrompt reports whether the screen ends at an empty main prompt.
func atPrompt(screen string) bool {
	return strings.TrimSpace(lastLine(screen)) == strings.TrimSpace(Prompt)
}

func (s *tmuxShell) waitPrompt() string {
	s.t.Helper()
	return s.waitUntil("an empty prompt", atPrompt)
}

// clear clears the screen between steps so later waits see only new text.
// On a loaded machine a Ctrl-L can land while the shell is still redrawing
// and leave a fresh prompt line instead of a clear screen, so it is sent
// again until the screen is clear.
func (s *tmuxShell) clear() {
	s.t.Helper()
	cleared := func(sc string) bool {
		return strings.Count(sc, strings.TrimSpace(Prompt)) == 1 && atPrompt(sc)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		s.tmux("send-keys", "-t", s.name, "C-l")
		s.tmux("clear-history", "-t", s.name)
		for try := time.Now().Add(2 * time.Second); time.Now().Before(try); time.Sleep(50 * time.Millisecond) {
			if cleared(s.screen()) {
				return
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("screen never cleared; it shows:\n%s", s.screen())
		}
	}
}

func TestTerminalCompletion(t *testing.T) {
	s := startShell(t, newShellEnv(t))
	s.typeText("SELECT * FROM soc")
	s.key("Tab")
	s.waitFor("netsql> SELECT * FROM socket")
	s.key("Tab") // two tables start with "socket": the second Tab lists them
	sc := s.waitFor("socket_owners")
	if !strings.Contains(sc, "sockets") {
		t.Fatalf("candidates should list sockets and socket_owners:\n%s", sc)
	}
	s.key("Escape")
	s.typeText("s WHERE sta")
	s.key("Tab")
	s.waitFor("SELECT * FROM sockets WHERE state")
	s.key("C-u")
	s.typeText("SELECT sockets.local_po") // table.column
	s.key("Tab")
	s.waitFor("netsql> SELECT sockets.local_port")
	s.line(" FROM sockets WHERE state = 'LISTEN' ORDER BY 1 LIMIT 1;")
	s.waitFor("local_port\n----------\n       631")
	s.waitPrompt()
	s.clear()
	s.typeText(".sch")
	s.key("Tab")
	s.waitFor("netsql> .schema")
	s.typeText(" proc")
	s.key("Tab")
	s.waitFor("netsql> .schema processes")
	s.key("C-u")
	s.typeText(".run sta")
	s.key("Tab")
	s.waitFor("netsql> .run states")
}

func TestTerminalTablesAndSchema(t *testing.T) {
	s := startShell(t, newShellEnv(t))
	s.line(".tables")
	sc := s.waitFor("processes")
	for _, want := range []string{"sockets ", "socket_owners ", "Every TCP, UDP, UDP-Lite, raw and unix socket"} {
		if !strings.Contains(sc, want) {
			t.Errorf(".tables should show %q:\n%s", want, sc)
		}
	}
	s.waitPrompt()
	s.clear()
	s.line(".schema sockets")
	sc = s.waitFor(");")
	for _, want := range []string{"CREATE TABLE sockets(", "local_port", "INTEGER", "-- netstat's protocol word"} {
		if !strings.Contains(sc, want) {
			t.Errorf(".schema sockets should show %q:\n%s", want, sc)
		}
	}
}

func TestTerminalMultiLine(t *testing.T) {
	s := startShell(t, newShellEnv(t))
	s.line("SELECT proto, count(*) AS n")
	s.waitFor(strings.TrimSpace(ContinuePrompt))
	s.line("FROM sockets")
	s.line("GROUP BY proto ORDER BY proto")
	s.line(";")
	sc := s.waitFor("unix")
	for _, want := range []string{"proto  n", "tcp    5", "tcp6   4", "unix   7"} {
		if !strings.Contains(sc, want) {
			t.Errorf("result should show %q:\n%s", want, sc)
		}
	}
	s.waitPrompt()
	// Ctrl-C drops a half-typed statement and returns to the main prompt.
	s.line("SELECT 1 +")
	s.waitFor(strings.TrimSpace(ContinuePrompt))
	s.key("C-c")
	s.waitPrompt()
	s.line("SELECT 'still here' AS alive;")
	s.waitFor("still here")
}

func TestTerminalInterrupt(t *testing.T) {
	s := startShell(t, newShellEnv(t))
	s.line(".watch 0.2 SELECT count(*) AS total FROM sockets;")
	s.waitFor("Every 0.2s")
	sc := s.waitFor("total")
	if !strings.Contains(sc, "21") {
		t.Fatalf(".watch should show the count (21 sockets in the fixture):\n%s", sc)
	}
	time.Sleep(300 * time.Millisecond) // let it redraw at least once more
	s.key("C-c")
	s.waitPrompt()
	s.clear()
	s.line("SELECT 40 + 2 AS answer;")
	s.waitFor("42")
	s.waitPrompt()
	s.clear()

	// A statement that never ends: Ctrl-C cancels it and prints no rows.
	s.line("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c WHERE x < 0;")
	time.Sleep(300 * time.Millisecond)
	sc = s.interruptUntil("Error: interrupted")
	s.waitPrompt()
	if strings.Contains(sc, "---") {
		t.Errorf("an interrupted statement printed part of a table:\n%s", sc)
	}
}

func TestTerminalHistory(t *testing.T) {
	env := newShellEnv(t)
	s := startShell(t, env)
	// Each wait is for the result row ("first" at a line's end), not the
	// echoed input, so every statement has finished before the next.
	s.line("SELECT 'first' AS h;")
	s.waitFor("first\n")
	s.line("SELECT 'histmark' AS h;")
	s.waitFor("histmark\n")
	s.line("SELECT 'first' AS h;") // a repeat moves to the end, once
	s.waitUntil("the second 'first' row", func(sc string) bool { return strings.Count(sc, "first\n") == 2 })
	s.waitPrompt()
	s.key("C-d")
	s.waitUntil("the shell to exit", func(string) bool { return s.exited() })
	b, err := os.ReadFile(filepath.Join(env.state, "netsql", "history"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), "SELECT 'histmark' AS h;\nSELECT 'first' AS h;\n"; got != want {
		t.Fatalf("history file holds %q, want %q", got, want)
	}

	s = startShell(t, env)
	s.key("Up")
	s.waitFor("netsql> SELECT 'first' AS h;")
	s.key("Up")
	s.waitFor("netsql> SELECT 'histmark' AS h;")
	s.key("Enter")
	s.waitFor("histmark\n")
	s.waitPrompt()
	s.clear()

	// Ctrl-R searches the history.
	s.key("C-r")
	s.typeText("first")
	s.waitFor("search: first")
	s.key("Enter") // accept the match
	s.waitFor("netsql> SELECT 'first' AS h;")
	s.key("Enter")
	s.waitFor("first\n")
}

func TestTerminalColor(t *testing.T) {
	const bold, dim = "\x1b[1m", "\x1b[2m"
	for _, noColor := range []bool{false, true} {
		var extra []string
		if noColor {
			extra = append(extra, "NO_COLOR=1")
		}
		s := startShell(t, newShellEnv(t), extra...)
		s.line("SELECT NULL AS empty, 'x' AS something;")
		s.waitFor("something")
		s.waitPrompt()
		sc := s.tmux("capture-pane", "-p", "-e", "-t", s.name) // -e: keep the escapes
		colored := strings.Contains(sc, bold+"empty") && strings.Contains(sc, dim+"NULL")
		if noColor && (strings.Contains(sc, bold) || strings.Contains(sc, dim)) {
			t.Errorf("NO_COLOR is set, yet the screen has styles:\n%q", sc)
		}
		if !noColor && !colored {
			t.Errorf("on a terminal the header should be bold and NULL dim:\n%q", sc)
		}
		if !strings.Contains(sc, "NULL") {
			t.Errorf("NULL should show as NULL:\n%q", sc)
		}
		s.stop()
	}
}

func TestTerminalFitsWidth(t *testing.T) {
	s := startShell(t, newShellEnv(t))
	s.line("SELECT * FROM sockets WHERE proto = 'tcp' LIMIT 3;")
	s.waitFor("LISTEN")
	s.waitPrompt()
	rows := 0
	for _, l := range strings.Split(s.tmux("capture-pane", "-p", "-t", s.name), "\n") {
		if strings.HasPrefix(l, "tcp ") {
			rows++
			if !strings.HasSuffix(l, format.Ellipsis) || len([]rune(l)) != 120 {
				t.Errorf("a row wider than the 120-column pane should be cut to it and end in %s: %q", format.Ellipsis, l)
			}
		}
	}
	if rows != 3 {
		t.Errorf("want 3 rows on the screen, saw %d", rows)
	}
}

// TestTerminalCtrlDUnfinished: Ctrl-D on an unfinished statement says so
// and keeps it; ending it runs it; a second Ctrl-D leaves.
func TestTerminalCtrlDUnfinished(t *testing.T) {
	s := startShell(t, newShellEnv(t))
	s.line("SELECT 'kept' AS k")
	s.waitFor(strings.TrimSpace(ContinuePrompt))
	s.key("C-d")
	s.waitFor("unfinished statement not run: SELECT 'kept' AS k")
	s.line(";")
	sc := s.waitFor("kept\n")
	if s.exited() {
		t.Fatalf("the shell left on the first Ctrl-D:\n%s", sc)
	}
	s.waitPrompt()
	s.line("SELECT 'dropped'")
	s.waitFor(strings.TrimSpace(ContinuePrompt))
	s.key("C-d")
	s.waitFor("unfinished statement not run: SELECT 'dropped'")
	s.key("C-d")
	s.waitUntil("the shell to leave", func(string) bool { return s.exited() })
}
