package procnet

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/netsql/netsql/vtab/internal/procline"
	"github.com/netsql/netsql/vtab/sock"
)

// newScanner returns a scanner over the lines of a kernel-written file:
// a last line without its newline was cut short, and Err reports it
// (procline.ErrTruncated).
func newScanner(r io.Reader) *bufio.Scanner {
	s := bufio.NewScanner(r)
	s.Split(procline.Split)
	return s
}

// flushFunc hands a streaming reader's sockets over: it takes what a
// parser has appended so far and returns the slice to append to next, or
// false when the reader must stop (the parser then returns errStopped).
// Nil keeps every socket in the slice.
type flushFunc func(out []sock.Socket) ([]sock.Socket, bool)

// errStopped ends a parse whose consumer wants no more sockets.
var errStopped = errors.New("procnet: stopped")

// parseLines runs parseLine over every line of r after the header line and
// appends the sockets whose state passes mask, handing them to flush
// after each one when flush is not nil. Blank lines are skipped. An
// error names name (the file) and the 1-based line number; a last line
// without a newline is an error (truncated), not a socket.
func parseLines(r io.Reader, name string, mask uint32, out []sock.Socket, flush flushFunc, parseLine func([]byte) (sock.Socket, error)) ([]sock.Socket, error) {
	s := newScanner(r)
	n := 0
	for s.Scan() {
		n++
		if n == 1 {
			continue // header
		}
		line := s.Bytes()
		if isBlank(line) {
			continue
		}
		sk, err := parseLine(line)
		if err != nil {
			return nil, fmt.Errorf("procnet: %s line %d: %w", name, n, err)
		}
		if stateWanted(mask, sk.State) {
			out = append(out, sk)
			if flush != nil {
				var ok bool
				if out, ok = flush(out); !ok {
					return out, errStopped
				}
			}
		}
	}
	if err := s.Err(); err != nil {
		return nil, scanErr(name, n+1, err)
	}
	return out, nil
}

// scanErr names the file and line of a scanner's error; a truncated last
// line wraps ErrMalformed as well as procline.ErrTruncated.
func scanErr(name string, line int, err error) error {
	if errors.Is(err, procline.ErrTruncated) {
		err = fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return fmt.Errorf("procnet: %s line %d: %w", name, line, err)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' }

func isBlank(b []byte) bool {
	for _, c := range b {
		if !isSpace(c) {
			return false
		}
	}
	return true
}

// splitFields fills dst with the space-separated fields of b, up to
// len(dst) of them, without allocating. It returns how many it found and
// what follows the last field taken (starting with its separator, if any).
func splitFields(b []byte, dst [][]byte) (int, []byte) {
	n, i := 0, 0
	for n < len(dst) {
		for i < len(b) && isSpace(b[i]) {
			i++
		}
		if i == len(b) {
			break
		}
		j := i
		for j < len(b) && !isSpace(b[j]) {
			j++
		}
		dst[n] = b[i:j]
		n++
		i = j
	}
	return n, b[i:]
}

// parseHex parses b as an unsigned hex number (no prefix, no sign) that
// fits in bits bits.
func parseHex(b []byte, bits uint) (uint64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		if v>>(bits-4) != 0 {
			return 0, false // one more digit would overflow
		}
		v = v<<4 | uint64(d)
	}
	return v, true
}

// parseDec parses b as an unsigned decimal number that fits in bits bits.
func parseDec(b []byte, bits uint) (uint64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	limit := uint64(1)<<bits - 1
	if bits == 64 {
		limit = ^uint64(0)
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if v > (limit-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, true
}

// hexField parses a hex field, naming it in the error.
func hexField(b []byte, what string, bits uint) (uint64, error) {
	v, ok := parseHex(b, bits)
	if !ok {
		return 0, fmt.Errorf("%w: %s %q is not a %d-bit hex number", ErrMalformed, what, b, bits)
	}
	return v, nil
}

// decField parses a decimal field, naming it in the error.
func decField(b []byte, what string, bits uint) (uint64, error) {
	v, ok := parseDec(b, bits)
	if !ok {
		return 0, fmt.Errorf("%w: %s %q is not a %d-bit decimal number", ErrMalformed, what, b, bits)
	}
	return v, nil
}

// hexPair parses "X:Y", two hex numbers of bitsX and bitsY bits.
func hexPair(b []byte, what string, bitsX, bitsY uint) (uint64, uint64, error) {
	i := bytes.IndexByte(b, ':')
	if i < 0 {
		return 0, 0, fmt.Errorf("%w: %s %q has no ':'", ErrMalformed, what, b)
	}
	x, okX := parseHex(b[:i], bitsX)
	y, okY := parseHex(b[i+1:], bitsY)
	if !okX || !okY {
		return 0, 0, fmt.Errorf("%w: %s %q is not hex:hex", ErrMalformed, what, b)
	}
	return x, y, nil
}
