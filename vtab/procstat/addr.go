package procstat

import (
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Addr6 is one line of net/if_inet6: an IPv6 address of an interface, as
// `ifconfig` and `netstat -ie` print it.
type Addr6 struct {
	Address   netip.Addr // the address
	Index     int        // interface index
	PrefixLen int        // prefix length
	// Scope is the kernel's IPv6 address scope class (IFA_HOST 0x10,
	// IFA_LINK 0x20, IFA_SITE 0x40, 0 for global), what ifconfig prints
	// as "scopeid 0x20<link>".
	Scope uint8
	// Flags is the low byte of the address's IFA_F_* flags (IFA_F_PERMANENT
	// 0x80, IFA_F_TENTATIVE 0x40, IFA_F_DEPRECATED 0x20, IFA_F_NODAD 0x02...).
	Flags     uint8
	Interface string // device name
}

// Addresses6 reads net/if_inet6 under procRoot, in file order.
//
// prometheus/procfs has no reader for this file.
func Addresses6(procRoot string) ([]Addr6, error) {
	return readFile(procPath(procRoot, "net/if_inet6"), parseIfInet6)
}

// parseIfInet6 parses net/if_inet6, no header; the kernel prints
// "%pi6 %02x %02x %02x %02x %8s":
//
//	fd000000000000000000000000000002 04 40 00 80     eth0
func parseIfInet6(r io.Reader, file string) ([]Addr6, error) {
	var out []Addr6
	err := scanLines(r, file, func(_ int, line string) error {
		if strings.TrimSpace(line) == "" {
			return nil
		}
		a, err := parseIfInet6Line(line)
		if err != nil {
			return err
		}
		out = append(out, a)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// parseIfInet6Line parses one net/if_inet6 line.
func parseIfInet6Line(line string) (Addr6, error) {
	f := strings.Fields(line)
	if len(f) != 6 {
		return Addr6{}, malformed("want \"address ifindex prefixlen scope flags device\", got %d fields", len(f))
	}
	addr, err := parseAddr6(f[0], "address")
	if err != nil {
		return Addr6{}, err
	}
	var v [4]uint64
	names := [4]string{"interface index", "prefix length", "scope", "flags"}
	for i := range v {
		bits := 8
		if i == 0 {
			bits = 32
		}
		n, err := strconv.ParseUint(f[1+i], 16, bits)
		if err != nil {
			return Addr6{}, malformed("%s %q is not a hex number", names[i], f[1+i])
		}
		v[i] = n
	}
	if v[1] > 128 {
		return Addr6{}, malformed("prefix length %q is more than 128", f[2])
	}
	return Addr6{Address: addr, Index: int(v[0]), PrefixLen: int(v[1]), Scope: uint8(v[2]), Flags: uint8(v[3]), Interface: f[5]}, nil
}

// ARP entry flags as net/arp prints them (ATF_* of <net/if_arp.h>).
const (
	ATFComplete  = 0x02 // ATF_COM: the hardware address is known
	ATFPermanent = 0x04 // ATF_PERM: a static entry
	ATFPublish   = 0x08 // ATF_PUBL: a proxy ARP entry
)

// ARPEntry is one line of net/arp: an IPv4 neighbour, as `arp -n` prints
// it.
type ARPEntry struct {
	Address   netip.Addr       // the neighbour's IPv4 address
	HWType    int              // ARPHRD_* of the device (1 for ethernet)
	Flags     int              // ATF_* bits: ATFComplete, ATFPermanent, ATFPublish
	MAC       net.HardwareAddr // hardware address; all zeros while unresolved
	Mask      string           // "*" except on proxy entries
	Interface string           // device name
}

// ARP reads net/arp under procRoot, in file order. The kernel lists
// neighbours that are resolved (Flags has ATFComplete, plus ATFPermanent
// for static ones) or still being resolved or failed (Flags 0), and proxy
// entries (ATFPublish); it leaves out NOARP entries.
//
// prometheus/procfs's ARPEntries is not used: it drops the flags' meaning
// beyond "complete", and reports no line numbers.
func ARP(procRoot string) ([]ARPEntry, error) {
	return readFile(procPath(procRoot, "net/arp"), parseARP)
}

// parseARP parses net/arp: a header, then lines the kernel prints with
// "%-16s 0x%-10x0x%-10x%-17s     *        %s":
//
//	IP address       HW type     Flags       HW address            Mask     Device
//	192.0.2.1        0x1         0x2         02:fc:00:00:00:02     *        eth0
func parseARP(r io.Reader, file string) ([]ARPEntry, error) {
	var out []ARPEntry
	err := scanLines(r, file, func(n int, line string) error {
		if n == 1 && strings.HasPrefix(line, "IP address") || strings.TrimSpace(line) == "" {
			return nil
		}
		e, err := parseARPLine(line)
		if err != nil {
			return err
		}
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// parseARPLine parses one net/arp entry.
func parseARPLine(line string) (ARPEntry, error) {
	f := strings.Fields(line)
	if len(f) != 6 {
		return ARPEntry{}, malformed("want \"address hwtype flags hwaddress mask device\", got %d fields", len(f))
	}
	addr, err := netip.ParseAddr(f[0])
	if err != nil || !addr.Is4() {
		return ARPEntry{}, malformed("address %q is not an IPv4 address", f[0])
	}
	var nums [2]int
	for i, what := range [2]string{"hw type", "flags"} {
		s, ok := strings.CutPrefix(f[1+i], "0x")
		v, err := strconv.ParseUint(s, 16, 31)
		if !ok || err != nil {
			return ARPEntry{}, malformed("%s %q is not a 0x-prefixed hex number", what, f[1+i])
		}
		nums[i] = int(v)
	}
	mac, err := parseColonHex(f[3])
	if err != nil {
		return ARPEntry{}, malformed("hardware address %q is not colon-separated hex bytes", f[3])
	}
	return ARPEntry{Address: addr, HWType: nums[0], Flags: nums[1], MAC: mac, Mask: f[4], Interface: f[5]}, nil
}

// parseColonHex parses a hardware address of any length printed as
// colon-separated two-digit hex bytes (02:fc:00:00:00:02). net.ParseMAC
// accepts only 6, 8 and 20 bytes; tunnels and other link types differ.
func parseColonHex(s string) (net.HardwareAddr, error) {
	parts := strings.Split(s, ":")
	out := make(net.HardwareAddr, len(parts))
	for i, p := range parts {
		if len(p) != 2 {
			return nil, ErrMalformed
		}
		v, err := strconv.ParseUint(p, 16, 8)
		if err != nil {
			return nil, ErrMalformed
		}
		out[i] = byte(v)
	}
	return out, nil
}
