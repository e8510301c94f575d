package main

import (
	"regexp"
	"strings"
	"testing"
)

// TestShellOpensOnTerminal runs the built command with no SQL on a
// terminal (a tmux pane) and drives the shell like a user.
func TestShellOpensOnTerminal(t *testing.T) {
	tm := newTmux(t)
	dir := t.TempDir()
	bin := netsqlBinary(t)
	tmux := tm.run
	cmd := "env HOME=" + dir + " XDG_STATE_HOME=" + dir + "/state XDG_CONFIG_HOME=" + dir + "/config " +
		bin + " --proc " + fixtureProc
	tmux("new-session", "-d", "-x", "120", "-y", "30", cmd)
	waitUntil := func(what string, ok func(screen string) bool) string { return tm.waitUntil("", what, ok) }
	waitFor := func(want string) string { return tm.waitFor("", want) }
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
