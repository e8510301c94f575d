package sockdiag

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/netsql/netsql/vtab/sock"
)

// tcpInfoBytes lays out a struct tcp_info of n bytes (n up to 256), the
// way a kernel whose struct is n bytes long sends it: every u32 field
// holds its own byte offset, every u64 field offset<<32|offset, so a
// field read from the wrong place shows.
func tcpInfoBytes(n int) []byte {
	b := make([]byte, 256)
	ne := binary.NativeEndian
	copy(b, []byte{sock.StateEstablished, 3, 2, 1, 4, 7, 0x97, 0x05})
	for off := 8; off < 104; off += 4 {
		ne.PutUint32(b[off:], uint32(off))
	}
	u64s := map[int]bool{104: true, 112: true, 120: true, 128: true, 160: true, 168: true, 176: true, 184: true, 200: true, 208: true}
	for off := 104; off < 240; {
		if u64s[off] {
			ne.PutUint64(b[off:], uint64(off)<<32|uint64(off))
			off += 8
			continue
		}
		ne.PutUint32(b[off:], uint32(off))
		off += 4
	}
	ne.PutUint16(b[240:], 240)
	ne.PutUint16(b[242:], 242)
	ne.PutUint32(b[244:], 244)
	ne.PutUint32(b[248:], 0xdeadbeef) // a field newer than the parser
	return b[:n]
}

func TestParseTCPInfo(t *testing.T) {
	u64 := func(off uint64) uint64 { return off<<32 | off }
	full := sock.TCPInfo{
		Len: 248, State: sock.StateEstablished, CAState: 3, Retransmits: 2, Probes: 1, Backoff: 4, Options: 7,
		SndWscale: 7, RcvWscale: 9, DeliveryRateAppLimited: true, FastopenClientFail: 2,
		RTOUs: 8, ATOUs: 12, SndMSS: 16, RcvMSS: 20, Unacked: 24, Sacked: 28, Lost: 32, Retrans: 36, Fackets: 40,
		LastDataSentMs: 44, LastAckSentMs: 48, LastDataRecvMs: 52, LastAckRecvMs: 56,
		PMTU: 60, RcvSsthresh: 64, RTTUs: 68, RTTVarUs: 72, SndSsthresh: 76, SndCwnd: 80, AdvMSS: 84,
		Reordering: 88, RcvRTTUs: 92, RcvSpace: 96, TotalRetrans: 100,
		PacingRate: u64(104), MaxPacingRate: u64(112), BytesAcked: u64(120), BytesReceived: u64(128),
		SegsOut: 136, SegsIn: 140, NotsentBytes: 144, MinRTTUs: 148, DataSegsIn: 152, DataSegsOut: 156,
		DeliveryRate: u64(160), BusyTimeUs: u64(168), RwndLimitedUs: u64(176), SndbufLimitedUs: u64(184),
		Delivered: 192, DeliveredCE: 196, BytesSent: u64(200), BytesRetrans: u64(208), DSACKDups: 216, ReordSeen: 220,
		RcvOOOPack: 224, SndWnd: 228, RcvWnd: 232, Rehash: 236,
		TotalRTO: 240, TotalRTORecoveries: 242, TotalRTOTimeMs: 244,
	}
	var got sock.TCPInfo
	parseTCPInfo(tcpInfoBytes(248), &got)
	if got != full {
		t.Errorf("248 bytes:\n got %+v\nwant %+v", got, full)
	}
	// A newer kernel's longer struct: the tail is ignored.
	parseTCPInfo(tcpInfoBytes(256), &got)
	longer := full
	longer.Len = 256
	if got != longer {
		t.Errorf("256 bytes: %+v", got)
	}

	// Older kernels: every field from the cut on reads zero, and Has
	// tells which groups arrived.
	for _, n := range []int{sock.TCPInfoLenBase, sock.TCPInfoLenPacingRate, sock.TCPInfoLenBytesAcked,
		sock.TCPInfoLenSegs, sock.TCPInfoLenMinRTT, sock.TCPInfoLenDeliveryRate, sock.TCPInfoLenBusyTime,
		sock.TCPInfoLenDelivered, sock.TCPInfoLenBytesSent, sock.TCPInfoLenRcvOOOPack, sock.TCPInfoLenSndWnd,
		sock.TCPInfoLenRcvWnd, 60, 0} {
		parseTCPInfo(tcpInfoBytes(n), &got)
		if got.Len != n {
			t.Errorf("%d bytes: Len %d", n, got.Len)
		}
		check := func(name string, v uint64, off int) {
			t.Helper()
			if present := off < n; present != (v != 0) {
				t.Errorf("%d bytes: %s = %#x (at offset %d)", n, name, v, off)
			}
		}
		check("SndCwnd", uint64(got.SndCwnd), 80)
		check("TotalRetrans", uint64(got.TotalRetrans), 100)
		check("PacingRate", got.PacingRate, 104)
		check("BytesReceived", got.BytesReceived, 128)
		check("SegsIn", uint64(got.SegsIn), 140)
		check("MinRTTUs", uint64(got.MinRTTUs), 148)
		check("DeliveryRate", got.DeliveryRate, 160)
		check("SndbufLimitedUs", got.SndbufLimitedUs, 184)
		check("DeliveredCE", uint64(got.DeliveredCE), 196)
		check("BytesSent", got.BytesSent, 200)
		check("ReordSeen", uint64(got.ReordSeen), 220)
		check("RcvOOOPack", uint64(got.RcvOOOPack), 224)
		check("SndWnd", uint64(got.SndWnd), 228)
		check("Rehash", uint64(got.Rehash), 236)
		check("TotalRTOTimeMs", uint64(got.TotalRTOTimeMs), 244)
		if got.Has(sock.TCPInfoLenBytesSent) != (n >= 224) || got.Has(sock.TCPInfoLenBase) != (n >= 104) {
			t.Errorf("%d bytes: Has is wrong", n)
		}
	}
	parseTCPInfo(tcpInfoBytes(248), &got)
	if got.RTTMs() != 0.068 || got.RTTVarMs() != 0.072 || got.MinRTTMs() != 0.148 {
		t.Errorf("ms: rtt %v rttvar %v minrtt %v", got.RTTMs(), got.RTTVarMs(), got.MinRTTMs())
	}
}

func TestParseMemInfo(t *testing.T) {
	var b []byte
	for i := range uint32(10) { // one counter more than today's kernels
		b = binary.NativeEndian.AppendUint32(b, 100+i)
	}
	var m sock.MemInfo
	parseMemInfo(b[:36], &m)
	want := sock.MemInfo{Len: 36, RmemAlloc: 100, Rcvbuf: 101, WmemAlloc: 102, Sndbuf: 103, FwdAlloc: 104,
		WmemQueued: 105, Optmem: 106, Backlog: 107, Drops: 108}
	if m != want {
		t.Errorf("36 bytes: %+v", m)
	}
	parseMemInfo(b, &m)
	if want.Len = 40; m != want {
		t.Errorf("40 bytes: %+v", m)
	}
	parseMemInfo(b[:32], &m) // before SK_MEMINFO_DROPS
	if want.Len, want.Drops = 32, 0; m != want {
		t.Errorf("32 bytes: %+v", m)
	}
	parseMemInfo(b[:6], &m)
	if m != (sock.MemInfo{Len: 6, RmemAlloc: 100}) {
		t.Errorf("6 bytes: %+v", m)
	}
}

func TestParseInetExtras(t *testing.T) {
	f := inetFields{
		family: unix.AF_INET, state: sock.StateEstablished,
		src: netip.MustParseAddrPort("127.0.0.1:80"), dst: netip.MustParseAddrPort("127.0.0.1:5555"),
	}
	mem := make([]byte, 36)
	binary.NativeEndian.PutUint32(mem[4:], 131072) // rcvbuf
	attrs := [][]byte{
		nlattr(14, nil), // INET_DIAG_PAD before the 64-bit aligned tcp_info
		nlattr(inetDiagInfo, tcpInfoBytes(232)),
		nlattr(inetDiagCong, []byte("bbr\x00")),
		nlattr(inetDiagSkMemInfo, mem),
		nlattr(inetDiagShutdown, []byte{sock.ShutdownWrite}),
		nlattr(inetDiagCgroupID, binary.NativeEndian.AppendUint64(nil, 4242)),
		nlattr(22, []byte{0x02, 0x00}), // INET_DIAG_SOCKOPT
	}
	b := inetMsg(f, attrs...)

	s, err := parseInetMessage(b, unix.AF_INET, sock.TCP, 0, nil)
	if err != nil || s.Extra != nil {
		t.Fatalf("no extras asked: Extra %+v, err %v", s.Extra, err)
	}

	arena := &extraArena{}
	s, err = parseInetMessage(b, unix.AF_INET, sock.TCP, sock.AllExtras, arena)
	if err != nil {
		t.Fatal(err)
	}
	e := s.Extra
	if !e.Has(sock.AllExtras) || e.TCP.Len != 232 || e.TCP.SndCwnd != 80 || e.Congestion != "bbr" ||
		e.Mem.Rcvbuf != 131072 || e.Shutdown != sock.ShutdownWrite || e.CgroupID != 4242 {
		t.Errorf("all extras: %+v", e)
	}
	s2, _ := parseInetMessage(b, unix.AF_INET, sock.TCP, sock.AllExtras, arena)
	if s2.Extra == s.Extra || s2.Extra.Congestion != "bbr" {
		t.Errorf("second socket shares the first's Extra")
	}

	// Only what was asked for is decoded.
	s, _ = parseInetMessage(b, unix.AF_INET, sock.TCP, sock.ExtraCgroup, arena)
	if s.Extra.Have != sock.ExtraCgroup || s.Extra.TCP.Len != 0 || s.Extra.Congestion != "" {
		t.Errorf("cgroup only: %+v", s.Extra)
	}
	// tcp_info on a UDP socket is not TCP's; and a TIME_WAIT socket's
	// reply carries no attributes, so no Extra.
	s, _ = parseInetMessage(b, unix.AF_INET, sock.UDP, sock.ExtraTCPInfo, arena)
	if s.Extra != nil {
		t.Errorf("udp with tcp_info: %+v", s.Extra)
	}
	f.state = sock.StateTimeWait
	s, _ = parseInetMessage(inetMsg(f), unix.AF_INET, sock.TCP, sock.AllExtras, arena)
	if s.Extra != nil || s.Extra.Has(sock.ExtraTCPInfo) {
		t.Errorf("TIME_WAIT: %+v", s.Extra)
	}
}

func TestParseUnixExtras(t *testing.T) {
	mem := make([]byte, 36)
	binary.NativeEndian.PutUint32(mem[12:], 212992) // sndbuf
	b := unixMsg(sock.TypeStream, sock.StateEstablished, 7, 0,
		nlattr(unixDiagMemInfo, mem), nlattr(unixDiagShutdown, []byte{sock.ShutdownRead | sock.ShutdownWrite}))
	s, err := parseUnixMessage(b, sock.AllExtras, &extraArena{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Extra.Have != sock.ExtraMemInfo|sock.ExtraShutdown || s.Extra.Mem.Sndbuf != 212992 || s.Extra.Shutdown != 3 {
		t.Errorf("unix extras: %+v", s.Extra)
	}
}

// TestRequestExtrasAndBytecode checks the request bytes: no extras and
// no filter leave idiag_ext 0 and add no attribute; extras set exactly
// their bits; a program travels in an INET_DIAG_REQ_BYTECODE attribute.
func TestRequestExtrasAndBytecode(t *testing.T) {
	ne := binary.NativeEndian
	d := dumps[0] // tcp
	plain := d.request(&sock.Request{}, nil)
	if len(plain) != nlmsgHdrLen+inetReqLen || plain[nlmsgHdrLen+2] != 0 {
		t.Errorf("no extras: % x", plain)
	}
	// AllStates asks for ESTABLISHED..NEW_SYN_RECV, not TCP_BOUND_INACTIVE
	// (bit 13), which would walk the bind hash too.
	if st := ne.Uint32(plain[nlmsgHdrLen+4:]); st != 0x1ffe {
		t.Errorf("all states: idiag_states %#x, want 0x1ffe", st)
	}
	req := &sock.Request{Extras: sock.AllExtras}
	b := d.request(req, nil)
	// INFO 1<<1, CONG 1<<3, SKMEMINFO 1<<6; shutdown and cgroup come unasked.
	if ext := b[nlmsgHdrLen+2]; ext != 0x02|0x08|0x40 {
		t.Errorf("all extras: idiag_ext %#x", ext)
	}
	if ext := idiagExt(sock.ExtraCgroup | sock.ExtraShutdown); ext != 0 {
		t.Errorf("cgroup and shutdown: idiag_ext %#x, want 0", ext)
	}
	if ext := idiagExt(sock.ExtraTCPInfo); ext != 1<<(inetDiagInfo-1) {
		t.Errorf("tcp_info: idiag_ext %#x", ext)
	}

	prog, err := compileFilter(&sock.Filter{LocalPorts: []sock.PortRange{sock.Port(80), sock.Port(443)}}, unix.AF_INET)
	if err != nil {
		t.Fatal(err)
	}
	b = d.request(&sock.Request{}, prog)
	if len(b) != nlmsgHdrLen+inetReqLen+nlaHdrLen+len(prog) || int(ne.Uint32(b)) != len(b) {
		t.Fatalf("with bytecode: %d bytes, header says %d", len(b), ne.Uint32(b))
	}
	a := b[nlmsgHdrLen+inetReqLen:]
	if ne.Uint16(a) != uint16(nlaHdrLen+len(prog)) || ne.Uint16(a[2:]) != inetDiagReqBytecode || string(a[4:]) != string(prog) {
		t.Errorf("bytecode attribute % x", a)
	}
	if b[nlmsgHdrLen+2] != 0 {
		t.Errorf("a filter alone sets idiag_ext %#x", b[nlmsgHdrLen+2])
	}

	u := unixRequest(sock.AllStates, 0)
	if show := ne.Uint32(u[nlmsgHdrLen+12:]); show&udiagShowMemInfo != 0 {
		t.Errorf("unix without extras asks for meminfo: %#x", show)
	}
	u = unixRequest(sock.AllStates, sock.ExtraMemInfo)
	if show := ne.Uint32(u[nlmsgHdrLen+12:]); show&udiagShowMemInfo == 0 {
		t.Errorf("unix with meminfo: show %#x", show)
	}
}
