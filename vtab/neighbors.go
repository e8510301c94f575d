package vtab

import (
	"context"

	"github.com/netsql/netsql/vtab/rtnl"
)

// neighborRecord is one row of the neighbors table.
type neighborRecord struct {
	n     rtnl.Neighbor
	iface any
	state any
}

// Neighbors is the neighbors table: the ARP (IPv4) and NDP (IPv6) caches.
var Neighbors = &Table[neighborRecord]{
	Name:     "neighbors",
	PerNetNS: true,
	Doc: "The neighbour tables: ARP for IPv4 and NDP for IPv6 (ip neigh show nud all), read through rtnetlink; proxy entries are not listed. " +
		"With --proc only IPv4 entries exist (net/arp, where state is PERMANENT or NULL): asking for family = 'inet6' is an error there.",
	Example: "SELECT address, mac, interface, state FROM neighbors WHERE state NOT IN ('FAILED', 'NOARP') ORDER BY interface, address;",
	Columns: []Column[neighborRecord]{
		{Name: "address", Type: Text, Doc: "the neighbour's IP address",
			Value: func(r *neighborRecord) any { return r.n.Address.String() }},
		{Name: "family", Type: Text, Push: pushEQ, Values: inetFamilies, Doc: "address family: inet (ARP), inet6 (NDP)",
			Value: func(r *neighborRecord) any { return afName(r.n.Family) }},
		{Name: "mac", Type: Text, Doc: "link-layer address; NULL while unresolved",
			Value: func(r *neighborRecord) any { return macText(r.n.MAC) }},
		{Name: "interface", Type: Text, Cost: CostLinkNames, Doc: "interface the neighbour is reached on",
			Value: func(r *neighborRecord) any { return r.iface }},
		{Name: "ifindex", Type: Integer, Push: pushEQ, Doc: "interface index (join to interfaces.index); NULL with --proc",
			Value: func(r *neighborRecord) any {
				if r.n.Index == 0 {
					return nil
				}
				return int64(r.n.Index)
			}},
		{Name: "state", Type: Text, Doc: "NUD state as ip neigh prints it: REACHABLE, STALE, DELAY, PROBE, INCOMPLETE, FAILED, NOARP, PERMANENT, NONE (several joined by commas); with --proc PERMANENT or NULL (net/arp does not say)",
			Value: func(r *neighborRecord) any { return r.state }},
		{Name: "router", Type: Integer, Doc: "1 when the IPv6 neighbour announced itself as a router; always 0 for IPv4",
			Value: func(r *neighborRecord) any {
				if r.n.Router {
					return int64(1)
				}
				return int64(0)
			}},
		{Name: "netns", Type: Integer, Doc: "inode of the network namespace the entry belongs to"},
	},
	Rows: readNeighbors,
	Key:  func(r *neighborRecord) string { return rowKey(r.n.Index, r.n.Address) },
}

func readNeighbors(ctx context.Context, src *Source, q *Query) ([]neighborRecord, error) {
	fam, ok := familyFilter(q)
	if !ok {
		return nil, nil
	}
	idx, set, ok := intFilter(q, "ifindex")
	if !ok || set && idx <= 0 {
		return nil, nil
	}
	return src.readers().neigh.neighbors(ctx, rtnl.NeighFilter{Family: fam, Index: idx}, q.Needs(CostLinkNames))
}
