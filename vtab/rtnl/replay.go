package rtnl

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/netsql/netsql/vtab/netlink"
)

// A Recording holds the kernel's replies to the dumps a Client makes, as
// the kernel sent them: per dump, its messages in order and NLMSG_DONE
// last, keyed by a name (links, addresses, routes4, routes6, neighbors,
// rules4, rules6, nexthops). Record makes one from a live namespace;
// Replay answers a Client's requests from one, so code above a Client
// (the tables) can be tested on the kernel's own bytes without the
// kernel.
type Recording map[string][]byte

// recordedDump is one dump a Recording keeps: its request's type and
// address family, and the request body.
type recordedDump struct {
	name   string
	typ    uint16
	family uint8
	body   func() []byte
}

// recordedDumps are the dumps Record runs, one per request the Client's
// methods send: routes and rules per family (as Routes and Rules ask),
// the others for every family.
var recordedDumps = []recordedDump{
	{"links", unix.RTM_GETLINK, unix.AF_UNSPEC, func() []byte { return make([]byte, unix.SizeofIfInfomsg) }},
	{"addresses", unix.RTM_GETADDR, unix.AF_UNSPEC, func() []byte { return make([]byte, unix.SizeofIfAddrmsg) }},
	{"routes4", unix.RTM_GETROUTE, unix.AF_INET, func() []byte { return familyBody(unix.SizeofRtMsg, unix.AF_INET) }},
	{"routes6", unix.RTM_GETROUTE, unix.AF_INET6, func() []byte { return familyBody(unix.SizeofRtMsg, unix.AF_INET6) }},
	{"neighbors", unix.RTM_GETNEIGH, unix.AF_UNSPEC, func() []byte { return make([]byte, unix.SizeofNdMsg) }},
	{"rules4", unix.RTM_GETRULE, unix.AF_INET, func() []byte { return ruleRequest(unix.AF_INET) }},
	{"rules6", unix.RTM_GETRULE, unix.AF_INET6, func() []byte { return ruleRequest(unix.AF_INET6) }},
	{"nexthops", unix.RTM_GETNEXTHOP, unix.AF_UNSPEC, func() []byte { return make([]byte, sizeofNhmsg) }},
}

func familyBody(size int, family uint8) []byte {
	b := make([]byte, size)
	b[0] = family
	return b
}

// Record runs every dump a Client makes on c and keeps the replies. A
// kernel without nexthop objects leaves nexthops out.
func (c *Client) Record(ctx context.Context) (Recording, error) {
	rec := Recording{}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return nil, fmt.Errorf("rtnl: record: %w", ErrClosed)
	}
	for _, d := range recordedDumps {
		var b []byte
		nl := c.core()
		err := nl.Dump(ctx, netlink.NewRequest(d.typ, unix.NLM_F_REQUEST|unix.NLM_F_DUMP, d.body()), func() { b = b[:0] }, func(m message) error {
			b = netlink.AppendHeader(b, m.Type, m.Flags, len(m.Payload))
			b = append(b, m.Payload...)
			for len(b)%4 != 0 {
				b = append(b, 0)
			}
			return nil
		})
		c.dirty = nl.Broken()
		if d.typ == unix.RTM_GETNEXTHOP && (errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EINVAL)) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("rtnl: record %s: %w", d.name, err)
		}
		b = netlink.AppendHeader(b, unix.NLMSG_DONE, unix.NLM_F_MULTI, 4)
		rec[d.name] = append(b, 0, 0, 0, 0)
	}
	return rec, nil
}

// WriteDir writes each reply of r to DIR/NAME.bin.
func (r Recording) WriteDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("rtnl: write recording: %w", err)
	}
	for name, b := range r {
		if err := os.WriteFile(filepath.Join(dir, name+".bin"), b, 0o644); err != nil {
			return fmt.Errorf("rtnl: write recording: %w", err)
		}
	}
	return nil
}

// ReadRecording reads the replies WriteDir wrote to dir.
func ReadRecording(dir string) (Recording, error) {
	r := Recording{}
	for _, d := range recordedDumps {
		b, err := os.ReadFile(filepath.Join(dir, d.name+".bin"))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("rtnl: read recording: %w", err)
		}
		r[d.name] = b
	}
	if len(r) == 0 {
		return nil, fmt.Errorf("rtnl: read recording: no replies in %s", dir)
	}
	return r, nil
}

// Replay returns a Client whose requests are answered from r: a dump (or
// a single-link request) gets the recorded reply of its type and family,
// or of its type for every family, with its sequence number stamped in,
// and the Client filters the rest itself (as on a kernel without strict
// checking). A request r holds no reply for is answered EOPNOTSUPP.
func Replay(r Recording) *Client {
	t := &replayConn{rec: r}
	return &Client{conn: t, open: func() (transport, bool, error) { return t, false, nil }}
}

// replayConn is a transport that answers from a Recording.
type replayConn struct {
	rec     Recording
	pending []byte
}

func (t *replayConn) send(req []byte) error {
	if len(req) < netlink.HeaderLen {
		return fmt.Errorf("rtnl: replay: request of %d bytes", len(req))
	}
	typ, seq := ne.Uint16(req[4:6]), ne.Uint32(req[8:12])
	var family uint8
	if len(req) > netlink.HeaderLen {
		family = req[netlink.HeaderLen]
	}
	reply, ok := t.reply(typ, family)
	if !ok {
		b := netlink.AppendHeader(nil, unix.NLMSG_ERROR, 0, 4+netlink.HeaderLen)
		errno := -int32(unix.EOPNOTSUPP)
		b = ne.AppendUint32(b, uint32(errno))
		t.pending = stampSeq(append(b, req[:netlink.HeaderLen]...), seq)
		return nil
	}
	t.pending = stampSeq(append([]byte(nil), reply...), seq)
	return nil
}

// reply finds the recorded reply for a request.
func (t *replayConn) reply(typ uint16, family uint8) ([]byte, bool) {
	for _, exact := range []bool{true, false} {
		for _, d := range recordedDumps {
			if d.typ == typ && (d.family == family || !exact) {
				if b, ok := t.rec[d.name]; ok && (exact || d.family == unix.AF_UNSPEC) {
					return b, true
				}
			}
		}
	}
	return nil, false
}

// stampSeq sets the sequence number of every message in b.
func stampSeq(b []byte, seq uint32) []byte {
	for off := 0; off+netlink.HeaderLen <= len(b); {
		n := int(ne.Uint32(b[off : off+4]))
		ne.PutUint32(b[off+8:off+12], seq)
		if n < netlink.HeaderLen {
			break
		}
		off += (n + 3) &^ 3
	}
	return b
}

func (t *replayConn) recv(ctx context.Context) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if t.pending == nil {
		return nil, errors.New("rtnl: replay: no request to answer")
	}
	b := t.pending
	t.pending = nil
	return b, nil
}

func (t *replayConn) close() error { return nil }
