package vtab

import (
	"context"

	"github.com/netsql/netsql/vtab/procstat"
)

// counterRecord is one row of protocol_stats.
type counterRecord struct {
	procstat.Counter
}

// ProtocolStats is the protocol_stats table: the counters netstat -s
// prints, one row each.
var ProtocolStats = &Table[counterRecord]{
	Name:     "protocol_stats",
	PerNetNS: true,
	Doc:      "Every protocol counter behind netstat -s, one row each, from net/snmp, net/netstat and net/snmp6 in the kernel's order.",
	Example:  "SELECT protocol, name, value FROM protocol_stats WHERE name LIKE '%Retrans%' AND value > 0;",
	Columns: []Column[counterRecord]{
		{Name: "protocol", Type: Text, Doc: "section as the kernel names it: Ip, Icmp, IcmpMsg, Tcp, Udp, UdpLite, TcpExt, IpExt, MPTcpExt, Ip6, Icmp6, Udp6, UdpLite6",
			Value: func(r *counterRecord) any { return r.Protocol }},
		{Name: "name", Type: Text, Doc: "counter name as the kernel spells it: InReceives, ActiveOpens, RetransSegs, InType3...",
			Value: func(r *counterRecord) any { return r.Name }},
		{Name: "value", Type: Integer, Doc: "the counter (Tcp MaxConn is -1 when the limit is dynamic)",
			Value: func(r *counterRecord) any { return r.Value }},
		{Name: "netns", Type: Integer, Doc: "inode of the network namespace counted"},
	},
	Rows: readProtocolStats,
}

func readProtocolStats(ctx context.Context, src *Source, q *Query) ([]counterRecord, error) {
	list, err := src.procNet().counters()
	if err != nil {
		return nil, missingProc(src, "protocol_stats", err)
	}
	recs := make([]counterRecord, len(list))
	for i, c := range list {
		recs[i] = counterRecord{Counter: c}
	}
	return recs, nil
}
