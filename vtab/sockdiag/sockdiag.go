// Package sockdiag reads sockets from the live kernel through netlink
// NETLINK_SOCK_DIAG: inet_diag dumps for TCP, UDP, UDP-Lite and raw sockets over IPv4
// and IPv6, and a unix_diag dump for AF_UNIX sockets.
//
// Only the dumps a sock.Request asks for run, and its state mask goes to
// the kernel, which filters before copying anything out; so does its port
// and address Filter, compiled to inet_diag bytecode as ss does, and only
// the extras it asks for (tcp_info, skmem, congestion algorithm) are
// requested. All dumps of one Sockets call share one netlink socket and one
// receive buffer; replies are parsed in place.
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

	"github.com/netsql/netsql/vtab/netlink"
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
	// the original state mask, filter and extras: hand each to a /proc/net
	// reader (which applies the filter and ignores the extras).
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

// Reader reads sockets through NETLINK_SOCK_DIAG. The zero value is ready
// to use, and a Reader is safe for concurrent use: each Sockets call opens
// its own netlink socket.
type Reader struct {
	// sizeHint remembers how many sockets the last unfiltered call
	// returned, so the next one allocates its result once.
	sizeHint atomic.Int64
	// noBytecode is set once the kernel refused a filter program
	// (EINVAL: an older kernel without INET_DIAG_BC_S_EQ, say); from then
	// on filters run in userspace only. Tests set it to compare the two.
	noBytecode atomic.Bool
	// compile compiles a filter for the kernel; nil means compileFilter.
	// Tests swap it to feed the kernel programs it refuses.
	compile func(f *sock.Filter, family uint8) ([]byte, error)
	// netns is the namespace file the netlink socket is made in; empty
	// means netsql's own namespace (see NewInNetNS).
	netns string
}

// NewInNetNS returns a reader of the network namespace at path (a file
// under /run/netns or /proc/PID/ns/net): its netlink socket is created
// inside that namespace, and sock_diag answers for the namespace a socket
// lives in.
func NewInNetNS(path string) *Reader { return &Reader{netns: path} }

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
	{"udplite", unix.AF_INET, sock.UDPLite, unix.IPPROTO_UDPLITE},
	{"udplite6", unix.AF_INET6, sock.UDPLite, unix.IPPROTO_UDPLITE},
	{"raw", unix.AF_INET, sock.RAW, unix.IPPROTO_RAW},
	{"raw6", unix.AF_INET6, sock.RAW, unix.IPPROTO_RAW},
	{"unix", unix.AF_UNIX, sock.UNIX, 0},
}

// inetStates are the states an inet_diag request asks for at most:
// ESTABLISHED through NEW_SYN_RECV. Bit 13 is TCP_BOUND_INACTIVE (Linux
// 6.6+), which makes the kernel also walk the bind hash for sockets that
// are bound but neither listening nor connected; /proc/net/tcp and ss
// (without --bound-inactive) do not show those, and the walk costs about
// 11 ms per TCP dump at 80k sockets, so AllStates must not ask for it.
const inetStates = 1<<(sock.StateNewSynRecv+1) - 2

func (d dumpKind) request(req *sock.Request, bytecode []byte) []byte {
	if d.proto == sock.UNIX {
		return unixRequest(req.StateMask(), req.Extras)
	}
	return inetRequest(d.family, d.ipproto, req.StateMask()&inetStates, idiagExt(req.Extras), bytecode)
}

func (d dumpKind) parse(b []byte, want sock.Extras, arena *extraArena) (sock.Socket, error) {
	if d.proto == sock.UNIX {
		return parseUnixMessage(b, want, arena)
	}
	return parseInetMessage(b, d.family, d.proto, want, arena)
}

// Sockets dumps the sockets req asks for: only the (family, protocol)
// dumps req.Wants runs, with req.StateMask() as the kernel's state filter
// and req.Filter compiled into the kernel's bytecode filter. Every socket
// is checked against both again here (raw_diag ignores the state mask; a
// kernel that refuses the bytecode with EINVAL gets the dump again without
// it), so the result holds exactly the sockets req selects. req.Extras
// are fetched into Socket.Extra.
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
	plan := planDumps(req)
	if len(plan) == 0 {
		return []sock.Socket{}, nil
	}
	c, err := dial(ctx, nil, &netlink.Config{NetNS: r.netns})
	if err != nil {
		return nil, classify("sockdiag: open", err)
	}
	defer c.close()

	filtered := !req.Filter.IsZero()
	hint := r.sizeHint.Load()
	if filtered {
		hint = 0
	}
	out := make([]sock.Socket, 0, hint+hint/8+64)
	var arena *extraArena
	if req.Extras != 0 {
		arena = &extraArena{}
	}
	var missing *UnavailableError
	for _, d := range plan {
		bc := r.bytecode(&req, d)
		out, err = runDump(ctx, c, d, &req, bc, arena, out)
		if len(bc) > 0 && errors.Is(err, unix.EINVAL) {
			// The kernel's inet_diag_bc_audit refused the program
			// (an opcode it does not know): filter in userspace.
			r.noBytecode.Store(true)
			out, err = runDump(ctx, c, d, &req, nil, arena, out)
		}
		if errors.Is(err, unix.ENOENT) {
			// No handler for this (family, protocol): note it, run the rest.
			missing = missing.add(d, req)
			continue
		}
		if err != nil {
			return nil, err
		}
	}
	if !filtered {
		r.sizeHint.Store(int64(len(out)))
	}
	if missing != nil {
		return out, missing
	}
	return out, nil
}

// planDumps lists the dumps req needs, in the order they run.
func planDumps(req sock.Request) []dumpKind {
	var plan []dumpKind
	for _, d := range dumps {
		if req.Wants(d.family, d.proto) {
			plan = append(plan, d)
		}
	}
	return plan
}

// bytecode compiles req's filter for dump d, nil when there is none,
// the dump is unix's (no bytecode), the kernel refused bytecode before,
// or the filter does not compile (too long): it then runs in userspace
// alone.
func (r *Reader) bytecode(req *sock.Request, d dumpKind) []byte {
	if req.Filter.IsZero() || d.proto == sock.UNIX || r.noBytecode.Load() {
		return nil
	}
	compile := r.compile
	if compile == nil {
		compile = compileFilter
	}
	bc, _ := compile(&req.Filter, d.family)
	return bc
}

// add notes dump d, which the kernel has no handler for, as missing
// (e may be nil) and returns the error.
func (e *UnavailableError) add(d dumpKind, req sock.Request) *UnavailableError {
	if e == nil {
		e = &UnavailableError{Err: unix.ENOENT}
	}
	e.Names = append(e.Names, d.name)
	m := req
	m.Families = []uint8{d.family}
	m.Protocols = []sock.Proto{d.proto}
	e.Missing = append(e.Missing, m)
	return e
}

// runDump runs one dump, appending to out the sockets that pass req's
// state mask and filter. bytecode, when not empty, is the filter compiled
// for the kernel. The netlink core redoes an interrupted dump
// (NLM_F_DUMP_INTR, or ENOBUFS on a fresh socket) from the start,
// netlink.MaxAttempts times in all.
func runDump(ctx context.Context, c *conn, d dumpKind, req *sock.Request, bytecode []byte, arena *extraArena, out []sock.Socket) ([]sock.Socket, error) {
	ctxName := dumpName(d, bytecode)
	msg := d.request(req, bytecode)
	selects := selector(req)
	start := len(out)
	each := func(p []byte) error {
		s, err := d.parse(p, req.Extras, arena)
		if err != nil {
			return err
		}
		if selects(&s) {
			out = append(out, s)
		}
		return nil
	}
	err := c.nl.Dump(ctx, msg, func() { out = out[:start] }, diagMessages(each))
	if err != nil {
		return out[:start], classify(ctxName, err)
	}
	return out, nil
}

// dumpName names dump d in errors, saying whether the kernel filtered it
// (bytecode not empty).
func dumpName(d dumpKind, bytecode []byte) string {
	if len(bytecode) > 0 {
		return "sockdiag: dump " + d.name + " (filtered by the kernel)"
	}
	return "sockdiag: dump " + d.name
}

// selector returns whether a socket a dump replied with is one req
// selects. The kernel filters by state for TCP, UDP and unix, but
// raw_diag ignores idiag_states; and the bytecode may have been refused,
// or may keep more than Match: every socket is checked here.
func selector(req *sock.Request) func(*sock.Socket) bool {
	mask := req.StateMask()
	filter := &req.Filter
	filtered := !filter.IsZero()
	return func(s *sock.Socket) bool {
		return s.State < 32 && mask&(1<<s.State) != 0 && (!filtered || filter.Match(s))
	}
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
