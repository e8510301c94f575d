package vtab

import (
	"context"
	"errors"
	"fmt"

	"github.com/netsql/netsql/vtab/sock"
	"github.com/netsql/netsql/vtab/sockdiag"
)

// socketPacker is a socket reader that can keep a dump as the kernel's
// reply bytes (sockdiag.Reader.Messages).
type socketPacker interface {
	Messages(ctx context.Context, req sock.Request) (*sockdiag.Messages, error)
}

// socketPackerWithFallback is a socket reader that keeps what netlink
// dumps as reply bytes, and reads what it cannot dump from /proc/net.
type socketPackerWithFallback interface {
	messages(ctx context.Context, req sock.Request) (*sockdiag.Messages, []sock.Socket, error)
}

// messages is Sockets kept compact: the sockets netlink dumps as reply
// bytes, and those of a dump whose handler the kernel lacks read from
// /proc/net, as Sockets does. It returns nothing and no error when
// netlink is refused (or was): the caller reads the sockets with
// Sockets, which falls back to /proc/net and says so.
func (f *fallbackReader) messages(ctx context.Context, req sock.Request) (*sockdiag.Messages, []sock.Socket, error) {
	f.mu.Lock()
	refused := f.refused
	f.mu.Unlock()
	p, ok := f.primary.(socketPacker)
	if refused || !ok {
		return nil, nil, nil
	}
	m, err := p.Messages(ctx, req)
	var partial *sockdiag.UnavailableError
	switch {
	case err == nil:
		return m, nil, nil
	case errors.As(err, &partial) && len(partial.Missing) > 0:
		// A dump without its handler (raw_diag is often missing): its
		// sockets come from /proc/net, as Sockets reads them.
		var more []sock.Socket
		for _, missing := range partial.Missing {
			socks, err := f.fallback.Sockets(ctx, missing)
			if err != nil {
				return nil, nil, err
			}
			more = append(more, socks...)
		}
		return m, more, nil
	case errors.Is(err, sockdiag.ErrUnavailable):
		return nil, nil, nil
	}
	return nil, nil, err
}

// packedSockets is the sockets table's compact snapshot (Table.Pack):
// the sock_diag replies of the sockets, plus what every row shares
// (socketAttach). A socket costs its reply's bytes, where a record costs
// the parsed socket, its owner and a row key.
type packedSockets struct {
	msgs *sockdiag.Messages
	more []sock.Socket // after msgs: those /proc/net gave
	a    *socketAttach
}

func (p *packedSockets) Len() int { return p.msgs.Len() + len(p.more) }

// socket decodes socket i.
func (p *packedSockets) socket(i int) sock.Socket {
	if n := p.msgs.Len(); i >= n {
		return p.more[i-n]
	}
	return p.msgs.Socket(i)
}

// Decode makes row i's record as streamSockets does, reusing the socket
// and owner into points to.
func (p *packedSockets) Decode(i int, into *socketRecord) {
	s := into.Socket
	if s == nil {
		s = new(sock.Socket)
	}
	*s = p.socket(i)
	owner := into.owner
	*into, _ = p.a.record(s, func() *ownerInfo {
		if owner == nil {
			owner = new(ownerInfo)
		}
		return owner
	})
}

// packSockets reads the sockets q selects into a packedSockets, or
// returns nil when netlink cannot give them all (readSockets then reads
// them).
func packSockets(ctx context.Context, src *Source, q *Query) (Packed[socketRecord], error) {
	if !src.socketsFromNetlink() || src.root().noPack {
		return nil, nil
	}
	packer, ok := src.sockets().(socketPackerWithFallback)
	if !ok {
		return nil, nil
	}
	req, ok := socketRequest(q)
	if !ok {
		return &packedSockets{msgs: &sockdiag.Messages{}, a: &socketAttach{src: src}}, nil // the constraints exclude every socket
	}
	msgs, more, err := packer.messages(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("sockets: %w", err)
	}
	if msgs == nil {
		return nil, nil
	}
	src.root().packs.Add(1)
	p := &packedSockets{msgs: msgs, more: more}
	owners, bound := q.Needs(CostOwners), q.Uses("bound_interface")
	// One pass over the sockets for the inodes whose owners to look for
	// (when few and no hold shares a walk of every owner, as
	// attachOwners does) and whether any is bound.
	var want map[uint64]struct{}
	if owners && p.Len() <= maxWanted && !ownersHeld(src) {
		want = make(map[uint64]struct{}, p.Len())
	}
	anyBound := false
	if want != nil || bound {
		for i := range p.Len() {
			s := p.socket(i)
			if s.Inode != 0 && want != nil {
				want[s.Inode] = struct{}{}
			}
			anyBound = anyBound || s.BoundIf != 0
		}
	}
	if p.a, err = newSocketAttach(ctx, src, q, req, want); err != nil {
		return nil, err
	}
	if anyBound {
		if p.a.ifnames, err = boundInterfaceNames(ctx, src); err != nil {
			return nil, fmt.Errorf("sockets: %w", err)
		}
	}
	if p.a.owners != nil && p.a.owners.idx.Denied() > 0 {
		p.a.noticeUnowned(p.unowned())
	}
	return p, nil
}

// unowned reports whether a socket with an inode has no visible owner.
func (p *packedSockets) unowned() bool {
	for i := range p.Len() {
		s := p.socket(i)
		if s.Inode != 0 {
			if _, ok := p.a.owners.lookup(s.Inode); !ok {
				return true
			}
		}
	}
	return false
}
