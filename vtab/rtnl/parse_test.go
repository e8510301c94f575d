package rtnl

import (
	"context"
	"errors"
	"math/rand"
	"net"
	"net/netip"
	"reflect"
	"testing"

	"golang.org/x/sys/unix"
)

// Builders for canned rtnetlink bytes, in host byte order as the kernel
// sends them.

func nlmsg(typ, flags uint16, seq uint32, body []byte) []byte {
	b := ne.AppendUint32(nil, uint32(16+len(body)))
	b = ne.AppendUint16(b, typ)
	b = ne.AppendUint16(b, flags)
	b = ne.AppendUint32(b, seq)
	b = ne.AppendUint32(b, 0)
	b = append(b, body...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func at(typ uint16, val []byte) []byte  { return appendAttr(nil, typ, val) }
func atU32(typ uint16, v uint32) []byte { return at(typ, ne.AppendUint32(nil, v)) }
func atStr(typ uint16, s string) []byte { return at(typ, append([]byte(s), 0)) }
func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}
func ip(s string) []byte { return netip.MustParseAddr(s).AsSlice() }
func mac(s string) []byte {
	m, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}

func ifinfomsg(typ uint16, index int32, flags uint32) []byte {
	b := []byte{unix.AF_UNSPEC, 0}
	b = ne.AppendUint16(b, typ)
	b = ne.AppendUint32(b, uint32(index))
	b = ne.AppendUint32(b, flags)
	return ne.AppendUint32(b, 0)
}

func ifaddrmsg(family, plen, flags, scope uint8, index uint32) []byte {
	return ne.AppendUint32([]byte{family, plen, flags, scope}, index)
}

func rtmsg(family, dstLen, table, proto, scope, typ uint8, flags uint32) []byte {
	return ne.AppendUint32([]byte{family, dstLen, 0, 0, table, proto, scope, typ}, flags)
}

func ndmsg(family uint8, index int32, state uint16, flags, typ uint8) []byte {
	b := []byte{family, 0, 0, 0}
	b = ne.AppendUint32(b, uint32(index))
	b = ne.AppendUint16(b, state)
	return append(b, flags, typ)
}

func rtnexthop(flags, hops uint8, ifindex int32, attrs []byte) []byte {
	b := ne.AppendUint16(nil, uint16(8+len(attrs)))
	b = append(b, flags, hops)
	b = ne.AppendUint32(b, uint32(ifindex))
	return append(b, attrs...)
}

func stats64(vals ...uint64) []byte {
	var b []byte
	for _, v := range vals {
		b = ne.AppendUint64(b, v)
	}
	return b
}

func cannedLink() []byte {
	st := make([]uint64, 25)
	for i := range st {
		st[i] = uint64(1000 + i)
	}
	return nlmsg(unix.RTM_NEWLINK, unix.NLM_F_MULTI, 1, cat(
		ifinfomsg(unix.ARPHRD_ETHER, 7, unix.IFF_UP|unix.IFF_BROADCAST|unix.IFF_MULTICAST|unix.IFF_LOWER_UP),
		atStr(unix.IFLA_IFNAME, "veth0"),
		atU32(unix.IFLA_TXQLEN, 1000),
		at(unix.IFLA_OPERSTATE, []byte{6}),
		atU32(unix.IFLA_MTU, 1500),
		atU32(unix.IFLA_MASTER, 3),
		atU32(unix.IFLA_LINK, 8),
		atStr(unix.IFLA_QDISC, "noqueue"),
		at(unix.IFLA_ADDRESS, mac("02:00:00:00:00:07")),
		at(unix.IFLA_BROADCAST, mac("ff:ff:ff:ff:ff:ff")),
		at(unix.IFLA_STATS64, stats64(st...)),
		at(unix.IFLA_LINKINFO|unix.NLA_F_NESTED, cat(atStr(unix.IFLA_INFO_KIND, "veth"), at(unix.IFLA_INFO_DATA, nil))),
	))
}

func TestParseLinks(t *testing.T) {
	b := cat(cannedLink(), nlmsg(unix.RTM_NEWLINK, unix.NLM_F_MULTI, 1, cat(
		ifinfomsg(0xfffe, 9, unix.IFF_UP|unix.IFF_POINTOPOINT|unix.IFF_NOARP),
		atStr(unix.IFLA_IFNAME, "wg0"),
		at(unix.IFLA_STATS64, stats64(1, 2, 3)), // an old, short layout
	)), nlmsg(unix.NLMSG_DONE, unix.NLM_F_MULTI, 1, []byte{0, 0, 0, 0}))
	links, err := ParseLinks(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(links) != 2 {
		t.Fatalf("got %d links, want 2", len(links))
	}
	l := links[0]
	want := Link{
		Index: 7, Name: "veth0", Flags: unix.IFF_UP | unix.IFF_BROADCAST | unix.IFF_MULTICAST | unix.IFF_LOWER_UP,
		MTU: 1500, MAC: mac("02:00:00:00:00:07"), Broadcast: mac("ff:ff:ff:ff:ff:ff"),
		Type: unix.ARPHRD_ETHER, OperState: 6, MasterIndex: 3, LinkIndex: 8, Kind: "veth",
		TxQueueLen: 1000, Qdisc: "noqueue", HasStats: true,
		Stats: LinkStats{
			RxPackets: 1000, TxPackets: 1001, RxBytes: 1002, TxBytes: 1003, RxErrors: 1004, TxErrors: 1005,
			RxDropped: 1006, TxDropped: 1007, Multicast: 1008, Collisions: 1009,
			RxLengthErrors: 1010, RxOverErrors: 1011, RxCRCErrors: 1012, RxFrameErrors: 1013,
			RxFIFOErrors: 1014, RxMissedErrors: 1015, TxAbortedErrors: 1016, TxCarrierErrors: 1017,
			TxFIFOErrors: 1018, TxHeartbeatErrors: 1019, TxWindowErrors: 1020, RxCompressed: 1021,
			TxCompressed: 1022, RxNoHandler: 1023, RxOtherhostDropped: 1024,
		},
	}
	if !reflect.DeepEqual(l, want) {
		t.Errorf("link:\n got %+v\nwant %+v", l, want)
	}
	if l.TypeName() != "ether" || l.OperStateName() != "UP" {
		t.Errorf("names: %q %q", l.TypeName(), l.OperStateName())
	}
	if got := l.FlagNames(); !reflect.DeepEqual(got, []string{"UP", "BROADCAST", "MULTICAST", "LOWER_UP"}) {
		t.Errorf("flags: %v", got)
	}
	w := links[1]
	if w.Name != "wg0" || w.MAC != nil || w.TypeName() != "none" || w.Kind != "" ||
		w.Stats != (LinkStats{RxPackets: 1, TxPackets: 2, RxBytes: 3}) {
		t.Errorf("wg0: %+v", w)
	}
	for typ, name := range map[uint16]string{772: "loopback", 1: "ether", 65534: "none", 776: "sit", 778: "gre", 823: "gre6", 790: "fcfb3", 4242: "[4242]"} {
		if got := ARPHRDName(typ); got != name {
			t.Errorf("ARPHRDName(%d) = %q, want %q", typ, got, name)
		}
	}
}

func TestParseAddresses(t *testing.T) {
	cacheinfo := cat(ne.AppendUint32(nil, 1800), ne.AppendUint32(nil, 3600), make([]byte, 8))
	forever := cat(ne.AppendUint32(nil, Forever), ne.AppendUint32(nil, Forever), make([]byte, 8))
	b := cat(
		nlmsg(unix.RTM_NEWADDR, unix.NLM_F_MULTI, 2, cat(
			ifaddrmsg(unix.AF_INET, 24, unix.IFA_F_PERMANENT, unix.RT_SCOPE_UNIVERSE, 7),
			at(unix.IFA_ADDRESS, ip("10.1.0.1")), at(unix.IFA_LOCAL, ip("10.1.0.1")),
			at(unix.IFA_BROADCAST, ip("10.1.0.255")), atStr(unix.IFA_LABEL, "veth0"),
			atU32(unix.IFA_FLAGS, unix.IFA_F_PERMANENT), at(unix.IFA_CACHEINFO, forever),
		)),
		// point-to-point: IFA_ADDRESS is the peer
		nlmsg(unix.RTM_NEWADDR, unix.NLM_F_MULTI, 2, cat(
			ifaddrmsg(unix.AF_INET, 32, unix.IFA_F_PERMANENT|unix.IFA_F_SECONDARY, unix.RT_SCOPE_UNIVERSE, 9),
			at(unix.IFA_ADDRESS, ip("10.2.0.2")), at(unix.IFA_LOCAL, ip("10.2.0.1")),
		)),
		// IPv6: ifa_flags is 8 bits, IFA_FLAGS carries the rest
		nlmsg(unix.RTM_NEWADDR, unix.NLM_F_MULTI, 2, cat(
			ifaddrmsg(unix.AF_INET6, 64, unix.IFA_F_NODAD, unix.RT_SCOPE_UNIVERSE, 7),
			at(unix.IFA_ADDRESS, ip("fd00::1")), at(unix.IFA_CACHEINFO, cacheinfo),
			atU32(unix.IFA_FLAGS, unix.IFA_F_NODAD|unix.IFA_F_NOPREFIXROUTE|unix.IFA_F_MANAGETEMPADDR),
		)),
		nlmsg(unix.RTM_NEWADDR, unix.NLM_F_MULTI, 2, cat(
			ifaddrmsg(unix.AF_INET6, 64, unix.IFA_F_PERMANENT, unix.RT_SCOPE_LINK, 7),
			at(unix.IFA_ADDRESS, ip("fe80::1")),
		)),
	)
	addrs, err := ParseAddresses(b)
	if err != nil {
		t.Fatal(err)
	}
	want := []Address{
		{Index: 7, Family: unix.AF_INET, Address: netip.MustParseAddr("10.1.0.1"), PrefixLen: 24,
			Local: netip.MustParseAddr("10.1.0.1"), Broadcast: netip.MustParseAddr("10.1.0.255"),
			Flags: unix.IFA_F_PERMANENT, Label: "veth0", ValidLft: Forever, PreferredLft: Forever, HasCacheInfo: true},
		{Index: 9, Family: unix.AF_INET, Address: netip.MustParseAddr("10.2.0.1"), PrefixLen: 32,
			Local: netip.MustParseAddr("10.2.0.1"), Peer: netip.MustParseAddr("10.2.0.2"),
			Flags: unix.IFA_F_PERMANENT | unix.IFA_F_SECONDARY},
		{Index: 7, Family: unix.AF_INET6, Address: netip.MustParseAddr("fd00::1"), PrefixLen: 64,
			Flags:    unix.IFA_F_NODAD | unix.IFA_F_NOPREFIXROUTE | unix.IFA_F_MANAGETEMPADDR,
			ValidLft: 3600, PreferredLft: 1800, HasCacheInfo: true},
		{Index: 7, Family: unix.AF_INET6, Address: netip.MustParseAddr("fe80::1"), PrefixLen: 64,
			Scope: unix.RT_SCOPE_LINK, Flags: unix.IFA_F_PERMANENT},
	}
	if !reflect.DeepEqual(addrs, want) {
		t.Fatalf("addresses:\n got %+v\nwant %+v", addrs, want)
	}
	if got := addrs[0].Prefix().String(); got != "10.1.0.1/24" {
		t.Errorf("prefix %s", got)
	}
	for i, names := range [][]string{
		{"permanent"},
		{"secondary", "permanent"},
		{"dynamic", "nodad", "mngtmpaddr", "noprefixroute"},
		{"permanent"},
	} {
		if got := addrs[i].FlagNames(); !reflect.DeepEqual(got, names) {
			t.Errorf("addr %d flags %v, want %v", i, got, names)
		}
	}
	if addrs[3].ScopeName() != "link" || addrs[0].ScopeName() != "global" {
		t.Errorf("scopes %q %q", addrs[3].ScopeName(), addrs[0].ScopeName())
	}
}

func TestParseRoutes(t *testing.T) {
	metrics := cat(atU32(unix.RTAX_MTU, 1400), atU32(unix.RTAX_ADVMSS, 1360), atU32(unix.RTAX_HOPLIMIT, 32),
		atU32(unix.RTAX_RTT, 80), atU32(unix.RTAX_WINDOW, 65535), atStr(unix.RTAX_CC_ALGO, "bbr"))
	via := cat(ne.AppendUint16(nil, unix.AF_INET6), ip("fe80::1"))
	b := cat(
		// multipath in table 1000 (rtm_table says RT_TABLE_COMPAT)
		nlmsg(unix.RTM_NEWROUTE, unix.NLM_F_MULTI, 3, cat(
			rtmsg(unix.AF_INET, 24, unix.RT_TABLE_COMPAT, unix.RTPROT_STATIC, unix.RT_SCOPE_UNIVERSE, unix.RTN_UNICAST, 0),
			atU32(unix.RTA_TABLE, 1000), at(unix.RTA_DST, ip("10.12.0.0")), atU32(unix.RTA_PRIORITY, 20),
			at(unix.RTA_METRICS|unix.NLA_F_NESTED, metrics),
			at(unix.RTA_MULTIPATH, cat(
				rtnexthop(0, 0, 5, at(unix.RTA_GATEWAY, ip("10.9.0.1"))),
				rtnexthop(unix.RTNH_F_ONLINK, 2, 6, at(unix.RTA_GATEWAY, ip("10.9.0.3"))),
				rtnexthop(0, 0, 7, at(unix.RTA_VIA, via)),
			)),
		)),
		// default route: no RTA_DST
		nlmsg(unix.RTM_NEWROUTE, unix.NLM_F_MULTI, 3, cat(
			rtmsg(unix.AF_INET, 0, unix.RT_TABLE_MAIN, unix.RTPROT_DHCP, unix.RT_SCOPE_UNIVERSE, unix.RTN_UNICAST, 0),
			atU32(unix.RTA_TABLE, unix.RT_TABLE_MAIN), at(unix.RTA_GATEWAY, ip("192.0.2.1")),
			atU32(unix.RTA_OIF, 4), at(unix.RTA_PREFSRC, ip("192.0.2.2")),
		)),
		// IPv6 blackhole with pref
		nlmsg(unix.RTM_NEWROUTE, unix.NLM_F_MULTI, 3, cat(
			rtmsg(unix.AF_INET6, 48, unix.RT_TABLE_MAIN, unix.RTPROT_BOOT, unix.RT_SCOPE_UNIVERSE, unix.RTN_BLACKHOLE, 0),
			atU32(unix.RTA_TABLE, unix.RT_TABLE_MAIN), at(unix.RTA_DST, ip("fd00:11::")),
			atU32(unix.RTA_PRIORITY, 1024), at(unix.RTA_PREF, []byte{1}),
		)),
		// IPv6 default via a gateway, linkdown
		nlmsg(unix.RTM_NEWROUTE, unix.NLM_F_MULTI, 3, cat(
			rtmsg(unix.AF_INET6, 0, unix.RT_TABLE_MAIN, unix.RTPROT_RA, unix.RT_SCOPE_UNIVERSE, unix.RTN_UNICAST, unix.RTNH_F_LINKDOWN),
			atU32(unix.RTA_TABLE, unix.RT_TABLE_MAIN), at(unix.RTA_GATEWAY, ip("fe80::1")), atU32(unix.RTA_OIF, 4),
			// struct rta_cacheinfo: clntref, lastuse, expires 1799.5 s, error, used
			at(unix.RTA_CACHEINFO, cat(ne.AppendUint32(nil, 0), ne.AppendUint32(nil, 0), ne.AppendUint32(nil, 179950),
				ne.AppendUint32(nil, 0), ne.AppendUint32(nil, 0))),
		)),
	)
	routes, err := ParseRoutes(b)
	if err != nil {
		t.Fatal(err)
	}
	m := RouteMetrics{MTU: 1400, AdvMSS: 1360, HopLimit: 32, RTT: 80, Window: 65535, CCAlgo: "bbr"}
	mp := Route{Family: unix.AF_INET, Dst: netip.MustParsePrefix("10.12.0.0/24"), Table: 1000,
		Protocol: unix.RTPROT_STATIC, Type: unix.RTN_UNICAST, Priority: 20, Metrics: m, Multipath: true}
	r1, r2, r3 := mp, mp, mp
	r1.Gateway, r1.OIF, r1.Weight = netip.MustParseAddr("10.9.0.1"), 5, 1
	r2.Gateway, r2.OIF, r2.Weight, r2.Flags, r2.Hop = netip.MustParseAddr("10.9.0.3"), 6, 3, unix.RTNH_F_ONLINK, 1
	r3.Gateway, r3.OIF, r3.Weight, r3.Via, r3.Hop = netip.MustParseAddr("fe80::1"), 7, 1, true, 2
	want := []Route{r1, r2, r3,
		{Family: unix.AF_INET, Dst: netip.MustParsePrefix("0.0.0.0/0"), Src: netip.MustParseAddr("192.0.2.2"),
			Gateway: netip.MustParseAddr("192.0.2.1"), OIF: 4, Table: unix.RT_TABLE_MAIN, Protocol: unix.RTPROT_DHCP, Type: unix.RTN_UNICAST},
		{Family: unix.AF_INET6, Dst: netip.MustParsePrefix("fd00:11::/48"), Table: unix.RT_TABLE_MAIN,
			Protocol: unix.RTPROT_BOOT, Type: unix.RTN_BLACKHOLE, Priority: 1024, Pref: 1, HasPref: true},
		{Family: unix.AF_INET6, Dst: netip.MustParsePrefix("::/0"), Gateway: netip.MustParseAddr("fe80::1"), OIF: 4,
			Table: unix.RT_TABLE_MAIN, Protocol: unix.RTPROT_RA, Type: unix.RTN_UNICAST, Flags: unix.RTNH_F_LINKDOWN, Expires: 179950},
	}
	if !reflect.DeepEqual(routes, want) {
		t.Fatalf("routes:\n got %+v\nwant %+v", routes, want)
	}
	if r := routes[4]; r.TypeName() != "blackhole" || r.ProtocolName() != "boot" || r.PrefName() != "high" || r.TableName() != "main" {
		t.Errorf("names: %s %s %s %s", r.TypeName(), r.ProtocolName(), r.PrefName(), r.TableName())
	}
	if r := routes[3]; r.ProtocolName() != "dhcp" || r.ScopeName() != "global" || r.PrefName() != "" || r.TableName() != "main" {
		t.Errorf("names: %s %s %q", r.ProtocolName(), r.ScopeName(), r.PrefName())
	}
	if got := routes[5].FlagNames(); !reflect.DeepEqual(got, []string{"linkdown"}) {
		t.Errorf("flags %v", got)
	}
	if routes[0].TableName() != "1000" || ProtocolName(200) != "200" || ProtocolName(unix.RTPROT_KERNEL) != "kernel" {
		t.Errorf("numeric names")
	}
}

func TestParseNeighbors(t *testing.T) {
	b := cat(
		nlmsg(unix.RTM_NEWNEIGH, unix.NLM_F_MULTI, 4, cat(
			ndmsg(unix.AF_INET, 5, unix.NUD_PERMANENT, 0, unix.RTN_UNICAST),
			at(unix.NDA_DST, ip("10.9.0.5")), at(unix.NDA_LLADDR, mac("02:00:00:00:00:05")),
			at(unix.NDA_CACHEINFO, make([]byte, 16)),
		)),
		nlmsg(unix.RTM_NEWNEIGH, unix.NLM_F_MULTI, 4, cat(
			ndmsg(unix.AF_INET6, 5, unix.NUD_STALE, unix.NTF_ROUTER, unix.RTN_UNICAST),
			at(unix.NDA_DST, ip("fe80::1")), at(unix.NDA_LLADDR, mac("02:00:00:00:00:01")),
		)),
		nlmsg(unix.RTM_NEWNEIGH, unix.NLM_F_MULTI, 4, cat(
			ndmsg(unix.AF_INET, 5, unix.NUD_FAILED, 0, unix.RTN_UNICAST),
			at(unix.NDA_DST, ip("10.9.0.7")),
		)),
	)
	ns, err := ParseNeighbors(b)
	if err != nil {
		t.Fatal(err)
	}
	want := []Neighbor{
		{Index: 5, Family: unix.AF_INET, Address: netip.MustParseAddr("10.9.0.5"), MAC: mac("02:00:00:00:00:05"), State: unix.NUD_PERMANENT, Type: unix.RTN_UNICAST},
		{Index: 5, Family: unix.AF_INET6, Address: netip.MustParseAddr("fe80::1"), MAC: mac("02:00:00:00:00:01"), State: unix.NUD_STALE, Flags: unix.NTF_ROUTER, Router: true, Type: unix.RTN_UNICAST},
		{Index: 5, Family: unix.AF_INET, Address: netip.MustParseAddr("10.9.0.7"), State: unix.NUD_FAILED, Type: unix.RTN_UNICAST},
	}
	if !reflect.DeepEqual(ns, want) {
		t.Fatalf("neighbours:\n got %+v\nwant %+v", ns, want)
	}
	if ns[0].StateName() != "PERMANENT" || ns[1].StateName() != "STALE" || ns[2].StateName() != "FAILED" {
		t.Errorf("states %s %s %s", ns[0].StateName(), ns[1].StateName(), ns[2].StateName())
	}
	if got := NUDNames(0); !reflect.DeepEqual(got, []string{"NONE"}) {
		t.Errorf("NUDNames(0) = %v", got)
	}
	if got := NUDNames(unix.NUD_REACHABLE | unix.NUD_NOARP); !reflect.DeepEqual(got, []string{"REACHABLE", "NOARP"}) {
		t.Errorf("NUDNames = %v", got)
	}
}

// errorMsg builds an NLMSG_ERROR carrying errno and an extended-ack text,
// with the request echo capped to its header as NETLINK_CAP_ACK asks.
func errorMsg(seq uint32, errno unix.Errno, text string) []byte {
	body := ne.AppendUint32(nil, negErrno(errno))
	body = append(body, nlmsg(unix.RTM_GETROUTE, unix.NLM_F_REQUEST|unix.NLM_F_DUMP, seq, nil)...)
	flags := uint16(unix.NLM_F_CAPPED)
	if text != "" {
		body = append(body, atStr(unix.NLMSGERR_ATTR_MSG, text)...)
		flags |= unix.NLM_F_ACK_TLVS
	}
	return nlmsg(unix.NLMSG_ERROR, flags, seq, body)
}

func negErrno(e unix.Errno) uint32 {
	v := -int32(e)
	return uint32(v)
}

func TestKernelError(t *testing.T) {
	_, err := ParseRoutes(errorMsg(1, unix.ENOENT, "ipv4: FIB table does not exist"))
	var ke *KernelError
	if !errors.As(err, &ke) || !errors.Is(err, unix.ENOENT) || ke.Msg != "ipv4: FIB table does not exist" {
		t.Fatalf("err = %v", err)
	}
	// An ACK (error 0) is not an error.
	if _, err := ParseRoutes(nlmsg(unix.NLMSG_ERROR, 0, 1, make([]byte, 20))); err != nil {
		t.Fatalf("ack: %v", err)
	}
	if err := doneError(ne.AppendUint32(nil, negErrno(unix.EINTR))); !errors.Is(err, unix.EINTR) {
		t.Fatalf("done error: %v", err)
	}
}

// TestGarbage feeds every truncation of every canned message, corrupted
// lengths and random bytes to every parser: errors, never panics.
func TestGarbage(t *testing.T) {
	parsers := map[string]func([]byte) error{
		"links":  func(b []byte) error { _, err := ParseLinks(b); return err },
		"addrs":  func(b []byte) error { _, err := ParseAddresses(b); return err },
		"routes": func(b []byte) error { _, err := ParseRoutes(b); return err },
		"neighs": func(b []byte) error { _, err := ParseNeighbors(b); return err },
	}
	msgs := cannedMessages()
	for _, m := range msgs {
		for cut := 1; cut < len(m); cut++ {
			for name, p := range parsers {
				if err := p(m[:cut]); err == nil {
					t.Errorf("%s: truncated at %d/%d: no error", name, cut, len(m))
				} else if !errors.Is(err, ErrMalformed) {
					t.Errorf("%s: truncated: error %v does not wrap ErrMalformed", name, err)
				}
			}
		}
	}
	// Consistent nlmsg_len but a short fixed header...
	for typ, name := range map[uint16]string{unix.RTM_NEWLINK: "links", unix.RTM_NEWADDR: "addrs",
		unix.RTM_NEWROUTE: "routes", unix.RTM_NEWNEIGH: "neighs"} {
		if err := parsers[name](nlmsg(typ, 0, 1, []byte{1, 2, 3})); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: short header: %v", name, err)
		}
	}
	// ...or a bad attribute length inside.
	for _, attrs := range [][]byte{
		{0xff, 0x00, 0x03, 0x00}, // length past the end
		{0x02, 0x00, 0x03, 0x00}, // length shorter than the attribute header
		{0x08, 0x00},             // trailing half header
	} {
		if _, err := ParseLinks(nlmsg(unix.RTM_NEWLINK, 0, 1, cat(ifinfomsg(1, 1, 0), attrs))); !errors.Is(err, ErrMalformed) {
			t.Errorf("attrs %x: %v", attrs, err)
		}
	}
	// A multipath attribute with a nexthop length past its end.
	bad := nlmsg(unix.RTM_NEWROUTE, 0, 1, cat(rtmsg(unix.AF_INET, 24, 254, 3, 0, 1, 0),
		at(unix.RTA_DST, ip("10.0.0.0")), at(unix.RTA_MULTIPATH, []byte{0x40, 0, 0, 0, 1, 0, 0, 0})))
	if _, err := ParseRoutes(bad); !errors.Is(err, ErrMalformed) {
		t.Errorf("bad multipath: %v", err)
	}
	// Prefix length longer than the address.
	bad = nlmsg(unix.RTM_NEWROUTE, 0, 1, cat(rtmsg(unix.AF_INET, 40, 254, 3, 0, 1, 0), at(unix.RTA_DST, ip("10.0.0.0"))))
	if _, err := ParseRoutes(bad); !errors.Is(err, ErrMalformed) {
		t.Errorf("bad prefix length: %v", err)
	}
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 20000; i++ {
		b := make([]byte, rng.Intn(200))
		rng.Read(b)
		if len(b) >= 16 && rng.Intn(2) == 0 {
			ne.PutUint32(b, uint32(len(b))) // plausible nlmsg_len so the body is parsed
			ne.PutUint16(b[4:], []uint16{unix.RTM_NEWLINK, unix.RTM_NEWADDR, unix.RTM_NEWROUTE, unix.RTM_NEWNEIGH, unix.NLMSG_ERROR}[rng.Intn(5)])
		}
		for _, p := range parsers {
			p(b)
		}
	}
}

func cannedMessages() [][]byte {
	b := cat(cannedLink())
	return [][]byte{
		b,
		nlmsg(unix.RTM_NEWADDR, 0, 1, cat(ifaddrmsg(unix.AF_INET6, 64, 0, 0, 7), at(unix.IFA_ADDRESS, ip("fd00::1")))),
		nlmsg(unix.RTM_NEWROUTE, 0, 1, cat(rtmsg(unix.AF_INET, 24, 254, 3, 0, 1, 0), at(unix.RTA_DST, ip("10.0.0.0")),
			at(unix.RTA_MULTIPATH, rtnexthop(0, 0, 5, at(unix.RTA_GATEWAY, ip("10.9.0.1")))))),
		nlmsg(unix.RTM_NEWNEIGH, 0, 1, cat(ndmsg(unix.AF_INET, 5, unix.NUD_PERMANENT, 0, 1), at(unix.NDA_DST, ip("10.9.0.5")))),
	}
}

func FuzzParse(f *testing.F) {
	for _, m := range cannedMessages() {
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ParseLinks(b)
		ParseAddresses(b)
		ParseRoutes(b)
		ParseNeighbors(b)
	})
}

// fakeConn replays scripted replies, one slice of datagrams per request,
// stamping each with the request's sequence number.
type fakeConn struct {
	replies [][][]byte // per request: datagrams
	sent    int
	queue   [][]byte
	seq     uint32
	closed  bool
}

func (f *fakeConn) send(req []byte) error {
	f.seq = ne.Uint32(req[8:12])
	if f.sent >= len(f.replies) {
		return errors.New("fake: unexpected request")
	}
	f.queue = f.replies[f.sent]
	f.sent++
	return nil
}

func (f *fakeConn) recv(ctx context.Context) ([]byte, error) {
	if len(f.queue) == 0 {
		return nil, errors.New("fake: nothing queued")
	}
	d := append([]byte(nil), f.queue[0]...)
	f.queue = f.queue[1:]
	if len(d) == 4 {
		return nil, unix.Errno(ne.Uint32(d)) // a scripted recv error
	}
	for off := 0; off+16 <= len(d); off += align4(int(ne.Uint32(d[off:]))) {
		if ne.Uint32(d[off+8:]) == 0 {
			ne.PutUint32(d[off+8:], f.seq)
		}
	}
	return d, nil
}

func (f *fakeConn) close() error { f.closed = true; return nil }

func neighReply(flags uint16, addr string) []byte {
	return nlmsg(unix.RTM_NEWNEIGH, unix.NLM_F_MULTI|flags, 0, cat(
		ndmsg(unix.AF_INET, 5, unix.NUD_PERMANENT, 0, 1), at(unix.NDA_DST, ip(addr))))
}

func done(flags uint16) []byte {
	return nlmsg(unix.NLMSG_DONE, unix.NLM_F_MULTI|flags, 0, []byte{0, 0, 0, 0})
}

func fakeClient(conns ...*fakeConn) *Client {
	i := 0
	c := &Client{conn: conns[0]}
	c.open = func() (transport, bool, error) {
		i++
		return conns[i], false, nil
	}
	return c
}

func TestDumpInterruptedRetry(t *testing.T) {
	fc := &fakeConn{replies: [][][]byte{
		{cat(neighReply(0, "10.0.0.1"), neighReply(unix.NLM_F_DUMP_INTR, "10.0.0.2")), done(unix.NLM_F_DUMP_INTR)},
		{cat(neighReply(0, "10.0.0.1"), neighReply(0, "10.0.0.3"), done(0))},
	}}
	c := fakeClient(fc)
	ns, err := c.Neighbors(context.Background(), NeighFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ns) != 2 || ns[1].Address.String() != "10.0.0.3" || fc.sent != 2 {
		t.Fatalf("got %+v after %d requests", ns, fc.sent)
	}

	// Interrupted every time: an error after maxAttempts.
	intr := [][]byte{cat(neighReply(unix.NLM_F_DUMP_INTR, "10.0.0.1"), done(unix.NLM_F_DUMP_INTR))}
	fc = &fakeConn{replies: [][][]byte{intr, intr, intr}}
	c = fakeClient(fc)
	_, err = c.Neighbors(context.Background(), NeighFilter{})
	if !errors.Is(err, ErrDumpInterrupted) || fc.sent != maxAttempts {
		t.Fatalf("err = %v after %d requests", err, fc.sent)
	}
}

func TestENOBUFSRetryAndStaleReplies(t *testing.T) {
	enobufs := ne.AppendUint32(nil, uint32(unix.ENOBUFS))
	first := &fakeConn{replies: [][][]byte{{neighReply(0, "10.0.0.1"), enobufs}}}
	// The fresh socket first shows a stale reply (wrong seq), then the dump.
	stale := nlmsg(unix.RTM_NEWNEIGH, unix.NLM_F_MULTI, 999, cat(ndmsg(unix.AF_INET, 5, 0x80, 0, 1), at(unix.NDA_DST, ip("10.0.0.9"))))
	second := &fakeConn{replies: [][][]byte{{stale, cat(neighReply(0, "10.0.0.1"), neighReply(0, "10.0.0.2")), done(0)}}}
	c := fakeClient(first, second)
	ns, err := c.Neighbors(context.Background(), NeighFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ns) != 2 || !first.closed {
		t.Fatalf("got %+v, first socket closed=%v", ns, first.closed)
	}
}

func TestKernelErrorWrapped(t *testing.T) {
	fc := &fakeConn{replies: [][][]byte{{errorMsg(0, unix.EINVAL, "Invalid header for neighbor dump request")}}}
	c := fakeClient(fc)
	_, err := c.Neighbors(context.Background(), NeighFilter{})
	if !errors.Is(err, unix.EINVAL) || err.Error() != "rtnl: dump neighbours: invalid argument (Invalid header for neighbor dump request)" {
		t.Fatalf("err = %v", err)
	}
	if c.dirty {
		t.Error("a completed error reply should not mark the socket dirty")
	}
}

func TestContextCancelled(t *testing.T) {
	fc := &fakeConn{replies: [][][]byte{{neighReply(0, "10.0.0.1"), done(0)}}}
	next := &fakeConn{}
	c := fakeClient(fc, next)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Neighbors(ctx, NeighFilter{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if !c.dirty {
		t.Error("an abandoned dump should mark the socket for reopening")
	}
}

func TestClosed(t *testing.T) {
	c := fakeClient(&fakeConn{})
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Links(context.Background(), LinkFilter{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("err = %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}
