package sockdiag

import (
	"context"
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/netsql/netsql/vtab/netlink"
	"github.com/netsql/netsql/vtab/sock"
)

// conn is one NETLINK_SOCK_DIAG connection of the netlink core, reused for
// every dump of a Sockets call.
type conn struct{ nl *netlink.Conn }

// dial opens a sock_diag connection as cfg says (nil: in the caller's
// namespace). buf, when not nil, is reused as the receive buffer.
func dial(ctx context.Context, buf []byte, cfg *netlink.Config) (*conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var c netlink.Config
	if cfg != nil {
		c = *cfg
	}
	c.Protocol = unix.NETLINK_SOCK_DIAG
	c.Buffer = buf
	nl, err := netlink.DialConn(c)
	if err != nil {
		return nil, err
	}
	return &conn{nl: nl}, nil
}

func (c *conn) close() {
	if c != nil {
		c.nl.Close()
	}
}

// diagMessages hands the payload of each SOCK_DIAG_BY_FAMILY reply to
// each; any other message type is an error.
func diagMessages(each func(payload []byte) error) func(m netlink.Message) error {
	return func(m netlink.Message) error {
		if m.Type != unix.SOCK_DIAG_BY_FAMILY {
			return fmt.Errorf("unexpected netlink message type %d", m.Type)
		}
		return each(m.Payload)
	}
}

// dump sends req (a complete netlink message whose sequence number it sets)
// and hands each SOCK_DIAG_BY_FAMILY reply payload to each until the kernel
// ends the dump: one attempt, no retry. interrupted reports
// NLM_F_DUMP_INTR: the dump was read to its end but is inconsistent and
// must be redone.
func (c *conn) dump(ctx context.Context, req []byte, each func(payload []byte) error) (interrupted bool, err error) {
	return c.nl.Exchange(ctx, req, diagMessages(each))
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
