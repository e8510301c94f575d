package vtab

import (
	"context"
	"net"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/netsql/netsql/vtab/internal/nstest"
	"github.com/netsql/netsql/vtab/netns"
)

// bindTo returns a socket Control function that binds the socket to dev
// (SO_BINDTODEVICE); "" leaves it unbound.
func bindTo(dev string) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, c syscall.RawConn) error {
		if dev == "" {
			return nil
		}
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE, dev)
		})
		if err != nil {
			return err
		}
		return serr
	}
}

// TestLiveBoundInterfaceMatchesSS opens TCP and UDP sockets, IPv4 and
// IPv6, bound to the namespace's veth, to lo and to no device, in a
// namespace the test creates, and compares sockets.bound_interface there
// with what ss prints after % in the local address, and with what the
// test bound.
func TestLiveBoundInterfaceMatchesSS(t *testing.T) {
	n := nstest.New(t, "netsql-bound-", "vbd")
	if _, err := exec.LookPath("ss"); err != nil {
		t.Skip("needs ss from iproute2")
	}
	ctx := context.Background()
	type opened struct {
		proto, addr, dev string
		port             int
	}
	var want []opened
	var closers []func() error
	defer func() {
		for _, c := range closers {
			c()
		}
	}()
	err := netns.Do(n.Path(), func() error {
		listen := func(network, addr, dev string) error {
			lc := net.ListenConfig{Control: bindTo(dev)}
			if strings.HasPrefix(network, "udp") {
				pc, err := lc.ListenPacket(ctx, network, addr)
				if err != nil {
					return err
				}
				closers = append(closers, pc.Close)
				want = append(want, opened{network, addr, dev, pc.LocalAddr().(*net.UDPAddr).Port})
				return nil
			}
			ln, err := lc.Listen(ctx, network, addr)
			if err != nil {
				return err
			}
			closers = append(closers, ln.Close)
			want = append(want, opened{network, addr, dev, ln.Addr().(*net.TCPAddr).Port})
			return nil
		}
		for _, s := range []struct{ network, addr, dev string }{
			{"tcp4", "0.0.0.0:0", "vbd"}, {"tcp4", "127.0.0.1:0", "lo"}, {"tcp4", "127.0.0.1:0", ""},
			{"tcp6", "[::]:0", "vbd"}, {"tcp6", "[::1]:0", ""},
			{"udp4", "0.0.0.0:0", "vbd"}, {"udp4", "127.0.0.1:0", ""},
			{"udp6", "[::1]:0", "lo"}, {"udp6", "[fd00:9::2]:0", "vbd"},
		} {
			if err := listen(s.network, s.addr, s.dev); err != nil {
				return err
			}
		}
		// A client bound to lo connected to the unbound listener: the
		// accepted socket stays unbound.
		d := net.Dialer{Control: bindTo("lo")}
		c, err := d.DialContext(ctx, "tcp4", "127.0.0.1:"+strconv.Itoa(want[2].port))
		if err != nil {
			return err
		}
		closers = append(closers, c.Close)
		want = append(want, opened{"tcp4", "127.0.0.1", "lo", c.LocalAddr().(*net.TCPAddr).Port})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	eng := liveEngine(t)
	got := query(t, eng, `SELECT proto, local_address, local_port, remote_port, bound_interface FROM sockets
		WHERE netns_name = ? AND protocol IN ('tcp', 'udp') ORDER BY 1, 2, 3, 4`, n.NS)

	// What the test bound: each of its sockets, by local port.
	byPort := map[string]string{}
	for _, r := range got {
		f := strings.Split(r, "|")
		byPort[f[2]+"/"+f[0][:3]] = f[4]
	}
	for _, w := range want {
		dev := w.dev
		if dev == "" {
			dev = "NULL"
		}
		if g := byPort[strconv.Itoa(w.port)+"/"+w.proto[:3]]; g != dev {
			t.Errorf("%s socket on %s port %d bound to %q: bound_interface %s", w.proto, w.addr, w.port, w.dev, g)
		}
	}

	// The documented example lists the bound ones.
	ex := query(t, eng, strings.Replace(Sockets.Examples[0], "FROM sockets", "FROM sockets('"+n.NS+"')", 1))
	bound := 0
	for _, w := range want {
		if w.dev != "" {
			bound++
		}
	}
	if len(ex) != bound {
		t.Errorf("example: %d rows, want the %d bound sockets: %q", len(ex), bound, ex)
	}

	// What ss prints in the namespace: addr%dev:port.
	out, err := exec.Command("ip", "netns", "exec", n.NS, "ss", "-tuanH").Output()
	if err != nil {
		t.Fatalf("ss -tuanH: %v", err)
	}
	var ss []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 {
			t.Fatalf("ss line %q", line)
		}
		ss = append(ss, ssRow(t, f[0], f[4], f[5]))
	}
	slices.Sort(ss)
	var ours []string
	for _, r := range got {
		f := strings.Split(r, "|")
		ours = append(ours, strings.TrimSuffix(f[0], "6")+"|"+f[2]+"|"+f[3]+"|"+f[4])
	}
	slices.Sort(ours)
	if !slices.Equal(ours, ss) {
		t.Errorf("bound_interface differs from ss:\n%s", nstest.RowsDiff(ours, ss))
	}
	if len(ours) != len(want)+1 { // and the accepted server side
		t.Errorf("read %d TCP and UDP sockets, want %d", len(ours), len(want)+1)
	}
}

// ssRow spells one socket of ss -tuanH as proto|local_port|remote_port|dev.
func ssRow(t *testing.T, netid, local, peer string) string {
	t.Helper()
	i := strings.LastIndexByte(local, ':')
	j := strings.LastIndexByte(peer, ':')
	if i < 0 || j < 0 {
		t.Fatalf("ss addresses %q %q", local, peer)
	}
	dev := "NULL"
	if k := strings.IndexByte(local[:i], '%'); k >= 0 {
		dev = strings.TrimSuffix(local[k+1:i], "]")
	}
	rport := peer[j+1:]
	if rport == "*" {
		rport = "0"
	}
	return netid + "|" + local[i+1:] + "|" + rport + "|" + dev
}

// TestBoundInterfaceNullFromProc: /proc/net/tcp and friends do not show
// the bound device, so with --proc bound_interface is NULL on every row.
func TestBoundInterfaceNullFromProc(t *testing.T) {
	eng, err := Open(Options{ProcRoot: fixtureProc})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	got := query(t, eng, "SELECT count(*), count(bound_interface) FROM sockets WHERE family IN ('inet', 'inet6')")
	if len(got) != 1 || strings.HasPrefix(got[0], "0|") || !strings.HasSuffix(got[0], "|0") {
		t.Errorf("count(*), count(bound_interface) = %v: want inet sockets, none with a bound interface", got)
	}
}
