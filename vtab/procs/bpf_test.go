package procs

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openFDIterator opens the kernel's fd iterator, skipping the test where
// this process may not load BPF programs or the kernel cannot run the
// iterator (every other failure, a rejected program first, fails it).
func openFDIterator(t *testing.T) *FDIterator {
	t.Helper()
	it := newFDIteratorOrSkip(t)
	t.Cleanup(func() { it.Close() })
	return it
}

// newFDIteratorOrSkip is openFDIterator leaving the closing to the test.
func newFDIteratorOrSkip(t *testing.T) *FDIterator {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the fd iterator loads a BPF program: needs root (CAP_BPF, CAP_PERFMON)")
	}
	it, err := OpenFDIterator(context.Background())
	if errors.Is(err, ErrNoFDIterator) || errors.Is(err, unix.EPERM) {
		t.Skip("this machine offers no fd iterator:", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return it
}

// TestFDIteratorMatchesWalk: on processes the test starts (holders of
// 400 sockets, the holes helper with its O_PATH socket file and its
// thread-private table, a child sharing a listener with this process),
// while other processes come and go, the iterator reports exactly the
// owners the /proc walk finds, whole, filtered by inode and by pid.
func TestFDIteratorMatchesWalk(t *testing.T) {
	it := openFDIterator(t)
	ctx := context.Background()
	pids := append(startHolders(t, 2, 400), startHelpers(t, "holes", 1, 0)...)
	ln, mine := liveSockets(t)
	f, err := ln.File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	child := exec.Command("sleep", "30")
	child.ExtraFiles = []*os.File{f}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { child.Process.Kill(); child.Wait() })
	pids = append(pids, os.Getpid(), child.Process.Pid)

	stopChurn := churnHolders(t)
	only := func(owners []Owner) []Owner { return ownersOf(owners, pids) }
	// Rounds 3 and 4 hide a holder and this process from the iterator,
	// as a kernel may hide a process (here one whose links even root may
	// not read, pid 1 of this machine): the scan walks what it missed.
	for round := range 5 {
		it.hide = nil
		if round >= 3 {
			hidden := []int{pids[0], os.Getpid()}
			it.hide = func(pid int) bool { return slices.Contains(hidden, pid) }
		}
		walk, err := ScanSocketOwners(ctx, "/proc", nil, ScanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		iter, err := ScanSocketOwners(ctx, "/proc", nil, ScanOptions{Iterator: it})
		if err != nil {
			t.Fatal(err)
		}
		// Denied counts host processes, which may come and go between
		// the scans: the iterator's count lies between two walks'.
		after, err := ScanSocketOwners(ctx, "/proc", nil, ScanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		lo, hi := min(walk.Denied, after.Denied), max(walk.Denied, after.Denied)
		if w, i := only(walk.Owners), only(iter.Owners); !slices.Equal(w, i) {
			t.Fatalf("round %d: the walk found %d owners, the iterator %d:\nwalk %v\niter %v", round, len(w), len(i), w, i)
		}
		if !slices.IsSortedFunc(iter.Owners, cmpOwner) || iter.Denied < lo || iter.Denied > hi || iter.Stopped {
			t.Fatalf("round %d: iterator result unsorted or flagged: denied %d (the walks %d, %d), stopped %v", round, iter.Denied, walk.Denied, after.Denied, iter.Stopped)
		}
		if n := len(only(iter.Owners)); n != 2*400+23+len(mine)+2 {
			t.Fatalf("round %d: %d owners in the test's processes, want %d", round, n, 2*400+23+len(mine)+2)
		}
	}

	// Filtered by inode: every owner of the listener (this process twice,
	// the child once), nothing else; no fork of this process may hold a
	// copy meanwhile.
	stopChurn()
	lnIno := mine[slices.IndexFunc(mine, func(o Owner) bool { return o.FD == sockOwner(t, ln).FD })].Inode
	res, err := ScanSocketOwners(ctx, "/proc", map[uint64]struct{}{lnIno: {}}, ScanOptions{Iterator: it})
	if err != nil {
		t.Fatal(err)
	}
	want := []Owner{{lnIno, os.Getpid(), sockOwner(t, ln).FD}, {lnIno, os.Getpid(), int(f.Fd())}, {lnIno, child.Process.Pid, 3}}
	slices.SortFunc(want, cmpOwner)
	if !slices.Equal(res.Owners, want) {
		t.Errorf("owners of the listener: got %v, want %v", res.Owners, want)
	}
	// Filtered by pid.
	res, err = ScanSocketOwners(ctx, "/proc", nil, ScanOptions{Iterator: it, PIDs: []int{os.Getpid()}})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Owners; len(got) != len(mine)+1 || !slices.ContainsFunc(got, func(o Owner) bool { return o.FD == int(f.Fd()) }) {
		t.Errorf("this process's owners: got %v, want %v and fd %d", got, mine, f.Fd())
	}
	if res, err := ScanSocketOwners(ctx, "/proc", nil, ScanOptions{Iterator: it, PIDs: []int{}}); err != nil || len(res.Owners) != 0 {
		t.Errorf("no pids: %+v, %v", res, err)
	}
}

// TestFDIteratorOnlyServesItsProc: a proc tree on disk is walked even
// when an iterator is given (its pids are not the kernel's).
func TestFDIteratorOnlyServesItsProc(t *testing.T) {
	it := openFDIterator(t)
	root := fixtureTree(t)
	walk, err := ScanSocketOwners(context.Background(), root, nil, ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	iter, err := ScanSocketOwners(context.Background(), root, nil, ScanOptions{Iterator: it})
	if err != nil {
		t.Fatal(err)
	}
	if len(walk.Owners) == 0 || !slices.Equal(walk.Owners, iter.Owners) {
		t.Errorf("fixture tree: walk %v, with iterator %v", walk.Owners, iter.Owners)
	}
}

// TestFDIteratorCloseLeavesOtherFDs: once closed, a collected iterator
// must not close its old fd numbers again, which new files now use.
func TestFDIteratorCloseLeavesOtherFDs(t *testing.T) {
	it := newFDIteratorOrSkip(t)
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	if err := it.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, _, err := it.scan(context.Background(), nil, nil); err == nil {
		t.Error("a closed iterator scanned")
	}
	var pipes [][2]int
	for range 4 { // reuse the numbers the iterator held
		var p [2]int
		if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
			t.Fatal(err)
		}
		pipes = append(pipes, p)
	}
	it = nil
	for range 10 { // cleanups run after a collection, in their own goroutine
		runtime.GC()
		time.Sleep(5 * time.Millisecond)
	}
	for _, p := range pipes {
		for _, fd := range p {
			if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
				t.Errorf("fd %d was closed behind the test's back: %v", fd, err)
			}
			unix.Close(fd)
		}
	}
}

func TestFDIteratorCancel(t *testing.T) {
	it := openFDIterator(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ScanSocketOwners(ctx, "/proc", nil, ScanOptions{Iterator: it}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled scan: %v", err)
	}
	if _, _, err := it.scan(ctx, nil, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled iterator read: %v", err)
	}
}
