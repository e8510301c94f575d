package procs

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// FDIterator lists the socket fds of every process in one pass through
// the kernel: a BPF iterator over every task's file table (the
// "task_file" iterator, Linux 5.8 and later) runs a small program per
// open file that writes (pid, fd, inode), the inode 0 for a file that is
// not a socket (see fdIterProgram). Where the /proc
// walk costs a readlinkat per fd (about 4 µs each, 0.3 s of CPU for 80k
// sockets), the iterator costs a few hundred nanoseconds per fd.
//
// It needs CAP_BPF and CAP_PERFMON (root), a kernel with BTF
// (/sys/kernel/btf/vmlinux), and netsql running in the initial pid
// namespace (the pids it reports are the kernel's global ones).
// OpenFDIterator says why when one of these is missing; callers then walk
// /proc. The program only reads: it is loaded when the iterator opens and
// unloaded when it closes.
//
// The kernel may keep a process from the iterator while /proc shows it
// (seen: a VM's pid 1 whose fd links even root may not read), so a scan
// through it also walks /proc/PID/fd of every process the iterator did
// not see: kernel threads cost an empty directory each, and a process
// /proc denies is counted in ScanResult.Denied as the walk counts it.
type FDIterator struct {
	mu   sync.Mutex
	prog int
	link int
	// lastLen is how many owners the previous scan kept: the next one
	// starts with room for as many.
	lastLen int
	// hide, in tests, drops the records of the processes it names, as a
	// kernel that keeps a process from the iterator would.
	hide func(pid int) bool
	// cleanup closes prog and link should the iterator be dropped
	// unclosed; Close stops it, or it would close those fd numbers again
	// after they were reused.
	cleanup runtime.Cleanup
}

// ErrNoFDIterator is wrapped by OpenFDIterator's error when the machine
// offers no fd iterator: another pid namespace, no kernel BTF, a kernel
// without the task_file iterator. A permission error is unix.EPERM; any
// other error is a program the kernel rejected.
var ErrNoFDIterator = errors.New("unavailable")

// initPIDNS is the inode of the initial pid namespace (PROC_PID_INIT_INO).
const initPIDNS = 0xeffffffc

// sockfsMagic is the superblock magic of sockfs (SOCKFS_MAGIC): a file
// whose inode lives there is a socket, as its /proc link "socket:[N]" says.
const sockfsMagic = 0x534f434b

// fdRecordSize is the size of one record the program writes: the pid
// (u32), the fd (u32) and the socket's inode (u64, 0 for a file that is
// not a socket), host byte order.
const fdRecordSize = 16

// The context of a task_file iterator program (struct bpf_iter__task_file):
// each member is 8-byte aligned.
const (
	iterCtxMeta = 0
	iterCtxTask = 8
	iterCtxFD   = 16
	iterCtxFile = 24
)

// OpenFDIterator loads the iterator's program, fitted to the running
// kernel's struct layout. Close releases it.
func OpenFDIterator(ctx context.Context) (*FDIterator, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !mayLoadTracing() {
		return nil, fmt.Errorf("procs: fd iterator: %w: needs CAP_BPF and CAP_PERFMON (root)", unix.EPERM)
	}
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/ns/pid", &st); err != nil {
		return nil, fmt.Errorf("procs: fd iterator: pid namespace: %w", err)
	}
	if st.Ino != initPIDNS {
		return nil, fmt.Errorf("procs: fd iterator %w: not in the initial pid namespace", ErrNoFDIterator)
	}
	blob, release, err := readKernelBTF()
	if err != nil {
		return nil, fmt.Errorf("procs: fd iterator %w: kernel types: %w", ErrNoFDIterator, err)
	}
	spec, err := parseBTF(blob)
	if err != nil {
		release()
		return nil, fmt.Errorf("procs: fd iterator: kernel types: %w", err)
	}
	insns, attachID, err := fdIterProgram(spec)
	release() // the program holds what it needs of the types
	if err != nil {
		return nil, fmt.Errorf("procs: fd iterator %w: %w", ErrNoFDIterator, err)
	}
	prog, err := loadTracingProg(insns, attachID)
	if errors.Is(err, unix.ENOSYS) {
		err = fmt.Errorf("%w: %w", ErrNoFDIterator, err)
	}
	if err != nil {
		return nil, fmt.Errorf("procs: fd iterator: load program: %w", err)
	}
	link, err := createIterLink(prog)
	if err != nil {
		unix.Close(prog)
		return nil, fmt.Errorf("procs: fd iterator: attach: %w", err)
	}
	it := &FDIterator{prog: prog, link: link}
	it.cleanup = runtime.AddCleanup(it, func(fds [2]int) { unix.Close(fds[0]); unix.Close(fds[1]) }, [2]int{prog, link})
	return it, nil
}

// Close unloads the program. The iterator cannot be used after.
func (it *FDIterator) Close() error {
	it.mu.Lock()
	defer it.mu.Unlock()
	if it.prog < 0 {
		return nil
	}
	it.cleanup.Stop()
	err := errors.Join(unix.Close(it.link), unix.Close(it.prog))
	it.prog, it.link = -1, -1
	if err != nil {
		return fmt.Errorf("procs: close fd iterator: %w", err)
	}
	return nil
}

// mayLoadTracing reports whether this process holds the capabilities a
// tracing program needs: CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN (which
// older kernels ask for). Checked first, it spares an unprivileged run
// reading the kernel's types for a load that would fail.
func mayLoadTracing() bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return true // unknown: let the load say
	}
	has := func(c uint) bool { return data[c/32].Effective&(1<<(c%32)) != 0 }
	return has(unix.CAP_BPF) && has(unix.CAP_PERFMON) || has(unix.CAP_SYS_ADMIN)
}

// readKernelBTF returns the kernel's type information, mapped where the
// kernel allows it (Linux 6.16 and later) rather than copied; release
// unmaps it.
func readKernelBTF() (blob []byte, release func(), err error) {
	f, err := os.Open("/sys/kernel/btf/vmlinux")
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > 0 {
		if b, err := unix.Mmap(int(f.Fd()), 0, int(st.Size()), unix.PROT_READ, unix.MAP_PRIVATE); err == nil {
			return b, func() { unix.Munmap(b) }, nil
		}
	}
	b, err := io.ReadAll(f)
	return b, func() {}, err
}

// scan returns every socket fd of every process the iterator sees, as
// ScanSocketOwners describes (want filters, pids restricts; sorted by
// pid, then fd), in one pass.
// seen lists, in ascending order, the processes it saw an open file of:
// a process with files it did not see is hidden from it, and
// ScanSocketOwners walks its /proc/PID/fd instead.
func (it *FDIterator) scan(ctx context.Context, want map[uint64]struct{}, pids []int) (owners []Owner, seen []int, err error) {
	it.mu.Lock()
	defer it.mu.Unlock()
	if it.prog < 0 {
		return nil, nil, errors.New("procs: fd iterator is closed")
	}
	fd, err := bpf(unix.BPF_ITER_CREATE, unsafe.Pointer(&iterCreateAttr{linkFD: uint32(it.link)}), unsafe.Sizeof(iterCreateAttr{}))
	if err != nil {
		return nil, nil, fmt.Errorf("procs: fd iterator: start: %w", err)
	}
	defer unix.Close(fd)
	var keep map[int]bool
	if pids != nil {
		keep = make(map[int]bool, len(pids))
		for _, p := range pids {
			keep[p] = true
		}
	}
	owners = make([]Owner, 0, it.lastLen+it.lastLen/16)
	buf := make([]byte, 64<<10)
	have := 0 // bytes of a record split across reads
	for {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		n, err := unix.Read(fd, buf[have:])
		if err == unix.EINTR || err == unix.EAGAIN {
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("procs: fd iterator: read: %w", err)
		}
		if n == 0 {
			break
		}
		n += have
		off := 0
		for ; off+fdRecordSize <= n; off += fdRecordSize {
			r := buf[off : off+fdRecordSize]
			o := Owner{
				PID:   int(binary.NativeEndian.Uint32(r)),
				FD:    int(binary.NativeEndian.Uint32(r[4:])),
				Inode: binary.NativeEndian.Uint64(r[8:]),
			}
			if it.hide != nil && it.hide(o.PID) {
				continue
			}
			if len(seen) == 0 || seen[len(seen)-1] != o.PID {
				seen = append(seen, o.PID)
			}
			if o.Inode == 0 || keep != nil && !keep[o.PID] {
				continue
			}
			if want != nil {
				if _, ok := want[o.Inode]; !ok {
					continue
				}
			}
			owners = append(owners, o)
		}
		have = copy(buf, buf[off:n])
	}
	if have != 0 {
		return nil, nil, fmt.Errorf("procs: fd iterator: %d bytes left over", have)
	}
	it.lastLen = len(owners)
	// Tasks come in pid order and fds in order, but sort rather than trust it.
	if !slices.IsSortedFunc(owners, cmpOwner) {
		slices.SortFunc(owners, cmpOwner)
	}
	slices.Sort(seen)
	return owners, slices.Compact(seen), nil
}

func cmpOwner(a, b Owner) int {
	if a.PID != b.PID {
		return a.PID - b.PID
	}
	return a.FD - b.FD
}

// servesRoot reports whether the iterator's pids are those of the proc
// root open as rootFd: a procfs whose "self" is this process by the pid
// the kernel knows it by (a /proc mounted for another pid namespace
// names netsql differently, or not at all).
func servesRoot(rootFd int) bool {
	if !isProcfs(rootFd) {
		return false
	}
	var buf [32]byte
	n, errno := readlinkat(rootFd, &[]byte("self\x00")[0], buf[:])
	return errno == 0 && string(buf[:n]) == strconv.Itoa(os.Getpid())
}

// fdIterProgram assembles the iterator program for the kernel spec
// describes and returns it with the BTF id of the iterator it attaches to.
//
// For each (task, fd, file) the iterator visits where the task leads its
// thread group (the process /proc/PID/fd describes; other threads share
// its table), it writes a record
//
//	struct { u32 pid; u32 fd; u64 inode; }
//
// with the socket's inode when the file is a socket (its inode is on
// sockfs), else 0: those records say the process was seen.
func fdIterProgram(spec *btfSpec) (insns []bpfInsn, attachID uint32, err error) {
	attachID, err = spec.find(btfKindFunc, "bpf_iter_task_file")
	if err != nil {
		return nil, 0, err
	}
	var f struct{ seq, inode, sb, magic, ino, tgid, pid field }
	for _, m := range []struct {
		dst         *field
		struc, name string
	}{
		{&f.seq, "bpf_iter_meta", "seq"},
		{&f.inode, "file", "f_inode"},
		{&f.sb, "inode", "i_sb"},
		{&f.magic, "super_block", "s_magic"},
		{&f.ino, "inode", "i_ino"},
		{&f.tgid, "task_struct", "tgid"},
		{&f.pid, "task_struct", "pid"},
	} {
		if *m.dst, err = spec.member(m.struc, m.name); err != nil {
			return nil, 0, err
		}
	}
	if f.tgid.size != 4 || f.pid.size != 4 || f.seq.size != 8 || f.inode.size != 8 || f.sb.size != 8 {
		return nil, 0, errors.New("unexpected layout of task_struct, file or inode")
	}
	const (
		r0, r1, r2, r3, r4, r5, r6, r7, r8, r9, r10 = 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
	)
	p := &bpfAsm{}
	p.mov(r6, r1)                         // r6 = ctx
	p.load(r2, r6, field{iterCtxFile, 8}) // file (may be NULL)
	p.jeqImm(r2, 0, "out")
	p.load(r3, r6, field{iterCtxTask, 8}) // task (may be NULL)
	p.jeqImm(r3, 0, "out")
	p.load(r8, r3, f.tgid)  // tgid
	p.load(r9, r3, f.pid)   // pid of this task
	p.jneReg(r8, r9, "out") // only the thread group's leader
	p.load(r4, r2, f.inode) // file->f_inode
	p.jeqImm(r4, 0, "out")
	p.load(r5, r4, f.sb) // inode->i_sb
	p.jeqImm(r5, 0, "out")
	p.movImm(r7, 0)                    // inode 0: not a socket
	p.load(r0, r5, f.magic)            // sb->s_magic
	p.jneImm(r0, sockfsMagic, "write") // a socket?
	p.load(r7, r4, f.ino)              // inode->i_ino
	p.label("write")
	p.load(r9, r6, field{iterCtxFD, 4})   // fd
	p.store(r10, -16, r8, 4)              // record.pid
	p.store(r10, -12, r9, 4)              // record.fd
	p.store(r10, -8, r7, 8)               // record.inode
	p.load(r1, r6, field{iterCtxMeta, 8}) // meta
	p.load(r1, r1, f.seq)                 // meta->seq
	p.mov(r2, r10)
	p.addImm(r2, -16) // &record
	p.movImm(r3, fdRecordSize)
	p.call(bpfFuncSeqWrite) // bpf_seq_write(seq, &record, 16)
	p.label("out")
	p.movImm(r0, 0)
	p.exit()
	insns, err = p.assemble()
	return insns, attachID, err
}

// bpfFuncSeqWrite is the helper bpf_seq_write (BPF_FUNC_seq_write).
const bpfFuncSeqWrite = 127

// bpfInsn is one BPF instruction (struct bpf_insn).
type bpfInsn struct {
	code uint8
	regs uint8 // dst in the low nibble, src in the high
	off  int16
	imm  int32
}

// bpfAsm builds a program with forward jumps to named labels.
type bpfAsm struct {
	insns  []bpfInsn
	jumps  map[int]string // instruction index -> label it jumps to
	labels map[string]int
	err    error // the first load or store of a size BPF has not
}

func (a *bpfAsm) emit(code, dst, src uint8, off int16, imm int32) {
	a.insns = append(a.insns, bpfInsn{code: code, regs: dst | src<<4, off: off, imm: imm})
}

func (a *bpfAsm) jump(code, dst, src uint8, imm int32, label string) {
	if a.jumps == nil {
		a.jumps = map[int]string{}
	}
	a.jumps[len(a.insns)] = label
	a.emit(code, dst, src, 0, imm)
}

func (a *bpfAsm) label(name string) {
	if a.labels == nil {
		a.labels = map[string]int{}
	}
	a.labels[name] = len(a.insns)
}

// BPF opcodes used (include/uapi/linux/bpf.h, bpf_common.h).
const (
	bpfLdxMem   = 0x61 // BPF_LDX | BPF_MEM; | size
	bpfStxMem   = 0x63 // BPF_STX | BPF_MEM; | size
	bpfMovReg   = 0xbf // BPF_ALU64 | BPF_MOV | BPF_X
	bpfMovImm   = 0xb7 // BPF_ALU64 | BPF_MOV | BPF_K
	bpfAddImm   = 0x07 // BPF_ALU64 | BPF_ADD | BPF_K
	bpfJeqImm   = 0x15 // BPF_JMP | BPF_JEQ | BPF_K
	bpfJneImm   = 0x55 // BPF_JMP | BPF_JNE | BPF_K
	bpfJneReg   = 0x5d // BPF_JMP | BPF_JNE | BPF_X
	bpfCall     = 0x85 // BPF_JMP | BPF_CALL
	bpfExit     = 0x95 // BPF_JMP | BPF_EXIT
	bpfSizeW    = 0x00
	bpfSizeH    = 0x08
	bpfSizeB    = 0x10
	bpfSizeDW   = 0x18
	bpfSizeNone = 0xff
)

func bpfSize(n int) uint8 {
	switch n {
	case 1:
		return bpfSizeB
	case 2:
		return bpfSizeH
	case 4:
		return bpfSizeW
	case 8:
		return bpfSizeDW
	}
	return bpfSizeNone
}

func (a *bpfAsm) mov(dst, src uint8)        { a.emit(bpfMovReg, dst, src, 0, 0) }
func (a *bpfAsm) movImm(dst uint8, v int32) { a.emit(bpfMovImm, dst, 0, 0, v) }
func (a *bpfAsm) addImm(dst uint8, v int32) { a.emit(bpfAddImm, dst, 0, 0, v) }
func (a *bpfAsm) load(dst, src uint8, f field) {
	a.sized(bpfLdxMem, f.size, dst, src, f.offset)
}
func (a *bpfAsm) store(dst uint8, off int16, src uint8, size int) {
	a.sized(bpfStxMem, size, dst, src, int(off))
}

func (a *bpfAsm) sized(code uint8, size int, dst, src uint8, off int) {
	sz := bpfSize(size)
	if (sz == bpfSizeNone || off < math.MinInt16 || off > math.MaxInt16) && a.err == nil {
		a.err = fmt.Errorf("instruction %d: %d bytes at offset %d", len(a.insns), size, off)
	}
	a.emit(code|sz, dst, src, int16(off), 0)
}
func (a *bpfAsm) jeqImm(r uint8, v int32, l string) { a.jump(bpfJeqImm, r, 0, v, l) }
func (a *bpfAsm) jneImm(r uint8, v int32, l string) { a.jump(bpfJneImm, r, 0, v, l) }
func (a *bpfAsm) jneReg(r, s uint8, l string)       { a.jump(bpfJneReg, r, s, 0, l) }
func (a *bpfAsm) call(helper int32)                 { a.emit(bpfCall, 0, 0, 0, helper) }
func (a *bpfAsm) exit()                             { a.emit(bpfExit, 0, 0, 0, 0) }

// assemble resolves the jumps and checks every size was one BPF has.
func (a *bpfAsm) assemble() ([]bpfInsn, error) {
	if a.err != nil {
		return nil, a.err
	}
	for i, l := range a.jumps {
		to, ok := a.labels[l]
		if !ok {
			return nil, fmt.Errorf("no label %q", l)
		}
		a.insns[i].off = int16(to - i - 1)
	}
	return a.insns, nil
}

// bpf calls bpf(2).
func bpf(cmd int, attr unsafe.Pointer, size uintptr) (int, error) {
	r, _, errno := unix.Syscall(unix.SYS_BPF, uintptr(cmd), uintptr(attr), size)
	runtime.KeepAlive(attr)
	if errno != 0 {
		return -1, errno
	}
	return int(r), nil
}

// progLoadAttr is the head of union bpf_attr for BPF_PROG_LOAD, up to
// the fields a tracing program needs.
type progLoadAttr struct {
	progType           uint32
	insnCnt            uint32
	insns              uint64
	license            uint64
	logLevel           uint32
	logSize            uint32
	logBuf             uint64
	kernVersion        uint32
	progFlags          uint32
	progName           [16]byte
	progIfindex        uint32
	expectedAttachType uint32
	progBTFFD          uint32
	funcInfoRecSize    uint32
	funcInfo           uint64
	funcInfoCnt        uint32
	lineInfoRecSize    uint32
	lineInfo           uint64
	lineInfoCnt        uint32
	attachBTFID        uint32
	attachBTFObjFD     uint32
	coreReloCnt        uint32
	fdArray            uint64
}

// bpfLicense is the license the program declares to the kernel, which
// lets it call GPL-only helpers such as bpf_seq_write.
var bpfLicense = []byte("Dual MIT/GPL\x00")

// loadTracingProg loads insns as a task_file iterator program. On a
// verifier rejection the error carries the verifier's last line.
func loadTracingProg(insns []bpfInsn, attachID uint32) (int, error) {
	logBuf := make([]byte, 64<<10)
	attr := progLoadAttr{
		progType:           unix.BPF_PROG_TYPE_TRACING,
		insnCnt:            uint32(len(insns)),
		insns:              uint64(uintptr(unsafe.Pointer(&insns[0]))),
		license:            uint64(uintptr(unsafe.Pointer(&bpfLicense[0]))),
		expectedAttachType: unix.BPF_TRACE_ITER,
		attachBTFID:        attachID,
	}
	copy(attr.progName[:], "netsql_fds")
	fd, err := bpf(unix.BPF_PROG_LOAD, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	if err == nil {
		runtime.KeepAlive(insns)
		return fd, nil
	}
	// Load again with the verifier's log, to say why.
	attr.logLevel, attr.logSize = 1, uint32(len(logBuf))
	attr.logBuf = uint64(uintptr(unsafe.Pointer(&logBuf[0])))
	if fd, err2 := bpf(unix.BPF_PROG_LOAD, unsafe.Pointer(&attr), unsafe.Sizeof(attr)); err2 == nil {
		return fd, nil
	}
	runtime.KeepAlive(insns)
	runtime.KeepAlive(logBuf)
	if last := lastLine(logBuf); last != "" {
		return -1, fmt.Errorf("%w (verifier: %s)", err, last)
	}
	return -1, err
}

func lastLine(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	for len(b) > 0 && b[len(b)-1] == '\n' {
		b = b[:len(b)-1]
	}
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[i+1:]
	}
	return string(b)
}

// linkCreateAttr is union bpf_attr for BPF_LINK_CREATE of an iterator.
type linkCreateAttr struct {
	progFD      uint32
	targetFD    uint32
	attachType  uint32
	flags       uint32
	iterInfo    uint64
	iterInfoLen uint32
	_           uint32
}

func createIterLink(prog int) (int, error) {
	attr := linkCreateAttr{progFD: uint32(prog), attachType: unix.BPF_TRACE_ITER}
	return bpf(unix.BPF_LINK_CREATE, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
}

// iterCreateAttr is union bpf_attr for BPF_ITER_CREATE.
type iterCreateAttr struct {
	linkFD uint32
	flags  uint32
}
