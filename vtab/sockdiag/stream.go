package sockdiag

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/netsql/netsql/vtab/netlink"
	"github.com/netsql/netsql/vtab/sock"
)

// StreamBatch is how many sockets Stream hands over at a time.
const StreamBatch = 256

// errStop ends a dump whose consumer wants no more sockets.
var errStop = errors.New("sockdiag: stream stopped")

// Stream reads the sockets req asks for as Sockets does, but hands them
// to yield in batches of at most StreamBatch as the kernel's replies
// arrive, instead of returning them all: memory stays flat however many
// sockets the host has. A batch (and the Extra values its sockets point
// to) is valid only until yield returns. When yield returns false the
// dump is abandoned, the netlink socket closed, and Stream returns nil.
//
// Errors are those of Sockets, with the same *UnavailableError, returned
// after every other dump has streamed, when the kernel lacks the handler
// for some dumps. A dump the kernel flags inconsistent (NLM_F_DUMP_INTR)
// or whose messages were lost is redone only while none of its sockets
// has been handed over yet; after that it is an error wrapping
// netlink.ErrDumpInterrupted, since sockets already handed over cannot be
// taken back.
func (r *Reader) Stream(ctx context.Context, req sock.Request, yield func([]sock.Socket) bool) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sockdiag: %w", err)
	}
	plan := planDumps(req)
	if len(plan) == 0 {
		return nil
	}
	c, err := dial(ctx, nil, &netlink.Config{NetNS: r.netns})
	if err != nil {
		return classify("sockdiag: open", err)
	}
	defer c.close()

	s := &streamer{yield: yield, batch: make([]sock.Socket, 0, StreamBatch)}
	if req.Extras != 0 {
		// One chunk holds a batch's extras; it is handed out again
		// once the batch has been consumed.
		s.extras = make([]sock.Extra, arenaChunk)
		s.arena = &extraArena{chunk: s.extras}
	}
	var missing *UnavailableError
	for _, d := range plan {
		bc := r.bytecode(&req, d)
		err := s.dump(ctx, c, d, &req, bc)
		if len(bc) > 0 && errors.Is(err, unix.EINVAL) && s.sent == 0 {
			r.noBytecode.Store(true)
			err = s.dump(ctx, c, d, &req, nil)
		}
		if errors.Is(err, errStop) {
			return nil
		}
		if errors.Is(err, unix.ENOENT) && s.sent == 0 {
			missing = missing.add(d, req)
			continue
		}
		if err != nil {
			return err
		}
	}
	if len(s.batch) > 0 && !s.yield(s.batch) {
		return nil
	}
	if missing != nil {
		return missing
	}
	return nil
}

// streamer is one Stream call's state: the batch being filled and how
// many sockets of the current dump were handed over.
type streamer struct {
	yield  func([]sock.Socket) bool
	batch  []sock.Socket
	arena  *extraArena
	extras []sock.Extra // the arena's first chunk, reused batch after batch
	sent   int          // sockets of the current dump handed to yield
}

// dump runs one dump, handing its sockets over batch by batch; it redoes
// the dump (netlink.MaxAttempts times in all) while nothing of it was
// handed over.
func (s *streamer) dump(ctx context.Context, c *conn, d dumpKind, req *sock.Request, bytecode []byte) error {
	ctxName := dumpName(d, bytecode)
	msg := d.request(req, bytecode)
	selects := selector(req)
	start := len(s.batch) // sockets of earlier dumps not handed over yet
	s.sent = 0
	each := func(p []byte) error {
		sk, err := d.parse(p, req.Extras, s.arena)
		if err != nil {
			return err
		}
		if !selects(&sk) {
			return nil
		}
		s.batch = append(s.batch, sk)
		if len(s.batch) < StreamBatch {
			return nil
		}
		s.sent += len(s.batch) - start
		start = 0
		if !s.yield(s.batch) {
			return errStop
		}
		s.batch = s.batch[:0]
		if s.arena != nil {
			s.arena.chunk = s.extras // the consumer is done with the extras
		}
		return nil
	}
	var lost error
	for try := 0; try < netlink.MaxAttempts; try++ {
		s.batch = s.batch[:start]
		intr, err := c.nl.Exchange(ctx, msg, diagMessages(each))
		if errors.Is(err, errStop) {
			return errStop
		}
		retry := err == nil && intr || err != nil && (errors.Is(err, unix.ENOBUFS) || errors.Is(err, netlink.ErrTruncated))
		if !retry {
			if err != nil {
				s.batch = s.batch[:start]
				return classify(ctxName, err)
			}
			return nil
		}
		if s.sent > 0 {
			return fmt.Errorf("%s: %w: after %d sockets were streamed", ctxName, netlink.ErrDumpInterrupted, s.sent)
		}
		lost = err
	}
	s.batch = s.batch[:start]
	if lost != nil {
		return fmt.Errorf("%s: %w: messages lost on all %d tries: %w", ctxName, netlink.ErrDumpInterrupted, netlink.MaxAttempts, lost)
	}
	return fmt.Errorf("%s: %w: kernel flagged the dump inconsistent (NLM_F_DUMP_INTR) on all %d tries", ctxName, netlink.ErrDumpInterrupted, netlink.MaxAttempts)
}
