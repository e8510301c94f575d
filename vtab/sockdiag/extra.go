package sockdiag

import (
	"encoding/binary"

	"github.com/netsql/netsql/vtab/sock"
)

// inet_diag extensions: a request asks for most of them with bit
// 1<<(attribute-1) of idiag_ext; the reply carries each as an attribute.
const (
	inetDiagInfo      = 2  // INET_DIAG_INFO: struct tcp_info (TCP only)
	inetDiagCong      = 4  // INET_DIAG_CONG: congestion algorithm name, NUL-terminated
	inetDiagSkMemInfo = 7  // INET_DIAG_SKMEMINFO: u32[SK_MEMINFO_VARS]
	inetDiagShutdown  = 8  // INET_DIAG_SHUTDOWN: u8 sk_shutdown, sent unasked
	inetDiagCgroupID  = 21 // INET_DIAG_CGROUP_ID: u64, sent unasked (Linux 5.7+)

	// unix_diag: skmem on request (UDIAG_SHOW_MEMINFO), shutdown unasked.
	unixDiagMemInfo  = 5 // UNIX_DIAG_MEMINFO: u32[SK_MEMINFO_VARS]
	unixDiagShutdown = 6 // UNIX_DIAG_SHUTDOWN: u8
	udiagShowMemInfo = 0x08

	tcpInfoMaxLen = sock.TCPInfoLenTotalRTO // the longest struct tcp_info read
	skMemInfoVars = 9                       // SK_MEMINFO_VARS of current kernels
)

// idiagExt returns the idiag_ext bits that ask the kernel for extras.
// Shutdown state and cgroup id come with every full socket unasked (a
// cgroup id only from Linux 5.7), so they need no bit; tcp_info, the
// congestion algorithm and skmem do. No extras, no bits.
func idiagExt(x sock.Extras) uint8 {
	var ext uint8
	if x&sock.ExtraTCPInfo != 0 {
		ext |= 1 << (inetDiagInfo - 1)
	}
	if x&sock.ExtraCongestion != 0 {
		ext |= 1 << (inetDiagCong - 1)
	}
	if x&sock.ExtraMemInfo != 0 {
		ext |= 1 << (inetDiagSkMemInfo - 1)
	}
	return ext
}

// extraArena hands out sock.Extra values from chunks, so a dump of many
// sockets with extras allocates once per chunk rather than once per
// socket, and shares the congestion algorithm's name between sockets.
type extraArena struct {
	chunk []sock.Extra
	cong  string // the last congestion algorithm name seen
}

const arenaChunk = 256

// keep copies e into the arena and returns its address there.
func (a *extraArena) keep(e *sock.Extra) *sock.Extra {
	if len(a.chunk) == 0 {
		a.chunk = make([]sock.Extra, arenaChunk)
	}
	p := &a.chunk[0]
	a.chunk = a.chunk[1:]
	*p = *e
	return p
}

// congestion returns the NUL-terminated name in p as a string, reusing
// the previous socket's string when equal.
func (a *extraArena) congestion(p []byte) string {
	for i, c := range p {
		if c == 0 {
			p = p[:i]
			break
		}
	}
	if string(p) != a.cong {
		a.cong = string(p)
	}
	return a.cong
}

// parseTCPInfo decodes struct tcp_info. The struct grows with the kernel:
// a short one leaves the fields it lacks zero, a longer one's tail (fields
// newer than this parser) is ignored. Len records the length the kernel
// sent, so callers can tell a zero from an absent field.
func parseTCPInfo(p []byte, t *sock.TCPInfo) {
	var b [tcpInfoMaxLen]byte
	copy(b[:], p)
	ne := binary.NativeEndian
	u32 := func(off int) uint32 { return ne.Uint32(b[off:]) }
	u64 := func(off int) uint64 { return ne.Uint64(b[off:]) }
	*t = sock.TCPInfo{
		Len:                    len(p),
		State:                  b[0],
		CAState:                b[1],
		Retransmits:            b[2],
		Probes:                 b[3],
		Backoff:                b[4],
		Options:                b[5],
		SndWscale:              b[6] & 0x0f,
		RcvWscale:              b[6] >> 4,
		DeliveryRateAppLimited: b[7]&1 != 0,
		FastopenClientFail:     b[7] >> 1 & 3,

		RTOUs:          u32(8),
		ATOUs:          u32(12),
		SndMSS:         u32(16),
		RcvMSS:         u32(20),
		Unacked:        u32(24),
		Sacked:         u32(28),
		Lost:           u32(32),
		Retrans:        u32(36),
		Fackets:        u32(40),
		LastDataSentMs: u32(44),
		LastAckSentMs:  u32(48),
		LastDataRecvMs: u32(52),
		LastAckRecvMs:  u32(56),
		PMTU:           u32(60),
		RcvSsthresh:    u32(64),
		RTTUs:          u32(68),
		RTTVarUs:       u32(72),
		SndSsthresh:    u32(76),
		SndCwnd:        u32(80),
		AdvMSS:         u32(84),
		Reordering:     u32(88),
		RcvRTTUs:       u32(92),
		RcvSpace:       u32(96),
		TotalRetrans:   u32(100),

		PacingRate:      u64(104),
		MaxPacingRate:   u64(112),
		BytesAcked:      u64(120),
		BytesReceived:   u64(128),
		SegsOut:         u32(136),
		SegsIn:          u32(140),
		NotsentBytes:    u32(144),
		MinRTTUs:        u32(148),
		DataSegsIn:      u32(152),
		DataSegsOut:     u32(156),
		DeliveryRate:    u64(160),
		BusyTimeUs:      u64(168),
		RwndLimitedUs:   u64(176),
		SndbufLimitedUs: u64(184),
		Delivered:       u32(192),
		DeliveredCE:     u32(196),
		BytesSent:       u64(200),
		BytesRetrans:    u64(208),
		DSACKDups:       u32(216),
		ReordSeen:       u32(220),
		RcvOOOPack:      u32(224),
		SndWnd:          u32(228),
		RcvWnd:          u32(232),
		Rehash:          u32(236),

		TotalRTO:           ne.Uint16(b[240:]),
		TotalRTORecoveries: ne.Uint16(b[242:]),
		TotalRTOTimeMs:     u32(244),
	}
}

// parseMemInfo decodes the u32 array of INET_DIAG_SKMEMINFO or
// UNIX_DIAG_MEMINFO in SK_MEMINFO_* order; counters a short array lacks
// (Drops before Linux 4.6) stay zero, and counters newer than this parser
// are ignored.
func parseMemInfo(p []byte, m *sock.MemInfo) {
	var v [skMemInfoVars]uint32
	for i := range v {
		if 4*i+4 > len(p) {
			break
		}
		v[i] = binary.NativeEndian.Uint32(p[4*i:])
	}
	*m = sock.MemInfo{
		Len:       len(p),
		RmemAlloc: v[0], Rcvbuf: v[1], WmemAlloc: v[2], Sndbuf: v[3],
		FwdAlloc: v[4], WmemQueued: v[5], Optmem: v[6], Backlog: v[7], Drops: v[8],
	}
}
