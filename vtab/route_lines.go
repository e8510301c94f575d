package vtab

import (
	"context"

	"github.com/netsql/netsql/vtab/procstat"
)

// route6LineRecord is one row of ipv6_route_lines.
type route6LineRecord struct {
	procstat.Route6
}

// IPv6RouteLines is the ipv6_route_lines table: /proc/net/ipv6_route line
// by line, what netstat -r -A inet6 reads. routes lists IPv6 routes as
// rtnetlink (and ip route) does; this file also holds the kernel's own
// reject entries (::/0 !n lo), which no dump lists, and no table ids.
var IPv6RouteLines = &Table[route6LineRecord]{
	Name:     "ipv6_route_lines",
	PerNetNS: true,
	Doc:      "IPv6 routes exactly as /proc/net/ipv6_route lists them (what netstat -r -A inet6 reads), in the kernel's order: every table's routes and the kernel's reject entries (::/0 !n lo), which routes (like ip route) leaves out; no table, protocol or scope.",
	Example:  "SELECT destination || '/' || prefix_len AS dst, gateway, flags, refcnt, interface FROM ipv6_route_lines WHERE flags LIKE 'U%';",
	Columns: []Column[route6LineRecord]{
		{Name: "destination", Type: Text, Doc: "destination network address",
			Value: func(r *route6LineRecord) any { return r.Destination.Addr().String() }},
		{Name: "prefix_len", Type: Integer, Doc: "destination prefix length",
			Value: func(r *route6LineRecord) any { return int64(r.Destination.Bits()) }},
		{Name: "source", Type: Text, Doc: "source prefix of a source-specific route; NULL when :: (any)",
			Value: func(r *route6LineRecord) any {
				if r.Source.Bits() == 0 && r.Source.Addr().IsUnspecified() {
					return nil
				}
				return r.Source.Addr().String()
			}},
		{Name: "source_len", Type: Integer, Doc: "source prefix length; 0 for any",
			Value: func(r *route6LineRecord) any { return int64(r.Source.Bits()) }},
		{Name: "gateway", Type: Text, Doc: "next hop as the line prints it; NULL when :: (directly connected, reject)",
			Value: func(r *route6LineRecord) any {
				if r.NextHop.IsUnspecified() {
					return nil
				}
				return addrOrNull(r.NextHop)
			}},
		{Name: "metric", Type: Integer, Doc: "route priority, unsigned (netstat prints 4294967295 as -1)",
			Value: func(r *route6LineRecord) any { return int64(r.Metric) }},
		{Name: "refcnt", Type: Integer, Doc: "references (netstat's Ref)",
			Value: func(r *route6LineRecord) any { return int64(r.RefCnt) }},
		{Name: "use", Type: Integer, Doc: "lookups (netstat's Use; always 0 on current kernels)",
			Value: func(r *route6LineRecord) any { return int64(r.Use) }},
		{Name: "flags", Type: Text, Doc: "netstat -r -A inet6's flag letters: U ! G H D A C a e m n f, e.g. UG, Un, !n",
			Value: func(r *route6LineRecord) any { return RouteFlags6(r.Flags) }},
		{Name: "flags_value", Type: Integer, Doc: "the RTF_* bits as the line prints them",
			Value: func(r *route6LineRecord) any { return int64(r.Flags) }},
		{Name: "interface", Type: Text, Doc: "device name; NULL when the route has none",
			Value: func(r *route6LineRecord) any { return nullIfEmpty(r.Iface) }},
		{Name: "netns", Type: Integer, Doc: "inode of the network namespace the route belongs to"},
	},
	Rows: readIPv6RouteLines,
}

func readIPv6RouteLines(ctx context.Context, src *Source, _ *Query) ([]route6LineRecord, error) {
	list, err := src.procNet().routes6()
	if err != nil {
		return nil, missingProc(src, "ipv6_route_lines", err)
	}
	recs := make([]route6LineRecord, len(list))
	for i, r := range list {
		recs[i] = route6LineRecord{Route6: r}
	}
	return recs, nil
}
