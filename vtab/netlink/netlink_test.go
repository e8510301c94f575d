package netlink

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func msg(typ, flags uint16, seq uint32, payload []byte) []byte {
	b := AppendHeader(nil, typ, flags, len(payload))
	ne.PutUint32(b[8:12], seq)
	b = append(b, payload...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func cat(bs ...[]byte) []byte { return bytes.Join(bs, nil) }

func errPayload(e unix.Errno, text string) (uint16, []byte) {
	p := ne.AppendUint32(nil, negErrno(e))
	p = AppendHeader(p, 99, 0, 0) // the echoed (capped) request header
	if text == "" {
		return unix.NLM_F_CAPPED, p
	}
	p = AppendAttr(p, unix.NLMSGERR_ATTR_MSG, append([]byte(text), 0))
	return unix.NLM_F_CAPPED | unix.NLM_F_ACK_TLVS, p
}

func TestMessages(t *testing.T) {
	// Odd payload lengths: the next message starts at the aligned offset.
	b := cat(msg(20, 2, 7, []byte{1, 2, 3}), msg(21, 0, 8, []byte{4, 5, 6, 7, 8}), msg(unix.NLMSG_DONE, 0, 9, nil))
	it := Messages(b)
	var got []Message
	for it.Next() {
		got = append(got, it.Message())
	}
	if it.Err() != nil || len(got) != 3 {
		t.Fatalf("got %d messages, err %v", len(got), it.Err())
	}
	if got[0].Type != 20 || got[0].Flags != 2 || got[0].Seq != 7 || !bytes.Equal(got[0].Payload, []byte{1, 2, 3}) {
		t.Errorf("first %+v", got[0])
	}
	if got[1].Type != 21 || !bytes.Equal(got[1].Payload, []byte{4, 5, 6, 7, 8}) || len(got[2].Payload) != 0 {
		t.Errorf("rest %+v", got[1:])
	}
	// A payload cannot be appended into the next message.
	if cap(got[0].Payload) != 3 {
		t.Errorf("payload cap %d, want 3", cap(got[0].Payload))
	}
	// The last message's padding may be missing.
	last := msg(20, 0, 1, []byte{1})
	it = Messages(last[:17])
	if !it.Next() || it.Next() || it.Err() != nil {
		t.Errorf("unpadded last message: err %v", it.Err())
	}
	for _, bad := range [][]byte{b[:10], b[:len(b)-1], {20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, cat(msg(1, 0, 0, nil), []byte{1, 2})} {
		it := Messages(bad)
		for it.Next() {
		}
		if !errors.Is(it.Err(), ErrMalformed) {
			t.Errorf("% x: err %v, want ErrMalformed", bad, it.Err())
		}
	}
}

func TestAttrs(t *testing.T) {
	inner := cat(AppendAttrU32(nil, 1, 42), AppendAttr(nil, 2, []byte("x")))
	b := cat(AppendAttr(nil, 3|0x8000, inner), AppendAttr(nil, 4|0x4000, []byte{1, 2, 3}), AppendAttr(nil, 5, nil))
	it := Attrs(b)
	var types []uint16
	for it.Next() {
		a := it.Attr()
		types = append(types, a.Type())
		if a.Type() == 3 {
			if !a.Nested() {
				t.Error("NLA_F_NESTED not seen")
			}
			in := Attrs(a.Value)
			var vals []string
			for in.Next() {
				vals = append(vals, string(in.Attr().Value))
			}
			if in.Err() != nil || len(vals) != 2 || vals[1] != "x" || ne.Uint32([]byte(vals[0])) != 42 {
				t.Errorf("nested: %q %v", vals, in.Err())
			}
		}
		if a.Type() == 4 && (a.RawType != 4|0x4000 || len(a.Value) != 3) {
			t.Errorf("attr 4: %+v", a)
		}
	}
	if it.Err() != nil || len(types) != 3 || types[2] != 5 {
		t.Fatalf("types %v err %v", types, it.Err())
	}
	for _, bad := range [][]byte{{8, 0}, {3, 0, 1, 0}, {0xff, 0, 1, 0}, cat(AppendAttrU32(nil, 1, 1), []byte{9})} {
		it := Attrs(bad)
		for it.Next() {
		}
		if !errors.Is(it.Err(), ErrMalformed) {
			t.Errorf("% x: err %v", bad, it.Err())
		}
	}
	if _, _, err := SplitAttr(nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("SplitAttr(nil): %v", err)
	}
}

func TestParseError(t *testing.T) {
	flags, p := errPayload(unix.EINVAL, "Invalid header")
	err := ParseError(flags, p)
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, unix.EINVAL) || err.Error() != "invalid argument (Invalid header)" {
		t.Fatalf("err = %v", err)
	}
	// Not capped: the whole request is echoed before the TLVs.
	req := NewRequest(99, 0, make([]byte, 10))
	full := cat(ne.AppendUint32(nil, negErrno(unix.EPERM)), req, []byte{0, 0}, AppendAttr(nil, unix.NLMSGERR_ATTR_MSG, []byte("no\x00")))
	if err := ParseError(unix.NLM_F_ACK_TLVS, full); !errors.Is(err, unix.EPERM) || err.Error() != "operation not permitted (no)" {
		t.Errorf("uncapped: %v", err)
	}
	if err := ParseError(0, make([]byte, 20)); err != nil {
		t.Errorf("ack: %v", err)
	}
	if err := ParseError(0, []byte{1}); !errors.Is(err, ErrMalformed) {
		t.Errorf("short: %v", err)
	}
	if err := DoneError(ne.AppendUint32(nil, negErrno(unix.EBUSY))); !errors.Is(err, unix.EBUSY) {
		t.Errorf("done: %v", err)
	}
	if DoneError(nil) != nil || DoneError(make([]byte, 4)) != nil {
		t.Error("a plain NLMSG_DONE is no error")
	}
}

func TestDumpState(t *testing.T) {
	var got []uint16
	collect := func(m Message) error { got = append(got, m.Type); return nil }

	// Stale sequence numbers and foreign ports are skipped; nothing after
	// DONE is read; an ACK does not end a dump.
	_, ack := errPayload(0, "")
	ne.PutUint32(ack, 0)
	b := cat(msg(30, unix.NLM_F_MULTI, 5, nil), msg(31, unix.NLM_F_MULTI, 4, nil), msg(unix.NLMSG_NOOP, 0, 5, nil),
		msg(unix.NLMSG_ERROR, 0, 5, ack), msg(32, unix.NLM_F_MULTI, 5, nil),
		func() []byte { m := msg(33, unix.NLM_F_MULTI, 5, nil); ne.PutUint32(m[12:], 777); return m }(),
		msg(unix.NLMSG_DONE, unix.NLM_F_MULTI, 5, make([]byte, 4)), msg(34, unix.NLM_F_MULTI, 5, nil))
	st := DumpState{Seq: 5, Port: 100, Dump: true}
	if err := st.Handle(b, collect); err != nil || !st.Done || len(got) != 2 || got[0] != 30 || got[1] != 32 {
		t.Fatalf("err %v done %v got %v", err, st.Done, got)
	}

	// Interrupted: later payloads are not parsed, the dump still ends.
	got = nil
	st = DumpState{Seq: 1, Dump: true}
	b = cat(msg(30, unix.NLM_F_MULTI|unix.NLM_F_DUMP_INTR, 1, nil), msg(31, unix.NLM_F_MULTI, 1, nil), msg(unix.NLMSG_DONE, unix.NLM_F_MULTI, 1, make([]byte, 4)))
	if err := st.Handle(b, collect); err != nil || !st.Interrupted || !st.Done || len(got) != 0 {
		t.Errorf("interrupted: err %v st %+v got %v", err, st, got)
	}

	// A request's single answer ends it; so does an ACK.
	got = nil
	st = DumpState{Seq: 2}
	if err := st.Handle(cat(msg(30, 0, 2, nil), msg(31, 0, 2, nil)), collect); err != nil || !st.Done || len(got) != 1 {
		t.Errorf("single answer: err %v st %+v got %v", err, st, got)
	}
	st = DumpState{Seq: 2}
	if err := st.Handle(msg(unix.NLMSG_ERROR, 0, 2, ack), collect); err != nil || !st.Done {
		t.Errorf("ack: err %v st %+v", err, st)
	}

	// Errors end the reply with the kernel's message.
	flags, p := errPayload(unix.ENOENT, "no such table")
	st = DumpState{Seq: 3, Dump: true}
	if err := st.Handle(msg(unix.NLMSG_ERROR, flags, 3, p), collect); !errors.Is(err, unix.ENOENT) || err.Error() != "no such file or directory (no such table)" || !st.Done {
		t.Errorf("error: %v %+v", err, st)
	}
	st = DumpState{Seq: 3, Dump: true}
	if err := st.Handle(msg(unix.NLMSG_DONE, 0, 3, ne.AppendUint32(nil, negErrno(unix.EMSGSIZE))), collect); !errors.Is(err, unix.EMSGSIZE) || !st.Done {
		t.Errorf("done error: %v", err)
	}
	st = DumpState{Seq: 3, Dump: true}
	if err := st.Handle(msg(unix.NLMSG_OVERRUN, 0, 3, nil), collect); err == nil || st.Done {
		t.Errorf("overrun: %v %+v", err, st)
	}
	// fn's error stops the walk, the dump left open.
	st = DumpState{Seq: 3, Dump: true}
	stop := errors.New("stop")
	if err := st.Handle(msg(30, unix.NLM_F_MULTI, 3, nil), func(Message) error { return stop }); err != stop || st.Done {
		t.Errorf("fn error: %v %+v", err, st)
	}
	// A truncated datagram is a framing error.
	if err := (&DumpState{Seq: 3, Dump: true}).Handle(msg(30, 0, 3, []byte{1, 2, 3, 4})[:18], collect); !errors.Is(err, ErrMalformed) {
		t.Errorf("truncated: %v", err)
	}
}

// fake replays scripted datagrams, one list per request, stamping each
// message with the request's sequence number. A 4-byte datagram is an
// errno for Receive to return.
type fake struct {
	replies [][][]byte
	sent    int
	queue   [][]byte
	seq     uint32
	closed  bool
}

func (f *fake) Send(req []byte) error {
	f.seq = ne.Uint32(req[8:12])
	if f.sent >= len(f.replies) {
		return errors.New("fake: unexpected request")
	}
	f.queue = f.replies[f.sent]
	f.sent++
	return nil
}

func (f *fake) Receive(ctx context.Context) ([]byte, error) {
	if len(f.queue) == 0 {
		return nil, errors.New("fake: nothing queued")
	}
	d := append([]byte(nil), f.queue[0]...)
	f.queue = f.queue[1:]
	if len(d) == 4 {
		return nil, unix.Errno(ne.Uint32(d))
	}
	it := Messages(d)
	off := 0
	for it.Next() {
		ne.PutUint32(d[off+8:], f.seq)
		off += Align(HeaderLen + len(it.Message().Payload))
	}
	return d, nil
}

func (f *fake) Close() error { f.closed = true; return nil }

func errnoDatagram(e unix.Errno) []byte { return ne.AppendUint32(nil, uint32(e)) }

func TestConnRetries(t *testing.T) {
	done := msg(unix.NLMSG_DONE, unix.NLM_F_MULTI, 0, make([]byte, 4))
	data := func(typ uint16, flags uint16) []byte { return msg(typ, unix.NLM_F_MULTI|flags, 0, nil) }
	req := NewRequest(30, unix.NLM_F_REQUEST|unix.NLM_F_DUMP, nil)

	// Interrupted once, then clean: two requests on one socket.
	f := &fake{replies: [][][]byte{{cat(data(40, 0), data(41, unix.NLM_F_DUMP_INTR), done)}, {cat(data(40, 0), data(42, 0), done)}}}
	c := NewConn(f, nil)
	var got []uint16
	err := c.Dump(context.Background(), req, func() { got = got[:0] }, func(m Message) error { got = append(got, m.Type); return nil })
	if err != nil || f.sent != 2 || len(got) != 2 || got[1] != 42 {
		t.Fatalf("err %v sent %d got %v", err, f.sent, got)
	}

	// Interrupted every time: an error after MaxAttempts, nothing kept.
	intr := [][]byte{cat(data(40, unix.NLM_F_DUMP_INTR), done)}
	f = &fake{replies: [][][]byte{intr, intr, intr}}
	c = NewConn(f, nil)
	err = c.Dump(context.Background(), req, func() { got = got[:0] }, func(m Message) error { got = append(got, m.Type); return nil })
	if !errors.Is(err, ErrDumpInterrupted) || f.sent != MaxAttempts || len(got) != 0 {
		t.Fatalf("err %v sent %d got %v", err, f.sent, got)
	}

	// ENOBUFS and a truncated datagram: redone on a fresh transport, the
	// old one closed.
	for _, lost := range [][]byte{errnoDatagram(unix.ENOBUFS), nil} {
		first := &fake{replies: [][][]byte{{data(40, 0), lost}}}
		second := &fake{replies: [][][]byte{{cat(data(40, 0), data(41, 0), done)}}}
		var ft Transport = first
		if lost == nil {
			ft = truncating{first}
		}
		c = NewConn(ft, func() (Transport, error) { return second, nil })
		got = nil
		err = c.Dump(context.Background(), req, func() { got = got[:0] }, func(m Message) error { got = append(got, m.Type); return nil })
		if err != nil || !first.closed || len(got) != 2 || c.Broken() {
			t.Errorf("lost=%x: err %v first closed %v got %v", lost, err, first.closed, got)
		}
	}

	// A cancelled context abandons the reply: the next request redials.
	f = &fake{replies: [][][]byte{{cat(data(40, 0), done)}}}
	next := &fake{replies: [][][]byte{{cat(data(40, 0), done)}}}
	c = NewConn(f, func() (Transport, error) { return next, nil })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Dump(ctx, req, nil, func(Message) error { return nil }); !errors.Is(err, context.Canceled) || !c.Broken() {
		t.Fatalf("cancelled: %v broken %v", err, c.Broken())
	}
	if err := c.Dump(context.Background(), req, nil, func(Message) error { return nil }); err != nil || !f.closed || next.sent != 1 {
		t.Fatalf("after cancel: %v", err)
	}

	// A kernel error is returned as is, and the socket stays usable.
	flags, p := errPayload(unix.EINVAL, "bad")
	f = &fake{replies: [][][]byte{{msg(unix.NLMSG_ERROR, flags, 0, p)}}}
	c = NewConn(f, nil)
	var ke *Error
	if err := c.Dump(context.Background(), req, nil, func(Message) error { return nil }); !errors.As(err, &ke) || ke.Msg != "bad" || c.Broken() {
		t.Fatalf("kernel error: %v", err)
	}

	// Closed.
	c.Close()
	if _, err := c.Exchange(context.Background(), req, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("closed: %v", err)
	}
}

// truncating turns its second datagram into a lost, too-large one.
type truncating struct{ *fake }

func (t truncating) Receive(ctx context.Context) ([]byte, error) {
	b, err := t.fake.Receive(ctx)
	if err == nil && len(t.fake.queue) == 0 {
		return nil, ErrTruncated
	}
	return b, err
}

// replies are real kernel answers captured in a namespace with a veth
// pair, addresses, a loopback TCP connection and a unix socket pair.
func replies(t testing.TB) map[string][]byte {
	files, err := filepath.Glob("testdata/replies/*.bin")
	if err != nil || len(files) == 0 {
		t.Fatalf("no captured replies: %v", err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = b
	}
	return out
}

// fixedLen is the family header before the attributes of each capture.
var fixedLen = map[string]int{
	"rtm_getlink.bin":    unix.SizeofIfInfomsg,
	"rtm_getaddr.bin":    unix.SizeofIfAddrmsg,
	"rtm_getroute.bin":   unix.SizeofRtMsg,
	"sock_diag_tcp.bin":  72, // struct inet_diag_msg
	"sock_diag_unix.bin": 16, // struct unix_diag_msg
}

// TestCapturedReplies walks the real replies as a parser does: every
// message of the dump, every attribute after its family header, the
// nested ones of IFLA_AF_SPEC, IFLA_LINKINFO and RTA_METRICS too.
func TestCapturedReplies(t *testing.T) {
	for name, b := range replies(t) {
		hdr, ok := fixedLen[name]
		if !ok {
			t.Fatalf("%s: unknown capture", name)
		}
		st := DumpState{Dump: true}
		n, attrs, nested := 0, 0, 0
		err := st.Handle(b, func(m Message) error {
			n++
			if len(m.Payload) < hdr {
				return errors.New("short payload")
			}
			it := Attrs(m.Payload[hdr:])
			for it.Next() {
				attrs++
				a := it.Attr()
				if (name == "rtm_getlink.bin" && (a.Type() == unix.IFLA_AF_SPEC || a.Type() == unix.IFLA_LINKINFO)) ||
					(name == "rtm_getroute.bin" && a.Type() == unix.RTA_METRICS) {
					in := Attrs(a.Value)
					for in.Next() {
						nested++
					}
					if in.Err() != nil {
						return in.Err()
					}
				}
			}
			return it.Err()
		})
		if err != nil || n == 0 || attrs == 0 || !st.Done {
			t.Errorf("%s: %d messages, %d attributes, done %v, err %v", name, n, attrs, st.Done, err)
		}
		if name == "rtm_getlink.bin" && nested == 0 {
			t.Errorf("%s: no nested attribute walked", name)
		}
	}
}

func negErrno(e unix.Errno) uint32 {
	v := -int32(e)
	return uint32(v)
}
