package vtab

import (
	"net"
	"net/netip"
	"strconv"

	"golang.org/x/sys/unix"
	sqlvtab "modernc.org/sqlite/vtab"
)

// Helpers shared by the tables read through rtnetlink and /proc/net:
// pushed-down filters, interface names, rt_tables, missing /proc files.

// familyFilter turns pushed-down `family = ...` constraints into an
// address family for a kernel request: 0 for both. ok is false when
// they match no IPv4 or IPv6 row.
func familyFilter(q *Query) (family int, ok bool) {
	for _, v := range q.Values("family", sqlvtab.OpEQ) {
		var f int
		switch v {
		case "inet":
			f = unix.AF_INET
		case "inet6":
			f = unix.AF_INET6
		default:
			return 0, false
		}
		if family != 0 && family != f {
			return 0, false
		}
		family = f
	}
	return family, true
}

// intFilter turns pushed-down `column = N` constraints into one integer:
// set is false when there are none, ok is false when they match no row.
func intFilter(q *Query, column string) (v int, set, ok bool) {
	ints := intValues(q.Values(column, sqlvtab.OpEQ))
	switch {
	case ints == nil:
		return 0, false, true
	case len(ints) == 0:
		return 0, false, false // a fraction, or two numbers, equal no integer
	}
	return ints[0], true, true
}

// nameOr returns the interface name for index, NULL for index 0, and the
// number as text for an index the link dump did not list (an interface
// that vanished between the two dumps).
func nameOr(names map[int]string, index int) any {
	if index == 0 {
		return nil
	}
	if n, ok := names[index]; ok {
		return n
	}
	return strconv.Itoa(index)
}

// macText prints a hardware address as ip(8) does; NULL when there is none.
func macText(m net.HardwareAddr) any {
	if len(m) == 0 {
		return nil
	}
	return m.String()
}

// addrOrNull prints a valid address, NULL otherwise.
func addrOrNull(a netip.Addr) any {
	if !a.IsValid() {
		return nil
	}
	return a.String()
}

// netmask4 is the dotted mask of an IPv4 prefix length; NULL for IPv6.
func netmask4(family, bits int) any {
	if family != unix.AF_INET || bits < 0 || bits > 32 {
		return nil
	}
	return net.IP(net.CIDRMask(bits, 32)).String()
}

// afName names an rtnetlink family as the sockets table does.
func afName(f int) string { return familyName(uint8(f)) }

// inetFamilies is the closed set of the family column of the tables that
// hold IPv4 and IPv6 rows only.
var inetFamilies = closedSet([]int{unix.AF_INET, unix.AF_INET6}, afName)
