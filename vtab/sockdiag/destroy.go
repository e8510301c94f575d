package sockdiag

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/netsql/netsql/vtab/netlink"
	"github.com/netsql/netsql/vtab/sock"
)

// sockDestroy is SOCK_DESTROY, the sock_diag request that closes one
// socket (linux/sock_diag.h); the kernel serves it when built with
// CONFIG_INET_DIAG_DESTROY and the caller has CAP_NET_ADMIN in the
// socket's network namespace.
const sockDestroy = 21

// ErrNotInet is returned by Destroy for a socket SOCK_DESTROY cannot
// address: unix sockets (netsql never closes them) and unknown families.
var ErrNotInet = errors.New("only TCP, UDP and raw sockets can be closed")

// destroyRequest builds the SOCK_DESTROY message for s: an
// inet_diag_req_v2 whose inet_diag_sockid names the socket by its
// addresses, ports, bound device and cookie, as `ss -K` sends it. The
// kernel looks the socket up by that id and refuses with ESTALE when the
// cookie shows the address pair now belongs to another socket.
func destroyRequest(s *sock.Socket) ([]byte, error) {
	var ipproto, rawProto uint8
	switch s.Protocol {
	case sock.TCP:
		ipproto = unix.IPPROTO_TCP
	case sock.UDP:
		ipproto = unix.IPPROTO_UDP
	case sock.UDPLite:
		ipproto = unix.IPPROTO_UDPLITE
	case sock.RAW:
		// raw_diag looks in the hash chain of sdiag_raw_protocol.
		ipproto, rawProto = unix.IPPROTO_RAW, s.RawProtocol
	default:
		return nil, ErrNotInet
	}
	if s.Family != unix.AF_INET && s.Family != unix.AF_INET6 {
		return nil, ErrNotInet
	}
	b := make([]byte, nlmsgHdrLen+inetReqLen)
	binary.NativeEndian.PutUint32(b[0:4], uint32(len(b)))
	binary.NativeEndian.PutUint16(b[4:6], sockDestroy)
	binary.NativeEndian.PutUint16(b[6:8], unix.NLM_F_REQUEST|unix.NLM_F_ACK)
	r := b[nlmsgHdrLen:]
	r[0] = s.Family
	r[1] = ipproto
	r[3] = rawProto
	binary.NativeEndian.PutUint32(r[4:8], ^uint32(0)) // idiag_states: any
	// struct inet_diag_sockid at r[8:56]: ports big endian, then source
	// and destination addresses (16 bytes each), ifindex, cookie.
	id := r[8:]
	binary.BigEndian.PutUint16(id[0:2], s.Local.Port())
	binary.BigEndian.PutUint16(id[2:4], s.Remote.Port())
	putAddr(id[4:20], s.Family, s.Local.Addr().AsSlice())
	putAddr(id[20:36], s.Family, s.Remote.Addr().AsSlice())
	binary.NativeEndian.PutUint32(id[36:40], s.BoundIf)
	cookie := s.Cookie
	if cookie == 0 {
		// Unknown (read from /proc/net): INET_DIAG_NOCOOKIE, which
		// makes the kernel skip the check.
		cookie = ^uint64(0)
	}
	binary.NativeEndian.PutUint32(id[40:44], uint32(cookie))
	binary.NativeEndian.PutUint32(id[44:48], uint32(cookie>>32))
	return b, nil
}

// putAddr writes an address as inet_diag_sockid holds it: an IPv4
// address in the first four bytes, an IPv6 one in all sixteen.
func putAddr(dst []byte, family uint8, a []byte) {
	if family == unix.AF_INET && len(a) == 16 {
		a = a[12:] // an IPv4-mapped form of an AF_INET address
	}
	copy(dst, a)
}

// Destroy closes the socket s through SOCK_DESTROY, from inside the
// namespace the Reader reads (see NewInNetNS): a TCP peer gets a reset
// and the owner's next call fails (ECONNABORTED). The kernel's errno comes
// back wrapped: ENOENT or ESTALE when the socket is gone (or its address
// pair was reused), EOPNOTSUPP when the kernel cannot destroy sockets of
// that protocol, EPERM without CAP_NET_ADMIN.
func (r *Reader) Destroy(ctx context.Context, s *sock.Socket) error {
	req, err := destroyRequest(s)
	if err != nil {
		return fmt.Errorf("sockdiag: destroy: %w", err)
	}
	c, err := dial(ctx, nil, &netlink.Config{NetNS: r.netns})
	if err != nil {
		return fmt.Errorf("sockdiag: destroy: open: %w", err)
	}
	defer c.close()
	return destroy(ctx, c.nl, req, s)
}

// destroy sends one SOCK_DESTROY request on c and waits for the kernel's
// answer: an ACK, or the errno of an NLMSG_ERROR.
func destroy(ctx context.Context, c *netlink.Conn, req []byte, s *sock.Socket) error {
	err := c.Do(ctx, req, func(m netlink.Message) error {
		return fmt.Errorf("unexpected netlink message type %d", m.Type)
	})
	if errors.Is(err, unix.ENOENT) && s.Protocol == sock.RAW && s.Cookie == 0 {
		// A raw socket without a cookie was read from /proc/net
		// because the kernel has no raw_diag, whose absence reads
		// ENOENT too: the kernel cannot destroy it.
		return fmt.Errorf("sockdiag: destroy raw: no raw_diag in the kernel (CONFIG_INET_RAW_DIAG): %w", unix.EOPNOTSUPP)
	}
	if err != nil {
		return fmt.Errorf("sockdiag: destroy: %w", err)
	}
	return nil
}
