package sockdiag

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"

	"github.com/netsql/netsql/vtab/sock"
)

// BenchmarkDumpTCP dumps every TCP socket (IPv4 and IPv6) of the host and
// reports sockets per dump and ns per socket. To measure at scale, run it
// beside a socket load generator, or set SOCKDIAG_BENCH_CONNS=N to have it
// make N loopback connections first (see loadConns):
//
//	SOCKDIAG_BENCH_CONNS=40000 go test -run '^$' -bench TCP ./vtab/sockdiag/
func BenchmarkDumpTCP(b *testing.B) {
	loadConns(b)
	r := New()
	req := sock.Request{Protocols: []sock.Proto{sock.TCP}}
	ctx := context.Background()
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		ss, err := r.Sockets(ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		n = len(ss)
	}
	b.ReportMetric(float64(n), "sockets")
	if n > 0 {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/socket")
	}
}

// BenchmarkSSTCP runs `ss -Htan` over the same sockets, for the ratio the
// design notes ask benchmarks to quote (exec and output included, as a
// user would pay them).
func BenchmarkSSTCP(b *testing.B) {
	if _, err := exec.LookPath("ss"); err != nil {
		b.Skip("ss (iproute2) not installed")
	}
	loadConns(b)
	for b.Loop() {
		if err := exec.Command("ss", "-Htan").Run(); err != nil {
			b.Fatal(err)
		}
	}
}

// loaded keeps the load connections referenced (and so open) for the
// life of the test binary; the accept goroutines keep their listeners.
var loaded []net.Conn

// loadConns makes SOCKDIAG_BENCH_CONNS loopback TCP connections once per
// test binary, spread over listeners so ephemeral ports do not run out.
// The first keepOpen stay open (two ESTABLISHED sockets each, within a
// default open-file limit); the others are closed client first, leaving one
// TIME_WAIT socket each for 60 s, which the dump walks and reports too.
func loadConns(b *testing.B) {
	n, _ := strconv.Atoi(os.Getenv("SOCKDIAG_BENCH_CONNS"))
	if n <= 0 || loaded != nil {
		return
	}
	const perListener = 20000
	var ln net.Listener
	for i := range n {
		if i%perListener == 0 {
			var err error
			if ln, err = net.Listen("tcp4", "127.0.0.1:0"); err != nil {
				b.Fatal(err)
			}
			go func(ln net.Listener) {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					accepted <- c
				}
			}(ln)
		}
		c, err := net.Dial("tcp4", ln.Addr().String())
		if err != nil {
			b.Fatalf("connection %d: %v", i, err)
		}
		s := <-accepted
		if i < keepOpen {
			loaded = append(loaded, c, s)
			continue
		}
		c.Close()
		s.Close()
	}
}

var accepted = make(chan net.Conn, 1)

const keepOpen = 4000

// BenchmarkBytecodeFilter asks for the sockets of one local port among
// all the host's TCP sockets, three ways: the filter compiled to
// inet_diag bytecode so the kernel skips the rest (kernel), the same
// request with the bytecode off so every socket is copied out, parsed and
// dropped here (userspace), and `ss -Htan sport = :PORT`, which also has
// the kernel filter (ss, exec included; -a so that it asks for every
// state, as the other two do). The needle is a listener with 4
// connections of its own; the haystack is whatever else the host holds:
// run it beside netsql-load, or with SOCKDIAG_BENCH_CONNS (see
// loadConns):
//
//	go run ./cmd/netsql-load -conns 40000 -close-wait 2000 -procs 5 -hold 10m &
//	go test -run '^$' -bench BytecodeFilter ./vtab/sockdiag/
func BenchmarkBytecodeFilter(b *testing.B) {
	loadConns(b)
	ln := plainListen(b, "tcp4", "127.0.0.1:0")
	for range 4 {
		connPair(b, ln)
	}
	port := addrPort(ln.Addr()).Port()
	req := sock.Request{Protocols: []sock.Proto{sock.TCP},
		Filter: sock.Filter{LocalPorts: []sock.PortRange{sock.Port(port)}}}
	ctx := context.Background()
	all, err := New().Sockets(ctx, sock.Request{Protocols: []sock.Proto{sock.TCP}})
	if err != nil {
		b.Fatal(err)
	}
	run := func(b *testing.B, r *Reader) {
		n := 0
		b.ReportAllocs()
		for b.Loop() {
			ss, err := r.Sockets(ctx, req)
			if err != nil {
				b.Fatal(err)
			}
			n = len(ss)
		}
		if n != 5 {
			b.Fatalf("%d sockets on port %d, want 5", n, port)
		}
		b.ReportMetric(float64(len(all)), "tcp-sockets")
	}
	b.Run("kernel", func(b *testing.B) { run(b, New()) })
	b.Run("userspace", func(b *testing.B) {
		r := New()
		r.noBytecode.Store(true)
		run(b, r)
	})
	b.Run("ss", func(b *testing.B) {
		if _, err := exec.LookPath("ss"); err != nil {
			b.Skip("ss (iproute2) not installed")
		}
		for b.Loop() {
			if err := exec.Command("ss", "-Htan", "sport = :"+strconv.Itoa(int(port))).Run(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
