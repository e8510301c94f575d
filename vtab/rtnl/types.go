package rtnl

import (
	"net"
	"net/netip"
	"strconv"

	"golang.org/x/sys/unix"
)

// Link is one network interface as RTM_NEWLINK describes it.
type Link struct {
	Index       int              // ifi_index
	Name        string           // IFLA_IFNAME
	Flags       uint32           // raw IFF_* bits (ifi_flags)
	MTU         uint32           // IFLA_MTU
	MAC         net.HardwareAddr // IFLA_ADDRESS; nil when the link has none
	Broadcast   net.HardwareAddr // IFLA_BROADCAST; nil when the link has none
	Type        uint16           // ARPHRD_* (ifi_type); see TypeName
	OperState   uint8            // IF_OPER_* (IFLA_OPERSTATE); see OperStateName
	MasterIndex int              // IFLA_MASTER; 0 when the link has no master
	LinkIndex   int              // IFLA_LINK (peer or parent ifindex, possibly in another namespace); 0 when absent
	Kind        string           // IFLA_LINKINFO/IFLA_INFO_KIND (veth, bridge, ...); "" for physical links and lo
	TxQueueLen  uint32           // IFLA_TXQLEN
	Qdisc       string           // IFLA_QDISC
	Alias       string           // IFLA_IFALIAS
	HasStats    bool             // whether IFLA_STATS64 was present
	Stats       LinkStats        // IFLA_STATS64 counters (zero when HasStats is false)
}

// LinkStats holds the 64-bit interface counters of struct rtnl_link_stats64.
// Fields the running kernel does not report (older, shorter layouts) are 0.
type LinkStats struct {
	RxPackets          uint64
	TxPackets          uint64
	RxBytes            uint64
	TxBytes            uint64
	RxErrors           uint64
	TxErrors           uint64
	RxDropped          uint64
	TxDropped          uint64
	Multicast          uint64
	Collisions         uint64
	RxLengthErrors     uint64
	RxOverErrors       uint64
	RxCRCErrors        uint64
	RxFrameErrors      uint64
	RxFIFOErrors       uint64
	RxMissedErrors     uint64
	TxAbortedErrors    uint64
	TxCarrierErrors    uint64
	TxFIFOErrors       uint64
	TxHeartbeatErrors  uint64
	TxWindowErrors     uint64
	RxCompressed       uint64
	TxCompressed       uint64
	RxNoHandler        uint64
	RxOtherhostDropped uint64
}

// Up reports whether IFF_UP is set.
func (l *Link) Up() bool { return l.Flags&unix.IFF_UP != 0 }

// TypeName names the link's ARPHRD type like iproute2's link/TYPE.
func (l *Link) TypeName() string { return ARPHRDName(l.Type) }

// OperStateName names the link's operational state like iproute2.
func (l *Link) OperStateName() string { return OperStateName(l.OperState) }

// FlagNames lists the link's IFF_* flags by iproute2 name (UP, LOWER_UP...).
func (l *Link) FlagNames() []string { return LinkFlagNames(l.Flags) }

var arphrdNames = map[uint16]string{
	0: "netrom", 1: "ether", 2: "eether", 3: "ax25", 4: "pronet", 5: "chaos",
	6: "ieee802", 7: "arcnet", 8: "atalk", 15: "dlci", 19: "atm",
	23: "metricom", 24: "ieee1394", 27: "eui64", 32: "infiniband",
	256: "slip", 257: "cslip", 258: "slip6", 259: "cslip6", 260: "rsrvd",
	264: "adapt", 270: "rose", 271: "x25", 272: "hwx25", 280: "can",
	290: "mctp", 512: "ppp", 513: "hdlc", 516: "lapb", 517: "ddcmp",
	518: "rawhdlc", 519: "rawip", 768: "ipip", 769: "tunnel6", 770: "frad",
	771: "skip", 772: "loopback", 773: "ltalk", 774: "fddi", 775: "bif",
	776: "sit", 777: "ip/ddp", 778: "gre", 779: "pimreg", 780: "hippi",
	781: "ash", 782: "econet", 783: "irda", 784: "fcpp", 785: "fcal",
	786: "fcpl", 787: "fcfb0", 800: "tr", 801: "ieee802.11",
	802: "ieee802.11/prism", 803: "ieee802.11/radiotap",
	804: "ieee802.15.4", 805: "ieee802.15.4/monitor", 820: "phonet",
	821: "phonet_pipe", 822: "caif", 823: "gre6", 824: "netlink",
	825: "6lowpan", 826: "vsockmon", 0xfffe: "none", 0xffff: "void",
}

// ARPHRDName names an ARPHRD_* link type the way iproute2 prints it after
// "link/" (ether, loopback, none, ...); unknown types become "[N]".
func ARPHRDName(t uint16) string {
	if s, ok := arphrdNames[t]; ok {
		return s
	}
	if t > 787 && t <= 799 {
		return "fcfb" + strconv.Itoa(int(t)-787)
	}
	return "[" + strconv.Itoa(int(t)) + "]"
}

var operStates = [...]string{"UNKNOWN", "NOTPRESENT", "DOWN", "LOWERLAYERDOWN", "TESTING", "DORMANT", "UP"}

// OperStateName names an IF_OPER_* value (UP, DOWN, UNKNOWN, ...) as
// iproute2 does; out-of-range values become their number.
func OperStateName(s uint8) string {
	if int(s) < len(operStates) {
		return operStates[s]
	}
	return strconv.Itoa(int(s))
}

// bitName names one flag bit.
type bitName[T ~uint16 | ~uint32] struct {
	bit  T
	name string
}

// bitNames lists the names of the bits of v that table names, in table order.
func bitNames[T ~uint16 | ~uint32](v T, table []bitName[T]) []string {
	var out []string
	for _, f := range table {
		if v&f.bit != 0 {
			out = append(out, f.name)
		}
	}
	return out
}

var linkFlagNames = []bitName[uint32]{
	{unix.IFF_UP, "UP"}, {unix.IFF_BROADCAST, "BROADCAST"}, {unix.IFF_DEBUG, "DEBUG"},
	{unix.IFF_LOOPBACK, "LOOPBACK"}, {unix.IFF_POINTOPOINT, "POINTOPOINT"},
	{unix.IFF_NOTRAILERS, "NOTRAILERS"}, {unix.IFF_RUNNING, "RUNNING"},
	{unix.IFF_NOARP, "NOARP"}, {unix.IFF_PROMISC, "PROMISC"}, {unix.IFF_ALLMULTI, "ALLMULTI"},
	{unix.IFF_MASTER, "MASTER"}, {unix.IFF_SLAVE, "SLAVE"}, {unix.IFF_MULTICAST, "MULTICAST"},
	{unix.IFF_PORTSEL, "PORTSEL"}, {unix.IFF_AUTOMEDIA, "AUTOMEDIA"}, {unix.IFF_DYNAMIC, "DYNAMIC"},
	{unix.IFF_LOWER_UP, "LOWER_UP"}, {unix.IFF_DORMANT, "DORMANT"}, {unix.IFF_ECHO, "ECHO"},
}

// LinkFlagNames lists the IFF_* bits set in flags, in bit order, by their
// kernel names without the IFF_ prefix.
func LinkFlagNames(flags uint32) []string {
	return bitNames(flags, linkFlagNames)
}

// Address is one interface address as RTM_NEWADDR describes it.
type Address struct {
	Index        int        // ifa_index
	Family       int        // unix.AF_INET or unix.AF_INET6
	Address      netip.Addr // the interface's own address (IFA_LOCAL, else IFA_ADDRESS)
	PrefixLen    int        // ifa_prefixlen
	Local        netip.Addr // IFA_LOCAL as reported (invalid when absent)
	Peer         netip.Addr // IFA_ADDRESS when it differs from IFA_LOCAL (point-to-point peer); invalid otherwise
	Broadcast    netip.Addr // IFA_BROADCAST (IPv4 only); invalid when absent
	Scope        uint8      // RT_SCOPE_*; see ScopeName
	Flags        uint32     // IFA_F_* (IFA_FLAGS when present, else ifa_flags)
	Label        string     // IFA_LABEL (IPv4 only)
	ValidLft     uint32     // seconds; Forever (0xFFFFFFFF) when permanent
	PreferredLft uint32     // seconds; Forever when permanent
	HasCacheInfo bool       // whether IFA_CACHEINFO was present
}

// Forever is the lifetime value (0xFFFFFFFF) meaning "never expires".
const Forever = 0xFFFFFFFF

// Prefix returns the address with its prefix length, host bits kept
// (10.1.0.1/24, as ip(8) prints it).
func (a *Address) Prefix() netip.Prefix {
	return netip.PrefixFrom(a.Address, a.PrefixLen)
}

// ScopeName names the address scope (global, site, link, host, nowhere).
func (a *Address) ScopeName() string { return ScopeName(a.Scope) }

// FlagNames lists the address flags like iproute2 (see AddrFlagNames).
func (a *Address) FlagNames() []string { return AddrFlagNames(a.Family, a.Flags) }

// ScopeName names an RT_SCOPE_* value as iproute2 does; other values become
// their number.
func ScopeName(s uint8) string {
	switch s {
	case unix.RT_SCOPE_UNIVERSE:
		return "global"
	case unix.RT_SCOPE_SITE:
		return "site"
	case unix.RT_SCOPE_LINK:
		return "link"
	case unix.RT_SCOPE_HOST:
		return "host"
	case unix.RT_SCOPE_NOWHERE:
		return "nowhere"
	}
	return strconv.Itoa(int(s))
}

// AddrFlagNames lists IFA_F_* flags by iproute2 name: bit 0x1 is
// "secondary" for IPv4 and "temporary" for IPv6; "permanent" is listed when
// set and "dynamic" when it is not, as ip(8) prints it.
func AddrFlagNames(family int, flags uint32) []string {
	var out []string
	if flags&unix.IFA_F_SECONDARY != 0 {
		if family == unix.AF_INET6 {
			out = append(out, "temporary")
		} else {
			out = append(out, "secondary")
		}
	}
	if flags&unix.IFA_F_PERMANENT != 0 {
		out = append(out, "permanent")
	} else {
		out = append(out, "dynamic")
	}
	return append(out, bitNames(flags, addrFlagNames)...)
}

var addrFlagNames = []bitName[uint32]{
	{unix.IFA_F_NODAD, "nodad"}, {unix.IFA_F_OPTIMISTIC, "optimistic"},
	{unix.IFA_F_DADFAILED, "dadfailed"}, {unix.IFA_F_HOMEADDRESS, "home"},
	{unix.IFA_F_DEPRECATED, "deprecated"}, {unix.IFA_F_TENTATIVE, "tentative"},
	{unix.IFA_F_MANAGETEMPADDR, "mngtmpaddr"}, {unix.IFA_F_NOPREFIXROUTE, "noprefixroute"},
	{unix.IFA_F_MCAUTOJOIN, "autojoin"}, {unix.IFA_F_STABLE_PRIVACY, "stable-privacy"},
}

// Route is one route, or one nexthop of a multipath route, as RTM_NEWROUTE
// describes it.
type Route struct {
	Family    int          // unix.AF_INET or unix.AF_INET6
	Dst       netip.Prefix // RTA_DST/rtm_dst_len; 0.0.0.0/0 or ::/0 for default
	Src       netip.Addr   // RTA_PREFSRC; invalid when absent
	Gateway   netip.Addr   // RTA_GATEWAY, RTA_VIA, or the nexthop's; invalid when absent
	Via       bool         // Gateway came from RTA_VIA (possibly another family)
	OIF       int          // RTA_OIF or the nexthop's ifindex; 0 when absent
	Table     uint32       // RTA_TABLE (rtm_table when the attribute is absent)
	Protocol  uint8        // RTPROT_*; see ProtocolName
	Scope     uint8        // RT_SCOPE_*; see ScopeName
	Type      uint8        // RTN_*; see TypeName
	Priority  uint32       // RTA_PRIORITY (the metric); 0 when absent
	Flags     uint32       // rtm_flags (RTM_F_*, RTNH_F_*), ORed with the nexthop's RTNH_F_* flags
	Metrics   RouteMetrics // RTA_METRICS
	Pref      uint8        // RTA_PREF (IPv6 router preference); see PrefName
	HasPref   bool         // whether RTA_PREF was present
	NexthopID uint32       // RTA_NH_ID (nexthop object); 0 when absent
	Expires   int32        // RTA_CACHEINFO rta_expires: clock ticks (USER_HZ, 1/100 s) until the route expires; 0 when it does not
	Weight    int          // rtnh_hops+1 for a multipath nexthop; 0 for a single-path route
	Multipath bool         // this row is one nexthop of an RTA_MULTIPATH route
	Hop       int          // this nexthop's position in RTA_MULTIPATH, from 0; 0 for a single-path route
}

// RouteMetrics holds RTA_METRICS (RTAX_*) values in the kernel's units;
// absent metrics are 0.
type RouteMetrics struct {
	Lock             uint32 // RTAX_LOCK bitmask
	MTU              uint32
	Window           uint32
	RTT              uint32 // kernel units (ms << 3)
	RTTVar           uint32 // kernel units (ms << 2)
	SSThresh         uint32
	CWnd             uint32
	AdvMSS           uint32
	Reordering       uint32
	HopLimit         uint32
	InitCWnd         uint32
	Features         uint32
	RTOMin           uint32
	InitRWnd         uint32
	QuickAck         uint32
	CCAlgo           string // RTAX_CC_ALGO
	FastOpenNoCookie uint32
}

// ProtocolName names the route protocol like iproute2.
func (r *Route) ProtocolName() string { return ProtocolName(r.Protocol) }

// ScopeName names the route scope like iproute2.
func (r *Route) ScopeName() string { return ScopeName(r.Scope) }

// TypeName names the route type like iproute2 (unicast, local, ...).
func (r *Route) TypeName() string { return RouteTypeName(r.Type) }

// TableName names the route table like iproute2 (main, local, default, or
// the number).
func (r *Route) TableName() string { return TableName(r.Table) }

// PrefName names the IPv6 route preference (low, medium, high), or "" when
// the route carries none.
func (r *Route) PrefName() string {
	if !r.HasPref {
		return ""
	}
	return PrefName(r.Pref)
}

// FlagNames lists the route's RTNH_F_* and RTM_F_* flags by iproute2 name.
func (r *Route) FlagNames() []string { return RouteFlagNames(r.Flags) }

var protoNames = map[uint8]string{
	0: "unspec", 1: "redirect", 2: "kernel", 3: "boot", 4: "static",
	8: "gated", 9: "ra", 10: "mrt", 11: "zebra", 12: "bird", 13: "dnrouted",
	14: "xorp", 15: "ntk", 16: "dhcp", 18: "keepalived", 42: "babel",
	99: "openr", 186: "bgp", 187: "isis", 188: "ospf", 189: "rip", 192: "eigrp",
}

// ProtocolName names an RTPROT_* value as iproute2's rt_protos does;
// unknown values become their number.
func ProtocolName(p uint8) string {
	if s, ok := protoNames[p]; ok {
		return s
	}
	return strconv.Itoa(int(p))
}

var routeTypeNames = [...]string{"unspec", "unicast", "local", "broadcast", "anycast",
	"multicast", "blackhole", "unreachable", "prohibit", "throw", "nat", "xresolve"}

// RouteTypeName names an RTN_* value as iproute2 does.
func RouteTypeName(t uint8) string {
	if int(t) < len(routeTypeNames) {
		return routeTypeNames[t]
	}
	return strconv.Itoa(int(t))
}

// TableName names a routing table id as iproute2's rt_tables does.
func TableName(t uint32) string {
	switch t {
	case unix.RT_TABLE_UNSPEC:
		return "unspec"
	case unix.RT_TABLE_DEFAULT:
		return "default"
	case unix.RT_TABLE_MAIN:
		return "main"
	case unix.RT_TABLE_LOCAL:
		return "local"
	}
	return strconv.FormatUint(uint64(t), 10)
}

// PrefName names an ICMPV6_ROUTER_PREF_* value.
func PrefName(p uint8) string {
	switch p {
	case 0:
		return "medium"
	case 1:
		return "high"
	case 3:
		return "low"
	}
	return "invalid"
}

var routeFlagNames = []bitName[uint32]{
	{unix.RTNH_F_DEAD, "dead"}, {unix.RTNH_F_PERVASIVE, "pervasive"},
	{unix.RTNH_F_ONLINK, "onlink"}, {unix.RTNH_F_OFFLOAD, "offload"},
	{unix.RTNH_F_LINKDOWN, "linkdown"}, {unix.RTNH_F_UNRESOLVED, "unresolved"},
	{unix.RTNH_F_TRAP, "trap"}, {unix.RTM_F_NOTIFY, "notify"},
	{unix.RTM_F_CLONED, "cloned"}, {unix.RTM_F_EQUALIZE, "equalize"},
	{unix.RTM_F_PREFIX, "prefix"}, {unix.RTM_F_LOOKUP_TABLE, "lookup_table"},
	{unix.RTM_F_FIB_MATCH, "fib_match"}, {unix.RTM_F_OFFLOAD, "rt_offload"},
	{unix.RTM_F_TRAP, "rt_trap"}, {unix.RTM_F_OFFLOAD_FAILED, "rt_offload_failed"},
}

// RouteFlagNames lists RTNH_F_* and RTM_F_* bits by iproute2 name.
func RouteFlagNames(flags uint32) []string {
	return bitNames(flags, routeFlagNames)
}

// Neighbor is one neighbour-table (ARP or NDP) entry as RTM_NEWNEIGH
// describes it.
type Neighbor struct {
	Index   int              // ndm_ifindex
	Family  int              // unix.AF_INET or unix.AF_INET6
	Address netip.Addr       // NDA_DST
	MAC     net.HardwareAddr // NDA_LLADDR; nil when unresolved
	State   uint16           // NUD_* bits; see StateName
	Flags   uint8            // NTF_* (ndm_flags)
	Router  bool             // NTF_ROUTER
	Type    uint8            // ndm_type (RTN_*)
}

var nudNames = []bitName[uint16]{
	{unix.NUD_INCOMPLETE, "INCOMPLETE"}, {unix.NUD_REACHABLE, "REACHABLE"},
	{unix.NUD_STALE, "STALE"}, {unix.NUD_DELAY, "DELAY"}, {unix.NUD_PROBE, "PROBE"},
	{unix.NUD_FAILED, "FAILED"}, {unix.NUD_NOARP, "NOARP"}, {unix.NUD_PERMANENT, "PERMANENT"},
}

// StateNames lists the entry's NUD_* bits like iproute2 (["NONE"] for 0).
func (n *Neighbor) StateNames() []string { return NUDNames(n.State) }

// StateName joins StateNames with "," (usually a single name, e.g. STALE).
func (n *Neighbor) StateName() string {
	s := ""
	for i, v := range n.StateNames() {
		if i > 0 {
			s += ","
		}
		s += v
	}
	return s
}

// NUDNames lists the NUD_* bits set in state by name; 0 is ["NONE"].
func NUDNames(state uint16) []string {
	if state == 0 {
		return []string{"NONE"}
	}
	out := bitNames(state, nudNames)
	if rest := state &^ 0xff; rest != 0 {
		out = append(out, "0x"+strconv.FormatUint(uint64(rest), 16))
	}
	return out
}
