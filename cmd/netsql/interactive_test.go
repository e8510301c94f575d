package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestShellOpensOnTerminal runs the built command with no SQL on a
// terminal (a tmux pane) and drives the shell like a user.
func TestShellOpensOnTerminal(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed (.ci/run installs it)")
	}
	dir := t.TempDir()
	bin := netsqlBinary(t)
	sock := filepath.Join(dir, "tmux.sock")
	tmux := func(args ...string) string {
		out, err := exec.Command("tmux", append([]string{"-S", sock}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	cmd := "env HOME=" + dir + " XDG_STATE_HOME=" + dir + "/state XDG_CONFIG_HOME=" + dir + "/config " +
		bin + " --proc " + fixtureProc
	tmux("new-session", "-d", "-x", "120", "-y", "30", cmd)
	t.Cleanup(func() { exec.Command("tmux", "-S", sock, "kill-server").Run() })
	waitUntil := func(what string, ok func(screen string) bool) string {
		deadline := time.Now().Add(20 * time.Second) // generous: CI machines are busy
		for {
			screen := tmux("capture-pane", "-p")
			if ok(screen) {
				return screen
			}
			if time.Now().After(deadline) {
				t.Fatalf("screen never showed %s:\n%s", what, screen)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitFor := func(want string) string {
		return waitUntil(fmt.Sprintf("%q", want), func(screen string) bool { return strings.Contains(screen, want) })
	}
	// tmux reads an argument ending in ';' as a command separator unless
	// the ';' is escaped; -l sends the rest literally.
	typeLine := func(line string) {
		if strings.HasSuffix(line, ";") {
			line = strings.TrimSuffix(line, ";") + `\;`
		}
		tmux("send-keys", "-l", line)
		tmux("send-keys", "Enter")
	}
	waitFor("netsql>")
	typeLine("SELECT count(*) AS udp6_sockets FROM sockets WHERE proto = 'udp6';")
	// The typed line itself shows "udp6_sockets": wait for the result
	// table (header, rule, value) below it, not for the echo.
	result := regexp.MustCompile(`(?m)^udp6_sockets\n-+\n +(\d+) *$`)
	screen := waitUntil("the udp6_sockets result", func(screen string) bool { return result.MatchString(screen) })
	if got := result.FindStringSubmatch(screen)[1]; got != "1" {
		t.Errorf("the fixture has 1 udp6 socket, the shell shows %s:\n%s", got, screen)
	}
	typeLine(".netstat -lnu")
	waitFor("Active Internet connections (only servers)")
	tmux("send-keys", "C-d")
}
