package sockdiag

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/netsql/netsql/vtab/internal/nstest"
	"github.com/netsql/netsql/vtab/netlink"
	"github.com/netsql/netsql/vtab/netns"
	"github.com/netsql/netsql/vtab/sock"
)

// TestDestroyRequest checks the SOCK_DESTROY message byte by byte against
// struct nlmsghdr + inet_diag_req_v2 for each kind of socket.
func TestDestroyRequest(t *testing.T) {
	cases := []struct {
		name           string
		s              sock.Socket
		family, proto  uint8
		rawProto       uint8
		src, dst       []byte
		sport, dport   uint16
		cookieLo, hiCk uint32
	}{
		{"tcp4", sock.Socket{Family: unix.AF_INET, Protocol: sock.TCP,
			Local: netip.MustParseAddrPort("10.0.0.1:80"), Remote: netip.MustParseAddrPort("10.0.0.2:4444"),
			BoundIf: 3, Cookie: 0x1122334455667788},
			unix.AF_INET, unix.IPPROTO_TCP, 0, []byte{10, 0, 0, 1}, []byte{10, 0, 0, 2}, 80, 4444, 0x55667788, 0x11223344},
		{"tcp6", sock.Socket{Family: unix.AF_INET6, Protocol: sock.TCP,
			Local: netip.MustParseAddrPort("[fd00::1]:443"), Remote: netip.MustParseAddrPort("[::ffff:10.0.0.2]:5555"), Cookie: 7},
			unix.AF_INET6, unix.IPPROTO_TCP, 0, netip.MustParseAddr("fd00::1").AsSlice(), netip.MustParseAddr("::ffff:10.0.0.2").AsSlice(), 443, 5555, 7, 0},
		{"udp4 from /proc (no cookie)", sock.Socket{Family: unix.AF_INET, Protocol: sock.UDP,
			Local: netip.MustParseAddrPort("127.0.0.1:53")},
			unix.AF_INET, unix.IPPROTO_UDP, 0, []byte{127, 0, 0, 1}, []byte{0, 0, 0, 0}, 53, 0, ^uint32(0), ^uint32(0)},
		{"raw icmp", sock.Socket{Family: unix.AF_INET, Protocol: sock.RAW, RawProtocol: 1,
			Local: netip.MustParseAddrPort("0.0.0.0:1"), Remote: netip.MustParseAddrPort("0.0.0.0:0"), Cookie: 9},
			unix.AF_INET, unix.IPPROTO_RAW, 1, []byte{0, 0, 0, 0}, []byte{0, 0, 0, 0}, 1, 0, 9, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := destroyRequest(&c.s)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) != 16+56 || binary.NativeEndian.Uint32(b[0:4]) != 72 {
				t.Fatalf("length %d, nlmsg_len %d", len(b), binary.NativeEndian.Uint32(b[0:4]))
			}
			if typ := binary.NativeEndian.Uint16(b[4:6]); typ != 21 {
				t.Errorf("nlmsg_type %d, want SOCK_DESTROY (21)", typ)
			}
			if fl := binary.NativeEndian.Uint16(b[6:8]); fl != unix.NLM_F_REQUEST|unix.NLM_F_ACK {
				t.Errorf("nlmsg_flags %#x, want REQUEST|ACK", fl)
			}
			r := b[16:]
			if r[0] != c.family || r[1] != c.proto || r[3] != c.rawProto {
				t.Errorf("family %d proto %d raw %d, want %d %d %d", r[0], r[1], r[3], c.family, c.proto, c.rawProto)
			}
			id := r[8:]
			if p := binary.BigEndian.Uint16(id[0:2]); p != c.sport {
				t.Errorf("sport %d, want %d", p, c.sport)
			}
			if p := binary.BigEndian.Uint16(id[2:4]); p != c.dport {
				t.Errorf("dport %d, want %d", p, c.dport)
			}
			src, dst := make([]byte, 16), make([]byte, 16)
			copy(src, c.src)
			copy(dst, c.dst)
			if string(id[4:20]) != string(src) || string(id[20:36]) != string(dst) {
				t.Errorf("src % x dst % x, want % x % x", id[4:20], id[20:36], src, dst)
			}
			if ifx := binary.NativeEndian.Uint32(id[36:40]); ifx != c.s.BoundIf {
				t.Errorf("if %d, want %d", ifx, c.s.BoundIf)
			}
			if lo, hi := binary.NativeEndian.Uint32(id[40:44]), binary.NativeEndian.Uint32(id[44:48]); lo != c.cookieLo || hi != c.hiCk {
				t.Errorf("cookie %#x %#x, want %#x %#x", lo, hi, c.cookieLo, c.hiCk)
			}
		})
	}
	if _, err := destroyRequest(&sock.Socket{Family: unix.AF_UNIX, Protocol: sock.UNIX}); !errors.Is(err, ErrNotInet) {
		t.Errorf("unix socket: %v, want ErrNotInet", err)
	}
}

// TestDestroyAck reads the kernel's answer: an ACK, an errno, and
// messages of other requests skipped.
// ackKernel answers each request with one NLMSG_ERROR carrying errno
// (0: an ACK), as the kernel answers SOCK_DESTROY; a stale answer to an
// earlier sequence number comes first, which must be passed over.
type ackKernel struct {
	errno unix.Errno
	seq   uint32
	sent  int
}

func (k *ackKernel) Send(req []byte) error {
	k.seq = binary.NativeEndian.Uint32(req[8:12])
	k.sent++
	return nil
}

func (k *ackKernel) Receive(context.Context) ([]byte, error) {
	answer := func(seq uint32, errno unix.Errno) []byte {
		b := make([]byte, 16+4+16)
		binary.NativeEndian.PutUint32(b[0:4], uint32(len(b)))
		binary.NativeEndian.PutUint16(b[4:6], unix.NLMSG_ERROR)
		binary.NativeEndian.PutUint32(b[8:12], seq)
		binary.NativeEndian.PutUint32(b[16:20], uint32(-int32(errno)))
		return b
	}
	return append(answer(k.seq-1, 0), answer(k.seq, k.errno)...), nil
}

func (k *ackKernel) Close() error { return nil }

// TestDestroyAnswer: the kernel's answer to SOCK_DESTROY decides the
// result: an ACK is success, an errno comes back wrapped (ENOENT: gone),
// a stale answer to another request is passed over, and a raw socket
// read from /proc (no cookie) that the kernel cannot find is "not
// supported" (no raw_diag), not "gone".
func TestDestroyAnswer(t *testing.T) {
	tcp := &sock.Socket{Family: unix.AF_INET, Protocol: sock.TCP, Cookie: 7}
	raw := &sock.Socket{Family: unix.AF_INET, Protocol: sock.RAW}
	for _, c := range []struct {
		errno unix.Errno
		s     *sock.Socket
		want  error
	}{
		{0, tcp, nil},
		{unix.ENOENT, tcp, unix.ENOENT},
		{unix.EPERM, tcp, unix.EPERM},
		{unix.ENOENT, raw, unix.EOPNOTSUPP},
	} {
		req, err := destroyRequest(c.s)
		if err != nil {
			t.Fatal(err)
		}
		k := &ackKernel{errno: c.errno}
		err = destroy(context.Background(), netlink.NewConn(k, nil), req, c.s)
		if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%v socket, kernel errno %v: got %v, want %v", c.s.Protocol, c.errno, err, c.want)
		}
		if k.sent != 1 {
			t.Errorf("%d requests sent, want 1", k.sent)
		}
	}
}

// TestLiveDestroy closes an established TCP socket in a namespace of the
// test's own, from inside it: the peer reads a reset; a second destroy of
// the same socket is ENOENT; from netsql's own namespace it is ENOENT too
// (the kernel looks the socket up in the sender's namespace).
func TestLiveDestroy(t *testing.T) {
	n := nstest.New(t, "nsdestroy", "vd0")
	var client, server *net.TCPConn
	err := netns.Do(n.Path(), func() error {
		ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(10, 9, 0, 2)})
		if err != nil {
			return err
		}
		defer ln.Close()
		if client, err = net.DialTCP("tcp4", nil, ln.Addr().(*net.TCPAddr)); err != nil {
			return err
		}
		server, err = ln.AcceptTCP()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	defer server.Close()
	local := addrPort(server.LocalAddr())
	remote := addrPort(server.RemoteAddr())
	r := NewInNetNS(n.Path())
	socks, err := r.Sockets(context.Background(), sock.Request{Families: []uint8{unix.AF_INET}, Protocols: []sock.Proto{sock.TCP}, States: 1 << sock.StateEstablished})
	if err != nil {
		t.Fatal(err)
	}
	var target *sock.Socket
	for i := range socks {
		if socks[i].Local == local && socks[i].Remote == remote {
			target = &socks[i]
		}
	}
	if target == nil {
		t.Fatalf("server socket %v -> %v not in the dump", local, remote)
	}
	if err := New().Destroy(context.Background(), target); !errors.Is(err, unix.ENOENT) {
		t.Fatalf("destroy from netsql's own namespace: %v, want ENOENT", err)
	}
	if err := r.Destroy(context.Background(), target); err != nil {
		t.Fatalf("destroy: %v", err)
	}
	if _, err := client.Read(make([]byte, 1)); !errors.Is(err, unix.ECONNRESET) {
		t.Errorf("peer read: %v, want ECONNRESET", err)
	}
	if err := r.Destroy(context.Background(), target); !errors.Is(err, unix.ENOENT) {
		t.Errorf("second destroy: %v, want ENOENT", err)
	}
}
