// Package netns finds network namespaces and runs work inside them.
//
// Reading another namespace never forks `ip netns exec`: a netlink socket
// is created on a locked OS thread that has joined the namespace (sockets
// stay in the namespace they were created in), and /proc/net files are
// read through /proc/PID/task/TID/net of such a thread (an Anchor), which
// shows that thread's namespace.
package netns

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// RunDir is where `ip netns add` keeps named namespaces.
const RunDir = "/run/netns"

// Namespace is one network namespace reachable from this host.
type Namespace struct {
	Inode uint64   // the namespace's inode: what `ls -L -i` and /proc/PID/ns/net show
	Path  string   // a file that opens it: /run/netns/NAME or /proc/PID/ns/net
	Names []string // names under /run/netns, sorted
	PIDs  []int    // processes in it, ascending (those /proc lets us see)
}

// Name returns how netsql names the namespace: its first /run/netns name,
// else "pid:N" for its lowest pid.
func (n *Namespace) Name() string {
	if len(n.Names) > 0 {
		return n.Names[0]
	}
	if len(n.PIDs) > 0 {
		return "pid:" + strconv.Itoa(n.PIDs[0])
	}
	return ""
}

// Inode returns the inode of the namespace file at path.
func Inode(path string) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0, fmt.Errorf("netns: %s: %w", path, err)
	}
	return st.Ino, nil
}

// List returns every network namespace named under runDir or held by a
// process under procRoot, each once, ordered by inode.
func List(procRoot, runDir string) ([]Namespace, error) {
	byIno := map[uint64]*Namespace{}
	get := func(ino uint64, path string) *Namespace {
		n := byIno[ino]
		if n == nil {
			n = &Namespace{Inode: ino, Path: path}
			byIno[ino] = n
		}
		return n
	}
	if entries, err := os.ReadDir(runDir); err == nil {
		for _, e := range entries {
			p := filepath.Join(runDir, e.Name())
			ino, err := Inode(p)
			if err != nil {
				continue // a stale name whose mount is gone
			}
			n := get(ino, p)
			n.Names = append(n.Names, e.Name())
			n.Path = p
		}
	}
	dirs, err := os.ReadDir(procRoot)
	if err != nil {
		return nil, fmt.Errorf("netns: list %s: %w", procRoot, err)
	}
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		p := filepath.Join(procRoot, d.Name(), "ns", "net")
		ino, err := Inode(p)
		if err != nil {
			continue // gone, or another user's while not root
		}
		n := get(ino, p)
		n.PIDs = append(n.PIDs, pid)
	}
	out := make([]Namespace, 0, len(byIno))
	for _, n := range byIno {
		sort.Strings(n.Names)
		sort.Ints(n.PIDs)
		if len(n.Names) == 0 && len(n.PIDs) > 0 {
			n.Path = filepath.Join(procRoot, strconv.Itoa(n.PIDs[0]), "ns", "net")
		}
		out = append(out, *n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Inode < out[j].Inode })
	return out, nil
}

// Resolve finds the namespace a selector names: a name under runDir, or
// "pid:N" for the namespace of process N.
func Resolve(procRoot, runDir, selector string) (Namespace, error) {
	path := filepath.Join(runDir, selector)
	if rest, ok := strings.CutPrefix(selector, "pid:"); ok {
		pid, err := strconv.Atoi(rest)
		if err != nil || pid <= 0 {
			return Namespace{}, fmt.Errorf("netns: %q: want pid:N with a process id", selector)
		}
		path = filepath.Join(procRoot, rest, "ns", "net")
	} else if selector == "" || strings.ContainsRune(selector, '/') {
		return Namespace{}, fmt.Errorf("netns: %q: want a name under %s or pid:N", selector, runDir)
	}
	ino, err := Inode(path)
	if err != nil {
		return Namespace{}, err
	}
	all, err := List(procRoot, runDir)
	if err != nil {
		return Namespace{}, err
	}
	for _, n := range all {
		if n.Inode == ino {
			n.Path = path
			return n, nil
		}
	}
	return Namespace{Inode: ino, Path: path}, nil
}

// Do runs fn on a locked OS thread that has joined the namespace at path,
// then returns the thread to the caller's namespace. Sockets fn creates
// stay in the namespace. If the thread cannot go back it is discarded, so
// no goroutine ever runs in the wrong namespace.
func Do(path string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		restored, err := doLocked(path, fn)
		if restored {
			runtime.UnlockOSThread()
		} // else: the goroutine exits locked and the runtime drops the thread
		errc <- err
	}()
	return <-errc
}

func doLocked(path string, fn func() error) (restored bool, err error) {
	orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return true, fmt.Errorf("netns: open own namespace: %w", err)
	}
	defer unix.Close(orig)
	target, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return true, fmt.Errorf("netns: open %s: %w", path, err)
	}
	defer unix.Close(target)
	if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
		return true, fmt.Errorf("netns: enter %s: %w", path, err)
	}
	ferr := fn()
	if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
		return false, errors.Join(ferr, fmt.Errorf("netns: return from %s: %w", path, err))
	}
	return true, ferr
}

// MountSysfs mounts a sysfs as seen from inside the namespace at path and
// returns the file descriptor of its root: a detached mount (fsopen(2),
// fsmount(2)), in no directory and no mount namespace, which goes away
// when the descriptor is closed. sysfs shows the network devices of the
// namespace it is created in, so /proc/self/fd/FD/class/net lists that
// namespace's devices with their attributes, whatever thread reads it.
// It needs CAP_SYS_ADMIN over the namespace and Linux 5.2.
func MountSysfs(path string) (int, error) {
	mfd := -1
	err := Do(path, func() error {
		fsfd, err := unix.Fsopen("sysfs", unix.FSOPEN_CLOEXEC)
		if err != nil {
			return fmt.Errorf("fsopen sysfs: %w", err)
		}
		defer unix.Close(fsfd)
		if err := unix.FsconfigCreate(fsfd); err != nil {
			return fmt.Errorf("create sysfs: %w", err)
		}
		attrs := unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC
		mfd, err = unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, attrs)
		if err != nil {
			return fmt.Errorf("fsmount sysfs: %w", err)
		}
		return nil
	})
	if err != nil {
		if mfd >= 0 {
			unix.Close(mfd)
		}
		return -1, fmt.Errorf("netns: sysfs of %s: %w", path, err)
	}
	return mfd, nil
}

// Anchor is an OS thread parked inside a namespace, so that files under
// ProcRoot()/net show that namespace to any goroutine that reads them.
type Anchor struct {
	tid  int
	path string
	done chan struct{}
	exit chan error

	sysOnce sync.Once
	sysFD   int // MountSysfs's descriptor; -1 when none
	sysErr  error
}

// Enter parks a thread in the namespace at path. Close releases it.
func Enter(path string) (*Anchor, error) {
	a := &Anchor{path: path, sysFD: -1, done: make(chan struct{}), exit: make(chan error, 1)}
	ready := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		restored, err := doLocked(path, func() error {
			a.tid = unix.Gettid()
			ready <- nil
			<-a.done
			return nil
		})
		if err != nil && a.tid == 0 {
			ready <- err
		}
		if restored {
			runtime.UnlockOSThread()
		}
		a.exit <- err
	}()
	if err := <-ready; err != nil {
		return nil, err
	}
	return a, nil
}

// ProcRoot is a /proc directory whose net/ shows the anchored namespace.
func (a *Anchor) ProcRoot() string {
	return fmt.Sprintf("/proc/%d/task/%d", os.Getpid(), a.tid)
}

// SysRoot returns a directory showing sysfs as seen from inside the
// anchored namespace (its class/net lists that namespace's devices),
// mounted on first use and unmounted by Close.
func (a *Anchor) SysRoot() (string, error) {
	a.sysOnce.Do(func() { a.sysFD, a.sysErr = MountSysfs(a.path) })
	if a.sysErr != nil {
		return "", a.sysErr
	}
	return "/proc/self/fd/" + strconv.Itoa(a.sysFD), nil
}

// Close returns the thread to netsql's namespace and unmounts the sysfs
// SysRoot mounted.
func (a *Anchor) Close() error {
	a.sysOnce.Do(func() {}) // no mount may start after this
	if a.sysFD >= 0 {
		unix.Close(a.sysFD)
	}
	close(a.done)
	return <-a.exit
}
