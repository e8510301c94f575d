// Package procs maps socket inodes to the processes that hold them and
// describes processes, reading a proc root: the live "/proc" or a copied
// tree on disk (a support bundle or a test fixture) laid out the same way.
//
// The fd scan (ScanSocketOwners) is the expensive part of `netstat -p` and
// `ss -p`. It opens every PROC/PID/fd directory once and resolves each fd
// with readlinkat relative to that directory, parsing "socket:[INODE]" in
// place; it allocates nothing per file descriptor and spreads processes over
// GOMAXPROCS workers. On the live procfs it reads fds by number while the
// table is dense (the directory's size says how many are open), since
// listing the directory costs the kernel a dentry lookup per fd; elsewhere,
// and past holes in the table, it lists the directory with getdents into a
// reused buffer. As root on the live kernel, an FDIterator (a BPF iterator
// over every task's file table) finds the same owners for a tenth of the
// CPU, and the scan uses it when given one.
package procs

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Owner is one file descriptor that refers to a socket: process PID holds
// the socket with inode Inode open as file descriptor FD.
type Owner struct {
	Inode uint64
	PID   int
	FD    int
}

// ScanOptions tunes ScanSocketOwners. The zero value scans every process
// with runtime.GOMAXPROCS(0) workers.
type ScanOptions struct {
	// PIDs restricts the scan to these processes (duplicates and pids that
	// do not exist are ignored). Nil scans every numeric directory of the
	// proc root. A non-nil empty slice scans nothing.
	PIDs []int
	// Workers is the number of goroutines that scan in parallel; 0 or less
	// means runtime.GOMAXPROCS(0).
	Workers int
	// Iterator, when set and the proc root is the live /proc it serves,
	// reads every process's fds in one pass of the kernel's task_file
	// iterator; only the processes it did not see are walked. On any
	// other root the walk runs alone.
	Iterator *FDIterator

	// listFDs makes the scan list every fd directory (tests compare the
	// two ways of finding the fds).
	listFDs bool
}

// ScanResult is what ScanSocketOwners found.
type ScanResult struct {
	// Owners holds one entry per (pid, fd) that refers to a socket, sorted
	// by PID and then by FD. One inode appears once per fd that holds it,
	// so a socket shared by a parent and its children appears several times.
	Owners []Owner
	// Denied counts processes whose fd directory (or one of its links)
	// could not be read for lack of permission (EACCES, EPERM): another
	// user's process while not root. Their sockets are missing from Owners.
	Denied int
	// Stopped reports that the scan ended early because every wanted inode
	// had been found; Owners then need not hold every owner (see
	// ScanSocketOwners).
	Stopped bool
}

// ScanSocketOwners walks procRoot/*/fd (or procRoot/PID/fd for the pids in
// opts.PIDs) and returns every file descriptor that is a socket, that is
// whose link reads "socket:[INODE]" (or the pre-2.2 kernel form
// "[0000]:INODE", which net-tools netstat also accepts).
//
// With want nil, the scan is exhaustive: Owners holds every socket fd of
// every process that could be read.
//
// With want non-nil, only fds whose inode is in want are reported and the
// scan may stop early. Processes are scanned in ascending PID order (the
// order of readdir on a live /proc, which is the order net-tools netstat
// uses when it keeps the first owner it meets), and the early stop
// guarantees, for every wanted inode held by any readable process:
//
//   - the owner with the lowest PID is reported, with every fd of that
//     process that holds a wanted inode;
//   - owners in higher PIDs may or may not be reported.
//
// So picking, per inode, the Owner with the lowest PID (and then the lowest
// FD) gives exactly the process netstat -p prints; callers that need every
// owner of a socket pass want == nil. Stopped reports whether the scan ended
// before reading every process. The guarantee holds modulo the race inherent
// in reading /proc: processes come and go, and fds open and close, while the
// scan runs.
//
// Processes that vanish mid-scan (ENOENT, ESRCH) and fds closed between
// listing and reading are skipped silently. Permission errors are counted
// in Denied, not returned. Cancelling ctx stops the workers promptly and
// returns ctx's error. Other errors (the proc root cannot be opened, the
// process runs out of file descriptors) are returned.
func ScanSocketOwners(ctx context.Context, procRoot string, want map[uint64]struct{}, opts ScanOptions) (ScanResult, error) {
	if err := ctx.Err(); err != nil {
		return ScanResult{}, err
	}
	rootFd, err := openDir(procRoot)
	if err != nil {
		return ScanResult{}, fmt.Errorf("procs: open proc root: %w", err)
	}
	defer unix.Close(rootFd)

	var pids []int
	if opts.PIDs != nil {
		pids = slices.Clone(opts.PIDs)
		slices.Sort(pids)
		pids = slices.Compact(pids)
		if len(pids) == 0 {
			return ScanResult{}, nil
		}
	}
	// fromIter holds what the fd iterator found; pids are then only the
	// processes it did not see, which the walk below reads.
	var fromIter []Owner
	if opts.Iterator != nil && !opts.listFDs && servesRoot(rootFd) {
		if want != nil && len(want) == 0 {
			return ScanResult{Stopped: true}, nil
		}
		var seen []int
		if fromIter, seen, err = opts.Iterator.scan(ctx, want, pids); err != nil {
			return ScanResult{}, err
		}
		if opts.PIDs == nil {
			if pids, err = listPIDs(rootFd); err != nil {
				return ScanResult{}, fmt.Errorf("procs: list %s: %w", procRoot, err)
			}
		}
		// A process with open files the iterator did not show is hidden
		// from it (or was born since): walk it. Kernel threads, without
		// files, cost an empty directory each.
		pids = slices.DeleteFunc(pids, func(pid int) bool {
			_, found := slices.BinarySearch(seen, pid)
			return found
		})
	} else if opts.PIDs == nil {
		pids, err = listPIDs(rootFd)
		if err != nil {
			return ScanResult{}, fmt.Errorf("procs: list %s: %w", procRoot, err)
		}
	}
	if len(pids) == 0 {
		return ScanResult{Owners: fromIter}, nil
	}

	s := &scan{rootFd: rootFd, pids: pids, probe: !opts.listFDs && isProcfs(rootFd)}
	s.stopAt.Store(math.MaxInt64)
	if want != nil {
		if len(want) == 0 {
			return ScanResult{Stopped: true}, nil
		}
		s.want = make(map[uint64]int32, len(want))
		for ino := range want {
			s.want[ino] = int32(len(s.want))
		}
		s.found = make([]atomic.Bool, len(s.want))
		s.remaining.Store(int64(len(s.want)))
	}
	stopWatch := context.AfterFunc(ctx, func() { s.cancelled.Store(true) })
	defer stopWatch()

	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, len(pids))
	ws := make([]*worker, workers)
	var wg sync.WaitGroup
	for i := range ws {
		w := workerPool.Get().(*worker)
		w.reset(s)
		ws[i] = w
		if i == workers-1 {
			w.run() // the calling goroutine is the last worker
			continue
		}
		wg.Go(w.run)
	}
	wg.Wait()
	defer func() {
		for _, w := range ws {
			w.release()
		}
	}()

	if s.cancelled.Load() {
		if err := ctx.Err(); err != nil {
			return ScanResult{}, err
		}
	}
	var res ScanResult
	var segs []segment
	total := 0
	for _, w := range ws {
		if w.err != nil {
			return ScanResult{}, w.err
		}
		res.Denied += w.denied
		total += len(w.owners)
		for _, sg := range w.segs {
			sg.w = w
			segs = append(segs, sg)
		}
	}
	// Each segment is one process's owners in fd order; ordering segments
	// by pid index yields Owners sorted by (PID, FD) without a full sort.
	slices.SortFunc(segs, func(a, b segment) int { return a.pidIdx - b.pidIdx })
	res.Owners = make([]Owner, 0, total)
	for _, sg := range segs {
		res.Owners = append(res.Owners, sg.w.owners[sg.off:sg.off+sg.n]...)
	}
	res.Stopped = s.stopAt.Load() != math.MaxInt64
	// The walked processes rarely hold sockets (kernel threads hold no
	// file): merge only when they do.
	switch {
	case len(fromIter) == 0:
	case len(res.Owners) == 0:
		res.Owners = fromIter
	default:
		res.Owners = append(res.Owners, fromIter...)
		slices.SortFunc(res.Owners, cmpOwner)
	}
	return res, nil
}

// scan is the state shared by the workers of one ScanSocketOwners call.
type scan struct {
	rootFd int
	pids   []int // ascending
	next   atomic.Int64
	// probe: the root is a live procfs, whose fd directories report
	// how many fds are open as their size (Linux 6.2 and later) and
	// whose directory offset is the fd number plus 2.
	probe bool

	// Early stop: want maps each wanted inode to its slot in found;
	// remaining counts wanted inodes not yet found; stopAt is the lowest
	// pid index at which remaining reached 0 (MaxInt64 while it has not).
	want      map[uint64]int32
	found     []atomic.Bool
	remaining atomic.Int64
	stopAt    atomic.Int64

	cancelled atomic.Bool // ctx is done
	failed    atomic.Bool // a worker hit a hard error
}

// segment locates one process's owners inside a worker's owners slice.
type segment struct {
	w      *worker
	pidIdx int
	off, n int
}

// worker scans processes one at a time, claiming them in ascending order.
type worker struct {
	s       *scan
	owners  []Owner
	segs    []segment
	denied  int
	err     error
	path    []byte // "PID/fd\x00"
	name    []byte // "FD\x00"
	dents   []byte // getdents buffer
	linkBuf [64]byte
}

// workerPool keeps workers' buffers from one scan to the next, so a scan
// allocates little beyond its result.
var workerPool = sync.Pool{New: func() any {
	return &worker{dents: make([]byte, dentsBufSize), path: make([]byte, 0, 32)}
}}

// maxPooledOwners bounds the owners buffer a pooled worker keeps.
const maxPooledOwners = 1 << 18

func (w *worker) reset(s *scan) {
	w.s, w.owners, w.segs, w.denied, w.err = s, w.owners[:0], w.segs[:0], 0, nil
}

func (w *worker) release() {
	w.s, w.err = nil, nil
	if cap(w.owners) > maxPooledOwners {
		w.owners = nil
	}
	workerPool.Put(w)
}

// dentsBufSize holds about 1,300 fd entries per getdents call.
const dentsBufSize = 32 << 10

// ctxCheckEvery is how many fds a worker reads between two looks at the
// stop flags while inside one process.
const ctxCheckEvery = 256

func (w *worker) run() {
	s := w.s
	for {
		if s.cancelled.Load() || s.failed.Load() {
			return
		}
		i := int(s.next.Add(1) - 1)
		if i >= len(s.pids) || int64(i) > s.stopAt.Load() {
			return
		}
		off := len(w.owners)
		w.scanPID(i)
		if n := len(w.owners) - off; n > 0 {
			// A live /proc lists fds in ascending order; a tree on disk
			// need not.
			seg := w.owners[off:]
			if !slices.IsSortedFunc(seg, cmpFD) {
				slices.SortFunc(seg, cmpFD)
			}
			w.segs = append(w.segs, segment{pidIdx: i, off: off, n: n})
		}
	}
}

func cmpFD(a, b Owner) int { return a.FD - b.FD }

// abandon reports whether the worker should stop reading process index i.
func (w *worker) abandon(i int) bool {
	s := w.s
	return s.cancelled.Load() || s.failed.Load() || int64(i) > s.stopAt.Load()
}

func (w *worker) scanPID(i int) {
	s := w.s
	pid := s.pids[i]
	w.path = appendPID(w.path[:0], pid)
	w.path = append(w.path, "/fd\x00"...)
	dirFd, errno := openat(s.rootFd, w.path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC)
	if errno != 0 {
		switch {
		case vanished(errno):
		case errno == unix.EACCES || errno == unix.EPERM:
			w.denied++
		default:
			w.fail(fmt.Errorf("procs: open pid %d fd directory: %w", pid, errno))
		}
		return
	}
	defer unix.Close(dirFd)

	first := 0 // the lowest fd left to find
	if s.probe {
		var done bool
		if first, done = w.probeFDs(i, pid, dirFd); done {
			return
		}
		// Skip the fds read: the offset is fd+2. Should the seek fail,
		// listing from the start skips them by number.
		unix.Seek(dirFd, int64(first)+2, 0)
	}
	w.listFDs(i, pid, dirFd, first)
}

// maxProbeMisses is how many fd numbers that are not open probeFDs
// tries before it lists the rest of the directory instead.
const maxProbeMisses = 16

// probeFDs reads the links of process index i's fds by number, 0 up,
// without listing the directory: listing /proc/PID/fd makes the kernel
// look up (or create) a dentry per fd, which readlinkat then looks up
// again, a fifth of a scan's cost. A live fd directory's size is the
// number of open fds: once that many are read the process is done. A
// table with holes costs a failed lookup per hole, so after
// maxProbeMisses of them it returns the fd to list the directory from
// (done false). done is true when the process needs nothing more.
func (w *worker) probeFDs(i, pid, dirFd int) (next int, done bool) {
	var st unix.Stat_t
	if err := unix.Fstat(dirFd, &st); err != nil || st.Size <= 0 || st.Size > math.MaxInt32 {
		return 0, false // an older kernel: no count
	}
	open := int(st.Size)
	found, misses := 0, 0
	for fd := 0; ; fd++ {
		if found >= open {
			return fd, true
		}
		if misses >= maxProbeMisses {
			return fd, false
		}
		if fd%ctxCheckEvery == ctxCheckEvery-1 && w.abandon(i) {
			return fd, true
		}
		w.name = append(appendPID(w.name[:0], fd), 0)
		ln, errno := readlinkat(dirFd, &w.name[0], w.linkBuf[:])
		switch {
		case errno == 0:
			found++
			w.link(i, pid, fd, w.linkBuf[:ln])
		case errno == unix.ENOENT || errno == unix.EBADF:
			misses++ // not open (or closed meanwhile)
		case vanished(errno):
			return fd, true
		case errno == unix.EACCES || errno == unix.EPERM:
			w.denied++
			return fd, true
		default:
			found++ // open, but not a link we can name
		}
	}
}

// listFDs lists process index i's fd directory from its current offset
// and reads the link of every fd from first up.
func (w *worker) listFDs(i, pid, dirFd, first int) {
	deniedLink := false
	sinceCheck := 0
	for {
		n, err := getdents(dirFd, w.dents)
		if err != nil {
			if !vanished(err) {
				if err == unix.EACCES || err == unix.EPERM {
					w.denied++
					return
				}
				w.fail(fmt.Errorf("procs: list pid %d fds: %w", pid, err))
			}
			return
		}
		if n == 0 {
			break
		}
		buf := w.dents[:n]
		for name, off, more := nextDirent(buf, 0); more; name, off, more = nextDirent(buf, off) {
			fd, ok := parseFD(name)
			if !ok || fd < first {
				continue // ".", "..", anything else that is not an fd number, fds already read
			}
			sinceCheck++
			if sinceCheck == ctxCheckEvery {
				sinceCheck = 0
				if w.abandon(i) {
					return
				}
			}
			ln, errno := readlinkat(dirFd, &name[0], w.linkBuf[:])
			if errno != 0 {
				if (errno == unix.EACCES || errno == unix.EPERM) && !deniedLink {
					deniedLink = true
					w.denied++
				}
				continue // ENOENT: closed since listed; anything else: not a socket we can name
			}
			w.link(i, pid, fd, w.linkBuf[:ln])
		}
	}
}

// link records fd of process index i when its link names a socket the
// scan wants.
func (w *worker) link(i, pid, fd int, target []byte) {
	s := w.s
	ino, ok := parseSocketLink(target)
	if !ok {
		return
	}
	if s.want != nil {
		slot, ok := s.want[ino]
		if !ok {
			return
		}
		if !s.found[slot].Load() && s.found[slot].CompareAndSwap(false, true) {
			if s.remaining.Add(-1) == 0 {
				s.lowerStopAt(int64(i))
			}
		}
	}
	w.owners = append(w.owners, Owner{Inode: ino, PID: pid, FD: fd})
}

// lowerStopAt records that every wanted inode has been found by the time
// process index i was read.
func (s *scan) lowerStopAt(i int64) {
	for {
		cur := s.stopAt.Load()
		if i >= cur || s.stopAt.CompareAndSwap(cur, i) {
			return
		}
	}
}

func (w *worker) fail(err error) {
	if w.err == nil {
		w.err = err
	}
	w.s.failed.Store(true)
}

// vanished reports whether err means the process (or the fd) went away.
func vanished(err error) bool {
	return errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH) || errors.Is(err, unix.ENOTDIR)
}

// listPIDs returns the numeric entries of the directory rootFd, ascending.
func listPIDs(rootFd int) ([]int, error) {
	buf := make([]byte, dentsBufSize)
	var pids []int
	for {
		n, err := getdents(rootFd, buf)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			break
		}
		for name, off, more := nextDirent(buf[:n], 0); more; name, off, more = nextDirent(buf[:n], off) {
			if pid, ok := parseFD(name); ok {
				pids = append(pids, pid)
			}
		}
	}
	slices.Sort(pids)
	return pids, nil
}

// Offsets inside struct linux_dirent64: d_ino u64, d_off s64, d_reclen u16,
// d_type u8, then the NUL-terminated name.
const direntNameOff = 19

// nextDirent returns the name (NUL-terminated, padded) of the entry at off
// in a getdents64 buffer and the offset of the next entry; more is false at
// the end of the buffer.
func nextDirent(buf []byte, off int) (name []byte, next int, more bool) {
	if off+direntNameOff >= len(buf) {
		return nil, off, false
	}
	reclen := int(buf[off+16]) | int(buf[off+17])<<8
	if reclen <= direntNameOff || off+reclen > len(buf) {
		return nil, off, false
	}
	return buf[off+direntNameOff : off+reclen], off + reclen, true
}

// parseFD parses a NUL-terminated decimal directory entry name ("17\x00").
// It rejects empty names, non-digits and values that do not fit an int32.
func parseFD(name []byte) (int, bool) {
	n := 0
	i := 0
	for ; i < len(name) && name[i] != 0; i++ {
		c := name[i]
		if c < '0' || c > '9' || i >= 10 {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	if i == 0 || n > math.MaxInt32 {
		return 0, false
	}
	return n, true
}

// parseSocketLink extracts the inode from an fd link target of the form
// "socket:[12345]" or, as very old kernels wrote it, "[0000]:12345".
func parseSocketLink(b []byte) (uint64, bool) {
	const pfx, pfx2 = "socket:[", "[0000]:"
	switch {
	case len(b) > len(pfx)+1 && string(b[:len(pfx)]) == pfx && b[len(b)-1] == ']':
		return parseUint(b[len(pfx) : len(b)-1])
	case len(b) > len(pfx2) && string(b[:len(pfx2)]) == pfx2:
		return parseUint(b[len(pfx2):])
	}
	return 0, false
}

// parseUint parses a non-empty run of decimal digits that fits a uint64.
func parseUint(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if n > (math.MaxUint64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

func appendPID(b []byte, pid int) []byte {
	var tmp [20]byte
	i := len(tmp)
	if pid == 0 {
		i--
		tmp[i] = '0'
	}
	for pid > 0 {
		i--
		tmp[i] = byte('0' + pid%10)
		pid /= 10
	}
	return append(b, tmp[i:]...)
}

// isProcfs reports whether dirFd is on a proc filesystem (the live
// kernel's, not a copied tree).
func isProcfs(dirFd int) bool {
	var st unix.Statfs_t
	return unix.Fstatfs(dirFd, &st) == nil && st.Type == unix.PROC_SUPER_MAGIC
}

// openDir opens path as a directory file descriptor.
func openDir(path string) (int, error) {
	for {
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err == unix.EINTR {
			continue
		}
		return fd, err
	}
}

// openat opens the NUL-terminated path relative to dirFd without the
// allocation unix.Openat makes to terminate a Go string.
func openat(dirFd int, path []byte, flags int) (int, unix.Errno) {
	for {
		r, _, errno := unix.Syscall6(unix.SYS_OPENAT, uintptr(dirFd), uintptr(unsafe.Pointer(&path[0])), uintptr(flags), 0, 0, 0)
		if errno == unix.EINTR {
			continue
		}
		return int(r), errno
	}
}

// readlinkat reads the link named by the NUL-terminated name (pointing into
// a getdents buffer) relative to dirFd into buf.
func readlinkat(dirFd int, name *byte, buf []byte) (int, unix.Errno) {
	for {
		r, _, errno := unix.Syscall6(unix.SYS_READLINKAT, uintptr(dirFd), uintptr(unsafe.Pointer(name)), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0)
		if errno == unix.EINTR {
			continue
		}
		return int(r), errno
	}
}

func getdents(fd int, buf []byte) (int, error) {
	for {
		n, err := unix.Getdents(fd, buf)
		if err == unix.EINTR {
			continue
		}
		return n, err
	}
}
