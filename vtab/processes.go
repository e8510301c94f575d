package vtab

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strconv"

	sqlvtab "modernc.org/sqlite/vtab"

	"github.com/netsql/netsql/vtab/cgroup"
	"github.com/netsql/netsql/vtab/fileread"
	"github.com/netsql/netsql/vtab/procs"
)

// processRecord is one row of the processes table.
type processRecord struct {
	procs.Process
	user string
	cg   cgroup.Attribution // read only when a cgroup column is used
}

// Processes is the processes table, for joins with sockets on pid.
var Processes = &Table[processRecord]{
	Name:    "processes",
	Doc:     "Every process visible in /proc, with the names netstat and ps use, for joins on pid.",
	Example: "SELECT p.pid, p.user, p.cmdline FROM processes p JOIN sockets s ON s.pid = p.pid WHERE s.state = 'LISTEN' AND s.local_port = 22;",
	Columns: []Column[processRecord]{
		{Name: "pid", Type: Integer, Push: pushEQ, Doc: "process id",
			Value: func(r *processRecord) any { return int64(r.PID) }},
		{Name: "ppid", Type: Integer, Doc: "parent process id",
			Value: func(r *processRecord) any { return int64(r.PPID) }},
		{Name: "name", Type: Text, Doc: "the kernel's comm: at most 15 bytes",
			Value: func(r *processRecord) any { return r.Name }},
		{Name: "program", Type: Text, Doc: programDoc,
			Value: func(r *processRecord) any { return r.Program }},
		{Name: "cmdline", Type: Text, Doc: "the argument vector joined by spaces; empty for kernel threads",
			Value: func(r *processRecord) any { return r.Cmdline }},
		{Name: "uid", Type: Integer, Doc: "real user id",
			Value: func(r *processRecord) any { return int64(r.UID) }},
		{Name: "user", Type: Text, Cost: CostUserName, Doc: "login name for uid, or the number when it has none",
			Value: func(r *processRecord) any { return r.user }},
		{Name: "netns", Type: Integer, Doc: "inode of the process's network namespace; NULL when it cannot be read",
			Value: func(r *processRecord) any { return nullIfZero(r.NetNS) }},
		{Name: "cgroup", Type: Text, Cost: CostCgroup, Doc: cgroupDoc,
			Value: func(r *processRecord) any { return nullIfEmpty(r.cg.Path) }},
		{Name: "unit", Type: Text, Cost: CostCgroup, Doc: unitDoc,
			Value: func(r *processRecord) any { return nullIfEmpty(r.cg.Unit) }},
		{Name: "container_id", Type: Text, Cost: CostCgroup, Doc: containerIDDoc,
			Value: func(r *processRecord) any { return nullIfEmpty(r.cg.ContainerID) }},
		{Name: "pod_uid", Type: Text, Cost: CostCgroup, Doc: "the Kubernetes pod's uid, from a kubepods-*-pod<uid>.slice (underscores read as dashes) or /kubepods/QOS/pod<uid> cgroup; NULL outside a pod",
			Value: func(r *processRecord) any { return nullIfEmpty(r.cg.PodUID) }},
	},
	Rows: readProcesses,
	Key:  func(r *processRecord) string { return strconv.Itoa(r.PID) },
}

func readProcesses(ctx context.Context, src *Source, q *Query) ([]processRecord, error) {
	var list []procs.Process
	if pids := intValues(q.Values("pid", sqlvtab.OpEQ)); pids != nil {
		for _, pid := range pids {
			// Bounded by ctx: a cmdline read waits for the process's
			// mmap lock.
			p, err := fileread.ReadContext(ctx, func() (procs.Process, error) { return procs.ReadProcess(src.ProcRoot, pid) })
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("processes: %w", err)
			}
			list = append(list, p)
		}
	} else {
		var err error
		if list, err = procs.ListProcesses(ctx, src.ProcRoot); err != nil {
			return nil, fmt.Errorf("processes: %w", err)
		}
	}
	recs := make([]processRecord, len(list))
	withCgroup := q.Needs(CostCgroup)
	for i, p := range list {
		recs[i].Process = p
		if q.Needs(CostUserName) {
			recs[i].user = src.UserName(p.UID)
		}
		if withCgroup {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("processes: %w", err)
			}
			recs[i].cg = readAttribution(src, p.PID)
		}
	}
	return recs, nil
}

// The docs of the columns every table derives from a cgroup path.
const (
	cgroupDoc      = "the process's cgroup path: the v2 one; where v1 hierarchies are mounted, the first that names a container, else a unit, else any but / (v2 first, then name=systemd, then the v1 controllers); NULL when unreadable"
	unitDoc        = "the systemd unit of that cgroup, as ps -o unit names it: the first name after the slices (nginx.service, session-3.scope, user@1000.service, docker-ID.scope); NULL when none"
	containerIDDoc = "the 64-hex container id in that cgroup, by the layouts of Docker, containerd (Kubernetes, nerdctl), CRI-O and Podman, systemd or cgroupfs driver; NULL for other layouts and for conmon"
)

// readAttribution reads pid's cgroup; a process that exited, or a tree
// without cgroup files, gives the zero Attribution (NULL columns).
func readAttribution(src *Source, pid int) cgroup.Attribution {
	a, err := cgroup.Read(src.ProcRoot, pid)
	if err != nil {
		return cgroup.Attribution{}
	}
	return a
}

// intValues reads the pushed `column = N` constraints of one read. They
// are ANDed (SQLite runs an IN list as one read per value), so the
// answer is at most one number: nil when there are none (the caller reads
// everything), empty and non-nil when they match no integer (a fraction,
// two different numbers), else that number once.
func intValues(vs []any) []int {
	if len(vs) == 0 {
		return nil
	}
	out := []int{}
	for _, v := range vs {
		var n int
		switch x := v.(type) {
		case int64:
			n = int(x)
		case float64:
			if x != float64(int(x)) {
				return []int{}
			}
			n = int(x)
		default:
			return nil // not a number the adapter vouched for: read everything
		}
		if len(out) > 0 && out[0] != n {
			return []int{}
		}
		out = []int{n}
	}
	return out
}

// ownerRecord is one row of socket_owners.
type ownerRecord struct {
	procs.Owner
	program any // string, or nil when not asked for or the process exited
}

// SocketOwners lists every (process, fd) holding each socket.
var SocketOwners = &Table[ownerRecord]{
	Name:    "socket_owners",
	Doc:     "Every process and file descriptor holding each socket: a socket shared across fork has several rows.",
	Example: "SELECT s.local_port, o.pid, o.fd, o.program FROM sockets s JOIN socket_owners o ON o.inode = s.inode WHERE s.state = 'LISTEN';",
	Columns: []Column[ownerRecord]{
		{Name: "inode", Type: Integer, Doc: "socket inode (join to sockets.inode)",
			Value: func(r *ownerRecord) any { return int64(r.Inode) }},
		{Name: "pid", Type: Integer, Push: pushEQ, Doc: "process holding the socket",
			Value: func(r *ownerRecord) any { return int64(r.PID) }},
		{Name: "fd", Type: Integer, Doc: "its file descriptor number",
			Value: func(r *ownerRecord) any { return int64(r.FD) }},
		{Name: "program", Type: Text, Cost: CostProgram, Doc: programDoc,
			Value: func(r *ownerRecord) any { return r.program }},
	},
	Rows: readOwners,
	Key:  func(r *ownerRecord) string { return rowKey(r.Inode, r.PID, r.FD) },
}

func readOwners(ctx context.Context, src *Source, q *Query) ([]ownerRecord, error) {
	opts := procs.ScanOptions{}
	if pids := intValues(q.Values("pid", sqlvtab.OpEQ)); pids != nil {
		opts.PIDs = pids
	}
	res, err := src.scanFDs(ctx, nil, opts)
	if err != nil {
		return nil, fmt.Errorf("socket_owners: %w", err)
	}
	if res.Denied > 0 {
		src.Notice(deniedNotice(res.Denied))
	}
	recs := make([]ownerRecord, len(res.Owners))
	names := newProgramNames(src)
	for i, o := range res.Owners {
		recs[i].Owner = o
		if q.Needs(CostProgram) {
			if recs[i].program, err = names.get(ctx, o.PID); err != nil {
				return nil, fmt.Errorf("socket_owners: %w", err)
			}
		}
	}
	return recs, nil
}
