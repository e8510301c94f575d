// Package procstat reads the network state that only /proc (and /etc)
// carry: protocol counters (net/snmp, net/netstat, net/snmp6), the socket
// summary behind `ss -s` (net/sockstat{,6}), multicast group memberships
// behind `netstat -g` (net/igmp{,6}), interface counters (net/dev), the
// routing tables as /proc
// shows them (net/route, net/ipv6_route), /etc/services and iproute2's
// rt_tables.
//
// Every reader takes a proc root: the live "/proc" or a copied tree on disk
// (a support bundle, a test fixture). Each is split prometheus/procfs style
// into read (open the file under the root) -> parse(io.Reader) ->
// parseLine, so parsing is a pure function of bytes. Parse errors name the
// file and the 1-based line ("procstat: /proc/net/snmp line 4: ..."); those
// about a line's content wrap ErrMalformed, and a missing file wraps
// fs.ErrNotExist. No input makes a reader panic (each parser has a fuzz
// target).
//
// github.com/prometheus/procfs is not used for these files; each file's
// reader says why. In short: procfs's NetDev panics on a short line, its
// NetRoute parses the hex Flags column as decimal, its snmp/netstat/snmp6
// readers are per-process, float-valued and keep only a fixed set of
// fields, and none of them reports line numbers.
package procstat

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"

	"github.com/netsql/netsql/vtab/fileread"
	"github.com/netsql/netsql/vtab/internal/procline"
)

// DefaultProcRoot is the live proc file system.
const DefaultProcRoot = "/proc"

// ErrMalformed is wrapped by every error about a line the parsers cannot
// make sense of (wrong field count, bad number, mismatched header).
var ErrMalformed = errors.New("malformed line")

// maxLineBytes bounds one line. The longest real line, the TcpExt header in
// net/netstat, is about 4 KiB; bufio.Scanner's default of 64 KiB would do,
// but a generous bound keeps odd kernels working.
const maxLineBytes = 1 << 20

// lineErr names the file and line of a parse error.
func lineErr(file string, line int, err error) error {
	return fmt.Errorf("procstat: %s line %d: %w", file, line, err)
}

// malformed builds an error wrapping ErrMalformed.
func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// scanLines calls fn for every line of r, a file the kernel wrote, with
// its 1-based number and wraps any error fn returns with the file name and
// that number. The kernel ends every line with a newline: a last line
// without one was cut short and is an error (procline.ErrTruncated) at
// that line, not data.
func scanLines(r io.Reader, file string, fn func(n int, line string) error) error {
	return scan(r, file, procline.Split, fn)
}

// scanTextLines is scanLines for files people write (/etc), whose last
// line may lack its newline.
func scanTextLines(r io.Reader, file string, fn func(n int, line string) error) error {
	return scan(r, file, bufio.ScanLines, fn)
}

func scan(r io.Reader, file string, split bufio.SplitFunc, fn func(n int, line string) error) error {
	s := bufio.NewScanner(r)
	s.Split(split)
	s.Buffer(make([]byte, 0, 64*1024), maxLineBytes)
	n := 0
	for s.Scan() {
		n++
		if err := fn(n, s.Text()); err != nil {
			return lineErr(file, n, err)
		}
	}
	if err := s.Err(); err != nil {
		if errors.Is(err, procline.ErrTruncated) {
			err = fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		return lineErr(file, n+1, err)
	}
	return nil
}

// procPath is the path of a file under a proc root, e.g. procPath("/proc",
// "net/snmp").
func procPath(procRoot, name string) string {
	if procRoot == "" {
		procRoot = DefaultProcRoot
	}
	return filepath.Join(procRoot, filepath.FromSlash(name))
}

// readFile opens path and hands it to parse along with its name. An error
// opening the file wraps the *os.PathError, so errors.Is(err,
// fs.ErrNotExist) works.
func readFile[T any](path string, parse func(io.Reader, string) (T, error)) (T, error) {
	f, err := fileread.Open(path)
	if err != nil {
		var zero T
		return zero, fmt.Errorf("procstat: %w", err)
	}
	defer f.Close()
	return parse(fileread.Limit(f, path, fileread.MaxProcFile), path)
}

// parseDec parses a signed decimal number as /proc prints it.
func parseDec(field, what string) (int64, error) {
	v, err := strconv.ParseInt(field, 10, 64)
	if err != nil {
		return 0, malformed("%s %q is not a decimal number", what, field)
	}
	return v, nil
}

// parseHex32 parses up to 8 hex digits (no 0x prefix) as /proc prints them
// with %08X or %08x.
func parseHex32(field, what string) (uint32, error) {
	v, err := strconv.ParseUint(field, 16, 32)
	if err != nil {
		return 0, malformed("%s %q is not a 32-bit hex number", what, field)
	}
	return uint32(v), nil
}

// atoi parses a decimal int that must fit in 32 bits (ifindex, user counts).
func atoi(field, what string) (int, error) {
	v, err := strconv.ParseInt(field, 10, 32)
	if err != nil {
		return 0, malformed("%s %q is not a decimal number", what, field)
	}
	return int(v), nil
}
