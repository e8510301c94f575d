// Package procnet reads sockets from the text files /proc/net/{tcp,tcp6,udp,
// udp6,udplite,udplite6,raw,raw6,unix} of a proc tree: the live /proc when
// netlink sock_diag is refused, or a /proc copied to disk (a support
// bundle, a test fixture) behind --proc DIR.
//
// The files are parsed here rather than through github.com/prometheus/procfs:
//
//   - procfs's NetTCP and NetUDP drop the timer fields (tr, tm->when,
//     retrnsmt) that netstat -o shows, and procfs has no raw reader;
//   - procfs's NetUNIX splits lines with strings.Fields, so a bound path
//     holding a space ("/run/my app.sock") comes back cut at the space, and
//     none of its errors carry a line number.
//
// Each reader follows procfs's shape anyway: open the file, parse an
// io.Reader line by line, one pure function per line.
//
// Records are filled in kernel terms as package sock defines them. In the
// inet files addresses are printed as 32-bit words in host byte order (so
// 127.0.0.1 reads 0100007F on the little-endian hosts this package assumes),
// ports, states, queues and timers in hex, uid and inode in decimal.
package procnet

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/netsql/netsql/vtab/fileread"
	"github.com/netsql/netsql/vtab/sock"
)

// ErrMalformed is wrapped by every error about a line that does not parse.
// The full error names the file and the 1-based line number (the header is
// line 1), as in "procnet: /proc/net/tcp line 7: malformed line: ...".
var ErrMalformed = errors.New("malformed line")

// Reader reads sockets from the /proc/net files under one proc root. It
// implements sock.Reader. A Reader holds no open files and is safe for
// concurrent use.
type Reader struct {
	root string
}

var _ sock.Reader = (*Reader)(nil)

// New returns a Reader over the proc tree at procRoot: "/proc" for the live
// kernel (whose net/ shows the network namespace of the calling process), or
// any directory holding a copied net/ subdirectory. An empty procRoot means
// "/proc".
func New(procRoot string) *Reader {
	if procRoot == "" {
		procRoot = "/proc"
	}
	return &Reader{root: procRoot}
}

// netFile is one /proc/net socket file and the sockets it holds.
type netFile struct {
	name   string
	family uint8
	proto  sock.Proto
}

// netFiles lists the files in the order Sockets returns their sockets.
var netFiles = []netFile{
	{"tcp", unix.AF_INET, sock.TCP},
	{"tcp6", unix.AF_INET6, sock.TCP},
	{"udp", unix.AF_INET, sock.UDP},
	{"udp6", unix.AF_INET6, sock.UDP},
	{"udplite", unix.AF_INET, sock.UDPLite},
	{"udplite6", unix.AF_INET6, sock.UDPLite},
	{"raw", unix.AF_INET, sock.RAW},
	{"raw6", unix.AF_INET6, sock.RAW},
	{"unix", unix.AF_UNIX, sock.UNIX},
}

// Sockets returns the sockets of every family and protocol req wants whose
// state is in req.StateMask() and that req.Filter matches, in file order
// (tcp, tcp6, udp, udp6, udplite, udplite6, raw, raw6, unix) and within a
// file in the kernel's order. Files the request does not want are not
// opened (a non-zero Filter skips unix, an IPv4-only address filter the *6
// files).
//
// A missing file is skipped (no tcp6 when IPv6 is disabled, no raw6 in an
// old bundle), but a missing net/ directory, or one holding none of the
// socket files, is an error wrapping fs.ErrNotExist, so a mistyped or
// empty --proc DIR does not look like an idle host. A last line without
// its newline (a file cut short) is an error naming the file and line.
// A line that does not parse is an error wrapping ErrMalformed that names
// the file and line. ctx is checked before each file.
//
// Fields /proc/net does not carry stay zero: Cookie, PeerInode and Extra
// always (req.Extras is ignored), and a TCP listener's SendQ (sock_diag
// reports the maximum backlog there; /proc/net/tcp prints 0, as netstat
// shows).
func (r *Reader) Sockets(ctx context.Context, req sock.Request) ([]sock.Socket, error) {
	mask := req.StateMask()
	netDir := filepath.Join(r.root, "net")
	var out []sock.Socket
	checked, anyFile := false, false
	for _, f := range netFiles {
		if !req.Wants(f.family, f.proto) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if !checked {
			if _, err := os.Stat(netDir); err != nil {
				return nil, fmt.Errorf("procnet: %w", err)
			}
			checked = true
		}
		start := len(out)
		var err error
		var found bool
		out, found, err = readFile(filepath.Join(netDir, f.name), f, mask, out, nil)
		if err != nil {
			return nil, err
		}
		anyFile = anyFile || found
		out = applyFilter(&req.Filter, out, start)
	}
	if checked && !anyFile && !hasSocketFile(netDir) {
		return nil, fmt.Errorf("procnet: %s holds none of the socket files (%s): %w", netDir, netFileNames(), fs.ErrNotExist)
	}
	return out, nil
}

// hasSocketFile reports whether netDir holds any of the socket files.
func hasSocketFile(netDir string) bool {
	for _, f := range netFiles {
		if _, err := os.Stat(filepath.Join(netDir, f.name)); err == nil {
			return true
		}
	}
	return false
}

// netFileNames lists the socket files' names, comma separated.
func netFileNames() string {
	names := make([]string, len(netFiles))
	for i, f := range netFiles {
		names[i] = f.name
	}
	return strings.Join(names, ", ")
}

// applyFilter drops the sockets from out[start:] that f does not match,
// keeping the order of the rest.
func applyFilter(f *sock.Filter, out []sock.Socket, start int) []sock.Socket {
	if f.IsZero() {
		return out
	}
	kept := out[:start]
	for i := range out[start:] {
		if s := &out[start+i]; f.Match(s) {
			kept = append(kept, *s)
		}
	}
	return kept
}

// readFile appends the sockets of one /proc/net file to out. A file that
// does not exist adds nothing and is no error; found says whether it did.
func readFile(path string, f netFile, mask uint32, out []sock.Socket, flush flushFunc) (_ []sock.Socket, found bool, err error) {
	fh, err := fileread.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return out, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("procnet: %w", err)
	}
	defer fh.Close()
	r := fileread.Limit(fh, path, fileread.MaxProcFile)
	if f.proto == sock.UNIX {
		out, err = parseUnix(r, path, mask, out, flush)
	} else {
		out, err = parseInet(r, path, f.family, f.proto, mask, out, flush)
	}
	return out, true, err
}

// stateWanted reports whether a socket in state st passes the state mask.
// AllStates keeps every socket, even one in a state numbered above 31.
func stateWanted(mask uint32, st uint8) bool {
	return mask == sock.AllStates || (st < 32 && mask&(1<<st) != 0)
}
