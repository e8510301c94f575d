package procstat

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// fixtureRoot is a /proc tree copied from the host behind
// testdata/captures (see testdata/README.md).
const fixtureRoot = "testdata/proc"

// capture returns the lines of a netstat/ss/ip capture.
func capture(t *testing.T, name string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata/captures", name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// counterMap indexes counters by "Protocol.Name".
func counterMap(t *testing.T, cs []Counter) map[string]int64 {
	t.Helper()
	m := make(map[string]int64, len(cs))
	for _, c := range cs {
		k := c.Protocol + "." + c.Name
		if _, dup := m[k]; dup {
			t.Errorf("counter %s appears twice", k)
		}
		m[k] = c.Value
	}
	return m
}

func TestProtocolCountersFixture(t *testing.T) {
	cs, err := ProtocolCounters(fixtureRoot)
	if err != nil {
		t.Fatal(err)
	}
	m := counterMap(t, cs)

	// Exact values from the fixture files themselves.
	want := map[string]int64{
		"Ip.Forwarding":            2,
		"Ip.InReceives":            532921,
		"Ip.OutTransmits":          794167,
		"Icmp.InDestUnreachs":      1,
		"IcmpMsg.InType3":          1,
		"Tcp.MaxConn":              -1,
		"Tcp.RtoMax":               120000,
		"Tcp.ActiveOpens":          41026,
		"Tcp.PassiveOpens":         41005,
		"Tcp.EstabResets":          671,
		"Tcp.CurrEstab":            4,
		"Tcp.InSegs":               532836,
		"Tcp.OutSegs":              794089,
		"Tcp.RetransSegs":          1,
		"Tcp.OutRsts":              1003,
		"Udp.InDatagrams":          87,
		"Udp.OutDatagrams":         88,
		"UdpLite.MemErrors":        0,
		"TcpExt.TW":                41021,
		"TcpExt.PAWSOldAck":        1972,
		"TcpExt.TCPKeepAlive":      404800,
		"TcpExt.TCPAODroppedIcmps": 0,
		"IpExt.InOctets":           84378346,
		"IpExt.InNoECTPkts":        532921,
		"MPTcpExt.WinProbe":        0,
		"Ip6.InReceives":           4,
		"Ip6.OutRequests":          13,
		"Ip6.OutMcastOctets":       672,
		"Icmp6.InErrors":           1,
		"Icmp6.OutType135":         4,
		"Icmp6.OutMLDv2Reports":    4,
		"Udp6.MemErrors":           0,
		"UdpLite6.MemErrors":       0,
	}
	for k, v := range want {
		got, ok := m[k]
		if !ok {
			t.Errorf("%s missing", k)
		} else if got != v {
			t.Errorf("%s = %d, want %d", k, got, v)
		}
	}

	// Protocols come in file order, each in one run.
	var order []string
	for _, c := range cs {
		if len(order) == 0 || order[len(order)-1] != c.Protocol {
			order = append(order, c.Protocol)
		}
	}
	wantOrder := []string{"Ip", "Icmp", "IcmpMsg", "Tcp", "Udp", "UdpLite",
		"TcpExt", "IpExt", "MPTcpExt", "Ip6", "Icmp6", "Udp6", "UdpLite6"}
	if !reflect.DeepEqual(order, wantOrder) {
		t.Errorf("protocol order %v, want %v", order, wantOrder)
	}
	if cs[0] != (Counter{"Ip", "Forwarding", 2}) {
		t.Errorf("first counter %+v", cs[0])
	}
	if last := cs[len(cs)-1]; last != (Counter{"UdpLite6", "MemErrors", 0}) {
		t.Errorf("last counter %+v", last)
	}

	// Every counter of every file is there: count the names in the files.
	n := 0
	for _, f := range []string{"snmp", "netstat"} {
		lines := readLines(t, filepath.Join(fixtureRoot, "net", f))
		for i := 0; i < len(lines); i += 2 {
			n += len(strings.Fields(lines[i])) - 1
		}
	}
	n += len(readLines(t, filepath.Join(fixtureRoot, "net", "snmp6")))
	if len(cs) != n {
		t.Errorf("got %d counters, the files hold %d", len(cs), n)
	}
}

// TestProtocolCountersVsNetstatS checks the "Name: value" lines netstat -s
// prints raw against the fixture. netstat ran just before proc/ was
// copied, so a counter may have grown since, never shrunk; the TCP ones
// did not move.
func TestProtocolCountersVsNetstatS(t *testing.T) {
	cs, err := ProtocolCounters(fixtureRoot)
	if err != nil {
		t.Fatal(err)
	}
	m := counterMap(t, cs)
	check := func(file string) int {
		checked := 0
		section := ""
		kv := regexp.MustCompile(`^ +([A-Za-z0-9]+): (-?\d+)$`)
		for _, line := range capture(t, file) {
			if strings.HasSuffix(line, ":") && !strings.HasPrefix(line, " ") {
				section = strings.TrimSuffix(line, ":")
				continue
			}
			mm := kv.FindStringSubmatch(line)
			if mm == nil {
				continue
			}
			name := mm[1]
			// netstat -s -6 prints snmp6 names whole (Ip6InOctets).
			if strings.HasSuffix(section, "6") {
				name = strings.TrimPrefix(name, section)
			}
			v, _ := strconv.ParseInt(mm[2], 10, 64)
			got, ok := m[section+"."+name]
			switch {
			case !ok:
				t.Errorf("%s: %s.%s not parsed", file, section, name)
			case section == "Tcp" || section == "TcpExt":
				if got != v {
					t.Errorf("%s: %s.%s = %d, netstat -s says %d", file, section, name, got, v)
				}
			case got < v:
				t.Errorf("%s: %s.%s = %d, less than netstat -s's earlier %d", file, section, name, got, v)
			}
			checked++
		}
		return checked
	}
	if n := check("netstat_s.txt"); n < 20 {
		t.Errorf("only %d values checked in netstat_s.txt", n)
	}
	if n := check("extra_netstat_s6.txt"); n < 5 {
		t.Errorf("only %d values checked in extra_netstat_s6.txt", n)
	}
	// Prose lines whose numbers are exact.
	for _, c := range []struct {
		key  string
		line string
	}{
		{"Tcp.ActiveOpens", "    41026 active connection openings"},
		{"Tcp.CurrEstab", "    4 connections established"},
		{"Tcp.OutRsts", "    1003 resets sent"},
		{"TcpExt.TW", "    41021 TCP sockets finished time wait in fast timer"},
	} {
		if !contains(capture(t, "netstat_s.txt"), c.line) {
			t.Fatalf("capture lacks %q", c.line)
		}
		want, _ := strconv.ParseInt(strings.Fields(c.line)[0], 10, 64)
		if m[c.key] != want {
			t.Errorf("%s = %d, netstat -s says %d", c.key, m[c.key], want)
		}
	}
}

func TestProtocolCountersOptionalFiles(t *testing.T) {
	root := t.TempDir()
	copyFile(t, filepath.Join(fixtureRoot, "net/snmp"), filepath.Join(root, "net/snmp"))
	cs, err := ProtocolCounters(root)
	if err != nil {
		t.Fatalf("without netstat and snmp6: %v", err)
	}
	if len(cs) == 0 || cs[len(cs)-1].Protocol != "UdpLite" {
		t.Errorf("got %d counters ending in %+v", len(cs), cs[len(cs)-1])
	}
	_, err = ProtocolCounters(t.TempDir())
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("without snmp: %v, want ErrNotExist", err)
	}
}

func TestSocketSummaryFixture(t *testing.T) {
	s, err := SocketSummary(fixtureRoot)
	if err != nil {
		t.Fatal(err)
	}
	want := Sockstat{
		{"", "sockets", "used", 30},
		{"inet", "TCP", "inuse", 5},
		{"inet", "TCP", "orphan", 0},
		{"inet", "TCP", "tw", 0},
		{"inet", "TCP", "alloc", 9},
		{"inet", "TCP", "mem", 108},
		{"inet", "UDP", "inuse", 3},
		{"inet", "UDP", "mem", 0},
		{"inet", "UDPLITE", "inuse", 0},
		{"inet", "RAW", "inuse", 1},
		{"inet", "FRAG", "inuse", 0},
		{"inet", "FRAG", "memory", 0},
		{"inet6", "TCP", "inuse", 4},
		{"inet6", "UDP", "inuse", 1},
		{"inet6", "UDPLITE", "inuse", 0},
		{"inet6", "RAW", "inuse", 0},
		{"inet6", "FRAG", "inuse", 0},
		{"inet6", "FRAG", "memory", 0},
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("got\n%v\nwant\n%v", s, want)
	}
	if v, ok := s.Value("inet6", "TCP", "inuse"); !ok || v != 4 {
		t.Errorf("Value(inet6 TCP inuse) = %d, %v", v, ok)
	}
	if _, ok := s.Value("inet6", "TCP", "alloc"); ok {
		t.Error("Value(inet6 TCP alloc) found")
	}
}

// TestSocketSummaryVsSsS rebuilds the table of `ss -s` from sockstat: per
// transport the IPv4 and IPv6 in-use counts and their sum.
func TestSocketSummaryVsSsS(t *testing.T) {
	s, err := SocketSummary(fixtureRoot)
	if err != nil {
		t.Fatal(err)
	}
	get := func(fam, proto, name string) int64 {
		v, ok := s.Value(fam, proto, name)
		if !ok {
			t.Fatalf("no %s %s %s", fam, proto, name)
		}
		return v
	}
	var inet4, inet6 int64
	rows := map[string]string{}
	for _, p := range []string{"RAW", "UDP", "TCP"} {
		v4, v6 := get("inet", p, "inuse"), get("inet6", p, "inuse")
		inet4, inet6 = inet4+v4, inet6+v6
		rows[p] = fmt.Sprintf("%s\t  %-9d %-9d %-9d", p, v4+v6, v4, v6)
	}
	rows["INET"] = fmt.Sprintf("INET\t  %-9d %-9d %-9d", inet4+inet6, inet4, inet6)
	f4, f6 := get("inet", "FRAG", "inuse"), get("inet6", "FRAG", "inuse")
	rows["FRAG"] = fmt.Sprintf("FRAG\t  %-9d %-9d %-9d", f4+f6, f4, f6)
	lines := capture(t, "ss_s.txt")
	for _, row := range rows {
		if !contains(lines, row) {
			t.Errorf("ss -s has no line %q", row)
		}
	}
	// "TCP:   9 (estab 4, closed 0, orphaned 0, timewait 0)": estab is
	// snmp's CurrEstab; closed is alloc minus the hashed sockets.
	cs, err := ProtocolCounters(fixtureRoot)
	if err != nil {
		t.Fatal(err)
	}
	alloc := get("inet", "TCP", "alloc")
	tcp := fmt.Sprintf("TCP:   %d (estab %d, closed %d, orphaned %d, timewait %d)",
		alloc, counterMap(t, cs)["Tcp.CurrEstab"],
		alloc-(get("inet", "TCP", "inuse")+get("inet6", "TCP", "inuse")),
		get("inet", "TCP", "orphan"), get("inet", "TCP", "tw"))
	if lines[1] != tcp {
		t.Errorf("ss -s line 2 %q, rebuilt %q", lines[1], tcp)
	}
	// "Total: 32" vs "sockets: used 30": taken a moment apart.
	if lines[0] != "Total: 32" || get("", "sockets", "used") != 30 {
		t.Errorf("Total line %q, sockets used %d", lines[0], get("", "sockets", "used"))
	}
}

// TestMulticastGroupsVsNetstatG renders the groups the way netstat -g does
// ("%-15s %-6d %s") and compares with the capture byte for byte.
func TestMulticastGroupsVsNetstatG(t *testing.T) {
	gs, err := MulticastGroups(fixtureRoot)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, g := range gs {
		got = append(got, fmt.Sprintf("%-15s %-6d %s", g.Interface, g.RefCount, g.Group))
	}
	want := capture(t, "netstat_g.txt")[3:]
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	first := Group{Interface: "lo", Index: 1, Family: "inet", Group: netip.MustParseAddr("224.0.0.1"), RefCount: 1}
	if gs[0] != first {
		t.Errorf("first group %+v, want %+v", gs[0], first)
	}
	mc := Group{Interface: "eth0", Index: 4, Family: "inet", Group: netip.MustParseAddr("239.1.2.3"), RefCount: 1}
	if gs[1] != mc {
		t.Errorf("second group %+v, want %+v", gs[1], mc)
	}
	v6 := Group{Interface: "eth0", Index: 4, Family: "inet6", Group: netip.MustParseAddr("ff02::1:ff00:2"), RefCount: 1}
	if gs[9] != v6 {
		t.Errorf("group 9 %+v, want %+v", gs[9], v6)
	}
}

func TestIgmpRefCountAndBlocks(t *testing.T) {
	in := "Idx\tDevice    : Count Querier\tGroup    Users Timer\tReporter\n" +
		"4\teth0      :     2      V3\n" +
		"\t\t\t\t030201EF     3 1:0000001A\t\t1\n" +
		"\t\t\t\t010000E0     1 0:00000000\t\t0\n" +
		"7\tbr-lan    :     1      V2\n" +
		"\t\t\t\tFB0000E0     2 0:00000000\t\t0\n"
	gs, err := parseIgmp(strings.NewReader(in), "igmp")
	if err != nil {
		t.Fatal(err)
	}
	want := []Group{
		{"eth0", 4, "inet", netip.MustParseAddr("239.1.2.3"), 3},
		{"eth0", 4, "inet", netip.MustParseAddr("224.0.0.1"), 1},
		{"br-lan", 7, "inet", netip.MustParseAddr("224.0.0.251"), 2},
	}
	if !reflect.DeepEqual(gs, want) {
		t.Errorf("got %+v\nwant %+v", gs, want)
	}
}

func TestMulticastGroupsNoIPv6(t *testing.T) {
	root := t.TempDir()
	copyFile(t, filepath.Join(fixtureRoot, "net/igmp"), filepath.Join(root, "net/igmp"))
	gs, err := MulticastGroups(root)
	if err != nil || len(gs) != 3 {
		t.Errorf("got %d groups, %v; want 3 IPv4 groups", len(gs), err)
	}
}

func TestDevCountersFixture(t *testing.T) {
	ds, err := DevCounters(fixtureRoot)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range ds {
		names = append(names, d.Interface)
	}
	if want := []string{"lo", "ifb0", "ifb1", "eth0"}; !reflect.DeepEqual(names, want) {
		t.Errorf("interfaces %v, want %v (file order)", names, want)
	}
	eth0 := DevCounter{Interface: "eth0", RxBytes: 56277203, RxPackets: 3925, TxBytes: 312852, TxPackets: 2999}
	if ds[3] != eth0 {
		t.Errorf("eth0 %+v, want %+v", ds[3], eth0)
	}

	// ip -s link ran just before proc/ was copied: lo was idle, so exact;
	// eth0 carried the capture session, so it may only have grown.
	byName := map[string]DevCounter{}
	for _, d := range ds {
		byName[d.Interface] = d
	}
	lines := capture(t, "ip_s_link.txt")
	ifRe := regexp.MustCompile(`^\d+: ([^:]+):`)
	cur := ""
	for i := 0; i < len(lines); i++ {
		if m := ifRe.FindStringSubmatch(lines[i]); m != nil {
			cur = m[1]
			continue
		}
		rx := strings.HasPrefix(strings.TrimSpace(lines[i]), "RX:")
		tx := strings.HasPrefix(strings.TrimSpace(lines[i]), "TX:")
		if !rx && !tx {
			continue
		}
		i++
		f := strings.Fields(lines[i])
		d := byName[cur]
		// RX: bytes packets errors dropped missed mcast
		// TX: bytes packets errors dropped carrier collsns
		ours := []uint64{d.RxBytes, d.RxPackets, d.RxErrors, d.RxDropped, d.RxFIFO, d.RxMulticast}
		if tx {
			ours = []uint64{d.TxBytes, d.TxPackets, d.TxErrors, d.TxDropped, d.TxCarrier, d.TxCollisions}
		}
		for j, s := range f {
			v, _ := strconv.ParseUint(s, 10, 64)
			if cur == "eth0" && ours[j] < v || cur != "eth0" && ours[j] != v {
				t.Errorf("%s %s column %d: net/dev %d, ip -s link %d", cur, lines[i-1][:8], j, ours[j], v)
			}
		}
	}
	if lo := byName["lo"]; lo.RxPackets != 529008 || lo.RxDropped != 262180 || lo.TxBytes != 28156677 {
		t.Errorf("lo %+v", lo)
	}
}

// routeFlags4 is net-tools' letter set for IPv4 routes (lib/inet_gr.c),
// enough of it for the fixture.
func routeFlags4(f uint32) string {
	s := ""
	for _, x := range []struct {
		bit uint32
		c   string
	}{{0x1, "U"}, {0x2, "G"}, {0x4, "H"}, {0x8, "R"}, {0x10, "D"}, {0x20, "M"}} {
		if f&x.bit != 0 {
			s += x.c
		}
	}
	if f&0x200 != 0 {
		s = "!"
	}
	return s
}

// TestRoutes4VsNetstatRn renders net/route as `netstat -rn` does.
func TestRoutes4VsNetstatRn(t *testing.T) {
	rs, err := Routes4(fixtureRoot)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rs {
		got = append(got, fmt.Sprintf("%-15s %-15s %-15s %-5s %5d %-5d %6d %s",
			r.Destination, r.Gateway, r.Mask, routeFlags4(r.Flags), r.MTU, r.Window, r.IRTT, r.Iface))
	}
	if want := capture(t, "netstat_rn.txt")[2:]; !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if p, ok := rs[1].Prefix(); !ok || p != netip.MustParsePrefix("192.0.2.0/24") {
		t.Errorf("Prefix() = %v, %v", p, ok)
	}
	if p, ok := rs[0].Prefix(); !ok || p != netip.MustParsePrefix("0.0.0.0/0") {
		t.Errorf("default Prefix() = %v, %v", p, ok)
	}
	odd := Route4{Destination: netip.MustParseAddr("10.0.0.0"), Mask: netip.MustParseAddr("255.0.255.0")}
	if _, ok := odd.Prefix(); ok {
		t.Error("non-contiguous mask gave a prefix")
	}
}

func TestRoutes4HexFlags(t *testing.T) {
	in := "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n" +
		"*\t0000000A\t00000000\t0201\t0\t0\t-1\t000000FF\t1440\t0\t0\n" +
		"eth0\t0000000A\t00000000\t0011\t0\t0\t100\t000000FF\t0\t0\t0\n"
	rs, err := parseRoute(strings.NewReader(in), "route")
	if err != nil {
		t.Fatal(err)
	}
	if rs[0].Flags != 0x201 || rs[0].Iface != "*" || rs[0].Metric != -1 || rs[0].MTU != 1440 {
		t.Errorf("reject route %+v", rs[0])
	}
	if rs[1].Flags != 0x11 || rs[1].Destination != netip.MustParseAddr("10.0.0.0") || rs[1].Mask != netip.MustParseAddr("255.0.0.0") {
		t.Errorf("dynamic route %+v", rs[1])
	}
}

// routeFlags6 is net-tools' letter set for IPv6 routes (lib/inet6_gr.c).
func routeFlags6(f uint32) string {
	s := ""
	for _, x := range []struct {
		bit uint32
		c   string
	}{{0x1, "U"}, {0x200, "!"}, {0x2, "G"}, {0x4, "H"}, {0x10000, "D"}, {0x40000, "A"},
		{0x1000000, "C"}, {0x20000, "a"}, {0x400000, "e"}, {0x20, "m"}, {0x200000, "n"}, {0x2000000, "f"}} {
		if f&x.bit != 0 {
			s += x.c
		}
	}
	return s
}

// TestRoutes6VsNetstatRnInet6 renders net/ipv6_route as
// `netstat -rn -A inet6` does.
func TestRoutes6VsNetstatRnInet6(t *testing.T) {
	rs, err := Routes6(fixtureRoot)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rs {
		got = append(got, fmt.Sprintf("%-30s %-26s %-4s %-3d %-1d %6d %s",
			r.Destination, r.NextHop, routeFlags6(r.Flags), int32(r.Metric), r.RefCnt, r.Use, r.Iface))
	}
	if want := capture(t, "netstat_rn_A_inet6.txt")[2:]; !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	last := rs[len(rs)-1]
	if last.Metric != 0xffffffff || last.Flags != 0x00200200 || last.Source != netip.MustParsePrefix("::/0") {
		t.Errorf("reject route %+v", last)
	}
}

func TestRoutes6NoDevice(t *testing.T) {
	line := "20010db8000000000000000000000000 20 00000000000000000000000000000000 00 " +
		"00000000000000000000000000000000 00000400 00000001 00000000 00000201         \n"
	rs, err := parseIPv6Route(strings.NewReader(line), "ipv6_route")
	if err != nil {
		t.Fatal(err)
	}
	if rs[0].Iface != "" || rs[0].Destination != netip.MustParsePrefix("2001:db8::/32") || rs[0].Flags != 0x201 {
		t.Errorf("%+v", rs[0])
	}
}

func TestServicesFixture(t *testing.T) {
	ss, err := Services("testdata/etc/services")
	if err != nil {
		t.Fatal(err)
	}
	if len(ss) != 14 {
		t.Fatalf("got %d services, want 14", len(ss))
	}
	want := map[int]Service{
		0:  {Name: "tcpmux", Port: 1, Protocol: "tcp"},
		3:  {Name: "discard", Port: 9, Protocol: "tcp", Aliases: []string{"sink", "null"}},
		5:  {Name: "ssh", Port: 22, Protocol: "tcp"},
		8:  {Name: "http", Port: 80, Protocol: "tcp", Aliases: []string{"www"}},
		13: {Name: "http-alt", Port: 8080, Protocol: "tcp", Aliases: []string{"webcache"}},
	}
	for i, w := range want {
		if !reflect.DeepEqual(ss[i], w) {
			t.Errorf("entry %d %+v, want %+v", i, ss[i], w)
		}
	}
}

func TestRouteTablesFixture(t *testing.T) {
	m, err := RouteTables("testdata/etc/iproute2/rt_tables")
	if err != nil {
		t.Fatal(err)
	}
	want := map[uint32]string{
		255: "local", 254: "main", 253: "default", 0: "unspec",
		100:  "vpn-renamed", // rt_tables.d/10-override.conf wins over rt_tables
		101:  "isp2",        // 0x65
		10:   "ten",         // "010" is decimal, as in iproute2
		1000: "bigtable",    // 20-extra.conf; README is not *.conf
	}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("got %v\nwant %v", m, want)
	}

	// The first path that exists is used (Debian's /usr/share fallback).
	m, err = RouteTables("/nonexistent/rt_tables", "testdata/etc/iproute2/rt_tables")
	if err != nil || m[101] != "isp2" {
		t.Errorf("fallback path: %v, %v", m, err)
	}

	// Nothing there: the built-ins.
	m, err = RouteTables(filepath.Join(t.TempDir(), "rt_tables"))
	if err != nil || !reflect.DeepEqual(m, builtinRouteTables) {
		t.Errorf("no file: %v, %v", m, err)
	}
	m[1] = "x" // callers own the map: the built-ins must not change
	if _, ok := builtinRouteTables[1]; ok {
		t.Error("RouteTables returned the package's built-in map")
	}
}

// TestMalformed feeds each parser broken input and checks that the error
// names the file and the line and wraps ErrMalformed.
func TestMalformed(t *testing.T) {
	type parser func(io.Reader, string) error
	wrap := func(p func(io.Reader, string) ([]Counter, error)) parser {
		return func(r io.Reader, f string) error { _, err := p(r, f); return err }
	}
	parsers := map[string]parser{
		"snmp":  wrap(parseSnmp),
		"snmp6": wrap(parseSnmp6),
		"sockstat": func(r io.Reader, f string) error {
			_, err := parseSockstat("inet")(r, f)
			return err
		},
		"igmp":       func(r io.Reader, f string) error { _, err := parseIgmp(r, f); return err },
		"igmp6":      func(r io.Reader, f string) error { _, err := parseIgmp6(r, f); return err },
		"dev":        func(r io.Reader, f string) error { _, err := parseDev(r, f); return err },
		"route":      func(r io.Reader, f string) error { _, err := parseRoute(r, f); return err },
		"ipv6_route": func(r io.Reader, f string) error { _, err := parseIPv6Route(r, f); return err },
		"services":   func(r io.Reader, f string) error { _, err := parseServices(r, f); return err },
		"rt_tables":  func(r io.Reader, f string) error { _, err := parseRtTables(r, f); return err },
	}
	snmpOK := "Ip: Forwarding DefaultTTL\nIp: 2 64\n"
	tests := []struct {
		file, name, in string
		line           int
	}{
		{"snmp", "fewer values", snmpOK + "Tcp: A B C\nTcp: 1 2\n", 4},
		{"snmp", "more values", "Tcp: A B\nTcp: 1 2 3\n", 2},
		{"snmp", "header without values", snmpOK + "Udp: A B\n", 3},
		{"snmp", "protocol mismatch", "Tcp: A B\nUdp: 1 2\n", 2},
		{"snmp", "not a number", snmpOK + "Tcp: A B\nTcp: 1 x\n", 4},
		{"snmp", "no colon", snmpOK + "Tcp A B\n", 3},
		{"snmp", "truncated value line", snmpOK + "Tcp: A B\nTc", 4},
		{"snmp6", "one field", "Ip6InReceives 4\nIp6InDelivers\n", 2},
		{"snmp6", "no prefix", "Ip6InReceives 4\nInReceives 4\n", 2},
		{"snmp6", "not a number", "Ip6InReceives 4x\n", 1},
		{"sockstat", "odd pairs", "sockets: used 30\nTCP: inuse 5 orphan\n", 2},
		{"sockstat", "truncated", "sockets: used 30\nTCP:\n", 2},
		{"sockstat", "bad value", "TCP: inuse five\n", 1},
		{"igmp", "group before device", "Idx\tDevice\n\t\t\t\t010000E0     1 0:00000000\t\t0\n", 2},
		{"igmp", "truncated group", "Idx\tDevice\n1\tlo        :     1      V3\n\t\t\t\t010000E0\n", 3},
		{"igmp", "bad address", "Idx\tDevice\n1\tlo        :     1      V3\n\t\t\t\t01000XE0     1\n", 3},
		{"igmp", "device without colon", "Idx\tDevice\n1\tlo\n", 2},
		{"igmp6", "truncated", "1    lo              ff020000000000000000000000000001     1 0000000C 0\n2    ifb0   ff02000000\n", 2},
		{"igmp6", "short address", "1 lo ff02000000000000000000000000001 1 0000000C 0\n", 1},
		{"dev", "truncated", "Inter-|\n face |\n    lo: 28156677  529008    0\n", 3},
		// The kernel ends every line with a newline: a last line without
		// one was cut short, even where what is left still parses.
		{"dev", "last line cut", "Inter-|\n face |\n    lo: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16", 4},
		{"route", "last line cut", "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0", 2},
		{"snmp6", "last line cut", "Ip6InReceives 4\nIp6InDelivers 41", 2},
		{"dev", "no colon", "Inter-|\n face |\n    lo 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n", 3},
		{"dev", "negative", "Inter-|\n face |\n    lo: -1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n", 3},
		{"route", "truncated", "Iface\tDestination\n eth0\t00000000\t010200C0\t0003\n", 2},
		{"route", "bad hex", "Iface\nIface\t0000000G\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n", 2},
		{"ipv6_route", "truncated", "fd000000000000000000000000000000 40 00000000000000000000000000000000 00\n", 1},
		{"ipv6_route", "prefix too long", "fd000000000000000000000000000000 81 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001 eth0\n", 1},
		{"services", "no protocol", "# c\n\nssh 22\n", 3},
		{"services", "port range", "ssh 70000/tcp\n", 1},
		{"services", "name only", "ssh\n", 1},
		{"rt_tables", "bad id", "255 local\nabc main\n", 2},
		{"rt_tables", "three fields", "255 local extra\n", 1},
	}
	for _, tc := range tests {
		t.Run(tc.file+"/"+tc.name, func(t *testing.T) {
			err := parsers[tc.file](strings.NewReader(tc.in), tc.file)
			if err == nil {
				t.Fatal("no error")
			}
			prefix := fmt.Sprintf("procstat: %s line %d: ", tc.file, tc.line)
			if !strings.HasPrefix(err.Error(), prefix) {
				t.Errorf("error %q, want prefix %q", err, prefix)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("error %q does not wrap ErrMalformed", err)
			}
		})
	}
}

func TestErrorsNameTheFile(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "net/snmp"), "Tcp: A B\nTcp: 1\n")
	_, err := ProtocolCounters(root)
	want := fmt.Sprintf("procstat: %s line 2: ", filepath.Join(root, "net/snmp"))
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %v, want prefix %q", err, want)
	}
	_, err = DevCounters(root)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), filepath.Join(root, "net/dev")) {
		t.Errorf("missing net/dev: %v", err)
	}
}

func TestLongLine(t *testing.T) {
	long := "Tcp: " + strings.Repeat("A ", maxLineBytes) + "\n"
	_, err := parseSnmp(strings.NewReader(long), "snmp")
	if err == nil || !strings.HasPrefix(err.Error(), "procstat: snmp line 1: ") {
		t.Errorf("error %v", err)
	}
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		out = append(out, s.Text())
	}
	return out
}

func contains(lines []string, s string) bool {
	for _, l := range lines {
		if l == s {
			return true
		}
	}
	return false
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, to, string(b))
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestEtcLastLineWithoutNewline: files people write (/etc/services,
// rt_tables) may end without a newline; only kernel files may not.
func TestEtcLastLineWithoutNewline(t *testing.T) {
	svc, err := parseServices(strings.NewReader("http 80/tcp"), "services")
	if err != nil || len(svc) != 1 {
		t.Errorf("services: %v, %v; want one entry", svc, err)
	}
	rt, err := parseRtTables(strings.NewReader("100 customers"), "rt_tables")
	if err != nil || len(rt) != 1 {
		t.Errorf("rt_tables: %v, %v; want one entry", rt, err)
	}
}

// Value returns the entry for family, protocol and name, and whether there
// is one.
func (s Sockstat) Value(family, protocol, name string) (int64, bool) {
	for _, e := range s {
		if e.Family == family && e.Protocol == protocol && e.Name == name {
			return e.Value, true
		}
	}
	return 0, false
}
