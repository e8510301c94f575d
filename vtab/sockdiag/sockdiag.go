// Package sockdiag reads sockets from the live kernel through netlink
// NETLINK_SOCK_DIAG: inet_diag dumps for TCP, UDP and raw sockets over IPv4
// and IPv6, and a unix_diag dump for AF_UNIX sockets.
//
// Only the dumps a sock.Request asks for run, and its state mask goes to
// the kernel, which filters before copying anything out. All dumps of one
// Sockets call share one netlink socket and one receive buffer; replies are
// parsed in place.
//
// When the kernel refuses sock_diag (no permission, no NETLINK_SOCK_DIAG,
// no inet_diag or unix_diag module) Sockets returns an error wrapping
// ErrUnavailable, and the caller can read /proc/net instead.
package sockdiag

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/netsql/netsql/vtab/sock"
)

// ErrUnavailable is wrapped by the errors Sockets returns when the kernel
// refuses NETLINK_SOCK_DIAG: the protocol is not supported, permission is
// denied, or the inet_diag, raw_diag or unix_diag handler is missing.
// Callers test it with errors.Is and fall back to /proc/net; when only some
// dumps were refused the error is an *UnavailableError that says which.
var ErrUnavailable = errors.New("netlink sock_diag unavailable")

// UnavailableError reports dumps the kernel has no sock_diag handler for,
// as on kernels built without CONFIG_INET_RAW_DIAG (raw_diag), where the
// raw and raw6 dumps fail with ENOENT while TCP, UDP and unix work. It
// wraps ErrUnavailable and the errno.
//
// Sockets returns it together with the sockets of every dump that did run,
// so a caller can read just the Missing dumps from /proc/net and merge, or
// discard the partial result and read everything from /proc/net.
type UnavailableError struct {
	// Missing holds one request per refused (family, protocol) dump, with
	// the original state mask: hand each to a /proc/net reader.
	Missing []sock.Request
	Names   []string // the refused dumps as netstat names them: raw, raw6, ...
	Err     error    // the errno the kernel returned
}

// Error names the refused dumps and the kernel's errno.
func (e *UnavailableError) Error() string {
	return fmt.Sprintf("sockdiag: dump %s: %v: %v", strings.Join(e.Names, ", "), ErrUnavailable, e.Err)
}

// Unwrap returns ErrUnavailable and the errno, for errors.Is.
func (e *UnavailableError) Unwrap() []error { return []error{ErrUnavailable, e.Err} }

// errInterrupted is wrapped when a dump stayed inconsistent (NLM_F_DUMP_INTR)
// or overran the socket buffer (ENOBUFS) on every try.
var errInterrupted = errors.New("dump interrupted")

// maxTries is how often one dump runs before an interrupted dump is an error.
const maxTries = 3

// Reader reads sockets through NETLINK_SOCK_DIAG. The zero value is ready
// to use, and a Reader is safe for concurrent use: each Sockets call opens
// its own netlink socket.
type Reader struct {
	// sizeHint remembers how many sockets the last call returned, so the
	// next one allocates its result once.
	sizeHint atomic.Int64
}

// New returns a Reader for the live kernel of the caller's network namespace.
func New() *Reader { return &Reader{} }

var _ sock.Reader = (*Reader)(nil)

// dumpKind is one (family, protocol) dump.
type dumpKind struct {
	name    string // as netstat names the protocol: tcp, tcp6, ..., unix
	family  uint8
	proto   sock.Proto
	ipproto uint8 // sdiag_protocol of an inet_diag request
}

// dumps lists every dump Sockets can run, in the order it runs them.
var dumps = []dumpKind{
	{"tcp", unix.AF_INET, sock.TCP, unix.IPPROTO_TCP},
	{"tcp6", unix.AF_INET6, sock.TCP, unix.IPPROTO_TCP},
	{"udp", unix.AF_INET, sock.UDP, unix.IPPROTO_UDP},
	{"udp6", unix.AF_INET6, sock.UDP, unix.IPPROTO_UDP},
	{"raw", unix.AF_INET, sock.RAW, unix.IPPROTO_RAW},
	{"raw6", unix.AF_INET6, sock.RAW, unix.IPPROTO_RAW},
	{"unix", unix.AF_UNIX, sock.UNIX, 0},
}

func (d dumpKind) request(states uint32) []byte {
	if d.proto == sock.UNIX {
		return unixRequest(states)
	}
	return inetRequest(d.family, d.ipproto, states)
}

func (d dumpKind) parse(b []byte) (sock.Socket, error) {
	if d.proto == sock.UNIX {
		return parseUnixMessage(b)
	}
	return parseInetMessage(b, d.family, d.proto)
}

// Sockets dumps the sockets req asks for: only the (family, protocol)
// dumps req.Wants runs, with req.StateMask() as the kernel's state filter.
// Errors name the dump that failed ("sockdiag: dump tcp6: ...") and come
// with no sockets, with one exception: when the kernel lacks the handler
// for some dumps (ENOENT), the others still run and Sockets returns their
// sockets together with an *UnavailableError naming the missing ones. Any
// other error wrapping ErrUnavailable (no NETLINK_SOCK_DIAG, permission
// denied) means sock_diag cannot be used at all.
func (r *Reader) Sockets(ctx context.Context, req sock.Request) ([]sock.Socket, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sockdiag: %w", err)
	}
	var plan []dumpKind
	for _, d := range dumps {
		if req.Wants(d.family, d.proto) {
			plan = append(plan, d)
		}
	}
	if len(plan) == 0 {
		return []sock.Socket{}, nil
	}
	mask := req.StateMask()

	c, err := dial(ctx, nil)
	if err != nil {
		return nil, classify("sockdiag: open", err)
	}
	defer func() { c.close() }()

	hint := r.sizeHint.Load()
	out := make([]sock.Socket, 0, hint+hint/8+64)
	var missing *UnavailableError
	for _, d := range plan {
		out, err = runDump(ctx, &c, d, mask, out)
		if errors.Is(err, unix.ENOENT) {
			// No handler for this (family, protocol): note it, run the rest.
			if missing == nil {
				missing = &UnavailableError{Err: unix.ENOENT}
			}
			missing.Names = append(missing.Names, d.name)
			missing.Missing = append(missing.Missing, sock.Request{
				Families:  []uint8{d.family},
				Protocols: []sock.Proto{d.proto},
				States:    req.States,
			})
			continue
		}
		if err != nil {
			return nil, err
		}
	}
	r.sizeHint.Store(int64(len(out)))
	if missing != nil {
		return out, missing
	}
	return out, nil
}

// runDump runs one dump, appending its sockets to out. An interrupted dump
// (NLM_F_DUMP_INTR, or ENOBUFS which reopens the socket) is redone from the
// start, maxTries times in all.
func runDump(ctx context.Context, c **conn, d dumpKind, mask uint32, out []sock.Socket) ([]sock.Socket, error) {
	ctxName := "sockdiag: dump " + d.name
	req := d.request(mask)
	start := len(out)
	each := func(p []byte) error {
		s, err := d.parse(p)
		if err != nil {
			return err
		}
		// The kernel filters by state for TCP, UDP and unix, but raw_diag
		// ignores idiag_states: filter here for all.
		if s.State < 32 && mask&(1<<s.State) != 0 {
			out = append(out, s)
		}
		return nil
	}
	overrun := false
	for try := 1; try <= maxTries; try++ {
		out = out[:start]
		if (*c).broken {
			(*c).close()
			nc, err := dial(ctx, (*c).buf)
			if err != nil {
				return out[:start], classify(ctxName, err)
			}
			*c = nc
		}
		interrupted, err := (*c).dump(ctx, req, each)
		switch {
		case errors.Is(err, unix.ENOBUFS):
			// Messages were lost; the rest of the dump may still be
			// queued, so start over on a fresh socket.
			(*c).broken = true
			overrun = true
		case err != nil:
			return out[:start], classify(ctxName, err)
		case interrupted:
			overrun = false
		default:
			return out, nil
		}
	}
	if overrun {
		return out[:start], fmt.Errorf("%s: %w: receive buffer overrun (ENOBUFS) on all %d tries", ctxName, errInterrupted, maxTries)
	}
	return out[:start], fmt.Errorf("%s: %w: kernel flagged the dump inconsistent (NLM_F_DUMP_INTR) on all %d tries", ctxName, errInterrupted, maxTries)
}

// classify wraps err with context, adding ErrUnavailable when the errno
// says the kernel will not serve sock_diag to us.
func classify(context string, err error) error {
	var errno unix.Errno
	if errors.As(err, &errno) {
		switch errno {
		case unix.EPROTONOSUPPORT, unix.EAFNOSUPPORT, unix.EACCES, unix.EPERM, unix.ENOENT:
			return fmt.Errorf("%s: %w: %w", context, ErrUnavailable, err)
		}
	}
	return fmt.Errorf("%s: %w", context, err)
}
