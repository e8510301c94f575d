package sockdiag

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/netsql/netsql/vtab/netlink"
	"github.com/netsql/netsql/vtab/sock"
)

// Wire layout of the sock_diag structures (include/uapi/linux/inet_diag.h,
// unix_diag.h, netlink.h). Multi-byte fields are in host byte order except
// the inet_diag ports and addresses, which are in network byte order.
const (
	nlmsgHdrLen = 16 // struct nlmsghdr
	nlaHdrLen   = 4  // struct nlattr

	inetReqLen = 56 // struct inet_diag_req_v2
	inetMsgLen = 72 // struct inet_diag_msg
	unixReqLen = 24 // struct unix_diag_req
	unixMsgLen = 16 // struct unix_diag_msg

	// Offsets inside struct inet_diag_msg.
	inetOffFamily  = 0
	inetOffState   = 1
	inetOffTimer   = 2
	inetOffRetrans = 3
	inetOffSport   = 4
	inetOffDport   = 6
	inetOffSrc     = 8
	inetOffDst     = 24
	inetOffIf      = 40
	inetOffCookie  = 44
	inetOffExpires = 52
	inetOffRqueue  = 56
	inetOffWqueue  = 60
	inetOffUID     = 64
	inetOffInode   = 68

	// Offsets inside struct unix_diag_msg.
	unixOffFamily = 0
	unixOffType   = 1
	unixOffState  = 2
	unixOffInode  = 4
	unixOffCookie = 8

	// inet_diag response attributes.
	inetDiagProtocol = 10 // INET_DIAG_PROTOCOL: u8, raw sockets only

	// unix_diag response attributes.
	unixDiagName  = 0 // UNIX_DIAG_NAME: sun_path bytes
	unixDiagPeer  = 2 // UNIX_DIAG_PEER: u32 peer inode
	unixDiagRQLen = 4 // UNIX_DIAG_RQLEN: struct unix_diag_rqlen
	unixDiagUID   = 7 // UNIX_DIAG_UID: u32

	// udiag_show flags.
	udiagShowName  = 0x01
	udiagShowPeer  = 0x04
	udiagShowRQLen = 0x10
	udiagShowUID   = 0x40
)

// errShort reports a message or attribute shorter than its header says:
// the netlink core's framing sentinel, which the parsers here wrap too.
var errShort = netlink.ErrMalformed

func align4(n int) int { return netlink.Align(n) }

// nextAttr splits the first netlink attribute off b (netlink.SplitAttr).
// It returns the attribute type (flags stripped), its payload, and the
// rest of b after the attribute's padding, or an error when b holds no
// complete attribute.
func nextAttr(b []byte) (typ uint16, payload, rest []byte, err error) {
	a, rest, err := netlink.SplitAttr(b)
	if err != nil {
		return 0, nil, nil, err
	}
	return a.Type(), a.Value, rest, nil
}

// parseInetMessage decodes the payload of one SOCK_DIAG_BY_FAMILY reply
// from an inet_diag dump (struct inet_diag_msg plus attributes). family and
// proto are what the dump asked for; a reply of another family is an error.
// want says which extras to decode into Socket.Extra, which is allocated
// from arena, and only when the reply carries some; arena may be nil when
// want is 0.
func parseInetMessage(b []byte, family uint8, proto sock.Proto, want sock.Extras, arena *extraArena) (sock.Socket, error) {
	var s sock.Socket
	if len(b) < inetMsgLen {
		return s, fmt.Errorf("inet_diag_msg of %d bytes: %w", len(b), errShort)
	}
	if f := b[inetOffFamily]; f != family {
		return s, fmt.Errorf("inet_diag_msg family %d in a dump of family %d", f, family)
	}
	s.Family = family
	s.Protocol = proto
	s.State = b[inetOffState]
	s.Timer = b[inetOffTimer]
	s.Retransmits = uint32(b[inetOffRetrans])

	sport := binary.BigEndian.Uint16(b[inetOffSport:])
	dport := binary.BigEndian.Uint16(b[inetOffDport:])
	var src, dst netip.Addr
	switch family {
	case unix.AF_INET:
		src = netip.AddrFrom4([4]byte(b[inetOffSrc : inetOffSrc+4]))
		dst = netip.AddrFrom4([4]byte(b[inetOffDst : inetOffDst+4]))
	case unix.AF_INET6:
		src = netip.AddrFrom16([16]byte(b[inetOffSrc : inetOffSrc+16]))
		dst = netip.AddrFrom16([16]byte(b[inetOffDst : inetOffDst+16]))
	default:
		return s, fmt.Errorf("inet_diag_msg of unknown family %d", family)
	}

	s.BoundIf = binary.NativeEndian.Uint32(b[inetOffIf:]) // idiag_if: sk_bound_dev_if
	s.Cookie = cookie(b[inetOffCookie:])
	// idiag_expires is a u32 of milliseconds. Current kernels clamp a due
	// timer to 0; older ones let the negative delta wrap, which reading it
	// as an int32 turns back into a negative value (timers never run for
	// anything near 2^31 ms, 24 days).
	s.TimerExpiresMs = int64(int32(binary.NativeEndian.Uint32(b[inetOffExpires:])))
	s.RecvQ = binary.NativeEndian.Uint32(b[inetOffRqueue:])
	s.SendQ = binary.NativeEndian.Uint32(b[inetOffWqueue:])
	s.UID = binary.NativeEndian.Uint32(b[inetOffUID:])
	s.Inode = uint64(binary.NativeEndian.Uint32(b[inetOffInode:]))

	rawProto := -1
	var ex sock.Extra
	for a := b[inetMsgLen:]; len(a) > 0; {
		typ, p, rest, err := nextAttr(a)
		if err != nil {
			return s, fmt.Errorf("inet_diag_msg: %w", err)
		}
		switch {
		case typ == inetDiagProtocol && len(p) >= 1:
			rawProto = int(p[0])
		case want == 0:
		case typ == inetDiagInfo && want&sock.ExtraTCPInfo != 0 && proto == sock.TCP:
			parseTCPInfo(p, &ex.TCP)
			ex.Have |= sock.ExtraTCPInfo
		case typ == inetDiagSkMemInfo && want&sock.ExtraMemInfo != 0:
			parseMemInfo(p, &ex.Mem)
			ex.Have |= sock.ExtraMemInfo
		case typ == inetDiagCong && want&sock.ExtraCongestion != 0:
			ex.Congestion = arena.congestion(p)
			ex.Have |= sock.ExtraCongestion
		case typ == inetDiagShutdown && want&sock.ExtraShutdown != 0 && len(p) >= 1:
			ex.Shutdown = p[0]
			ex.Have |= sock.ExtraShutdown
		case typ == inetDiagCgroupID && want&sock.ExtraCgroup != 0 && len(p) >= 8:
			ex.CgroupID = binary.NativeEndian.Uint64(p)
			ex.Have |= sock.ExtraCgroup
		}
		a = rest
	}
	if ex.Have != 0 {
		s.Extra = arena.keep(&ex)
	}

	if proto == sock.RAW {
		// The kernel reports a raw socket's protocol as its local port
		// (inet_num), as /proc/net/raw does; INET_DIAG_PROTOCOL carries it
		// explicitly since raw_diag exists, so prefer that.
		if rawProto < 0 {
			rawProto = int(sport & 0xff)
		}
		s.RawProtocol = uint8(rawProto)
		sport = uint16(rawProto)
	}
	if proto == sock.TCP && s.State == sock.StateListen {
		moveBacklog(&s)
	}
	s.Local = netip.AddrPortFrom(src, sport)
	s.Remote = netip.AddrPortFrom(dst, dport)
	return s, nil
}

// parseUnixMessage decodes the payload of one SOCK_DIAG_BY_FAMILY reply
// from a unix_diag dump (struct unix_diag_msg plus attributes). Of the
// extras in want, unix sockets have ExtraMemInfo and ExtraShutdown, which
// go to Socket.Extra allocated from arena (nil allowed when want is 0).
func parseUnixMessage(b []byte, want sock.Extras, arena *extraArena) (sock.Socket, error) {
	var s sock.Socket
	if len(b) < unixMsgLen {
		return s, fmt.Errorf("unix_diag_msg of %d bytes: %w", len(b), errShort)
	}
	if f := b[unixOffFamily]; f != unix.AF_UNIX {
		return s, fmt.Errorf("unix_diag_msg family %d in a dump of family %d", f, unix.AF_UNIX)
	}
	s.Family = unix.AF_UNIX
	s.Protocol = sock.UNIX
	s.Type = b[unixOffType]
	s.State = b[unixOffState]
	s.Inode = uint64(binary.NativeEndian.Uint32(b[unixOffInode:]))
	s.Cookie = cookie(b[unixOffCookie:])

	var ex sock.Extra
	for a := b[unixMsgLen:]; len(a) > 0; {
		typ, p, rest, err := nextAttr(a)
		if err != nil {
			return s, fmt.Errorf("unix_diag_msg: %w", err)
		}
		switch typ {
		case unixDiagMemInfo:
			if want&sock.ExtraMemInfo != 0 {
				parseMemInfo(p, &ex.Mem)
				ex.Have |= sock.ExtraMemInfo
			}
		case unixDiagShutdown:
			if want&sock.ExtraShutdown != 0 && len(p) >= 1 {
				ex.Shutdown = p[0]
				ex.Have |= sock.ExtraShutdown
			}
		case unixDiagName:
			s.Path = unixPath(p)
		case unixDiagPeer:
			if len(p) < 4 {
				return s, fmt.Errorf("UNIX_DIAG_PEER of %d bytes: %w", len(p), errShort)
			}
			s.PeerInode = uint64(binary.NativeEndian.Uint32(p))
		case unixDiagRQLen:
			if len(p) < 8 {
				return s, fmt.Errorf("UNIX_DIAG_RQLEN of %d bytes: %w", len(p), errShort)
			}
			s.RecvQ = binary.NativeEndian.Uint32(p[0:])
			s.SendQ = binary.NativeEndian.Uint32(p[4:])
		case unixDiagUID:
			if len(p) < 4 {
				return s, fmt.Errorf("UNIX_DIAG_UID of %d bytes: %w", len(p), errShort)
			}
			s.UID = binary.NativeEndian.Uint32(p)
		}
		a = rest
	}
	if ex.Have != 0 {
		s.Extra = arena.keep(&ex)
	}
	if s.State == sock.StateListen {
		moveBacklog(&s)
	}
	return s, nil
}

// moveBacklog files a listener's wqueue, which sock_diag fills with the
// maximum accept backlog, as Backlog: netstat and /proc show Send-Q 0.
func moveBacklog(s *sock.Socket) {
	s.Backlog, s.SendQ = s.SendQ, 0
}

// unixPath renders a UNIX_DIAG_NAME payload (the bound sun_path bytes) the
// way /proc/net/unix does: a filesystem path up to its terminating NUL, an
// abstract name with its leading NUL, and any NUL inside it, shown as '@'.
func unixPath(p []byte) string {
	if len(p) == 0 {
		return ""
	}
	if p[0] != 0 {
		for i, c := range p {
			if c == 0 {
				p = p[:i]
				break
			}
		}
		return string(p)
	}
	var sb strings.Builder
	sb.Grow(len(p))
	for _, c := range p {
		if c == 0 {
			c = '@'
		}
		sb.WriteByte(c)
	}
	return sb.String()
}

// cookie reads the two u32 halves of a sock_diag cookie, low half first.
func cookie(b []byte) uint64 {
	return uint64(binary.NativeEndian.Uint32(b[0:])) | uint64(binary.NativeEndian.Uint32(b[4:]))<<32
}
