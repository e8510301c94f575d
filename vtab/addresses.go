package vtab

import (
	"context"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/netsql/netsql/vtab/rtnl"
)

// addressRecord is one row of the addresses table.
type addressRecord struct {
	a     rtnl.Address
	iface any
	proc  bool // from net/if_inet6: no lifetimes or label
	// unplaced: an IPv4 address from a /proc tree that does not say
	// which interface holds it (no interface, index or prefix length).
	unplaced bool
}

// Addresses is the addresses table: every IPv4 and IPv6 interface address.
var Addresses = &Table[addressRecord]{
	Name:     "addresses",
	PerNetNS: true,
	Doc: "Every IPv4 and IPv6 address of every interface (ip addr), read through rtnetlink. " +
		"Rows come IPv4 first, in the kernel's order (an interface's primary address before its secondaries), then IPv6 in net/if_inet6's order (ifconfig's). " +
		"With --proc, IPv6 addresses come from net/if_inet6 and IPv4 ones are rebuilt from net/fib_trie and net/route (prefix, device and, where the files show it, broadcast; no label, flags or peer): an address the files do not place on an interface (point-to-point, on a down interface, a /32 without a prefix route) has NULL interface, ifindex and prefix_len (a notice names them), and a local route added to the local table by hand looks like an address; without net/fib_trie, asking for family = 'inet' is an error and otherwise the IPv4 rows are missing (a notice says so).",
	Example: "SELECT interface, address || '/' || prefix_len AS cidr, flags FROM addresses WHERE scope = 'global' ORDER BY interface;",
	Columns: []Column[addressRecord]{
		{Name: "interface", Type: Text, Cost: CostLinkNames, Doc: "interface name; NULL with --proc for an IPv4 address the files do not place",
			Value: func(r *addressRecord) any { return r.iface }},
		{Name: "ifindex", Type: Integer, Push: pushEQ, Doc: "interface index (join to interfaces.index); NULL when unknown (--proc)",
			Value: func(r *addressRecord) any { return nullIfZero(uint64(r.a.Index)) }},
		{Name: "family", Type: Text, Push: pushEQ, Values: inetFamilies, Doc: "address family: inet, inet6",
			Value: func(r *addressRecord) any { return afName(r.a.Family) }},
		{Name: "address", Type: Text, Doc: "the interface's own address",
			Value: func(r *addressRecord) any { return r.a.Address.String() }},
		{Name: "prefix_len", Type: Integer, Doc: "prefix length of the attached network; NULL with --proc where the interface is",
			Value: func(r *addressRecord) any {
				if r.unplaced {
					return nil
				}
				return int64(r.a.PrefixLen)
			}},
		{Name: "netmask", Type: Text, Doc: "IPv4 netmask, dotted (ifconfig's netmask); NULL for IPv6 and where prefix_len is",
			Value: func(r *addressRecord) any {
				if r.unplaced {
					return nil
				}
				return netmask4(r.a.Family, r.a.PrefixLen)
			}},
		{Name: "broadcast", Type: Text, Doc: "IPv4 broadcast address; NULL when none, and with --proc when it would be the network's last address (the kernel routes that one as broadcast either way, so /proc cannot tell; a notice says so)",
			Value: func(r *addressRecord) any { return addrOrNull(r.a.Broadcast) }},
		{Name: "peer", Type: Text, Doc: "the far end of a point-to-point address; NULL otherwise, and always with --proc (no file holds it)",
			Value: func(r *addressRecord) any { return addrOrNull(r.a.Peer) }},
		{Name: "scope", Type: Text, Doc: "global, link, host, site",
			Value: func(r *addressRecord) any { return r.a.ScopeName() }},
		{Name: "flags", Type: Text, Doc: "ip addr's flags, comma-separated: permanent or dynamic, then secondary/temporary, nodad, optimistic, dadfailed, deprecated, tentative, mngtmpaddr, noprefixroute...",
			Value: func(r *addressRecord) any { return strings.Join(r.a.FlagNames(), ",") }},
		{Name: "label", Type: Text, Doc: "IPv4 address label (eth0:1); NULL for IPv6 and with --proc",
			Value: func(r *addressRecord) any { return nullIfEmpty(r.a.Label) }},
		{Name: "valid_lft", Type: Integer, Doc: "seconds the address stays valid; NULL for forever (and with --proc)",
			Value: func(r *addressRecord) any { return r.lifetime(r.a.ValidLft) }},
		{Name: "preferred_lft", Type: Integer, Doc: "seconds the address stays preferred; NULL for forever (and with --proc)",
			Value: func(r *addressRecord) any { return r.lifetime(r.a.PreferredLft) }},
		{Name: "netns", Type: Integer, Doc: "inode of the network namespace the address lives in"},
	},
	Rows: readAddresses,
	Key:  func(r *addressRecord) string { return rowKey(r.a.Index, r.a.Address, r.a.PrefixLen, r.a.Peer) },
}

func (r *addressRecord) lifetime(v uint32) any {
	if r.proc || v == rtnl.Forever {
		return nil
	}
	return int64(v)
}

func readAddresses(ctx context.Context, src *Source, q *Query) ([]addressRecord, error) {
	fam, ok := familyFilter(q)
	if !ok {
		return nil, nil
	}
	idx, set, ok := intFilter(q, "ifindex")
	if !ok || set && idx <= 0 {
		return nil, nil
	}
	return src.readers().addr.addresses(ctx, rtnl.AddrFilter{Family: fam, Index: idx}, q.Needs(CostLinkNames))
}

// if_inet6 scope classes (IFA_HOST, IFA_LINK, IFA_SITE) as RT_SCOPE_*.
var inet6Scopes = map[uint8]uint8{
	0x00: unix.RT_SCOPE_UNIVERSE, 0x10: unix.RT_SCOPE_HOST,
	0x20: unix.RT_SCOPE_LINK, 0x40: unix.RT_SCOPE_SITE,
}
