// Package sock holds the socket record shared by every reader of kernel
// socket tables (netlink sock_diag and the /proc/net text files), and the
// request that tells a reader which sockets a query needs.
//
// Readers fill Socket in kernel terms (numeric states, raw queue sizes); the
// sockets table turns them into netstat's vocabulary.
package sock

import (
	"context"
	"net/netip"
)

// Proto is the transport a socket belongs to.
type Proto uint8

// The transports netsql reads.
const (
	TCP Proto = iota + 1
	UDP
	RAW
	UNIX
	// UDPLite is UDP-Lite (RFC 3828, IPPROTO_UDPLITE): /proc/net/udplite
	// and udplite6, netstat's udpl and udpl6.
	UDPLite
)

// Protos lists every transport in the order netstat prints them (tcp, udp,
// udplite, raw, unix). It is the one list the protocol words, the readers'
// dumps and the sockets table's closed sets of values derive from.
var Protos = []Proto{TCP, UDP, UDPLite, RAW, UNIX}

// protoNames holds each Proto's name and netstat's word for it.
var protoNames = [...]struct{ name, netstat string }{
	TCP:     {"tcp", "tcp"},
	UDP:     {"udp", "udp"},
	UDPLite: {"udplite", "udpl"},
	RAW:     {"raw", "raw"},
	UNIX:    {"unix", "unix"},
}

// String returns the protocol's lower-case name (tcp, udp, udplite, raw,
// unix), "unknown" for a value outside Protos.
func (p Proto) String() string {
	if int(p) < len(protoNames) && protoNames[p].name != "" {
		return protoNames[p].name
	}
	return "unknown"
}

// NetstatWord returns the word netstat's Proto column starts with for the
// protocol (tcp, udp, udpl, raw, unix); IPv6 sockets add "6".
func (p Proto) NetstatWord() string {
	if int(p) < len(protoNames) && protoNames[p].netstat != "" {
		return protoNames[p].netstat
	}
	return "unknown"
}

// Kernel socket states, numbered as include/net/tcp_states.h numbers them.
// sock_diag reports every socket kind (unix included) in these numbers;
// the /proc/net readers convert to them.
const (
	StateEstablished uint8 = 1
	StateSynSent     uint8 = 2
	StateSynRecv     uint8 = 3
	StateFinWait1    uint8 = 4
	StateFinWait2    uint8 = 5
	StateTimeWait    uint8 = 6
	StateClose       uint8 = 7
	StateCloseWait   uint8 = 8
	StateLastAck     uint8 = 9
	StateListen      uint8 = 10
	StateClosing     uint8 = 11
	StateNewSynRecv  uint8 = 12
)

// AllStates is a state mask that selects every state.
const AllStates uint32 = 0xffffffff

// Unix socket types (SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET, SOCK_RAW).
const (
	TypeStream    uint8 = 1
	TypeDgram     uint8 = 2
	TypeRaw       uint8 = 3
	TypeSeqPacket uint8 = 5
)

// Timer kinds as /proc/net/tcp's "tr" field numbers them (and as sock_diag's
// idiag_timer does): 0 none, 1 retransmit, 2 keepalive, 3 TIME_WAIT,
// 4 zero-window probe.
const (
	TimerOff       uint8 = 0
	TimerOn        uint8 = 1
	TimerKeepalive uint8 = 2
	TimerTimeWait  uint8 = 3
	TimerProbe     uint8 = 4
)

// Socket is one kernel socket. Fields that a kind of socket does not have
// stay zero (an inet socket has no Path, a unix socket no ports).
type Socket struct {
	Family   uint8 // unix.AF_INET, unix.AF_INET6 or unix.AF_UNIX
	Protocol Proto
	// RawProtocol is the IP protocol number of a raw socket (1 for ICMP);
	// the kernel reports it as the local port, and so does Local.
	RawProtocol uint8
	State       uint8 // a State* constant
	// BoundIf is the ifindex of the device the socket is bound to
	// (SO_BINDTODEVICE, or the interface of a link-local IPv6 address
	// it is bound or connected to), 0 when unbound or unknown: only
	// sock_diag reports it (idiag_if, the kernel's sk_bound_dev_if).
	BoundIf uint32

	Local  netip.AddrPort // inet only; addresses carry no zone
	Remote netip.AddrPort // inet only

	// RecvQ and SendQ are what netstat prints: bytes queued to read and
	// to send; for a listener RecvQ is the accept queue's length and SendQ
	// is 0, as /proc/net/tcp shows it.
	RecvQ uint32
	SendQ uint32
	// Backlog is a listener's maximum accept backlog (listen(2)'s
	// argument as the kernel capped it). Only sock_diag reports it.
	Backlog uint32

	UID   uint32
	Inode uint64

	// Timer is a Timer* constant; TimerExpiresMs the milliseconds until it
	// fires (negative when already due); Retransmits the retransmit or
	// probe count netstat -o shows after the expiry.
	Timer          uint8
	TimerExpiresMs int64
	Retransmits    uint32

	// Unix sockets only.
	Type      uint8  // Type* constant
	Path      string // bound path, abstract names as "@name", "" when unbound
	PeerInode uint64 // inode of the connected peer, 0 when unknown or none
	RefCount  uint32 // only /proc/net/unix reports it (see ProcNet)
	// UnixFlags is /proc/net/unix's Flags column (0x10000, __SO_ACCEPTCON,
	// on a listener: netstat's ACC); only /proc/net/unix reports it.
	UnixFlags uint32
	// Probes is TCP's unanswered keepalive or zero-window probe count
	// (icsk_probes_out), /proc/net/tcp's "timeout" column and netstat -o's
	// third number; only /proc/net reports it (sock_diag folds it into
	// Retransmits for keepalive and probe timers).
	Probes uint32
	// ProcNet is true when RefCount, UnixFlags and Probes hold what
	// /proc/net shows for the socket: it was read from there, or matched
	// there (JoinProcNet). When false they are unknown, not zero.
	ProcNet bool
	// NoQueues is true when RecvQ and SendQ are unknown: /proc/net/unix
	// has no queue columns.
	NoQueues bool

	// Cookie is the kernel's socket cookie (sock_diag only, 0 from /proc).
	Cookie uint64

	// Extra holds the details Request.Extras asked for: nil when it asked
	// for none, when the kernel reported none for this socket (a TIME_WAIT
	// socket has none), and always from /proc/net. Extra.Have says which
	// parts the kernel reported.
	Extra *Extra
}

// Request says which sockets a query needs, so a reader can skip whole
// dumps and let the kernel filter by state.
type Request struct {
	// Families and Protocols select which dumps run; an empty slice means all.
	Families  []uint8
	Protocols []Proto
	// States is a bitmask of 1<<State* values; 0 means AllStates.
	States uint32

	// Extras asks for optional per-socket details (tcp_info, memory,
	// congestion algorithm, cgroup, shutdown state), which readers that
	// can (sock_diag) put in Socket.Extra. 0 asks for none, and the kernel
	// is not asked for any.
	Extras Extras

	// Filter keeps only sockets with these ports and addresses. The zero
	// Filter keeps all. sock_diag has the kernel filter (inet_diag
	// bytecode) and checks every socket again; /proc/net readers filter
	// as they parse. Both return exactly the sockets Filter.Match accepts.
	Filter Filter
}

// Wants reports whether the request covers sockets of this family and
// protocol: both are selected by Families and Protocols, and the Filter
// can match such sockets (a non-zero Filter never matches unix sockets).
func (r Request) Wants(family uint8, proto Proto) bool {
	return containsOrEmpty(r.Families, family) && containsOrEmpty(r.Protocols, proto) &&
		r.Filter.CanMatch(family, proto)
}

// StateMask returns the request's state bitmask with 0 read as AllStates.
func (r Request) StateMask() uint32 {
	if r.States == 0 {
		return AllStates
	}
	return r.States
}

func containsOrEmpty[T comparable](xs []T, x T) bool {
	if len(xs) == 0 {
		return true
	}
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// Reader reads sockets: netlink sock_diag on a live kernel, /proc/net files
// on a live kernel without netlink or on a copied /proc tree. A reader may
// return sockets together with an error that says which part it could not
// read (sockdiag.UnavailableError); callers that do not handle that error
// must treat the sockets as incomplete.
type Reader interface {
	Sockets(ctx context.Context, req Request) ([]Socket, error)
}
