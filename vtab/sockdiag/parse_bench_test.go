package sockdiag

import (
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/netsql/netsql/vtab/internal/perrow"
	"github.com/netsql/netsql/vtab/sock"
)

// inetBatch lays out n SOCK_DIAG_BY_FAMILY replies for ESTABLISHED
// TCP/IPv4 sockets, with the attributes every kernel adds, one after the
// other as recvmsg returns them, followed by NLMSG_DONE.
func inetBatch(n int, seq uint32) []byte {
	var b []byte
	for i := range n {
		msg := inetMsg(inetFields{
			family: unix.AF_INET, state: sock.StateEstablished,
			src:    netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, byte(i >> 8), byte(i)}), uint16(10000+i%50000)),
			dst:    netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), 8080),
			cookie: uint64(i), uid: 1000, inode: uint32(300000 + i),
		}, commonInetAttrs()...)
		b = append(b, nlmsg(unix.SOCK_DIAG_BY_FAMILY, unix.NLM_F_MULTI, seq, msg)...)
	}
	return append(b, nlmsg(unix.NLMSG_DONE, unix.NLM_F_MULTI, seq, make([]byte, 4))...)
}

// parseBatch parses every reply of data into out (reset first) as
// runDump does, without the kernel.
func parseBatch(data []byte, out []sock.Socket) ([]sock.Socket, error) {
	d := dumpKind{name: "tcp", family: unix.AF_INET, proto: sock.TCP, ipproto: unix.IPPROTO_TCP}
	out = out[:0]
	st := dumpState{seq: 7}
	err := handleBatch(data, &st, func(p []byte) error {
		s, err := d.parse(p, 0, nil)
		if err != nil {
			return err
		}
		out = append(out, s)
		return nil
	})
	return out, err
}

// BenchmarkParseDump parses a dump of 80k TCP sockets already in memory
// (no kernel time): "reuse" into a slice kept from the last dump, the cost
// of the parser itself; "fresh" into a new slice each time, as a snapshot
// read pays it today (the slice's growth, amortised per row).
func BenchmarkParseDump(b *testing.B) {
	const rows = 80000
	data := inetBatch(rows, 7)
	b.Run("reuse", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		out := make([]sock.Socket, 0, rows)
		perrow.Report(b, rows, func() {
			var err error
			if out, err = parseBatch(data, out); err != nil || len(out) != rows {
				b.Fatal(len(out), err)
			}
		})
	})
	b.Run("fresh", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		perrow.Report(b, rows, func() {
			if out, err := parseBatch(data, nil); err != nil || len(out) != rows {
				b.Fatal(len(out), err)
			}
		})
	})
}

// TestParseDumpAllocs: parsing a dump into a slice with room for it
// allocates nothing per socket (an Extra is only allocated when asked
// for, from an arena): at most a few allocations for the whole dump of
// 1,000 sockets, whatever its size.
func TestParseDumpAllocs(t *testing.T) {
	const rows = 1000
	data := inetBatch(rows, 7)
	out := make([]sock.Socket, 0, rows)
	allocs := testing.AllocsPerRun(20, func() {
		var err error
		if out, err = parseBatch(data, out); err != nil || len(out) != rows {
			t.Fatal(len(out), err)
		}
	})
	if allocs > 2 {
		t.Errorf("parsing %d sockets made %.0f allocations (%.3f per socket), want at most 2 in all", rows, allocs, allocs/rows)
	}
}
