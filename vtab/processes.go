package vtab

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strconv"

	sqlvtab "modernc.org/sqlite/vtab"

	"github.com/netsql/netsql/vtab/procs"
)

// processRecord is one row of the processes table.
type processRecord struct {
	procs.Process
	user string
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
		{Name: "program", Type: Text, Doc: "argv[0] as netstat -p prints it (its directory dropped when the path is absolute), else comm when the command line is empty (what sockets.program shows)",
			Value: func(r *processRecord) any { return programOf(&r.Process) }},
		{Name: "cmdline", Type: Text, Doc: "the argument vector joined by spaces; empty for kernel threads",
			Value: func(r *processRecord) any { return r.Cmdline }},
		{Name: "uid", Type: Integer, Doc: "real user id",
			Value: func(r *processRecord) any { return int64(r.UID) }},
		{Name: "user", Type: Text, Doc: "login name for uid, or the number when it has none",
			Value: func(r *processRecord) any { return r.user }},
		{Name: "netns", Type: Integer, Doc: "inode of the process's network namespace; NULL when it cannot be read",
			Value: func(r *processRecord) any { return nullIfZero(r.NetNS) }},
	},
	Rows: readProcesses,
	Key:  func(r *processRecord) string { return strconv.Itoa(r.PID) },
}

func programOf(p *procs.Process) string {
	if p.Program != "" {
		return p.Program
	}
	return p.Name
}

func readProcesses(ctx context.Context, src *Source, q *Query) ([]processRecord, error) {
	var list []procs.Process
	if pids := intValues(q.Values("pid", sqlvtab.OpEQ)); pids != nil {
		for _, pid := range pids {
			p, err := procs.ReadProcess(src.ProcRoot, pid)
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
	for i, p := range list {
		recs[i].Process = p
		if q.Uses("user") {
			recs[i].user = src.UserName(p.UID)
		}
	}
	return recs, nil
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
	program string
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
		{Name: "program", Type: Text, Doc: "the process's name as netstat -p prints it",
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
	src.root().ownerScans.Add(1)
	res, err := procs.ScanSocketOwners(ctx, src.ProcRoot, nil, opts)
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
		if q.Uses("program") {
			recs[i].program = names.get(o.PID)
		}
	}
	return recs, nil
}
