package netstat

import (
	"database/sql/driver"
	"fmt"
	"strings"

	"github.com/netsql/netsql/vtab"
)

// ifconfigHW is how ifconfig (and netstat -ie) names a link type: the
// word before the hardware address, the title in parentheses, and how the
// address prints (nil: not at all).
type ifconfigHW struct {
	name, title string
	print       func(mac string) string
}

// ifconfigHWTypes maps the interfaces table's type (ip link's word) to
// net-tools 2.10's hardware types. Types it lacks print as unspec.
var ifconfigHWTypes = map[string]ifconfigHW{
	"ether":    {"ether", "Ethernet", func(mac string) string { return strings.ToLower(mac) }},
	"loopback": {"loop", "Local Loopback", nil},
	"sit":      {"sit", "IPv6-in-IPv4", nil},
	"ipip":     {"tunnel", "IPIP Tunnel", func(string) string { return "" }},
	"ppp":      {"ppp", "Point-to-Point Protocol", nil},
	"slip":     {"slip", "Serial Line IP", nil},
	"cslip":    {"cslip", "VJ Serial Line IP", nil},
	"hdlc":     {"hdlc", "(Cisco)-HDLC", nil},
	"lapb":     {"lapb", "LAPB", nil},
	"frad":     {"frad", "Frame Relay Access Device", nil},
	"econet":   {"ec", "Econet", nil},
}

// unspecHW is net-tools' fallback: the first 16 bytes of the hardware
// address as upper-case hex joined by dashes.
var unspecHW = ifconfigHW{"unspec", "UNSPEC", func(mac string) string {
	var b [16]byte
	i := 0
	for _, p := range strings.Split(mac, ":") {
		var v byte
		if _, err := fmt.Sscanf(p, "%02x", &v); err == nil && i < len(b) {
			b[i] = v
			i++
		}
	}
	parts := make([]string, len(b))
	for i, v := range b {
		parts[i] = fmt.Sprintf("%02X", v)
	}
	return strings.Join(parts, "-")
}}

func hwOf(typ string) ifconfigHW {
	if hw, ok := ifconfigHWTypes[typ]; ok {
		return hw
	}
	return unspecHW
}

// netstatHW is netstat_hw(type, mac): ifconfig's hardware word and
// address, e.g. "ether 02:fc:00:00:00:01", "loop".
func netstatHW(args []driver.Value) (driver.Value, error) {
	typ, mac := "", ""
	if args[0] != nil {
		t, err := vtab.TextArg("netstat_hw", "type", args[0])
		if err != nil {
			return nil, err
		}
		typ = t
	}
	if args[1] != nil {
		m, err := vtab.TextArg("netstat_hw", "mac", args[1])
		if err != nil {
			return nil, err
		}
		mac = m
	}
	hw := hwOf(typ)
	if hw.print == nil {
		return hw.name, nil
	}
	return hw.name + " " + hw.print(mac), nil
}

// netstatHWTitle is netstat_hw_title(type): the title ifconfig prints in
// parentheses, e.g. "Ethernet", "Local Loopback".
func netstatHWTitle(args []driver.Value) (driver.Value, error) {
	if args[0] == nil {
		return unspecHW.title, nil
	}
	typ, err := vtab.TextArg("netstat_hw_title", "type", args[0])
	if err != nil {
		return nil, err
	}
	return hwOf(typ).title, nil
}

// netstatBytes is netstat_bytes(n): ifconfig's short byte count, e.g.
// "53.6 MiB", "302.1 KiB", "0.0 B", with its rules (one decimal, cut not
// rounded; a unit once the count exceeds it).
func netstatBytes(args []driver.Value) (driver.Value, error) {
	if args[0] == nil {
		return nil, nil
	}
	n, err := vtab.IntArg("netstat_bytes", "n", args[0])
	if err != nil {
		return nil, err
	}
	return ifconfigBytes(uint64(n)), nil
}

func ifconfigBytes(n uint64) string {
	short, unit := n*10, "B"
	switch {
	case n > 1<<60:
		short, unit = n/(1<<60/10), "EiB"
	case n > 1<<50:
		short, unit = short/(1<<50), "PiB"
	case n > 1<<40:
		short, unit = short/(1<<40), "TiB"
	case n > 1<<30:
		short, unit = short/(1<<30), "GiB"
	case n > 1<<20:
		short, unit = short/(1<<20), "MiB"
	case n > 1<<10:
		short, unit = short/(1<<10), "KiB"
	}
	return fmt.Sprintf("%d.%d %s", short/10, short%10, unit)
}

// NetstatIfCompare orders interface names as net-tools' nstrcmp does, so
// eth2 sorts before eth10 and an alias eth0:1 after eth0: the names
// without their :N alias suffix compare by their text up to a trailing
// number, then by that number, then as text, then by alias number. It is
// the netstat_if collation.
func NetstatIfCompare(a, b string) int {
	a, aAlias := cutAlias(a)
	b, bAlias := cutAlias(b)
	ai, bi := lastNonDigit(a), lastNonDigit(b)
	if c := strings.Compare(a[:min(ai, bi)], b[:min(ai, bi)]); c != 0 {
		return c
	}
	if ai != bi {
		if ai > bi {
			return 1
		}
		return -1
	}
	if av, bv := atoi(a[ai:]), atoi(b[bi:]); av != bv {
		if av < bv {
			return -1
		}
		return 1
	}
	if c := strings.Compare(a, b); c != 0 {
		return c
	}
	av, bv := -1, -1
	if aAlias != nil {
		av = atoi(*aAlias)
	}
	if bAlias != nil {
		bv = atoi(*bAlias)
	}
	switch {
	case av < bv:
		return -1
	case av > bv:
		return 1
	case aAlias != nil && bAlias != nil:
		return strings.Compare(*aAlias, *bAlias)
	}
	return 0
}

// cutAlias splits a trailing ":DIGITS" alias suffix off name.
func cutAlias(name string) (string, *string) {
	digit := false
	for pos := len(name); pos > 0; pos-- {
		c := name[pos-1]
		if c == ':' && digit {
			s := name[pos:]
			return name[:pos-1], &s
		}
		if c < '0' || c > '9' {
			break
		}
		digit = true
	}
	return name, nil
}

// lastNonDigit is the length of name without its trailing digits.
func lastNonDigit(name string) int {
	pos := len(name)
	for pos > 0 && name[pos-1] >= '0' && name[pos-1] <= '9' {
		pos--
	}
	return pos
}

// atoi is C's atoi on a string of digits (overflow wraps like int).
func atoi(s string) int {
	n := 0
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
	}
	return n
}
