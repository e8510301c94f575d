package rtnl

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/netsql/netsql/vtab/netlink"
)

// appendAttr appends one rtattr (header, value, padding) to b.
func appendAttr(b []byte, typ uint16, val []byte) []byte { return netlink.AppendAttr(b, typ, val) }

func appendAttrU32(b []byte, typ uint16, v uint32) []byte { return netlink.AppendAttrU32(b, typ, v) }

// exchange sends one request that is not a dump and feeds its answer to
// fn (the netlink core's Conn.Do). The caller holds c.mu.
func (c *Client) exchange(ctx context.Context, typ, flags uint16, body []byte, fn func(m message) error) error {
	if c.conn == nil {
		return ErrClosed
	}
	nl := c.core()
	err := nl.Do(ctx, netlink.NewRequest(typ, flags, body), fn)
	c.dirty = nl.Broken()
	return err
}

// dump runs a dump request through the netlink core, which redoes it from
// scratch (after reset) when the kernel flags it NLM_F_DUMP_INTR or
// messages were lost (ENOBUFS), at most maxAttempts times. Errors are
// wrapped as "rtnl: dump WHAT: ...".
func (c *Client) dump(ctx context.Context, what string, typ uint16, body []byte, reset func(), fn func(m message) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return fmt.Errorf("rtnl: dump %s: %w", what, ErrClosed)
	}
	nl := c.core()
	err := nl.Dump(ctx, netlink.NewRequest(typ, unix.NLM_F_REQUEST|unix.NLM_F_DUMP, body), reset, fn)
	c.dirty = nl.Broken()
	if err != nil {
		return fmt.Errorf("rtnl: dump %s: %w", what, err)
	}
	return nil
}

// LinkFilter selects links. The zero value selects all of them.
type LinkFilter struct {
	Index int    // if non-zero, only this ifindex (a single RTM_GETLINK request)
	Name  string // if non-empty, only this name (a single request when Index is 0)
}

// Links returns the namespace's links. With f.Index or f.Name set it sends
// one RTM_GETLINK request for that link (the kernel does the lookup) and
// returns an empty slice when no such link exists; otherwise it dumps them
// all.
func (c *Client) Links(ctx context.Context, f LinkFilter) ([]Link, error) {
	body := make([]byte, unix.SizeofIfInfomsg)
	body[0] = unix.AF_UNSPEC
	var out []Link
	add := func(m message) error {
		if m.Type != unix.RTM_NEWLINK {
			return nil
		}
		l, err := parseLink(m.Payload)
		if err != nil {
			return err
		}
		if (f.Index == 0 || l.Index == f.Index) && (f.Name == "" || l.Name == f.Name) {
			out = append(out, l)
		}
		return nil
	}
	if f.Index == 0 && f.Name == "" {
		err := c.dump(ctx, "links", unix.RTM_GETLINK, body, func() { out = out[:0] }, add)
		return out, err
	}
	if f.Index < 0 || len(f.Name) >= unix.IFNAMSIZ {
		return nil, nil // no link can match
	}
	ne.PutUint32(body[4:8], uint32(f.Index))
	if f.Index == 0 {
		body = appendAttr(body, unix.IFLA_IFNAME, append([]byte(f.Name), 0))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	err := c.exchange(ctx, unix.RTM_GETLINK, unix.NLM_F_REQUEST, body, add)
	if errors.Is(err, unix.ENODEV) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("rtnl: get link: %w", err)
	}
	return out, nil
}

// AddrFilter selects addresses. The zero value selects all IPv4 and IPv6
// addresses.
type AddrFilter struct {
	Family int // unix.AF_INET, unix.AF_INET6, or 0 for both
	Index  int // if non-zero, only addresses on this ifindex
}

// Addresses dumps IPv4 and IPv6 interface addresses (RTM_GETADDR). The
// family goes into the request; the index too when the kernel does strict
// checking (it then filters), and both are checked again here.
func (c *Client) Addresses(ctx context.Context, f AddrFilter) ([]Address, error) {
	if !wantFamily(f.Family) {
		return nil, nil
	}
	body := make([]byte, unix.SizeofIfAddrmsg)
	body[0] = byte(f.Family)
	if c.strictCheck() && f.Index > 0 {
		ne.PutUint32(body[4:8], uint32(f.Index))
	}
	var out []Address
	err := c.dump(ctx, "addresses", unix.RTM_GETADDR, body, func() { out = out[:0] }, func(m message) error {
		if m.Type != unix.RTM_NEWADDR {
			return nil
		}
		a, err := parseAddress(m.Payload)
		if err != nil {
			return err
		}
		if familyMatch(a.Family, f.Family) && (f.Index == 0 || a.Index == f.Index) {
			out = append(out, a)
		}
		return nil
	})
	return out, err
}

// RouteFilter selects routes. The zero value selects every IPv4 and IPv6
// route in every table.
type RouteFilter struct {
	Family int    // unix.AF_INET, unix.AF_INET6, or 0 for both
	Table  uint32 // if non-zero, only this table (RTA_TABLE)
	OIF    int    // if non-zero, only routes (nexthops) leaving through this ifindex
}

// Routes dumps IPv4 and IPv6 routes of all tables (RTM_GETROUTE), one Route
// per nexthop of a multipath route. When the kernel does strict checking,
// f.Table and f.OIF go into the request (RTA_TABLE, RTA_OIF) and the kernel
// filters; either way they are applied here too. A table or interface that
// does not exist yields no routes, not an error. Cached clones
// (RTM_F_CLONED) are left out.
func (c *Client) Routes(ctx context.Context, f RouteFilter) ([]Route, error) {
	if !wantFamily(f.Family) {
		return nil, nil
	}
	families := []int{unix.AF_INET, unix.AF_INET6}
	if f.Family != 0 {
		families = []int{f.Family}
	}
	strict := c.strictCheck()
	var all []Route
	for _, fam := range families {
		body := make([]byte, unix.SizeofRtMsg)
		body[0] = byte(fam)
		if strict && f.Table != 0 {
			body = appendAttrU32(body, unix.RTA_TABLE, f.Table)
		}
		if strict && f.OIF > 0 {
			body = appendAttrU32(body, unix.RTA_OIF, uint32(f.OIF))
		}
		var got []Route
		err := c.dump(ctx, "routes", unix.RTM_GETROUTE, body, func() { got = got[:0] }, func(m message) error {
			if m.Type != unix.RTM_NEWROUTE {
				return nil
			}
			var err error
			got, err = appendRoutes(got, m.Payload)
			return err
		})
		if err != nil {
			if strict && f.Table != 0 && errors.Is(err, unix.ENOENT) {
				continue // no such table in this family
			}
			if strict && f.OIF > 0 && errors.Is(err, unix.ENODEV) {
				return nil, nil // no such interface
			}
			return nil, err
		}
		for _, r := range got {
			if r.Flags&unix.RTM_F_CLONED != 0 || r.Family != fam {
				continue
			}
			if (f.Table != 0 && r.Table != f.Table) || (f.OIF > 0 && r.OIF != f.OIF) {
				continue
			}
			all = append(all, r)
		}
	}
	return all, nil
}

// NeighFilter selects neighbour entries. The zero value selects all IPv4
// (ARP) and IPv6 (NDP) entries.
type NeighFilter struct {
	Family int // unix.AF_INET, unix.AF_INET6, or 0 for both
	Index  int // if non-zero, only entries on this ifindex
}

// Neighbors dumps the ARP and NDP neighbour tables (RTM_GETNEIGH). Proxy
// entries are not included.
func (c *Client) Neighbors(ctx context.Context, f NeighFilter) ([]Neighbor, error) {
	if !wantFamily(f.Family) {
		return nil, nil
	}
	body := make([]byte, unix.SizeofNdMsg)
	body[0] = byte(f.Family)
	if c.strictCheck() && f.Index > 0 {
		body = appendAttrU32(body, unix.NDA_IFINDEX, uint32(f.Index))
	}
	var out []Neighbor
	err := c.dump(ctx, "neighbours", unix.RTM_GETNEIGH, body, func() { out = out[:0] }, func(m message) error {
		if m.Type != unix.RTM_NEWNEIGH {
			return nil
		}
		n, err := parseNeighbor(m.Payload)
		if err != nil {
			return err
		}
		if familyMatch(n.Family, f.Family) && (f.Index == 0 || n.Index == f.Index) {
			out = append(out, n)
		}
		return nil
	})
	if err != nil && f.Index > 0 && errors.Is(err, unix.ENODEV) {
		return nil, nil
	}
	return out, err
}

func (c *Client) strictCheck() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.strict
}

// wantFamily reports whether a filter family can match anything.
func wantFamily(f int) bool { return f == 0 || f == unix.AF_INET || f == unix.AF_INET6 }

// familyMatch keeps IPv4 and IPv6 entries, of the wanted family if any.
func familyMatch(got, want int) bool {
	if got != unix.AF_INET && got != unix.AF_INET6 {
		return false
	}
	return want == 0 || got == want
}
