// Package conntrack reads netfilter's connection tracking table: the
// ctnetlink dump (NETLINK_NETFILTER, IPCTNL_MSG_CT_GET) and its per-CPU
// statistics (IPCTNL_MSG_CT_GET_STATS_CPU) over the netlink core
// (vtab/netlink), and /proc/net/nf_conntrack and /proc/net/stat/nf_conntrack
// for a /proc tree. It is a request builder and pure parsers; the netlink
// core does the I/O, in any namespace.
//
// The family goes into the dump request (nfgenmsg), and so do a mark and a
// zone (CTA_MARK with CTA_MARK_MASK, CTA_ZONE), which the kernel filters
// on where it can; every flow is checked against the filter again here, so
// a kernel that ignores an attribute still yields exactly the flows asked
// for.
package conntrack

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/netsql/netsql/vtab/netlink"
)

// ctnetlink message types and attributes (linux/netfilter/nfnetlink.h,
// nfnetlink_conntrack.h). Attribute values are big-endian.
const (
	subsysCTNetlink = 1 // NFNL_SUBSYS_CTNETLINK
	msgCTGet        = 1 // IPCTNL_MSG_CT_GET
	msgCTGetStatsCP = 4 // IPCTNL_MSG_CT_GET_STATS_CPU
	nfgenLen        = 4 // struct nfgenmsg

	ctaTupleOrig     = 1
	ctaTupleReply    = 2
	ctaStatus        = 3
	ctaProtoinfo     = 4
	ctaTimeout       = 7
	ctaMark          = 8
	ctaCountersOrig  = 9
	ctaCountersReply = 10
	ctaUse           = 11
	ctaID            = 12
	ctaZone          = 18
	ctaMarkMask      = 21

	ctaTupleIP    = 1
	ctaTupleProto = 2

	ctaIPv4Src = 1
	ctaIPv4Dst = 2
	ctaIPv6Src = 3
	ctaIPv6Dst = 4

	ctaProtoNum      = 1
	ctaProtoSrcPort  = 2
	ctaProtoDstPort  = 3
	ctaProtoICMPID   = 4
	ctaProtoICMPType = 5
	ctaProtoICMPCode = 6
	ctaProtoICMP6ID  = 7
	ctaProtoICMP6Typ = 8
	ctaProtoICMP6Cod = 9

	ctaProtoinfoTCP      = 1
	ctaProtoinfoTCPState = 1

	ctaCountersPackets   = 1
	ctaCountersBytes     = 2
	ctaCounters32Packets = 3
	ctaCounters32Bytes   = 4
)

// msgType is a ctnetlink message type: subsystem in the high byte.
func msgType(m uint16) uint16 { return subsysCTNetlink<<8 | m }

var be = binary.BigEndian

// Tuple is one direction of a flow.
type Tuple struct {
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16 // 0 for protocols without ports
	HasPorts         bool   // the protocol has ports (tcp, udp, udplite, sctp, dccp)
	ICMPType         int16  // -1 unless ICMP/ICMPv6
	ICMPCode         int16
	ICMPID           uint16
}

// Counters are one direction's packet and byte counts; Valid is false
// when accounting (net.netfilter.nf_conntrack_acct) is off.
type Counters struct {
	Packets, Bytes uint64
	Valid          bool
}

// Flow is one conntrack entry.
type Flow struct {
	Family      uint8 // unix.AF_INET or unix.AF_INET6
	Proto       uint8 // IPPROTO_*
	Orig, Reply Tuple
	TCPState    int16 // TCP_CONNTRACK_*; -1 when not TCP or unknown
	Timeout     int64 // seconds left; -1 when unknown
	Mark        uint32
	Zone        uint16
	Status      uint32 // IPS_* bits
	HasStatus   bool   // false from /proc, which shows only some bits
	OrigCount   Counters
	ReplyCount  Counters
	ID          uint32
	HasID       bool // false from /proc
	Use         uint32
}

// Filter selects flows. The zero value selects all.
type Filter struct {
	Family  uint8 // unix.AF_INET, unix.AF_INET6, or 0 for both
	Mark    uint32
	HasMark bool
	Zone    uint16
	HasZone bool
}

// Match reports whether f selects fl.
func (f *Filter) Match(fl *Flow) bool {
	return (f.Family == 0 || fl.Family == f.Family) &&
		(!f.HasMark || fl.Mark == f.Mark) &&
		(!f.HasZone || fl.Zone == f.Zone)
}

// DumpRequest builds the IPCTNL_MSG_CT_GET dump request for f: the family
// in nfgenmsg, the mark as CTA_MARK with a full CTA_MARK_MASK, the zone as
// CTA_ZONE.
func DumpRequest(f Filter) []byte {
	b := netlink.AppendHeader(nil, msgType(msgCTGet), unix.NLM_F_REQUEST|unix.NLM_F_DUMP, 0)
	b = append(b, f.Family, 0, 0, 0) // nfgenmsg: family, NFNETLINK_V0, res_id
	if f.HasMark {
		b = netlink.AppendAttr(b, ctaMark, be.AppendUint32(nil, f.Mark))
		b = netlink.AppendAttr(b, ctaMarkMask, be.AppendUint32(nil, 0xffffffff))
	}
	if f.HasZone {
		b = netlink.AppendAttr(b, ctaZone, be.AppendUint16(nil, f.Zone))
	}
	netlink.SetLen(b)
	return b
}

// StatsRequest builds the IPCTNL_MSG_CT_GET_STATS_CPU dump request.
func StatsRequest() []byte {
	b := netlink.AppendHeader(nil, msgType(msgCTGetStatsCP), unix.NLM_F_REQUEST|unix.NLM_F_DUMP, nfgenLen)
	return append(b, unix.AF_UNSPEC, 0, 0, 0)
}

// IsFlow reports whether a reply message of type typ carries a flow
// (IPCTNL_MSG_CT_NEW, as the dump answers).
func IsFlow(typ uint16) bool { return typ == msgType(0) }

// IsStats reports whether a reply message carries per-CPU statistics.
func IsStats(typ uint16) bool { return typ == msgType(msgCTGetStatsCP) }

func malformed(format string, args ...any) error {
	return fmt.Errorf("conntrack: %w: %s", netlink.ErrMalformed, fmt.Sprintf(format, args...))
}

// ParseFlow decodes one ctnetlink flow message payload (nfgenmsg plus
// attributes) into fl, overwriting it. It does not allocate.
func ParseFlow(p []byte, fl *Flow) error {
	if len(p) < nfgenLen {
		return malformed("flow message of %d bytes", len(p))
	}
	*fl = Flow{Family: p[0], TCPState: -1, Timeout: -1}
	fl.Orig.ICMPType, fl.Reply.ICMPType = -1, -1
	it := netlink.Attrs(p[nfgenLen:])
	for it.Next() {
		a := it.Attr()
		v := a.Value
		var err error
		switch a.Type() {
		case ctaTupleOrig:
			err = parseTuple(v, &fl.Orig, &fl.Proto)
		case ctaTupleReply:
			err = parseTuple(v, &fl.Reply, &fl.Proto)
		case ctaStatus:
			fl.Status, fl.HasStatus = u32(v), len(v) >= 4
		case ctaProtoinfo:
			fl.TCPState, err = parseProtoinfo(v)
		case ctaTimeout:
			if len(v) >= 4 {
				fl.Timeout = int64(be.Uint32(v))
			}
		case ctaMark:
			fl.Mark = u32(v)
		case ctaCountersOrig:
			fl.OrigCount, err = parseCounters(v)
		case ctaCountersReply:
			fl.ReplyCount, err = parseCounters(v)
		case ctaUse:
			fl.Use = u32(v)
		case ctaID:
			fl.ID, fl.HasID = u32(v), len(v) >= 4
		case ctaZone:
			if len(v) >= 2 {
				fl.Zone = be.Uint16(v)
			}
		}
		if err != nil {
			return err
		}
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("conntrack: flow: %w", err)
	}
	return nil
}

func u32(v []byte) uint32 {
	if len(v) < 4 {
		return 0
	}
	return be.Uint32(v)
}

func parseTuple(b []byte, t *Tuple, proto *uint8) error {
	it := netlink.Attrs(b)
	for it.Next() {
		a := it.Attr()
		switch a.Type() {
		case ctaTupleIP:
			in := netlink.Attrs(a.Value)
			for in.Next() {
				ia := in.Attr()
				var addr netip.Addr
				switch {
				case len(ia.Value) == 4 && (ia.Type() == ctaIPv4Src || ia.Type() == ctaIPv4Dst):
					addr = netip.AddrFrom4([4]byte(ia.Value))
				case len(ia.Value) == 16 && (ia.Type() == ctaIPv6Src || ia.Type() == ctaIPv6Dst):
					addr = netip.AddrFrom16([16]byte(ia.Value))
				default:
					return malformed("tuple address type %d of %d bytes", ia.Type(), len(ia.Value))
				}
				if ia.Type() == ctaIPv4Src || ia.Type() == ctaIPv6Src {
					t.Src = addr
				} else {
					t.Dst = addr
				}
			}
			if err := in.Err(); err != nil {
				return err
			}
		case ctaTupleProto:
			in := netlink.Attrs(a.Value)
			for in.Next() {
				pa := in.Attr()
				v := pa.Value
				switch pa.Type() {
				case ctaProtoNum:
					if len(v) < 1 {
						return malformed("empty CTA_PROTO_NUM")
					}
					*proto = v[0]
				case ctaProtoSrcPort, ctaProtoDstPort:
					if len(v) < 2 {
						return malformed("port of %d bytes", len(v))
					}
					t.HasPorts = true
					if pa.Type() == ctaProtoSrcPort {
						t.SrcPort = be.Uint16(v)
					} else {
						t.DstPort = be.Uint16(v)
					}
				case ctaProtoICMPType, ctaProtoICMP6Typ:
					if len(v) >= 1 {
						t.ICMPType = int16(v[0])
					}
				case ctaProtoICMPCode, ctaProtoICMP6Cod:
					if len(v) >= 1 {
						t.ICMPCode = int16(v[0])
					}
				case ctaProtoICMPID, ctaProtoICMP6ID:
					if len(v) >= 2 {
						t.ICMPID = be.Uint16(v)
					}
				}
			}
			if err := in.Err(); err != nil {
				return err
			}
		}
	}
	return it.Err()
}

func parseProtoinfo(b []byte) (int16, error) {
	it := netlink.Attrs(b)
	for it.Next() {
		if a := it.Attr(); a.Type() == ctaProtoinfoTCP {
			in := netlink.Attrs(a.Value)
			for in.Next() {
				if t := in.Attr(); t.Type() == ctaProtoinfoTCPState && len(t.Value) >= 1 {
					return int16(t.Value[0]), nil
				}
			}
			return -1, in.Err()
		}
	}
	return -1, it.Err()
}

func parseCounters(b []byte) (Counters, error) {
	c := Counters{}
	it := netlink.Attrs(b)
	for it.Next() {
		a := it.Attr()
		v := a.Value
		switch a.Type() {
		case ctaCountersPackets, ctaCountersBytes:
			if len(v) < 8 {
				return c, malformed("64-bit counter of %d bytes", len(v))
			}
			if a.Type() == ctaCountersPackets {
				c.Packets = be.Uint64(v)
			} else {
				c.Bytes = be.Uint64(v)
			}
			c.Valid = true
		case ctaCounters32Packets, ctaCounters32Bytes:
			if len(v) < 4 {
				return c, malformed("32-bit counter of %d bytes", len(v))
			}
			if a.Type() == ctaCounters32Packets {
				c.Packets = uint64(be.Uint32(v))
			} else {
				c.Bytes = uint64(be.Uint32(v))
			}
			c.Valid = true
		}
	}
	return c, it.Err()
}

// tcpStates are the TCP conntrack states as the kernel's
// /proc/net/nf_conntrack and conntrack(8) print them.
var tcpStates = [...]string{"NONE", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT",
	"CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE", "SYN_SENT2"}

// TCPStates lists every TCP conntrack state name, in kernel order.
func TCPStates() []string { return tcpStates[:] }

// TCPStateName names a TCP_CONNTRACK_* state; "" for none.
func TCPStateName(s int16) string {
	if s < 0 || int(s) >= len(tcpStates) {
		return ""
	}
	return tcpStates[s]
}

// Status bits (IPS_*, linux/netfilter/nf_conntrack_common.h) by name, in
// bit order.
var statusNames = [...]string{"EXPECTED", "SEEN_REPLY", "ASSURED", "CONFIRMED", "SRC_NAT",
	"DST_NAT", "SEQ_ADJUST", "SRC_NAT_DONE", "DST_NAT_DONE", "DYING", "FIXED_TIMEOUT",
	"TEMPLATE", "NAT_CLASH", "HELPER", "OFFLOAD", "HW_OFFLOAD"}

// Status bits netsql tests by name.
const (
	StatusSeenReply = 1 << 1
	StatusAssured   = 1 << 2
	StatusOffload   = 1 << 14
	StatusHWOffload = 1 << 15
)

// StatusText spells IPS_* bits as names joined by commas, in bit order;
// an unnamed bit as BIT<n>.
func StatusText(s uint32) string {
	var b strings.Builder
	for i := 0; i < 32; i++ {
		if s&(1<<i) == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		if i < len(statusNames) {
			b.WriteString(statusNames[i])
		} else {
			b.WriteString("BIT" + strconv.Itoa(i))
		}
	}
	return b.String()
}

// SNAT reports whether the flow's source was translated: the reply is not
// addressed to the original source.
func (fl *Flow) SNAT() bool {
	return fl.Reply.Dst != fl.Orig.Src || (fl.Orig.HasPorts && fl.Reply.DstPort != fl.Orig.SrcPort)
}

// DNAT reports whether the flow's destination was translated: the reply
// does not come from the original destination.
func (fl *Flow) DNAT() bool {
	return fl.Reply.Src != fl.Orig.Dst || (fl.Orig.HasPorts && fl.Reply.SrcPort != fl.Orig.DstPort)
}
