package vtab

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/netsql/netsql/vtab/cgroup"
	"github.com/netsql/netsql/vtab/netns"
)

// The columns through which a PerNetNS table selects namespaces.
const (
	netnsColumn     = "netns"
	netnsNameColumn = "netns_name"
)

// produce reads table m in namespace t: netsql's own with the engine's
// source, another one with a source reading inside it.
func (m *module) produce(ctx context.Context, q *Query, t nsTarget) (rowSet, error) {
	src := m.eng.src
	if t.own {
		return m.def.produce(ctx, src, q)
	}
	anchor, err := netns.Enter(t.ns.Path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", m.schema.Name, err)
	}
	defer anchor.Close()
	return m.def.produce(ctx, src.inNamespace(t.ns, anchor), q)
}

// nsTarget is one namespace a statement reads.
type nsTarget struct {
	ns       netns.Namespace
	own      bool // netsql's own namespace: read with the engine's source
	optional bool // chosen by '*': a failure skips it with a notice
}

func (t nsTarget) name() any {
	if n := t.ns.Name(); n != "" {
		return n
	}
	return nil
}

// selectNamespaces resolves the netns and netns_name constraints sel (the
// values already brought to the columns' affinity). Without any the
// statement reads netsql's own namespace only. Each namespace is selected
// at most once, however many selectors name it.
func selectNamespaces(src *Source, q *Query, sel []Constraint) ([]nsTarget, error) {
	var inodes, names []any
	for _, c := range sel {
		if c.Column == netnsColumn {
			inodes = append(inodes, c.Value)
		} else {
			names = append(names, c.Value)
		}
	}
	own := src.NetNS()
	nsr := src.readers().ns
	if len(inodes) == 0 && len(names) == 0 {
		t := nsTarget{ns: netns.Namespace{Inode: own}, own: true}
		if q.Uses(netnsNameColumn) && !nsr.single() {
			if all, err := nsr.list(); err == nil {
				for _, n := range all {
					if n.Inode == own {
						t.ns = n
					}
				}
			}
		}
		return []nsTarget{t}, nil
	}
	if nsr.single() {
		for _, v := range inodes {
			if n, ok := v.(int64); !ok || uint64(n) != own {
				return nil, nil // a /proc tree holds one namespace
			}
		}
		for _, v := range names {
			if v != "*" {
				return nil, errors.New("netns_name needs the live kernel: a /proc tree holds one namespace")
			}
		}
		return []nsTarget{{ns: netns.Namespace{Inode: own}, own: true}}, nil
	}
	all, err := nsr.list()
	if err != nil {
		return nil, err
	}
	var chosen []nsTarget
	for _, v := range names {
		sel, ok := v.(string)
		if !ok {
			return nil, nil // netns_name is text: a number names nothing
		}
		if sel == "*" {
			var every []nsTarget
			for _, n := range all {
				every = append(every, nsTarget{ns: n, own: n.Inode == own, optional: true})
			}
			chosen = intersectTargets(chosen, every, len(chosen) == 0)
			continue
		}
		n, err := nsr.resolve(sel)
		if err != nil {
			return nil, fmt.Errorf("netns_name %q: %w", sel, err)
		}
		chosen = intersectTargets(chosen, []nsTarget{{ns: n, own: n.Inode == own}}, len(chosen) == 0)
	}
	for _, v := range inodes {
		ino, ok := v.(int64)
		var match []nsTarget
		for _, n := range all {
			if ok && uint64(ino) == n.Inode {
				match = append(match, nsTarget{ns: n, own: n.Inode == own})
			}
		}
		chosen = intersectTargets(chosen, match, len(chosen) == 0 && len(names) == 0)
	}
	return chosen, nil
}

// intersectTargets keeps the targets in both lists (or takes b when first).
func intersectTargets(a, b []nsTarget, first bool) []nsTarget {
	if first {
		return b
	}
	var out []nsTarget
	for _, x := range a {
		for _, y := range b {
			if x.ns.Inode == y.ns.Inode {
				x.optional = x.optional && y.optional
				out = append(out, x)
			}
		}
	}
	return out
}

// nsRows joins the parts of one snapshot (one per namespace) and answers
// netns and netns_name.
type nsRows struct {
	parts   []*part
	starts  []int
	total   int
	nameCol int // -1 for a table without namespaces
	inoCol  int // netns; -1 for a table without namespaces
}

func (r *nsRows) add(p *part) {
	r.parts = append(r.parts, p)
	r.starts = append(r.starts, r.total)
	r.total += p.rows.Len()
}

// part returns the part holding row and the row's number in it.
func (r *nsRows) part(row int) (*part, int) {
	i := sort.Search(len(r.starts), func(i int) bool { return r.starts[i] > row }) - 1
	return r.parts[i], row - r.starts[i]
}

func (r *nsRows) Len() int { return r.total }

func (r *nsRows) Value(row, col int) any {
	p, local := r.part(row)
	switch col {
	case r.nameCol:
		return p.name
	case r.inoCol:
		return nullIfZero(p.inode)
	}
	return p.rows.Value(local, col)
}

// namespaceRecord is one row of the namespaces table.
type namespaceRecord struct {
	netns.Namespace
	current bool
	cg      cgroup.Attribution // of its lowest pid, when a cgroup column is used
}

// Namespaces lists the network namespaces reachable from this host.
var Namespaces = &Table[namespaceRecord]{
	Name:    "namespaces",
	Doc:     "Every network namespace named under /run/netns or held by a process, with the container its processes belong to.",
	Example: "SELECT n.name, n.container_id, count(*) FROM namespaces n JOIN sockets s ON s.netns_name = '*' AND s.netns = n.netns WHERE s.state = 'ESTABLISHED' GROUP BY 1, 2;",
	Columns: []Column[namespaceRecord]{
		{Name: "netns", Type: Integer, Doc: "the namespace's inode (what sockets.netns and processes.netns hold)",
			Value: func(r *namespaceRecord) any { return int64(r.Inode) }},
		{Name: "name", Type: Text, Doc: "its first name under /run/netns, else pid:N for its lowest pid: what netns_name accepts",
			Value: func(r *namespaceRecord) any { return r.Name() }},
		{Name: "names", Type: Text, Doc: "every /run/netns name, comma-separated; NULL when unnamed",
			Value: func(r *namespaceRecord) any {
				if len(r.Names) == 0 {
					return nil
				}
				return strings.Join(r.Names, ",")
			}},
		{Name: "pid", Type: Integer, Doc: "the lowest pid in it; NULL when no visible process is",
			Value: func(r *namespaceRecord) any {
				if len(r.PIDs) == 0 {
					return nil
				}
				return int64(r.PIDs[0])
			}},
		{Name: "processes", Type: Integer, Doc: "how many visible processes are in it",
			Value: func(r *namespaceRecord) any { return int64(len(r.PIDs)) }},
		{Name: "current", Type: Integer, Doc: "1 for the namespace netsql runs in",
			Value: func(r *namespaceRecord) any { return boolInt(r.current) }},
		{Name: "cgroup", Type: Text, Cost: CostCgroup, Doc: "the cgroup of its lowest pid, as processes.cgroup shows it",
			Value: func(r *namespaceRecord) any { return nullIfEmpty(r.cg.Path) }},
		{Name: "container_id", Type: Text, Cost: CostCgroup, Doc: "the container of its lowest pid, as processes.container_id shows it (Docker, containerd, CRI-O, Podman); NULL when none",
			Value: func(r *namespaceRecord) any { return nullIfEmpty(r.cg.ContainerID) }},
	},
	Key:  func(r *namespaceRecord) string { return strconv.FormatUint(r.Inode, 10) },
	Rows: readNamespaces,
}

func readNamespaces(_ context.Context, src *Source, q *Query) ([]namespaceRecord, error) {
	own := src.NetNS()
	nsr := src.readers().ns
	if nsr.single() {
		return []namespaceRecord{{Namespace: netns.Namespace{Inode: own}, current: true}}, nil
	}
	all, err := nsr.list()
	if err != nil {
		return nil, fmt.Errorf("namespaces: %w", err)
	}
	recs := make([]namespaceRecord, len(all))
	for i, n := range all {
		recs[i] = namespaceRecord{Namespace: n, current: n.Inode == own}
		if len(n.PIDs) > 0 && q.Needs(CostCgroup) {
			recs[i].cg = readAttribution(src, n.PIDs[0])
		}
	}
	return recs, nil
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
