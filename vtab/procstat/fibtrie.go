package procstat

import (
	"io"
	"net/netip"
	"strconv"
	"strings"
)

// FibEntry is one leaf alias of net/fib_trie: a prefix of the IPv4 FIB
// with its scope and route type, e.g. 192.0.2.2/32 host LOCAL.
type FibEntry struct {
	Prefix netip.Prefix // the leaf's key with the alias's length
	Scope  string       // universe, link, host, ... (as the kernel prints it)
	Type   string       // UNICAST, LOCAL, BROADCAST, ...
}

// Addr4 is an IPv4 interface address reconstructed from a /proc tree.
type Addr4 struct {
	Interface string     // device name
	Address   netip.Addr // the address
	PrefixLen int        // prefix length of the attached network
	Broadcast netip.Addr // broadcast address; invalid when none
}

// FibTrie reads net/fib_trie under procRoot: every leaf alias of every
// table, in file order (the main and local tables print the same trie on
// current kernels, so entries repeat).
//
// prometheus/procfs has no reader for this file.
func FibTrie(procRoot string) ([]FibEntry, error) {
	return readFile(procPath(procRoot, "net/fib_trie"), parseFibTrie)
}

// parseFibTrie parses net/fib_trie:
//
//	Main:
//	  +-- 0.0.0.0/0 3 0 5
//	     |-- 192.0.2.2
//	        /32 host LOCAL
//
// Table names and "+--" inner nodes are skipped; every "|--" leaf is
// followed by one "/LEN SCOPE TYPE" line per alias.
func parseFibTrie(r io.Reader, file string) ([]FibEntry, error) {
	var out []FibEntry
	var leaf netip.Addr
	err := scanLines(r, file, func(_ int, line string) error {
		t := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(t, "|-- "):
			a, err := netip.ParseAddr(strings.TrimSpace(t[4:]))
			if err != nil || !a.Is4() {
				return malformed("leaf %q is not an IPv4 address", abbrev(t))
			}
			leaf = a
		case strings.HasPrefix(t, "/"):
			f := strings.Fields(t[1:])
			if len(f) < 3 || !leaf.IsValid() {
				return malformed("want \"/LEN SCOPE TYPE\" after a leaf, got %q", abbrev(t))
			}
			n, err := strconv.Atoi(f[0])
			if err != nil || n < 0 || n > 32 {
				return malformed("bad prefix length %q", f[0])
			}
			out = append(out, FibEntry{Prefix: netip.PrefixFrom(leaf, n), Scope: f[1], Type: f[2]})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Addresses4 reconstructs the IPv4 interface addresses of a /proc tree,
// which has no list of them: every /32 LOCAL entry of net/fib_trie is an
// address. Its device and prefix come from the longest directly connected
// route of net/route that holds it, or, for addresses on the loopback
// device (whose prefix route is itself LOCAL), from a shorter LOCAL entry
// holding it (device "lo"). Its broadcast address is the prefix's last
// address when the trie has a BROADCAST entry for it. Addresses neither
// rule places are left out. Order: the trie's, which is numeric.
func Addresses4(procRoot string) ([]Addr4, error) {
	trie, err := FibTrie(procRoot)
	if err != nil {
		return nil, err
	}
	routes, err := Routes4(procRoot)
	if err != nil {
		return nil, err
	}
	return addresses4(trie, routes), nil
}

func addresses4(trie []FibEntry, routes []Route4) []Addr4 {
	broadcast := map[netip.Addr]bool{}
	for _, e := range trie {
		if e.Type == "BROADCAST" && e.Prefix.Bits() == 32 {
			broadcast[e.Prefix.Addr()] = true
		}
	}
	seen := map[netip.Addr]bool{}
	var out []Addr4
	for _, e := range trie {
		a := e.Prefix.Addr()
		if e.Type != "LOCAL" || e.Prefix.Bits() != 32 || seen[a] {
			continue
		}
		seen[a] = true
		addr := Addr4{Address: a, PrefixLen: -1}
		for _, r := range routes {
			bits := maskBits(r.Mask)
			if r.Gateway.IsUnspecified() && bits > addr.PrefixLen && netip.PrefixFrom(r.Destination, bits).Contains(a) {
				addr.Interface, addr.PrefixLen = r.Iface, bits
			}
		}
		if addr.PrefixLen < 0 {
			for _, l := range trie {
				if l.Type == "LOCAL" && l.Prefix.Bits() < 32 && l.Prefix.Contains(a) && l.Prefix.Bits() > addr.PrefixLen {
					addr.Interface, addr.PrefixLen = "lo", l.Prefix.Bits()
				}
			}
		}
		if addr.PrefixLen < 0 {
			continue
		}
		if addr.PrefixLen < 31 {
			p := netip.PrefixFrom(a, addr.PrefixLen).Masked().Addr().As4()
			v := uint32(p[0])<<24 | uint32(p[1])<<16 | uint32(p[2])<<8 | uint32(p[3])
			v |= ^uint32(0) >> addr.PrefixLen
			b := netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
			if broadcast[b] {
				addr.Broadcast = b
			}
		}
		out = append(out, addr)
	}
	return out
}

// maskBits counts a contiguous netmask's bits (-1 when not contiguous).
func maskBits(m netip.Addr) int {
	if !m.Is4() {
		return -1
	}
	b := m.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	n := 0
	for v&0x80000000 != 0 {
		n++
		v <<= 1
	}
	if v != 0 {
		return -1
	}
	return n
}
