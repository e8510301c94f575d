package sockdiag

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/netsql/netsql/vtab/sock"
)

// plainListen listens on addr without MPTCP, so the accepted sockets are
// plain TCP sockets with the inodes of the test's descriptors.
func plainListen(t testing.TB, network, addr string) *net.TCPListener {
	t.Helper()
	var lc net.ListenConfig
	lc.SetMultipathTCP(false)
	ln, err := lc.Listen(context.Background(), network, addr)
	if err != nil {
		t.Skipf("cannot listen on %s %s: %v", network, addr, err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.(*net.TCPListener)
}

// connPair makes one connection to ln, returning client and server ends;
// cleanup closes them.
func connPair(t testing.TB, ln *net.TCPListener) (client, server *net.TCPConn) {
	t.Helper()
	c, err := net.DialTCP(ln.Addr().Network(), nil, ln.Addr().(*net.TCPAddr))
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.AcceptTCP()
	if err != nil {
		c.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c, s
}

func find(ss []sock.Socket, local, remote netip.AddrPort) *sock.Socket {
	for i := range ss {
		if ss[i].Local == local && ss[i].Remote == remote {
			return &ss[i]
		}
	}
	return nil
}

// TestLiveNoExtras: without Extras no socket carries an Extra.
func TestLiveNoExtras(t *testing.T) {
	ln := plainListen(t, "tcp4", "127.0.0.1:0")
	connPair(t, ln)
	// Not raw: kernels without raw_diag refuse that dump.
	for _, s := range dump(t, sock.Request{Protocols: []sock.Proto{sock.TCP, sock.UDP, sock.UNIX}}) {
		if s.Extra != nil {
			t.Fatalf("%v %v: Extra %+v without Extras", s.Local, s.Remote, s.Extra)
		}
	}
}

// TestLiveExtras asks for everything on a loopback connection whose
// client shut its sending side, with unread data queued at the server.
func TestLiveExtras(t *testing.T) {
	ln := plainListen(t, "tcp4", "127.0.0.1:0")
	c, s := connPair(t, ln)
	if _, err := c.Write(bytes.Repeat([]byte("x"), 1000)); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	cAddr, sAddr := addrPort(c.LocalAddr()), addrPort(s.LocalAddr())
	req := sock.Request{Families: []uint8{unix.AF_INET}, Protocols: []sock.Proto{sock.TCP}, Extras: sock.AllExtras,
		Filter: sock.Filter{LocalPorts: []sock.PortRange{sock.Port(cAddr.Port()), sock.Port(sAddr.Port())}}}
	var server, client *sock.Socket
	poll(t, req, func(ss []sock.Socket) string {
		server, client = find(ss, sAddr, cAddr), find(ss, cAddr, sAddr)
		if server == nil || client == nil || server.State != sock.StateCloseWait {
			return fmt.Sprintf("want the server end in CLOSE_WAIT and the client end: %+v", ss)
		}
		return ""
	})
	for _, x := range []*sock.Socket{server, client} {
		if !x.Extra.Has(sock.ExtraTCPInfo | sock.ExtraMemInfo | sock.ExtraCongestion | sock.ExtraShutdown) {
			t.Fatalf("%v: Extra %+v", x.Local, x.Extra)
		}
		ti := x.Extra.TCP
		if ti.Len < sock.TCPInfoLenBase || ti.State != x.State || ti.SndMSS == 0 || ti.SndCwnd == 0 || ti.RTTUs == 0 {
			t.Errorf("%v: tcp_info %+v", x.Local, ti)
		}
		if x.Extra.Mem.Rcvbuf == 0 || x.Extra.Mem.Sndbuf == 0 {
			t.Errorf("%v: skmem %+v", x.Local, x.Extra.Mem)
		}
	}
	if want, err := os.ReadFile("/proc/sys/net/ipv4/tcp_congestion_control"); err == nil {
		if got := strings.TrimSpace(string(want)); server.Extra.Congestion != got {
			t.Errorf("congestion %q, want the default %q", server.Extra.Congestion, got)
		}
	}
	// The client shut its sending side; the server read its FIN.
	if client.Extra.Shutdown != sock.ShutdownWrite || server.Extra.Shutdown != sock.ShutdownRead {
		t.Errorf("shutdown: client %d server %d, want %d and %d", client.Extra.Shutdown, server.Extra.Shutdown, sock.ShutdownWrite, sock.ShutdownRead)
	}
	if server.Extra.TCP.Has(sock.TCPInfoLenBytesSent) && client.Extra.TCP.BytesSent < 1000 {
		t.Errorf("client bytes_sent %d, want >= 1000", client.Extra.TCP.BytesSent)
	}
	// bytes_received follows rcv_nxt, which the FIN advances by one.
	if server.Extra.TCP.Has(sock.TCPInfoLenBytesAcked) && server.Extra.TCP.BytesReceived != 1000+1 {
		t.Errorf("server bytes_received %d, want 1001 (1000 bytes and the FIN)", server.Extra.TCP.BytesReceived)
	}
	if server.Extra.Mem.RmemAlloc == 0 {
		t.Errorf("server skmem rmem_alloc 0 with 1000 unread bytes")
	}

	// cgroup id (Linux 5.7+): the inode of our cgroup v2 directory.
	if !server.Extra.Has(sock.ExtraCgroup) {
		t.Logf("no INET_DIAG_CGROUP_ID from this kernel")
	} else if ino, ok := ownCgroupInode(); ok && server.Extra.CgroupID != ino {
		t.Errorf("cgroup id %d, want %d (the inode of our cgroup v2 directory)", server.Extra.CgroupID, ino)
	}
}

// ownCgroupInode returns the inode of this process's cgroup v2
// directory, when cgroup2 is mounted at /sys/fs/cgroup.
func ownCgroupInode() (uint64, bool) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "0::"); ok {
			var st syscall.Stat_t
			var fs unix.Statfs_t
			if unix.Statfs("/sys/fs/cgroup", &fs) != nil || fs.Type != unix.CGROUP2_SUPER_MAGIC {
				return 0, false
			}
			if syscall.Stat(filepath.Join("/sys/fs/cgroup", rest), &st) != nil {
				return 0, false
			}
			return st.Ino, true
		}
	}
	return 0, false
}

// ssInfo is what `ss -tin` prints for one socket.
type ssInfo struct {
	cwnd, mss   uint64
	rtt, rttvar float64
	line        string
}

// ssTCPInfo runs `ss -Htin` with filter and parses the info line of the
// one socket it must print.
func ssTCPInfo(t *testing.T, filter string) ssInfo {
	t.Helper()
	out, err := exec.Command("ss", "-Htin", filter).Output()
	if err != nil {
		t.Fatalf("ss -Htin %s: %v", filter, err)
	}
	var info ssInfo
	n := 0
	for _, line := range strings.Split(string(out), "\n") {
		if line == "" {
			continue
		}
		if !strings.HasPrefix(line, "\t") && !strings.HasPrefix(line, " ") {
			n++
			continue
		}
		info.line = strings.TrimSpace(line)
		for _, f := range strings.Fields(line) {
			k, v, ok := strings.Cut(f, ":")
			if !ok {
				continue
			}
			switch k {
			case "cwnd":
				info.cwnd, _ = strconv.ParseUint(v, 10, 64)
			case "mss":
				info.mss, _ = strconv.ParseUint(v, 10, 64)
			case "rtt":
				a, b, _ := strings.Cut(v, "/")
				info.rtt, _ = strconv.ParseFloat(a, 64)
				info.rttvar, _ = strconv.ParseFloat(b, 64)
			}
		}
	}
	if n != 1 || info.cwnd == 0 || info.mss == 0 {
		t.Fatalf("ss -Htin %s: want one socket with cwnd and mss:\n%s", filter, out)
	}
	return info
}

// TestLiveTCPInfoMatchesSS compares tcp_info with what `ss -tin` prints
// for the same idle loopback connection, both ends: cwnd and mss exactly,
// rtt within the sampling noise.
func TestLiveTCPInfoMatchesSS(t *testing.T) {
	if _, err := exec.LookPath("ss"); err != nil {
		t.Skip("ss (iproute2) not installed")
	}
	ln := plainListen(t, "tcp4", "127.0.0.1:0")
	c, s := connPair(t, ln)
	// Some traffic both ways so RTT is sampled, then let it go idle.
	buf := make([]byte, 64<<10)
	for range 20 {
		if _, err := c.Write(buf[:4096]); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Read(buf); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Write(buf[:512]); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Read(buf); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(300 * time.Millisecond) // delayed ACKs out, queues empty
	cAddr, sAddr := addrPort(c.LocalAddr()), addrPort(s.LocalAddr())
	req := sock.Request{Families: []uint8{unix.AF_INET}, Protocols: []sock.Proto{sock.TCP}, Extras: sock.ExtraTCPInfo,
		Filter: sock.Filter{LocalPorts: []sock.PortRange{sock.Port(cAddr.Port())}, RemotePorts: []sock.PortRange{sock.Port(sAddr.Port())}}}
	for _, end := range []struct {
		name          string
		local, remote netip.AddrPort
		ssFilter      string
	}{
		{"client", cAddr, sAddr, fmt.Sprintf("sport = :%d and dport = :%d", cAddr.Port(), sAddr.Port())},
		{"server", sAddr, cAddr, fmt.Sprintf("sport = :%d and dport = :%d", sAddr.Port(), cAddr.Port())},
	} {
		req.Filter.LocalPorts[0], req.Filter.RemotePorts[0] = sock.Port(end.local.Port()), sock.Port(end.remote.Port())
		ours := dump(t, req)
		if len(ours) != 1 || ours[0].Local != end.local || !ours[0].Extra.Has(sock.ExtraTCPInfo) {
			t.Fatalf("%s: want exactly our socket with tcp_info, got %+v", end.name, ours)
		}
		ti := ours[0].Extra.TCP
		ss := ssTCPInfo(t, end.ssFilter)
		t.Logf("%s: ours cwnd %d mss %d rtt %.3f/%.3f; ss: %s", end.name, ti.SndCwnd, ti.SndMSS, ti.RTTMs(), ti.RTTVarMs(), ss.line)
		if uint64(ti.SndCwnd) != ss.cwnd || uint64(ti.SndMSS) != ss.mss {
			t.Errorf("%s: cwnd %d mss %d, ss says cwnd %d mss %d", end.name, ti.SndCwnd, ti.SndMSS, ss.cwnd, ss.mss)
		}
		// The connection is idle, so RTT should not move; allow for a
		// late sample: 20% or 0.2 ms.
		if d := math.Abs(ti.RTTMs() - ss.rtt); d > math.Max(0.2, 0.2*ss.rtt) {
			t.Errorf("%s: rtt %.3f ms, ss says %.3f ms", end.name, ti.RTTMs(), ss.rtt)
		}
	}
}

// TestLiveFilter opens several listeners with connections on loopback and
// checks that a port filter returns exactly one port's sockets, that the
// kernel did the filtering (the raw dump already holds only those), and
// that the userspace-only path returns the same.
func TestLiveFilter(t *testing.T) {
	const listeners, conns = 5, 20
	var lns []*net.TCPListener
	for range listeners {
		ln := plainListen(t, "tcp4", "127.0.0.1:0")
		for range conns {
			connPair(t, ln)
		}
		lns = append(lns, ln)
	}
	ln6 := plainListen(t, "tcp6", "[::1]:0")
	connPair(t, ln6)
	ln2 := plainListen(t, "tcp4", "127.0.0.2:0")
	connPair(t, ln2)

	port := addrPort(lns[2].Addr()).Port()
	userspace := New()
	userspace.noBytecode.Store(true)
	listenAddrs := []netip.AddrPort{addrPort(ln6.Addr()), addrPort(ln2.Addr())}
	for _, ln := range lns {
		listenAddrs = append(listenAddrs, addrPort(ln.Addr()))
	}
	// Sockets that are not the test's may carry its port numbers: TIME_WAIT
	// sockets of earlier users of a port (other tests, other packages
	// running in parallel), which expire at any moment, and sockets on
	// other addresses. The comparisons below read the table several times
	// one after another, so a round is retried until it agrees; and only
	// the test's own sockets (see ours) are counted against what it opened.
	check := func(name string, req sock.Request, keep func(s *sock.Socket) bool, wantN int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			msg := checkFilter(t, userspace, req, keep, listenAddrs, wantN)
			if msg == "" {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("%s: %s", name, msg)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	tcp := []sock.Proto{sock.TCP}
	check("sport", sock.Request{Protocols: tcp, Filter: sock.Filter{LocalPorts: []sock.PortRange{sock.Port(port)}}},
		func(s *sock.Socket) bool { return s.Local.Port() == port }, conns+1)
	check("dport", sock.Request{Protocols: tcp, Filter: sock.Filter{RemotePorts: []sock.PortRange{sock.Port(port)}}},
		func(s *sock.Socket) bool { return s.Remote.Port() == port }, conns)
	p0, p4 := addrPort(lns[0].Addr()).Port(), addrPort(lns[4].Addr()).Port()
	check("sport in", sock.Request{Protocols: tcp, Filter: sock.Filter{LocalPorts: []sock.PortRange{sock.Port(p0), sock.Port(p4)}}},
		func(s *sock.Socket) bool { return s.Local.Port() == p0 || s.Local.Port() == p4 }, 2*(conns+1))
	a2 := addrPort(ln2.Addr())
	check("src 127.0.0.2", sock.Request{Protocols: tcp, Filter: sock.Filter{LocalAddrs: []netip.Prefix{pfx("127.0.0.2")}, LocalPorts: []sock.PortRange{sock.Port(a2.Port())}}},
		func(s *sock.Socket) bool { return s.Local == a2 }, 2)
	check("dst 127.0.0.0/8 dport", sock.Request{Protocols: tcp, Filter: sock.Filter{RemoteAddrs: []netip.Prefix{pfx("127.0.0.0/8")}, RemotePorts: []sock.PortRange{sock.Port(port)}}},
		func(s *sock.Socket) bool { return s.Remote.Port() == port && s.Family == unix.AF_INET }, conns)
	a6 := addrPort(ln6.Addr())
	check("src ::1", sock.Request{Protocols: tcp, Filter: sock.Filter{LocalAddrs: []netip.Prefix{pfx("::1")}, LocalPorts: []sock.PortRange{sock.Port(a6.Port())}}},
		func(s *sock.Socket) bool { return s.Local == a6 }, 2)
}

// checkFilter runs one round of TestLiveFilter's checks of req and
// returns what went wrong: that the kernel-filtered dump holds the sockets
// of the unfiltered one that keep selects, wantN of them the test's own
// (made with its listeners at lns); that the userspace filter agrees; and
// that the kernel sent only the filtered sockets.
func checkFilter(t *testing.T, userspace *Reader, req sock.Request, keep func(s *sock.Socket) bool, lns []netip.AddrPort, wantN int) string {
	t.Helper()
	var bad []string
	got := dump(t, req)
	all := dump(t, sock.Request{Families: req.Families, Protocols: req.Protocols})
	var want []sock.Socket
	for i := range all {
		if keep(&all[i]) {
			want = append(want, all[i])
		}
	}
	key := func(s sock.Socket) string { return s.Local.String() + " " + s.Remote.String() }
	gotKeys, wantKeys := sortedKeys(got, key), sortedKeys(want, key)
	if !slices.Equal(gotKeys, wantKeys) {
		bad = append(bad, fmt.Sprintf("got %d sockets, want %d:\n got %v\nwant %v", len(got), len(want), gotKeys, wantKeys))
	}
	mine := 0
	for i := range got {
		if slices.ContainsFunc(lns, func(ln netip.AddrPort) bool { return ours(got[i], ln) }) {
			mine++
		}
	}
	if wantN >= 0 && mine != wantN {
		bad = append(bad, fmt.Sprintf("%d of the test's sockets, want %d", mine, wantN))
	}
	us, err := userspace.Sockets(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if k := sortedKeys(us, key); !slices.Equal(k, gotKeys) {
		bad = append(bad, fmt.Sprintf("userspace filter got %v, kernel %v", k, gotKeys))
	}
	// The kernel filtered: the raw replies to the bytecode request
	// are the filtered sockets, not the whole table.
	for _, d := range dumps {
		if !req.Wants(d.family, d.proto) {
			continue
		}
		bc, err := compileFilter(&req.Filter, d.family)
		if err != nil || len(bc) == 0 {
			t.Fatalf("compile: %v, %d bytes", err, len(bc))
		}
		raw := rawCount(t, d.request(&req, bc))
		n := 0
		for i := range got {
			if got[i].Family == d.family && got[i].Protocol == d.proto {
				n++
			}
		}
		if raw != n {
			bad = append(bad, fmt.Sprintf("dump %s: kernel sent %d sockets, %d pass the filter", d.name, raw, n))
		}
	}
	return strings.Join(bad, "\n")
}

func sortedKeys(ss []sock.Socket, key func(sock.Socket) string) []string {
	var ks []string
	for _, s := range ss {
		ks = append(ks, key(s))
	}
	slices.Sort(ks)
	return ks
}

// rawCount sends req and counts the sockets the kernel replies with.
func rawCount(t *testing.T, req []byte) int {
	t.Helper()
	c, err := dial(context.Background(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	n := 0
	if _, err := c.dump(context.Background(), req, func([]byte) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestLiveBytecodeRefused feeds the kernel a program it must refuse (an
// unknown opcode): the dump fails with EINVAL, and Sockets falls back to
// the userspace filter with the same result.
func TestLiveBytecodeRefused(t *testing.T) {
	ln := plainListen(t, "tcp4", "127.0.0.1:0")
	connPair(t, ln)
	port := addrPort(ln.Addr()).Port()
	bogus := []byte{99, 4, 8, 0}
	req := sock.Request{Protocols: []sock.Proto{sock.TCP}, Filter: sock.Filter{LocalPorts: []sock.PortRange{sock.Port(port)}}}

	c, err := dial(context.Background(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	_, err = c.dump(context.Background(), dumps[0].request(&req, bogus), func([]byte) error { return nil })
	if !errors.Is(err, unix.EINVAL) {
		t.Fatalf("unknown opcode: err = %v, want EINVAL", err)
	}

	r := New()
	r.compile = func(*sock.Filter, uint8) ([]byte, error) { return bogus, nil }
	got, err := r.Sockets(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	// Sockets on other addresses may share the port number; the test's
	// own are the listener and the accepted socket.
	mine := 0
	for _, s := range got {
		if s.Local.Port() != port {
			t.Errorf("after EINVAL: local port %d is not the filter's %d: %+v", s.Local.Port(), port, s)
		}
		if ours(s, addrPort(ln.Addr())) {
			mine++
		}
	}
	if mine != 2 {
		t.Errorf("after EINVAL: %+v, want the listener and the accepted socket", got)
	}
	if !r.noBytecode.Load() {
		t.Error("the reader did not remember the refusal")
	}
}
