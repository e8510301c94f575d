package top

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"os/exec"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/netsql/netsql/queries/internal/enginetest"
)

// listenIn opens a TCP listener inside the named network namespace,
// held by this process, and returns its port.
func listenIn(t *testing.T, ns string) int {
	t.Helper()
	runtime.LockOSThread()
	self, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	defer self.Close()
	target, err := os.Open("/run/netns/" + ns)
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		t.Fatal(err)
	}
	fd, serr := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
		// The thread is in the wrong namespace: let it die locked.
		t.Fatal(err)
	}
	runtime.UnlockOSThread()
	if serr != nil {
		t.Fatal(serr)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 8); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return sa.(*unix.SockaddrInet4).Port
}

// TestRefreshWalksProcOnce checks that one refresh of every namespace
// (top's `n` then `*`) walks /proc/*/fd once, not once per namespace,
// and that the owners it finds are right in each namespace: a listener
// this process holds in the host's namespace and one it holds in a
// namespace the test creates both show this process's pid.
func TestRefreshWalksProcOnce(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN) to create and enter a network namespace")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip from iproute2")
	}
	var r [4]byte
	rand.Read(r[:])
	ns := "nsown" + hex.EncodeToString(r[:])
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	nsPort := listenIn(t, ns)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	hostPort := ln.Addr().(*net.TCPAddr).Port

	ctx := context.Background()
	eng, src := enginetest.Open(t, "")
	s, err := NewSnapshotter(ctx, eng, builtinPanels(t), false)
	if err != nil {
		t.Fatal(err)
	}
	s.SetNamespace("*")
	for i := 0; i < 2; i++ {
		w := src.OwnerScans()
		snap, err := s.Refresh(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(snap.Errs) > 0 {
			t.Fatalf("panel errors: %v", snap.Errs)
		}
		if n := src.OwnerScans() - w; n != 1 {
			t.Errorf("refresh %d of every namespace walked /proc %d times, want 1", i+1, n)
		}
		for _, port := range []int{hostPort, nsPort} {
			var pid any
			err := eng.DB().QueryRowContext(ctx, "SELECT pid FROM snap.sockets WHERE proto = 'tcp' AND state = 'LISTEN' AND local_port = ? AND pid = ?", port, os.Getpid()).Scan(&pid)
			if err != nil {
				t.Errorf("refresh %d: our listener on port %d has no row with our pid: %v", i+1, port, err)
			}
		}
	}
}
