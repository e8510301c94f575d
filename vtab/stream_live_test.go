package vtab

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/netsql/netsql/vtab/internal/nstest"
	"github.com/netsql/netsql/vtab/netns"
)

// bothPaths runs q on eng's streaming path and on its snapshot path,
// each until two reads agree, and returns both results sorted. It fails
// the test unless the first read streamed and the second did not.
func bothPaths(t *testing.T, eng *Engine, q string) (streamed, snapshot []string) {
	t.Helper()
	read := func(noStream bool) []string {
		eng.noStream = noStream
		defer func() { eng.noStream = false }()
		before := eng.streamed.Load()
		rows := agree(t, func() []string { return sorted(query(t, eng, q)) })
		if did := eng.streamed.Load() > before; did == noStream {
			t.Fatalf("%s: streamed %v on the path with noStream %v", q, did, noStream)
		}
		return rows
	}
	return read(false), read(true)
}

// TestLiveStreamSameRowsAsSnapshot: on live sockets the test makes (TCP
// in LISTEN, ESTABLISHED, CLOSE_WAIT and FIN_WAIT2, UDP, unix, and as
// root TCP in a namespace of its own, read by name and by '*'), every
// statement returns the same rows whether the table streams or is read
// into a snapshot.
func TestLiveStreamSameRowsAsSnapshot(t *testing.T) {
	eng := liveEngine(t)
	fx := newCloseWaitFixture(t, 300, 40) // more than a batch of rows
	udp, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { udp.Close() })
	path := filepath.Join(t.TempDir(), "stream.sock")
	ux, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ux.Close() })
	udpPort := udp.LocalAddr().(*net.UDPAddr).Port

	// The owner columns cost an fd scan of the host: two statements use them.
	cols := "proto, family, protocol, local_address, local_port, remote_address, remote_port, state, recv_q, send_q, uid, user, inode, type, timer, netns, netns_name, cookie, probes, refcnt, flags"
	stmts := []string{
		fmt.Sprintf("SELECT %s, pid, program, fd FROM sockets WHERE local_port = %d", cols, fx.port),
		fmt.Sprintf("SELECT %s FROM sockets WHERE remote_port = %d AND proto = 'tcp'", cols, fx.port),
		fmt.Sprintf("SELECT state, count(*) FROM sockets WHERE local_port = %d GROUP BY 1", fx.port),
		// Not pushed: every socket is read, and every owner indexed.
		fmt.Sprintf("SELECT pid, program, fd, state, inode FROM sockets WHERE (local_port = %d) + 0 = 1", fx.port),
		fmt.Sprintf("SELECT program, state, count(*) FROM sockets WHERE remote_port = %d GROUP BY 1, 2", fx.port),
		fmt.Sprintf("SELECT count(*) FROM sockets WHERE state = 'CLOSE_WAIT' AND local_port = %d", fx.port),
		fmt.Sprintf("SELECT %s, rtt_ms IS NOT NULL, congestion FROM sockets WHERE local_port = %d AND state = 'LISTEN'", cols, fx.port),
		fmt.Sprintf("SELECT %s FROM sockets WHERE local_port = %d AND protocol = 'udp'", cols, udpPort),
		fmt.Sprintf("SELECT %s, path FROM sockets WHERE proto = 'unix' AND path = '%s'", cols, path),
	}
	if os.Geteuid() == 0 { // namespaces need CAP_NET_ADMIN; the rest runs anyway
		n := nstest.New(t, "netsql-st", "vst0")
		var ln net.Listener
		if err := netns.Do(n.Path(), func() error {
			var err error
			ln, err = net.Listen("tcp4", "127.0.0.1:0")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		p := ln.Addr().(*net.TCPAddr).Port
		stmts = append(stmts,
			fmt.Sprintf("SELECT %s FROM sockets WHERE netns_name = '%s' AND local_port = %d", cols, n.NS, p),
			fmt.Sprintf("SELECT %s FROM sockets WHERE netns_name = '*' AND local_port BETWEEN %d AND %d AND (local_port = %d) + (local_port = %d) > 0 AND state = 'LISTEN'", cols, min(p, fx.port), max(p, fx.port), p, fx.port),
			fmt.Sprintf("SELECT netns_name, count(*) FROM sockets WHERE netns_name = '*' AND local_port = %d GROUP BY 1", p))
	}
	for _, q := range stmts {
		s, snap := bothPaths(t, eng, q)
		if len(s) == 0 {
			t.Errorf("%s: no rows: the test's sockets must show", q)
		}
		if !reflect.DeepEqual(s, snap) {
			t.Errorf("%s:\nstreamed %d rows: %v\nsnapshot %d rows: %v", q, len(s), head(s), len(snap), head(snap))
		}
	}
}

func head(xs []string) []string {
	if len(xs) > 8 {
		return append(xs[:8:8], "...")
	}
	return xs
}

// TestLiveStreamUnderChurn: while goroutines open and close loopback
// connections, every streamed read of the test's long-lived sockets
// holds each of them once, with the values a snapshot read shows, and no
// inode twice.
func TestLiveStreamUnderChurn(t *testing.T) {
	if testing.Short() {
		t.Skip("churn runs for several seconds; skipped with -short")
	}
	eng := liveEngine(t)
	fx := newCloseWaitFixture(t, 400, 50)
	// The server side: the listener, 350 ESTABLISHED, 50 CLOSE_WAIT.
	stable := fmt.Sprintf("SELECT inode, local_port, remote_port, state, recv_q FROM sockets WHERE protocol = 'tcp' AND local_port = %d", fx.port)
	_, want := bothPaths(t, eng, stable)
	if len(want) != 400+1 {
		t.Fatalf("snapshot holds %d of the test's %d sockets", len(want), 400+1)
	}
	wantSet := map[string]bool{}
	for _, r := range want {
		wantSet[r] = true
	}

	// The churn's listener takes the next free port above the fixture's,
	// so that one port range the kernel filters holds both.
	var ln *net.TCPListener
	for p := fx.port + 1; ln == nil; p++ {
		if p > 65535 {
			t.Skip("no free port above the fixture's")
		}
		ln, _ = net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p})
	}
	ctx, stop := context.WithTimeout(context.Background(), 3*time.Second)
	defer stop()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				c, err := net.DialTCP("tcp4", nil, ln.Addr().(*net.TCPAddr))
				if err != nil {
					if errors.Is(err, syscall.EADDRNOTAVAIL) {
						time.Sleep(10 * time.Millisecond)
					}
					continue
				}
				if rand.IntN(2) == 0 {
					c.SetLinger(0)
				}
				c.Close()
			}
		}()
	}
	reads := 0
	all := fmt.Sprintf("SELECT inode, local_port, remote_port, state, recv_q FROM sockets WHERE protocol = 'tcp' AND local_port BETWEEN %d AND %d", fx.port, ln.Addr().(*net.TCPAddr).Port)
	for ctx.Err() == nil {
		before := eng.streamed.Load()
		rows := query(t, eng, all)
		if eng.streamed.Load() == before {
			t.Fatal("the read did not stream")
		}
		reads++
		seen := map[string]int{}
		found := 0
		for _, r := range rows {
			ino, _, _ := strings.Cut(r, "|")
			if ino != "0" {
				seen[ino]++
				if seen[ino] == 2 {
					t.Errorf("read %d: inode %s twice", reads, ino)
				}
			}
			if wantSet[r] {
				found++
			}
		}
		if found != len(want) {
			t.Errorf("read %d: %d of the test's %d sockets, as the snapshot shows them", reads, found, len(want))
		}
	}
	ln.Close()
	wg.Wait()
	t.Logf("%d streamed reads during churn", reads)
}

// TestStreamStopsItsProducer: a statement that stops early (LIMIT) or
// stops reading leaves no netlink socket and no goroutine behind.
func TestStreamStopsItsProducer(t *testing.T) {
	eng := liveEngine(t)
	fx := newCloseWaitFixture(t, 600, 0) // more than a batch
	first := fmt.Sprintf("SELECT inode FROM sockets WHERE local_port = %d LIMIT 1", fx.port)
	query(t, eng, first)
	runtime.GC()
	fds, gs := fdCount(t), runtime.NumGoroutine()
	before := eng.streamed.Load()
	for i := 0; i < 10; i++ {
		query(t, eng, first)
		query(t, eng, fmt.Sprintf("SELECT inode, program FROM sockets WHERE remote_port = %d LIMIT 300", fx.port))
	}
	if n := eng.streamed.Load() - before; n != 20 {
		t.Fatalf("%d of 20 statements streamed", n)
	}
	checkNoLeaks(t, fds, gs)
}
