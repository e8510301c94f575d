package sockdiag

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/netsql/netsql/vtab/sock"
)

// stable blanks what changes from one dump to the next on an idle
// connection (timer countdowns, tcp_info's clocks), keeping the extras'
// presence and a field that does not move.
func stable(s sock.Socket) sock.Socket {
	s.TimerExpiresMs = 0
	if s.Extra != nil {
		s.Extra = &sock.Extra{Have: s.Extra.Have, Congestion: s.Extra.Congestion, Shutdown: s.Extra.Shutdown, Mem: sock.MemInfo{Len: s.Extra.Mem.Len, Rcvbuf: s.Extra.Mem.Rcvbuf}, TCP: sock.TCPInfo{SndMSS: s.Extra.TCP.SndMSS}}
	}
	return s
}

// TestMessagesDecodeAsSocketsReads: the compact dump holds the sockets
// Sockets returns, in its order, with the same fields and extras, under
// a port filter the kernel applies, across TCP over both families, UDP
// and unix. The test's own sockets only: a read retries until two reads
// agree on them.
func TestMessagesDecodeAsSocketsReads(t *testing.T) {
	ln4 := listenTCP(t, "tcp4", "127.0.0.1:0")
	ln6 := listenTCP(t, "tcp6", "[::1]:0")
	var conns []net.Conn
	for _, ln := range []*net.TCPListener{ln4, ln6} {
		for range 20 {
			c, err := net.Dial(ln.Addr().Network(), ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
		}
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	udp, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	path := filepath.Join(t.TempDir(), "messages.sock")
	ux, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ux.Close()
	p4, p6 := uint16(ln4.Addr().(*net.TCPAddr).Port), uint16(ln6.Addr().(*net.TCPAddr).Port)
	up := uint16(udp.LocalAddr().(*net.UDPAddr).Port)
	lo, hi := min(p4, p6, up), max(p4, p6, up)
	// The host's other sockets come and go between two reads (a port
	// range holds others' connections): compare the test's own, which
	// keep their order in both.
	ours := func(all []sock.Socket) (out []sock.Socket) {
		for _, s := range all {
			ports := []uint16{s.Local.Port(), s.Remote.Port()}
			switch {
			case s.Protocol == sock.TCP && (slices.Contains(ports, p4) || slices.Contains(ports, p6)),
				s.Protocol == sock.UDP && s.Local.Port() == up,
				s.Protocol == sock.UNIX && s.Path == path:
				out = append(out, stable(s))
			}
		}
		return out
	}
	for _, req := range []sock.Request{
		{Protocols: []sock.Proto{sock.TCP, sock.UDP}, Filter: sock.Filter{LocalPorts: []sock.PortRange{{Min: lo, Max: hi}}}},
		{Protocols: []sock.Proto{sock.TCP}, Extras: sock.ExtraTCPInfo | sock.ExtraMemInfo | sock.ExtraCongestion | sock.ExtraShutdown,
			Filter: sock.Filter{LocalPorts: []sock.PortRange{{Min: lo, Max: hi}}}},
		{Protocols: []sock.Proto{sock.UDP, sock.UNIX}},
	} {
		t.Run(fmt.Sprintf("%+v", req), func(t *testing.T) {
			r := New()
			var last string
			for try := 0; ; try++ {
				socks, err := r.Sockets(context.Background(), req)
				if err != nil {
					t.Fatal(err)
				}
				msgs, err := r.Messages(context.Background(), req)
				if err != nil {
					t.Fatal(err)
				}
				all := make([]sock.Socket, msgs.Len())
				for i := range all {
					all[i] = msgs.Socket(i)
				}
				got, want := ours(all), ours(socks)
				diff := ""
				if len(got) != len(want) {
					diff = fmt.Sprintf("Messages holds %d of the test's sockets, Sockets read %d", len(got), len(want))
				}
				for i := 0; diff == "" && i < len(want); i++ {
					if !reflect.DeepEqual(got[i], want[i]) {
						diff = fmt.Sprintf("socket %d decodes as\n%+v\nSockets read\n%+v", i, got[i], want[i])
					}
				}
				if diff == "" {
					min := map[bool]int{true: 42, false: 2}[req.Protocols[0] == sock.TCP] // 2 listeners and the 40 accepted ends (clients match the port range by chance), or UDP and unix
					if len(want) < min {
						t.Fatalf("read %d of the test's sockets, want at least %d", len(want), min)
					}
					if req.Extras != 0 && want[0].Extra == nil {
						t.Fatal("no extras decoded")
					}
					return
				}
				if diff == last || try == 5 {
					t.Fatal(diff)
				}
				last = diff
			}
		})
	}
}

// TestMessagesCostTheirBytes: a TIME_WAIT socket costs its reply's bytes
// (about a hundred) and its offset, not a parsed sock.Socket (about 200
// bytes) nor an allocation of its own.
func TestMessagesCostTheirBytes(t *testing.T) {
	timeWaitSockets(t, 3000)
	msgs, err := New().Messages(context.Background(), sock.Request{Families: []uint8{2}, Protocols: []sock.Proto{sock.TCP}, States: 1 << sock.StateTimeWait})
	if err != nil {
		t.Fatal(err)
	}
	if msgs.Len() < 3000 {
		t.Fatalf("kept %d TIME_WAIT sockets; the test made 3000", msgs.Len())
	}
	per := float64(msgs.size()) / float64(msgs.Len())
	if per > 128 {
		t.Fatalf("%.0f reply bytes a TIME_WAIT socket, want at most 128", per)
	}
	if len(msgs.chunks) > 1+int(msgs.size())/messageChunk {
		t.Fatalf("%d blocks for %d bytes", len(msgs.chunks), msgs.size())
	}
}

// raw returns the bytes m keeps for socket i.
func (m *Messages) raw(i int) []byte {
	start := m.starts[i]
	return m.chunks[start/messageChunk][start%messageChunk:][:m.sizes[i]]
}

// TestMessagesTruncate: a dump redone from its start drops what it kept
// (across blocks) and nothing before it; what is kept afterwards lands
// where the dropped bytes were.
func TestMessagesTruncate(t *testing.T) {
	m := &Messages{}
	var want [][]byte
	payload := func(i int) []byte { return bytes.Repeat([]byte{byte(i)}, 1000+i%900) }
	keep := func(d dumpKind, i int) {
		t.Helper()
		if err := m.keep(d, payload(i)); err != nil {
			t.Fatal(err)
		}
		want = append(want, payload(i))
	}
	check := func(when string) {
		t.Helper()
		if m.Len() != len(want) {
			t.Fatalf("%s: %d kept, want %d", when, m.Len(), len(want))
		}
		total := 0
		for i := range want {
			if !bytes.Equal(m.raw(i), want[i]) {
				t.Fatalf("%s: socket %d holds other bytes", when, i)
			}
			total += len(want[i])
		}
		if int(m.size()) < total || int(m.size()) > total+len(m.chunks)*2000 {
			t.Fatalf("%s: %d bytes held for %d kept", when, m.size(), total)
		}
	}
	for i := range 1500 { // about 2 MiB: three blocks
		keep(dumps[0], i)
	}
	mark := m.Len()
	for i := range 1500 {
		keep(dumps[1], 5000+i)
	}
	check("two dumps")
	if len(m.chunks) < 3 {
		t.Fatalf("%d blocks; the test needs the second dump to span blocks", len(m.chunks))
	}
	m.truncate(mark)
	want = want[:mark]
	check("second dump dropped")
	if len(m.kinds) != 1 || m.kinds[0].d != dumps[0] {
		t.Fatalf("kinds after the truncate: %+v", m.kinds)
	}
	for i := range 700 {
		keep(dumps[1], 9000+i)
	}
	check("second dump redone")
	if len(m.kinds) != 2 || m.kinds[1].first != mark {
		t.Fatalf("kinds after the redo: %+v", m.kinds)
	}
	m.truncate(0)
	want = want[:0]
	check("everything dropped")
}

// TestMessagesSmallDumpSmallBlock: a dump of a few sockets holds a few
// kB, not a whole block.
func TestMessagesSmallDumpSmallBlock(t *testing.T) {
	m := &Messages{}
	for i := range 10 {
		if err := m.keep(dumps[0], bytes.Repeat([]byte{byte(i)}, 100)); err != nil {
			t.Fatal(err)
		}
	}
	if held := cap(m.chunks[0]); held > 8<<10 {
		t.Fatalf("10 replies of 100 bytes hold a %d-byte block", held)
	}
	for i := range 10 {
		if !bytes.Equal(m.raw(i), bytes.Repeat([]byte{byte(i)}, 100)) {
			t.Fatalf("reply %d changed", i)
		}
	}
}
