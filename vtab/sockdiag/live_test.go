package sockdiag

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/netsql/netsql/vtab/sock"
)

// Live tests: real sockets on loopback, read back through the kernel.
// Other processes may hold sockets too, so every assertion is scoped to the
// ports, paths and inodes the test made itself. The tests keep every
// connection referenced until cleanup: a net.Conn the GC collects is closed
// by its finalizer, and its socket changes state under the test.

// inode returns st_ino of the socket behind c, from fstat of its fd.
func inode(t *testing.T, c interface{ File() (*os.File, error) }) uint64 {
	t.Helper()
	f, err := c.File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

func addrPort(a net.Addr) netip.AddrPort {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.AddrPort()
	case *net.UDPAddr:
		return a.AddrPort()
	}
	panic(fmt.Sprintf("no AddrPort for %T", a))
}

func dump(t *testing.T, req sock.Request) []sock.Socket {
	t.Helper()
	ss, err := New().Sockets(context.Background(), req)
	if err != nil {
		t.Fatalf("Sockets(%+v): %v", req, err)
	}
	return ss
}

// poll dumps until check reports nothing wrong, or 3 s pass; then it fails
// the test with check's last complaint. Queues settle after the writes.
func poll(t *testing.T, req sock.Request, check func([]sock.Socket) string) []sock.Socket {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		ss := dump(t, req)
		msg := check(ss)
		if msg == "" {
			return ss
		}
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// listenTCP listens on addr. Go listeners use MPTCP by default when the
// kernel has it; the TCP dump then shows the MPTCP socket's TCP subflow.
// The test does not care either way and takes the default.
func listenTCP(t *testing.T, network, addr string) *net.TCPListener {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Skipf("cannot listen on %s %s: %v", network, addr, err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.(*net.TCPListener)
}

type tcpWant struct {
	state uint8
	recvQ uint32
	inode uint64
}

func TestLiveTCP(t *testing.T) {
	const N, M = 6, 2 // N connections; the clients of the first M close
	ln := listenTCP(t, "tcp4", "127.0.0.1:0")
	lnAddr := addrPort(ln.Addr())
	port := lnAddr.Port()
	uid := uint32(os.Getuid())

	clients := make([]*net.TCPConn, N)
	servers := make([]*net.TCPConn, N)
	for i := range N {
		c, err := net.DialTCP("tcp4", nil, net.TCPAddrFromAddrPort(lnAddr))
		if err != nil {
			t.Fatal(err)
		}
		s, err := ln.AcceptTCP()
		if err != nil {
			t.Fatal(err)
		}
		clients[i], servers[i] = c, s
	}
	t.Cleanup(func() {
		for i := range N {
			clients[i].Close()
			servers[i].Close()
		}
	})

	want := map[[2]netip.AddrPort]tcpWant{
		{lnAddr, netip.AddrPortFrom(netip.IPv4Unspecified(), 0)}: {sock.StateListen, 0, inode(t, ln)},
	}
	for i := range N {
		cAddr := addrPort(clients[i].LocalAddr())
		// Each client writes bytes its server never reads; servers write
		// to the clients that stay open, which never read either.
		toServer := 100 * (i + 1)
		if _, err := clients[i].Write(bytes.Repeat([]byte("x"), toServer)); err != nil {
			t.Fatal(err)
		}
		sIno := inode(t, servers[i])
		if i < M {
			// The client closes: its socket is orphaned in FIN_WAIT2 with
			// no inode, the server's sits in CLOSE_WAIT. The FIN counts
			// in rcv_nxt until the application reads EOF, so the server's
			// Recv-Q is the unread bytes plus one.
			if err := clients[i].Close(); err != nil {
				t.Fatal(err)
			}
			want[[2]netip.AddrPort{lnAddr, cAddr}] = tcpWant{sock.StateCloseWait, uint32(toServer) + 1, sIno}
			want[[2]netip.AddrPort{cAddr, lnAddr}] = tcpWant{sock.StateFinWait2, 0, 0}
			continue
		}
		toClient := 7 * (i + 1)
		if _, err := servers[i].Write(bytes.Repeat([]byte("y"), toClient)); err != nil {
			t.Fatal(err)
		}
		want[[2]netip.AddrPort{lnAddr, cAddr}] = tcpWant{sock.StateEstablished, uint32(toServer), sIno}
		want[[2]netip.AddrPort{cAddr, lnAddr}] = tcpWant{sock.StateEstablished, uint32(toClient), inode(t, clients[i])}
	}

	// Every socket of the test has the listener's address at one end. The
	// port alone is not enough: it may have been an earlier listener's
	// (another test, another package running in parallel) whose clients
	// still sit in TIME_WAIT, which this test never makes; and other
	// addresses (127.0.0.10:port of a netsql-load client, [::1]:port) may
	// use the same number at the same time.
	mine := func(s sock.Socket) bool { return ours(s, lnAddr) }
	check := func(ss []sock.Socket) string {
		got := map[[2]netip.AddrPort]tcpWant{}
		var bad []string
		for _, s := range ss {
			if !mine(s) {
				continue
			}
			k := [2]netip.AddrPort{s.Local, s.Remote}
			if _, dup := got[k]; dup {
				bad = append(bad, fmt.Sprintf("duplicate %v", k))
			}
			got[k] = tcpWant{s.State, s.RecvQ, s.Inode}
			if s.Family != unix.AF_INET || s.Protocol != sock.TCP || !s.Local.Addr().Is4() || !s.Remote.Addr().Is4() {
				bad = append(bad, fmt.Sprintf("%v: family %d proto %v", k, s.Family, s.Protocol))
			}
			if s.Inode != 0 && s.UID != uid {
				bad = append(bad, fmt.Sprintf("%v: uid %d, want %d", k, s.UID, uid))
			}
			if s.State == sock.StateListen && (s.Backlog == 0 || s.SendQ != 0) {
				bad = append(bad, fmt.Sprintf("%v: listener Backlog %d Send-Q %d, want backlog > 0 and Send-Q 0 as netstat shows", k, s.Backlog, s.SendQ))
			}
			if s.State == sock.StateEstablished && s.SendQ != 0 {
				bad = append(bad, fmt.Sprintf("%v: Send-Q %d, want 0 once loopback acked", k, s.SendQ))
			}
			if s.Cookie == 0 {
				bad = append(bad, fmt.Sprintf("%v: no cookie", k))
			}
		}
		for k, w := range want {
			if g, ok := got[k]; !ok {
				bad = append(bad, fmt.Sprintf("missing %v (want %+v)", k, w))
			} else if g != w {
				bad = append(bad, fmt.Sprintf("%v: got %+v, want %+v", k, g, w))
			}
		}
		for k, g := range got {
			if _, ok := want[k]; !ok {
				bad = append(bad, fmt.Sprintf("unexpected %v %+v", k, g))
			}
		}
		return strings.Join(bad, "\n")
	}
	ss := poll(t, sock.Request{Families: []uint8{unix.AF_INET}, Protocols: []sock.Proto{sock.TCP}}, check)

	t.Run("ss", func(t *testing.T) { compareSS(t, ss, lnAddr) })

	t.Run("CloseWaitFilter", func(t *testing.T) {
		cw := dump(t, sock.Request{Protocols: []sock.Proto{sock.TCP}, States: 1 << sock.StateCloseWait})
		n := 0
		for _, s := range cw {
			if s.State != sock.StateCloseWait {
				t.Errorf("state filter CLOSE_WAIT returned %v in state %d", s.Local, s.State)
			}
			if mine(s) {
				n++
			}
		}
		if n != M {
			t.Errorf("%d CLOSE_WAIT sockets on port %d, want %d", n, port, M)
		}
	})

	t.Run("UDPOnly", func(t *testing.T) {
		for _, s := range dump(t, sock.Request{Protocols: []sock.Proto{sock.UDP}}) {
			if s.Protocol != sock.UDP {
				t.Errorf("UDP request returned %v %v", s.Protocol, s.Local)
			}
		}
	})

	t.Run("FamilyFilter", func(t *testing.T) {
		for _, s := range dump(t, sock.Request{Families: []uint8{unix.AF_INET6}, Protocols: []sock.Proto{sock.TCP}}) {
			if s.Family != unix.AF_INET6 || mine(s) {
				t.Errorf("AF_INET6 request returned family %d %v", s.Family, s.Local)
			}
		}
	})
}

// ssStates maps ss's state names to kernel state numbers.
var ssStates = map[string]uint8{
	"ESTAB": 1, "SYN-SENT": 2, "SYN-RECV": 3, "FIN-WAIT-1": 4, "FIN-WAIT-2": 5,
	"TIME-WAIT": 6, "UNCONN": 7, "CLOSE-WAIT": 8, "LAST-ACK": 9, "LISTEN": 10, "CLOSING": 11,
}

// ours reports whether s is one of the sockets a test made with its
// listener at ln: ln itself, the accepted ends and the clients. TIME_WAIT
// sockets are left out: the tests never make one, but an earlier
// listener's clients may still hold ln as their remote end.
func ours(s sock.Socket, ln netip.AddrPort) bool {
	return (s.Local == ln || s.Remote == ln) && s.State != sock.StateTimeWait
}

// compareSS checks that `ss -Htan` sees the same sockets of the listener
// at ln (see ours), in the same states and with the same Recv-Q, as ss.
func compareSS(t *testing.T, ss []sock.Socket, ln netip.AddrPort) {
	if _, err := exec.LookPath("ss"); err != nil {
		t.Skip("ss (iproute2) not installed")
	}
	out, err := exec.Command("ss", "-Htan").Output()
	if err != nil {
		t.Fatalf("ss -Htan: %v", err)
	}
	type key struct {
		state uint8
		recvQ uint32
	}
	theirs := map[key]int{}
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		local, _ := netip.ParseAddrPort(f[3])
		peer, _ := netip.ParseAddrPort(f[4])
		if local != ln && peer != ln || f[0] == "TIME-WAIT" {
			continue // not this test's (see ours)
		}
		st, ok := ssStates[f[0]]
		if !ok {
			t.Errorf("unknown ss state %q", f[0])
			continue
		}
		rq, _ := strconv.ParseUint(f[1], 10, 32)
		theirs[key{st, uint32(rq)}]++
	}
	mine := map[key]int{}
	for _, s := range ss {
		if ours(s, ln) {
			mine[key{s.State, s.RecvQ}]++
		}
	}
	if fmt.Sprint(mine) != fmt.Sprint(theirs) {
		t.Errorf("(state, Recv-Q) counts of the sockets of %v:\nsockdiag %v\nss       %v", ln, mine, theirs)
	}
}

func TestLiveTCP6(t *testing.T) {
	ln := listenTCP(t, "tcp6", "[::1]:0")
	lnAddr := addrPort(ln.Addr())
	// Two connections wait unaccepted in the backlog, one is accepted.
	var conns []*net.TCPConn
	for range 3 {
		c, err := net.DialTCP("tcp6", nil, net.TCPAddrFromAddrPort(lnAddr))
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	s, err := ln.AcceptTCP()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		for _, c := range conns {
			c.Close()
		}
	})
	lnIno, sIno := inode(t, ln), inode(t, s)

	poll(t, sock.Request{Families: []uint8{unix.AF_INET6}, Protocols: []sock.Proto{sock.TCP}}, func(ss []sock.Socket) string {
		var listener, server *sock.Socket
		for i := range ss {
			switch ss[i].Inode {
			case lnIno:
				listener = &ss[i]
			case sIno:
				server = &ss[i]
			}
		}
		switch {
		case listener == nil || server == nil:
			return fmt.Sprintf("listener (inode %d) or accepted socket (inode %d) not found", lnIno, sIno)
		case listener.State != sock.StateListen || listener.Local != lnAddr || listener.Family != unix.AF_INET6:
			return fmt.Sprintf("listener: %+v", *listener)
		case listener.RecvQ != 2 || listener.Backlog == 0 || listener.SendQ != 0:
			return fmt.Sprintf("listener Recv-Q %d (want 2 waiting in the accept queue), Backlog %d, Send-Q %d (want 0)", listener.RecvQ, listener.Backlog, listener.SendQ)
		case server.State != sock.StateEstablished || server.Local != addrPort(s.LocalAddr()) || server.Remote != addrPort(s.RemoteAddr()):
			return fmt.Sprintf("accepted: %+v", *server)
		case !server.Local.Addr().Is6() || server.Local.Addr().Zone() != "":
			return fmt.Sprintf("accepted local address %v", server.Local.Addr())
		}
		return ""
	})
}

func TestLiveUDP(t *testing.T) {
	bound, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bound.Close() })
	conn, err := net.DialUDP("udp4", nil, bound.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	for range 3 {
		if _, err := conn.Write([]byte("unread datagram")); err != nil {
			t.Fatal(err)
		}
	}
	bIno, cIno := inode(t, bound), inode(t, conn)
	bAddr, cAddr := addrPort(bound.LocalAddr()), addrPort(conn.LocalAddr())

	poll(t, sock.Request{Protocols: []sock.Proto{sock.UDP}}, func(ss []sock.Socket) string {
		found := 0
		for _, s := range ss {
			if s.Protocol != sock.UDP {
				return fmt.Sprintf("UDP request returned %v", s.Protocol)
			}
			switch s.Inode {
			case bIno:
				found++
				// Unconnected UDP is CLOSE, as in /proc/net/udp (07).
				// Its Recv-Q counts skb memory, not payload bytes.
				if s.State != sock.StateClose || s.Local != bAddr || s.Remote != netip.AddrPortFrom(netip.IPv4Unspecified(), 0) || s.RecvQ == 0 {
					return fmt.Sprintf("bound UDP socket: %+v", s)
				}
			case cIno:
				found++
				if s.State != sock.StateEstablished || s.Local != cAddr || s.Remote != bAddr {
					return fmt.Sprintf("connected UDP socket: %+v", s)
				}
			}
		}
		if found != 2 {
			return fmt.Sprintf("found %d of the 2 UDP sockets", found)
		}
		return ""
	})

	// Only UDP sockets in state ESTABLISHED.
	for _, s := range dump(t, sock.Request{Protocols: []sock.Proto{sock.UDP}, States: 1 << sock.StateEstablished}) {
		if s.State != sock.StateEstablished || s.Inode == bIno {
			t.Errorf("ESTABLISHED filter returned %+v", s)
		}
	}
}

func TestLiveUnix(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	client, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	server, err := ln.AcceptUnix()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	if _, err := client.Write(make([]byte, 123)); err != nil {
		t.Fatal(err)
	}

	abstract := fmt.Sprintf("@netsql-sockdiag-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	aln, err := net.ListenUnix("unix", &net.UnixAddr{Name: abstract, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { aln.Close() })

	lnIno, cIno, sIno, aIno := inode(t, ln), inode(t, client), inode(t, server), inode(t, aln)
	uid := uint32(os.Getuid())

	poll(t, sock.Request{Protocols: []sock.Proto{sock.UNIX}}, func(ss []sock.Socket) string {
		got := map[uint64]sock.Socket{}
		for _, s := range ss {
			if s.Family != unix.AF_UNIX || s.Protocol != sock.UNIX {
				return fmt.Sprintf("unix request returned %d/%v", s.Family, s.Protocol)
			}
			got[s.Inode] = s
		}
		type want struct {
			state, typ   uint8
			path         string
			peer         uint64
			recvQ        uint32
			backlogQueue bool
		}
		for ino, w := range map[uint64]want{
			lnIno: {sock.StateListen, sock.TypeStream, path, 0, 0, true},
			// An accepted socket shares its listener's address.
			sIno: {sock.StateEstablished, sock.TypeStream, path, cIno, 123, false},
			cIno: {sock.StateEstablished, sock.TypeStream, "", sIno, 0, false},
			aIno: {sock.StateListen, sock.TypeStream, abstract, 0, 0, true},
		} {
			s, ok := got[ino]
			switch {
			case !ok:
				return fmt.Sprintf("unix socket inode %d (%q) not found", ino, w.path)
			case s.State != w.state || s.Type != w.typ || s.Path != w.path || s.PeerInode != w.peer || s.RecvQ != w.recvQ:
				return fmt.Sprintf("inode %d: got %+v, want %+v", ino, s, w)
			case w.backlogQueue && (s.Backlog == 0 || s.SendQ != 0):
				return fmt.Sprintf("listener %q: Backlog %d Send-Q %d", w.path, s.Backlog, s.SendQ)
			case s.UID != uid:
				return fmt.Sprintf("inode %d: uid %d, want %d", ino, s.UID, uid)
			}
		}
		return ""
	})

	for _, s := range dump(t, sock.Request{Protocols: []sock.Proto{sock.UNIX}, States: 1 << sock.StateListen}) {
		if s.State != sock.StateListen {
			t.Errorf("LISTEN filter returned %+v", s)
		}
	}
	for _, s := range dump(t, sock.Request{Families: []uint8{unix.AF_INET}, Protocols: []sock.Proto{sock.TCP, sock.UDP}}) {
		if s.Family == unix.AF_UNIX {
			t.Errorf("AF_INET request returned a unix socket %+v", s)
		}
	}
}

// TestLiveRaw needs CAP_NET_RAW for the sockets and raw_diag
// (CONFIG_INET_RAW_DIAG, kernel 4.17+) in the kernel.
func TestLiveRaw(t *testing.T) {
	type rawSock struct {
		family uint8
		proto  int
		ino    uint64
	}
	var socks []rawSock
	for _, c := range []struct {
		family uint8
		proto  int
	}{{unix.AF_INET, unix.IPPROTO_ICMP}, {unix.AF_INET6, unix.IPPROTO_ICMPV6}} {
		fd, err := unix.Socket(int(c.family), unix.SOCK_RAW|unix.SOCK_CLOEXEC, c.proto)
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			t.Skipf("raw sockets need CAP_NET_RAW (run as root): %v", err)
		}
		if err != nil {
			if c.family == unix.AF_INET6 {
				continue // no IPv6
			}
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(fd) })
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			t.Fatal(err)
		}
		socks = append(socks, rawSock{c.family, c.proto, st.Ino})
	}

	ss, err := New().Sockets(context.Background(), sock.Request{Protocols: []sock.Proto{sock.RAW}})
	var ue *UnavailableError
	if errors.As(err, &ue) {
		t.Skipf("kernel has no raw_diag (CONFIG_INET_RAW_DIAG): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range socks {
		found := false
		for _, s := range ss {
			if s.Inode != r.ino {
				continue
			}
			found = true
			if s.Family != r.family || s.Protocol != sock.RAW || int(s.RawProtocol) != r.proto || int(s.Local.Port()) != r.proto || s.State != sock.StateClose {
				t.Errorf("raw socket: %+v", s)
			}
		}
		if !found {
			t.Errorf("raw socket family %d proto %d inode %d not found", r.family, r.proto, r.ino)
		}
	}
}

// TestLiveAll runs every dump. On a kernel without raw_diag the raw dumps
// come back as an UnavailableError naming just them, beside the rest.
func TestLiveAll(t *testing.T) {
	ss, err := New().Sockets(context.Background(), sock.Request{})
	var ue *UnavailableError
	switch {
	case err == nil:
	case errors.As(err, &ue):
		t.Logf("partial: %v", err)
		if !errors.Is(err, ErrUnavailable) || !errors.Is(err, unix.ENOENT) {
			t.Errorf("UnavailableError does not wrap ErrUnavailable and ENOENT: %v", err)
		}
		for i, name := range ue.Names {
			m := ue.Missing[i]
			if !strings.HasPrefix(name, "raw") || len(m.Protocols) != 1 || m.Protocols[0] != sock.RAW || len(m.Families) != 1 {
				t.Errorf("missing dump %s: %+v", name, m)
			}
		}
	default:
		t.Fatal(err)
	}
	kinds := map[sock.Proto]int{}
	for _, s := range ss {
		kinds[s.Protocol]++
		if s.State == 0 || s.State > sock.StateNewSynRecv {
			t.Errorf("state %d: %+v", s.State, s)
		}
	}
	t.Logf("sockets by protocol: %v", kinds)
}

func TestLiveCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := New().Sockets(ctx, sock.Request{}); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled context: err = %v", err)
	}
	ss, err := New().Sockets(context.Background(), sock.Request{Protocols: []sock.Proto{}, Families: []uint8{unix.AF_PACKET}})
	if err != nil || len(ss) != 0 {
		t.Errorf("request matching no dump: %d sockets, %v", len(ss), err)
	}
}

// udpLiteSocket opens a UDP-Lite socket of family domain, or skips the
// test when the kernel has no UDP-Lite.
func udpLiteSocket(t *testing.T, domain int) int {
	t.Helper()
	fd, err := unix.Socket(domain, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.IPPROTO_UDPLITE)
	if errors.Is(err, unix.EPROTONOSUPPORT) || errors.Is(err, unix.ESOCKTNOSUPPORT) {
		t.Skipf("the kernel has no UDP-Lite: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

func fdInode(t *testing.T, fd int) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

func fdAddrPort(t *testing.T, fd int) netip.AddrPort {
	t.Helper()
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port))
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), uint16(sa.Port))
	}
	t.Fatalf("getsockname: %T", sa)
	return netip.AddrPort{}
}

// TestLiveUDPLite: UDP-Lite sockets (IPPROTO_UDPLITE) come from their own
// inet_diag dumps, as Protocol UDPLite, never mixed with UDP, with the
// state and port filters applied.
func TestLiveUDPLite(t *testing.T) {
	lo := [4]byte{127, 0, 0, 1}
	bound := udpLiteSocket(t, unix.AF_INET)
	if err := unix.Bind(bound, &unix.SockaddrInet4{Addr: lo}); err != nil {
		t.Fatal(err)
	}
	bAddr := fdAddrPort(t, bound)
	conn := udpLiteSocket(t, unix.AF_INET)
	if err := unix.Connect(conn, &unix.SockaddrInet4{Addr: lo, Port: int(bAddr.Port())}); err != nil {
		t.Fatal(err)
	}
	if _, err := unix.Write(conn, []byte("unread datagram")); err != nil {
		t.Fatal(err)
	}
	cAddr := fdAddrPort(t, conn)
	v6 := udpLiteSocket(t, unix.AF_INET6)
	if err := unix.Bind(v6, &unix.SockaddrInet6{Addr: netip.IPv6Loopback().As16()}); err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	v6Addr := fdAddrPort(t, v6)
	bIno, cIno, v6Ino := fdInode(t, bound), fdInode(t, conn), fdInode(t, v6)

	check := func(ss []sock.Socket) string {
		found := 0
		for _, s := range ss {
			if s.Protocol != sock.UDPLite {
				return fmt.Sprintf("UDP-Lite request returned %v", s.Protocol)
			}
			switch s.Inode {
			case bIno:
				found++
				if s.Family != unix.AF_INET || s.State != sock.StateClose || s.Local != bAddr || s.RecvQ == 0 {
					return fmt.Sprintf("bound UDP-Lite socket: %+v", s)
				}
			case cIno:
				found++
				if s.State != sock.StateEstablished || s.Local != cAddr || s.Remote != bAddr {
					return fmt.Sprintf("connected UDP-Lite socket: %+v", s)
				}
			case v6Ino:
				found++
				if s.Family != unix.AF_INET6 || s.State != sock.StateClose || s.Local != v6Addr {
					return fmt.Sprintf("IPv6 UDP-Lite socket: %+v", s)
				}
			}
		}
		if found != 3 {
			return fmt.Sprintf("found %d of the 3 UDP-Lite sockets", found)
		}
		return ""
	}
	poll(t, sock.Request{Protocols: []sock.Proto{sock.UDPLite}}, check)
	for _, s := range dump(t, sock.Request{Protocols: []sock.Proto{sock.UDP}}) {
		if s.Inode == bIno || s.Inode == cIno || s.Inode == v6Ino {
			t.Errorf("a UDP dump returned the UDP-Lite socket %+v", s)
		}
	}
	// The kernel's port filter and state mask apply to UDP-Lite dumps too.
	got := dump(t, sock.Request{Protocols: []sock.Proto{sock.UDPLite}, States: 1 << sock.StateEstablished,
		Filter: sock.Filter{RemotePorts: []sock.PortRange{{Min: bAddr.Port(), Max: bAddr.Port()}}}})
	if len(got) != 1 || got[0].Inode != cIno {
		t.Errorf("ESTABLISHED UDP-Lite to port %d: got %+v, want the connected socket only", bAddr.Port(), got)
	}
}
