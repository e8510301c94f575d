package sockdiag

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/netsql/netsql/vtab/sock"
)

// The builders below lay messages out the way the kernel does: host byte
// order for everything but inet_diag ports and addresses.

func nlattr(typ uint16, payload []byte) []byte {
	n := nlaHdrLen + len(payload)
	b := make([]byte, align4(n))
	binary.NativeEndian.PutUint16(b[0:], uint16(n))
	binary.NativeEndian.PutUint16(b[2:], typ)
	copy(b[nlaHdrLen:], payload)
	return b
}

func u32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }

// negErrno encodes an errno as the kernel's negative int.
func negErrno(e unix.Errno) []byte {
	v := -int32(e)
	return binary.NativeEndian.AppendUint32(nil, uint32(v))
}

func nlmsg(typ, flags uint16, seq uint32, payload []byte) []byte {
	n := nlmsgHdrLen + len(payload)
	b := make([]byte, align4(n))
	binary.NativeEndian.PutUint32(b[0:], uint32(n))
	binary.NativeEndian.PutUint16(b[4:], typ)
	binary.NativeEndian.PutUint16(b[6:], flags)
	binary.NativeEndian.PutUint32(b[8:], seq)
	copy(b[nlmsgHdrLen:], payload)
	return b
}

type inetFields struct {
	family, state, timer, retrans uint8
	src, dst                      netip.AddrPort
	cookie                        uint64
	expires, rq, wq, uid, inode   uint32
	boundIf                       uint32 // idiag_if
}

func inetMsg(f inetFields, attrs ...[]byte) []byte {
	b := make([]byte, inetMsgLen)
	b[0], b[1], b[2], b[3] = f.family, f.state, f.timer, f.retrans
	binary.BigEndian.PutUint16(b[4:], f.src.Port())
	binary.BigEndian.PutUint16(b[6:], f.dst.Port())
	s, d := f.src.Addr().AsSlice(), f.dst.Addr().AsSlice()
	copy(b[8:24], s)
	copy(b[24:40], d)
	binary.NativeEndian.PutUint32(b[40:], f.boundIf)
	binary.NativeEndian.PutUint32(b[44:], uint32(f.cookie))
	binary.NativeEndian.PutUint32(b[48:], uint32(f.cookie>>32))
	binary.NativeEndian.PutUint32(b[52:], f.expires)
	binary.NativeEndian.PutUint32(b[56:], f.rq)
	binary.NativeEndian.PutUint32(b[60:], f.wq)
	binary.NativeEndian.PutUint32(b[64:], f.uid)
	binary.NativeEndian.PutUint32(b[68:], f.inode)
	for _, a := range attrs {
		b = append(b, a...)
	}
	return b
}

func unixMsg(typ, state uint8, inode uint32, cookie uint64, attrs ...[]byte) []byte {
	b := make([]byte, unixMsgLen)
	b[0], b[1], b[2] = unix.AF_UNIX, typ, state
	binary.NativeEndian.PutUint32(b[4:], inode)
	binary.NativeEndian.PutUint32(b[8:], uint32(cookie))
	binary.NativeEndian.PutUint32(b[12:], uint32(cookie>>32))
	for _, a := range attrs {
		b = append(b, a...)
	}
	return b
}

// Attributes every current kernel adds to an inet_diag_msg whether asked or
// not; the parser must step over them.
func commonInetAttrs() [][]byte {
	return [][]byte{
		nlattr(8, []byte{0}), // INET_DIAG_SHUTDOWN
		nlattr(21, binary.NativeEndian.AppendUint64(nil, 1)), // INET_DIAG_CGROUP_ID
		nlattr(22, []byte{0x02, 0x00}),                       // INET_DIAG_SOCKOPT
	}
}

func TestParseInetV4(t *testing.T) {
	b := inetMsg(inetFields{
		family: unix.AF_INET, state: sock.StateEstablished, timer: sock.TimerOn, retrans: 3,
		src:    netip.MustParseAddrPort("127.0.0.1:8080"),
		dst:    netip.MustParseAddrPort("10.1.2.3:54321"),
		cookie: 0x1122334455667788, expires: 200, rq: 7, wq: 9, uid: 1000, inode: 424242,
		boundIf: 5, // SO_BINDTODEVICE to ifindex 5
	}, commonInetAttrs()...)
	s, err := parseInetMessage(b, unix.AF_INET, sock.TCP, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := sock.Socket{
		Family: unix.AF_INET, Protocol: sock.TCP, State: sock.StateEstablished,
		Local:  netip.MustParseAddrPort("127.0.0.1:8080"),
		Remote: netip.MustParseAddrPort("10.1.2.3:54321"),
		RecvQ:  7, SendQ: 9, UID: 1000, Inode: 424242,
		Timer: sock.TimerOn, TimerExpiresMs: 200, Retransmits: 3,
		Cookie: 0x1122334455667788, BoundIf: 5,
	}
	if s != want {
		t.Errorf("got  %+v\nwant %+v", s, want)
	}
	if !s.Local.Addr().Is4() {
		t.Errorf("IPv4 address %v is not a 4-byte address", s.Local.Addr())
	}
}

func TestParseInetV6(t *testing.T) {
	b := inetMsg(inetFields{
		family: unix.AF_INET6, state: sock.StateTimeWait, timer: sock.TimerTimeWait,
		src:     netip.MustParseAddrPort("[2001:db8::1]:443"),
		dst:     netip.MustParseAddrPort("[::ffff:192.0.2.7]:40000"),
		expires: uint32(0xffffff9c), // -100 ms: an older kernel's wrapped, overdue timer
	}, commonInetAttrs()...)
	s, err := parseInetMessage(b, unix.AF_INET6, sock.TCP, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Family != unix.AF_INET6 || s.State != sock.StateTimeWait || s.Timer != sock.TimerTimeWait || s.BoundIf != 0 {
		t.Errorf("header fields: %+v", s)
	}
	if got := s.Local.String(); got != "[2001:db8::1]:443" {
		t.Errorf("Local = %s", got)
	}
	// A v4-mapped peer of an AF_INET6 socket stays as the kernel reports it
	// (/proc/net/tcp6 and netstat show ::ffff:a.b.c.d too).
	if got := s.Remote.String(); got != "[::ffff:192.0.2.7]:40000" {
		t.Errorf("Remote = %s", got)
	}
	if s.Local.Addr().Zone() != "" {
		t.Errorf("zone %q", s.Local.Addr().Zone())
	}
	if s.TimerExpiresMs != -100 {
		t.Errorf("TimerExpiresMs = %d, want -100", s.TimerExpiresMs)
	}
}

func TestParseRaw(t *testing.T) {
	// raw_diag puts inet_num (the protocol) in idiag_sport and adds
	// INET_DIAG_PROTOCOL.
	b := inetMsg(inetFields{
		family: unix.AF_INET, state: sock.StateClose,
		src:   netip.AddrPortFrom(netip.IPv4Unspecified(), 1),
		dst:   netip.AddrPortFrom(netip.IPv4Unspecified(), 0),
		inode: 77, rq: 768,
	}, append(commonInetAttrs(), nlattr(inetDiagProtocol, []byte{1}))...)
	s, err := parseInetMessage(b, unix.AF_INET, sock.RAW, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Protocol != sock.RAW || s.RawProtocol != 1 || s.Local.Port() != 1 || s.State != sock.StateClose || s.RecvQ != 768 || s.Inode != 77 {
		t.Errorf("raw: %+v", s)
	}

	// Without the attribute the local port still carries the protocol.
	b = inetMsg(inetFields{
		family: unix.AF_INET6, state: sock.StateEstablished,
		src: netip.AddrPortFrom(netip.IPv6Loopback(), 58),
		dst: netip.AddrPortFrom(netip.IPv6Loopback(), 0),
	})
	s, err = parseInetMessage(b, unix.AF_INET6, sock.RAW, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.RawProtocol != 58 || s.Local.Port() != 58 || s.Remote.Addr() != netip.IPv6Loopback() {
		t.Errorf("raw6: %+v", s)
	}
}

func TestParseUnix(t *testing.T) {
	rq := append(u32(5), u32(128)...)
	b := unixMsg(sock.TypeStream, sock.StateListen, 9001, 42,
		nlattr(unixDiagName, []byte("\x00netsql\x00x")),
		nlattr(unixDiagPeer, u32(0)),
		nlattr(unixDiagRQLen, rq),
		nlattr(unixDiagUID, u32(65534)),
		nlattr(6, []byte{0}), // UNIX_DIAG_SHUTDOWN, not asked for: skipped
	)
	s, err := parseUnixMessage(b, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := sock.Socket{
		Family: unix.AF_UNIX, Protocol: sock.UNIX, Type: sock.TypeStream, State: sock.StateListen,
		Inode: 9001, Cookie: 42, Path: "@netsql@x", RecvQ: 5, Backlog: 128, UID: 65534,
	}
	if s != want {
		t.Errorf("got  %+v\nwant %+v", s, want)
	}

	// A filesystem path arrives with its terminating NUL.
	b = unixMsg(sock.TypeDgram, sock.StateEstablished, 9002, 0,
		nlattr(unixDiagName, []byte("/run/x.sock\x00")),
		nlattr(unixDiagPeer, u32(9003)),
	)
	s, err = parseUnixMessage(b, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Path != "/run/x.sock" || s.PeerInode != 9003 || s.Type != sock.TypeDgram || s.State != sock.StateEstablished {
		t.Errorf("path socket: %+v", s)
	}

	// Unbound: no name attribute at all.
	s, err = parseUnixMessage(unixMsg(sock.TypeSeqPacket, sock.StateClose, 1, 0), 0, nil)
	if err != nil || s.Path != "" || s.Type != sock.TypeSeqPacket {
		t.Errorf("unbound: %+v, %v", s, err)
	}
}

func TestUnixPath(t *testing.T) {
	for in, want := range map[string]string{
		"":               "",
		"\x00":           "@",
		"\x00abc":        "@abc",
		"\x00a\x00b":     "@a@b",
		"/tmp/s\x00":     "/tmp/s",
		"/tmp/s":         "/tmp/s",
		"rel\x00garbage": "rel",
	} {
		if got := unixPath([]byte(in)); got != want {
			t.Errorf("unixPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	v4 := inetFields{family: unix.AF_INET, src: netip.MustParseAddrPort("1.2.3.4:5"), dst: netip.MustParseAddrPort("6.7.8.9:10")}
	full := inetMsg(v4, commonInetAttrs()...)
	for n := 0; n < inetMsgLen; n++ {
		if _, err := parseInetMessage(full[:n], unix.AF_INET, sock.TCP, 0, nil); !errors.Is(err, errShort) {
			t.Errorf("inet truncated to %d bytes: err = %v, want errShort", n, err)
		}
	}
	// Cut inside an attribute: its header claims more than is there.
	if _, err := parseInetMessage(full[:inetMsgLen+8+6], unix.AF_INET, sock.TCP, 0, nil); err == nil {
		t.Error("inet cut inside an attribute: no error")
	}
	// An attribute whose length is below the header size.
	bad := inetMsg(v4, []byte{2, 0, 1, 0})
	if _, err := parseInetMessage(bad, unix.AF_INET, sock.TCP, 0, nil); err == nil {
		t.Error("attribute length 2: no error")
	}
	if _, err := parseInetMessage(full, unix.AF_INET6, sock.TCP, 0, nil); err == nil {
		t.Error("family mismatch: no error")
	}

	ufull := unixMsg(sock.TypeStream, sock.StateListen, 1, 0, nlattr(unixDiagRQLen, make([]byte, 8)))
	for n := 0; n < unixMsgLen; n++ {
		if _, err := parseUnixMessage(ufull[:n], 0, nil); !errors.Is(err, errShort) {
			t.Errorf("unix truncated to %d bytes: err = %v", n, err)
		}
	}
	short := unixMsg(sock.TypeStream, sock.StateListen, 1, 0, nlattr(unixDiagRQLen, make([]byte, 4)))
	if _, err := parseUnixMessage(short, 0, nil); !errors.Is(err, errShort) {
		t.Errorf("4-byte RQLEN: err = %v", err)
	}
	notUnix := unixMsg(sock.TypeStream, sock.StateListen, 1, 0)
	notUnix[0] = unix.AF_INET
	if _, err := parseUnixMessage(notUnix, 0, nil); err == nil {
		t.Error("unix_diag_msg of family AF_INET: no error")
	}
}

// TestParseNeverPanics feeds every prefix of valid messages and random
// bytes to the parsers; errors are fine, panics are not.
func TestParseNeverPanics(t *testing.T) {
	seeds := [][]byte{
		inetMsg(inetFields{family: unix.AF_INET}, commonInetAttrs()...),
		inetMsg(inetFields{family: unix.AF_INET6}, nlattr(inetDiagProtocol, []byte{1})),
		unixMsg(1, 10, 1, 1, nlattr(unixDiagName, []byte("\x00x")), nlattr(unixDiagPeer, u32(1)), nlattr(unixDiagRQLen, make([]byte, 8))),
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		b := make([]byte, rng.IntN(200))
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		seeds = append(seeds, b)
	}
	for _, s := range seeds {
		for n := 0; n <= len(s); n++ {
			parseAll(s[:n])
		}
	}
}

func parseAll(b []byte) {
	for _, fam := range []uint8{unix.AF_INET, unix.AF_INET6} {
		if len(b) > 0 {
			c := append([]byte(nil), b...)
			c[0] = fam // get past the family check
			_, _ = parseInetMessage(c, fam, sock.RAW, 0, nil)
		}
		_, _ = parseInetMessage(b, fam, sock.TCP, 0, nil)
	}
	_, _ = parseUnixMessage(b, 0, nil)
	if len(b) > 0 {
		c := append([]byte(nil), b...)
		c[0] = unix.AF_UNIX
		_, _ = parseUnixMessage(c, 0, nil)
	}
	st := dumpState{seq: 1}
	_ = handleBatch(b, &st, func(p []byte) error { _, err := parseUnixMessage(p, 0, nil); return err })
}

func FuzzParse(f *testing.F) {
	f.Add(inetMsg(inetFields{family: unix.AF_INET}, commonInetAttrs()...))
	f.Add(unixMsg(1, 10, 1, 1, nlattr(unixDiagName, []byte("\x00x"))))
	f.Add(nlmsg(unix.SOCK_DIAG_BY_FAMILY, unix.NLM_F_MULTI, 1, unixMsg(1, 10, 1, 1)))
	f.Fuzz(func(t *testing.T, b []byte) { parseAll(b) })
}

func TestHandleBatch(t *testing.T) {
	m := func(ino uint32) []byte {
		return unixMsg(sock.TypeStream, sock.StateEstablished, ino, 0)
	}
	batch := append(nlmsg(unix.SOCK_DIAG_BY_FAMILY, unix.NLM_F_MULTI, 7, m(1)),
		nlmsg(unix.SOCK_DIAG_BY_FAMILY, unix.NLM_F_MULTI, 6, m(99))...) // stale dump: skipped
	batch = append(batch, nlmsg(unix.SOCK_DIAG_BY_FAMILY, unix.NLM_F_MULTI, 7, m(2))...)
	batch = append(batch, nlmsg(unix.NLMSG_DONE, unix.NLM_F_MULTI, 7, u32(0))...)
	batch = append(batch, nlmsg(unix.SOCK_DIAG_BY_FAMILY, unix.NLM_F_MULTI, 7, m(3))...) // after DONE: ignored

	var got []uint64
	collect := func(p []byte) error {
		s, err := parseUnixMessage(p, 0, nil)
		got = append(got, s.Inode)
		return err
	}
	st := dumpState{seq: 7}
	if err := handleBatch(batch, &st, collect); err != nil {
		t.Fatal(err)
	}
	if !st.done || st.interrupted || len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Errorf("done=%v interrupted=%v inodes=%v", st.done, st.interrupted, got)
	}

	// A batch without DONE leaves the dump open.
	st = dumpState{seq: 7}
	if err := handleBatch(nlmsg(unix.SOCK_DIAG_BY_FAMILY, unix.NLM_F_MULTI, 7, m(1)), &st, collect); err != nil || st.done {
		t.Errorf("partial batch: done=%v err=%v", st.done, err)
	}

	// NLM_F_DUMP_INTR marks the dump; later payloads are not parsed.
	got = nil
	st = dumpState{seq: 1}
	intr := append(nlmsg(unix.SOCK_DIAG_BY_FAMILY, unix.NLM_F_MULTI|unix.NLM_F_DUMP_INTR, 1, m(1)),
		nlmsg(unix.SOCK_DIAG_BY_FAMILY, unix.NLM_F_MULTI, 1, m(2))...)
	intr = append(intr, nlmsg(unix.NLMSG_DONE, unix.NLM_F_MULTI, 1, u32(0))...)
	if err := handleBatch(intr, &st, collect); err != nil || !st.interrupted || !st.done || len(got) != 0 {
		t.Errorf("interrupted dump: err=%v st=%+v parsed=%v", err, st, got)
	}

	// NLMSG_ERROR carries a negative errno.
	st = dumpState{seq: 3}
	errMsg := nlmsg(unix.NLMSG_ERROR, 0, 3, append(negErrno(unix.ENOENT), make([]byte, 16)...))
	if err := handleBatch(errMsg, &st, collect); !errors.Is(err, unix.ENOENT) || !st.done {
		t.Errorf("NLMSG_ERROR: err=%v done=%v", err, st.done)
	}

	// So can NLMSG_DONE, when the dump callback failed.
	st = dumpState{seq: 4}
	if err := handleBatch(nlmsg(unix.NLMSG_DONE, unix.NLM_F_MULTI, 4, negErrno(unix.EACCES)), &st, collect); !errors.Is(err, unix.EACCES) {
		t.Errorf("NLMSG_DONE error: %v", err)
	}

	// Garbage: a header longer than the batch.
	st = dumpState{seq: 1}
	trunc := nlmsg(unix.SOCK_DIAG_BY_FAMILY, 0, 1, m(1))
	if err := handleBatch(trunc[:len(trunc)-4], &st, collect); !errors.Is(err, errShort) {
		t.Errorf("truncated batch: %v", err)
	}
	if err := handleBatch(trunc[:10], &st, collect); !errors.Is(err, errShort) {
		t.Errorf("batch shorter than a header: %v", err)
	}
	// A parse error stops the batch.
	st = dumpState{seq: 1}
	if err := handleBatch(nlmsg(unix.SOCK_DIAG_BY_FAMILY, 0, 1, []byte{1, 2}), &st, collect); !errors.Is(err, errShort) {
		t.Errorf("short payload: %v", err)
	}
}

func TestRequests(t *testing.T) {
	b := inetRequest(unix.AF_INET6, unix.IPPROTO_RAW, 1<<sock.StateCloseWait, 0, nil)
	if len(b) != 72 {
		t.Fatalf("inet request is %d bytes, want 72 (nlmsghdr + inet_diag_req_v2)", len(b))
	}
	ne := binary.NativeEndian
	if ne.Uint32(b[0:]) != 72 || ne.Uint16(b[4:]) != unix.SOCK_DIAG_BY_FAMILY || ne.Uint16(b[6:]) != unix.NLM_F_REQUEST|unix.NLM_F_DUMP {
		t.Errorf("inet nlmsghdr % x", b[:16])
	}
	if b[16] != unix.AF_INET6 || b[17] != unix.IPPROTO_RAW || b[18] != 0 || b[19] != 0 || ne.Uint32(b[20:]) != 1<<8 {
		t.Errorf("inet_diag_req_v2 head % x", b[16:24])
	}
	for i, c := range b[24:] {
		if c != 0 {
			t.Errorf("inet_diag_sockid byte %d = %#x, want 0", i, c)
		}
	}

	u := unixRequest(sock.AllStates, 0)
	if len(u) != 40 || ne.Uint32(u[0:]) != 40 {
		t.Fatalf("unix request is %d bytes, want 40", len(u))
	}
	if u[16] != unix.AF_UNIX || ne.Uint32(u[20:]) != sock.AllStates {
		t.Errorf("unix_diag_req head % x", u[16:24])
	}
	if show := ne.Uint32(u[28:]); show != udiagShowName|udiagShowPeer|udiagShowRQLen|udiagShowUID {
		t.Errorf("udiag_show = %#x", show)
	}
}

func TestClassify(t *testing.T) {
	for _, e := range []unix.Errno{unix.EPROTONOSUPPORT, unix.EACCES, unix.EPERM, unix.ENOENT} {
		err := classify("sockdiag: dump tcp6", e)
		if !errors.Is(err, ErrUnavailable) || !errors.Is(err, e) {
			t.Errorf("%v: %v does not wrap ErrUnavailable and the errno", e, err)
		}
	}
	err := classify("sockdiag: dump tcp6", unix.EINVAL)
	if errors.Is(err, ErrUnavailable) || !errors.Is(err, unix.EINVAL) {
		t.Errorf("EINVAL: %v", err)
	}
	if got := err.Error(); got != "sockdiag: dump tcp6: invalid argument" {
		t.Errorf("message %q", got)
	}
	ue := &UnavailableError{Names: []string{"raw", "raw6"}, Err: unix.ENOENT}
	if !errors.Is(ue, ErrUnavailable) || !errors.Is(ue, unix.ENOENT) {
		t.Errorf("UnavailableError does not unwrap: %v", ue)
	}
	if got := ue.Error(); got != "sockdiag: dump raw, raw6: netlink sock_diag unavailable: no such file or directory" {
		t.Errorf("UnavailableError message %q", got)
	}
}
