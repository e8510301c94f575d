package vtab

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/netsql/netsql/vtab/fileread"
)

// dnsTimeout bounds one reverse DNS lookup. After the first lookup that
// times out, the resolver stops asking DNS for the rest of the run, so a
// dead name server costs one timeout, not one per address.
const dnsTimeout = 1500 * time.Millisecond

// resolver turns numbers into the names netstat prints: ports into
// service names (/etc/services, /etc/protocols), addresses into host names
// (/etc/hosts, then DNS) and networks into network names (/etc/networks).
// Everything is read under the source's EtcRoot once per engine and cached
// for the engine's life (one run of netsql).
type resolver struct {
	etc string
	// dns is true when reverse lookups may ask DNS: only for the host's
	// own /etc (a copied /etc says nothing about reachable name servers)
	// and when nsswitch.conf's hosts line lists dns.
	dns bool
	// lookupAddr is the DNS reverse lookup (net.Resolver.LookupAddr;
	// tests replace it).
	lookupAddr func(ctx context.Context, addr string) ([]string, error)

	loadOnce sync.Once
	tcp      map[int]string // port -> name, as netstat's lists find it
	udp      map[int]string
	raw      map[int]string
	hosts    []hostEntry
	networks []netEntry
	order    []string // nsswitch hosts sources we handle: files, dns

	mu      sync.Mutex
	ctx     context.Context
	cache   map[string]string // address text (no zone) -> name, "" for none
	dnsDead bool
}

type hostEntry struct {
	addr netip.Addr
	name string
}

type netEntry struct {
	net  uint32
	name string
}

func newResolver(src *Source) *resolver {
	etc := src.EtcRoot
	if etc == "" {
		etc = "/etc"
	}
	goResolver := &net.Resolver{PreferGo: true}
	return &resolver{
		etc:        etc,
		dns:        filepath.Clean(etc) == "/etc",
		lookupAddr: goResolver.LookupAddr,
		cache:      map[string]string{},
	}
}

func (r *resolver) setContext(ctx context.Context) {
	r.mu.Lock()
	r.ctx = ctx
	r.mu.Unlock()
}

func (r *resolver) context() context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ctx == nil {
		return context.Background()
	}
	return r.ctx
}

// load reads the /etc files. Missing or unreadable files leave their
// tables empty (names stay numeric), as the C library does.
func (r *resolver) load() {
	r.loadOnce.Do(func() {
		r.tcp, r.udp, r.raw = map[int]string{}, map[int]string{}, map[int]string{}
		// netstat keeps each list newest-first and takes the first match,
		// so the last line for a port wins; later lines overwrite.
		forFields(filepath.Join(r.etc, "services"), func(f []string) {
			num, proto, ok := strings.Cut(f[1], "/")
			port, err := strconv.Atoi(num)
			if !ok || err != nil || port < 0 || port > 65535 {
				return
			}
			switch proto {
			case "tcp":
				r.tcp[port] = f[0]
			case "udp":
				r.udp[port] = f[0]
			case "raw":
				r.raw[port] = f[0]
			}
		})
		// Protocols come after services in netstat's raw list: they win.
		forFields(filepath.Join(r.etc, "protocols"), func(f []string) {
			if n, err := strconv.Atoi(f[1]); err == nil && n >= 0 && n <= 65535 {
				r.raw[n] = f[0]
			}
		})
		forFields(filepath.Join(r.etc, "hosts"), func(f []string) {
			a, err := netip.ParseAddr(f[0])
			if err != nil || a.Zone() != "" {
				return // inet_pton takes no %zone: glibc ignores the line
			}
			r.hosts = append(r.hosts, hostEntry{addr: a, name: f[1]})
		})
		forFields(filepath.Join(r.etc, "networks"), func(f []string) {
			if n, ok := inetNetwork(f[1]); ok {
				r.networks = append(r.networks, netEntry{net: n, name: f[0]})
			}
		})
		r.order = []string{"files", "dns"}
		if line, ok := nsswitchLine(filepath.Join(r.etc, "nsswitch.conf"), "hosts"); ok {
			r.order = r.order[:0]
			for _, w := range strings.Fields(line) {
				if w == "files" || w == "dns" {
					r.order = append(r.order, w)
				}
			}
		}
	})
}

// forFields calls fn with the fields of every line of a files-database
// (comments stripped) that has at least two.
func forFields(path string, fn func([]string)) {
	f, err := fileread.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		if fs := strings.Fields(line); len(fs) >= 2 {
			fn(fs)
		}
	}
}

// nsswitchLine returns the sources listed for database db, without
// [action] items.
func nsswitchLine(path, db string) (string, bool) {
	var out string
	found := false
	forFields(path, func(f []string) {
		if !found && f[0] == db+":" {
			var words []string
			for _, w := range f[1:] {
				if !strings.HasPrefix(w, "[") {
					words = append(words, w)
				}
			}
			out, found = strings.Join(words, " "), true
		}
	})
	return out, found
}

// inetNetwork parses a network number as inet_network(3) does: one to
// four dot-separated parts, the last one the low byte ("192.0.2" is
// 0xC00002, "127.0.0.0" is 0x7F000000).
func inetNetwork(s string) (uint32, bool) {
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return 0, false
	}
	var n uint32
	for _, p := range parts {
		v, err := strconv.ParseUint(p, 0, 8)
		if err != nil {
			return 0, false
		}
		n = n<<8 | uint32(v)
	}
	return n, true
}

// service returns the name netstat prints for a port: "*" for 0, the
// services (or for raw, protocols) name unless numeric, else the number.
func (r *resolver) service(port int, proto string, numeric bool) string {
	if port == 0 {
		return "*"
	}
	if !numeric {
		r.load()
		var m map[int]string
		switch strings.TrimSuffix(proto, "6") {
		case "tcp":
			m = r.tcp
		case "udp":
			m = r.udp
		case "raw":
			m = r.raw
		}
		if name, ok := m[port]; ok {
			return name
		}
	}
	return strconv.Itoa(port)
}

// lookupHost is glibc's getnameinfo(3) without flags for a: a reverse
// lookup in the resolver's order, else the numeric text.
//
// As glibc does, an IPv6 address is looked up as IPv6 in /etc/hosts
// (only lines holding an IPv6 address match, so ::ffff:127.0.0.1 does not
// find 127.0.0.1's name), while DNS asks for a v4-mapped or v4-compatible
// address's IPv4 PTR name; :: has no name. The numeric text ends in a's
// scope as glibc prints it (scopeText).
func (r *resolver) lookupHost(a netip.Addr) string {
	name := r.reverseName(a.WithZone(""))
	if name == "" {
		name = ntop(a.WithZone("")) + scopeText(a)
	}
	return name
}

// reverseName is gethostbyaddr's name for a (without a zone), "" when
// there is none; the cache keeps names and misses for the engine's life.
func (r *resolver) reverseName(a netip.Addr) string {
	key := a.String()
	r.mu.Lock()
	name, ok := r.cache[key]
	r.mu.Unlock()
	if ok {
		return name
	}
	r.load()
	for _, src := range r.order {
		if a.Is6() && a.IsUnspecified() {
			break // gethostbyaddr refuses in6addr_any before asking anyone
		}
		switch src {
		case "files":
			name = r.filesName(a)
		case "dns":
			name = r.dnsName(a)
		}
		if name != "" {
			break
		}
	}
	r.mu.Lock()
	r.cache[key] = name
	r.mu.Unlock()
	return name
}

// scopeText is what glibc's getnameinfo appends to a numeric IPv6
// address for its scope id: "%" and the interface name for a link-local
// (unicast or multicast) address, "%" and the number otherwise. The zone
// may be given either way; a name or number no interface of netsql's
// namespace has stays as given.
func scopeText(a netip.Addr) string {
	zone := a.Zone()
	if zone == "" {
		return ""
	}
	index, err := strconv.Atoi(zone)
	numeric := err == nil
	if a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() {
		if numeric {
			if ifi, err := net.InterfaceByIndex(index); err == nil {
				return "%" + ifi.Name
			}
		}
		return "%" + zone
	}
	if !numeric {
		if ifi, err := net.InterfaceByName(zone); err == nil {
			return "%" + strconv.Itoa(ifi.Index)
		}
	}
	return "%" + zone
}

// filesName is glibc's files backend of gethostbyaddr: the first
// /etc/hosts line whose address, parsed for a's family, equals a. For an
// IPv4 lookup an IPv6 line counts when it is v4-mapped (as its IPv4 part)
// or ::1 (as 127.0.0.1); for an IPv6 lookup IPv4 lines never match.
func (r *resolver) filesName(a netip.Addr) string {
	for _, h := range r.hosts {
		e := h.addr
		if a.Is4() && e.Is6() {
			switch {
			case e.Is4In6():
				e = e.Unmap()
			case e == netip.IPv6Loopback():
				e = netip.AddrFrom4([4]byte{127, 0, 0, 1})
			default:
				continue
			}
		}
		if e == a {
			return h.name
		}
	}
	return ""
}

// v4Tunnelled reports an IPv4-compatible address (::a.b.c.d other than
// :: and ::1), which glibc's DNS backend looks up as IPv4.
func v4Tunnelled(a netip.Addr) bool {
	if !a.Is6() || a.Is4In6() {
		return false
	}
	b := a.As16()
	for _, x := range b[:12] {
		if x != 0 {
			return false
		}
	}
	return !(b[12] == 0 && b[13] == 0 && b[14] == 0 && b[15] <= 1)
}

// dnsName asks DNS for a's PTR name, "" when there is none, DNS is off,
// or it did not answer in time (which turns it off for the run).
func (r *resolver) dnsName(a netip.Addr) string {
	if !r.dns || a.IsUnspecified() {
		return ""
	}
	r.mu.Lock()
	dead := r.dnsDead
	r.mu.Unlock()
	if dead {
		return ""
	}
	if v4Tunnelled(a) {
		// glibc asks for the IPv4 PTR name. Go's resolver does that for
		// the v4-mapped text, and (unlike for the IPv4 text) does not
		// first answer from /etc/hosts' IPv4 lines, which glibc's DNS
		// backend never reads.
		b := a.As16()
		b[10], b[11] = 0xff, 0xff
		a = netip.AddrFrom16(b)
	}
	ctx, cancel := context.WithTimeout(r.context(), dnsTimeout)
	defer cancel()
	names, err := r.lookupAddr(ctx, a.String())
	if err != nil {
		var de *net.DNSError
		if ctx.Err() != nil || errors.As(err, &de) && (de.IsTimeout || de.IsTemporary) {
			r.mu.Lock()
			r.dnsDead = true
			r.mu.Unlock()
		}
		return ""
	}
	if len(names) == 0 {
		return ""
	}
	return strings.TrimSuffix(names[0], ".")
}

// networkName returns the /etc/networks name of an IPv4 network address,
// "" when it has none (getnetbyaddr(3); trailing zero bytes may be left
// off in the file: "192.0.2" names 192.0.2.0).
func (r *resolver) networkName(a netip.Addr) string {
	r.load()
	b := a.As4()
	n := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	for {
		for _, e := range r.networks {
			if e.net == n {
				return e.name
			}
		}
		if n == 0 || n&0xff != 0 {
			return ""
		}
		n >>= 8
	}
}

// ntop prints an address as glibc's inet_ntop does: Go's text except for
// IPv4-compatible IPv6 addresses (::a.b.c.d), which glibc prints dotted.
func ntop(a netip.Addr) string {
	if a.Is6() && !a.Is4In6() {
		b := a.As16()
		zero := true
		for _, x := range b[:12] {
			zero = zero && x == 0
		}
		if zero && (b[12] != 0 || b[13] != 0) {
			return "::" + netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}).String()
		}
	}
	return a.String()
}
