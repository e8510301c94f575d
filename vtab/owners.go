package vtab

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/netsql/netsql/vtab/procs"
)

// ownerHold lets several socket reads share one /proc fd walk for as
// long as a caller holds it (Engine.HoldOwners); it lives on the root
// Source, so the reads of every namespace share it.
type ownerHold struct {
	mu    sync.Mutex
	holds int
	idx   *procs.OwnerIndex // made by the first read while held
	names *programNames     // the programs of idx's owners, read once
}

// HoldOwners makes every read of the sockets table's owner columns (pid,
// fd, program and the cgroup ones) in this engine, in any statement and
// any namespace, use one walk of /proc/*/fd, made by the first read that
// needs owners, until release is called: the owners are then those of
// that moment. netsql top holds owners for the statements of one refresh
// and releases them after, so a refresh walks /proc once however many
// namespaces it reads; a statement run after release walks /proc again.
// Holds nest: the walk is dropped when the last one is released.
// Release is idempotent.
func (e *Engine) HoldOwners() (release func()) {
	h := &e.src.root().owners
	h.mu.Lock()
	h.holds++
	h.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			if h.holds--; h.holds == 0 {
				h.idx, h.names = nil, nil
			}
		})
	}
}

// ownerIndex returns the owners of the sockets whose inodes are in want,
// and the program-name cache to use with them: the held index when the
// engine holds owners (walking /proc for it on first use), else a fresh
// walk that stops once it has found every wanted inode. unlock must be
// called when the caller is done with both.
func ownerIndex(ctx context.Context, src *Source, want map[uint64]struct{}) (idx *procs.OwnerIndex, names *programNames, unlock func(), err error) {
	h := &src.root().owners
	h.mu.Lock()
	if h.holds == 0 {
		h.mu.Unlock()
		res, err := src.scanFDs(ctx, want, procs.ScanOptions{})
		if err != nil {
			return nil, nil, nil, fmt.Errorf("sockets: find owners: %w", err)
		}
		return procs.NewOwnerIndex(res), newProgramNames(src), func() {}, nil
	}
	if h.idx == nil {
		// Every owner, not only want's: later reads ask for other inodes.
		res, err := src.scanFDs(ctx, nil, procs.ScanOptions{})
		if err != nil {
			h.mu.Unlock()
			return nil, nil, nil, fmt.Errorf("sockets: find owners: %w", err)
		}
		h.idx, h.names = procs.NewOwnerIndex(res), newProgramNames(src.root())
	}
	return h.idx, h.names, h.mu.Unlock, nil
}

// ownersHeld reports whether Engine.HoldOwners holds a walk for src's
// engine: a read then takes every owner from it, and listing its own
// sockets' inodes first (for a scan that stops early) is wasted work.
func ownersHeld(src *Source) bool {
	h := &src.root().owners
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.holds > 0
}

// fdIteratorMinWant is how many wanted sockets make a one-off scan worth
// opening the BPF fd iterator (5 to 10 ms: the kernel's type information
// is read to fit the program): the /proc walk costs about 4 µs per fd, so
// below this it is the cheaper of the two. Held scans and the exhaustive
// ones (socket_owners) use it too, unless they name their pids (a walk of
// a few processes is cheap); a source keeps it once open.
const fdIteratorMinWant = 2048

// fdIter is a root source's BPF fd iterator, opened on first use and
// kept until the engine closes. err says why it could not be opened
// (not root, no kernel BTF, another pid namespace) or that it was
// closed: either way no attempt is made again.
type fdIter struct {
	mu  sync.Mutex
	it  *procs.FDIterator
	err error
}

// errFDIterClosed is fdIter.err once the source is closed.
var errFDIterClosed = errors.New("closed")

// scanFDs finds the owners of the sockets in want (nil: every socket fd
// of every process), through the kernel's fd iterator where the live
// kernel offers it and the scan is big enough to pay for it, else by
// walking /proc/*/fd. Both give the same owners.
func (s *Source) scanFDs(ctx context.Context, want map[uint64]struct{}, opts procs.ScanOptions) (procs.ScanResult, error) {
	root := s.root()
	root.ownerScans.Add(1)
	if s.Live && !root.WalkFDs && opts.PIDs == nil && (want == nil || len(want) >= fdIteratorMinWant) {
		opts.Iterator = root.fdIter.open(ctx)
	}
	return procs.ScanSocketOwners(ctx, s.ProcRoot, want, opts)
}

// open returns the iterator, opening it on first use; nil when it cannot
// be had.
func (f *fdIter) open(ctx context.Context) *procs.FDIterator {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.it == nil && f.err == nil {
		f.it, f.err = procs.OpenFDIterator(ctx)
	}
	return f.it
}

// close unloads the iterator's program; it is not opened again.
func (f *fdIter) close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	it := f.it
	f.it, f.err = nil, errFDIterClosed
	if it == nil {
		return nil
	}
	return it.Close()
}
