package main

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestTopBatchProc: on a /proc tree top prints one frame whatever -n
// says, says that rates are unavailable, and its listeners panel lists
// the tree's listening TCP ports.
func TestTopBatchProc(t *testing.T) {
	out, errs, code := runCLI(t, "", "--proc", fixtureProc, "top", "--batch", "-n", "3", "--interval", "10ms")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if n := strings.Count(out, "netsql top - "); n != 1 {
		t.Errorf("%d frames from a /proc tree, want 1:\n%s", n, out)
	}
	for _, want := range []string{"one frame from a /proc tree", "rates unavailable", "\nPrograms\n", "\nListeners\n", "\nInterfaces\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errs, "--proc: one frame, rates unavailable") {
		t.Errorf("stderr does not say -n 3 gave one frame: %s", errs)
	}
	ports, _, code := runCLI(t, "", "--proc", fixtureProc, "--format", "csv", "--header=false",
		"SELECT DISTINCT local_port FROM sockets WHERE protocol = 'tcp' AND state = 'LISTEN'")
	if code != 0 || ports == "" {
		t.Fatalf("listening ports of the fixture: %q, exit %d", ports, code)
	}
	listeners := out[strings.Index(out, "\nListeners\n"):strings.Index(out, "\nInterfaces\n")]
	for _, p := range strings.Fields(ports) {
		if !regexp.MustCompile(`(?m)^tcp6? +\S+ +` + p + ` `).MatchString(listeners) {
			t.Errorf("listeners panel lacks port %s:\n%s", p, listeners)
		}
	}
}

// TestTopNeedsTerminal: without a terminal and without --batch, top
// says to use --batch instead of drawing into a pipe.
func TestTopNeedsTerminal(t *testing.T) {
	out, errs, code := runCLI(t, "", "--proc", fixtureProc, "top")
	if code != exitUsage || out != "" || !strings.Contains(errs, "use --batch") || strings.Count(errs, "\n") != 1 {
		t.Errorf("top on a pipe: exit %d, stdout %q, stderr %q; want exit 2 and one line saying to use --batch", code, out, errs)
	}
	for _, args := range [][]string{
		{"top", "--batch", "--format", "csv"},
		{"top", "-n", "2"},
		{"top", "--batch", "--interval", "0s"},
		{"top", "--batch", "extra"},
	} {
		if _, errs, code := runCLI(t, "", append([]string{"--proc", fixtureProc}, args...)...); code != exitUsage || strings.Count(errs, "\n") != 2 {
			t.Errorf("%v: exit %d, stderr %q; want a usage error", args, code, errs)
		}
	}
}

// TestTopBatchNDJSONLive prints two refreshes as ndjson: every line is an
// object naming its panel; counters are COUNTER_per_s rates, null on the
// first refresh and numbers on the second; the listener this test holds
// is in the listeners panel.
func TestTopBatchNDJSONLive(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := float64(ln.Addr().(*net.TCPAddr).Port)
	out, errs, code := runCLI(t, "", "top", "--batch", "-n", "2", "--interval", "200ms", "--format", "ndjson")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	times := map[string]bool{}
	var lo []map[string]any
	found := false
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		var obj map[string]any
		if err := json.Unmarshal([]byte(line), &obj); err != nil {
			t.Fatalf("not JSON: %v: %s", err, line)
		}
		ts, _ := obj["time"].(string)
		if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
			t.Fatalf("time %q: %v", ts, err)
		}
		times[ts] = true
		switch obj["panel"] {
		case "top-interfaces":
			if obj["interface"] == "lo" {
				lo = append(lo, obj)
			}
			if _, raw := obj["rx_bytes"]; raw {
				t.Errorf("a counter under its raw name: %s", line)
			}
		case "top-listeners":
			found = found || obj["port"] == port && obj["address"] == "127.0.0.1"
		case nil:
			t.Errorf("no panel: %s", line)
		}
	}
	if len(times) != 2 {
		t.Errorf("%d refresh times, want 2", len(times))
	}
	if !found {
		t.Errorf("listeners panel lacks 127.0.0.1:%v", port)
	}
	if len(lo) != 2 {
		t.Fatalf("lo rows: %v", lo)
	}
	if v, ok := lo[0]["rx_bytes_per_s"]; !ok || v != nil {
		t.Errorf("first refresh: lo rx_bytes_per_s = %v (present %v), want null", v, ok)
	}
	if v, ok := lo[1]["rx_bytes_per_s"].(float64); !ok || v < 0 {
		t.Errorf("second refresh: lo rx_bytes_per_s = %v, want a rate", lo[1]["rx_bytes_per_s"])
	}
}

// TestTopUnprivileged runs top as nobody while root holds a listener:
// the listener is there without its program, and the notice that owners
// are unknown comes once for two refreshes.
func TestTopUnprivileged(t *testing.T) {
	bin := nobodyBinary(t)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	out, errs, code := runBinary(t, bin, nobody, "top", "--batch", "-n", "2", "--interval", "100ms")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	row := regexp.MustCompile(`(?m)^tcp +127\.0\.0\.1 +` + strconv.Itoa(port) + ` +(\S*) `)
	m := row.FindAllStringSubmatch(out, -1)
	if len(m) != 2 {
		t.Fatalf("the root listener on port %d is in %d of 2 frames:\n%s", port, len(m), out)
	}
	for _, g := range m {
		if g[1] != "0" { // program blank: the next column (queued) follows
			t.Errorf("nobody sees root's listener with program %q", g[1])
		}
	}
	if n := strings.Count(errs, "not all processes could be identified"); n != 1 {
		t.Errorf("the notice came %d times, want once:\n%s", n, errs)
	}
}

// TestTopInTerminal runs top in a real terminal (a tmux pane), switches
// panels, filters, drills down and quits; then, again, ends it with
// SIGTERM. Both times the shell after it finds the terminal restored:
// the full-screen frame gone and the line discipline back to canonical
// mode with echo.
func TestTopInTerminal(t *testing.T) {
	tm := newTmux(t)
	dir := t.TempDir()
	bin := netsqlBinary(t)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	tmux := tm.run
	target := "one"
	waitUntil := func(what string, ok func(screen string) bool) string { return tm.waitUntil(target, what, ok) }
	waitFor := func(want string) string { return tm.waitFor(target, want) }
	// The script records the pid top runs as, then what the terminal
	// looks like after it: stty's modes and a marker.
	script := func(n int) string {
		return "echo $$ > " + dir + "/pid" + strconv.Itoa(n) + "; " +
			"env HOME=" + dir + " XDG_CONFIG_HOME=" + dir + "/config " + bin + " top --interval 500ms; " +
			"echo exit=$? > " + dir + "/after" + strconv.Itoa(n) + "; stty -a >> " + dir + "/after" + strconv.Itoa(n) + "; " +
			"echo TOP-ENDED-" + strconv.Itoa(n) + "; sleep 60"
	}
	restored := func(n int) {
		t.Helper()
		screen := waitFor("TOP-ENDED-" + strconv.Itoa(n))
		if strings.Contains(screen, "netsql top - ") || strings.Contains(screen, "[Programs]") {
			t.Errorf("run %d: the frame is still on the screen after top ended:\n%s", n, screen)
		}
		b, err := os.ReadFile(filepath.Join(dir, "after"+strconv.Itoa(n)))
		if err != nil {
			t.Fatal(err)
		}
		after := string(b)
		if !strings.HasPrefix(after, "exit=0\n") {
			t.Errorf("run %d: top exited with %s", n, strings.SplitN(after, "\n", 2)[0])
		}
		for _, mode := range []string{"-icanon", "-echo ", "-isig"} {
			if strings.Contains(after, mode) {
				t.Errorf("run %d: terminal left in %s after top:\n%s", n, mode, after)
			}
		}
	}

	tmux("new-session", "-d", "-s", "one", "-x", "120", "-y", "32", "sh", "-c", script(1))
	waitFor("[Programs]")
	waitUntil("a second refresh (rates)", func(s string) bool { return regexp.MustCompile(`retrans_segs/s \d`).MatchString(s) })
	tmux("send-keys", "-t", "one", "Tab")
	waitFor("[Remote hosts]")
	tmux("send-keys", "-t", "one", "Tab")
	waitFor("[Listeners]")
	tmux("send-keys", "-t", "one", "/")
	tmux("send-keys", "-t", "one", "-l", port)
	waitFor("filter (Enter applies, Esc cancels): " + port + "_")
	tmux("send-keys", "-t", "one", "Enter")
	screen := waitFor(`filter "` + port + `"`)
	if !regexp.MustCompile(`(?m)^tcp +127\.0\.0\.1 +` + port + ` `).MatchString(screen) {
		t.Errorf("the listeners panel filtered on %s lacks this test's listener:\n%s", port, screen)
	}
	tmux("send-keys", "-t", "one", "s")
	waitFor("-- builtin:top-listeners.sql")
	tmux("send-keys", "-t", "one", "x")
	tmux("send-keys", "-t", "one", "Tab")
	waitFor("[Interfaces]")
	tmux("send-keys", "-t", "one", "Tab")
	waitFor("[Programs]")
	tmux("send-keys", "-t", "one", "Enter")
	waitFor("Programs > Sockets of the program")
	tmux("send-keys", "-t", "one", "Escape")
	waitFor("[Programs]")
	tmux("resize-window", "-t", "one", "-x", "90", "-y", "20")
	// Shrinking the pane cuts the old frame's bottom off; a redraw puts
	// the status line back on the last row.
	waitUntil("a redraw at 90x20", func(s string) bool {
		lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
		return len(lines) == 20 && strings.TrimSpace(lines[19]) != "" && strings.HasPrefix(lines[0], "netsql top - ")
	})
	tmux("send-keys", "-t", "one", "q")
	restored(1)

	// SIGTERM while the screen is up.
	target = "two"
	tmux("new-session", "-d", "-s", "two", "-x", "100", "-y", "30", "sh", "-c", script(2))
	waitFor("[Programs]")
	b, err := os.ReadFile(filepath.Join(dir, "pid2"))
	if err != nil {
		t.Fatal(err)
	}
	shPid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	out, err := exec.Command("pgrep", "-P", strconv.Itoa(shPid), "-x", "netsql").Output()
	if err != nil {
		t.Fatalf("pgrep netsql under sh %d: %v", shPid, err)
	}
	pid, _ := strconv.Atoi(strings.Fields(string(out))[0])
	if err := syscallKill(pid); err != nil {
		t.Fatal(err)
	}
	restored(2)
}

func syscallKill(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Signal(syscall.SIGTERM)
}

// TestTopUserPanel: a .sql file with a panel header in the queries
// directory is a new panel, in rank order; one that shadows a built-in
// panel replaces it; a drill: naming no drill panel is one error line.
func TestTopUserPanel(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("states.sql", "-- panel: By state\n-- keys: state\n-- rank: 5\nSELECT state, count(*) AS n FROM snap.sockets GROUP BY state ORDER BY state;\n")
	write("top-hosts.sql", "-- panel: Peers\n-- keys: peer\n-- rank: 35\nSELECT DISTINCT remote_address AS peer FROM snap.sockets WHERE remote_address IS NOT NULL ORDER BY 1;\n")
	out, errs, code := runCLI(t, "", "--proc", fixtureProc, "top", "--batch", "--queries", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var titles []string
	for _, block := range strings.Split(out, "\n\n")[1:] {
		if title, _, ok := strings.Cut(block, "\n"); ok {
			titles = append(titles, title)
		}
	}
	if got, want := strings.Join(titles, ","), "By state,Programs,Listeners,Peers,Interfaces"; got != want {
		t.Errorf("panels %s, want %s:\n%s", got, want, out)
	}
	if !regexp.MustCompile(`(?m)^LISTEN +5$`).MatchString(out) {
		t.Errorf("the user panel does not count the fixture's 5 listeners:\n%s", out)
	}
	write("bad.sql", "-- panel: Bad\n-- drill: nowhere\nSELECT 1 FROM snap.sockets;\n")
	_, errs, code = runCLI(t, "", "--proc", fixtureProc, "top", "--batch", "--queries", dir)
	if code != exitError || !strings.Contains(errs, "drill nowhere") || strings.Count(errs, "\n") != 1 {
		t.Errorf("a drill to nowhere: exit %d, stderr %q", code, errs)
	}
}
