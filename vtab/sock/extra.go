package sock

// Extras is a bitmask of optional per-socket details a Request can ask for.
// They cost the kernel work per socket (TCPInfo takes each socket's lock),
// so readers fetch only what a query needs. Only netlink sock_diag reports
// them; the /proc/net readers ignore Extras and leave Socket.Extra nil.
type Extras uint32

// The extras a Request can ask for.
const (
	// ExtraTCPInfo asks for struct tcp_info (TCP sockets only, not in
	// TIME_WAIT or SYN_RECV): RTT, congestion window, MSS, retransmits,
	// byte counters, pacing and delivery rates. Filled into Extra.TCP.
	ExtraTCPInfo Extras = 1 << iota
	// ExtraMemInfo asks for the socket memory counters `ss -m` shows as
	// skmem (INET_DIAG_SKMEMINFO). Filled into Extra.Mem.
	ExtraMemInfo
	// ExtraCongestion asks for the congestion control algorithm's name
	// (TCP sockets only). Filled into Extra.Congestion.
	ExtraCongestion
	// ExtraCgroup asks for the cgroup v2 id of the socket's owner
	// (Linux 5.7 and later). Filled into Extra.CgroupID.
	ExtraCgroup
	// ExtraShutdown asks for which directions were shut down
	// (shutdown(2)). Filled into Extra.Shutdown.
	ExtraShutdown

	// AllExtras asks for every extra.
	AllExtras = ExtraTCPInfo | ExtraMemInfo | ExtraCongestion | ExtraCgroup | ExtraShutdown
)

// Shutdown bits of Extra.Shutdown, as the kernel's sk_shutdown holds them.
const (
	ShutdownRead  uint8 = 1 // RCV_SHUTDOWN: no more receives (SHUT_RD, or the peer's FIN read)
	ShutdownWrite uint8 = 2 // SEND_SHUTDOWN: no more sends (SHUT_WR)
)

// Extra holds the optional details of one socket. Socket.Extra is nil when
// the request asked for no extras or the kernel reported none of them for
// the socket (TIME_WAIT and SYN_RECV sockets report none); otherwise Have
// says which parts were reported (a UDP socket has no TCPInfo), and the
// fields of the other parts are zero.
type Extra struct {
	// Have holds the Extra* bits of the parts below that are filled.
	Have Extras

	TCP TCPInfo // with ExtraTCPInfo
	Mem MemInfo // with ExtraMemInfo

	// Congestion is the congestion control algorithm ("cubic", "bbr"),
	// with ExtraCongestion.
	Congestion string
	// CgroupID is the inode number of the socket's cgroup v2 directory,
	// with ExtraCgroup.
	CgroupID uint64
	// Shutdown holds ShutdownRead and ShutdownWrite bits, with
	// ExtraShutdown.
	Shutdown uint8
}

// Has reports whether e is non-nil and holds every part in x.
func (e *Extra) Has(x Extras) bool { return e != nil && e.Have&x == x }

// MemInfo is a socket's memory accounting (INET_DIAG_SKMEMINFO), in bytes
// except Drops, as `ss -m` prints it: skmem:(r, rb, t, tb, f, w, o, bl, d).
type MemInfo struct {
	// Len is how many bytes of counters the kernel sent (36 today);
	// counters beyond it are zero. Drops needs 36 (Linux 4.6 and later).
	Len int

	RmemAlloc  uint32 // r: receive queue memory in use
	Rcvbuf     uint32 // rb: receive buffer size (SO_RCVBUF)
	WmemAlloc  uint32 // t: transmit memory handed to the IP layer, not yet freed
	Sndbuf     uint32 // tb: send buffer size (SO_SNDBUF)
	FwdAlloc   uint32 // f: memory reserved for the socket but not yet used
	WmemQueued uint32 // w: send queue memory not yet handed to the IP layer
	Optmem     uint32 // o: option memory (filters, MD5 keys)
	Backlog    uint32 // bl: socket backlog queue length
	Drops      uint32 // d: packets dropped before reaching the socket (count)
}

// InfiniteSsthresh is the value of TCPInfo.SndSsthresh before slow start
// ended for the first time (TCP_INFINITE_SSTHRESH). ss prints no ssthresh
// for values of 0xffff and above.
const InfiniteSsthresh uint32 = 0x7fffffff

// Lengths of struct tcp_info at which optional fields appear. The kernel
// sends the struct of its own version; TCPInfo.Len says how long that was,
// and fields beyond it are zero. Kernel versions are given for orientation.
const (
	TCPInfoLenBase         = 104 // every field through TotalRetrans (2.6)
	TCPInfoLenPacingRate   = 120 // PacingRate, MaxPacingRate (3.15)
	TCPInfoLenBytesAcked   = 136 // BytesAcked, BytesReceived (4.1)
	TCPInfoLenSegs         = 144 // SegsOut, SegsIn (4.2)
	TCPInfoLenMinRTT       = 160 // NotsentBytes, MinRTTUs, DataSegsIn, DataSegsOut (4.6)
	TCPInfoLenDeliveryRate = 168 // DeliveryRate (4.9)
	TCPInfoLenBusyTime     = 192 // BusyTimeUs, RwndLimitedUs, SndbufLimitedUs (4.10)
	TCPInfoLenDelivered    = 200 // Delivered, DeliveredCE (4.18)
	TCPInfoLenBytesSent    = 224 // BytesSent, BytesRetrans, DSACKDups, ReordSeen (4.19)
	TCPInfoLenRcvOOOPack   = 228 // RcvOOOPack (5.4)
	TCPInfoLenSndWnd       = 232 // SndWnd (5.4)
	TCPInfoLenRcvWnd       = 240 // RcvWnd, Rehash (6.2)
	TCPInfoLenTotalRTO     = 248 // TotalRTO, TotalRTORecoveries, TotalRTOTimeMs (6.7)
)

// TCPInfo is struct tcp_info (include/uapi/linux/tcp.h) as sock_diag
// reports it, in the kernel's units: times in microseconds (Us) or
// milliseconds (Ms) as the names say, windows and thresholds in segments,
// rates in bytes per second, counters as counts. Fields the kernel's
// struct is too short for are zero: see the TCPInfoLen* constants and Has.
type TCPInfo struct {
	// Len is the length of the struct the kernel sent. Fields at or
	// beyond it are zero; Has tells whether a field group was sent.
	Len int

	State       uint8 // the TCP state, a State* constant
	CAState     uint8 // congestion avoidance state: 0 open, 1 disorder, 2 CWR, 3 recovery, 4 loss
	Retransmits uint8 // retransmits of the current unacknowledged segment (RTO backoff count)
	Probes      uint8 // unanswered zero-window or keepalive probes
	Backoff     uint8 // RTO exponential backoff
	Options     uint8 // TCPI_OPT_* bits: 1 timestamps, 2 SACK, 4 window scaling, 8 ECN, 16 ECN seen, 32 SYN data
	SndWscale   uint8 // send window scale (with Options&4)
	RcvWscale   uint8 // receive window scale (with Options&4)
	// DeliveryRateAppLimited is set when DeliveryRate was measured while
	// the application, not the network, limited sending.
	DeliveryRateAppLimited bool
	FastopenClientFail     uint8 // why a TCP Fast Open client fell back (0 none)

	RTOUs          uint32 // retransmission timeout
	ATOUs          uint32 // delayed ACK timeout
	SndMSS         uint32 // sending MSS in bytes (ss: mss)
	RcvMSS         uint32 // MSS estimated for the receive side, bytes (ss: rcvmss)
	Unacked        uint32 // segments sent and not yet acknowledged
	Sacked         uint32 // segments selectively acknowledged
	Lost           uint32 // segments considered lost (ss: lost)
	Retrans        uint32 // segments retransmitted and not yet acknowledged (ss: retrans:X/)
	Fackets        uint32 // unused by current kernels, always 0
	LastDataSentMs uint32 // since the last data segment was sent
	LastAckSentMs  uint32 // not tracked by the kernel, always 0
	LastDataRecvMs uint32 // since the last data segment was received
	LastAckRecvMs  uint32 // since the last ACK was received
	PMTU           uint32 // path MTU, bytes
	RcvSsthresh    uint32 // receive window clamp during slow start, bytes
	RTTUs          uint32 // smoothed round-trip time (ss: rtt:X/)
	RTTVarUs       uint32 // round-trip time variance (ss: rtt:/X)
	SndSsthresh    uint32 // slow start threshold, segments; InfiniteSsthresh before the first loss
	SndCwnd        uint32 // congestion window, segments (ss: cwnd)
	AdvMSS         uint32 // advertised MSS, bytes
	Reordering     uint32 // reordering degree the sender tolerates, segments
	RcvRTTUs       uint32 // receiver-side RTT estimate (ss: rcv_rtt)
	RcvSpace       uint32 // receive buffer space autotuning target, bytes (ss: rcv_space)
	TotalRetrans   uint32 // segments retransmitted over the connection's life (ss: retrans:/X)

	PacingRate      uint64 // current pacing rate, bytes/s; ^0 when unlimited
	MaxPacingRate   uint64 // SO_MAX_PACING_RATE, bytes/s; ^0 when unset
	BytesAcked      uint64 // bytes acknowledged by the peer (ss: bytes_acked)
	BytesReceived   uint64 // bytes received and acknowledged (ss: bytes_received)
	SegsOut         uint32 // segments sent, retransmits included
	SegsIn          uint32 // segments received
	NotsentBytes    uint32 // bytes queued and not yet sent
	MinRTTUs        uint32 // minimum RTT seen over a recent window (ss: minrtt)
	DataSegsIn      uint32 // segments received that carried data
	DataSegsOut     uint32 // segments sent that carried data
	DeliveryRate    uint64 // most recent delivery rate sample, bytes/s
	BusyTimeUs      uint64 // time with data in flight
	RwndLimitedUs   uint64 // time limited by the peer's receive window
	SndbufLimitedUs uint64 // time limited by the send buffer
	Delivered       uint32 // segments delivered, retransmits included
	DeliveredCE     uint32 // segments delivered with an ECN CE mark
	BytesSent       uint64 // bytes sent, retransmits included (ss: bytes_sent)
	BytesRetrans    uint64 // bytes retransmitted (ss: bytes_retrans)
	DSACKDups       uint32 // duplicate segments reported by D-SACK
	ReordSeen       uint32 // reordering events seen
	RcvOOOPack      uint32 // out-of-order segments received
	SndWnd          uint32 // the peer's advertised receive window, bytes
	RcvWnd          uint32 // our advertised receive window, bytes
	Rehash          uint32 // path rehash attempts (PLB or timeouts)

	TotalRTO           uint16 // RTO timeouts over the connection's life
	TotalRTORecoveries uint16 // RTO recoveries, an unfinished one included
	TotalRTOTimeMs     uint32 // time spent in RTO recoveries
}

// Has reports whether the kernel's struct was long enough to hold the
// fields that appear at length n (a TCPInfoLen* constant).
func (t *TCPInfo) Has(n int) bool { return t.Len >= n }

// RTTMs returns the smoothed RTT in milliseconds, as ss prints it.
func (t *TCPInfo) RTTMs() float64 { return float64(t.RTTUs) / 1000 }

// RTTVarMs returns the RTT variance in milliseconds, as ss prints it.
func (t *TCPInfo) RTTVarMs() float64 { return float64(t.RTTVarUs) / 1000 }

// MinRTTMs returns the minimum RTT in milliseconds, as ss prints it.
func (t *TCPInfo) MinRTTMs() float64 { return float64(t.MinRTTUs) / 1000 }
