package procstat

import (
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Route4 is one line of net/route: an IPv4 route of the main table, as
// `netstat -r` prints it.
type Route4 struct {
	Iface       string     // device name; "*" for a route without one
	Destination netip.Addr // destination network
	Gateway     netip.Addr // next hop; 0.0.0.0 when directly connected
	Flags       uint32     // raw RTF_* bits (RTF_UP 0x1, RTF_GATEWAY 0x2, RTF_HOST 0x4, ...)
	RefCnt      int64      // always 0 on current kernels
	Use         int64      // always 0 on current kernels
	Metric      int64      // route priority
	Mask        netip.Addr // netmask
	MTU         int64      // advertised MSS + 40, 0 when unset (netstat's MSS column is this)
	Window      int64      // TCP window clamp, 0 when unset
	IRTT        int64      // initial RTT, 0 when unset
}

// Prefix returns Destination/Mask as a prefix, and false when the mask is
// not contiguous.
func (r Route4) Prefix() (netip.Prefix, bool) {
	if !r.Mask.Is4() || !r.Destination.Is4() {
		return netip.Prefix{}, false
	}
	ones, bits := net.IPMask(r.Mask.AsSlice()).Size()
	if bits == 0 {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(r.Destination, ones), true
}

// Routes4 reads net/route under procRoot, in file order.
//
// prometheus/procfs's NetRoute is not used: it parses the Flags column,
// which the kernel prints in hex (%04X), as decimal, so RTF_REJECT (0200)
// comes back as 200 and RTF_DYNAMIC|RTF_UP (0011) as 11; it also reports no
// line numbers.
func Routes4(procRoot string) ([]Route4, error) {
	return readFile(procPath(procRoot, "net/route"), parseRoute)
}

// parseRoute parses net/route: a header, then lines the kernel prints with
// "%s\t%08X\t%08X\t%04X\t%d\t%u\t%d\t%08X\t%d\t%u\t%u", padded with
// spaces to 127 characters. Addresses are __be32 printed with %08X, so on a
// little-endian host they read backwards (010200C0 is 192.0.2.1).
func parseRoute(r io.Reader, file string) ([]Route4, error) {
	var out []Route4
	err := scanLines(r, file, func(n int, line string) error {
		if n == 1 && strings.HasPrefix(line, "Iface") || strings.TrimSpace(line) == "" {
			return nil
		}
		rt, err := parseRouteLine(line)
		if err != nil {
			return err
		}
		out = append(out, rt)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// routeFields is the number of columns of net/route.
const routeFields = 11

// parseRouteLine parses one route line of net/route.
func parseRouteLine(line string) (Route4, error) {
	f := strings.Fields(line)
	if len(f) != routeFields {
		return Route4{}, malformed("route has %d fields, want %d", len(f), routeFields)
	}
	var (
		rt   = Route4{Iface: f[0]}
		hx   [3]uint32
		dec  [6]int64
		err  error
		hexi = [3]int{1, 2, 7}
		hexn = [3]string{"destination", "gateway", "mask"}
		deci = [6]int{4, 5, 6, 8, 9, 10}
		decn = [6]string{"refcnt", "use", "metric", "mtu", "window", "irtt"}
	)
	for i, col := range hexi {
		if hx[i], err = parseHex32(f[col], hexn[i]); err != nil {
			return Route4{}, err
		}
	}
	for i, col := range deci {
		if dec[i], err = parseDec(f[col], decn[i]); err != nil {
			return Route4{}, err
		}
	}
	if rt.Flags, err = parseHex32(f[3], "flags"); err != nil {
		return Route4{}, err
	}
	rt.Destination, rt.Gateway, rt.Mask = addr4LE(hx[0]), addr4LE(hx[1]), addr4LE(hx[2])
	rt.RefCnt, rt.Use, rt.Metric, rt.MTU, rt.Window, rt.IRTT = dec[0], dec[1], dec[2], dec[3], dec[4], dec[5]
	return rt, nil
}

// Route6 is one line of net/ipv6_route, as `netstat -rn -A inet6` prints
// it. All numbers are kept raw (the file prints them in hex).
type Route6 struct {
	Destination netip.Prefix // destination network
	Source      netip.Prefix // source prefix of a source-specific route; ::/0 otherwise
	NextHop     netip.Addr   // gateway; :: when directly connected
	Metric      uint32       // priority; 0xffffffff is printed as -1 by netstat
	RefCnt      uint32       // references
	Use         uint32       // always 0 on current kernels
	Flags       uint32       // raw RTF_* bits (RTF_UP 0x1, RTF_GATEWAY 0x2, RTF_REJECT 0x200, RTF_NONEXTHOP 0x200000, RTF_LOCAL 0x80000000, ...)
	Iface       string       // device name; "" when the route has none
}

// Routes6 reads net/ipv6_route under procRoot, in file order.
//
// prometheus/procfs has no reader for this file.
func Routes6(procRoot string) ([]Route6, error) {
	return readFile(procPath(procRoot, "net/ipv6_route"), parseIPv6Route)
}

// parseIPv6Route parses net/ipv6_route, no header; the kernel prints
// "%pi6 %02x %pi6 %02x %pi6 %08x %08x %08x %08x %8s":
//
//	fd000000000000000000000000000000 40 000...000 00 000...000 00000100 00000001 00000000 00000001     eth0
func parseIPv6Route(r io.Reader, file string) ([]Route6, error) {
	var out []Route6
	err := scanLines(r, file, func(_ int, line string) error {
		if strings.TrimSpace(line) == "" {
			return nil
		}
		rt, err := parseIPv6RouteLine(line)
		if err != nil {
			return err
		}
		out = append(out, rt)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// parseIPv6RouteLine parses one net/ipv6_route line. A route without a
// device ends in eight spaces, so it has 9 fields instead of 10.
func parseIPv6RouteLine(line string) (Route6, error) {
	f := strings.Fields(line)
	if len(f) != 9 && len(f) != 10 {
		return Route6{}, malformed("route has %d fields, want 10", len(f))
	}
	var rt Route6
	var err error
	if rt.Destination, err = parsePrefix6(f[0], f[1], "destination"); err != nil {
		return Route6{}, err
	}
	if rt.Source, err = parsePrefix6(f[2], f[3], "source"); err != nil {
		return Route6{}, err
	}
	if rt.NextHop, err = parseAddr6(f[4], "next hop"); err != nil {
		return Route6{}, err
	}
	nums := [4]*uint32{&rt.Metric, &rt.RefCnt, &rt.Use, &rt.Flags}
	names := [4]string{"metric", "refcnt", "use", "flags"}
	for i, p := range nums {
		if *p, err = parseHex32(f[5+i], names[i]); err != nil {
			return Route6{}, err
		}
	}
	if len(f) == 10 {
		rt.Iface = f[9]
	}
	return rt, nil
}

// parsePrefix6 parses an address and its hex prefix length.
func parsePrefix6(addr, plen, what string) (netip.Prefix, error) {
	a, err := parseAddr6(addr, what)
	if err != nil {
		return netip.Prefix{}, err
	}
	n, err := strconv.ParseUint(plen, 16, 8)
	if err != nil || n > 128 {
		return netip.Prefix{}, malformed("%s prefix length %q is not hex 0..80", what, plen)
	}
	return netip.PrefixFrom(a, int(n)), nil
}
