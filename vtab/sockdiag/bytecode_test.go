package sockdiag

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/netsql/netsql/vtab/sock"
)

func littleEndian() bool { return binary.NativeEndian.Uint16([]byte{1, 0}) == 1 }

func pfx(s string) netip.Prefix {
	if !strings.Contains(s, "/") {
		a := netip.MustParseAddr(s)
		return netip.PrefixFrom(a, a.BitLen())
	}
	return netip.MustParsePrefix(s)
}

// TestCompileFilterBytes pins the exact program for simple filters, laid
// out by hand from the rules in include/uapi/linux/inet_diag.h: op =
// code, yes, no (u16, host order); a port op's operand is a second op
// whose no is the port; a hostcond is family, prefix_len, 2 pad, int
// port (-1), then the address in network order. Reject = jump 4 past the
// end.
func TestCompileFilterBytes(t *testing.T) {
	if !littleEndian() {
		t.Skip("expected bytes are written for a little-endian host")
	}
	for _, c := range []struct {
		name   string
		f      sock.Filter
		family uint8
		want   string // hex, spaces for reading
	}{
		{"sport = 80", sock.Filter{LocalPorts: []sock.PortRange{sock.Port(80)}}, unix.AF_INET,
			"0b080c00 00005000"},
		{"dport = 443", sock.Filter{RemotePorts: []sock.PortRange{sock.Port(443)}}, unix.AF_INET6,
			"0c080c00 0000bb01"},
		{"sport in (80, 443)", sock.Filter{LocalPorts: []sock.PortRange{sock.Port(80), sock.Port(443)}}, unix.AF_INET,
			// S_EQ 80, no -> 12 (next alternative); JMP +12 (end);
			// S_EQ 443, no -> reject (24-12).
			"0b080c00 00005000 01040c00 0b080c00 0000bb01"},
		{"sport >= 1024", sock.Filter{LocalPorts: []sock.PortRange{{Min: 1024, Max: 0xffff}}}, unix.AF_INET,
			"02080c00 00000004"},
		{"dport <= 1023", sock.Filter{RemotePorts: []sock.PortRange{{Min: 0, Max: 1023}}}, unix.AF_INET,
			"05080c00 0000ff03"},
		{"sport 1000-2000", sock.Filter{LocalPorts: []sock.PortRange{{Min: 1000, Max: 2000}}}, unix.AF_INET,
			"02081400 0000e803 03080c00 0000d007"},
		{"dst 10/8", sock.Filter{RemoteAddrs: []netip.Prefix{pfx("10.1.2.3/8")}}, unix.AF_INET,
			"08101400 02080000 ffffffff 0a000000"},
		{"src ::1", sock.Filter{LocalAddrs: []netip.Prefix{pfx("::1")}}, unix.AF_INET6,
			"071c2000 0a800000 ffffffff 00000000000000000000000000000001"},
		{"sport = 22 and dst 127.0.0.1", sock.Filter{
			LocalPorts: []sock.PortRange{sock.Port(22)}, RemoteAddrs: []netip.Prefix{pfx("127.0.0.1")},
		}, unix.AF_INET,
			"0b081c00 00001600 08101400 02200000 ffffffff 7f000001"},
		{"src v6 only, v4 dump", sock.Filter{LocalAddrs: []netip.Prefix{pfx("::1")}}, unix.AF_INET,
			"01040800"},
		{"empty port range", sock.Filter{LocalPorts: []sock.PortRange{{Min: 2, Max: 1}}}, unix.AF_INET,
			"01040800"},
		{"every port", sock.Filter{LocalPorts: []sock.PortRange{{Min: 0, Max: 0xffff}}}, unix.AF_INET, ""},
		{"v4 /0", sock.Filter{RemoteAddrs: []netip.Prefix{pfx("0.0.0.0/0")}}, unix.AF_INET, ""},
		{"zero filter", sock.Filter{}, unix.AF_INET, ""},
	} {
		got, err := compileFilter(&c.f, c.family)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		want, _ := hex.DecodeString(strings.ReplaceAll(c.want, " ", ""))
		if hex.EncodeToString(got) != hex.EncodeToString(want) {
			t.Errorf("%s:\n got % x\nwant % x", c.name, got, want)
		}
		if len(got) > 0 {
			if err := auditModel(got); err != nil {
				t.Errorf("%s: the kernel would refuse % x: %v", c.name, got, err)
			}
		}
	}
}

func TestCompileFilterErrors(t *testing.T) {
	if _, err := compileFilter(&sock.Filter{LocalPorts: []sock.PortRange{sock.Port(1)}}, unix.AF_UNIX); err == nil {
		t.Error("AF_UNIX: no error")
	}
	var many []sock.PortRange
	for p := range 9000 { // 12 bytes each with its JMP: past 64 KiB
		many = append(many, sock.Port(uint16(p)))
	}
	_, err := compileFilter(&sock.Filter{LocalPorts: many}, unix.AF_INET)
	if !errors.Is(err, errBytecodeTooLong) {
		t.Errorf("9000 ports: err = %v, want errBytecodeTooLong", err)
	}
	// 5000 fit, and the furthest jump still fits its u16.
	b, err := compileFilter(&sock.Filter{LocalPorts: many[:5000]}, unix.AF_INET)
	if err != nil {
		t.Fatal(err)
	}
	if err := auditModel(b); err != nil {
		t.Errorf("5000 ports: %v", err)
	}
}

// entry is what the kernel's bytecode sees of a socket (struct
// inet_diag_entry): addresses in network order, ports in host order.
type entry struct {
	family       uint8
	saddr, daddr []byte
	sport, dport uint16
}

func entryOf(s *sock.Socket) entry {
	return entry{s.Family, s.Local.Addr().AsSlice(), s.Remote.Addr().AsSlice(), s.Local.Port(), s.Remote.Port()}
}

// auditModel mirrors inet_diag_bc_audit (net/ipv4/inet_diag.c) for the ops
// compileFilter emits: every op's yes is at least its length and lands
// inside the program or 4 past it; every no is a multiple of 4, at least
// the op's length, at most 4 past the end, and lands on an op boundary.
func auditModel(b []byte) error {
	ne := binary.NativeEndian
	bounds := map[int]bool{}
	for pos := 0; pos < len(b); {
		bounds[pos] = true
		if pos+4 > len(b) {
			return errors.New("op header past the end")
		}
		if b[pos+1] == 0 {
			return errors.New("yes of 0")
		}
		pos += int(b[pos+1])
	}
	for pos := 0; pos < len(b); {
		code, yes, no := b[pos], int(b[pos+1]), int(ne.Uint16(b[pos+2:]))
		left := len(b) - pos
		minLen := 4
		switch code {
		case bcSGE, bcSLE, bcDGE, bcDLE, bcSEQ, bcDEQ:
			minLen += 4
		case bcSCond, bcDCond:
			if left < 4+hostcondLen {
				return errors.New("hostcond past the end")
			}
			alen := map[byte]int{unix.AF_UNSPEC: 0, unix.AF_INET: 4, unix.AF_INET6: 16}
			n, ok := alen[b[pos+4]]
			if !ok {
				return errors.New("hostcond family")
			}
			if int(b[pos+5]) > 8*n {
				return errors.New("prefix longer than the address")
			}
			minLen += hostcondLen + n
		case bcJmp:
		default:
			return errors.New("unknown opcode")
		}
		if left < minLen {
			return errors.New("operand past the end")
		}
		if no < minLen || no > left+4 || no%4 != 0 {
			return errors.New("bad no")
		}
		if no < left && !bounds[pos+no] {
			return errors.New("no lands inside an op")
		}
		if yes < minLen || yes > left+4 || yes%4 != 0 {
			return errors.New("bad yes")
		}
		pos += yes
	}
	return nil
}

// runModel mirrors inet_diag_bc_run: accept when the program is left
// exactly at its end.
func runModel(b []byte, e entry) bool {
	ne := binary.NativeEndian
	pos := 0
	for pos < len(b) {
		code, yes, no := b[pos], int(b[pos+1]), int(ne.Uint16(b[pos+2:]))
		ok := true
		arg := func() uint16 { return ne.Uint16(b[pos+6:]) }
		switch code {
		case bcJmp:
			ok = false
		case bcSGE:
			ok = e.sport >= arg()
		case bcSLE:
			ok = e.sport <= arg()
		case bcDGE:
			ok = e.dport >= arg()
		case bcDLE:
			ok = e.dport <= arg()
		case bcSEQ:
			ok = e.sport == arg()
		case bcDEQ:
			ok = e.dport == arg()
		case bcSCond, bcDCond:
			fam, plen, port := b[pos+4], int(b[pos+5]), int32(ne.Uint32(b[pos+8:]))
			cond := b[pos+12:]
			p, addr := e.sport, e.saddr
			if code == bcDCond {
				p, addr = e.dport, e.daddr
			}
			switch {
			case port != -1 && int32(p) != port:
				ok = false
			case fam != unix.AF_UNSPEC && fam != e.family:
				mapped := e.family == unix.AF_INET6 && fam == unix.AF_INET &&
					netip.AddrFrom16([16]byte(addr)).Is4In6()
				ok = mapped && bitsMatch(addr[12:], cond, plen)
			case plen == 0:
			default:
				ok = bitsMatch(addr, cond, plen)
			}
		}
		if ok {
			pos += yes
		} else {
			pos += no
		}
	}
	return pos == len(b)
}

func bitsMatch(a, b []byte, bits int) bool {
	for i := 0; bits > 0; i++ {
		m := byte(0xff)
		if bits < 8 {
			m = 0xff << (8 - bits)
		}
		if a[i]&m != b[i]&m {
			return false
		}
		bits -= 8
	}
	return true
}

// TestCompileFilterModel compiles random filters and runs them, through
// models of the kernel's audit and interpreter, over random sockets: the
// kernel must accept every program and keep exactly what Filter.Match
// keeps.
func TestCompileFilterModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	ports := []uint16{0, 1, 22, 80, 443, 1023, 1024, 8080, 65535}
	prefixes := []string{"127.0.0.1", "127.0.0.0/8", "10.0.0.0/9", "0.0.0.0/0", "192.0.2.128/25",
		"::1", "::/0", "2001:db8::/32", "::ffff:127.0.0.1", "::ffff:0.0.0.0/96", "fe80::/10"}
	addrs := []string{"127.0.0.1", "127.9.9.9", "10.1.2.3", "10.200.0.1", "192.0.2.200", "0.0.0.0",
		"::1", "::", "2001:db8::5", "::ffff:127.0.0.1", "::ffff:10.1.2.3", "fe80::1", "2002::1"}
	randRanges := func() []sock.PortRange {
		var rs []sock.PortRange
		for range rng.IntN(4) {
			a, b := ports[rng.IntN(len(ports))], ports[rng.IntN(len(ports))]
			if rng.IntN(2) == 0 {
				b = a
			}
			rs = append(rs, sock.PortRange{Min: a, Max: b})
		}
		return rs
	}
	randPrefixes := func() []netip.Prefix {
		var ps []netip.Prefix
		for range rng.IntN(3) {
			ps = append(ps, pfx(prefixes[rng.IntN(len(prefixes))]))
		}
		return ps
	}
	var sockets []sock.Socket
	for _, l := range addrs {
		for _, r := range addrs {
			la, ra := netip.MustParseAddr(l), netip.MustParseAddr(r)
			if la.Is4() != ra.Is4() {
				continue
			}
			fam := uint8(unix.AF_INET)
			if la.Is6() {
				fam = unix.AF_INET6
			}
			for range 3 {
				sockets = append(sockets, sock.Socket{
					Family: fam, Protocol: sock.TCP,
					Local:  netip.AddrPortFrom(la, ports[rng.IntN(len(ports))]),
					Remote: netip.AddrPortFrom(ra, ports[rng.IntN(len(ports))]),
				})
			}
		}
	}
	for i := range 3000 {
		f := sock.Filter{LocalPorts: randRanges(), RemotePorts: randRanges(), LocalAddrs: randPrefixes(), RemoteAddrs: randPrefixes()}
		for _, fam := range []uint8{unix.AF_INET, unix.AF_INET6} {
			b, err := compileFilter(&f, fam)
			if err != nil {
				t.Fatalf("filter %d %+v: %v", i, f, err)
			}
			if len(b) > 0 {
				if err := auditModel(b); err != nil {
					t.Fatalf("filter %d %+v family %d: audit: %v\n% x", i, f, fam, err, b)
				}
			}
			for j := range sockets {
				s := &sockets[j]
				if s.Family != fam {
					continue
				}
				kernel := len(b) == 0 || runModel(b, entryOf(s))
				if want := f.Match(s); kernel != want {
					t.Fatalf("filter %+v on %v -> %v: kernel keeps %v, Match %v\n% x", f, s.Local, s.Remote, kernel, want, b)
				}
			}
		}
	}
}
