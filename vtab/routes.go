package vtab

import (
	"context"
	"net/netip"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
	sqlvtab "modernc.org/sqlite/vtab"

	"github.com/netsql/netsql/vtab/rtnl"
)

// routeRecord is one row of the routes table: a route, or one next hop of
// a multipath route.
type routeRecord struct {
	family   int
	dst      netip.Prefix
	gateway  netip.Addr // invalid: none
	src      netip.Addr // invalid: none
	iface    any        // name, or nil
	metric   int64
	rtf      uint32 // RTF_* bits netstat decodes into flags
	netlink  bool   // read through rtnetlink: protocol, scope, metrics... are known
	r        rtnl.Route
	tableID  any // int64, or nil when /proc does not say
	table    any // name, or nil
	typ      any // name, or nil
	advmss   any
	refcnt   any
	use      any
	noMetric bool // /proc's ipv6_route carries no MTU, window or irtt
}

// RTF_* route flags as /proc/net/route and /proc/net/ipv6_route print
// them (linux/route.h, linux/ipv6_route.h) and netstat decodes them.
const (
	rtfUp        = 0x0001
	rtfGateway   = 0x0002
	rtfHost      = 0x0004
	rtfReinstate = 0x0008
	rtfDynamic   = 0x0010
	rtfModified  = 0x0020
	rtfMTU       = 0x0040
	rtfWindow    = 0x0080
	rtfIRTT      = 0x0100
	rtfReject    = 0x0200
	rtfNotCached = 0x0400
	rtfDefault   = 0x00010000
	rtfAllOnLink = 0x00020000
	rtfAddrConf  = 0x00040000
	rtfAnycast   = 0x00100000
	rtfNoNextHop = 0x00200000
	rtfExpires   = 0x00400000
	rtfCache     = 0x01000000
	rtfFlow      = 0x02000000
	rtfPolicy    = 0x04000000
	rtfLocal     = 0x80000000
)

type flagLetter struct {
	bit    uint32
	letter string
}

// inet4FlagLetters is net-tools 2.10's order for `netstat -r` (IPv4);
// RTF_REJECT is handled apart: it replaces what came before it.
var inet4FlagLetters = []flagLetter{
	{rtfHost, "H"}, {rtfReinstate, "R"}, {rtfDynamic, "D"}, {rtfModified, "M"},
	{rtfDefault, "d"}, {rtfAllOnLink, "a"}, {rtfAddrConf, "c"}, {rtfNoNextHop, "o"},
	{rtfExpires, "e"}, {rtfCache, "c"}, {rtfFlow, "f"}, {rtfPolicy, "p"},
	{rtfLocal, "l"}, {rtfMTU, "u"}, {rtfWindow, "w"}, {rtfIRTT, "i"}, {rtfNotCached, "n"},
}

// inet6FlagLetters is net-tools 2.10's order for `netstat -r -A inet6`.
var inet6FlagLetters = []flagLetter{
	{rtfUp, "U"}, {rtfReject, "!"}, {rtfGateway, "G"}, {rtfHost, "H"},
	{rtfDefault, "D"}, {rtfAddrConf, "A"}, {rtfCache, "C"}, {rtfAllOnLink, "a"},
	{rtfExpires, "e"}, {rtfModified, "m"}, {rtfNoNextHop, "n"}, {rtfFlow, "f"},
}

// RouteFlags4 spells IPv4 RTF_* bits as `netstat -r` does: U, G, then !
// for a reject route (replacing U and G), then H, R, D, M and the rarer
// letters, e.g. "UG", "UH", "!H".
func RouteFlags4(rtf uint32) string {
	var b strings.Builder
	if rtf&rtfUp != 0 {
		b.WriteString("U")
	}
	if rtf&rtfGateway != 0 {
		b.WriteString("G")
	}
	if rtf&rtfReject != 0 {
		b.Reset()
		b.WriteString("!")
	}
	for _, f := range inet4FlagLetters {
		if rtf&f.bit != 0 {
			b.WriteString(f.letter)
		}
	}
	return b.String()
}

// RouteFlags6 spells IPv6 RTF_* bits as `netstat -r -A inet6` does: U ! G
// H D A C a e m n f, e.g. "UG", "Un", "!n", "UGDAe".
func RouteFlags6(rtf uint32) string {
	var b strings.Builder
	for _, f := range inet6FlagLetters {
		if rtf&f.bit != 0 {
			b.WriteString(f.letter)
		}
	}
	return b.String()
}

// rtfOf rebuilds the RTF_* bits the kernel would print in /proc/net/route
// or /proc/net/ipv6_route for a route read through rtnetlink, so netsql's
// flags match netstat's.
func rtfOf(r *rtnl.Route) uint32 {
	if r.Family == unix.AF_INET {
		// fib_flag_trans: only unreachable and prohibit are reject routes.
		f := uint32(rtfUp)
		if r.Type == unix.RTN_UNREACHABLE || r.Type == unix.RTN_PROHIBIT {
			f |= rtfReject
		}
		if gatewayFlag4(r.Gateway) {
			f |= rtfGateway
		}
		if r.Dst.Bits() == 32 {
			f |= rtfHost
		}
		return f
	}
	var f uint32
	switch r.Type {
	case unix.RTN_UNREACHABLE, unix.RTN_BLACKHOLE, unix.RTN_PROHIBIT, unix.RTN_THROW:
		// The kernel turns every IPv6 reject route into RTF_REJECT |
		// RTF_NONEXTHOP, without RTF_UP.
		return rtfReject | rtfNoNextHop
	case unix.RTN_LOCAL:
		f |= rtfLocal
	case unix.RTN_ANYCAST:
		f |= rtfAnycast
	}
	f |= rtfUp
	if (r.Type == unix.RTN_LOCAL || r.Type == unix.RTN_ANYCAST) && r.Protocol == unix.RTPROT_KERNEL {
		f |= rtfNoNextHop // addrconf's own address routes
	}
	if r.Gateway.IsValid() {
		f |= rtfGateway
	}
	if r.Protocol == unix.RTPROT_RA {
		f |= rtfAddrConf
		if r.Dst.Bits() == 0 && r.Gateway.IsValid() {
			f |= rtfDefault // the default router an RA announced
		}
	}
	if r.Expires != 0 {
		f |= rtfExpires
	}
	return f
}

// gatewayFlag4 is the kernel's test for RTF_GATEWAY on an IPv4 route
// (fib_flag_trans): the first four bytes of the next hop's gateway are
// not zero, whatever its family, so an IPv6 gateway (RTA_VIA) usually sets
// it, though /proc/net/route prints that gateway as 0.0.0.0.
func gatewayFlag4(g netip.Addr) bool {
	if !g.IsValid() {
		return false
	}
	b := g.AsSlice()
	return b[0]|b[1]|b[2]|b[3] != 0
}

// Routes is the routes table: IPv4 and IPv6 routes of every routing table.
var Routes = &Table[routeRecord]{
	Name:     "routes",
	PerNetNS: true,
	Doc: "IPv4 and IPv6 routes of every routing table (ip route show table all), one row per next hop of a multipath route, read through rtnetlink. " +
		"With --proc, from net/route (IPv4 main table only) and net/ipv6_route (all IPv6 routes, without table, protocol or scope: those are NULL). " +
		"The rows are the same whatever columns a query selects: refcnt and use are joined from net/route and net/ipv6_route; ipv6_route_lines is net/ipv6_route line by line, as netstat -r -A inet6 reads it.",
	Example: "SELECT \"table\", count(*) FROM routes GROUP BY 1 ORDER BY 2 DESC;",
	Columns: []Column[routeRecord]{
		{Name: "family", Type: Text, Push: pushEQ, Values: inetFamilies, Doc: "address family: inet, inet6",
			Value: func(r *routeRecord) any { return afName(r.family) }},
		{Name: "destination", Type: Text, Doc: "destination network address: 0.0.0.0 or :: (with prefix_len 0) for a default route",
			Value: func(r *routeRecord) any { return r.dst.Addr().String() }},
		{Name: "prefix_len", Type: Integer, Doc: "destination prefix length: 0 for a default route, 32 or 128 for a host route",
			Value: func(r *routeRecord) any { return int64(r.dst.Bits()) }},
		{Name: "netmask", Type: Text, Doc: "IPv4 destination mask, dotted (netstat's Genmask); NULL for IPv6",
			Value: func(r *routeRecord) any { return netmask4(r.family, r.dst.Bits()) }},
		{Name: "gateway", Type: Text, Doc: "next-hop router; NULL for a directly connected route (netstat prints 0.0.0.0 or ::)",
			Value: func(r *routeRecord) any { return addrOrNull(r.gateway) }},
		{Name: "source", Type: Text, Cost: CostNetlinkOnly, Doc: "preferred source address (ip route's src); NULL when none",
			Value: func(r *routeRecord) any { return addrOrNull(r.src) }},
		{Name: "interface", Type: Text, Cost: CostLinkNames, Doc: "outgoing interface; NULL when none (blackhole, unreachable)",
			Value: func(r *routeRecord) any { return r.iface }},
		{Name: "metric", Type: Integer, Doc: "route priority: lower wins (ip route's metric, netstat's Metric/Met)",
			Value: func(r *routeRecord) any { return r.metric }},
		{Name: "mtu", Type: Integer, Cost: CostNetlinkOnly, Doc: "path MTU locked on the route; 0 when unset, NULL with --proc",
			Value: func(r *routeRecord) any { return r.nl(int64(r.r.Metrics.MTU)) }},
		{Name: "advmss", Type: Integer, Cost: CostNetlinkOnly, Doc: "advertised TCP MSS; 0 when unset (netstat's MSS column shows advmss+40 when set); NULL for IPv6 with --proc",
			Value: func(r *routeRecord) any { return r.advmss }},
		{Name: "window", Type: Integer, Cost: CostNetlinkOnly, Doc: "TCP window clamp; 0 when unset, NULL for IPv6 with --proc",
			Value: func(r *routeRecord) any { return r.routeMetric(r.r.Metrics.Window) }},
		{Name: "irtt", Type: Integer, Cost: CostNetlinkOnly, Doc: "initial round-trip time in milliseconds (netstat's irtt); 0 when unset, NULL for IPv6 with --proc",
			Value: func(r *routeRecord) any { return r.routeMetric(r.r.Metrics.RTT >> 3) }},
		{Name: "table_id", Type: Integer, Cost: CostNetlinkOnly, Push: pushEQ, Doc: "routing table number: 254 main, 255 local, 253 default; NULL for IPv6 with --proc",
			Value: func(r *routeRecord) any { return r.tableID }},
		{Name: "table", Type: Text, Cost: CostNetlinkOnly | CostEtc, Push: pushEQ, Doc: "routing table name from iproute2's rt_tables (main, local, default...), else the number",
			Value: func(r *routeRecord) any { return r.table }},
		{Name: "protocol", Type: Text, Cost: CostNetlinkOnly, Doc: "who installed the route: kernel, boot, static, dhcp, ra, bird...; NULL with --proc",
			Value: func(r *routeRecord) any { return r.nl(rtnl.ProtocolName(r.r.Protocol)) }},
		{Name: "scope", Type: Text, Cost: CostNetlinkOnly, Doc: "route scope: global, link, host, site, nowhere; NULL with --proc",
			Value: func(r *routeRecord) any { return r.nl(rtnl.ScopeName(r.r.Scope)) }},
		{Name: "type", Type: Text, Doc: "unicast, local, broadcast, multicast, anycast, unreachable, blackhole, prohibit, throw...; with --proc NULL where /proc cannot tell (reject routes)",
			Value: func(r *routeRecord) any { return r.typ }},
		{Name: "flags", Type: Text, Doc: "netstat -r's flag letters: IPv4 U G H R D M, ! for reject (unreachable, prohibit); IPv6 U ! G H D A C a e m n f, e.g. UG, Un, !n",
			Value: func(r *routeRecord) any {
				if r.family == unix.AF_INET6 {
					return RouteFlags6(r.rtf)
				}
				return RouteFlags4(r.rtf)
			}},
		{Name: "weight", Type: Integer, Cost: CostNetlinkOnly, Doc: "weight of this next hop of a multipath route; NULL for a single-path route",
			Value: func(r *routeRecord) any {
				if !r.r.Multipath {
					return nil
				}
				return int64(r.r.Weight)
			}},
		{Name: "hop", Type: Integer, Doc: "position of this next hop among its multipath route's next hops, from 0: hop 0 is the one /proc/net/route and netstat -r show; NULL for a single-path route",
			Value: func(r *routeRecord) any {
				if !r.r.Multipath {
					return nil
				}
				return int64(r.r.Hop)
			}},
		{Name: "pref", Type: Text, Cost: CostNetlinkOnly, Doc: "IPv6 router preference: low, medium, high; NULL when none or with --proc",
			Value: func(r *routeRecord) any {
				if p := r.r.PrefName(); p != "" {
					return p
				}
				return nil
			}},
		{Name: "expires", Type: Real, Cost: CostNetlinkOnly, Doc: "seconds until the route expires (RA-learned routes); NULL when it does not or with --proc",
			Value: func(r *routeRecord) any {
				if r.r.Expires == 0 {
					return nil
				}
				return float64(r.r.Expires) / 100
			}},
		{Name: "refcnt", Type: Integer, Cost: CostProcOnly | CostLinkNames, Doc: "references, as netstat -r's Ref column: only /proc carries it, joined from net/ipv6_route (IPv6) and net/route (IPv4 main table) by destination, gateway, interface and metric; NULL for a route neither file lists",
			Value: func(r *routeRecord) any { return r.refcnt }},
		{Name: "use", Type: Integer, Cost: CostProcOnly | CostLinkNames, Doc: "lookups, as netstat -r's Use column (always 0 on current kernels); joined like refcnt, NULL where it is",
			Value: func(r *routeRecord) any { return r.use }},
		{Name: "netns", Type: Integer, Doc: "inode of the network namespace the route belongs to"},
	},
	Rows: readRoutes,
	Key: func(r *routeRecord) string {
		return rowKey(r.family, r.dst, r.gateway, r.src, r.iface, r.metric, r.tableID, r.typ)
	},
}

// nl returns v for a route read through rtnetlink, NULL for one from /proc.
func (r *routeRecord) nl(v any) any {
	if !r.netlink {
		return nil
	}
	return v
}

// routeMetric returns an RTA_METRICS value, NULL when /proc lacks it.
func (r *routeRecord) routeMetric(v uint32) any {
	if r.noMetric {
		return nil
	}
	return int64(v)
}

// routeQuery is what the pushed-down constraints ask of a routes read.
type routeQuery struct {
	family int
	table  uint32 // 0: every table
	none   bool   // the constraints match no route
	names  map[uint32]string
}

func newRouteQuery(src *Source, q *Query) (*routeQuery, error) {
	rq := &routeQuery{}
	fam, ok := familyFilter(q)
	if !ok {
		return &routeQuery{none: true}, nil
	}
	rq.family = fam
	id, set, ok := intFilter(q, "table_id")
	if !ok || set && (id < 0 || id > 0xffffffff) {
		return &routeQuery{none: true}, nil
	}
	if set {
		rq.table = uint32(id)
	}
	tableNames := q.Values("table", sqlvtab.OpEQ)
	if len(tableNames) > 0 || q.Needs(CostEtc) {
		names, err := src.etc().routeTableNames()
		if err != nil {
			return nil, err
		}
		rq.names = names
	}
	for _, v := range tableNames {
		name, isText := v.(string)
		if !isText {
			continue // a number compared with a TEXT column: let SQLite judge
		}
		tid, known := tableID(rq.names, name)
		if !known || rq.table != 0 && rq.table != tid {
			return &routeQuery{none: true}, nil
		}
		rq.table = tid
	}
	return rq, nil
}

// tableID resolves a table name as the table column prints it: a name
// from rt_tables, or the number of a table without one.
func tableID(names map[uint32]string, name string) (uint32, bool) {
	for id, n := range names {
		if n == name {
			return id, true
		}
	}
	if id, err := strconv.ParseUint(name, 10, 32); err == nil && strconv.FormatUint(id, 10) == name {
		if _, named := names[uint32(id)]; !named {
			return uint32(id), true
		}
	}
	return 0, false
}

func (rq *routeQuery) tableName(id uint32) any {
	if n, ok := rq.names[id]; ok {
		return n
	}
	return strconv.FormatUint(uint64(id), 10)
}

func readRoutes(ctx context.Context, src *Source, q *Query) ([]routeRecord, error) {
	rq, err := newRouteQuery(src, q)
	if err != nil || rq.none {
		return nil, err
	}
	return src.readers().route.routes(ctx, rq, routeWants{names: q.Needs(CostLinkNames), counts: q.Needs(CostProcOnly)})
}
