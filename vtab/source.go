package vtab

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/netsql/netsql/vtab/netns"
	"github.com/netsql/netsql/vtab/procnet"
	"github.com/netsql/netsql/vtab/procs"
	"github.com/netsql/netsql/vtab/rtnl"
	"github.com/netsql/netsql/vtab/sock"
	"github.com/netsql/netsql/vtab/sockdiag"
)

// Source is where tables read from: the live kernel or a /proc tree on
// disk, through one reader per kind of object (readers.go) that its
// constructor chooses: NewSource("") the live readers (rtnetlink, sysfs
// and ctnetlink in netsql's namespace; the engine derives sources bound
// to each other namespace a statement reads), NewSource(DIR) the /proc
// tree's (procstat parsers of DIR, the sysfs and etc beside it). Table
// producers only map what the readers return. It also holds the small
// caches that outlive one statement (user names) and the one-time notices.
type Source struct {
	// ProcRoot is the /proc tree to read: "/proc" for the live kernel.
	ProcRoot string
	// Live is true when ProcRoot is the running kernel's /proc.
	Live bool
	// SysRoot is the sysfs tree interfaces read MTU, flags, MAC and speed
	// from when netlink does not carry them: "/sys" for the live kernel,
	// DIR/../sys beside a --proc DIR (it need not exist).
	SysRoot string
	// EtcRoot is the directory services and iproute2/rt_tables are read
	// under: "/etc", or DIR/../etc beside a --proc DIR when that exists
	// (a support bundle's own /etc). Empty means "/etc".
	EtcRoot string
	// NetRoot is the /proc directory whose net/ files describe the
	// namespace this source reads: ProcRoot, or the /proc/PID/task/TID of
	// a thread parked in another namespace. ProcRoot stays the process
	// tree (fd scans look at every process, whatever its namespace).
	NetRoot string
	// RunDir is where named namespaces live ("/run/netns").
	RunDir string
	// Sockets reads socket tables.
	Sockets sock.Reader
	// WalkFDs makes owner columns always walk /proc/*/fd, never the
	// kernel's BPF fd iterator (procs.FDIterator), which is otherwise
	// used on the live kernel when netsql may load BPF programs.
	WalkFDs bool
	// Route opens a reader of the rtnetlink objects (links, addresses,
	// routes, neighbours, rules) of the namespace the source reads; nil
	// dials the kernel there. Tests replace it with canned answers. The
	// sources the engine derives for other namespaces dial those.
	Route func() (RouteReader, error)

	// rd are the per-kind readers (readers.go) its constructor chose.
	rd readers

	// parent is the source this one was derived from for another
	// namespace; caches and notices are the parent's.
	parent    *Source
	netnsPath string // file of the namespace read; "" for netsql's own
	// sysRoot, when set, gives the sysfs tree of the namespace read
	// (mounted inside it on first use), replacing SysRoot: netsql's own
	// /sys shows another namespace's devices.
	sysRoot func() (string, error)
	nsName  string // its name as netns_name shows it

	ownerScans atomic.Int64 // /proc/*/fd walks made (tests check the scan runs only when needed)
	// packs counts the compact snapshots made (Table.Pack); noPack makes
	// the root's snapshots records (Table.Rows) instead: tests compare
	// the two.
	packs  atomic.Int64
	noPack bool
	owners ownerHold // one fd walk shared while Engine.HoldOwners holds it
	fdIter fdIter    // the BPF fd iterator, once opened

	notify   func(Notice)
	noticed  sync.Map // Notice -> struct{}
	usersMu  sync.Mutex
	users    map[uint32]string
	passwd   map[uint32]string // a --proc tree's etc/passwd, read once
	netnsMu  sync.Mutex
	netns    uint64
	netnsSet bool
}

// liveNetRoot is where the live kernel's network files are read: the
// reading thread's own view.
const liveNetRoot = "/proc/thread-self"

// NewSource returns the source for procRoot ("" for the live kernel).
// notify receives one-line notices (nil discards them).
func NewSource(procRoot string, notify func(Notice)) (*Source, error) {
	s := &Source{notify: notify, users: map[uint32]string{}, RunDir: netns.RunDir}
	if procRoot == "" {
		// /proc/net follows the thread group leader, which Go may have
		// lent to a goroutine parked in another namespace (netns.Anchor);
		// thread-self follows the reading thread, always ours.
		s.ProcRoot, s.NetRoot, s.Live = "/proc", liveNetRoot, true
		s.SysRoot, s.EtcRoot = "/sys", "/etc"
		s.sysRoot = ownSysfs(s)
		s.Sockets = &fallbackReader{
			primary:  sockdiag.New(),
			fallback: procnet.New(liveNetRoot),
			src:      s,
		}
		s.rd = liveReaders(s)
		return s, nil
	}
	st, err := os.Stat(procRoot)
	if err != nil {
		return nil, fmt.Errorf("--proc %s: %w", procRoot, errors.Unwrap(err))
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("--proc %s: not a directory", procRoot)
	}
	if _, err := os.Stat(filepath.Join(procRoot, "net")); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			// Unreadable is not absent: say why (permission denied).
			return nil, fmt.Errorf("--proc %s: %w", procRoot, errors.Unwrap(err))
		}
		return nil, fmt.Errorf("--proc %s: no net/ directory: not a /proc tree", procRoot)
	}
	s.ProcRoot, s.NetRoot = procRoot, procRoot
	s.Sockets = procnet.New(procRoot)
	s.SysRoot = filepath.Join(procRoot, "..", "sys")
	s.EtcRoot = "/etc"
	if st, err := os.Stat(filepath.Join(procRoot, "..", "etc")); err == nil && st.IsDir() {
		s.EtcRoot = filepath.Join(procRoot, "..", "etc")
	}
	s.rd = procTreeReaders(s)
	return s, nil
}

// ownSysfs returns the sysRoot of a live source for netsql's own
// namespace: a sysfs mounted inside it on first use and kept for the
// source's life, since /sys shows the devices of whichever namespace
// mounted it (under `nsenter --net`, not netsql's). Without the right to
// mount (not root), /sys it is.
func ownSysfs(s *Source) func() (string, error) {
	var once sync.Once
	var root string
	return func() (string, error) {
		once.Do(func() {
			root = s.SysRoot
			if fd, err := netns.MountSysfs("/proc/thread-self/ns/net"); err == nil {
				root = "/proc/self/fd/" + strconv.Itoa(fd)
			}
		})
		return root, nil
	}
}

// etcRoot is EtcRoot, or "/etc" when unset.
func (s *Source) etcRoot() string {
	if s.EtcRoot == "" {
		return "/etc"
	}
	return s.EtcRoot
}

// OwnerScans returns how many /proc/*/fd walks the source has made.
func (s *Source) OwnerScans() int64 { return s.root().ownerScans.Load() }

// root is the source caches and counters belong to.
// Close unloads the BPF fd iterator, if owner columns loaded it. The
// source stays usable: later owner scans walk /proc.
func (s *Source) Close() error { return s.root().fdIter.close() }

func (s *Source) root() *Source {
	if s.parent != nil {
		return s.parent
	}
	return s
}

// inNamespace returns a source reading the namespace n: sock_diag and
// rtnetlink sockets created inside it, /proc net files through anchor.
func (s *Source) inNamespace(n netns.Namespace, anchor *netns.Anchor) *Source {
	d := &Source{
		ProcRoot: s.ProcRoot, Live: s.Live, SysRoot: s.SysRoot, EtcRoot: s.EtcRoot,
		NetRoot: anchor.ProcRoot(), RunDir: s.RunDir,
		parent: s.root(), netnsPath: n.Path, nsName: n.Name(),
		netns: n.Inode, netnsSet: true,
		sysRoot: anchor.SysRoot,
	}
	d.Sockets = &fallbackReader{
		primary:  sockdiag.NewInNetNS(n.Path),
		fallback: procnet.New(d.NetRoot),
		src:      d,
	}
	d.rd = liveReaders(d)
	return d
}

// Notice sends n to the user once per source, however often it recurs.
func (s *Source) Notice(n Notice) {
	s = s.root()
	if s.notify == nil {
		return
	}
	if _, dup := s.noticed.LoadOrStore(n, struct{}{}); !dup {
		s.notify(n)
	}
}

// UserName returns the login name for uid from the passwd database, or
// the number as text when there is none (as netstat -e prints it). A
// --proc tree with its own etc/ (a support bundle) is read with that
// etc/passwd, never the host's: uids name other users there. The live
// kernel, and a tree without etc/, ask the C library's database (NSS).
func (s *Source) UserName(uid uint32) string {
	s = s.root()
	s.usersMu.Lock()
	defer s.usersMu.Unlock()
	if s.users == nil { // a Source built without NewSource
		s.users = map[uint32]string{}
	}
	if name, ok := s.users[uid]; ok {
		return name
	}
	name := strconv.FormatUint(uint64(uid), 10)
	if etc := s.etcRoot(); !s.Live && etc != "/etc" {
		if s.passwd == nil {
			s.passwd = s.etc().passwd()
		}
		if n, ok := s.passwd[uid]; ok {
			name = n
		}
	} else if u, err := user.LookupId(name); err == nil {
		name = u.Username
	}
	s.users[uid] = name
	return name
}

// NetNS returns the inode of the network namespace the source describes
// (the one netsql runs in, or the /proc tree's self), 0 when unknown.
func (s *Source) NetNS() uint64 {
	s.netnsMu.Lock()
	defer s.netnsMu.Unlock()
	if !s.netnsSet {
		s.netns, _ = procs.SelfNetNS(s.ProcRoot) // 0 (NULL) when unreadable
		s.netnsSet = true
	}
	return s.netns
}

// RouteReader reads the rtnetlink objects of one namespace, as
// *rtnl.Client does: each call one dump.
type RouteReader interface {
	Links(ctx context.Context, f rtnl.LinkFilter) ([]rtnl.Link, error)
	Addresses(ctx context.Context, f rtnl.AddrFilter) ([]rtnl.Address, error)
	Routes(ctx context.Context, f rtnl.RouteFilter) ([]rtnl.Route, error)
	Neighbors(ctx context.Context, f rtnl.NeighFilter) ([]rtnl.Neighbor, error)
	Rules(ctx context.Context, f rtnl.RuleFilter) ([]rtnl.Rule, error)
	Nexthops(ctx context.Context) ([]rtnl.Nexthop, error)
	Close() error
}

// route opens the source's rtnetlink reader: Route when set, else a
// socket dialled in the namespace the source reads.
func (s *Source) route() (RouteReader, error) {
	if s.Route != nil {
		return s.Route()
	}
	if s.netnsPath != "" {
		return rtnl.DialNetNS(s.netnsPath)
	}
	return rtnl.Dial()
}

// errNoReader is the error of a reader a Source was built without.
var errNoReader = errors.New("the source has no reader for it (build sources with NewSource)")

// sockets returns the socket reader, or one that fails with errNoReader
// when the Source was built without one.
func (s *Source) sockets() sock.Reader {
	if s.Sockets == nil {
		return noSockets{}
	}
	return s.Sockets
}

// noSockets is the socket reader of a Source built without one.
type noSockets struct{}

func (noSockets) Sockets(context.Context, sock.Request) ([]sock.Socket, error) {
	return nil, fmt.Errorf("sockets: %w", errNoReader)
}

// fallbackReader reads sockets through netlink and falls back to /proc/net
// for what netlink cannot give: everything, when the kernel refuses
// NETLINK_SOCK_DIAG (said once), or single dumps whose diag module the
// kernel lacks (raw_diag is often missing; ss reads /proc there too).
type fallbackReader struct {
	primary, fallback sock.Reader
	src               *Source
	mu                sync.Mutex
	refused           bool
}

func (f *fallbackReader) Sockets(ctx context.Context, req sock.Request) ([]sock.Socket, error) {
	f.mu.Lock()
	refused := f.refused
	f.mu.Unlock()
	if refused {
		return f.fallback.Sockets(ctx, req)
	}
	socks, err := f.primary.Sockets(ctx, req)
	var partial *sockdiag.UnavailableError
	switch {
	case err == nil:
		return socks, nil
	case errors.As(err, &partial) && len(partial.Missing) > 0:
		for _, missing := range partial.Missing {
			more, err := f.fallback.Sockets(ctx, missing)
			if err != nil {
				return nil, err
			}
			socks = append(socks, more...)
		}
		return socks, nil
	case errors.Is(err, sockdiag.ErrUnavailable):
		f.mu.Lock()
		f.refused = true
		f.mu.Unlock()
		f.src.Notice(Notice{NoticeFallback, fmt.Sprintf("netsql: netlink sock_diag unavailable (%v); reading /proc/net instead", err)})
		return f.fallback.Sockets(ctx, req)
	}
	return nil, err
}
