package vtab

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
	sqlvtab "modernc.org/sqlite/vtab"

	"github.com/netsql/netsql/vtab/fileread"
	"github.com/netsql/netsql/vtab/procstat"
	"github.com/netsql/netsql/vtab/rtnl"
)

// Helpers shared by the tables read through rtnetlink and /proc/net:
// pushed-down filters, interface names, rt_tables, missing /proc files.

// familyFilter turns pushed-down `family = ...` constraints into an
// address family for a kernel request: 0 for both. ok is false when
// they match no IPv4 or IPv6 row.
func familyFilter(q *Query) (family int, ok bool) {
	for _, v := range q.Values("family", sqlvtab.OpEQ) {
		var f int
		switch v {
		case "inet":
			f = unix.AF_INET
		case "inet6":
			f = unix.AF_INET6
		default:
			return 0, false
		}
		if family != 0 && family != f {
			return 0, false
		}
		family = f
	}
	return family, true
}

// intFilter turns pushed-down `column = N` constraints into one integer:
// set is false when there are none, ok is false when they match no row.
func intFilter(q *Query, column string) (v int, set, ok bool) {
	ints := intValues(q.Values(column, sqlvtab.OpEQ))
	switch {
	case ints == nil:
		return 0, false, true
	case len(ints) == 0:
		return 0, false, false // a fraction, or two numbers, equal no integer
	}
	return ints[0], true, true
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

// routeDump runs one rtnetlink dump in src's namespace and, when a used
// column needs interface names (CostLinkNames), maps interface indexes to
// names with one link dump on the same socket (names is nil otherwise).
func routeDump[T any](ctx context.Context, src *Source, q *Query, table string, dump func(RouteReader) ([]T, error)) (list []T, names map[int]string, err error) {
	c, err := dialRoute(src, table)
	if err != nil {
		return nil, nil, err
	}
	defer c.Close()
	if list, err = dump(c); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", table, err)
	}
	if q.Needs(CostLinkNames) {
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

// nameOr returns the interface name for index, NULL for index 0, and the
// number as text for an index the link dump did not list (an interface
// that vanished between the two dumps).
func nameOr(names map[int]string, index int) any {
	if index == 0 {
		return nil
	}
	if n, ok := names[index]; ok {
		return n
	}
	return strconv.Itoa(index)
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

// routeTableNames returns routing table names by id from EtcRoot's
// iproute2/rt_tables (plus the distribution defaults under /usr when
// EtcRoot is /etc), with iproute2's built-in names.
func routeTableNames(src *Source) (map[uint32]string, error) {
	root := src.etcRoot()
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

// macText prints a hardware address as ip(8) does; NULL when there is none.
func macText(m net.HardwareAddr) any {
	if len(m) == 0 {
		return nil
	}
	return m.String()
}

// addrOrNull prints a valid address, NULL otherwise.
func addrOrNull(a netip.Addr) any {
	if !a.IsValid() {
		return nil
	}
	return a.String()
}

// netmask4 is the dotted mask of an IPv4 prefix length; NULL for IPv6.
func netmask4(family, bits int) any {
	if family != unix.AF_INET || bits < 0 || bits > 32 {
		return nil
	}
	return net.IP(net.CIDRMask(bits, 32)).String()
}

// afName names an rtnetlink family as the sockets table does.
func afName(f int) string { return familyName(uint8(f)) }

// inetFamilies is the closed set of the family column of the tables that
// hold IPv4 and IPv6 rows only.
var inetFamilies = closedSet([]int{unix.AF_INET, unix.AF_INET6}, afName)
