package vtab

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/netsql/netsql/vtab/conntrack"
	"github.com/netsql/netsql/vtab/fileread"
	"github.com/netsql/netsql/vtab/netns"
	"github.com/netsql/netsql/vtab/procnet"
	"github.com/netsql/netsql/vtab/procstat"
	"github.com/netsql/netsql/vtab/rtnl"
	"github.com/netsql/netsql/vtab/sockdiag"
)

// The readers behind a Source, one per kind of object. Each kind has a
// live implementation (rtnetlink and sysfs inside the namespace read,
// liveNet) and a /proc-tree one (procstat parsers over a --proc DIR and
// the sysfs tree beside it, treeNet), returning the same Go types; the
// table producers map those to rows and never learn where they came
// from. A Source is given its readers by the constructor that makes it:
// NewSource("") the live ones, NewSource(DIR) the tree's, and the
// engine's per-namespace sources (inNamespace) live ones bound to that
// namespace. Files under net/ that no netlink family carries (protocol
// counters, sockstat, igmp, dev, ipv6_route) are read the same way live
// and from a tree, through procNet; /etc files through etcFiles.

// linkReader reads network devices.
type linkReader interface {
	links(ctx context.Context, f rtnl.LinkFilter, w linkWants) ([]interfaceRecord, error)
}

// linkWants is the costly part of a links read a statement asks for.
type linkWants struct {
	masterNames bool // name a master that f left out (one more request)
	speed       bool // read speed from sysfs
}

// addressReader reads interface addresses; names asks for interface
// names (one more link dump live).
type addressReader interface {
	addresses(ctx context.Context, f rtnl.AddrFilter, names bool) ([]addressRecord, error)
}

// routeReader reads routes.
type routeReader interface {
	routes(ctx context.Context, rq *routeQuery, w routeWants) ([]routeRecord, error)
}

// routeWants is the costly part of a routes read a statement asks for.
type routeWants struct {
	names  bool // interface names
	counts bool // refcnt and use, which only /proc carries
}

// neighborReader reads the neighbour tables.
type neighborReader interface {
	neighbors(ctx context.Context, f rtnl.NeighFilter, names bool) ([]neighborRecord, error)
}

// ruleReader reads policy routing rules.
type ruleReader interface {
	rules(ctx context.Context, f rtnl.RuleFilter) ([]rtnl.Rule, error)
}

// namespaceReader lists the network namespaces a source can read.
type namespaceReader interface {
	// list returns every namespace reachable.
	list() ([]netns.Namespace, error)
	// resolve finds the namespace a netns_name value names.
	resolve(sel string) (netns.Namespace, error)
	// single is true when the source holds one namespace only (a /proc
	// tree): list and resolve are not used then.
	single() bool
}

// conntrackReader reads netfilter's connection tracking table.
type conntrackReader interface {
	// flows hands each flow f selects to add; reset drops what add
	// collected when the read starts over.
	flows(ctx context.Context, f conntrack.Filter, reset func(), add func(*conntrack.Flow) error) error
	// stats returns the tracker's counters, count and max; ok is false
	// when the source has none (a notice says why).
	stats(ctx context.Context) (s conntrack.Stats, ok bool, err error)
}

// readers are the per-kind readers of one Source.
type readers struct {
	link  linkReader
	addr  addressReader
	route routeReader
	neigh neighborReader
	rule  ruleReader
	ct    conntrackReader
	ns    namespaceReader
}

// liveReaders reads the live kernel in the namespace src reads (its
// rtnetlink dialled there, its sysfs mounted there).
func liveReaders(src *Source) readers {
	l := liveNet{src}
	return readers{link: l, addr: l, route: l, neigh: l, rule: l, ct: l,
		ns: liveNamespaces{procRoot: src.ProcRoot, runDir: src.RunDir}}
}

// procTreeReaders reads the /proc tree src.ProcRoot and the sysfs tree
// beside it: one namespace.
func procTreeReaders(src *Source) readers {
	t := treeNet{src}
	return readers{link: t, addr: t, route: t, neigh: t, rule: t, ct: t, ns: treeNamespaces{}}
}

// readers returns the source's readers: those its constructor gave it,
// or for a Source built by hand (&Source{...}) the /proc tree ones over
// its ProcRoot, which fail or come back empty with a notice rather than
// panic.
func (s *Source) readers() readers {
	if s.rd.link != nil {
		return s.rd
	}
	if s.Live {
		return liveReaders(s)
	}
	return procTreeReaders(s)
}

// liveNet reads one namespace of the live kernel.
type liveNet struct{ src *Source }

// treeNet reads a /proc tree and the sysfs tree beside it.
type treeNet struct{ src *Source }

func (l liveNet) links(ctx context.Context, f rtnl.LinkFilter, w linkWants) ([]interfaceRecord, error) {
	src := l.src
	c, err := dialRoute(src, "interfaces")
	if err != nil {
		return nil, err
	}
	defer c.Close()
	links, err := c.Links(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("interfaces: %w", err)
	}
	names := map[int]string{}
	for _, l := range links {
		names[l.Index] = l.Name
	}
	recs := make([]interfaceRecord, len(links))
	for i, l := range links {
		r := linkRecord(&l)
		if l.MasterIndex != 0 {
			if _, known := names[l.MasterIndex]; !known && w.masterNames {
				if ms, err := c.Links(ctx, rtnl.LinkFilter{Index: l.MasterIndex}); err == nil && len(ms) == 1 {
					names[l.MasterIndex] = ms[0].Name
				}
			}
			r.master = nameOr(names, l.MasterIndex)
		}
		if w.speed {
			r.speed = sysSpeed(src, l.Name)
		}
		recs[i] = r
	}
	return recs, nil
}

func (l liveNet) addresses(ctx context.Context, f rtnl.AddrFilter, wantNames bool) ([]addressRecord, error) {
	src := l.src
	addrs, names, err := routeDump(ctx, src, wantNames, "addresses", func(c RouteReader) ([]rtnl.Address, error) {
		return c.Addresses(ctx, f)
	})
	if f.Index != 0 && errors.Is(err, unix.ENODEV) {
		return nil, nil // a strict kernel refuses a dump filtered by an index no link has
	}
	if err != nil {
		return nil, err
	}
	recs := make([]addressRecord, len(addrs))
	for i, a := range addrs {
		recs[i] = addressRecord{a: a, iface: nameOr(names, a.Index)}
	}
	if f.Family != unix.AF_INET {
		inet6Order(src, recs)
	}
	return recs, nil
}

func (l liveNet) routes(ctx context.Context, rq *routeQuery, w routeWants) ([]routeRecord, error) {
	src := l.src
	routes, names, err := routeDump(ctx, src, w.names || w.counts, "routes", func(c RouteReader) ([]rtnl.Route, error) {
		routes, err := c.Routes(ctx, rtnl.RouteFilter{Family: rq.family, Table: rq.table})
		if err != nil || !rtnl.NeedsNexthops(routes) {
			return routes, err
		}
		// nexthop_compat_mode=0: routes name their nexthop objects only.
		nhs, err := c.Nexthops(ctx)
		if err != nil {
			return nil, err
		}
		return rtnl.ExpandNexthops(routes, nhs), nil
	})
	if err != nil {
		return nil, err
	}
	recs := make([]routeRecord, len(routes))
	for i, r := range routes {
		recs[i] = routeRecord{
			family: r.Family, dst: r.Dst, gateway: r.Gateway, src: r.Src,
			iface: nameOr(names, r.OIF), metric: int64(r.Priority),
			rtf: rtfOf(&r), netlink: true, r: r,
			tableID: int64(r.Table), table: rq.tableName(r.Table), typ: r.TypeName(),
			advmss: int64(r.Metrics.AdvMSS),
		}
	}
	if w.counts {
		if err := joinRouteCounts(src, recs); err != nil {
			return nil, err
		}
	}
	return recs, nil
}

func (l liveNet) neighbors(ctx context.Context, f rtnl.NeighFilter, wantNames bool) ([]neighborRecord, error) {
	list, names, err := routeDump(ctx, l.src, wantNames, "neighbors", func(c RouteReader) ([]rtnl.Neighbor, error) {
		return c.Neighbors(ctx, f)
	})
	if err != nil {
		return nil, err
	}
	recs := make([]neighborRecord, len(list))
	for i, n := range list {
		recs[i] = neighborRecord{n: n, iface: nameOr(names, n.Index), state: strings.Join(n.StateNames(), ",")}
	}
	return recs, nil
}

func (l liveNet) rules(ctx context.Context, f rtnl.RuleFilter) ([]rtnl.Rule, error) {
	c, err := dialRoute(l.src, "rules")
	if err != nil {
		return nil, err
	}
	defer c.Close()
	list, err := c.Rules(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	return list, nil
}

// rules: a /proc tree holds none; the table is empty and a notice says why.
func (t treeNet) rules(context.Context, rtnl.RuleFilter) ([]rtnl.Rule, error) {
	t.src.Notice(Notice{NoticeIncomplete, fmt.Sprintf("netsql: rules: a /proc tree holds no policy routing rules (only rtnetlink lists them); rules is empty with --proc %s", t.src.ProcRoot)})
	return nil, nil
}

// flows dumps the tracker through ctnetlink in the namespace read.
func (l liveNet) flows(ctx context.Context, f conntrack.Filter, reset func(), add func(*conntrack.Flow) error) error {
	err := conntrack.Dump(ctx, l.src.netnsPath, f, reset, add)
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		return fmt.Errorf("%w (ctnetlink and /proc/net/nf_conntrack need root: CAP_NET_ADMIN)", err)
	}
	return err
}

// flows parses the tree's net/nf_conntrack.
func (t treeNet) flows(_ context.Context, f conntrack.Filter, _ func(), add func(*conntrack.Flow) error) error {
	fh, err := os.Open(filepath.Join(t.src.NetRoot, "net", "nf_conntrack"))
	if err != nil {
		return missingProc(t.src, "conntrack", err)
	}
	defer fh.Close()
	return conntrack.ParseProc(fh, f, add)
}

// stats asks ctnetlink for the per-CPU counters, falling back to
// net/stat/nf_conntrack (world-readable) without CAP_NET_ADMIN, and
// reads count and max inside the namespace.
func (l liveNet) stats(ctx context.Context) (conntrack.Stats, bool, error) {
	src := l.src
	s, err := conntrack.CPUStats(ctx, src.netnsPath)
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		src.Notice(Notice{NoticeFallback, "netsql: conntrack_stats: ctnetlink needs CAP_NET_ADMIN; reading net/stat/nf_conntrack instead"})
		return procConntrackStats(src, src.netnsPath)
	}
	if err != nil {
		return s, false, err
	}
	return withLimits(src, s, src.netnsPath)
}

// stats reads the tree's net/stat/nf_conntrack and sys/net/netfilter.
func (t treeNet) stats(context.Context) (conntrack.Stats, bool, error) {
	return procConntrackStats(t.src, "")
}

// procConntrackStats reads net/stat/nf_conntrack, then count and max.
func procConntrackStats(src *Source, nsPath string) (conntrack.Stats, bool, error) {
	fh, err := os.Open(filepath.Join(src.NetRoot, "net", "stat", "nf_conntrack"))
	if err != nil {
		return conntrack.Stats{}, false, missingProc(src, "conntrack_stats", err)
	}
	defer fh.Close()
	s, err := conntrack.ParseProcStats(fh)
	if err != nil {
		return s, false, err
	}
	return withLimits(src, s, nsPath)
}

// withLimits adds the table's count and max, read in the namespace at
// nsPath ("" for the tree's or netsql's own).
func withLimits(src *Source, s conntrack.Stats, nsPath string) (conntrack.Stats, bool, error) {
	lim, err := conntrack.ReadLimits(src.ProcRoot, nsPath)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return s, false, err
	}
	s.Count, s.Max = lim.Count, lim.Max
	return s, true, nil
}

// liveNamespaces lists the live kernel's namespaces: named ones under
// runDir and those processes under procRoot hold.
type liveNamespaces struct{ procRoot, runDir string }

func (n liveNamespaces) list() ([]netns.Namespace, error) { return netns.List(n.procRoot, n.runDir) }
func (n liveNamespaces) resolve(sel string) (netns.Namespace, error) {
	return netns.Resolve(n.procRoot, n.runDir, sel)
}
func (liveNamespaces) single() bool { return false }

// treeNamespaces is a /proc tree's one namespace.
type treeNamespaces struct{}

func (treeNamespaces) list() ([]netns.Namespace, error) { return nil, errSingleNamespace }
func (treeNamespaces) resolve(string) (netns.Namespace, error) {
	return netns.Namespace{}, errSingleNamespace
}
func (treeNamespaces) single() bool { return true }

// errSingleNamespace is the error of a namespace lookup in a /proc tree.
var errSingleNamespace = errors.New("a /proc tree holds one namespace")

// procNet reads the files under one /proc net directory: the live
// kernel's (as seen from the namespace read) or a /proc tree's. root is
// the directory holding net/.
type procNet struct{ root string }

// procNet returns the reader of the net/ files of the namespace s reads.
func (s *Source) procNet() procNet { return procNet{root: s.NetRoot} }

func (p procNet) dev() ([]procstat.DevCounter, error)   { return procstat.DevCounters(p.root) }
func (p procNet) arp() ([]procstat.ARPEntry, error)     { return procstat.ARP(p.root) }
func (p procNet) routes4() ([]procstat.Route4, error)   { return procstat.Routes4(p.root) }
func (p procNet) routes6() ([]procstat.Route6, error)   { return procstat.Routes6(p.root) }
func (p procNet) addresses4() ([]procstat.Addr4, error) { return procstat.Addresses4(p.root) }
func (p procNet) addresses6() ([]procstat.Addr6, error) { return procstat.Addresses6(p.root) }
func (p procNet) groups() ([]procstat.Group, error)     { return procstat.MulticastGroups(p.root) }
func (p procNet) counters() ([]procstat.Counter, error) { return procstat.ProtocolCounters(p.root) }
func (p procNet) sockstat() (procstat.Sockstat, error)  { return procstat.SocketSummary(p.root) }

// etcFiles reads the /etc files tables name things with: the host's
// /etc, or a support bundle's beside a --proc tree.
type etcFiles struct{ root string }

// etc returns the reader of the source's /etc files.
func (s *Source) etc() etcFiles { return etcFiles{root: s.etcRoot()} }

// services reads the services database.
func (e etcFiles) services() ([]procstat.Service, error) {
	return procstat.Services(filepath.Join(e.root, "services"))
}

// dialRoute opens the source's rtnetlink reader for the namespace it
// reads.
func dialRoute(src *Source, table string) (RouteReader, error) {
	c, err := src.route()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", table, err)
	}
	return c, nil
}

// routeDump runs one rtnetlink dump in src's namespace and, when wantNames,
// maps interface indexes to
// names with one link dump on the same socket (names is nil otherwise).
func routeDump[T any](ctx context.Context, src *Source, wantNames bool, table string, dump func(RouteReader) ([]T, error)) (list []T, names map[int]string, err error) {
	c, err := dialRoute(src, table)
	if err != nil {
		return nil, nil, err
	}
	defer c.Close()
	if list, err = dump(c); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", table, err)
	}
	if wantNames {
		if names, err = linkNames(ctx, c); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", table, err)
		}
	}
	return list, names, nil
}

// linkNames maps interface indexes to names with one link dump.
func linkNames(ctx context.Context, c RouteReader) (map[int]string, error) {
	links, err := c.Links(ctx, rtnl.LinkFilter{})
	if err != nil {
		return nil, err
	}
	m := make(map[int]string, len(links))
	for _, l := range links {
		m[l.Index] = l.Name
	}
	return m, nil
}

// sysfs returns the sysfs tree of the namespace src reads: SysRoot, or
// for another namespace one mounted inside it; "" when there is none (a
// notice says why), so its values are NULL rather than another
// namespace's.
func (src *Source) sysfs() string {
	if src.sysRoot == nil {
		return src.SysRoot
	}
	root, err := src.sysRoot()
	if err != nil {
		src.Notice(Notice{NoticeIncomplete, fmt.Sprintf("netsql: cannot read sysfs inside namespace %s (%v); values read from it (interfaces.speed_mbps) are NULL there", src.nsName, err)})
		return ""
	}
	return root
}

// readSys reads one sysfs attribute of an interface, trimmed; ok is false
// when the file is absent or unreadable (speed of a virtual device fails
// with EINVAL).
func readSys(src *Source, iface, attr string) (string, bool) {
	root := src.sysfs()
	if root == "" || iface == "" || strings.ContainsAny(iface, "/\x00") || iface == "." || iface == ".." {
		return "", false
	}
	b, err := fileread.ReadFile(filepath.Join(root, "class", "net", iface, attr), fileread.MaxProcFile)
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(string(b)), true
}

// sysSpeed reads /sys/class/net/IF/speed: NULL when absent, unreadable
// (EINVAL for virtual devices) or -1 (unknown).
func sysSpeed(src *Source, iface string) any {
	s, ok := readSys(src, iface, "speed")
	if !ok {
		return nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 || v == 0xffffffff {
		return nil
	}
	return v
}

// links reads net/dev and, where it exists, the sysfs tree
// beside the /proc tree.
func (t treeNet) links(_ context.Context, f rtnl.LinkFilter, w linkWants) ([]interfaceRecord, error) {
	src := t.src
	devs, err := src.procNet().dev()
	if err != nil {
		return nil, missingProc(src, "interfaces", err)
	}
	var recs []interfaceRecord
	for _, d := range devs {
		if f.Name != "" && d.Interface != f.Name {
			continue
		}
		r := interfaceRecord{
			name: d.Interface,
			counters: ifaceCounters{
				rxPackets: d.RxPackets, rxBytes: d.RxBytes, rxErrors: d.RxErrors, rxDropped: d.RxDropped,
				rxOver: d.RxFIFO, rxFrame: d.RxFrame, rxMulticast: d.RxMulticast,
				txPackets: d.TxPackets, txBytes: d.TxBytes, txErrors: d.TxErrors, txDropped: d.TxDropped,
				txOver: d.TxFIFO, txCarrier: d.TxCarrier, txColls: d.TxCollisions,
			},
		}
		sysInterface(src, &r)
		if f.Index != 0 && r.index != int64(f.Index) && r.index != nil {
			continue
		}
		if w.speed {
			r.speed = sysSpeed(src, d.Interface)
		}
		recs = append(recs, r)
	}
	return recs, nil
}

// hasUpper reports whether sysfs shows iface under another device: a
// bridge port (brport/), a master link, or an upper_* link (macvlan,
// vlan, bond...).
func hasUpper(src *Source, iface string) bool {
	root := src.sysfs()
	if root == "" {
		return false
	}
	ents, err := os.ReadDir(filepath.Join(root, "class", "net", iface))
	if err != nil {
		return false
	}
	for _, e := range ents {
		if n := e.Name(); n == "brport" || n == "master" || strings.HasPrefix(n, "upper_") {
			return true
		}
	}
	return false
}

// sysInterface fills what sysfs knows about r.name: index, MTU, queue length, flags,
// MAC, type, operstate and master.
func sysInterface(src *Source, r *interfaceRecord) {
	num := func(attr string, base int) (int64, bool) {
		s, ok := readSys(src, r.name, attr)
		if !ok {
			return 0, false
		}
		v, err := strconv.ParseInt(strings.TrimPrefix(s, "0x"), base, 64)
		return v, err == nil
	}
	if v, ok := num("ifindex", 10); ok {
		r.index = v
	}
	if v, ok := num("mtu", 10); ok {
		r.mtu = v
	}
	if v, ok := num("tx_queue_len", 10); ok {
		r.txqlen = v
	}
	oper, haveOper := readSys(src, r.name, "operstate")
	if haveOper {
		r.operstate = strings.ToUpper(oper)
	}
	if v, ok := num("flags", 16); ok {
		// sysfs shows dev->flags; SIOCGIFFLAGS shows dev_get_flags(): the
		// same, with IFF_RUNNING for an up device whose operstate is up
		// or unknown, and PROMISC and ALLMULTI only as a user asked for
		// them (dev->gflags, which sysfs does not show).
		r.flags, r.haveFlags = uint32(v)&^unix.IFF_RUNNING, true
		if r.flags&unix.IFF_UP != 0 && (oper == "up" || oper == "unknown" || !haveOper) {
			r.flags |= unix.IFF_RUNNING
		}
		const kernelSet = unix.IFF_PROMISC | unix.IFF_ALLMULTI
		if r.flags&kernelSet != 0 && hasUpper(src, r.name) {
			// A bridge, bond, team or macvlan sets them on its lower
			// devices itself; sysfs cannot tell those from a user's.
			r.flags &^= kernelSet
			src.Notice(Notice{NoticeIncomplete, "netsql: interfaces: with --proc, PROMISC and ALLMULTI of a device under a bridge, bond or macvlan are left out of flags: " +
				"sysfs shows them whether the upper device or a user set them, and netstat shows only a user's"})
		}
	}
	if v, ok := num("type", 10); ok && v >= 0 && v <= 0xffff {
		r.typ = rtnl.ARPHRDName(uint16(v))
	}
	if s, ok := readSys(src, r.name, "address"); ok && s != "" {
		r.mac = s
	}
	if root := src.sysfs(); root != "" {
		if t, err := os.Readlink(filepath.Join(root, "class", "net", r.name, "master")); err == nil {
			r.master = filepath.Base(t)
		}
	}
}

// inet6Order puts the IPv6 rows (in their places among the IPv4 ones) in
// net/if_inet6's order, the kernel's address hash order, which ifconfig
// and netstat -ie print; the rtnetlink dump orders them per device by
// scope instead. Without the file the dump's order stays.
func inet6Order(src *Source, recs []addressRecord) {
	list, err := src.procNet().addresses6()
	if err != nil {
		return
	}
	pos := make(map[string]int, len(list))
	for i, a := range list {
		pos[rowKey(a.Index, a.Address)] = i
	}
	var at []int
	var six []addressRecord
	for i, r := range recs {
		if r.a.Family == unix.AF_INET6 {
			at = append(at, i)
			six = append(six, r)
		}
	}
	rank := func(r addressRecord) int {
		if p, ok := pos[rowKey(r.a.Index, r.a.Address)]; ok {
			return p
		}
		return len(list)
	}
	sort.SliceStable(six, func(i, j int) bool { return rank(six[i]) < rank(six[j]) })
	for k, i := range at {
		recs[i] = six[k]
	}
}

// addresses reads net/if_inet6 and rebuilds IPv4 addresses from
// net/fib_trie and net/route. net/if_inet6's rows carry an index; the
// rebuilt IPv4 ones only where the sysfs tree beside the /proc tree has
// one, so f.Index is left to SQLite to apply.
func (t treeNet) addresses(_ context.Context, f rtnl.AddrFilter, _ bool) ([]addressRecord, error) {
	src, fam := t.src, f.Family
	var recs []addressRecord
	if fam != unix.AF_INET6 {
		v4, err := src.procNet().addresses4()
		switch {
		case errors.Is(err, fs.ErrNotExist) && fam == unix.AF_INET:
			return nil, fmt.Errorf("addresses: IPv4 addresses are not in a /proc tree without net/fib_trie (only rtnetlink lists them); --proc %s has IPv6 addresses only, from net/if_inet6", src.ProcRoot)
		case errors.Is(err, fs.ErrNotExist):
			src.Notice(Notice{NoticeIncomplete, "netsql: addresses: a /proc tree without net/fib_trie holds no IPv4 addresses; showing IPv6 ones from net/if_inet6"})
		case err != nil:
			return nil, fmt.Errorf("addresses: %w", err)
		}
		var unplaced, noBcast []string
		for _, a := range v4 {
			idx := 0
			if s, ok := readSys(src, a.Interface, "ifindex"); ok {
				idx, _ = strconv.Atoi(s)
			}
			rec := addressRecord{
				a: rtnl.Address{
					Index: idx, Family: unix.AF_INET, Address: a.Address, PrefixLen: a.PrefixLen,
					Local: a.Address, Broadcast: a.Broadcast, Scope: inet4Scope(a.Address),
					Flags: unix.IFA_F_PERMANENT, ValidLft: rtnl.Forever, PreferredLft: rtnl.Forever,
				},
				iface: nullIfEmpty(a.Interface), proc: true,
				unplaced: a.Interface == "",
			}
			switch {
			case rec.unplaced:
				unplaced = append(unplaced, a.Address.String())
			case a.BroadcastUnknown:
				noBcast = append(noBcast, a.Address.String())
			}
			recs = append(recs, rec)
		}
		if msg := procAddrNotice(unplaced, noBcast); msg != "" {
			src.Notice(Notice{NoticeIncomplete, msg})
		}
		if fam == unix.AF_INET {
			return recs, nil
		}
	}
	list, err := src.procNet().addresses6()
	if err != nil {
		return recs, missingProc(src, "addresses", err)
	}
	for _, a := range list {
		scope, ok := inet6Scopes[a.Scope]
		if !ok {
			scope = unix.RT_SCOPE_NOWHERE
		}
		recs = append(recs, addressRecord{
			a: rtnl.Address{
				Index: a.Index, Family: unix.AF_INET6, Address: a.Address, PrefixLen: a.PrefixLen,
				Local: a.Address, Scope: scope, Flags: uint32(a.Flags),
				ValidLft: rtnl.Forever, PreferredLft: rtnl.Forever,
			},
			iface: a.Interface, proc: true,
		})
	}
	return recs, nil
}

// procAddrNotice says, in one line, what a /proc tree could not tell
// about its IPv4 addresses; "" when it told everything.
func procAddrNotice(unplaced, noBcast []string) string {
	var parts []string
	if len(unplaced) > 0 {
		parts = append(parts, fmt.Sprintf("no route places %s on an interface (point-to-point, down interface, /32 without a prefix route): interface and prefix_len are NULL", strings.Join(unplaced, ", ")))
	}
	if len(noBcast) > 0 {
		parts = append(parts, fmt.Sprintf("whether %s have their network's broadcast address cannot be told (the kernel routes it either way): broadcast is NULL", strings.Join(noBcast, ", ")))
	}
	if len(parts) == 0 {
		return ""
	}
	return "netsql: addresses: a /proc tree lists no IPv4 addresses, they are rebuilt from net/fib_trie and net/route: " + strings.Join(parts, "; ")
}

// inet4Scope is the scope the kernel gives an IPv4 address: host for
// 127.0.0.0/8, global otherwise (what `ip addr add` picks by default).
func inet4Scope(a netip.Addr) uint8 {
	if a.IsLoopback() {
		return unix.RT_SCOPE_HOST
	}
	return unix.RT_SCOPE_UNIVERSE
}

// routes reads net/route (the IPv4 main table) and net/ipv6_route.
func (t treeNet) routes(_ context.Context, rq *routeQuery, _ routeWants) ([]routeRecord, error) {
	src := t.src
	var recs []routeRecord
	if rq.family != unix.AF_INET6 && (rq.table == 0 || rq.table == unix.RT_TABLE_MAIN) {
		v4, err := src.procNet().routes4()
		if err != nil {
			if err := missingProc(src, "routes", err); err != nil {
				return nil, err
			}
		}
		for _, r := range v4 {
			p, ok := r.Prefix()
			if !ok {
				p = netip.PrefixFrom(r.Destination, 32) // a non-contiguous mask: no prefix length fits
			}
			rec := routeRecord{
				family: unix.AF_INET, dst: p, metric: r.Metric, rtf: r.Flags,
				tableID: int64(unix.RT_TABLE_MAIN), table: rq.tableName(unix.RT_TABLE_MAIN),
				refcnt: r.RefCnt, use: r.Use,
				r: rtnl.Route{Metrics: rtnl.RouteMetrics{Window: uint32(r.Window), RTT: uint32(r.IRTT) << 3}},
			}
			if r.Flags&rtfGateway != 0 {
				rec.gateway = r.Gateway
			}
			if r.Iface != "*" {
				rec.iface = r.Iface
			}
			rec.advmss = int64(0)
			if r.MTU > 40 {
				rec.advmss = r.MTU - 40 // the kernel prints advmss+40 in the MTU column
			}
			if r.Flags&rtfReject == 0 && rec.iface != nil {
				rec.typ = "unicast"
			}
			recs = append(recs, rec)
		}
	}
	if rq.family != unix.AF_INET && rq.table == 0 {
		v6, err := src.procNet().routes6()
		if err != nil {
			if err := missingProc(src, "routes", err); err != nil {
				return nil, err
			}
		}
		for _, r := range v6 {
			rec := routeRecord{
				family: unix.AF_INET6, dst: r.Destination, metric: int64(r.Metric), rtf: r.Flags,
				refcnt: int64(r.RefCnt), use: int64(r.Use), noMetric: true,
			}
			if r.Flags&rtfGateway != 0 {
				rec.gateway = r.NextHop
			}
			if r.Iface != "" {
				rec.iface = r.Iface
			}
			rec.typ = procRouteType6(r)
			recs = append(recs, rec)
		}
	}
	return recs, nil
}

// procRouteType6 infers a route type from ipv6_route's flags; nil where
// they cannot tell (every reject type prints the same RTF_REJECT).
func procRouteType6(r procstat.Route6) any {
	switch {
	case r.Flags&rtfReject != 0:
		return nil
	case r.Flags&rtfLocal != 0:
		return "local"
	case r.Flags&rtfAnycast != 0:
		return "anycast"
	case r.Destination.Addr().IsMulticast():
		return "multicast"
	}
	return "unicast"
}

// routeCountKey identifies a route in net/route and net/ipv6_route, which
// carry refcnt and use (rtnetlink does not): family, destination, the
// gateway as the file prints it (0.0.0.0 or :: for none, and for an IPv4
// route's IPv6 gateway), the interface ("" for none) and the metric.
func routeCountKey(family int, dst netip.Prefix, gw netip.Addr, iface string, metric int64) string {
	if family == unix.AF_INET && !gw.Is4() {
		gw = netip.IPv4Unspecified()
	}
	if family == unix.AF_INET6 && !gw.IsValid() {
		gw = netip.IPv6Unspecified()
	}
	return rowKey(family, dst.Masked(), gw, iface, metric)
}

// routeCounts are the refcnt and use of one /proc route line.
type routeCounts struct{ refcnt, use int64 }

// joinRouteCounts fills refcnt and use of routes read through rtnetlink
// from net/route (the IPv4 main table) and net/ipv6_route, matching lines
// by routeCountKey; each line answers one route, in order, so the next
// hops of a multipath route and equal routes of two tables each take
// their own line. A route no line lists keeps NULL; a missing file leaves
// its family's values NULL.
func joinRouteCounts(src *Source, recs []routeRecord) error {
	lines := map[string][]routeCounts{}
	v4, err := src.procNet().routes4()
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("routes: refcnt: %w", err)
	}
	for _, r := range v4 {
		p, ok := r.Prefix()
		if !ok {
			continue // a non-contiguous mask: no rtnetlink route has it
		}
		iface := r.Iface
		if iface == "*" {
			iface = ""
		}
		k := routeCountKey(unix.AF_INET, p, r.Gateway, iface, r.Metric)
		lines[k] = append(lines[k], routeCounts{r.RefCnt, r.Use})
	}
	v6, err := src.procNet().routes6()
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("routes: refcnt: %w", err)
	}
	for _, r := range v6 {
		k := routeCountKey(unix.AF_INET6, r.Destination, r.NextHop, r.Iface, int64(r.Metric))
		lines[k] = append(lines[k], routeCounts{int64(r.RefCnt), int64(r.Use)})
	}
	for i := range recs {
		r := &recs[i]
		if r.family == unix.AF_INET && r.tableID != int64(unix.RT_TABLE_MAIN) {
			continue // net/route holds the main table only
		}
		iface, _ := r.iface.(string)
		k := routeCountKey(r.family, r.dst, r.gateway, iface, r.metric)
		if c := lines[k]; len(c) > 0 {
			r.refcnt, r.use = c[0].refcnt, c[0].use
			lines[k] = c[1:]
		}
	}
	return nil
}

// neighbors reads net/arp: IPv4 entries only, without an index.
func (t treeNet) neighbors(_ context.Context, f rtnl.NeighFilter, _ bool) ([]neighborRecord, error) {
	src := t.src
	if f.Index != 0 {
		return nil, nil // net/arp has no index: every row's ifindex is NULL
	}
	if f.Family == unix.AF_INET6 {
		return nil, fmt.Errorf("neighbors: IPv6 neighbours (NDP) are not in a /proc tree (only rtnetlink lists them); --proc %s has IPv4 ones only, from net/arp", src.ProcRoot)
	}
	list, err := src.procNet().arp()
	if err != nil {
		return nil, missingProc(src, "neighbors", err)
	}
	var recs []neighborRecord
	for _, e := range list {
		if e.Flags&procstat.ATFPublish != 0 {
			continue // a proxy entry, as ip neigh leaves them out
		}
		r := neighborRecord{
			n:     rtnl.Neighbor{Family: unix.AF_INET, Address: e.Address},
			iface: e.Interface,
		}
		if e.Flags&procstat.ATFComplete != 0 {
			r.n.MAC = e.MAC
		}
		if e.Flags&procstat.ATFPermanent != 0 {
			r.state = "PERMANENT"
		}
		recs = append(recs, r)
	}
	return recs, nil
}

// missingProc reports a /proc file the tree lacks: a notice once, and no
// rows rather than an error, as procnet does for a bundle without tcp6. A
// missing net/ directory is still an error (NewSource checks it).
func missingProc(src *Source, table string, err error) error {
	if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: %w", table, err)
	}
	var pe *fs.PathError
	path := ""
	if errors.As(err, &pe) {
		path = pe.Path
	}
	src.Notice(Notice{NoticeMissing, fmt.Sprintf("netsql: %s: %s is missing; the table is empty", table, path)})
	return nil
}

// routeTableNames returns routing table names by id from the directory's
// iproute2/rt_tables (plus the distribution defaults under /usr when
// it is /etc), with iproute2's built-in names.
func (e etcFiles) routeTableNames() (map[uint32]string, error) {
	root := e.root
	var m map[uint32]string
	var err error
	if filepath.Clean(root) == "/etc" {
		m, err = procstat.RouteTables()
	} else {
		m, err = procstat.RouteTables(filepath.Join(root, "iproute2", "rt_tables"))
	}
	if err != nil {
		return nil, fmt.Errorf("routes: table names: %w", err)
	}
	return m, nil
}

// protocolNames maps IP protocol numbers to names from the
// directory's protocols file, the first name for a number winning as in
// getprotobynumber(3). A missing file leaves the numbers unnamed.
func (e etcFiles) protocolNames() map[uint8]string {
	m := map[uint8]string{}
	forFields(filepath.Join(e.root, "protocols"), func(f []string) {
		n, err := strconv.ParseUint(f[1], 10, 8)
		if err != nil {
			return
		}
		if _, seen := m[uint8(n)]; !seen {
			m[uint8(n)] = f[0]
		}
	})
	return m
}

// maxPasswdBytes caps how much of a bundle's passwd is read.
const maxPasswdBytes = 16 << 20

// passwd reads the directory's passwd file into uid -> name. A missing,
// unreadable or non-regular file (a FIFO must not block) gives an empty
// map: names stay numeric, as the C library leaves them.
func (e etcFiles) passwd() map[uint32]string {
	f, err := os.OpenFile(filepath.Join(e.root, "passwd"), os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return map[uint32]string{}
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return map[uint32]string{}
	}
	return parsePasswd(io.LimitReader(f, maxPasswdBytes))
}

// parsePasswd parses passwd(5) lines, name:password:uid:gid:gecos:dir:shell.
// The first line for a uid wins, as getpwuid returns it; NIS compat
// entries (+ and -), comments and lines that do not parse are skipped.
func parsePasswd(r io.Reader) map[uint32]string {
	out := map[uint32]string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		f := strings.SplitN(sc.Text(), ":", 4)
		if len(f) < 4 || f[0] == "" || strings.ContainsAny(f[0][:1], "+-#") {
			continue
		}
		uid, err := strconv.ParseUint(f[2], 10, 32)
		if err != nil {
			continue
		}
		if _, dup := out[uint32(uid)]; !dup {
			out[uint32(uid)] = f[0]
		}
	}
	return out
}

// procNetSockets reads the /proc/net socket files of the namespace the
// source reads, line by line: unix_socket_lines, and the sockets columns
// only those files carry (probes, refcnt, flags).
func (s *Source) procNetSockets() *procnet.Reader { return procnet.New(s.NetRoot) }

// socketsFromNetlink reports whether the sockets reader asks the kernel
// through sock_diag, so that columns only /proc/net carries are joined in
// from procNetSockets and sockets may be handed over as the dump arrives.
// A /proc tree's sockets come from those files already, read whole: a
// bad line in its last file is an error with its message (SQLite drops
// the message of an error met after Filter).
func (s *Source) socketsFromNetlink() bool { return s.Live }

// socketCloser returns what destroys sockets (SOCK_DESTROY) in the
// namespace at nsPath ("" for netsql's own), or errNotLive for a /proc
// tree, which describes sockets it cannot close.
func (s *Source) socketCloser(nsPath string) (*sockdiag.Reader, error) {
	if !s.Live {
		return nil, errNotLive
	}
	if nsPath != "" {
		return sockdiag.NewInNetNS(nsPath), nil
	}
	return sockdiag.New(), nil
}
