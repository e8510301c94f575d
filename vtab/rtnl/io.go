package rtnl

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// recvPoll is the socket receive timeout: how often a blocked read wakes up
// to look at its context.
const recvPoll = 250 * time.Millisecond

// appendAttr appends one rtattr (header, value, padding) to b.
func appendAttr(b []byte, typ uint16, val []byte) []byte {
	l := 4 + len(val)
	b = ne.AppendUint16(b, uint16(l))
	b = ne.AppendUint16(b, typ)
	b = append(b, val...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func appendAttrU32(b []byte, typ uint16, v uint32) []byte {
	return appendAttr(b, typ, ne.AppendUint32(nil, v))
}

// buildRequest frames body as one netlink request.
func buildRequest(typ, flags uint16, seq uint32, body []byte) []byte {
	b := make([]byte, 0, unix.SizeofNlMsghdr+len(body))
	b = ne.AppendUint32(b, uint32(unix.SizeofNlMsghdr+len(body)))
	b = ne.AppendUint16(b, typ)
	b = ne.AppendUint16(b, flags)
	b = ne.AppendUint32(b, seq)
	b = ne.AppendUint32(b, 0) // kernel fills in our port id
	return append(b, body...)
}

// recv reads one datagram from the kernel, growing the buffer to fit it.
func (c *sockConn) recv(ctx context.Context) ([]byte, error) {
	if c.buf == nil {
		c.buf = make([]byte, 32<<10)
	}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n, _, err := unix.Recvfrom(c.fd, c.buf, unix.MSG_PEEK|unix.MSG_TRUNC)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN || err == unix.EWOULDBLOCK:
			continue // receive timeout: look at ctx again
		case err != nil:
			return nil, os.NewSyscallError("recvfrom", err)
		}
		if n > len(c.buf) {
			c.buf = make([]byte, align4(n))
		}
		n, from, err := unix.Recvfrom(c.fd, c.buf, 0)
		switch {
		case err == unix.EINTR || err == unix.EAGAIN || err == unix.EWOULDBLOCK:
			continue
		case err != nil:
			return nil, os.NewSyscallError("recvfrom", err)
		}
		if sa, ok := from.(*unix.SockaddrNetlink); ok && sa.Pid != 0 {
			continue // not from the kernel
		}
		return c.buf[:n], nil
	}
}

// send writes one request to the kernel.
func (c *sockConn) send(req []byte) error {
	if err := unix.Sendto(c.fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return os.NewSyscallError("sendto", err)
	}
	return nil
}

// exchange sends one request and feeds each reply message of a data type to
// fn until the reply ends: NLMSG_DONE for a dump, the single answer or an
// NLMSG_ERROR otherwise. intr reports NLM_F_DUMP_INTR on any reply. If the
// reply is abandoned part-way the client is marked for a fresh socket.
func (c *Client) exchange(ctx context.Context, typ, flags uint16, body []byte, fn func(m message) error) (intr bool, err error) {
	if c.conn == nil {
		return false, ErrClosed
	}
	if c.dirty {
		if err := c.reopen(); err != nil {
			return false, err
		}
	}
	c.seq++
	seq := c.seq
	dump := flags&unix.NLM_F_DUMP == unix.NLM_F_DUMP
	req := buildRequest(typ, flags, seq, body)
	if err := c.conn.send(req); err != nil {
		return false, err
	}
	// From here on an early return leaves replies queued on the socket.
	done := false
	defer func() {
		if !done {
			c.dirty = true
		}
	}()
	for {
		b, err := c.conn.recv(ctx)
		if err != nil {
			return intr, err
		}
		msgs, err := splitMessages(b)
		if err != nil {
			return intr, err
		}
		for _, m := range msgs {
			if err := ctx.Err(); err != nil {
				return intr, err
			}
			if m.Seq != seq {
				continue // a late reply to an earlier request
			}
			if m.Flags&unix.NLM_F_DUMP_INTR != 0 {
				intr = true
			}
			switch m.Type {
			case unix.NLMSG_NOOP:
				continue
			case unix.NLMSG_DONE:
				done = true
				return intr, doneError(m.Payload)
			case unix.NLMSG_ERROR:
				done = true
				return intr, errorFromMsg(m.Flags, m.Payload)
			case unix.NLMSG_OVERRUN:
				return intr, errors.New("netlink overrun")
			}
			if err := fn(m); err != nil {
				if !dump {
					done = true
				}
				return intr, err
			}
			if !dump && m.Flags&unix.NLM_F_MULTI == 0 {
				done = true
				return intr, nil
			}
		}
	}
}

// dump runs a dump request, redoing it from scratch (after reset) when the
// kernel flags it NLM_F_DUMP_INTR or the socket overflows with ENOBUFS, at
// most maxAttempts times. Errors are wrapped as "rtnl: dump WHAT: ...".
func (c *Client) dump(ctx context.Context, what string, typ uint16, body []byte, reset func(), fn func(m message) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var last error
	for attempt := 0; attempt < maxAttempts; attempt++ {
		reset()
		intr, err := c.exchange(ctx, typ, unix.NLM_F_REQUEST|unix.NLM_F_DUMP, body, fn)
		switch {
		case err == nil && !intr:
			return nil
		case err == nil:
			last = ErrDumpInterrupted
		case errors.Is(err, unix.ENOBUFS):
			c.dirty = true // messages were lost; start over on a clean socket
			last = err
		default:
			return fmt.Errorf("rtnl: dump %s: %w", what, err)
		}
	}
	return fmt.Errorf("rtnl: dump %s: %w (%d attempts)", what, last, maxAttempts)
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
	_, err := c.exchange(ctx, unix.RTM_GETLINK, unix.NLM_F_REQUEST, body, add)
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
