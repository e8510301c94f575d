package procstat

import (
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// FibEntry is one leaf alias of net/fib_trie: a prefix of the IPv4 FIB
// with its scope and route type, e.g. 192.0.2.2/32 host LOCAL.
type FibEntry struct {
	Table  string       // the section it is printed in: "Main", "Local", "Id 100"...
	Prefix netip.Prefix // the leaf's key with the alias's length
	Scope  string       // universe, link, host, ... (as the kernel prints it)
	Type   string       // UNICAST, LOCAL, BROADCAST, ...
}

// Addr4 is an IPv4 interface address reconstructed from a /proc tree.
type Addr4 struct {
	Address netip.Addr // the address
	// Interface is the device name; "" when the tree does not place the
	// address on one (a point-to-point address, one on a down interface,
	// a /32 without a prefix route).
	Interface string
	// PrefixLen is the prefix length of the attached network; -1 when
	// Interface is "".
	PrefixLen int
	// Broadcast is the broadcast address when the tree shows one: a
	// broadcast route other than the network's last address. Invalid
	// when none is shown, which is also what an address whose broadcast
	// is its network's last address looks like (see BroadcastUnknown).
	Broadcast netip.Addr
	// BroadcastUnknown is true when the tree cannot tell whether the
	// address has a broadcast address: the kernel routes the network's
	// last address as broadcast for every primary address (below /31),
	// whether or not the address was given that broadcast.
	BroadcastUnknown bool
}

// FibTrie reads net/fib_trie under procRoot: every leaf alias of every
// table, in file order (while no policy rule needs them apart, the main
// and local tables are one trie, printed under both names).
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
// A line without indentation names a table ("Main:", "Local:", "Id 100:");
// "+--" inner nodes are skipped; every "|--" leaf is followed by one
// "/LEN SCOPE TYPE" line per alias.
func parseFibTrie(r io.Reader, file string) ([]FibEntry, error) {
	var out []FibEntry
	var leaf netip.Addr
	table := ""
	err := scanLines(r, file, func(_ int, line string) error {
		t := strings.TrimSpace(line)
		switch {
		case t != "" && line[0] != ' ' && strings.HasSuffix(t, ":"):
			table, leaf = strings.TrimSuffix(t, ":"), netip.Addr{}
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
			out = append(out, FibEntry{Table: table, Prefix: netip.PrefixFrom(leaf, n), Scope: f[1], Type: f[2]})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Addresses4 reconstructs the IPv4 interface addresses of a /proc tree,
// which has no list of them. Every address has a /32 LOCAL route in the
// local table, and so does every `ip route add local` route: those in the
// main table are told apart because net/route lists them (it lists the
// main table only); one added to the local table by hand looks like an
// address. An address's device and prefix come from the longest directly
// connected route of net/route that holds it, or, for addresses on the
// loopback device (whose prefix route is itself LOCAL), from a shorter
// LOCAL entry holding it (device "lo"); addresses neither rule places
// (point-to-point addresses, addresses of down interfaces, a /32 without
// a prefix route) have no Interface. Order: the trie's, which is numeric.
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

// localTable returns the entries of the local table and whether the main
// table's are among them: the section named Local, which is the same trie
// as Main's until a policy rule splits them. A trie without a Local
// section is taken whole, as merged.
func localTable(trie []FibEntry) (local []FibEntry, merged bool) {
	var main []FibEntry
	for _, e := range trie {
		switch e.Table {
		case "Local":
			local = append(local, e)
		case "Main":
			main = append(main, e)
		}
	}
	if local == nil {
		return trie, true
	}
	return local, slices.Equal(local, relabel(main, "Local"))
}

func relabel(entries []FibEntry, table string) []FibEntry {
	out := make([]FibEntry, len(entries))
	for i, e := range entries {
		e.Table = table
		out[i] = e
	}
	return out
}

func addresses4(trie []FibEntry, routes []Route4) []Addr4 {
	local, merged := localTable(trie)
	host32 := func(r Route4) bool { return maskBits(r.Mask) == 32 }
	// localRoutes counts, per address, the /32 LOCAL aliases that are main
	// table routes: when the tables are merged, net/route's /32 routes to
	// it less the trie's /32 aliases of other types (the local table holds
	// LOCAL and BROADCAST only; net/route leaves out BROADCAST).
	mainLocal := map[netip.Addr]int{}
	if merged {
		for _, r := range routes {
			if host32(r) {
				mainLocal[r.Destination]++
			}
		}
		for _, e := range local {
			if e.Prefix.Bits() == 32 && e.Type != "LOCAL" && e.Type != "BROADCAST" && e.Type != "MULTICAST" {
				mainLocal[e.Prefix.Addr()]--
			}
		}
	}
	locals := map[netip.Addr]int{}
	broadcasts := map[netip.Addr]bool{}
	for _, e := range local {
		if e.Prefix.Bits() != 32 {
			continue
		}
		switch e.Type {
		case "LOCAL":
			locals[e.Prefix.Addr()]++
		case "BROADCAST":
			broadcasts[e.Prefix.Addr()] = true
		}
	}
	var out []Addr4
	seen := map[netip.Addr]bool{}
	for _, e := range local {
		a := e.Prefix.Addr()
		if e.Type != "LOCAL" || e.Prefix.Bits() != 32 || seen[a] {
			continue
		}
		seen[a] = true
		if locals[a]-max(mainLocal[a], 0) <= 0 {
			continue // a local route in the main table, not an address
		}
		addr := Addr4{Address: a, PrefixLen: -1}
		for _, r := range routes {
			bits := maskBits(r.Mask)
			if r.Gateway.IsUnspecified() && bits > addr.PrefixLen && bits < 32 && netip.PrefixFrom(r.Destination, bits).Contains(a) {
				addr.Interface, addr.PrefixLen = r.Iface, bits
			}
		}
		if addr.PrefixLen < 0 {
			for _, l := range local {
				if l.Type == "LOCAL" && l.Prefix.Bits() < 32 && l.Prefix.Contains(a) && l.Prefix.Bits() > addr.PrefixLen {
					addr.Interface, addr.PrefixLen = "lo", l.Prefix.Bits()
				}
			}
		}
		out = append(out, addr)
	}
	// Broadcast addresses: a network's last address is routed as broadcast
	// for any primary address below /31, so only another broadcast route
	// inside an address's network names that address's broadcast, when one
	// address of that network and interface can own it.
	netLast := map[netip.Addr]bool{}
	for _, a := range out {
		if a.Interface != "" && a.PrefixLen < 31 {
			netLast[lastAddr(a.Address, a.PrefixLen)] = true
		}
	}
	for i := range out {
		a := &out[i]
		if a.Interface == "" {
			a.BroadcastUnknown = true
			continue
		}
		pfx := netip.PrefixFrom(a.Address, a.PrefixLen).Masked()
		owners := 0
		for _, b := range out {
			if b.Interface == a.Interface && pfx.Contains(b.Address) {
				owners++
			}
		}
		var found []netip.Addr
		for b := range broadcasts {
			if pfx.Contains(b) && !netLast[b] {
				found = append(found, b)
			}
		}
		switch {
		case len(found) == 1 && owners == 1:
			a.Broadcast = found[0]
		case a.PrefixLen < 31 || len(found) > 0:
			a.BroadcastUnknown = true
		}
	}
	return out
}

// lastAddr is the last address of a's network of the given length.
func lastAddr(a netip.Addr, bits int) netip.Addr {
	p := netip.PrefixFrom(a, bits).Masked().Addr().As4()
	v := uint32(p[0])<<24 | uint32(p[1])<<16 | uint32(p[2])<<8 | uint32(p[3])
	v |= ^uint32(0) >> bits
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
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
