package vtab

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// churnFor is how long TestLiveChurn churns the kernel while it queries.
const churnFor = 7 * time.Second

// churnQueries run over and over, through one engine, while the churn
// runs. Each returns rows of pid|inode (the first two columns) that the
// test checks against what it created.
var churnQueries = []string{
	"SELECT pid, inode, fd, state FROM sockets",
	// The README's used-by question, kept to the test's own sockets.
	"SELECT pid, inode, program, count(*) FROM sockets WHERE protocol = 'tcp' AND pid IS NOT NULL GROUP BY program, pid, inode",
	`SELECT o.pid, s.inode, o.fd, p.name, s.state FROM sockets s
		JOIN socket_owners o ON o.inode = s.inode
		JOIN processes p ON p.pid = o.pid`,
	"SELECT pid, inode, state FROM sockets WHERE state IN ('ESTABLISHED', 'CLOSE_WAIT', 'TIME_WAIT') AND local_address = '127.0.0.1'",
}

// inodeSet is a concurrent set of socket inodes.
type inodeSet struct{ m sync.Map }

func (s *inodeSet) add(ino uint64)         { s.m.Store(ino, struct{}{}) }
func (s *inodeSet) has(ino uint64) bool    { _, ok := s.m.Load(ino); return ok }
func (s *inodeSet) addConn(c syscall.Conn) { s.add(fstatInode(c)) }

func (s *inodeSet) len() (n int) {
	s.m.Range(func(any, any) bool { n++; return true })
	return n
}

// fstatInode is inodeOf without a *testing.T, for worker goroutines: 0
// when the socket is already gone.
func fstatInode(c syscall.Conn) uint64 {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0
	}
	var st syscall.Stat_t
	var serr error
	if err := raw.Control(func(fd uintptr) { serr = syscall.Fstat(int(fd), &st) }); err != nil || serr != nil {
		return 0
	}
	return st.Ino
}

// selfSocketInodes lists the socket inodes /proc/self/fd holds, and how
// many fds it holds in all.
func selfSocketInodes(t *testing.T) (inodes []uint64, fds int) {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if err != nil {
			continue // the ReadDir's own descriptor, closed by now
		}
		if n, ok := strings.CutPrefix(target, "socket:["); ok {
			if ino, err := strconv.ParseUint(strings.TrimSuffix(n, "]"), 10, 64); err == nil {
				inodes = append(inodes, ino)
			}
		}
	}
	return inodes, len(ents)
}

func fdCount(t *testing.T) int {
	t.Helper()
	_, n := selfSocketInodes(t)
	return n
}

// ownerRow is one pid/inode pair a query returned.
type ownerRow struct {
	query      int
	pid, inode int64
}

// TestLiveChurn queries through one engine while goroutines open and
// close thousands of loopback TCP connections and a loop forks children
// that hold an inherited socket and kills them. No query may fail, no row
// may name this process for a socket it never held or a child for a
// socket it never inherited, and the engine must leak neither file
// descriptors nor goroutines.
func TestLiveChurn(t *testing.T) {
	if testing.Short() {
		t.Skip("churn runs for several seconds; skipped with -short")
	}
	sleepBin, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep binary to fork")
	}
	self := int64(os.Getpid())
	eng := liveEngine(t)

	// Warm up everything that opens a descriptor or starts a goroutine
	// once per process (the netpoller, pidfd support, the engine's first
	// read, the fd-scan worker pool), so the baseline counts them.
	warm := exec.Command(sleepBin, "0")
	if err := warm.Run(); err != nil {
		t.Fatal(err)
	}
	for _, q := range churnQueries {
		query(t, eng, q)
	}
	ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}

	var created inodeSet // every socket inode this process made
	baseInodes, _ := selfSocketInodes(t)
	var before inodeSet
	for _, ino := range baseInodes {
		before.add(ino)
	}
	created.addConn(ln)
	runtime.GC()
	fdsBefore := fdCount(t) - 1 // minus the listener, closed before the final count
	goroutinesBefore := runtime.NumGoroutine()

	ctx, stop := context.WithTimeout(context.Background(), churnFor)
	defer stop()
	var wg sync.WaitGroup
	var conns, children atomic.Int64
	churnErrs := make(chan error, 16)
	report := func(err error) {
		select {
		case churnErrs <- err:
		default:
		}
	}

	// Accept side: record each server socket, read until the client
	// goes, sometimes close first (the client then sits in CLOSE_WAIT
	// until it notices).
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.AcceptTCP()
			if err != nil {
				return // listener closed
			}
			created.addConn(c)
			go func() {
				defer c.Close()
				buf := make([]byte, 16)
				c.SetReadDeadline(time.Now().Add(time.Second))
				c.Read(buf)
			}()
		}
	}()
	// Dial side: several goroutines, each connection closed quickly,
	// some with a reset (no TIME_WAIT), some after a short wait.
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				c, err := net.DialTCP("tcp4", nil, ln.Addr().(*net.TCPAddr))
				if err != nil {
					if errors.Is(err, syscall.EADDRNOTAVAIL) {
						time.Sleep(10 * time.Millisecond) // ports in TIME_WAIT
						continue
					}
					report(fmt.Errorf("dial: %w", err))
					return
				}
				created.addConn(c)
				conns.Add(1)
				c.Write([]byte("x"))
				switch rand.IntN(3) {
				case 0:
					c.SetLinger(0)
				case 1:
					time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
				}
				c.Close()
			}
		}()
	}
	// Fork side: children that inherit one UDP socket as fd 3, which the
	// parent then closes, so the child is its only holder; killed soon.
	var childMu sync.Mutex
	childInodes := map[int64][]uint64{} // pid -> inodes it inherited (pids may recur)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			u, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				report(fmt.Errorf("udp: %w", err))
				return
			}
			ino := fstatInode(u)
			created.add(ino)
			f, err := u.File()
			u.Close()
			if err != nil {
				report(fmt.Errorf("udp file: %w", err))
				return
			}
			cmd := exec.Command(sleepBin, "1")
			cmd.ExtraFiles = []*os.File{f}
			err = cmd.Start()
			f.Close()
			if err != nil {
				report(fmt.Errorf("fork: %w", err))
				return
			}
			childMu.Lock()
			childInodes[int64(cmd.Process.Pid)] = append(childInodes[int64(cmd.Process.Pid)], ino)
			childMu.Unlock()
			children.Add(1)
			time.Sleep(time.Duration(rand.IntN(40)) * time.Millisecond)
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()

	// Query side: one goroutine (the engine serves one statement at a
	// time), every query in turn until the churn stops.
	var rows []ownerRow
	var queries int
	for ctx.Err() == nil {
		for i, q := range churnQueries {
			rs, err := eng.QueryContext(context.Background(), q)
			if err != nil {
				t.Fatalf("query %d during churn: %v", i, err)
			}
			for rs.Next() {
				var pid, inode any
				rest := make([]any, 0, 4)
				cols, _ := rs.Columns()
				dst := []any{&pid, &inode}
				for range cols[2:] {
					var x any
					rest = append(rest, &x)
				}
				if err := rs.Scan(append(dst, rest...)...); err != nil {
					t.Fatalf("query %d: scan: %v", i, err)
				}
				ino, _ := inode.(int64)
				if p, ok := pid.(int64); ok {
					if ino == 0 {
						t.Errorf("query %d: pid %d for a socket without an inode", i, p)
					}
					rows = append(rows, ownerRow{query: i, pid: p, inode: ino})
				}
			}
			if err := rs.Err(); err != nil {
				t.Fatalf("query %d during churn: %v", i, err)
			}
			rs.Close()
			queries++
		}
	}
	ln.Close()
	wg.Wait()
	close(churnErrs)
	for err := range churnErrs {
		t.Fatalf("churn helper: %v", err)
	}
	t.Logf("%d queries over %d connections and %d children; %d owned rows, %d inodes created", queries, conns.Load(), children.Load(), len(rows), created.len())
	if conns.Load() < 1000 || children.Load() < 20 {
		t.Errorf("churn too weak to mean anything: %d connections, %d children", conns.Load(), children.Load())
	}

	// Ownership. A child between fork and exec briefly holds a copy of
	// this process's descriptors (exec then closes them), so a child may
	// be named for one of ours as well as for the socket it inherited.
	childMu.Lock()
	defer childMu.Unlock()
	bad, childRows := 0, 0
	for _, r := range rows {
		ours := created.has(uint64(r.inode)) || before.has(uint64(r.inode))
		inherited, isChild := childInodes[r.pid]
		if isChild {
			childRows++
		}
		switch {
		case r.pid == self && !ours:
			t.Errorf("query %d: this process named for inode %d it never held", r.query, r.inode)
			bad++
		case isChild && !ours && !containsInode(inherited, uint64(r.inode)):
			t.Errorf("query %d: child %d named for inode %d; it inherited only %v", r.query, r.pid, r.inode, inherited)
			bad++
		}
		if bad > 10 {
			t.Fatal("too many ownership errors")
		}
	}
	t.Logf("%d rows named a child", childRows)

	// Leaks: once the churn's own sockets and children are gone, the
	// process holds what it held before.
	checkNoLeaks(t, fdsBefore, goroutinesBefore)
}

// checkNoLeaks waits up to 5 s for the process to hold no more file
// descriptors and goroutines than fds and goroutines, and fails the test
// with what it holds then.
func checkNoLeaks(t *testing.T, fdsBefore, goroutinesBefore int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		runtime.GC()
		fds, gs := fdCount(t), runtime.NumGoroutine()
		if fds <= fdsBefore && gs <= goroutinesBefore {
			return
		}
		if time.Now().After(deadline) {
			if fds > fdsBefore {
				ents, _ := os.ReadDir("/proc/self/fd")
				var links []string
				for _, e := range ents {
					l, _ := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
					links = append(links, e.Name()+"->"+l)
				}
				t.Errorf("file descriptors: %d before, %d after: %v", fdsBefore, fds, links)
			}
			if gs > goroutinesBefore {
				buf := make([]byte, 1<<16)
				t.Errorf("goroutines: %d before, %d after:\n%s", goroutinesBefore, gs, buf[:runtime.Stack(buf, true)])
			}
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func containsInode(xs []uint64, x uint64) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
