package netlink

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// MaxAttempts is how often Conn.Dump runs a dump before an interrupted or
// overrun dump is an error.
const MaxAttempts = 3

// ErrClosed is returned by a Conn used after Close.
var ErrClosed = errors.New("netlink: connection closed")

// Conn runs requests over a Transport, one at a time: it numbers each
// request, reads the reply to its end, and replaces the transport with a
// fresh one (redial) when a reply was abandoned part-way, so no stale dump
// state or queued message leaks into the next request. A Conn is not safe
// for concurrent use.
type Conn struct {
	t       Transport
	redial  func() (Transport, error)
	release func()
	seq     uint32
	broken  bool
}

// NewConn runs requests over t; redial makes a replacement in the same
// namespace when t must be dropped (nil: the Conn cannot recover and
// reports the abandoned reply instead).
func NewConn(t Transport, redial func() (Transport, error)) *Conn {
	return &Conn{t: t, redial: redial}
}

// DialConn dials a socket per cfg and returns a Conn over it whose redials
// make their socket in the same namespace: it holds the namespace open, so
// a redial finds it even if its /run/netns name was removed meanwhile.
func DialConn(cfg Config) (*Conn, error) {
	var release func()
	if cfg.NetNS != "" {
		pinned, rel, err := PinNetNS(cfg.NetNS)
		if err != nil {
			return nil, err
		}
		cfg.NetNS, release = pinned, rel
	}
	s, err := Dial(cfg)
	if err != nil {
		if release != nil {
			release()
		}
		return nil, err
	}
	c := NewConn(s, func() (Transport, error) { return Dial(cfg) })
	c.release = release
	return c, nil
}

// Transport returns the current transport (a *Socket for DialConn).
func (c *Conn) Transport() Transport { return c.t }

// Broken reports whether the last reply was abandoned part-way, so the
// next request runs on a fresh transport.
func (c *Conn) Broken() bool { return c.broken }

// Close closes the transport and releases the namespace handle.
func (c *Conn) Close() error {
	if c.t == nil {
		return nil
	}
	err := c.t.Close()
	c.t = nil
	if c.release != nil {
		c.release()
		c.release = nil
	}
	return err
}

func (c *Conn) reopen() error {
	if c.redial == nil {
		return errors.New("netlink: socket left in the middle of a reply")
	}
	t, err := c.redial()
	if err != nil {
		return err
	}
	old := c.t
	if s, ok := t.(*Socket); ok {
		if o, ok := old.(*Socket); ok && len(o.buf) > len(s.buf) {
			s.buf = o.buf // keep a buffer grown for a large datagram
		}
	}
	c.t, c.broken = t, false
	_ = old.Close()
	return nil
}

// Exchange sends req (a complete netlink message; its sequence number is
// set here) and hands each data message of the reply to fn until the reply
// ends: NLMSG_DONE for a dump (NLM_F_DUMP in req), else the single answer,
// an ACK or an NLMSG_ERROR. A kernel error comes back as an *Error.
// interrupted reports NLM_F_DUMP_INTR: the dump was read to its end but is
// inconsistent, and the messages after the flag were not handed to fn. If
// the reply is abandoned (fn's error, ctx, a receive error) the Conn
// redials before the next request.
func (c *Conn) Exchange(ctx context.Context, req []byte, fn func(m Message) error) (interrupted bool, err error) {
	if c.t == nil {
		return false, ErrClosed
	}
	if len(req) < HeaderLen {
		return false, fmt.Errorf("netlink: request of %d bytes", len(req))
	}
	if c.broken {
		if err := c.reopen(); err != nil {
			return false, fmt.Errorf("reopen socket: %w", err)
		}
	}
	c.seq++
	ne.PutUint32(req[8:12], c.seq)
	st := DumpState{Seq: c.seq, Dump: ne.Uint16(req[6:8])&unix.NLM_F_DUMP == unix.NLM_F_DUMP}
	if p, ok := c.t.(interface{ Port() uint32 }); ok {
		st.Port = p.Port()
	}
	if err := c.t.Send(req); err != nil {
		return false, err
	}
	for !st.Done {
		if err := ctx.Err(); err != nil {
			c.broken = true
			return st.Interrupted, err
		}
		b, err := c.t.Receive(ctx)
		if err != nil {
			c.broken = true
			return st.Interrupted, err
		}
		if err := st.Handle(b, fn); err != nil {
			if !st.Done {
				c.broken = true
			}
			return st.Interrupted, err
		}
	}
	return st.Interrupted, nil
}

// retryable reports an error after which the request is redone: messages
// were lost (ENOBUFS, a datagram larger than the buffer).
func retryable(err error) bool {
	return errors.Is(err, unix.ENOBUFS) || errors.Is(err, ErrTruncated)
}

// Dump runs a dump request, from the start again (after reset, which
// drops what fn collected) when the kernel flags it inconsistent
// (NLM_F_DUMP_INTR) or messages were lost, MaxAttempts times in all; then
// the error wraps ErrDumpInterrupted. Other errors return at once, a
// kernel error as an *Error.
func (c *Conn) Dump(ctx context.Context, req []byte, reset func(), fn func(m Message) error) error {
	var lost error
	for try := 0; try < MaxAttempts; try++ {
		if reset != nil {
			reset()
		}
		intr, err := c.Exchange(ctx, req, fn)
		switch {
		case err == nil && !intr:
			return nil
		case err == nil:
			lost = nil
		case retryable(err):
			c.broken = true // the rest of the reply may still be queued
			lost = err
		default:
			return err
		}
	}
	if reset != nil {
		reset()
	}
	if lost != nil {
		return fmt.Errorf("%w: messages lost on all %d tries: %w", ErrDumpInterrupted, MaxAttempts, lost)
	}
	return fmt.Errorf("%w: kernel flagged the dump inconsistent (NLM_F_DUMP_INTR) on all %d tries", ErrDumpInterrupted, MaxAttempts)
}

// Do runs one request that is not a dump and hands its answer to fn,
// redoing it when the answer was lost (ENOBUFS, too large for the buffer).
func (c *Conn) Do(ctx context.Context, req []byte, fn func(m Message) error) error {
	var err error
	for try := 0; try < MaxAttempts; try++ {
		if _, err = c.Exchange(ctx, req, fn); !retryable(err) {
			return err
		}
		c.broken = true
	}
	return err
}

// DumpState follows one request's reply across the datagrams it arrives in.
type DumpState struct {
	Seq         uint32 // the request's sequence number: other messages are stale
	Port        uint32 // our port id; 0 skips the check
	Dump        bool   // the request was a dump: the reply ends at NLMSG_DONE
	Done        bool   // the reply has ended
	Interrupted bool   // NLM_F_DUMP_INTR seen: the dump is inconsistent
}

// Handle walks the messages of one datagram. Messages of another sequence
// number or port (left from an abandoned request) are skipped, and so is
// everything after the end of the reply. Each data message goes to fn,
// unless the dump is already marked interrupted (it will be redone, so
// parsing it is wasted). NLMSG_DONE ends a dump, with its error if it
// carries one; NLMSG_ERROR ends the reply with the kernel's error (an ACK,
// error 0, ends a request but not a dump); NLMSG_OVERRUN is an error. A
// framing error wraps ErrMalformed; fn's error is returned as is.
func (st *DumpState) Handle(b []byte, fn func(m Message) error) error {
	it := Messages(b)
	for !st.Done && it.Next() {
		m := it.Message()
		if m.Seq != st.Seq || (st.Port != 0 && m.Pid != 0 && m.Pid != st.Port) {
			continue
		}
		if m.Flags&unix.NLM_F_DUMP_INTR != 0 {
			st.Interrupted = true
		}
		switch m.Type {
		case unix.NLMSG_NOOP:
			continue
		case unix.NLMSG_DONE:
			st.Done = true
			return DoneError(m.Payload)
		case unix.NLMSG_ERROR:
			err := ParseError(m.Flags, m.Payload)
			if err == nil && st.Dump {
				continue
			}
			st.Done = true
			return err
		case unix.NLMSG_OVERRUN:
			return errors.New("netlink: overrun")
		}
		if !st.Dump && m.Flags&unix.NLM_F_MULTI == 0 {
			st.Done = true // the single answer
			return fn(m)
		}
		if st.Interrupted {
			continue
		}
		if err := fn(m); err != nil {
			return err
		}
	}
	return it.Err()
}

// PinNetNS opens the namespace file at path and returns a path that names
// the same namespace for as long as the handle is held (through this
// process's descriptor), even if path is removed meanwhile, and the
// function that releases it.
func PinNetNS(path string) (pinned string, release func(), err error) {
	nsfd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", nil, fmt.Errorf("netns %s: %w", path, err)
	}
	return fmt.Sprintf("/proc/self/fd/%d", nsfd), func() { unix.Close(nsfd) }, nil
}
