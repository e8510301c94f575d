package procnet

import (
	"fmt"
	"io"

	"golang.org/x/sys/unix"

	"github.com/netsql/netsql/vtab/sock"
)

// Values of /proc/net/unix's Flags and St columns (include/linux/net.h,
// include/uapi/linux/net.h).
const (
	soAcceptCon = 0x10000 // __SO_ACCEPTCON: a listening socket, netstat's ACC

	ssUnconnected   = 1
	ssConnecting    = 2
	ssConnected     = 3
	ssDisconnecting = 4
)

// parseUnix reads a /proc/net/unix file from r and appends the sockets whose
// (converted) state passes mask to out. name is the file's name for errors.
//
// The kernel (net/unix/af_unix.c, unix_seq_show) prints
//
//	Num       RefCount Protocol Flags    Type St Inode Path
//	00000000d0bd2ea6: 00000002 00000000 00010000 0001 01 219995 /var/run/demo-app.sock
//
// with "%pK: %08X %08X %08X %04X %02X %5lu" and then, for a bound socket,
// one space and the address byte for byte: a path as is (spaces included),
// an abstract name as '@' and its bytes with NULs shown as '@', and a
// newline. Nothing is escaped, so a name holding a newline (any user may
// bind the abstract name "\x00x\ny") continues on the next line: a line
// after a bound socket's that is not a socket line is the rest of its
// name. (A name can hold text that reads as a socket line; like netstat,
// the file cannot tell that apart.) procfs's NetUNIX reads the path as one
// whitespace-separated field, which cuts a path at its first space; hence
// this parser.
func parseUnix(r io.Reader, name string, mask uint32, out []sock.Socket, flushOut flushFunc) ([]sock.Socket, error) {
	sc := newScanner(r)
	n := 0
	var cur sock.Socket
	have, stopped := false, false
	flush := func() {
		if have && stateWanted(mask, cur.State) {
			out = append(out, cur)
			if flushOut != nil && !stopped {
				var ok bool
				out, ok = flushOut(out)
				stopped = !ok
			}
		}
		have = false
	}
	for sc.Scan() {
		n++
		if n == 1 {
			continue // header
		}
		line := sc.Bytes()
		sk, err := parseUnixLine(line)
		if err != nil && have && cur.Path != "" {
			cur.Path += "\n" + string(line) // the name went on past a newline
			continue
		}
		if err != nil && isBlank(line) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("procnet: %s line %d: %w", name, n, err)
		}
		flush()
		if stopped {
			return out, errStopped
		}
		cur, have = sk, true
	}
	if err := sc.Err(); err != nil {
		return nil, scanErr(name, n+1, err)
	}
	flush()
	if stopped {
		return out, errStopped
	}
	return out, nil
}

// parseUnixLine parses one socket line of /proc/net/unix.
//
// RefCount, Type and Inode are copied; Path is everything after the single
// space that follows Inode. The state is converted to the TCP numbering
// sock.Socket uses:
//
//	Flags has __SO_ACCEPTCON  -> StateListen      (LISTENING)
//	St 3 SS_CONNECTED         -> StateEstablished (CONNECTED)
//	St 2 SS_CONNECTING        -> StateSynSent     (CONNECTING)
//	St 1 SS_UNCONNECTED       -> StateClose       (netstat prints no state)
//	St 4 SS_DISCONNECTING     -> StateCloseWait   (DISCONNECTING)
//	any other St              -> 0
//
// Current kernels print SS_CONNECTING for a connection queued on a listener
// and not yet accepted, and SS_DISCONNECTING for an orphaned socket
// (sock_diag reports ESTABLISHED and the socket's own state for those).
func parseUnixLine(line []byte) (sock.Socket, error) {
	var f [7][]byte
	n, rest := splitFields(line, f[:])
	if n < len(f) {
		return sock.Socket{}, fmt.Errorf("%w: %d fields, want at least %d", ErrMalformed, n, len(f))
	}
	num := f[0]
	if len(num) < 2 || num[len(num)-1] != ':' {
		return sock.Socket{}, fmt.Errorf("%w: Num %q does not end in ':'", ErrMalformed, num)
	}
	if _, ok := parseHex(num[:len(num)-1], 64); !ok {
		return sock.Socket{}, fmt.Errorf("%w: Num %q is not a hex pointer", ErrMalformed, num)
	}
	ref, err := hexField(f[1], "RefCount", 32)
	if err != nil {
		return sock.Socket{}, err
	}
	if _, err := hexField(f[2], "Protocol", 32); err != nil {
		return sock.Socket{}, err
	}
	flags, err := hexField(f[3], "Flags", 32)
	if err != nil {
		return sock.Socket{}, err
	}
	typ, err := hexField(f[4], "Type", 8)
	if err != nil {
		return sock.Socket{}, err
	}
	st, err := hexField(f[5], "St", 8)
	if err != nil {
		return sock.Socket{}, err
	}
	inode, err := decField(f[6], "Inode", 64)
	if err != nil {
		return sock.Socket{}, err
	}
	var path string
	if len(rest) > 1 && !isBlank(rest) {
		path = string(rest[1:]) // rest starts with the one separating space
	}
	return sock.Socket{
		Family:    unix.AF_UNIX,
		Protocol:  sock.UNIX,
		State:     unixState(uint32(flags), uint8(st)),
		Type:      uint8(typ),
		Path:      path,
		RefCount:  uint32(ref),
		UnixFlags: uint32(flags),
		Inode:     inode,
		ProcNet:   true,
		NoQueues:  true,
	}, nil
}

// unixState converts /proc/net/unix's Flags and St to a sock.State* value
// (see parseUnixLine).
func unixState(flags uint32, st uint8) uint8 {
	if flags&soAcceptCon != 0 {
		return sock.StateListen
	}
	switch st {
	case ssConnected:
		return sock.StateEstablished
	case ssConnecting:
		return sock.StateSynSent
	case ssUnconnected:
		return sock.StateClose
	case ssDisconnecting:
		return sock.StateCloseWait
	}
	return 0
}
