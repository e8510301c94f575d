package sock

import (
	"net/netip"

	"golang.org/x/sys/unix"
)

// PortRange is the ports from Min to Max inclusive. Port(p) is the range
// of the single port p; a range with Min > Max holds no port.
type PortRange struct {
	Min, Max uint16
}

// Port returns the range holding only port p.
func Port(p uint16) PortRange { return PortRange{p, p} }

// Contains reports whether p lies in the range.
func (r PortRange) Contains(p uint16) bool { return r.Min <= p && p <= r.Max }

// Filter selects inet sockets by port and address, as ss's filter
// expressions do, so that sock_diag can have the kernel filter. The zero
// Filter selects every socket.
//
// Each non-empty field is a condition (the conditions are ANDed); a socket
// meets a condition when it matches any element of the field (ORed), so an
// SQL IN list fits one field. Ports are compared with Socket.Local.Port()
// and Socket.Remote.Port() (a raw socket's local port is its IP protocol,
// its remote port 0). Addresses match with netip.Prefix.Contains on the
// address exactly as Socket holds it: a single address is a /32 or /128
// prefix; an IPv4 prefix matches only AF_INET sockets and never the
// IPv4-mapped address (::ffff:a.b.c.d) of an AF_INET6 socket, and an
// invalid prefix matches nothing.
//
// A non-zero Filter matches no unix socket: they have neither ports nor
// inet addresses.
//
// Readers may apply a Filter partly or not at all (the kernel refused the
// bytecode, or the reader cannot filter), so a caller that must be exact
// applies Match itself; sockdiag and procnet apply it to every socket they
// return.
type Filter struct {
	LocalPorts  []PortRange
	RemotePorts []PortRange
	LocalAddrs  []netip.Prefix
	RemoteAddrs []netip.Prefix
}

// IsZero reports whether f selects every socket.
func (f *Filter) IsZero() bool {
	return len(f.LocalPorts) == 0 && len(f.RemotePorts) == 0 &&
		len(f.LocalAddrs) == 0 && len(f.RemoteAddrs) == 0
}

// Match reports whether s passes f.
func (f *Filter) Match(s *Socket) bool {
	if f.IsZero() {
		return true
	}
	if s.Protocol == UNIX || (s.Family != unix.AF_INET && s.Family != unix.AF_INET6) {
		return false
	}
	return matchPorts(f.LocalPorts, s.Local.Port()) &&
		matchPorts(f.RemotePorts, s.Remote.Port()) &&
		matchAddrs(f.LocalAddrs, s.Local.Addr()) &&
		matchAddrs(f.RemoteAddrs, s.Remote.Addr())
}

// CanMatch reports whether some socket of this family and protocol could
// pass f, so a reader can skip a whole dump or file: never for unix
// sockets under a non-zero filter, never for a family no address prefix
// of a non-empty address condition belongs to, never when a port
// condition holds only empty ranges.
func (f *Filter) CanMatch(family uint8, proto Proto) bool {
	if f.IsZero() {
		return true
	}
	if proto == UNIX || (family != unix.AF_INET && family != unix.AF_INET6) {
		return false
	}
	return portsCanMatch(f.LocalPorts) && portsCanMatch(f.RemotePorts) &&
		addrsCanMatch(f.LocalAddrs, family) && addrsCanMatch(f.RemoteAddrs, family)
}

func matchPorts(rs []PortRange, p uint16) bool {
	if len(rs) == 0 {
		return true
	}
	for _, r := range rs {
		if r.Contains(p) {
			return true
		}
	}
	return false
}

func matchAddrs(ps []netip.Prefix, a netip.Addr) bool {
	if len(ps) == 0 {
		return true
	}
	for _, p := range ps {
		if p.IsValid() && p.Contains(a) {
			return true
		}
	}
	return false
}

func portsCanMatch(rs []PortRange) bool {
	if len(rs) == 0 {
		return true
	}
	for _, r := range rs {
		if r.Min <= r.Max {
			return true
		}
	}
	return false
}

func addrsCanMatch(ps []netip.Prefix, family uint8) bool {
	if len(ps) == 0 {
		return true
	}
	for _, p := range ps {
		if PrefixFamily(p) == family {
			return true
		}
	}
	return false
}

// PrefixFamily returns the address family whose sockets prefix p can
// match: unix.AF_INET for an IPv4 prefix, unix.AF_INET6 for an IPv6 one
// (IPv4-mapped included), and 0 for an invalid prefix.
func PrefixFamily(p netip.Prefix) uint8 {
	switch {
	case !p.IsValid():
		return 0
	case p.Addr().Is4():
		return unix.AF_INET
	default:
		return unix.AF_INET6
	}
}
