package sockdiag

import (
	"context"
	"net"
	"runtime"
	"testing"

	"github.com/netsql/netsql/vtab/sock"
)

// timeWaitSockets makes n loopback connections and closes each client
// first, leaving n TIME_WAIT sockets (for 60 s) that hold no descriptor.
func timeWaitSockets(t *testing.T, n int) {
	t.Helper()
	ln := listenTCP(t, "tcp4", "127.0.0.1:0")
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Read(buf) // returns at the client's FIN
			c.Close()
		}
	}()
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp4", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	ln.Close()
	<-done
}

// streamCost streams req and returns the sockets handed over and the
// bytes and allocations the call made.
func streamCost(t *testing.T, req sock.Request) (n int, bytes, allocs uint64) {
	t.Helper()
	r := New()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	err := r.Stream(context.Background(), req, func(b []sock.Socket) bool {
		n += len(b)
		return true
	})
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatalf("Stream(%+v): %v", req, err)
	}
	return n, after.TotalAlloc - before.TotalAlloc, after.Mallocs - before.Mallocs
}

// TestStreamAllocatesPerBatchNotPerSocket: streaming thousands of TCP
// sockets costs what streaming none does, plus less than a byte and far
// less than one allocation per socket; holding the dump (a sock.Socket is
// about 200 bytes) or allocating per socket fails it.
func TestStreamAllocatesPerBatchNotPerSocket(t *testing.T) {
	timeWaitSockets(t, 3000)
	tw := sock.Request{Families: []uint8{2}, Protocols: []sock.Proto{sock.TCP}, States: 1 << sock.StateTimeWait}
	// The same dump, with a port filter no socket passes.
	none := tw
	none.Filter.LocalPorts = []sock.PortRange{{Min: 1, Max: 1}}
	var best struct{ perByte, perAlloc float64 }
	best.perByte, best.perAlloc = 1e9, 1e9
	for try := 0; try < 3; try++ { // the least of three: a GC or a stray goroutine may add to one
		n, b, a := streamCost(t, tw)
		if n < 3000 {
			t.Fatalf("streamed %d TIME_WAIT sockets; the test made 3000", n)
		}
		_, b0, a0 := streamCost(t, none)
		best.perByte = min(best.perByte, (float64(b)-float64(b0))/float64(n))
		best.perAlloc = min(best.perAlloc, (float64(a)-float64(a0))/float64(n))
	}
	if best.perByte > 8 || best.perAlloc > 0.05 {
		t.Errorf("streaming costs %.1f bytes and %.3f allocations per socket beyond a fixed cost; want at most 8 and 0.05", best.perByte, best.perAlloc)
	}
}

// BenchmarkStreamTCP streams every TCP socket of the host (see
// BenchmarkDumpTCP for SOCKDIAG_BENCH_CONNS) and reports sockets per
// dump, ns per socket and allocations per socket: O(1) per batch, not
// per socket.
func BenchmarkStreamTCP(b *testing.B) {
	loadConns(b)
	r := New()
	req := sock.Request{Protocols: []sock.Proto{sock.TCP}}
	ctx := context.Background()
	n := 0
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ReportAllocs()
	for b.Loop() {
		n = 0
		if err := r.Stream(ctx, req, func(s []sock.Socket) bool { n += len(s); return true }); err != nil {
			b.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(n), "sockets")
	if n > 0 {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/socket")
		b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(b.N)/float64(n), "allocs/socket")
	}
}
