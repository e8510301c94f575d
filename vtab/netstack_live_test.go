package vtab

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netsql/netsql/vtab/internal/nstest"
	"golang.org/x/sys/unix"
)

// The live tests of routes, interfaces, addresses, neighbors and
// multicast_groups build a network in two namespaces they create, then
// run netsql inside one of them by re-executing this test binary under
// `ip netns exec` (TestNetstackHelperProcess): every thread of that
// process, and so every netlink socket and /proc/net read, is in the
// namespace.

// TestNetstackHelperProcess is not a test: run with NETSQL_T3_SQL set (a
// JSON array of statements) it opens an engine, runs each statement and
// prints a JSON array of results, each an array of "a|b|c" rows.
// NETSQL_T3_PROC=1 reads /proc as a --proc tree instead of the live kernel.
func TestNetstackHelperProcess(t *testing.T) {
	stmts := os.Getenv("NETSQL_T3_SQL")
	if stmts == "" {
		return
	}
	var qs []string
	if err := json.Unmarshal([]byte(stmts), &qs); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	opts := Options{}
	if os.Getenv("NETSQL_T3_PROC") != "" {
		opts.ProcRoot = "/proc"
	}
	eng, err := Open(opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var out [][]string
	for _, q := range qs {
		out = append(out, query(t, eng, q))
	}
	if t.Failed() {
		os.Exit(1)
	}
	json.NewEncoder(os.Stdout).Encode(out)
	os.Exit(0)
}

// testNet is the network a live test built.
type testNet struct {
	*nstest.Net        // NS, its peer, and vt3 between them
	netns       uint64 // inode of NS
	vtIndex     int    // ifindex of vt3 inside NS
}

// newTestNet builds, in namespace NS (and its peer NS-p, which holds the
// other end of the veth pair; the root namespace is not touched):
//
//	lo up; vt3 10.9.0.2/24 fd00:9::2/64 <-> vpeer 10.9.0.1/24 fd00:9::1/64
//	default via 10.9.0.1
//	10.10.0.0/24 via 10.9.0.1 table 100
//	blackhole 10.11.0.0/24, blackhole fd00:11::/64, unreachable 10.13.0.1
//	fd00:10::/64 via fd00:9::1
//	10.12.0.0/24 multipath via 10.9.0.1 weight 1 and 10.9.0.3 weight 2
//	neighbours 10.9.0.5 (permanent) and fd00:9::5 (permanent, router)
//	a socket in NS joined to 239.1.2.3 and ff15::1234 on vt3
func newTestNet(t *testing.T) *testNet {
	t.Helper()
	n := &testNet{Net: nstest.New(t, "netsql-t3-", "vt3")}
	var st syscall.Stat_t
	if err := syscall.Stat(n.Path(), &st); err != nil {
		t.Fatal(err)
	}
	n.netns = st.Ino

	in := func(args ...string) { n.IP(t, args...) }
	in("route", "add", "default", "via", "10.9.0.1")
	in("route", "add", "10.10.0.0/24", "via", "10.9.0.1", "table", "100")
	in("route", "add", "blackhole", "10.11.0.0/24")
	in("-6", "route", "add", "blackhole", "fd00:11::/64")
	in("route", "add", "unreachable", "10.13.0.1")
	in("-6", "route", "add", "fd00:10::/64", "via", "fd00:9::1")
	in("route", "add", "10.12.0.0/24", "nexthop", "via", "10.9.0.1", "weight", "1", "nexthop", "via", "10.9.0.3", "weight", "2")
	in("neigh", "add", "10.9.0.5", "lladdr", "02:00:00:00:00:05", "dev", "vt3", "nud", "permanent")
	in("-6", "neigh", "add", "fd00:9::5", "lladdr", "02:00:00:00:00:06", "dev", "vt3", "nud", "permanent", "router")

	links := n.JSON(t, "link", "show", "vt3")
	if len(links) != 1 {
		t.Fatalf("vt3: %v", links)
	}
	var err error
	if n.vtIndex, err = strconv.Atoi(nstest.Str(links[0], "ifindex")); err != nil {
		t.Fatalf("vt3: ifindex: %v", err)
	}
	n.joinGroups(t)
	return n
}

// joinGroups opens UDP sockets inside the namespace (on a locked thread
// that enters it and comes back) and joins a group per family on vt3.
// The sockets stay in the namespace until the test ends.
func (n *testNet) joinGroups(t *testing.T) {
	t.Helper()
	type result struct {
		fds []int
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: err}
			return
		}
		defer unix.Close(orig)
		target, err := unix.Open(n.Path(), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: err}
			return
		}
		defer unix.Close(target)
		if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: err}
			return
		}
		var res result
		join := func() error {
			fd4, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				return err
			}
			res.fds = append(res.fds, fd4)
			if err := unix.Bind(fd4, &unix.SockaddrInet4{}); err != nil {
				return err // bound, so sockstat counts it in use
			}
			if err := unix.SetsockoptIPMreqn(fd4, unix.IPPROTO_IP, unix.IP_ADD_MEMBERSHIP,
				&unix.IPMreqn{Multiaddr: [4]byte{239, 1, 2, 3}, Ifindex: int32(n.vtIndex)}); err != nil {
				return fmt.Errorf("IP_ADD_MEMBERSHIP: %w", err)
			}
			fd6, err := unix.Socket(unix.AF_INET6, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				return err
			}
			res.fds = append(res.fds, fd6)
			if err := unix.Bind(fd6, &unix.SockaddrInet6{}); err != nil {
				return err
			}
			mreq := &unix.IPv6Mreq{Multiaddr: netip.MustParseAddr("ff15::1234").As16(), Interface: uint32(n.vtIndex)}
			if err := unix.SetsockoptIPv6Mreq(fd6, unix.IPPROTO_IPV6, unix.IPV6_JOIN_GROUP, mreq); err != nil {
				return fmt.Errorf("IPV6_JOIN_GROUP: %w", err)
			}
			return nil
		}
		res.err = join()
		if unix.Setns(orig, unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread() // else the thread dies with the goroutine
		}
		ch <- res
	}()
	res := <-ch
	t.Cleanup(func() {
		for _, fd := range res.fds {
			unix.Close(fd)
		}
	})
	if res.err != nil {
		t.Fatalf("join multicast groups in %s: %v", n.NS, res.err)
	}
}

// run runs statements with netsql inside the namespace.
func (n *testNet) run(t *testing.T, proc bool, stmts ...string) [][]string {
	t.Helper()
	js, _ := json.Marshal(stmts)
	cmd := exec.Command("ip", "netns", "exec", n.NS, os.Args[0], "-test.run=^TestNetstackHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), "NETSQL_T3_SQL="+string(js))
	if proc {
		cmd.Env = append(cmd.Env, "NETSQL_T3_PROC=1")
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("netsql in %s: %v\n%s\n%s", n.NS, err, out, stderr.String())
	}
	var res [][]string
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("netsql in %s: %v\n%s", n.NS, err, out)
	}
	return res
}

// ipRoutes renders ip -j -d route show table all (both families) as rows
// of TestLiveNetstackMatchesIP's routes query.
func (n *testNet) ipRoutes(t *testing.T) []string {
	t.Helper()
	var want []string
	for _, r := range n.Routes(t) {
		want = append(want, strings.Join([]string{r.Dst, r.Gateway, r.Dev, r.Table, r.Protocol,
			r.Scope, r.Type, r.Metric, r.PrefSrc, strconv.Itoa(r.Weight)}, "|"))
	}
	return want
}

func TestLiveNetstackInNamespace(t *testing.T) {
	n := newTestNet(t)
	ns := strconv.FormatUint(n.netns, 10)
	res := n.run(t, false,
		`SELECT destination, prefix_len, coalesce(gateway, '-'), coalesce(interface, '-'), "table", flags, type, coalesce(weight, '-') FROM routes
		 WHERE table_id = 100 OR type IN ('blackhole', 'unreachable') OR destination IN ('fd00:10::', '10.12.0.0') ORDER BY 1, 3`,
		`SELECT gateway, interface FROM routes WHERE family = 'inet' AND destination = '0.0.0.0' AND prefix_len = 0 AND "table" = 'main'`,
		`SELECT count(*), count(DISTINCT netns), min(netns) FROM routes`,
		`SELECT name, flags, up, running, loopback, mtu, type, operstate, coalesce(kind, '-'), coalesce(master, '-'), coalesce(speed_mbps, '-'), netns FROM interfaces ORDER BY "index"`,
		`SELECT interface, family, address, prefix_len, coalesce(netmask, '-'), coalesce(broadcast, '-'), scope, flags, coalesce(valid_lft, 'forever'), netns
		 FROM addresses WHERE NOT (family = 'inet6' AND scope = 'link') ORDER BY ifindex, family, address`,
		`SELECT address, family, mac, interface, state, router, netns FROM neighbors WHERE state = 'PERMANENT' ORDER BY family`,
		`SELECT interface, refcnt, "group", family, netns FROM multicast_groups WHERE "group" IN ('239.1.2.3', 'ff15::1234') ORDER BY family`,
		`SELECT count(*) > 100, count(DISTINCT protocol) >= 8, min(netns) FROM protocol_stats`,
		`SELECT family, value, netns FROM socket_summary WHERE protocol = 'UDP' AND name = 'inuse' ORDER BY family`,
		`SELECT name FROM interfaces WHERE name = 'vt3'`,
		`SELECT count(*) FROM addresses WHERE ifindex = `+strconv.Itoa(n.vtIndex)+` AND family = 'inet6'`,
		`SELECT address FROM neighbors WHERE ifindex = `+strconv.Itoa(n.vtIndex)+` AND family = 'inet' AND state = 'PERMANENT'`,
	)
	check := func(i int, what string, want ...string) {
		t.Helper()
		if !slices.Equal(res[i], want) {
			t.Errorf("%s:\n got:\n  %s\nwant:\n  %s", what, strings.Join(res[i], "\n  "), strings.Join(want, "\n  "))
		}
	}
	check(0, "routes built",
		"10.10.0.0|24|10.9.0.1|vt3|100|UG|unicast|-",
		"10.11.0.0|24|-|-|main|U|blackhole|-", // /proc/net/route marks only unreachable and prohibit as reject
		"10.12.0.0|24|10.9.0.1|vt3|main|UG|unicast|1",
		"10.12.0.0|24|10.9.0.3|vt3|main|UG|unicast|2",
		"10.13.0.1|32|-|-|main|!H|unreachable|-",
		"fd00:10::|64|fd00:9::1|vt3|main|UG|unicast|-",
		"fd00:11::|64|-|lo|main|!n|blackhole|-",
	)
	check(1, "default gateway", "10.9.0.1|vt3")
	if len(res[2]) != 1 || !strings.HasSuffix(res[2][0], "|1|"+ns) {
		t.Errorf("routes netns: %v, want all %s", res[2], ns)
	}
	check(3, "interfaces",
		"lo|LRU|1|1|1|65536|loopback|UNKNOWN|-|-|-|"+ns,
		"vt3|BMRU|1|1|0|1500|ether|UP|veth|-|10000|"+ns)
	check(4, "addresses",
		"lo|inet|127.0.0.1|8|255.0.0.0|-|host|permanent|forever|"+ns,
		"lo|inet6|::1|128|-|-|host|permanent|forever|"+ns,
		fmt.Sprintf("vt3|inet|10.9.0.2|24|255.255.255.0|-|global|permanent|forever|%s", ns),
		fmt.Sprintf("vt3|inet6|fd00:9::2|64|-|-|global|permanent,nodad|forever|%s", ns))
	check(5, "neighbours",
		"10.9.0.5|inet|02:00:00:00:00:05|vt3|PERMANENT|0|"+ns,
		"fd00:9::5|inet6|02:00:00:00:00:06|vt3|PERMANENT|1|"+ns)
	check(6, "multicast groups", "vt3|1|239.1.2.3|inet|"+ns, "vt3|1|ff15::1234|inet6|"+ns)
	check(7, "protocol_stats", "1|1|"+ns)
	check(8, "socket_summary: our two UDP sockets", "inet|1|"+ns, "inet6|1|"+ns)
	check(9, "interfaces by name", "vt3")
	check(10, "addresses by ifindex", "2")         // fd00:9::2 and fe80::
	check(11, "neighbours by ifindex", "10.9.0.5") // not a count: the gateway may get resolved meanwhile
}

// TestLiveNetstackMatchesIP compares the tables with ip(8) inside the
// namespace, row for row.
func TestLiveNetstackMatchesIP(t *testing.T) {
	n := newTestNet(t)

	// The routing tables are not still yet: when duplicate address
	// detection on vt3's link-local address ends (1 to 2 s after the link
	// came up, later than this test gets here unless the machine is busy),
	// the kernel adds its local route. So each comparison below reads
	// ours, then the other, then ours again, and retries until all three
	// agree (nstest.Agree).
	t.Run("routes", func(t *testing.T) {
		q := `SELECT CASE WHEN prefix_len = 0 THEN 'default'
			WHEN prefix_len IN (32, 128) AND family = CASE prefix_len WHEN 32 THEN 'inet' ELSE 'inet6' END THEN destination
			ELSE destination || '/' || prefix_len END,
			coalesce(gateway, ''), coalesce(interface, ''), "table", protocol, scope, type, metric, coalesce(source, ''), coalesce(weight, 0)
			FROM routes`
		ours := func() []string { return n.run(t, false, q)[0] }
		if _, err := nstest.Agree(t, 40, 18, ours, func() []string { return n.ipRoutes(t) }); err != nil {
			t.Errorf("routes vs ip -j -d route show table all: %v", err)
		}
	})

	t.Run("route flags vs /proc", func(t *testing.T) {
		// The kernel's own RTF_* bits, as netstat reads them: net/route
		// (IPv4 main table, no broadcast or multicast routes) and
		// net/ipv6_route (every IPv6 route but the cached ones).
		const key = `family || ' ' || destination || '/' || prefix_len || ' ' || coalesce(gateway, '-') || ' ' || coalesce(interface, '*') || ' ' || metric || ' ' || flags`
		live := func() []string {
			res := n.run(t, false,
				`SELECT `+key+` FROM routes WHERE family = 'inet' AND table_id = 254 AND type NOT IN ('broadcast', 'multicast')
				 UNION ALL SELECT `+key+` FROM routes WHERE family = 'inet6'`)
			// multipath: /proc/net/route shows one line, with the first hop's gateway
			var rows []string
			for _, r := range res[0] {
				if strings.Contains(r, "10.12.0.0/24 10.9.0.3") {
					continue
				}
				rows = append(rows, r)
			}
			return rows
		}
		proc := func() []string {
			return n.run(t, true, `SELECT `+key+` FROM routes WHERE NOT (family = 'inet6' AND flags = '!n' AND destination = '::' AND prefix_len = 0 AND interface = 'lo')`)[0]
		}
		if _, err := nstest.Agree(t, 40, 10, live, proc); err != nil {
			t.Errorf("flags from rtnetlink vs /proc/net/{route,ipv6_route}: %v", err)
		}
	})

	t.Run("interface counters", func(t *testing.T) {
		q := `SELECT name, "index", mtu, mac, type, operstate, rx_packets, rx_bytes, rx_errors, rx_dropped, rx_over, rx_frame, rx_multicast,
			tx_packets, tx_bytes, tx_errors, tx_dropped, tx_over, tx_carrier, tx_collisions FROM interfaces`
		ours := func() []string { return n.run(t, false, q)[0] }
		if _, err := nstest.Agree(t, 40, 0, ours, func() []string { return n.ipLinks(t) }); err != nil {
			t.Errorf("interfaces differ from ip -j -s -s link: %v", err)
		}
	})

	t.Run("neighbours", func(t *testing.T) {
		var diff string
		for attempt := 0; attempt < 20; attempt++ {
			got := n.run(t, false, `SELECT address, interface, coalesce(mac, ''), state, router FROM neighbors`)[0]
			var want []string
			for _, nb := range n.Neighbors(t) {
				router := "0"
				if nb.Router {
					router = "1"
				}
				want = append(want, strings.Join([]string{nb.Dst, nb.Dev, nb.LLAddr, strings.Join(nb.States, ","), router}, "|"))
			}
			slices.Sort(got)
			slices.Sort(want)
			if slices.Equal(got, want) && len(got) >= 2 {
				return
			}
			diff = nstest.RowsDiff(got, want)
			time.Sleep(250 * time.Millisecond)
		}
		t.Errorf("neighbours differ from ip -j neigh show nud all:\n%s", diff)
	})
}

// ipLinks renders ip -j -s -s link as interfaces rows, summing the error
// kinds the way /proc/net/dev (and the table) does.
func (n *testNet) ipLinks(t *testing.T) []string {
	t.Helper()
	var rows []string
	for _, l := range n.Links(t) {
		m, rx, tx := l.Attrs, l.RX, l.TX
		g := func(c nstest.Counters, keys ...string) string { return strconv.FormatUint(c.Sum(keys...), 10) }
		rows = append(rows, strings.Join([]string{nstest.Str(m, "ifname"), nstest.Str(m, "ifindex"), nstest.Str(m, "mtu"), nstest.Str(m, "address"),
			nstest.Str(m, "link_type"), nstest.Str(m, "operstate"),
			g(rx, "packets"), g(rx, "bytes"), g(rx, "errors"), g(rx, "dropped", "missed_errors"), g(rx, "fifo_errors"),
			g(rx, "length_errors", "over_errors", "crc_errors", "frame_errors"), g(rx, "multicast"),
			g(tx, "packets"), g(tx, "bytes"), g(tx, "errors"), g(tx, "dropped"), g(tx, "fifo_errors"),
			g(tx, "carrier_errors", "aborted_errors", "window_errors", "heartbeat_errors"), g(tx, "collisions")}, "|"))
	}
	return rows
}
