package sockdiag

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/netsql/netsql/vtab/sock"
)

const (
	rcvBufSize  = 1 << 20  // SO_RCVBUF asked of the kernel
	readBufSize = 64 << 10 // one recvmsg; the kernel sends at most 32 KiB per dump skb
	// recvTimeout bounds one recvmsg, so a kernel that never answers cannot
	// hang a query; a dump answers in microseconds.
	recvTimeout = 10 * time.Second
)

// conn is one NETLINK_SOCK_DIAG socket, reused for every dump of a
// Sockets call. It is all the netlink I/O there is: open, send one request,
// receive until NLMSG_DONE.
type conn struct {
	fd     int
	seq    uint32
	buf    []byte
	broken bool // a dump was left half read: do not send on this socket again
	// open made fd; a redial after ENOBUFS uses it again, so the new
	// socket lives in the same namespace.
	open func() (int, error)
}

// openSocket creates a sock_diag netlink socket in the calling thread's
// network namespace.
func openSocket() (int, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return -1, fmt.Errorf("socket(AF_NETLINK, NETLINK_SOCK_DIAG): %w", err)
	}
	return fd, nil
}

// dial opens (with open, or openSocket when nil) and binds a sock_diag
// netlink socket. buf is reused as the receive buffer when large enough.
func dial(ctx context.Context, buf []byte, open func() (int, error)) (*conn, error) {
	if open == nil {
		open = openSocket
	}
	fd, err := open()
	if err != nil {
		return nil, err
	}
	// A large receive buffer lets the kernel queue a dump skb while the
	// previous one is parsed. SO_RCVBUFFORCE passes net.core.rmem_max
	// where we may (CAP_NET_ADMIN); otherwise SO_RCVBUF gets what it can.
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rcvBufSize) != nil {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, rcvBufSize)
	}
	timeout := recvTimeout
	if dl, ok := ctx.Deadline(); ok {
		if d := time.Until(dl); d < timeout {
			timeout = max(d, time.Millisecond)
		}
	}
	tv := unix.NsecToTimeval(timeout.Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("setsockopt(SO_RCVTIMEO): %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind(AF_NETLINK): %w", err)
	}
	if cap(buf) < readBufSize {
		buf = make([]byte, readBufSize)
	}
	return &conn{fd: fd, buf: buf[:cap(buf)], open: open}, nil
}

func (c *conn) close() {
	if c != nil && c.fd >= 0 {
		unix.Close(c.fd)
		c.fd = -1
	}
}

// dump sends req (a complete netlink message whose sequence number it sets)
// and hands each SOCK_DIAG_BY_FAMILY reply payload to each until the kernel
// ends the dump. interrupted reports NLM_F_DUMP_INTR: the dump was read to
// its end but is inconsistent and must be redone. ctx is checked before
// every receive.
func (c *conn) dump(ctx context.Context, req []byte, each func(payload []byte) error) (interrupted bool, err error) {
	if c.broken {
		return false, errors.New("netlink socket left in the middle of a dump")
	}
	c.seq++
	binary.NativeEndian.PutUint32(req[8:12], c.seq)
	if err := unix.Sendto(c.fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return false, fmt.Errorf("sendto: %w", err)
	}
	st := dumpState{seq: c.seq}
	for !st.done {
		if err := ctx.Err(); err != nil {
			c.broken = true
			return false, err
		}
		n, _, rflags, from, err := unix.Recvmsg(c.fd, c.buf, nil, 0)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			c.broken = true
			return false, fmt.Errorf("recvmsg: no reply from the kernel: %w", err)
		case err != nil:
			c.broken = true
			return false, fmt.Errorf("recvmsg: %w", err)
		case rflags&unix.MSG_TRUNC != 0:
			c.broken = true
			return false, fmt.Errorf("recvmsg: netlink message larger than the %d-byte buffer", len(c.buf))
		}
		if sa, ok := from.(*unix.SockaddrNetlink); !ok || sa.Pid != 0 {
			continue // not from the kernel
		}
		if err := handleBatch(c.buf[:n], &st, each); err != nil {
			if !st.done {
				c.broken = true
			}
			return st.interrupted, err
		}
	}
	return st.interrupted, nil
}

// nlHeader writes a struct nlmsghdr for a dump request of total length n.
func nlHeader(b []byte, n int) {
	binary.NativeEndian.PutUint32(b[0:4], uint32(n))
	binary.NativeEndian.PutUint16(b[4:6], unix.SOCK_DIAG_BY_FAMILY)
	binary.NativeEndian.PutUint16(b[6:8], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	// b[8:12] sequence number, set by conn.dump; b[12:16] port id 0.
}

// inetRequest builds a SOCK_DIAG_BY_FAMILY dump request carrying struct
// inet_diag_req_v2, followed by an INET_DIAG_REQ_BYTECODE attribute when
// bytecode is not empty. ext is idiag_ext: the extensions the reply should
// carry (see idiagExt), 0 for none. Raw sockets are asked for with
// sdiag_protocol IPPROTO_RAW, as ss does; raw_diag's dump ignores
// sdiag_raw_protocol (it only selects the socket of a single-socket
// lookup) and so dumps raw sockets of every protocol.
func inetRequest(family, ipproto uint8, states uint32, ext uint8, bytecode []byte) []byte {
	n := nlmsgHdrLen + inetReqLen
	if len(bytecode) > 0 {
		n += align4(nlaHdrLen + len(bytecode))
	}
	b := make([]byte, n)
	nlHeader(b, len(b))
	r := b[nlmsgHdrLen:]
	r[0] = family  // sdiag_family
	r[1] = ipproto // sdiag_protocol
	r[2] = ext     // idiag_ext
	r[3] = 0       // pad / sdiag_raw_protocol
	binary.NativeEndian.PutUint32(r[4:8], states)
	// struct inet_diag_sockid stays zero: addresses and ports are
	// filtered by the bytecode, which a dump honours (the sockid is only
	// read by single-socket lookups).
	if len(bytecode) > 0 {
		a := r[inetReqLen:]
		binary.NativeEndian.PutUint16(a[0:2], uint16(nlaHdrLen+len(bytecode)))
		binary.NativeEndian.PutUint16(a[2:4], inetDiagReqBytecode)
		copy(a[nlaHdrLen:], bytecode)
	}
	return b
}

// unixRequest builds a SOCK_DIAG_BY_FAMILY dump request carrying struct
// unix_diag_req. Of the extras, ExtraMemInfo adds UDIAG_SHOW_MEMINFO;
// the shutdown state comes unasked.
func unixRequest(states uint32, extras sock.Extras) []byte {
	b := make([]byte, nlmsgHdrLen+unixReqLen)
	nlHeader(b, len(b))
	r := b[nlmsgHdrLen:]
	r[0] = unix.AF_UNIX
	binary.NativeEndian.PutUint32(r[4:8], states)
	show := uint32(udiagShowName | udiagShowPeer | udiagShowRQLen | udiagShowUID)
	if extras&sock.ExtraMemInfo != 0 {
		show |= udiagShowMemInfo
	}
	binary.NativeEndian.PutUint32(r[12:16], show)
	return b
}
