package main

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// tmuxServer is a tmux server of the test's own (its socket in a temp
// dir), for driving netsql in a real terminal and reading the screen.
type tmuxServer struct {
	t    *testing.T
	sock string
}

// newTmux starts nothing yet: the first "new-session" does. It skips the
// test when tmux is missing and kills the server when the test ends.
func newTmux(t *testing.T) *tmuxServer {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed (.ci/run installs it)")
	}
	s := &tmuxServer{t: t, sock: filepath.Join(t.TempDir(), "tmux.sock")}
	t.Cleanup(func() { exec.Command("tmux", "-S", s.sock, "kill-server").Run() })
	return s
}

// run runs one tmux command against the server and returns its output.
func (s *tmuxServer) run(args ...string) string {
	s.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", s.sock}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// waitUntil reads the screen of pane target ("" for the current one)
// until ok accepts it, failing the test after 20 s (generous: CI
// machines are busy); what names the wait in the failure.
func (s *tmuxServer) waitUntil(target, what string, ok func(screen string) bool) string {
	s.t.Helper()
	args := []string{"capture-pane", "-p"}
	if target != "" {
		args = append(args, "-t", target)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		screen := s.run(args...)
		if ok(screen) {
			return screen
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("screen never showed %s:\n%s", what, screen)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitFor waits until pane target's screen contains want.
func (s *tmuxServer) waitFor(target, want string) string {
	s.t.Helper()
	return s.waitUntil(target, strconv.Quote(want), func(screen string) bool { return strings.Contains(screen, want) })
}
