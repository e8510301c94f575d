package vtab

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/netsql/netsql/vtab/sock"
)

// procNetColumns are sockets columns only the /proc/net files carry.
// Rows always come from the source's reader (netlink on a live kernel), so
// a statement sees the same rows and values whatever it selects; when it
// uses one of these columns, that protocol's /proc/net file is read too
// and the column's values joined in by socket identity, NULL for a socket
// the file does not show (one that came or went between the two reads).
var procNetColumns = []struct {
	column string
	proto  sock.Proto
}{
	{"probes", sock.TCP},
	{"refcnt", sock.UNIX},
	{"flags", sock.UNIX},
}

// readSocketList reads the sockets req asks for from src and, on a live
// kernel, joins in the /proc/net-only columns q uses.
func readSocketList(ctx context.Context, src *Source, q *Query, req sock.Request) ([]sock.Socket, error) {
	socks, err := src.sockets().Sockets(ctx, req)
	if err != nil || !src.socketsFromNetlink() {
		return socks, err // a /proc tree's sockets come from /proc/net
	}
	var join []sock.Proto
	for _, c := range procNetColumns {
		if q.Uses(c.column) && wantsProto(req, c.proto) && !slices.Contains(join, c.proto) {
			join = append(join, c.proto)
		}
	}
	if len(join) == 0 {
		return socks, nil
	}
	r := req
	r.Protocols = join
	r.Extras = 0
	// Every state: /proc/net/unix names some states differently from
	// sock_diag (an orphan is DISCONNECTING there), and the join is by
	// identity, not state.
	r.States = 0
	proc, err := src.procNetSockets().Sockets(ctx, r)
	if err != nil {
		return nil, err
	}
	joinProcNet(socks, proc)
	return socks, nil
}

// wantsProto reports whether req covers sockets of protocol p in any
// family the table holds.
func wantsProto(req sock.Request, p sock.Proto) bool {
	for _, c := range allFamProtos {
		if c.proto == p && req.Wants(c.family, p) {
			return true
		}
	}
	return false
}

// joinProcNet copies RefCount, UnixFlags and Probes from the /proc/net
// sockets proc into the sockets of socks that are the same socket (same
// family, protocol, addresses and inode), and marks them ProcNet. A socket
// read from /proc/net already (the reader fell back) keeps its values.
func joinProcNet(socks, proc []sock.Socket) {
	byKey := make(map[string]*sock.Socket, len(proc))
	for i := range proc {
		byKey[procNetKey(&proc[i])] = &proc[i]
	}
	for i := range socks {
		s := &socks[i]
		if s.ProcNet {
			continue
		}
		if p, ok := byKey[procNetKey(s)]; ok {
			s.RefCount, s.UnixFlags, s.Probes, s.ProcNet = p.RefCount, p.UnixFlags, p.Probes, true
		}
	}
}

// procNetKey identifies a socket in both netlink and /proc/net reads: the
// inode for unix sockets (netlink lists only those a file holds), the
// address pair and inode for the rest (TIME_WAIT and SYN_RECV have inode
// 0 in both).
func procNetKey(s *sock.Socket) string {
	if s.Protocol == sock.UNIX {
		return rowKey(s.Family, uint8(s.Protocol), s.Inode)
	}
	return rowKey(s.Family, uint8(s.Protocol), s.Local, s.Remote, s.Inode)
}

// Flag bits of /proc/net/unix's Flags column that netstat names.
const (
	soAcceptCon = 1 << 16 // a listener: ACC
	soWaitData  = 1 << 17 // W (no current kernel sets it)
	soNoSpace   = 1 << 18 // N (no current kernel sets it)
)

// unixFlagWords returns netstat's words for unix socket flags, space
// separated ("ACC"), "" for none.
func unixFlagWords(flags uint32) string {
	var words []string
	for _, f := range []struct {
		bit  uint32
		word string
	}{{soAcceptCon, "ACC"}, {soWaitData, "W"}, {soNoSpace, "N"}} {
		if flags&f.bit != 0 {
			words = append(words, f.word)
		}
	}
	return strings.Join(words, " ")
}

// unixLineRecord is one row of unix_socket_lines.
type unixLineRecord struct {
	sock.Socket
}

// UnixSocketLines is the unix_socket_lines table: /proc/net/unix line by line,
// what netstat -x reads. sockets lists unix sockets as sock_diag (and ss)
// does; this table also has the connections queued on a listener and not
// yet accepted, which no file holds (inode 0) and which netstat -x prints.
var UnixSocketLines = &Table[unixLineRecord]{
	Name:     "unix_socket_lines",
	PerNetNS: true,
	Doc:      "Unix sockets exactly as /proc/net/unix lists them (what netstat -x reads), in the kernel's order: connections not yet accepted included (inode 0), which sockets (like ss) leaves out.",
	Example:  "SELECT path, count(*) AS pending FROM unix_socket_lines WHERE inode = 0 AND state = 'CONNECTING' GROUP BY 1;",
	Columns: []Column[unixLineRecord]{
		{Name: "refcnt", Type: Integer, Doc: "the kernel's reference count (netstat -x RefCnt)",
			Value: func(r *unixLineRecord) any { return int64(r.RefCount) }},
		{Name: "flags", Type: Text, Doc: "netstat -x's flag words: ACC for a listener, '' for none",
			Value: func(r *unixLineRecord) any { return unixFlagWords(r.UnixFlags) }},
		{Name: "type", Type: Text, Doc: "socket type: STREAM, DGRAM, SEQPACKET, RAW",
			Value: func(r *unixLineRecord) any { return typeName(&r.Socket) }},
		{Name: "state", Type: Text, Doc: "LISTENING, CONNECTED, CONNECTING (also a connection not yet accepted), DISCONNECTING, UNCONN",
			Value: func(r *unixLineRecord) any { return stateName(&r.Socket) }},
		{Name: "inode", Type: Integer, Doc: "socket inode (join to sockets.inode); 0 for a connection not yet accepted",
			Value: func(r *unixLineRecord) any { return int64(r.Inode) }},
		{Name: "path", Type: Text, Doc: "bound path; abstract names start with @ (their NULs shown as @); NULL when unbound",
			Value: func(r *unixLineRecord) any { return nullIfEmpty(r.Path) }},
		{Name: "netns", Type: Integer, Doc: "inode of the network namespace the socket lives in"},
	},
	Rows: readUnixSocketLines,
}

func readUnixSocketLines(ctx context.Context, src *Source, _ *Query) ([]unixLineRecord, error) {
	socks, err := src.procNetSockets().Sockets(ctx, sock.Request{Protocols: []sock.Proto{sock.UNIX}})
	if err != nil {
		return nil, fmt.Errorf("unix_socket_lines: %w", err)
	}
	recs := make([]unixLineRecord, len(socks))
	for i := range socks {
		recs[i] = unixLineRecord{Socket: socks[i]}
	}
	return recs, nil
}
