package procnet

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/netsql/netsql/vtab/sock"
)

// BenchmarkParseInet parses an in-memory /proc/net/tcp of 80k sockets (the
// size DESIGN.md measures against), without kernel time.
func BenchmarkParseInet(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n")
	for i := range 80000 {
		fmt.Fprintf(&buf, "%4d: 0100007F:%04X 0100007F:1F90 01 00000000:00000000 02:000AF494 00000000  1000        0 %d 2 00000000a67973f4 20 0 0 11 -1\n",
			i, 10000+i%50000, 300000+i)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		out, err := parseInet(bytes.NewReader(data), "bench", unix.AF_INET, sock.TCP, sock.AllStates, nil)
		if err != nil || len(out) != 80000 {
			b.Fatal(len(out), err)
		}
	}
}

// BenchmarkLiveTCP reads the live /proc/net/tcp and tcp6 (kernel time
// included); compare with `time cat /proc/net/tcp /proc/net/tcp6`.
func BenchmarkLiveTCP(b *testing.B) {
	r := New("/proc")
	req := sock.Request{Protocols: []sock.Proto{sock.TCP}}
	n := 0
	for b.Loop() {
		out, err := r.Sockets(context.Background(), req)
		if err != nil {
			b.Fatal(err)
		}
		n = len(out)
	}
	b.ReportMetric(float64(n), "sockets")
}
