// Package netlink is netsql's one transport to the kernel's netlink
// families: rtnetlink (vtab/rtnl), sock_diag (vtab/sockdiag) and
// netfilter's ctnetlink all run over it. A family package is then only a
// request builder and a pure parser.
//
// It holds:
//   - framing: Messages walks the netlink messages of a datagram and Attrs
//     the attributes of a payload (nested ones too), both without
//     allocating; AppendHeader and AppendAttr build requests;
//   - error decoding: an NLMSG_ERROR or a failed NLMSG_DONE becomes an
//     *Error carrying the errno and the kernel's extended-ack message;
//   - a socket (Dial) made in any network namespace (through netns.Do),
//     whose receive is bound to a context: a deadline or a cancel reaches
//     a blocked read at once;
//   - Conn, which runs a request or a dump over a socket with sequence and
//     port checks, and redoes a dump the kernel flagged inconsistent
//     (NLM_F_DUMP_INTR), that overran the socket buffer (ENOBUFS) or whose
//     datagram did not fit the receive buffer, on a fresh socket.
//
// It uses only golang.org/x/sys/unix.
package netlink

import (
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// HeaderLen is the size of struct nlmsghdr.
const HeaderLen = unix.SizeofNlMsghdr

// AttrHeaderLen is the size of struct nlattr (and struct rtattr).
const AttrHeaderLen = 4

// attrTypeMask strips NLA_F_NESTED and NLA_F_NET_BYTEORDER from nla_type.
const attrTypeMask = 0x3fff

var ne = binary.NativeEndian

// ErrMalformed is wrapped by every error about bytes that do not frame as
// netlink: a message or attribute shorter than its header, or a length
// running past the end of its buffer.
var ErrMalformed = errors.New("malformed netlink message")

// ErrDumpInterrupted is wrapped by the error Conn.Dump returns when every
// attempt was flagged inconsistent (NLM_F_DUMP_INTR) or lost messages
// (ENOBUFS, a datagram larger than the receive buffer).
var ErrDumpInterrupted = errors.New("dump interrupted")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// Align rounds n up to the netlink alignment (4 bytes).
func Align(n int) int { return (n + 3) &^ 3 }

// Message is one netlink message: its header fields and its payload (the
// bytes after the header up to nlmsg_len), which aliases the buffer it was
// read from.
type Message struct {
	Type    uint16
	Flags   uint16
	Seq     uint32
	Pid     uint32
	Payload []byte
}

// MessageIter walks the messages of a buffer (one datagram, or several
// concatenated) without allocating:
//
//	it := netlink.Messages(b)
//	for it.Next() { m := it.Message(); ... }
//	if err := it.Err(); err != nil { ... }
//
// It never reads past the buffer; a message whose length is shorter than
// a header or runs past the end stops the walk with an error wrapping
// ErrMalformed.
type MessageIter struct {
	b   []byte
	m   Message
	err error
}

// Messages returns an iterator over the netlink messages in b.
func Messages(b []byte) MessageIter { return MessageIter{b: b} }

// Next moves to the next message and reports whether there is one.
func (it *MessageIter) Next() bool {
	if it.err != nil || len(it.b) == 0 {
		return false
	}
	b := it.b
	if len(b) < HeaderLen {
		it.err = malformed("%d trailing bytes, shorter than a netlink header", len(b))
		return false
	}
	l := int(ne.Uint32(b[0:4]))
	if l < HeaderLen || l > len(b) {
		it.err = malformed("nlmsg_len %d with %d bytes left", l, len(b))
		return false
	}
	it.m = Message{
		Type:    ne.Uint16(b[4:6]),
		Flags:   ne.Uint16(b[6:8]),
		Seq:     ne.Uint32(b[8:12]),
		Pid:     ne.Uint32(b[12:16]),
		Payload: b[HeaderLen:l:l],
	}
	if next := Align(l); next < len(b) {
		it.b = b[next:]
	} else {
		it.b = nil
	}
	return true
}

// Message returns the current message.
func (it *MessageIter) Message() Message { return it.m }

// Err returns the framing error that stopped the walk, if any.
func (it *MessageIter) Err() error { return it.err }

// AppendHeader appends a struct nlmsghdr for a message of type typ with
// flags whose payload is payloadLen bytes. The sequence number and port id
// are left 0: Conn stamps the sequence number, the kernel the port.
func AppendHeader(b []byte, typ, flags uint16, payloadLen int) []byte {
	b = ne.AppendUint32(b, uint32(HeaderLen+payloadLen))
	b = ne.AppendUint16(b, typ)
	b = ne.AppendUint16(b, flags)
	b = ne.AppendUint32(b, 0)
	return ne.AppendUint32(b, 0)
}

// NewRequest frames body as one netlink message of type typ with flags.
func NewRequest(typ, flags uint16, body []byte) []byte {
	b := make([]byte, 0, HeaderLen+len(body))
	b = AppendHeader(b, typ, flags, len(body))
	return append(b, body...)
}

// SetLen rewrites the nlmsg_len of the request that starts b to len(b), for
// builders that append attributes after AppendHeader.
func SetLen(b []byte) { ne.PutUint32(b[0:4], uint32(len(b))) }
