package rtnl

import (
	"context"
	"errors"
	"net/netip"

	"golang.org/x/sys/unix"
)

// Nexthop is one nexthop object (ip nexthop), as RTM_NEWNEXTHOP describes
// it: a gateway and device, or a group of other nexthop objects.
type Nexthop struct {
	ID        uint32
	Family    int        // unix.AF_INET, unix.AF_INET6; AF_UNSPEC for a group or blackhole
	Gateway   netip.Addr // NHA_GATEWAY; invalid when absent
	OIF       int        // NHA_OIF; 0 when absent
	Blackhole bool       // NHA_BLACKHOLE
	Group     []NexthopMember
}

// NexthopMember is one entry of a nexthop group, in the group's order.
type NexthopMember struct {
	ID     uint32
	Weight int // as ip nexthop prints it: 1 to 65536
}

// sizeofNhmsg is struct nhmsg: family, scope, protocol, resvd, flags.
const sizeofNhmsg = 8

// parseNexthop parses one RTM_NEWNEXTHOP payload.
func parseNexthop(p []byte) (Nexthop, error) {
	if len(p) < sizeofNhmsg {
		return Nexthop{}, malformed("nexthop message of %d bytes", len(p))
	}
	nh := Nexthop{Family: int(p[0])}
	attrs, err := parseAttrs(p[sizeofNhmsg:])
	if err != nil {
		return nh, err
	}
	for _, a := range attrs {
		switch a.Type {
		case unix.NHA_ID:
			nh.ID, _ = u32(a.Value)
		case unix.NHA_GATEWAY:
			nh.Gateway, _ = ipAddr(a.Value)
		case unix.NHA_OIF:
			v, _ := u32(a.Value)
			nh.OIF = int(v)
		case unix.NHA_BLACKHOLE:
			nh.Blackhole = true
		case unix.NHA_GROUP:
			// struct nexthop_grp: u32 id, u8 weight, u8 weight_high, u16 resvd2.
			v := a.Value
			if len(v)%8 != 0 {
				return nh, malformed("NHA_GROUP of %d bytes", len(v))
			}
			for ; len(v) >= 8; v = v[8:] {
				w := int(v[4]) + int(v[5])<<8 + 1
				nh.Group = append(nh.Group, NexthopMember{ID: ne.Uint32(v[0:4]), Weight: w})
			}
		}
	}
	return nh, nil
}

// Nexthops dumps the nexthop objects (RTM_GETNEXTHOP). A kernel without
// them yields none, not an error.
func (c *Client) Nexthops(ctx context.Context) ([]Nexthop, error) {
	var out []Nexthop
	body := make([]byte, sizeofNhmsg)
	err := c.dump(ctx, "nexthops", unix.RTM_GETNEXTHOP, body, func() { out = out[:0] }, func(m message) error {
		if m.Type != unix.RTM_NEWNEXTHOP {
			return nil
		}
		nh, err := parseNexthop(m.Payload)
		if err != nil {
			return err
		}
		out = append(out, nh)
		return nil
	})
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EINVAL) {
		return nil, nil
	}
	return out, err
}

// NeedsNexthops reports whether some route names a nexthop object without
// carrying its next hops: the kernel leaves them out of route dumps when
// net.ipv4.nexthop_compat_mode (or ipv6's) is 0.
func NeedsNexthops(routes []Route) bool {
	for i := range routes {
		if bareNexthopRoute(&routes[i]) {
			return true
		}
	}
	return false
}

func bareNexthopRoute(r *Route) bool {
	return r.NexthopID != 0 && !r.Multipath && r.OIF == 0 && !r.Gateway.IsValid()
}

// ExpandNexthops fills in the next hops of routes that name a nexthop
// object without carrying them (see NeedsNexthops), as the kernel does in
// compatibility mode: a single nexthop's gateway and device, or one Route
// per member of a group, in the group's order, with its weight. Routes
// whose nexthop object is unknown stay as they are.
func ExpandNexthops(routes []Route, nhs []Nexthop) []Route {
	byID := make(map[uint32]*Nexthop, len(nhs))
	for i := range nhs {
		byID[nhs[i].ID] = &nhs[i]
	}
	out := make([]Route, 0, len(routes))
	for _, r := range routes {
		nh := byID[r.NexthopID]
		if !bareNexthopRoute(&r) || nh == nil {
			out = append(out, r)
			continue
		}
		if len(nh.Group) == 0 {
			nh.fill(&r)
			out = append(out, r)
			continue
		}
		for i, m := range nh.Group {
			x := r
			x.Multipath, x.Hop, x.Weight = true, i, m.Weight
			if mem := byID[m.ID]; mem != nil {
				mem.fill(&x)
			}
			out = append(out, x)
		}
	}
	return out
}

// loopbackIndex is the loopback device's ifindex in every namespace.
const loopbackIndex = 1

// fill gives r the next hop of a single nexthop object. A blackhole one
// leaves through the loopback device, as the kernel reports it in
// compatibility mode (and /proc/net/route prints it).
func (nh *Nexthop) fill(r *Route) {
	r.Gateway, r.OIF = nh.Gateway, nh.OIF
	if nh.Blackhole {
		r.OIF = loopbackIndex
	}
}
