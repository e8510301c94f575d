package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netsql/netsql/vtab/netns"
)

// killNamespace is a namespace of the test's own holding a loopback TCP
// listener with cw connections in CLOSE_WAIT (server side) and a unix
// listener, all made by this process.
type killNamespace struct {
	name     string
	port     int
	unixPath string
}

func newKillNamespace(t *testing.T, cw int) *killNamespace {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (CAP_NET_ADMIN) to create a network namespace and close sockets in it")
	}
	var r [4]byte
	rand.Read(r[:])
	k := &killNamespace{name: "nskillcli" + hex.EncodeToString(r[:]), unixPath: filepath.Join(t.TempDir(), "u.sock")}
	if out, err := exec.Command("ip", "netns", "add", k.name).CombinedOutput(); err != nil {
		t.Skipf("needs ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", k.name).Run() })
	if out, err := exec.Command("ip", "-n", k.name, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("lo up: %v: %s", err, out)
	}
	var closers []interface{ Close() error }
	t.Cleanup(func() {
		for _, c := range closers {
			c.Close()
		}
	})
	err := netns.Do("/run/netns/"+k.name, func() error {
		ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			return err
		}
		closers = append(closers, ln)
		k.port = ln.Addr().(*net.TCPAddr).Port
		ul, err := net.ListenUnix("unix", &net.UnixAddr{Name: k.unixPath, Net: "unix"})
		if err != nil {
			return err
		}
		closers = append(closers, ul)
		for i := 0; i < cw; i++ {
			c, err := net.DialTCP("tcp4", nil, ln.Addr().(*net.TCPAddr))
			if err != nil {
				return err
			}
			s, err := ln.Accept()
			if err != nil {
				return err
			}
			closers = append(closers, c, s)
			c.CloseWrite()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	k.waitCloseWait(t, cw)
	return k
}

// closeWait is how many CLOSE_WAIT sockets ss shows in the namespace.
func (k *killNamespace) closeWait(t *testing.T) int {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", k.name, "ss", "-tanH", "state", "close-wait").CombinedOutput()
	if err != nil {
		t.Fatalf("ss: %v: %s", err, out)
	}
	return strings.Count(string(out), fmt.Sprintf("127.0.0.1:%d ", k.port))
}

// waitCloseWait waits until two reads of ss agree on want sockets.
func (k *killNamespace) waitCloseWait(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for agreed := 0; agreed < 2; {
		if k.closeWait(t) == want {
			agreed++
		} else {
			agreed = 0
		}
		if time.Now().After(deadline) {
			t.Fatalf("ss never showed %d CLOSE_WAIT sockets (now %d)", want, k.closeWait(t))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestAllowKill: without --allow-kill a DELETE FROM sockets exits 1 with
// the how-to error and closes nothing; with it, it closes the matched
// sockets and prints how many; one matching a unix socket exits 1 and
// says which socket it left and why.
func TestAllowKill(t *testing.T) {
	k := newKillNamespace(t, 2)
	del := fmt.Sprintf("DELETE FROM sockets WHERE netns_name = '%s' AND state = 'CLOSE_WAIT' AND local_port = %d", k.name, k.port)

	out, errs, code := runCLI(t, "", del)
	if code != 1 || out != "" || !strings.Contains(errs, "--allow-kill") || strings.Count(errs, "\n") != 1 {
		t.Fatalf("without --allow-kill: exit %d, out %q, err %q", code, out, errs)
	}
	k.waitCloseWait(t, 2)

	out, errs, code = runCLI(t, "", "--allow-kill", "--format", "csv", del)
	if code != 0 || out != "closed\n2\n" {
		t.Fatalf("--allow-kill: exit %d, out %q, err %q", code, out, errs)
	}
	k.waitCloseWait(t, 0)

	out, errs, code = runCLI(t, "", "--allow-kill", fmt.Sprintf("DELETE FROM sockets WHERE netns_name = '%s' AND path = '%s'", k.name, k.unixPath))
	if code != 1 || !strings.Contains(errs, "closed 0 of 1") || !strings.Contains(errs, "unix sockets are never closed") || strings.Count(errs, "\n") != 1 {
		t.Fatalf("unix socket: exit %d, out %q, err %q", code, out, errs)
	}
	if _, err := os.Stat(k.unixPath); err != nil {
		t.Fatal(err)
	}
}
