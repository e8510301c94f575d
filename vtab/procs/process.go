package procs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/netsql/netsql/vtab/fileread"
)

// Process describes one process as netstat and ps see it.
type Process struct {
	// PID and PPID are the process and parent process ids (from stat).
	PID, PPID int
	// Name is the kernel's comm (from stat): at most 15 bytes, raw.
	Name string
	// Program is the name net-tools netstat 2.10 prints after "PID/" for
	// this process; see NetstatProgram. It is empty when cmdline is empty
	// (kernel threads, zombies): netstat does not fall back to comm.
	Program string
	// Cmdline is the argument vector, NULs turned into spaces and trailing
	// NULs dropped, like ps's args column. Empty for kernel threads.
	Cmdline string
	// UID and EUID are the real and effective user ids (from status).
	UID, EUID uint32
	// NetNS is the inode of the process's network namespace (the number in
	// ns/net's "net:[4026531840]"), 0 when it cannot be read (another
	// user's process while not root, or a proc tree without ns links).
	NetNS uint64
}

// netstatCmdlineMax is how much of cmdline net-tools netstat reads
// (a 512-byte buffer, one byte kept for the terminating NUL).
const netstatCmdlineMax = 511

// netstatNameWidth is the size of netstat's "PID/Program" buffer
// (PROGNAME_WIDTH, 20 bytes including the terminating NUL).
const netstatNameWidth = 20

// NetstatProgram returns the program name net-tools netstat 2.10 derives
// from a raw /proc/PID/cmdline (NUL-separated arguments): it reads at most
// the first 511 bytes, keeps the text up to the first NUL (argv[0]), and
// if that text starts with '/' keeps only what follows its last '/'.
// A relative argv[0] ("./server", "bin/x") is kept whole, a rewritten
// cmdline without NULs ("nginx: worker process") is kept whole unless it
// starts with '/', and an empty cmdline gives "" (no fallback to comm).
func NetstatProgram(cmdline []byte) string {
	if len(cmdline) > netstatCmdlineMax {
		cmdline = cmdline[:netstatCmdlineMax]
	}
	if i := bytes.IndexByte(cmdline, 0); i >= 0 {
		cmdline = cmdline[:i]
	}
	if len(cmdline) > 0 && cmdline[0] == '/' {
		cmdline = cmdline[bytes.LastIndexByte(cmdline, '/')+1:]
	}
	return string(cmdline)
}

// NetstatPIDProgram returns the "PID/Program" text net-tools netstat 2.10
// stores for a socket's owner, truncated as netstat truncates it when it
// loads its cache: snprintf into a 20-byte buffer, so at most 19 bytes
// (cut at a byte boundary, as netstat does). Padding the column to 20 is
// the printer's job.
func NetstatPIDProgram(pid int, program string) string {
	s := strconv.Itoa(pid) + "/" + program
	if len(s) > netstatNameWidth-1 {
		s = s[:netstatNameWidth-1]
	}
	return s
}

// ReadProcess reads procRoot/PID/{stat,status,cmdline,ns/net}. stat is
// required: when the process does not exist (or exits while being read)
// the error satisfies errors.Is(err, fs.ErrNotExist). A missing cmdline,
// status or ns/net (a partial copy of /proc) leaves its fields zero.
func ReadProcess(procRoot string, pid int) (Process, error) {
	rootFd, err := openDir(procRoot)
	if err != nil {
		return Process{}, fmt.Errorf("procs: open proc root: %w", err)
	}
	defer unix.Close(rootFd)
	var r procReader
	return r.read(rootFd, pid)
}

// ListProcesses reads every process of procRoot with ReadProcess, in
// parallel, and returns them sorted by PID. Processes that exit while
// being listed, or whose stat cannot be read (hidepid), are left out.
func ListProcesses(ctx context.Context, procRoot string) ([]Process, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rootFd, err := openDir(procRoot)
	if err != nil {
		return nil, fmt.Errorf("procs: open proc root: %w", err)
	}
	pids, err := listPIDs(rootFd)
	if err != nil {
		unix.Close(rootFd)
		return nil, fmt.Errorf("procs: list %s: %w", procRoot, err)
	}
	out := make([]Process, len(pids))
	ok := make([]bool, len(pids))
	var next atomic.Int64
	var firstErr error
	var errOnce sync.Once
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(pids)) {
		wg.Go(func() {
			var r procReader
			for {
				i := int(next.Add(1) - 1)
				if i >= len(pids) || ctx.Err() != nil {
					return
				}
				p, err := r.read(rootFd, pids[i])
				switch {
				case err == nil:
					out[i], ok[i] = p, true
				case errors.Is(err, fs.ErrNotExist), errors.Is(err, fs.ErrPermission):
				default:
					errOnce.Do(func() { firstErr = err })
					next.Store(int64(len(pids)))
					return
				}
			}
		})
	}
	// A read of /proc/PID/cmdline waits for the process's mmap lock and
	// no context reaches it there: wait for the workers only as long as
	// ctx lasts, and abandon a worker still blocked then (it writes only
	// into out and ok, which are dropped with it).
	finished := make(chan struct{})
	go func() {
		wg.Wait()
		unix.Close(rootFd) // only now: an abandoned worker still uses it
		close(finished)
	}()
	select {
	case <-finished:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if firstErr != nil {
		return nil, firstErr
	}
	procs := out[:0]
	for i := range out {
		if ok[i] {
			procs = append(procs, out[i])
		}
	}
	return slices.Clip(procs), nil
}

// SelfNetNS returns the network namespace inode of the calling thread as
// procRoot shows it: procRoot/thread-self/ns/net, or procRoot/self/ns/net
// when there is no readable thread-self link (a copied tree). The thread
// comes first because a Go program's threads need not share the thread
// group leader's namespace (see vtab/netns).
func SelfNetNS(procRoot string) (uint64, error) {
	var firstErr error
	for _, who := range []string{"thread-self", "self"} {
		link, err := os.Readlink(filepath.Join(procRoot, who, "ns", "net"))
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		ino, ok := parseNSLink([]byte(link), "net")
		if !ok {
			return 0, fmt.Errorf("procs: unexpected ns/net link %q", link)
		}
		return ino, nil
	}
	return 0, fmt.Errorf("procs: read self network namespace: %w", firstErr)
}

// procReader reads the files of one process at a time through a reused
// buffer.
type procReader struct {
	path []byte
	buf  []byte
}

func (r *procReader) read(rootFd, pid int) (Process, error) {
	p := Process{PID: pid}
	stat, err := r.readFile(rootFd, pid, "stat")
	if err != nil {
		return Process{}, fmt.Errorf("procs: pid %d: %w", pid, err)
	}
	name, ppid, ok := parseStat(stat)
	if !ok {
		return Process{}, fmt.Errorf("procs: pid %d: malformed stat %q", pid, truncate(stat, 80))
	}
	p.Name, p.PPID = name, ppid

	if status, err := r.readFile(rootFd, pid, "status"); err == nil {
		p.UID, p.EUID, _ = parseStatusUIDs(status)
	} else if !errors.Is(err, fs.ErrNotExist) || r.gone(rootFd, pid) {
		return Process{}, fmt.Errorf("procs: pid %d: %w", pid, err)
	}

	if cmdline, err := r.readFile(rootFd, pid, "cmdline"); err == nil {
		p.Program = NetstatProgram(cmdline)
		p.Cmdline = joinCmdline(cmdline)
	} else if !errors.Is(err, fs.ErrNotExist) || r.gone(rootFd, pid) {
		return Process{}, fmt.Errorf("procs: pid %d: %w", pid, err)
	}

	r.path = append(appendPID(r.path[:0], pid), "/ns/net\x00"...)
	if len(r.buf) < 64 {
		r.buf = make([]byte, 4096)
	}
	if n, errno := readlinkat(rootFd, &r.path[0], r.buf[:64]); errno == 0 {
		p.NetNS, _ = parseNSLink(r.buf[:n], "net")
	}
	return p, nil
}

// gone reports whether the process directory no longer exists.
func (r *procReader) gone(rootFd, pid int) bool {
	var st unix.Stat_t
	err := unix.Fstatat(rootFd, strconv.Itoa(pid), &st, 0)
	return err == unix.ENOENT || err == unix.ESRCH
}

// readFile reads procRoot/PID/name whole into r.buf. The result is valid
// until the next call. ENOENT and ESRCH (the process exited) are reported
// as fs.ErrNotExist, EACCES and EPERM as fs.ErrPermission.
func (r *procReader) readFile(rootFd, pid int, name string) ([]byte, error) {
	r.path = append(appendPID(r.path[:0], pid), '/')
	r.path = append(append(r.path, name...), 0)
	// Non-blocking and checked with fstat: a FIFO or device in a --proc
	// tree is refused instead of blocking or never ending (see fileread).
	fd, errno := openat(rootFd, r.path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC)
	if errno != 0 {
		return nil, fileErr(name, errno)
	}
	defer unix.Close(fd)
	if err := fileread.CheckFD(fd); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(r.buf) == 0 {
		r.buf = make([]byte, 4096)
	}
	n := 0
	for {
		if n > fileread.MaxProcFile {
			return nil, fmt.Errorf("%s: %w: more than %d bytes", name, fileread.ErrTooLarge, fileread.MaxProcFile)
		}
		if n == len(r.buf) {
			r.buf = append(r.buf, make([]byte, len(r.buf))...)
		}
		m, err := unix.Read(fd, r.buf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, fileErr(name, err.(unix.Errno))
		}
		if m == 0 {
			return r.buf[:n], nil
		}
		n += m
	}
}

func fileErr(name string, errno unix.Errno) error {
	switch errno {
	case unix.ENOENT, unix.ESRCH:
		return fmt.Errorf("%s: %w (%w)", name, fs.ErrNotExist, errno)
	case unix.EACCES, unix.EPERM:
		return fmt.Errorf("%s: %w (%w)", name, fs.ErrPermission, errno)
	}
	return fmt.Errorf("%s: %w", name, errno)
}

// parseStat extracts comm and ppid from /proc/PID/stat, which the kernel
// (fs/proc/array.c, do_task_stat) writes as "%d (%s) %c %d ...": the pid,
// comm in parentheses, the state letter and the ppid, a non-negative
// decimal. comm may hold spaces and parentheses, so it runs from the '('
// after the pid to the last ')'. Anything else (a sign, a missing state,
// a pid that is no number) is not stat, and ok is false.
func parseStat(b []byte) (comm string, ppid int, ok bool) {
	pid, afterPID, found := bytes.Cut(b, []byte(" ("))
	if !found {
		return "", 0, false
	}
	if _, isNum := parseUint(pid); !isNum {
		return "", 0, false
	}
	cls := bytes.LastIndexByte(afterPID, ')')
	if cls < 0 {
		return "", 0, false
	}
	comm = string(afterPID[:cls])
	rest := afterPID[cls+1:]
	// " S PPID" and then a space or the end of the line.
	if len(rest) < 4 || rest[0] != ' ' || rest[1] == ' ' || rest[2] != ' ' {
		return "", 0, false
	}
	digits := rest[3:]
	if i := bytes.IndexAny(digits, " \n"); i >= 0 {
		digits = digits[:i]
	}
	n, isNum := parseUint(digits)
	if !isNum || n > math.MaxInt32 {
		return "", 0, false
	}
	return comm, int(n), true
}

// parseStatusUIDs extracts the real and effective uid from the
// "Uid:\tREAL\tEFFECTIVE\tSAVED\tFS" line of /proc/PID/status.
func parseStatusUIDs(b []byte) (uid, euid uint32, ok bool) {
	for line := range bytes.SplitSeq(b, []byte{'\n'}) {
		v, found := bytes.CutPrefix(line, []byte("Uid:"))
		if !found {
			continue
		}
		f := bytes.Fields(v)
		if len(f) < 2 {
			return 0, 0, false
		}
		u, err1 := strconv.ParseUint(string(f[0]), 10, 32)
		e, err2 := strconv.ParseUint(string(f[1]), 10, 32)
		if err1 != nil || err2 != nil {
			return 0, 0, false
		}
		return uint32(u), uint32(e), true
	}
	return 0, 0, false
}

// parseNSLink parses a namespace link target "KIND:[INODE]".
func parseNSLink(b []byte, kind string) (uint64, bool) {
	if len(b) < len(kind)+3 || string(b[:len(kind)]) != kind || string(b[len(kind):len(kind)+2]) != ":[" || b[len(b)-1] != ']' {
		return 0, false
	}
	return parseUint(b[len(kind)+2 : len(b)-1])
}

// joinCmdline turns a NUL-separated cmdline into one space-separated
// string, dropping trailing NULs.
func joinCmdline(b []byte) string {
	return strings.ReplaceAll(string(bytes.TrimRight(b, "\x00")), "\x00", " ")
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
