package procnet

import (
	"bytes"
	"fmt"
	"io"
	"net/netip"

	"golang.org/x/sys/unix"

	"github.com/netsql/netsql/vtab/sock"
)

// userHZ is the clock tick rate of tm->when (USER_HZ, 100 on every Linux
// architecture netsql runs on): one tick is 10 ms.
const userHZ = 100

// parseInet reads a /proc/net/{tcp,udp,raw}{,6} file of the given family
// and protocol from r and appends the sockets whose state passes mask to
// out. name is the file's name for errors.
//
// The kernel prints every one of these files with the same leading columns
// (net/ipv4/tcp_ipv4.c, udp.c, raw.c and their ipv6 twins):
//
//	sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ...
//	 0: 0100007F:1F90 0100007F:B0E0 01 00000000:000004D2 02:000AF494 00000000     0        0 219986 ...
//
// Only those first ten are read; what follows inode differs per protocol.
func parseInet(r io.Reader, name string, family uint8, proto sock.Proto, mask uint32, out []sock.Socket, flush flushFunc) ([]sock.Socket, error) {
	return parseLines(r, name, mask, out, flush, func(line []byte) (sock.Socket, error) {
		return parseInetLine(line, family, proto)
	})
}

// parseInetLine parses one socket line of a /proc/net/{tcp,udp,raw}{,6} file.
//
// Mapping: st is State as is (TCP numbering for every protocol: an unbound
// or unconnected UDP or raw socket reads 07, CLOSE); tx_queue is SendQ,
// rx_queue RecvQ; tr is Timer and tm->when, clock ticks until it fires,
// TimerExpiresMs; retrnsmt is Retransmits; uid and inode as is. A raw
// socket's local port is its IP protocol, copied to RawProtocol.
func parseInetLine(line []byte, family uint8, proto sock.Proto) (sock.Socket, error) {
	var f [10][]byte
	if n, _ := splitFields(line, f[:]); n < len(f) {
		return sock.Socket{}, fmt.Errorf("%w: %d fields, want at least %d", ErrMalformed, n, len(f))
	}
	sl := f[0]
	if len(sl) < 2 || sl[len(sl)-1] != ':' {
		return sock.Socket{}, fmt.Errorf("%w: sl %q does not end in ':'", ErrMalformed, sl)
	}
	if _, ok := parseDec(sl[:len(sl)-1], 64); !ok {
		return sock.Socket{}, fmt.Errorf("%w: sl %q is not a number", ErrMalformed, sl)
	}
	local, err := parseAddrPort(f[1], family, "local_address")
	if err != nil {
		return sock.Socket{}, err
	}
	remote, err := parseAddrPort(f[2], family, "rem_address")
	if err != nil {
		return sock.Socket{}, err
	}
	st, err := hexField(f[3], "st", 8)
	if err != nil {
		return sock.Socket{}, err
	}
	tx, rx, err := hexPair(f[4], "tx_queue:rx_queue", 32, 32)
	if err != nil {
		return sock.Socket{}, err
	}
	tr, when, err := hexPair(f[5], "tr:tm->when", 8, 64)
	if err != nil {
		return sock.Socket{}, err
	}
	retr, err := hexField(f[6], "retrnsmt", 32)
	if err != nil {
		return sock.Socket{}, err
	}
	uid, err := decField(f[7], "uid", 32)
	if err != nil {
		return sock.Socket{}, err
	}
	// f[8] is "timeout": TCP's unanswered probe count, 0 elsewhere. It is
	// informational; a value that does not parse reads as 0.
	probes, _ := parseDec(f[8], 32)
	inode, err := decField(f[9], "inode", 64)
	if err != nil {
		return sock.Socket{}, err
	}

	s := sock.Socket{
		Family:         family,
		Protocol:       proto,
		State:          uint8(st),
		Local:          local,
		Remote:         remote,
		RecvQ:          uint32(rx),
		SendQ:          uint32(tx),
		UID:            uint32(uid),
		Inode:          inode,
		Timer:          uint8(tr),
		TimerExpiresMs: ticksToMs(when, len(f[5])-bytes.IndexByte(f[5], ':')-1),
		Retransmits:    uint32(retr),
		Probes:         uint32(probes),
		ProcNet:        true,
	}
	if proto == sock.RAW && local.Port() <= 0xff {
		s.RawProtocol = uint8(local.Port())
	}
	return s, nil
}

// ticksToMs converts tm->when to milliseconds. The kernel prints a signed
// long of clock ticks with %08lX, so an already-due timer (older kernels do
// not clamp it to 0) reads as a wrapped unsigned number: 16 digits on a
// 64-bit kernel, 8 with the top bit set on a 32-bit one. No timer runs
// 2^31 ticks (248 days) ahead, so 8 digits with the top bit set are
// negative whichever kernel printed them.
func ticksToMs(when uint64, digits int) int64 {
	var ticks int64
	if digits <= 8 {
		ticks = int64(int32(uint32(when)))
	} else {
		ticks = int64(when)
	}
	return ticks * (1000 / userHZ)
}

// parseAddrPort parses "ADDR:PORT" as the inet files print it: the address
// as 32-bit words, each in host (little-endian) byte order, 8 hex digits
// for AF_INET and 32 for AF_INET6; the port as 4 hex digits.
func parseAddrPort(b []byte, family uint8, what string) (netip.AddrPort, error) {
	i := bytes.IndexByte(b, ':')
	if i < 0 {
		return netip.AddrPort{}, fmt.Errorf("%w: %s %q has no ':'", ErrMalformed, what, b)
	}
	hexAddr, hexPort := b[:i], b[i+1:]
	words := 1
	if family == unix.AF_INET6 {
		words = 4
	}
	if len(hexAddr) != 8*words {
		return netip.AddrPort{}, fmt.Errorf("%w: %s %q: want %d hex digits of address", ErrMalformed, what, b, 8*words)
	}
	var a [16]byte
	for w := range words {
		v, ok := parseHex(hexAddr[8*w:8*w+8], 32)
		if !ok {
			return netip.AddrPort{}, fmt.Errorf("%w: %s %q: address is not hex", ErrMalformed, what, b)
		}
		a[4*w], a[4*w+1], a[4*w+2], a[4*w+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
	}
	port, ok := parseHex(hexPort, 16)
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("%w: %s %q: port is not a 16-bit hex number", ErrMalformed, what, b)
	}
	var addr netip.Addr
	if words == 1 {
		addr = netip.AddrFrom4([4]byte(a[:4]))
	} else {
		addr = netip.AddrFrom16(a)
	}
	return netip.AddrPortFrom(addr, uint16(port)), nil
}
