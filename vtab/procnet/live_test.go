package procnet

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/netsql/netsql/vtab/sock"
)

// inodeOf returns the inode of a socket's file descriptor, as fstat sees it.
func inodeOf(t *testing.T, c syscall.Conn) uint64 {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.Fstat(int(fd), &st) }); err != nil {
		t.Fatal(err)
	}
	if serr != nil {
		t.Fatal(serr)
	}
	return st.Ino
}

func requireLiveProc(t *testing.T, name string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join("/proc/net", name)); err != nil {
		t.Skipf("no live /proc/net/%s: %v", name, err)
	}
}

// byInode indexes sockets by inode.
func byInode(ss []sock.Socket) map[uint64]sock.Socket {
	m := make(map[uint64]sock.Socket, len(ss))
	for _, s := range ss {
		m[s.Inode] = s
	}
	return m
}

// TestLiveTCP opens a listener and a connection on loopback and finds all
// three sockets in the real /proc/net/tcp by the inodes fstat reports.
func TestLiveTCP(t *testing.T) {
	requireLiveProc(t, "tcp")
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	// The server never reads: its Recv-Q fills.
	const unread = 1234
	if _, err := client.Write(make([]byte, unread)); err != nil {
		t.Fatal(err)
	}

	lnAddr := ln.Addr().(*net.TCPAddr).AddrPort()
	clientAddr := client.LocalAddr().(*net.TCPAddr).AddrPort()
	want := map[uint64]sock.Socket{
		inodeOf(t, ln.(*net.TCPListener)): {State: sock.StateListen, Local: lnAddr, Remote: netip.AddrPortFrom(netip.IPv4Unspecified(), 0)},
		inodeOf(t, client.(*net.TCPConn)): {State: sock.StateEstablished, Local: clientAddr, Remote: lnAddr},
		inodeOf(t, server.(*net.TCPConn)): {State: sock.StateEstablished, Local: lnAddr, Remote: clientAddr, RecvQ: unread},
	}
	req := sock.Request{Families: []uint8{unix.AF_INET}, Protocols: []sock.Proto{sock.TCP}}
	uid := uint32(os.Getuid())

	// Loopback delivery is quick but not synchronous with Write: retry
	// until the server's Recv-Q shows the bytes.
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := New("/proc").Sockets(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		found := byInode(got)
		var mismatch []string
		for ino, w := range want {
			s, ok := found[ino]
			if !ok {
				mismatch = append(mismatch, fmt.Sprintf("inode %d not found", ino))
			} else if s.Family != unix.AF_INET || s.Protocol != sock.TCP || s.State != w.State ||
				s.Local != w.Local || s.Remote != w.Remote || s.RecvQ != w.RecvQ || s.UID != uid {
				mismatch = append(mismatch, fmt.Sprintf("inode %d: got %+v, want state %d %v -> %v RecvQ %d uid %d",
					ino, s, w.State, w.Local, w.Remote, w.RecvQ, uid))
			}
		}
		if len(mismatch) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/proc/net/tcp:\n%s", strings.Join(mismatch, "\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}

	// The state mask: only the listener.
	got, err := New("/proc").Sockets(context.Background(), sock.Request{
		Families: []uint8{unix.AF_INET}, Protocols: []sock.Proto{sock.TCP}, States: 1 << sock.StateListen,
	})
	if err != nil {
		t.Fatal(err)
	}
	found := byInode(got)
	for ino, w := range want {
		if _, ok := found[ino]; ok != (w.State == sock.StateListen) {
			t.Errorf("LISTEN mask: inode %d (state %d) returned = %v", ino, w.State, ok)
		}
	}
	for _, s := range got {
		if s.State != sock.StateListen {
			t.Errorf("LISTEN mask returned %+v", s)
		}
	}
}

// TestLiveUnix binds a unix listener to a path with a space in it and finds
// the listener, the client and the accepted end in the real /proc/net/unix.
func TestLiveUnix(t *testing.T) {
	requireLiveProc(t, "unix")
	path := filepath.Join(t.TempDir(), "a b.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()

	want := map[uint64]sock.Socket{
		inodeOf(t, ln.(*net.UnixListener)): {State: sock.StateListen, Path: path},
		inodeOf(t, client.(*net.UnixConn)): {State: sock.StateEstablished},
		inodeOf(t, server.(*net.UnixConn)): {State: sock.StateEstablished, Path: path}, // the listener's address
	}
	got, err := New("/proc").Sockets(context.Background(), sock.Request{Families: []uint8{unix.AF_UNIX}})
	if err != nil {
		t.Fatal(err)
	}
	found := byInode(got)
	for ino, w := range want {
		s, ok := found[ino]
		if !ok {
			t.Errorf("inode %d (want %+v) not in /proc/net/unix", ino, w)
			continue
		}
		if s.Family != unix.AF_UNIX || s.Protocol != sock.UNIX || s.Type != sock.TypeStream ||
			s.State != w.State || s.Path != w.Path || s.RefCount == 0 {
			t.Errorf("inode %d: got %+v, want state %d path %q", ino, s, w.State, w.Path)
		}
	}
}
