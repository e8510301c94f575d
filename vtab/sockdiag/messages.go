package sockdiag

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/netsql/netsql/vtab/netlink"
	"github.com/netsql/netsql/vtab/sock"
)

// messageChunk is the size of the blocks Messages keeps reply bytes in;
// no message is split between two. The first block starts at firstChunk
// bytes and grows.
const (
	messageChunk = 1 << 20
	firstChunk   = 4 << 10
)

// Messages is a dump kept compact: the sock_diag reply of every socket
// the request selects, as the kernel sent it, one after another in large
// blocks, with where each starts. A socket costs the bytes of its reply
// (about 110 bytes for TCP without extras) plus six, instead of a parsed
// sock.Socket; Socket decodes one when it is asked for. It is how a
// statement that reads a table more than once holds its one snapshot.
type Messages struct {
	want   sock.Extras
	chunks [][]byte
	starts []uint32 // where each socket's reply begins, counting every chunk's bytes
	sizes  []uint16
	kinds  []kindRun
	arena  extraArena
}

// kindRun says that the sockets from first on (to the next run) came
// from dump d.
type kindRun struct {
	first int
	d     dumpKind
}

// Len is how many sockets m holds.
func (m *Messages) Len() int { return len(m.starts) }

// Socket decodes socket i. Its Extra, when the request asked for extras,
// is allocated from an arena, as Sockets does: it stays valid. Decoding
// cannot fail: every reply was decoded the same way when it was kept.
func (m *Messages) Socket(i int) sock.Socket {
	start := m.starts[i]
	chunk := m.chunks[start/messageChunk]
	off := start % messageChunk
	b := chunk[off : off+uint32(m.sizes[i])]
	k := len(m.kinds) - 1
	for k > 0 && m.kinds[k].first > i {
		k--
	}
	s, _ := m.kinds[k].d.parse(b, m.want, &m.arena)
	return s
}

// size is how many reply bytes m holds: its blocks' length, the last one
// up to where it is filled.
func (m *Messages) size() uint32 {
	if len(m.chunks) == 0 {
		return 0
	}
	return uint32(len(m.chunks)-1)*messageChunk + uint32(len(m.chunks[len(m.chunks)-1]))
}

// keep appends one socket's reply p, from dump d.
func (m *Messages) keep(d dumpKind, p []byte) error {
	if len(p) > messageChunk || len(p) > 1<<16-1 {
		return fmt.Errorf("sockdiag: a %d-byte reply is larger than a socket's can be", len(p))
	}
	last := len(m.chunks) - 1
	if last < 0 || len(m.chunks[last])+len(p) > messageChunk {
		if len(m.chunks) >= 1<<32/messageChunk {
			return errors.New("sockdiag: more than 4 GiB of replies")
		}
		// The first block starts small and grows with the dump (a
		// narrowed read of a few sockets costs a few kB); later ones
		// start whole.
		size := messageChunk
		if last < 0 {
			size = firstChunk
		}
		m.chunks = append(m.chunks, make([]byte, 0, size))
		last++
	}
	n := len(m.starts)
	if len(m.kinds) == 0 || m.kinds[len(m.kinds)-1].d != d {
		m.kinds = append(m.kinds, kindRun{first: n, d: d})
	}
	m.starts = append(m.starts, uint32(last)*messageChunk+uint32(len(m.chunks[last])))
	m.sizes = append(m.sizes, uint16(len(p)))
	m.chunks[last] = append(m.chunks[last], p...)
	return nil
}

// truncate drops the sockets from n on (and their bytes): a dump redone
// from its start.
func (m *Messages) truncate(n int) {
	if n >= len(m.starts) {
		return
	}
	end := m.starts[n]
	m.starts, m.sizes = m.starts[:n], m.sizes[:n]
	for len(m.kinds) > 0 && m.kinds[len(m.kinds)-1].first >= n {
		m.kinds = m.kinds[:len(m.kinds)-1]
	}
	keep := int(end/messageChunk) + 1
	if end%messageChunk == 0 {
		keep--
	}
	m.chunks = m.chunks[:keep]
	if keep > 0 {
		m.chunks[keep-1] = m.chunks[keep-1][:end-uint32(keep-1)*messageChunk]
	}
}

// Messages reads the sockets req selects as Sockets does (the same dumps,
// filters and errors, with an *UnavailableError naming dumps the kernel
// has no handler for beside the sockets of the others) but keeps them as
// reply bytes (see Messages).
func (r *Reader) Messages(ctx context.Context, req sock.Request) (*Messages, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sockdiag: %w", err)
	}
	m := &Messages{want: req.Extras}
	plan := planDumps(req)
	if len(plan) == 0 {
		return m, nil
	}
	c, err := dial(ctx, nil, &netlink.Config{NetNS: r.netns})
	if err != nil {
		return nil, classify("sockdiag: open", err)
	}
	defer c.close()
	var missing *UnavailableError
	for _, d := range plan {
		bc := r.bytecode(&req, d)
		err = keepDump(ctx, c, d, &req, bc, m)
		if len(bc) > 0 && errors.Is(err, unix.EINVAL) {
			r.noBytecode.Store(true) // as Sockets: filter in userspace
			err = keepDump(ctx, c, d, &req, nil, m)
		}
		if errors.Is(err, unix.ENOENT) {
			missing = missing.add(d, req)
			continue
		}
		if err != nil {
			return nil, err
		}
	}
	if missing != nil {
		return m, missing
	}
	return m, nil
}

// keepDump runs one dump as runDump does, keeping the replies of the
// sockets that pass req's state mask and filter in m.
func keepDump(ctx context.Context, c *conn, d dumpKind, req *sock.Request, bytecode []byte, m *Messages) error {
	ctxName := dumpName(d, bytecode)
	msg := d.request(req, bytecode)
	selects := selector(req)
	start := m.Len()
	// The extras are decoded too, into one reused value, so that a reply
	// that is kept decodes later without error.
	var scratch [1]sock.Extra
	arena := &extraArena{}
	each := func(p []byte) error {
		arena.chunk = scratch[:]
		s, err := d.parse(p, req.Extras, arena)
		if err != nil {
			return err
		}
		if selects(&s) {
			return m.keep(d, p)
		}
		return nil
	}
	err := c.nl.Dump(ctx, msg, func() { m.truncate(start) }, diagMessages(each))
	if err != nil {
		m.truncate(start)
		return classify(ctxName, err)
	}
	return nil
}
