package vtab

import (
	"context"

	"github.com/netsql/netsql/vtab/procstat"
)

// sockstatRecord is one row of socket_summary.
type sockstatRecord struct {
	procstat.SockstatEntry
}

// SocketSummary is the socket_summary table: what ss -s prints.
var SocketSummary = &Table[sockstatRecord]{
	Name:     "socket_summary",
	PerNetNS: true,
	Doc:      "The socket counts ss -s summarises, one row per number, from net/sockstat and net/sockstat6.",
	Example:  "SELECT family, protocol, name, value FROM socket_summary WHERE protocol = 'TCP';",
	Columns: []Column[sockstatRecord]{
		{Name: "family", Type: Text, Values: inetFamilies, Doc: "inet (net/sockstat) or inet6 (net/sockstat6); NULL for the total of sockets of every family",
			Value: func(r *sockstatRecord) any { return nullIfEmpty(r.Family) }},
		{Name: "protocol", Type: Text, Doc: "as the kernel labels it, without sockstat6's 6: sockets, TCP, UDP, UDPLITE, RAW, FRAG",
			Value: func(r *sockstatRecord) any { return r.Protocol }},
		{Name: "name", Type: Text, Doc: "what is counted: used (all sockets), inuse, orphan, tw (TIME_WAIT), alloc, mem (pages), memory (bytes)",
			Value: func(r *sockstatRecord) any { return r.Name }},
		{Name: "value", Type: Integer, Doc: "the number",
			Value: func(r *sockstatRecord) any { return r.Value }},
		{Name: "netns", Type: Integer, Doc: "inode of the network namespace counted"},
	},
	Rows: readSocketSummary,
}

func readSocketSummary(ctx context.Context, src *Source, q *Query) ([]sockstatRecord, error) {
	list, err := src.procNet().sockstat()
	if err != nil {
		return nil, missingProc(src, "socket_summary", err)
	}
	recs := make([]sockstatRecord, len(list))
	for i, e := range list {
		recs[i] = sockstatRecord{SockstatEntry: e}
	}
	return recs, nil
}
