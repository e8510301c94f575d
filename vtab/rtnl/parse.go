package rtnl

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"

	"golang.org/x/sys/unix"

	"github.com/netsql/netsql/vtab/netlink"
)

// ErrMalformed is wrapped by every error about bytes that do not parse as
// rtnetlink messages (short headers, lengths past the end, bad attributes).
// It is the netlink core's sentinel, so framing errors match it too.
var ErrMalformed = netlink.ErrMalformed

// ErrDumpInterrupted is wrapped when the kernel flagged a dump as
// inconsistent (NLM_F_DUMP_INTR) or lost its messages on every attempt.
var ErrDumpInterrupted = netlink.ErrDumpInterrupted

var ne = binary.NativeEndian

// Constants golang.org/x/sys/unix does not define.
const (
	rtaNHID = 30 // RTA_NH_ID
)

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

func align4(n int) int { return netlink.Align(n) }

// message is one netlink message (see netlink.Message).
type message = netlink.Message

// splitMessages cuts a buffer (one datagram, or several concatenated) into
// netlink messages. It never reads past b.
func splitMessages(b []byte) ([]message, error) {
	var out []message
	it := netlink.Messages(b)
	for it.Next() {
		out = append(out, it.Message())
	}
	return out, it.Err()
}

// attr is one rtattr/nlattr: its type (with the NLA_F_NESTED and
// NLA_F_NET_BYTEORDER bits cleared) and value.
type attr struct {
	Type  uint16
	Value []byte
}

// parseAttrs collects a run of attributes (netlink.Attrs). It fails on an
// attribute whose length is shorter than its header or runs past b.
func parseAttrs(b []byte) ([]attr, error) {
	var out []attr
	it := netlink.Attrs(b)
	for it.Next() {
		a := it.Attr()
		out = append(out, attr{Type: a.Type(), Value: a.Value})
	}
	return out, it.Err()
}

func u32(v []byte) (uint32, bool) {
	if len(v) < 4 {
		return 0, false
	}
	return ne.Uint32(v), true
}

// cstring returns an attribute string up to its NUL terminator.
func cstring(v []byte) string { return netlink.CString(v) }

func ipAddr(v []byte) (netip.Addr, bool) {
	switch len(v) {
	case 4:
		return netip.AddrFrom4([4]byte(v)), true
	case 16:
		return netip.AddrFrom16([16]byte(v)), true
	}
	return netip.Addr{}, false
}

func hwAddr(v []byte) net.HardwareAddr {
	if len(v) == 0 {
		return nil
	}
	return net.HardwareAddr(append([]byte(nil), v...))
}

// parseLink decodes one RTM_NEWLINK payload (ifinfomsg + attributes).
func parseLink(p []byte) (Link, error) {
	var l Link
	if len(p) < unix.SizeofIfInfomsg {
		return l, malformed("ifinfomsg of %d bytes", len(p))
	}
	l.Type = ne.Uint16(p[2:4])
	l.Index = int(int32(ne.Uint32(p[4:8])))
	l.Flags = ne.Uint32(p[8:12])
	attrs, err := parseAttrs(p[unix.SizeofIfInfomsg:])
	if err != nil {
		return l, fmt.Errorf("link %d: %w", l.Index, err)
	}
	for _, a := range attrs {
		switch a.Type {
		case unix.IFLA_IFNAME:
			l.Name = cstring(a.Value)
		case unix.IFLA_MTU:
			l.MTU, _ = u32(a.Value)
		case unix.IFLA_ADDRESS:
			l.MAC = hwAddr(a.Value)
		case unix.IFLA_BROADCAST:
			l.Broadcast = hwAddr(a.Value)
		case unix.IFLA_OPERSTATE:
			if len(a.Value) >= 1 {
				l.OperState = a.Value[0]
			}
		case unix.IFLA_MASTER:
			v, _ := u32(a.Value)
			l.MasterIndex = int(v)
		case unix.IFLA_LINK:
			v, _ := u32(a.Value)
			l.LinkIndex = int(v)
		case unix.IFLA_TXQLEN:
			l.TxQueueLen, _ = u32(a.Value)
		case unix.IFLA_QDISC:
			l.Qdisc = cstring(a.Value)
		case unix.IFLA_IFALIAS:
			l.Alias = cstring(a.Value)
		case unix.IFLA_LINKINFO:
			info, err := parseAttrs(a.Value)
			if err != nil {
				return l, fmt.Errorf("link %d: IFLA_LINKINFO: %w", l.Index, err)
			}
			for _, i := range info {
				if i.Type == unix.IFLA_INFO_KIND {
					l.Kind = cstring(i.Value)
				}
			}
		case unix.IFLA_STATS64:
			l.HasStats = true
			l.Stats = parseStats64(a.Value)
		}
	}
	return l, nil
}

// parseStats64 reads as many rtnl_link_stats64 counters as v holds; the
// struct has grown over kernel versions, so a short value is not an error.
func parseStats64(v []byte) LinkStats {
	var s LinkStats
	fields := []*uint64{
		&s.RxPackets, &s.TxPackets, &s.RxBytes, &s.TxBytes, &s.RxErrors, &s.TxErrors,
		&s.RxDropped, &s.TxDropped, &s.Multicast, &s.Collisions,
		&s.RxLengthErrors, &s.RxOverErrors, &s.RxCRCErrors, &s.RxFrameErrors,
		&s.RxFIFOErrors, &s.RxMissedErrors,
		&s.TxAbortedErrors, &s.TxCarrierErrors, &s.TxFIFOErrors, &s.TxHeartbeatErrors,
		&s.TxWindowErrors, &s.RxCompressed, &s.TxCompressed, &s.RxNoHandler,
		&s.RxOtherhostDropped,
	}
	for i, f := range fields {
		if len(v) < (i+1)*8 {
			break
		}
		*f = ne.Uint64(v[i*8:])
	}
	return s
}

// parseAddress decodes one RTM_NEWADDR payload (ifaddrmsg + attributes).
func parseAddress(p []byte) (Address, error) {
	var a Address
	if len(p) < unix.SizeofIfAddrmsg {
		return a, malformed("ifaddrmsg of %d bytes", len(p))
	}
	a.Family = int(p[0])
	a.PrefixLen = int(p[1])
	a.Flags = uint32(p[2])
	a.Scope = p[3]
	a.Index = int(ne.Uint32(p[4:8]))
	attrs, err := parseAttrs(p[unix.SizeofIfAddrmsg:])
	if err != nil {
		return a, fmt.Errorf("address on link %d: %w", a.Index, err)
	}
	var addr netip.Addr
	for _, at := range attrs {
		switch at.Type {
		case unix.IFA_ADDRESS:
			addr, _ = ipAddr(at.Value)
		case unix.IFA_LOCAL:
			a.Local, _ = ipAddr(at.Value)
		case unix.IFA_BROADCAST:
			a.Broadcast, _ = ipAddr(at.Value)
		case unix.IFA_LABEL:
			a.Label = cstring(at.Value)
		case unix.IFA_FLAGS:
			if v, ok := u32(at.Value); ok {
				a.Flags = v
			}
		case unix.IFA_CACHEINFO:
			if len(at.Value) >= unix.SizeofIfaCacheinfo {
				a.HasCacheInfo = true
				a.PreferredLft = ne.Uint32(at.Value[0:4])
				a.ValidLft = ne.Uint32(at.Value[4:8])
			}
		}
	}
	switch {
	case a.Local.IsValid():
		a.Address = a.Local
		if addr.IsValid() && addr != a.Local {
			a.Peer = addr
		}
	default:
		a.Address = addr
	}
	return a, nil
}

// routeHeader is the rtmsg part of RTM_NEWROUTE.
type routeHeader struct {
	family, dstLen, srcLen, tos, table, protocol, scope, typ uint8
	flags                                                    uint32
}

// appendRoutes decodes one RTM_NEWROUTE payload and appends its route, or
// one route per nexthop when it carries RTA_MULTIPATH.
func appendRoutes(out []Route, p []byte) ([]Route, error) {
	if len(p) < unix.SizeofRtMsg {
		return out, malformed("rtmsg of %d bytes", len(p))
	}
	h := routeHeader{
		family: p[0], dstLen: p[1], srcLen: p[2], tos: p[3],
		table: p[4], protocol: p[5], scope: p[6], typ: p[7],
		flags: ne.Uint32(p[8:12]),
	}
	r := Route{
		Family:   int(h.family),
		Table:    uint32(h.table),
		Protocol: h.protocol,
		Scope:    h.scope,
		Type:     h.typ,
		Flags:    h.flags,
	}
	attrs, err := parseAttrs(p[unix.SizeofRtMsg:])
	if err != nil {
		return out, fmt.Errorf("route: %w", err)
	}
	var dst netip.Addr
	var multipath []byte
	for _, a := range attrs {
		switch a.Type {
		case unix.RTA_DST:
			dst, _ = ipAddr(a.Value)
		case unix.RTA_PREFSRC:
			r.Src, _ = ipAddr(a.Value)
		case unix.RTA_GATEWAY:
			r.Gateway, _ = ipAddr(a.Value)
		case unix.RTA_VIA:
			if g, ok := viaAddr(a.Value); ok {
				r.Gateway, r.Via = g, true
			}
		case unix.RTA_OIF:
			v, _ := u32(a.Value)
			r.OIF = int(v)
		case unix.RTA_TABLE:
			if v, ok := u32(a.Value); ok {
				r.Table = v
			}
		case unix.RTA_PRIORITY:
			r.Priority, _ = u32(a.Value)
		case unix.RTA_PREF:
			if len(a.Value) >= 1 {
				r.Pref, r.HasPref = a.Value[0], true
			}
		case rtaNHID:
			r.NexthopID, _ = u32(a.Value)
		case unix.RTA_CACHEINFO:
			// struct rta_cacheinfo: clntref, lastuse, then __s32 expires.
			if len(a.Value) >= 12 {
				r.Expires = int32(ne.Uint32(a.Value[8:12]))
			}
		case unix.RTA_METRICS:
			if r.Metrics, err = parseMetrics(a.Value); err != nil {
				return out, fmt.Errorf("route: RTA_METRICS: %w", err)
			}
		case unix.RTA_MULTIPATH:
			multipath = a.Value
		}
	}
	if !dst.IsValid() {
		switch h.family {
		case unix.AF_INET:
			dst = netip.IPv4Unspecified()
		case unix.AF_INET6:
			dst = netip.IPv6Unspecified()
		}
	}
	if dst.IsValid() {
		if int(h.dstLen) > dst.BitLen() {
			return out, malformed("route prefix length %d for %s", h.dstLen, dst)
		}
		r.Dst = netip.PrefixFrom(dst, int(h.dstLen))
	}
	if multipath == nil {
		return append(out, r), nil
	}
	hops, err := parseNexthops(multipath)
	if err != nil {
		return out, fmt.Errorf("route %s: RTA_MULTIPATH: %w", r.Dst, err)
	}
	for i, nh := range hops {
		x := r
		x.Multipath, x.Hop = true, i
		x.Weight = int(nh.hops) + 1
		x.OIF = int(nh.ifindex)
		x.Flags |= uint32(nh.flags)
		x.Gateway, x.Via = nh.gateway, nh.via
		out = append(out, x)
	}
	return out, nil
}

// viaAddr decodes struct rtvia: a 16-bit family then the address.
func viaAddr(v []byte) (netip.Addr, bool) {
	if len(v) < 2 {
		return netip.Addr{}, false
	}
	return ipAddr(v[2:])
}

type nexthop struct {
	flags, hops uint8
	ifindex     int32
	gateway     netip.Addr
	via         bool
}

// parseNexthops walks the struct rtnexthop records of RTA_MULTIPATH, each
// followed by its own attributes within rtnh_len.
func parseNexthops(b []byte) ([]nexthop, error) {
	var out []nexthop
	for len(b) > 0 {
		if len(b) < unix.SizeofRtNexthop {
			return out, malformed("%d bytes left, shorter than rtnexthop", len(b))
		}
		l := int(ne.Uint16(b[0:2]))
		if l < unix.SizeofRtNexthop || l > len(b) {
			return out, malformed("rtnh_len %d with %d bytes left", l, len(b))
		}
		nh := nexthop{flags: b[2], hops: b[3], ifindex: int32(ne.Uint32(b[4:8]))}
		attrs, err := parseAttrs(b[unix.SizeofRtNexthop:l])
		if err != nil {
			return out, err
		}
		for _, a := range attrs {
			switch a.Type {
			case unix.RTA_GATEWAY:
				nh.gateway, _ = ipAddr(a.Value)
			case unix.RTA_VIA:
				if g, ok := viaAddr(a.Value); ok {
					nh.gateway, nh.via = g, true
				}
			}
		}
		out = append(out, nh)
		next := align4(l)
		if next >= len(b) {
			break
		}
		b = b[next:]
	}
	return out, nil
}

func parseMetrics(b []byte) (RouteMetrics, error) {
	var m RouteMetrics
	attrs, err := parseAttrs(b)
	if err != nil {
		return m, err
	}
	for _, a := range attrs {
		if a.Type == unix.RTAX_CC_ALGO {
			m.CCAlgo = cstring(a.Value)
			continue
		}
		v, ok := u32(a.Value)
		if !ok {
			continue
		}
		switch a.Type {
		case unix.RTAX_LOCK:
			m.Lock = v
		case unix.RTAX_MTU:
			m.MTU = v
		case unix.RTAX_WINDOW:
			m.Window = v
		case unix.RTAX_RTT:
			m.RTT = v
		case unix.RTAX_RTTVAR:
			m.RTTVar = v
		case unix.RTAX_SSTHRESH:
			m.SSThresh = v
		case unix.RTAX_CWND:
			m.CWnd = v
		case unix.RTAX_ADVMSS:
			m.AdvMSS = v
		case unix.RTAX_REORDERING:
			m.Reordering = v
		case unix.RTAX_HOPLIMIT:
			m.HopLimit = v
		case unix.RTAX_INITCWND:
			m.InitCWnd = v
		case unix.RTAX_FEATURES:
			m.Features = v
		case unix.RTAX_RTO_MIN:
			m.RTOMin = v
		case unix.RTAX_INITRWND:
			m.InitRWnd = v
		case unix.RTAX_QUICKACK:
			m.QuickAck = v
		case unix.RTAX_FASTOPEN_NO_COOKIE:
			m.FastOpenNoCookie = v
		}
	}
	return m, nil
}

// parseNeighbor decodes one RTM_NEWNEIGH payload (ndmsg + attributes).
func parseNeighbor(p []byte) (Neighbor, error) {
	var n Neighbor
	if len(p) < unix.SizeofNdMsg {
		return n, malformed("ndmsg of %d bytes", len(p))
	}
	n.Family = int(p[0])
	n.Index = int(int32(ne.Uint32(p[4:8])))
	n.State = ne.Uint16(p[8:10])
	n.Flags = p[10]
	n.Type = p[11]
	n.Router = n.Flags&unix.NTF_ROUTER != 0
	attrs, err := parseAttrs(p[unix.SizeofNdMsg:])
	if err != nil {
		return n, fmt.Errorf("neighbour on link %d: %w", n.Index, err)
	}
	for _, a := range attrs {
		switch a.Type {
		case unix.NDA_DST:
			n.Address, _ = ipAddr(a.Value)
		case unix.NDA_LLADDR:
			n.MAC = hwAddr(a.Value)
		}
	}
	return n, nil
}

// KernelError is an NLMSG_ERROR reply: the errno plus the kernel's
// extended-ack message when it sent one (netlink.Error). It unwraps to the
// unix.Errno, so errors.Is(err, unix.ENOENT) works.
type KernelError = netlink.Error

// errorFromMsg decodes an NLMSG_ERROR payload: nil for an ACK (error 0),
// otherwise a *KernelError.
func errorFromMsg(flags uint16, p []byte) error { return netlink.ParseError(flags, p) }

// doneError decodes the optional int in an NLMSG_DONE payload: a negative
// value is an error that ended the dump.
func doneError(p []byte) error { return netlink.DoneError(p) }
