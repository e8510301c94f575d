package vtab

import (
	"context"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
	sqlvtab "modernc.org/sqlite/vtab"

	"github.com/netsql/netsql/vtab/rtnl"
)

// fixtureProc is the fixture host's /proc tree; its sysfs and /etc trees
// sit beside it (testdata/fixture/README.md).
const fixtureProc = "testdata/fixture/proc"

// openFixture opens an engine over the fixture host, collecting notices.
func openFixture(t *testing.T) (*Engine, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var notes []string
	eng, err := Open(Options{ProcRoot: fixtureProc, Notify: func(n Notice) {
		mu.Lock()
		notes = append(notes, n.Msg)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	return eng, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), notes...)
	}
}

func wantRows(t *testing.T, eng *Engine, q string, want ...string) {
	t.Helper()
	got := query(t, eng, q)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s\n got:\n  %s\nwant:\n  %s", q, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestFixtureSourceRoots(t *testing.T) {
	src, err := NewSource(fixtureProc, nil)
	if err != nil {
		t.Fatal(err)
	}
	if src.SysRoot != "testdata/fixture/sys" || src.EtcRoot != "testdata/fixture/etc" || src.Live {
		t.Errorf("source %+v: want sysfs and /etc beside the /proc tree", src)
	}
	live, _ := NewSource("", nil)
	if live.SysRoot != "/sys" || live.EtcRoot != "/etc" || !live.Live {
		t.Errorf("live source %+v", live)
	}
	// A /proc tree with no etc/ beside it keeps the host's /etc.
	other, err := NewSource("procnet/testdata/proc", nil)
	if err != nil || other.EtcRoot != "/etc" {
		t.Errorf("source %+v, %v", other, err)
	}
}

func TestFixtureRoutes(t *testing.T) {
	eng, _ := openFixture(t)
	cols := `SELECT family, destination, prefix_len, coalesce(netmask, '-'), gateway, interface, metric, flags,
		table_id, "table", type, protocol, advmss, window, irtt, mtu, refcnt, use, netns FROM routes`
	wantRows(t, eng, cols,
		"inet|0.0.0.0|0|0.0.0.0|192.0.2.1|eth0|0|UG|254|main|unicast|NULL|0|0|0|NULL|0|0|4026531840",
		"inet|192.0.2.0|24|255.255.255.0|NULL|eth0|0|U|254|main|unicast|NULL|0|0|0|NULL|0|0|4026531840",
		"inet6|fd00::|64|-|NULL|eth0|256|U|NULL|NULL|unicast|NULL|NULL|NULL|NULL|NULL|1|0|4026531840",
		"inet6|fe80::|64|-|NULL|eth0|256|U|NULL|NULL|unicast|NULL|NULL|NULL|NULL|NULL|2|0|4026531840",
		"inet6|::|0|-|fd00::1|eth0|1024|UG|NULL|NULL|unicast|NULL|NULL|NULL|NULL|NULL|2|0|4026531840",
		"inet6|::1|128|-|NULL|lo|0|Un|NULL|NULL|local|NULL|NULL|NULL|NULL|NULL|2|0|4026531840",
		"inet6|fd00::2|128|-|NULL|eth0|0|Un|NULL|NULL|local|NULL|NULL|NULL|NULL|NULL|3|0|4026531840",
		"inet6|fe80::fc:ff:fe00:1|128|-|NULL|eth0|0|Un|NULL|NULL|local|NULL|NULL|NULL|NULL|NULL|3|0|4026531840",
		"inet6|ff00::|8|-|NULL|eth0|256|U|NULL|NULL|multicast|NULL|NULL|NULL|NULL|NULL|3|0|4026531840",
		"inet6|::|0|-|NULL|lo|4294967295|!n|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|1|0|4026531840",
	)
	wantRows(t, eng, "SELECT gateway, interface FROM routes WHERE destination = '0.0.0.0' AND prefix_len = 0",
		"192.0.2.1|eth0")
	wantRows(t, eng, "SELECT count(*) FROM routes WHERE table_id = 254", "2")
	wantRows(t, eng, `SELECT count(*) FROM routes WHERE "table" = 'main'`, "2")
	wantRows(t, eng, `SELECT count(*) FROM routes WHERE "table" = 'customers'`, "0")
	wantRows(t, eng, `SELECT count(*) FROM routes WHERE "table" = 'nosuch'`, "0")
	wantRows(t, eng, "SELECT count(*) FROM routes WHERE family = 'inet6'", "8")
	wantRows(t, eng, "SELECT family, count(*) FROM routes WHERE family IN ('inet', 'inet6') GROUP BY 1", "inet|2", "inet6|8")
}

func TestFixtureInterfaces(t *testing.T) {
	eng, _ := openFixture(t)
	wantRows(t, eng, `SELECT name, "index", mtu, flags, up, running, loopback, mac, type, operstate, speed_mbps, master, kind,
		rx_packets, rx_bytes, rx_errors, rx_dropped, rx_over, rx_frame, rx_multicast,
		tx_packets, tx_bytes, tx_errors, tx_dropped, tx_over, tx_carrier, tx_collisions, netns FROM interfaces`,
		"lo|1|65536|LRU|1|1|1|00:00:00:00:00:00|loopback|UNKNOWN|NULL|NULL|NULL|529008|28156677|0|262180|0|0|0|529008|28156677|0|0|0|0|0|4026531840",
		"ifb0|2|1500|BO|0|0|0|86:fc:12:04:88:ac|ether|DOWN|NULL|NULL|NULL|0|0|0|0|0|0|0|0|0|0|0|0|0|0|4026531840",
		"ifb1|3|1500|BO|0|0|0|de:e2:4c:75:b3:c9|ether|DOWN|NULL|NULL|NULL|0|0|0|0|0|0|0|0|0|0|0|0|0|0|4026531840",
		"eth0|4|1400|BMRU|1|1|0|02:fc:00:00:00:01|ether|UP|10000|NULL|NULL|3925|56277203|0|0|0|0|0|2999|312852|0|0|0|0|0|4026531840",
	)
	wantRows(t, eng, "SELECT name FROM interfaces WHERE name = 'eth0'", "eth0")
	wantRows(t, eng, `SELECT name FROM interfaces WHERE "index" IN (1, 4) ORDER BY 1`, "eth0", "lo")
	// netstat -i lists interfaces that are up, sorted by name.
	wantRows(t, eng, "SELECT name, mtu, rx_packets, tx_packets, flags FROM interfaces WHERE up ORDER BY name",
		"eth0|1400|3925|2999|BMRU", "lo|65536|529008|529008|LRU")
}

func TestFixtureInterfacesWithoutSysfs(t *testing.T) {
	src, err := NewSource(fixtureProc, nil)
	if err != nil {
		t.Fatal(err)
	}
	src.SysRoot = t.TempDir()
	eng, err := Open(Options{Source: src})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	wantRows(t, eng, `SELECT name, "index", mtu, flags, up, mac, rx_packets FROM interfaces WHERE name = 'eth0'`,
		"eth0|NULL|NULL|NULL|NULL|NULL|3925")
}

func TestFixtureAddresses(t *testing.T) {
	eng, notes := openFixture(t)
	wantRows(t, eng, "SELECT interface, ifindex, family, address, prefix_len, netmask, broadcast, scope, flags, label, valid_lft, netns FROM addresses",
		"lo|1|inet6|::1|128|NULL|NULL|host|permanent|NULL|NULL|4026531840",
		"eth0|4|inet6|fd00::2|64|NULL|NULL|global|permanent|NULL|NULL|4026531840",
		"eth0|4|inet6|fe80::fc:ff:fe00:1|64|NULL|NULL|link|permanent|NULL|NULL|4026531840",
	)
	if n := notes(); len(n) != 1 || !strings.Contains(n[0], "no IPv4 addresses") {
		t.Errorf("notices %q, want one saying IPv4 addresses are missing", n)
	}
	rows, err := eng.QueryContext(context.Background(), "SELECT * FROM addresses WHERE family = 'inet'")
	if err == nil {
		for rows.Next() {
		}
		err = rows.Err()
		rows.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "IPv4 addresses are not in a /proc tree") {
		t.Errorf("family = 'inet' from /proc: err = %v, want a clear error", err)
	}
	wantRows(t, eng, "SELECT address FROM addresses WHERE family = 'inet6' AND ifindex = 4 AND scope = 'global'", "fd00::2")
}

func TestFixtureNeighbors(t *testing.T) {
	eng, _ := openFixture(t)
	wantRows(t, eng, "SELECT address, family, mac, interface, ifindex, state, router, netns FROM neighbors",
		"192.0.2.1|inet|02:fc:00:00:00:02|eth0|NULL|NULL|0|4026531840",
		"192.0.2.9|inet|02:00:00:00:00:09|eth0|NULL|PERMANENT|0|4026531840",
		"192.0.2.77|inet|NULL|eth0|NULL|NULL|0|4026531840",
	)
	if _, err := eng.DB().Query("SELECT * FROM neighbors WHERE family = 'inet6'"); err == nil {
		// the error may surface at Query or at the first Next
		rows, _ := eng.DB().Query("SELECT * FROM neighbors WHERE family = 'inet6'")
		if rows != nil {
			rows.Next()
			if rows.Err() == nil {
				t.Error("family = 'inet6' from /proc: want an error")
			}
			rows.Close()
		}
	}
}

func TestFixtureMulticastGroups(t *testing.T) {
	eng, _ := openFixture(t)
	// netstat_g.txt, captured on the fixture host.
	b, err := os.ReadFile("procstat/testdata/captures/netstat_g.txt")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, line := range strings.Split(string(b), "\n")[3:] {
		if f := strings.Fields(line); len(f) == 3 {
			want = append(want, strings.Join(f, "|"))
		}
	}
	wantRows(t, eng, `SELECT interface, refcnt, "group" FROM multicast_groups`, want...)
	wantRows(t, eng, `SELECT family, ifindex, netns FROM multicast_groups WHERE "group" = '239.1.2.3'`, "inet|4|4026531840")
}

func TestFixtureProtocolStatsAndSummary(t *testing.T) {
	eng, _ := openFixture(t)
	wantRows(t, eng, "SELECT value, netns FROM protocol_stats WHERE protocol = 'Tcp' AND name = 'ActiveOpens'", "41026|4026531840")
	wantRows(t, eng, "SELECT value FROM protocol_stats WHERE protocol = 'Tcp' AND name = 'MaxConn'", "-1")
	wantRows(t, eng, "SELECT value FROM protocol_stats WHERE protocol = 'Ip6' AND name = 'InReceives'", "4")
	wantRows(t, eng, "SELECT family, protocol, name, value FROM socket_summary WHERE protocol IN ('sockets', 'TCP')",
		"inet|TCP|inuse|5", "inet|TCP|orphan|0", "inet|TCP|tw|0", "inet|TCP|alloc|9", "inet|TCP|mem|108",
		"inet6|TCP|inuse|4", "NULL|sockets|used|30") // SQLite runs the IN list sorted
}

func TestFixtureServices(t *testing.T) {
	eng, _ := openFixture(t)
	wantRows(t, eng, "SELECT name, port, protocol, aliases FROM services WHERE port IN (22, 53) ORDER BY port, protocol",
		"ssh|22|tcp|NULL", "domain|53|tcp|NULL", "domain|53|udp|NULL")
	wantRows(t, eng, "SELECT aliases FROM services WHERE name = 'http'", "www")
}

func TestEmptyProcTreeGivesEmptyTablesAndNotices(t *testing.T) {
	root := t.TempDir()
	os.Mkdir(root+"/net", 0o755)
	var notes []string
	eng, err := Open(Options{ProcRoot: root, Notify: func(n Notice) { notes = append(notes, n.Msg) }})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	for _, tbl := range []string{"routes", "interfaces", "addresses", "neighbors", "multicast_groups", "protocol_stats", "socket_summary"} {
		wantRows(t, eng, "SELECT count(*) FROM "+tbl, "0")
	}
	if len(notes) < 7 || !strings.Contains(strings.Join(notes, "\n"), "net/route is missing") {
		t.Errorf("notices: %q", notes)
	}
}

func TestRouteFlagLetters(t *testing.T) {
	for _, c := range []struct {
		rtf  uint32
		v4   string
		v6   string
		name string
	}{
		{rtfUp, "U", "U", "connected"},
		{rtfUp | rtfGateway, "UG", "UG", "via a gateway"},
		{rtfUp | rtfHost, "UH", "UH", "host"},
		{rtfUp | rtfGateway | rtfHost, "UGH", "UGH", "host via gateway"},
		{rtfUp | rtfReject, "!", "U!", "reject"},
		{rtfUp | rtfReject | rtfHost, "!H", "U!H", "reject host"},
		{rtfReject | rtfNoNextHop, "!o", "!n", "IPv6 reject as the kernel stores it"},
		{rtfUp | rtfNoNextHop | rtfLocal, "Uol", "Un", "IPv6 local"},
		{rtfUp | rtfGateway | rtfDefault | rtfAddrConf | rtfExpires, "UGdce", "UGDAe", "RA default router"},
		{rtfUp | rtfDynamic | rtfModified | rtfReinstate, "URDM", "Um", "redirect"},
		{rtfUp | rtfMTU | rtfWindow | rtfIRTT | rtfNotCached, "Uuwin", "U", "metrics set (2.0 kernels)"},
		{rtfCache | rtfUp, "Uc", "UC", "cache"},
		{0, "", "", "none"},
	} {
		if got := RouteFlags4(c.rtf); got != c.v4 {
			t.Errorf("%s: RouteFlags4(%#x) = %q, want %q", c.name, c.rtf, got, c.v4)
		}
		if got := RouteFlags6(c.rtf); got != c.v6 {
			t.Errorf("%s: RouteFlags6(%#x) = %q, want %q", c.name, c.rtf, got, c.v6)
		}
	}
}

func TestRTFOfNetlinkRoutes(t *testing.T) {
	gw4 := mustAddr("192.0.2.1")
	gw6 := mustAddr("fe80::1")
	for _, c := range []struct {
		r    rtnl.Route
		want string
	}{
		{rtnl.Route{Family: unix.AF_INET, Dst: mustPrefix("0.0.0.0/0"), Gateway: gw4, Type: unix.RTN_UNICAST}, "UG"},
		{rtnl.Route{Family: unix.AF_INET, Dst: mustPrefix("10.0.0.0/8"), Type: unix.RTN_UNICAST}, "U"},
		{rtnl.Route{Family: unix.AF_INET, Dst: mustPrefix("10.0.0.1/32"), Type: unix.RTN_LOCAL}, "UH"},
		{rtnl.Route{Family: unix.AF_INET, Dst: mustPrefix("10.1.0.0/16"), Type: unix.RTN_BLACKHOLE}, "U"},
		{rtnl.Route{Family: unix.AF_INET, Dst: mustPrefix("10.2.0.1/32"), Type: unix.RTN_UNREACHABLE}, "!H"},
		{rtnl.Route{Family: unix.AF_INET, Dst: mustPrefix("10.3.0.0/16"), Type: unix.RTN_PROHIBIT}, "!"},
		{rtnl.Route{Family: unix.AF_INET6, Dst: mustPrefix("fd00::/64"), Type: unix.RTN_UNICAST, Protocol: unix.RTPROT_KERNEL}, "U"},
		{rtnl.Route{Family: unix.AF_INET6, Dst: mustPrefix("::/0"), Gateway: gw6, Type: unix.RTN_UNICAST, Protocol: unix.RTPROT_BOOT}, "UG"},
		{rtnl.Route{Family: unix.AF_INET6, Dst: mustPrefix("::/0"), Gateway: gw6, Type: unix.RTN_UNICAST, Protocol: unix.RTPROT_RA, Expires: 150000}, "UGDAe"},
		{rtnl.Route{Family: unix.AF_INET6, Dst: mustPrefix("2001:db8::/64"), Type: unix.RTN_UNICAST, Protocol: unix.RTPROT_RA, Expires: 150000}, "UAe"},
		{rtnl.Route{Family: unix.AF_INET6, Dst: mustPrefix("::1/128"), Type: unix.RTN_LOCAL, Protocol: unix.RTPROT_KERNEL}, "Un"},
		{rtnl.Route{Family: unix.AF_INET6, Dst: mustPrefix("fd00:1::/64"), Type: unix.RTN_BLACKHOLE, Protocol: unix.RTPROT_BOOT}, "!n"},
		{rtnl.Route{Family: unix.AF_INET6, Dst: mustPrefix("ff00::/8"), Type: unix.RTN_MULTICAST, Protocol: unix.RTPROT_KERNEL}, "U"},
	} {
		r := c.r
		var got string
		if r.Family == unix.AF_INET {
			got = RouteFlags4(rtfOf(&r))
		} else {
			got = RouteFlags6(rtfOf(&r))
		}
		if got != c.want {
			t.Errorf("%s %s: flags %q, want %q", r.Dst, rtnl.RouteTypeName(r.Type), got, c.want)
		}
	}
}

func TestInterfaceFlagLetters(t *testing.T) {
	for _, c := range []struct {
		flags uint32
		want  string
	}{
		{unix.IFF_UP | unix.IFF_BROADCAST | unix.IFF_RUNNING | unix.IFF_MULTICAST, "BMRU"},
		{unix.IFF_UP | unix.IFF_LOOPBACK | unix.IFF_RUNNING, "LRU"},
		{unix.IFF_BROADCAST | unix.IFF_NOARP, "BO"},
		{unix.IFF_UP | unix.IFF_POINTOPOINT | unix.IFF_NOARP | unix.IFF_RUNNING | unix.IFF_MULTICAST, "MOPRU"},
		{unix.IFF_UP | unix.IFF_BROADCAST | unix.IFF_PROMISC | unix.IFF_ALLMULTI | unix.IFF_MASTER | unix.IFF_RUNNING | unix.IFF_MULTICAST, "ABMPmRU"},
		{unix.IFF_UP | unix.IFF_SLAVE | unix.IFF_DEBUG | unix.IFF_NOTRAILERS | unix.IFF_DYNAMIC, "DdNsU"},
		{unix.IFF_LOWER_UP | unix.IFF_DORMANT, ""},
		{0, ""},
	} {
		if got := InterfaceFlags(c.flags); got != c.want {
			t.Errorf("InterfaceFlags(%#x) = %q, want %q", c.flags, got, c.want)
		}
	}
}

func TestTableNames(t *testing.T) {
	names := map[uint32]string{254: "main", 255: "local", 100: "customers"}
	for _, c := range []struct {
		in    string
		id    uint32
		known bool
	}{
		{"main", 254, true}, {"customers", 100, true}, {"200", 200, true},
		{"100", 0, false}, // table 100 prints as customers, never as 100
		{"0200", 0, false}, {"nosuch", 0, false},
	} {
		id, ok := tableID(names, c.in)
		if id != c.id || ok != c.known {
			t.Errorf("tableID(%q) = %d, %v; want %d, %v", c.in, id, ok, c.id, c.known)
		}
	}
}

func TestCountersAddUpLikeProcNetDev(t *testing.T) {
	s := rtnl.LinkStats{RxDropped: 1, RxMissedErrors: 2, RxLengthErrors: 1, RxOverErrors: 2, RxCRCErrors: 4, RxFrameErrors: 8,
		RxFIFOErrors: 16, TxCarrierErrors: 1, TxAbortedErrors: 2, TxWindowErrors: 4, TxHeartbeatErrors: 8, TxFIFOErrors: 32}
	c := countersOf(&s)
	if c.rxDropped != 3 || c.rxFrame != 15 || c.rxOver != 16 || c.txCarrier != 15 || c.txOver != 32 {
		t.Errorf("counters %+v", c)
	}
}

func mustAddr(s string) netip.Addr     { return netip.MustParseAddr(s) }
func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func TestRoutePushdown(t *testing.T) {
	src, err := NewSource(fixtureProc, nil)
	if err != nil {
		t.Fatal(err)
	}
	schema := Routes.Schema()
	for _, c := range []struct {
		cons  []Constraint
		fam   int
		table uint32
		none  bool
	}{
		{nil, 0, 0, false},
		{[]Constraint{{"table_id", sqlvtab.OpEQ, int64(100)}}, 0, 100, false},
		{[]Constraint{{"table", sqlvtab.OpEQ, "customers"}, {"family", sqlvtab.OpEQ, "inet"}}, unix.AF_INET, 100, false},
		{[]Constraint{{"table", sqlvtab.OpEQ, "main"}, {"table_id", sqlvtab.OpEQ, int64(100)}}, 0, 0, true},
		{[]Constraint{{"table_id", sqlvtab.OpEQ, 1.5}}, 0, 0, true},
		{[]Constraint{{"table_id", sqlvtab.OpEQ, "100"}}, 0, 0, false}, // text: SQLite's affinity decides
		{[]Constraint{{"family", sqlvtab.OpEQ, "unix"}}, 0, 0, true},
		{[]Constraint{{"family", sqlvtab.OpEQ, "inet"}, {"family", sqlvtab.OpEQ, "inet6"}}, 0, 0, true},
	} {
		q := &Query{schema: &schema, used: allColumns(len(schema.Columns)), Constraints: c.cons}
		rq, err := newRouteQuery(src, q)
		if err != nil {
			t.Fatal(err)
		}
		if rq.none != c.none || !c.none && (rq.family != c.fam || rq.table != c.table) {
			t.Errorf("%v: family %d table %d none %v; want %d %d %v", c.cons, rq.family, rq.table, rq.none, c.fam, c.table, c.none)
		}
	}
}

// Two equalities on one pushed column are ANDed: the row comes back once
// (processes read pid 9058 twice), and two different values match none.
func TestFixtureRepeatedEqualities(t *testing.T) {
	eng, _ := openFixture(t)
	wantRows(t, eng, "SELECT pid FROM processes WHERE pid = 9058 AND pid = '9058'", "9058")
	wantRows(t, eng, "SELECT pid FROM processes WHERE pid = 9058 AND pid = 9058.0 COLLATE NOCASE", "9058")
	wantRows(t, eng, "SELECT count(*) FROM processes WHERE pid = 9058 AND pid = 1", "0")
	wantRows(t, eng, "SELECT count(*) FROM routes WHERE table_id = 254 AND table_id = '254'", "2")
}

// allColumns returns the set of columns 0..n-1.
func allColumns(n int) colSet {
	var s colSet
	for i := 0; i < n; i++ {
		s = s.with(i)
	}
	return s
}
