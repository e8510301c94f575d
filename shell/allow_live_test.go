package shell

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/netsql/netsql/vtab"
	"github.com/netsql/netsql/vtab/netns"
)

// closeWaitInNamespace makes a namespace of its own with a loopback
// listener, n connections, and the clients of the first cw half-closed,
// so cw server sockets sit in CLOSE_WAIT. It returns the namespace's name
// and the listener's port.
func closeWaitInNamespace(t *testing.T, n, cw int) (string, int) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (CAP_NET_ADMIN) to create a network namespace and close sockets")
	}
	if _, err := exec.LookPath("ss"); err != nil {
		t.Skip("needs ss from iproute2")
	}
	var r [4]byte
	rand.Read(r[:])
	ns := "nskillsh" + hex.EncodeToString(r[:])
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Skipf("needs ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	if out, err := exec.Command("ip", "-n", ns, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("lo up: %v: %s", err, out)
	}
	var port int
	var conns []net.Conn
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	err := netns.Do("/run/netns/"+ns, func() error {
		ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			return err
		}
		t.Cleanup(func() { ln.Close() })
		port = ln.Addr().(*net.TCPAddr).Port
		for i := 0; i < n; i++ {
			c, err := net.DialTCP("tcp4", nil, ln.Addr().(*net.TCPAddr))
			if err != nil {
				return err
			}
			s, err := ln.Accept()
			if err != nil {
				return err
			}
			conns = append(conns, c, s)
			if i < cw {
				c.CloseWrite()
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	waitCloseWait(t, ns, cw)
	return ns, port
}

// countCloseWait is how many CLOSE_WAIT sockets ss shows in ns.
func countCloseWait(t *testing.T, ns string) int {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", ns, "ss", "-tanH", "state", "close-wait").CombinedOutput()
	if err != nil {
		t.Fatalf("ss: %v: %s", err, out)
	}
	return len(strings.Fields(strings.TrimSpace(string(out)))) / 4 // Recv-Q Send-Q Local Peer
}

// waitCloseWait waits until ss shows want CLOSE_WAIT sockets in ns, twice.
func waitCloseWait(t *testing.T, ns string, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	agreed := 0
	for agreed < 2 {
		if countCloseWait(t, ns) == want {
			agreed++
		} else {
			agreed = 0
		}
		if time.Now().After(deadline) {
			t.Fatalf("ss never showed %d CLOSE_WAIT sockets in %s (now %d)", want, ns, countCloseWait(t, ns))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestShellAllowKill: DELETE FROM sockets is refused until .allow kill;
// then the first one lists the sockets and asks, a "n" closes nothing, a
// "y" closes them, later ones do not ask, and .allow none refuses again.
func TestShellAllowKill(t *testing.T) {
	ns, port := closeWaitInNamespace(t, 3, 2)
	eng, err := vtab.Open(vtab.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	var out, errw syncBuffer
	s := newSession(ShellConfig{Engine: eng, Out: &out, Err: &errw, ConfigDir: "-", Format: "csv"})
	var prompts []string
	var answers []string
	s.ask = func(prompt string) (string, error) {
		prompts = append(prompts, prompt)
		if len(answers) == 0 {
			t.Fatalf("unexpected question %q", prompt)
		}
		a := answers[0]
		answers = answers[1:]
		return a, nil
	}
	ctx := context.Background()
	del := fmt.Sprintf("DELETE FROM sockets WHERE netns_name = '%s' AND state = 'CLOSE_WAIT' AND local_port = %d;", ns, port)

	if err := s.runSQL(ctx, del); err == nil || !strings.Contains(err.Error(), ".allow kill") {
		t.Fatalf("DELETE before .allow kill: %v, want the how-to error", err)
	}
	if err := s.dot(ctx, ".allow kill"); err != nil {
		t.Fatal(err)
	}
	answers = []string{"n"}
	if err := s.runSQL(ctx, del); err == nil || !strings.Contains(err.Error(), "not confirmed") {
		t.Fatalf("DELETE answered n: %v", err)
	}
	if len(prompts) != 1 || !strings.Contains(prompts[0], "close these 2 sockets?") {
		t.Fatalf("prompts %q", prompts)
	}
	if got := strings.Count(errw.String(), fmt.Sprintf("tcp 127.0.0.1:%d -> 127.0.0.1:", port)); got != 2 {
		t.Fatalf("listed %d sockets, want 2:\n%s", got, errw.String())
	}
	waitCloseWait(t, ns, 2)

	answers = []string{"yes"}
	if err := s.runSQL(ctx, del); err != nil {
		t.Fatalf("DELETE answered yes: %v", err)
	}
	if !strings.Contains(out.String(), "closed\n2\n") {
		t.Fatalf("output %q, want closed 2", out.String())
	}
	waitCloseWait(t, ns, 0)

	// Asked once per session: the next DELETE runs without a question.
	if err := s.runSQL(ctx, fmt.Sprintf("DELETE FROM sockets WHERE netns_name = '%s' AND state = 'ESTABLISHED' AND local_port = %d;", ns, port)); err != nil {
		t.Fatal(err)
	}
	if len(prompts) != 2 {
		t.Fatalf("asked %d times, want 2: %q", len(prompts), prompts)
	}
	if err := s.dot(ctx, ".allow none"); err != nil {
		t.Fatal(err)
	}
	if err := s.runSQL(ctx, del); err == nil || !strings.Contains(err.Error(), ".allow kill") {
		t.Fatalf("DELETE after .allow none: %v", err)
	}
	if err := s.dot(ctx, ".allow"); err == nil {
		t.Fatalf(".allow without a word succeeded")
	}
}
