package netlink

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/netsql/netsql/vtab/netns"
)

// Defaults of a Config left zero.
const (
	// DefaultBufSize is the receive buffer: the kernel sends at most
	// 32 KiB per dump datagram unless one message needs more, and a
	// larger datagram grows the buffer (see Socket.Receive).
	DefaultBufSize = 64 << 10
	// DefaultRcvBuf is the SO_RCVBUF asked of the kernel, so it can queue
	// a dump datagram while the previous one is parsed.
	DefaultRcvBuf = 1 << 20
	// DefaultReplyTimeout bounds how long one receive waits for the
	// kernel when the context has no earlier deadline: a kernel that
	// never answers cannot hang a query. A dump answers in microseconds.
	DefaultReplyTimeout = 10 * time.Second
)

// ErrNoReply is wrapped when the kernel sent nothing for the reply
// timeout.
var ErrNoReply = errors.New("no reply from the kernel")

// ErrTruncated is wrapped when a datagram was larger than the receive
// buffer and so lost. The buffer has grown to fit it; Conn redoes the
// request on a fresh socket.
var ErrTruncated = errors.New("netlink datagram larger than the receive buffer")

// Config says which netlink socket Dial makes.
type Config struct {
	// Protocol is the netlink family: unix.NETLINK_ROUTE,
	// unix.NETLINK_SOCK_DIAG, unix.NETLINK_NETFILTER, ...
	Protocol int
	// NetNS is a file naming the network namespace to make the socket in
	// (/run/netns/NAME, /proc/PID/ns/net); empty means the caller's.
	NetNS string
	// Strict asks for NETLINK_GET_STRICT_CHK (Linux 4.20+), under which
	// rtnetlink honours filters in dump requests; Socket.Strict says
	// whether the kernel accepted it.
	Strict bool
	// BufSize is the initial receive buffer; 0 means DefaultBufSize.
	BufSize int
	// Buffer, when at least BufSize long, is used as the receive buffer
	// instead of a new one (a caller dialling often keeps its buffer).
	Buffer []byte
	// ReplyTimeout is how long a receive waits for the kernel at most;
	// 0 means DefaultReplyTimeout.
	ReplyTimeout time.Duration
}

// Transport is what Conn runs requests over: a Socket, or a fake in tests.
type Transport interface {
	// Send writes one request to the kernel.
	Send(req []byte) error
	// Receive returns the next datagram from the kernel; the bytes are
	// valid until the next Receive. It returns when ctx is done.
	Receive(ctx context.Context) ([]byte, error)
	// Close releases the transport.
	Close() error
}

// Socket is a bound netlink socket and its receive buffer. Its receive
// waits in the Go runtime's poller, so a context's cancel or deadline
// reaches a blocked read at once.
type Socket struct {
	f       *os.File
	rc      syscall.RawConn
	fd      int
	port    uint32
	strict  bool
	buf     []byte
	timeout time.Duration

	// read is the poller callback of Receive, made once so a receive
	// allocates nothing; it leaves its results in n, from and rerr.
	read func(fd uintptr) bool
	n    int
	from unix.Sockaddr
	rerr error
}

// Dial makes, configures and binds a netlink socket. In another namespace
// (cfg.NetNS) the socket is created by a thread that joined it
// (netns.Do); a socket stays in the namespace it was created in.
func Dial(cfg Config) (*Socket, error) {
	fd := -1
	mk := func() error {
		var err error
		fd, err = unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, cfg.Protocol)
		if err != nil {
			return fmt.Errorf("socket(AF_NETLINK, %s): %w", protocolName(cfg.Protocol), err)
		}
		return nil
	}
	var err error
	if cfg.NetNS != "" {
		err = netns.Do(cfg.NetNS, mk)
	} else {
		err = mk()
	}
	if err != nil {
		if fd >= 0 {
			unix.Close(fd)
		}
		return nil, err
	}
	s, err := newSocket(fd, cfg)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	return s, nil
}

func newSocket(fd int, cfg Config) (*Socket, error) {
	// A large receive buffer lets the kernel queue a dump datagram while
	// the previous one is parsed. SO_RCVBUFFORCE passes
	// net.core.rmem_max where we may (CAP_NET_ADMIN).
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, DefaultRcvBuf) != nil {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, DefaultRcvBuf)
	}
	// Best effort: extended acks carry the kernel's error text; capped
	// acks keep error replies small.
	_ = unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_EXT_ACK, 1)
	_ = unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_CAP_ACK, 1)
	strict := cfg.Strict && unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_GET_STRICT_CHK, 1) == nil
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, fmt.Errorf("bind(AF_NETLINK): %w", err)
	}
	var port uint32
	if sa, err := unix.Getsockname(fd); err == nil {
		if nl, ok := sa.(*unix.SockaddrNetlink); ok {
			port = nl.Pid
		}
	}
	size := cfg.BufSize
	if size <= 0 {
		size = DefaultBufSize
	}
	buf := cfg.Buffer[:cap(cfg.Buffer)]
	if len(buf) < size {
		buf = make([]byte, size)
	}
	timeout := cfg.ReplyTimeout
	if timeout <= 0 {
		timeout = DefaultReplyTimeout
	}
	// A non-blocking descriptor joins the runtime's poller; deadlines then
	// interrupt a waiting read.
	f := os.NewFile(uintptr(fd), "netlink")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("netlink socket: %w", err)
	}
	s := &Socket{f: f, rc: rc, fd: fd, port: port, strict: strict, buf: buf, timeout: timeout}
	s.read = func(fd uintptr) bool {
		for {
			// MSG_TRUNC makes netlink return the datagram's real length.
			s.n, _, _, s.from, s.rerr = unix.Recvmsg(int(fd), s.buf, nil, unix.MSG_TRUNC)
			if s.rerr != unix.EINTR {
				return s.rerr != unix.EAGAIN
			}
		}
	}
	return s, nil
}

// Port returns the port id the kernel bound the socket to: the nlmsg_pid
// of every reply to it.
func (s *Socket) Port() uint32 { return s.port }

// Strict reports whether the kernel accepted NETLINK_GET_STRICT_CHK.
func (s *Socket) Strict() bool { return s.strict }

// Send writes one request to the kernel.
func (s *Socket) Send(req []byte) error {
	for {
		err := unix.Sendto(s.fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("sendto: %w", err)
		}
		return nil
	}
}

// Receive returns the next datagram the kernel sent to the socket. It
// waits until one arrives, ctx is done (its error is returned), or the
// reply timeout passes (an error wrapping ErrNoReply). A datagram larger
// than the buffer is lost: the buffer grows to fit the next one and the
// error wraps ErrTruncated. Datagrams from other senders are dropped.
func (s *Socket) Receive(ctx context.Context) ([]byte, error) {
	for {
		n, err := s.recv(ctx)
		if err != nil {
			return nil, err
		}
		if n > len(s.buf) {
			have := len(s.buf)
			s.buf = make([]byte, Align(n)+4096)
			return nil, fmt.Errorf("recvmsg: %d-byte datagram, %d-byte buffer: %w", n, have, ErrTruncated)
		}
		if n >= 0 {
			return s.buf[:n], nil
		}
	}
}

// recv reads one datagram into s.buf and returns its full length (more
// than len(s.buf) when it was truncated), or -1 for one that did not come
// from the kernel.
func (s *Socket) recv(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	// Fast path: a dump keeps the queue filled, so the datagram is usually
	// there already and no deadline needs arming.
	if !s.read(uintptr(s.fd)) {
		if err := s.wait(ctx); err != nil {
			return 0, err
		}
	}
	if s.rerr != nil {
		return 0, fmt.Errorf("recvmsg: %w", s.rerr)
	}
	if sa, ok := s.from.(*unix.SockaddrNetlink); !ok || sa.Pid != 0 {
		return -1, nil // not from the kernel
	}
	return s.n, nil
}

// wait blocks in the poller until s.read succeeds, ctx is done or the
// reply timeout passes.
func (s *Socket) wait(ctx context.Context) error {
	deadline := time.Now().Add(s.timeout)
	ctxDeadline := false
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline, ctxDeadline = dl, true
	}
	if err := s.f.SetReadDeadline(deadline); err != nil {
		return fmt.Errorf("recvmsg: set deadline: %w", err)
	}
	var stop func() bool
	var fired sync.WaitGroup
	if ctx.Done() != nil {
		fired.Add(1)
		stop = context.AfterFunc(ctx, func() {
			defer fired.Done()
			_ = s.f.SetReadDeadline(time.Unix(1, 0)) // wake the read now
		})
	}
	err := s.rc.Read(s.read)
	if stop != nil && !stop() {
		fired.Wait() // the wake-up ran: let it finish before returning
	}
	switch {
	case err == nil:
		return nil
	case !errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("recvmsg: %w", err)
	case ctx.Err() != nil:
		return ctx.Err()
	case ctxDeadline:
		return context.DeadlineExceeded
	}
	return fmt.Errorf("recvmsg: %w within %v", ErrNoReply, s.timeout)
}

// Close closes the socket.
func (s *Socket) Close() error {
	if s == nil || s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}

// protocolName names the netlink families netsql uses, for error messages.
func protocolName(p int) string {
	switch p {
	case unix.NETLINK_ROUTE:
		return "NETLINK_ROUTE"
	case unix.NETLINK_SOCK_DIAG:
		return "NETLINK_SOCK_DIAG"
	case unix.NETLINK_NETFILTER:
		return "NETLINK_NETFILTER"
	}
	return fmt.Sprint(p)
}
