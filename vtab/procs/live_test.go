package procs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// sockOwner returns the inode and fd number of a socket held by this process.
func sockOwner(t *testing.T, c syscall.Conn) Owner {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var o Owner
	var serr error
	err = rc.Control(func(fd uintptr) {
		var st unix.Stat_t
		serr = unix.Fstat(int(fd), &st)
		o = Owner{Inode: st.Ino, PID: os.Getpid(), FD: int(fd)}
	})
	if err != nil || serr != nil {
		t.Fatal(err, serr)
	}
	return o
}

// liveSockets opens a TCP listener, a connection to it (both ends) and a
// unix listener, and returns their owners sorted by fd.
func liveSockets(t *testing.T) (*net.TCPListener, []Owner) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	ul, err := net.Listen("unix", filepath.Join(t.TempDir(), "s.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ul.Close() })

	owners := []Owner{
		sockOwner(t, ln.(*net.TCPListener)),
		sockOwner(t, client.(*net.TCPConn)),
		sockOwner(t, server.(*net.TCPConn)),
		sockOwner(t, ul.(*net.UnixListener)),
	}
	slices.SortFunc(owners, cmpFD)
	return ln.(*net.TCPListener), owners
}

func TestLiveOwnSockets(t *testing.T) {
	_, want := liveSockets(t)
	ctx := context.Background()
	self := os.Getpid()

	res, err := ScanSocketOwners(ctx, "/proc", nil, ScanOptions{PIDs: []int{self}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Owners, want) || res.Denied != 0 || res.Stopped {
		t.Errorf("own sockets:\n got %+v\nwant %v", res, want)
	}

	// The whole of /proc holds them too, attributed to this process.
	res, err = ScanSocketOwners(ctx, "/proc", nil, ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var mine []Owner
	for _, o := range res.Owners {
		if o.PID == self {
			mine = append(mine, o)
		}
	}
	if !slices.Equal(mine, want) {
		t.Errorf("full scan, this pid:\n got %v\nwant %v", mine, want)
	}
	if !slices.IsSortedFunc(res.Owners, func(a, b Owner) int {
		if a.PID != b.PID {
			return a.PID - b.PID
		}
		return a.FD - b.FD
	}) {
		t.Error("full scan not sorted by pid, fd")
	}

	// One wanted inode: the scan stops early and reports that inode.
	for _, o := range want {
		res, err := ScanSocketOwners(ctx, "/proc", map[uint64]struct{}{o.Inode: {}}, ScanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Stopped || !slices.Contains(res.Owners, o) {
			t.Errorf("want %d: %+v", o.Inode, res)
		}
		for _, got := range res.Owners {
			if got.Inode != o.Inode {
				t.Errorf("want %d: unwanted %v", o.Inode, got)
			}
		}
	}
}

func TestLiveSharedWithChild(t *testing.T) {
	ln, owners := liveSockets(t)
	lnOwner := owners[slices.IndexFunc(owners, func(o Owner) bool {
		return o.FD == sockOwner(t, ln).FD
	})]
	f, err := ln.File() // a dup: this process holds the inode on two fds
	if err != nil {
		t.Fatal(err)
	}
	dup := Owner{Inode: lnOwner.Inode, PID: os.Getpid(), FD: int(f.Fd())}
	cmd := exec.Command("sleep", "30")
	cmd.ExtraFiles = []*os.File{f} // fd 3 in the child
	if err := cmd.Start(); err != nil {
		t.Skip("cannot start sleep:", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	child := Owner{Inode: lnOwner.Inode, PID: cmd.Process.Pid, FD: 3}

	res, err := ScanSocketOwners(context.Background(), "/proc", nil, ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []Owner
	for _, o := range res.Owners {
		if o.Inode == lnOwner.Inode {
			got = append(got, o)
		}
	}
	want := []Owner{lnOwner, dup, child}
	slices.SortFunc(want, func(a, b Owner) int {
		if a.PID != b.PID {
			return a.PID - b.PID
		}
		return a.FD - b.FD
	})
	if !slices.Equal(got, want) {
		t.Errorf("owners of the shared listener:\n got %v\nwant %v", got, want)
	}

	// Early stop still reports the lowest-pid owner, as netstat shows it.
	for range 20 {
		res, err = ScanSocketOwners(context.Background(), "/proc", map[uint64]struct{}{lnOwner.Inode: {}}, ScanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if low := lowestOwners(res.Owners)[lnOwner.Inode]; low != want[0] {
			t.Fatalf("early stop: lowest owner %v, want %v (all %v)", low, want[0], res.Owners)
		}
	}
	f.Close()
}

func TestLiveReadProcessSelf(t *testing.T) {
	p, err := ReadProcess("/proc", os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	comm, err := os.ReadFile("/proc/self/comm")
	if err != nil {
		t.Fatal(err)
	}
	wantProg := os.Args[0]
	if strings.HasPrefix(wantProg, "/") {
		wantProg = filepath.Base(wantProg)
	}
	if p.Program != wantProg || p.Name != strings.TrimSuffix(string(comm), "\n") {
		t.Errorf("Program %q Name %q, want %q %q", p.Program, p.Name, wantProg, comm)
	}
	if p.PPID != os.Getppid() || p.UID != uint32(os.Getuid()) || p.EUID != uint32(os.Geteuid()) {
		t.Errorf("PPID %d UID %d EUID %d", p.PPID, p.UID, p.EUID)
	}
	if !strings.HasPrefix(p.Cmdline, os.Args[0]+" ") && p.Cmdline != os.Args[0] {
		t.Errorf("Cmdline %q", p.Cmdline)
	}
	ns, err := SelfNetNS("/proc")
	if err != nil || ns == 0 || p.NetNS != ns {
		t.Errorf("NetNS %d, SelfNetNS %d %v", p.NetNS, ns, err)
	}

	ps, err := ListProcesses(context.Background(), "/proc")
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(ps, func(q Process) bool { return q.PID == os.Getpid() })
	if i < 0 || ps[i] != p {
		t.Errorf("ListProcesses lacks this process or differs: %v", i)
	}
}

// Processes that exit mid-scan are skipped silently.
func TestLiveVanishingProcesses(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for ctx.Err() == nil {
				cmd := exec.Command("sleep", "1")
				if cmd.Start() != nil {
					return
				}
				time.Sleep(time.Duration(cmd.Process.Pid%3) * time.Millisecond)
				cmd.Process.Kill()
				cmd.Wait()
			}
		})
	}
	scans := 0
	for ctx.Err() == nil {
		if _, err := ScanSocketOwners(context.Background(), "/proc", nil, ScanOptions{}); err != nil {
			t.Fatal("scan:", err)
		}
		if _, err := ListProcesses(context.Background(), "/proc"); err != nil {
			t.Fatal("list:", err)
		}
		scans++
	}
	wg.Wait()
	t.Logf("%d scans while children came and went", scans)
}

func TestLiveCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(time.Millisecond, cancel)
	for {
		_, err := ScanSocketOwners(ctx, "/proc", nil, ScanOptions{})
		if errors.Is(err, context.Canceled) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// As an unprivileged user, other users' fd directories are counted in
// Denied, not returned as errors. Runs a copy of the test binary as nobody.
func TestLiveDeniedAsNobody(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to switch to nobody; TestFixtureDenied covers EACCES")
	}
	dir, err := os.MkdirTemp("", "procs-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for d := filepath.Dir(dir); d != "/"; d = filepath.Dir(d) {
		if st, err := os.Stat(d); err != nil || st.Mode().Perm()&0o001 == 0 {
			t.Skipf("%s is not searchable by nobody", d)
		}
	}
	bin := filepath.Join(dir, "procs.test")
	src, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	dst, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.Copy(dst, src)
	src.Close()
	if err2 := dst.Close(); err == nil {
		err = err2
	}
	if err != nil {
		t.Fatal(err)
	}

	// A root-owned process with a socket that nobody cannot see.
	_, _ = liveSockets(t)

	cmd := exec.Command(bin, "-test.run=^$")
	cmd.Dir = dir
	cmd.Env = []string{helperEnv + "=scan"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Skipf("cannot run as nobody: %v %s", err, stderr.String())
	}
	var got struct {
		Owners, Denied int
		Err            string
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %q", err, out)
	}
	if got.Err != "" || got.Denied == 0 {
		t.Errorf("scan as nobody: %+v, want no error and Denied > 0", got)
	}
	t.Logf("as nobody: %+v", got)
}

// TestLiveProbeMatchesList checks that reading fds by number (probeFDs)
// finds exactly the owners listing every fd directory finds, on helper
// processes holding dense runs of sockets, sockets among pipes with
// holes of one fd, and copies at fds 300, 301 and 4000 past holes far
// longer than the probe tries; while processes holding sockets come and
// go during the scans.
func TestLiveProbeMatchesList(t *testing.T) {
	ctx := context.Background()
	pids := append(startHolders(t, 2, 400), startHelpers(t, "holes", 1, 0)...)
	holes := pids[len(pids)-1]

	churnHolders(t)
	only := func(owners []Owner) []Owner { return ownersOf(owners, pids) }
	for round := range 3 {
		var got [2][]Owner
		for i, list := range []bool{false, true} {
			res, err := ScanSocketOwners(ctx, "/proc", nil, ScanOptions{listFDs: list})
			if err != nil {
				t.Fatal(err)
			}
			got[i] = only(res.Owners)
		}
		if !slices.Equal(got[0], got[1]) {
			t.Fatalf("round %d: by number:\n%v\nby listing:\n%v", round, got[0], got[1])
		}
		n, high := 0, []int{}
		for _, o := range got[0] {
			if o.PID == holes {
				n++
				if o.FD >= 300 {
					high = append(high, o.FD)
				}
			}
		}
		// 30 sockets, 10 closed, 3 copies.
		if n != 23 || !slices.Equal(high, []int{300, 301, 4000}) {
			t.Fatalf("round %d: the holes helper shows %d socket fds (want 23), high ones %v (want 300 301 4000): %v", round, n, high, got[0])
		}
		if len(got[0]) != 2*400+23 {
			t.Fatalf("round %d: %d owners in the helpers, want %d", round, len(got[0]), 2*400+23)
		}
	}
}
