package vtab

import (
	"context"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/netsql/netsql/vtab/conntrack"
)

// conntrackRecord is one row of the conntrack table.
type conntrackRecord struct {
	fl    conntrack.Flow
	netns uint64
}

// conntrackProtos names the l4 protocols as /proc/net/nf_conntrack and
// conntrack(8) do; any other is its number.
var conntrackProtos = map[uint8]string{
	unix.IPPROTO_TCP: "tcp", unix.IPPROTO_UDP: "udp", unix.IPPROTO_ICMP: "icmp",
	unix.IPPROTO_ICMPV6: "icmpv6", unix.IPPROTO_UDPLITE: "udplite", unix.IPPROTO_SCTP: "sctp",
	unix.IPPROTO_DCCP: "dccp", unix.IPPROTO_GRE: "gre",
}

func conntrackProto(p uint8) string {
	if n, ok := conntrackProtos[p]; ok {
		return n
	}
	return strconv.Itoa(int(p))
}

// Conntrack is the conntrack table: netfilter's tracked flows.
var Conntrack = &Table[conntrackRecord]{
	Name:     "conntrack",
	PerNetNS: true,
	Doc: "Flows netfilter's connection tracking holds (conntrack -L), read through ctnetlink; family, mark and zone are filtered by the kernel. " +
		"With --proc, from net/nf_conntrack, which has no id and shows only the SEEN_REPLY, ASSURED and OFFLOAD status bits.",
	Example: "SELECT protocol, state, count(*) FROM conntrack GROUP BY 1, 2 ORDER BY 3 DESC;",
	Columns: []Column[conntrackRecord]{
		{Name: "family", Type: Text, Push: pushEQ, Values: []string{"inet", "inet6"}, Doc: "address family: inet, inet6",
			Value: func(r *conntrackRecord) any { return afName(int(r.fl.Family)) }},
		{Name: "protocol", Type: Text, Doc: "transport protocol: tcp, udp, icmp, icmpv6, udplite, sctp, dccp, gre, or its number",
			Value: func(r *conntrackRecord) any { return conntrackProto(r.fl.Proto) }},
		{Name: "state", Type: Text, Values: conntrack.TCPStates(), Doc: "TCP conntrack state: SYN_SENT, SYN_RECV, ESTABLISHED, FIN_WAIT, CLOSE_WAIT, LAST_ACK, TIME_WAIT, CLOSE, SYN_SENT2, NONE; NULL for other protocols",
			Value: func(r *conntrackRecord) any { return nullIfEmpty(conntrack.TCPStateName(r.fl.TCPState)) }},
		{Name: "timeout", Type: Integer, Doc: "seconds until the entry expires unless traffic refreshes it",
			Value: func(r *conntrackRecord) any { return intOrNull(r.fl.Timeout, r.fl.Timeout >= 0) }},
		{Name: "src", Type: Text, Doc: "original direction: source address (the initiator)",
			Value: func(r *conntrackRecord) any { return addrOrNull(r.fl.Orig.Src) }},
		{Name: "dst", Type: Text, Doc: "original direction: destination address",
			Value: func(r *conntrackRecord) any { return addrOrNull(r.fl.Orig.Dst) }},
		{Name: "sport", Type: Integer, Doc: "original direction: source port; NULL for protocols without ports",
			Value: func(r *conntrackRecord) any { return portOrNull(&r.fl.Orig, r.fl.Orig.SrcPort) }},
		{Name: "dport", Type: Integer, Doc: "original direction: destination port; NULL for protocols without ports",
			Value: func(r *conntrackRecord) any { return portOrNull(&r.fl.Orig, r.fl.Orig.DstPort) }},
		{Name: "reply_src", Type: Text, Doc: "reply direction: source address (the original destination unless DNATed)",
			Value: func(r *conntrackRecord) any { return addrOrNull(r.fl.Reply.Src) }},
		{Name: "reply_dst", Type: Text, Doc: "reply direction: destination address (the original source unless SNATed or masqueraded)",
			Value: func(r *conntrackRecord) any { return addrOrNull(r.fl.Reply.Dst) }},
		{Name: "reply_sport", Type: Integer, Doc: "reply direction: source port",
			Value: func(r *conntrackRecord) any { return portOrNull(&r.fl.Reply, r.fl.Reply.SrcPort) }},
		{Name: "reply_dport", Type: Integer, Doc: "reply direction: destination port",
			Value: func(r *conntrackRecord) any { return portOrNull(&r.fl.Reply, r.fl.Reply.DstPort) }},
		{Name: "snat", Type: Integer, Doc: "1 when the source was translated (SNAT, masquerade): the reply is not addressed to the original source and port",
			Value: func(r *conntrackRecord) any { return boolInt(r.fl.SNAT()) }},
		{Name: "dnat", Type: Integer, Doc: "1 when the destination was translated (DNAT, redirect): the reply does not come from the original destination and port",
			Value: func(r *conntrackRecord) any { return boolInt(r.fl.DNAT()) }},
		{Name: "mark", Type: Integer, Push: pushEQ, Doc: "connection mark (ct mark, CONNMARK)",
			Value: func(r *conntrackRecord) any { return int64(r.fl.Mark) }},
		{Name: "zone", Type: Integer, Push: pushEQ, Doc: "conntrack zone; 0 is the default zone",
			Value: func(r *conntrackRecord) any { return int64(r.fl.Zone) }},
		{Name: "status", Type: Text, Doc: "IPS_* status flags joined by commas: EXPECTED, SEEN_REPLY, ASSURED, CONFIRMED, SRC_NAT, DST_NAT, SRC_NAT_DONE, DST_NAT_DONE, DYING, OFFLOAD, ...; NULL when none is set; with --proc only SEEN_REPLY, ASSURED and OFFLOAD",
			Value: func(r *conntrackRecord) any { return nullIfEmpty(conntrack.StatusText(r.fl.Status)) }},
		{Name: "packets", Type: Integer, Doc: "packets in the original direction; NULL when accounting (net.netfilter.nf_conntrack_acct) is off",
			Value: func(r *conntrackRecord) any { return flowCounter(r.fl.OrigCount, r.fl.OrigCount.Packets) }},
		{Name: "bytes", Type: Integer, Doc: "bytes in the original direction; NULL when accounting is off",
			Value: func(r *conntrackRecord) any { return flowCounter(r.fl.OrigCount, r.fl.OrigCount.Bytes) }},
		{Name: "reply_packets", Type: Integer, Doc: "packets in the reply direction; NULL when accounting is off",
			Value: func(r *conntrackRecord) any { return flowCounter(r.fl.ReplyCount, r.fl.ReplyCount.Packets) }},
		{Name: "reply_bytes", Type: Integer, Doc: "bytes in the reply direction; NULL when accounting is off",
			Value: func(r *conntrackRecord) any { return flowCounter(r.fl.ReplyCount, r.fl.ReplyCount.Bytes) }},
		{Name: "id", Type: Integer, Doc: "the entry's conntrack id (conntrack -o id); NULL with --proc",
			Value: func(r *conntrackRecord) any { return intOrNull(int64(r.fl.ID), r.fl.HasID) }},
		{Name: "netns", Type: Integer, Doc: "inode of the network namespace the flow is tracked in",
			Value: func(r *conntrackRecord) any { return nullIfZero(r.netns) }},
	},
	Rows: readConntrack,
	Key: func(r *conntrackRecord) string {
		o := &r.fl.Orig
		return rowKey(r.fl.Family, r.fl.Proto, o.Src, o.Dst, o.SrcPort, o.DstPort, o.ICMPType, o.ICMPCode, o.ICMPID, r.fl.Zone)
	},
}

func intOrNull(v int64, ok bool) any {
	if !ok {
		return nil
	}
	return v
}

func portOrNull(t *conntrack.Tuple, p uint16) any {
	if !t.HasPorts {
		return nil
	}
	return int64(p)
}

func flowCounter(c conntrack.Counters, v uint64) any {
	if !c.Valid {
		return nil
	}
	return int64(v)
}

// conntrackFilter turns the pushed-down family, mark and zone constraints
// into a kernel filter; ok is false when they match no flow.
func conntrackFilter(q *Query) (f conntrack.Filter, ok bool) {
	fam, ok := familyFilter(q)
	if !ok {
		return f, false
	}
	f.Family = uint8(fam)
	if v, set, ok := intFilter(q, "mark"); !ok || set && (v < 0 || v > 0xffffffff) {
		return f, false
	} else if set {
		f.Mark, f.HasMark = uint32(v), true
	}
	if v, set, ok := intFilter(q, "zone"); !ok || set && (v < 0 || v > 0xffff) {
		return f, false
	} else if set {
		f.Zone, f.HasZone = uint16(v), true
	}
	return f, true
}

func readConntrack(ctx context.Context, src *Source, q *Query) ([]conntrackRecord, error) {
	f, ok := conntrackFilter(q)
	if !ok {
		return nil, nil
	}
	netns := src.NetNS()
	var recs []conntrackRecord
	err := src.readers().ct.flows(ctx, f, func() { recs = recs[:0] }, func(fl *conntrack.Flow) error {
		recs = append(recs, conntrackRecord{fl: *fl, netns: netns})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return recs, nil
}

// ConntrackStats is the conntrack_stats table: the tracker's counters and
// its fill.
var ConntrackStats = &Table[conntrack.Stats]{
	Name:     "conntrack_stats",
	PerNetNS: true,
	Doc: "Connection tracking counters summed over every CPU (conntrack -S), read through ctnetlink, with the table's size and limit (net.netfilter.nf_conntrack_count and nf_conntrack_max). " +
		"With --proc, the counters from net/stat/nf_conntrack and the size and limit from sys/net/netfilter.",
	Example: "SELECT count, max, round(100.0 * count / max, 1) AS fill_pct, dropped, early_drop, insert_failed FROM conntrack_stats;",
	Columns: conntrackStatsColumns(),
	Rows:    readConntrackStats,
}

// conntrackStatsColumns declares one column per counter of
// conntrack.StatFields, then count, max and netns.
func conntrackStatsColumns() []Column[conntrack.Stats] {
	docs := map[string]string{
		"found":          "lookups that found an existing entry",
		"invalid":        "packets conntrack could not track (malformed, out of window, ...)",
		"inserted":       "entries inserted (conntrack -S insert)",
		"insert_failed":  "entries that could not be inserted (a clash with an existing one)",
		"dropped":        "(conntrack -S drop) packets dropped because no entry could be made (the table is full and nothing could be evicted)",
		"early_drop":     "entries evicted to make room when the table was full",
		"error":          "ICMP errors that referred to no known flow",
		"search_restart": "lookups restarted because the hash table was resized",
		"clash_resolve":  "insertion clashes resolved",
		"chaintoolong":   "entries refused because their hash chain was too long",
	}
	var cols []Column[conntrack.Stats]
	for _, sf := range conntrack.StatFields {
		field := sf.Field
		cols = append(cols, Column[conntrack.Stats]{Name: sf.Name, Type: Integer, Doc: docs[sf.Name],
			Value: func(s *conntrack.Stats) any { return int64(*field(s)) }})
	}
	return append(cols,
		Column[conntrack.Stats]{Name: "count", Type: Integer, Doc: "entries in the table now (nf_conntrack_count); NULL when conntrack is not loaded",
			Value: func(s *conntrack.Stats) any { return intOrNull(s.Count, s.Count >= 0) }},
		Column[conntrack.Stats]{Name: "max", Type: Integer, Doc: "the table's limit (nf_conntrack_max): past it new flows are dropped (\"nf_conntrack: table full, dropping packet\")",
			Value: func(s *conntrack.Stats) any { return intOrNull(s.Max, s.Max >= 0) }},
		Column[conntrack.Stats]{Name: "cpus", Type: Integer, Doc: "per-CPU counter sets summed",
			Value: func(s *conntrack.Stats) any { return int64(s.CPUs) }},
		Column[conntrack.Stats]{Name: "netns", Type: Integer, Doc: "inode of the network namespace the counters belong to",
			Value: func(s *conntrack.Stats) any { return nullIfZero(s.NetNS) }},
	)
}

func readConntrackStats(ctx context.Context, src *Source, q *Query) ([]conntrack.Stats, error) {
	s, ok, err := src.readers().ct.stats(ctx)
	if err != nil || !ok {
		return nil, err
	}
	s.NetNS = src.NetNS()
	return []conntrack.Stats{s}, nil
}
