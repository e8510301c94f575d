package netstat

import (
	"database/sql/driver"
	"strconv"
	"strings"

	"github.com/netsql/netsql/vtab"
)

// statKind is how netstat -s prints a counter it knows.
type statKind string

// The kinds of netstat -s counters (net-tools 2.10 statistics.c).
const (
	statNumber  statKind = "number"   // always printed: "    %llu sentence"
	statOpt     statKind = "opt"      // printed when not zero
	statForward statKind = "forward"  // "Forwarding is enabled/disabled"
	statInICMP  statKind = "in_icmp"  // under "ICMP input histogram:", when > 0
	statOutICMP statKind = "out_icmp" // under "ICMP output histogram:", when > 0
	statSilent  statKind = "silent"   // known but never printed (static settings, MaxConn...)
)

// statEntry is one row of net-tools' tables: counter name, sentence (with
// %llu or %s for the value) and kind.
type statEntry struct {
	name, text string
	kind       statKind
}

// statSection is one of netstat's tables: the kernel section it prints,
// the -s option selecting it (raw, tcp, udp, sctp), and its entries in
// net-tools' order. netstat finds an entry with bsearch, and its tables
// are not all sorted, so some entries are never found and their counters
// print as "Name: value" like unknown ones; reachable marks the others.
type statSection struct {
	title, flag string
	entries     []statEntry
	reachable   map[string]statEntry
}

var ipStats = []statEntry{
	{"DefaultTTL", "Default TTL is %llu", statSilent},
	{"Forwarding", "Forwarding is %s", statForward},
	{"ForwDatagrams", "%llu forwarded", statNumber},
	{"FragCreates", "%llu fragments created", statOpt},
	{"FragFails", "%llu outgoing packets failed fragmentation", statOpt},
	{"FragOKs", "%llu outgoing packets fragmented ok", statOpt},
	{"InAddrErrors", "%llu with invalid addresses", statOpt},
	{"InDelivers", "%llu incoming packets delivered", statNumber},
	{"InDiscards", "%llu incoming packets discarded", statNumber},
	{"InHdrErrors", "%llu with invalid headers", statOpt},
	{"InReceives", "%llu total packets received", statNumber},
	{"InUnknownProtos", "%llu with unknown protocol", statOpt},
	{"OutDiscards", "%llu outgoing packets dropped", statOpt},
	{"OutNoRoutes", "%llu dropped because of missing route", statOpt},
	{"OutRequests", "%llu requests sent out", statNumber},
	{"ReasmFails", "%llu packet reassemblies failed", statOpt},
	{"ReasmOKs", "%llu packets reassembled ok", statOpt},
	{"ReasmReqds", "%llu reassemblies required", statOpt},
	{"ReasmTimeout", "%llu fragments dropped after timeout", statOpt},
}

var ip6Stats = []statEntry{
	{"Ip6FragCreates", "%llu fragments created", statOpt},
	{"Ip6FragFails", "%llu outgoing packets failed fragmentation", statOpt},
	{"Ip6FragOKs", "%llu outgoing packets fragmented ok", statOpt},
	{"Ip6InAddrErrors", "%llu with invalid addresses", statOpt},
	{"Ip6InDelivers", "%llu incoming packets delivered", statNumber},
	{"Ip6InDiscards", "%llu incoming packets discarded", statNumber},
	{"Ip6InHdrErrors", "%llu with invalid headers", statOpt},
	{"Ip6InMcastPkts", "%llu incoming multicast packets", statOpt},
	{"Ip6InNoRoutes", "%llu incoming packets with no route", statOpt},
	{"Ip6InReceives", "%llu total packets received", statNumber},
	{"Ip6InTooBigErrors", "%llu with packets too big", statOpt},
	{"Ip6InTruncatedPkts", "%llu with truncated packets", statOpt},
	{"Ip6InUnknownProtos", "%llu with unknown protocol", statOpt},
	{"Ip6OutDiscards", "%llu outgoing packets dropped", statOpt},
	{"Ip6OutForwDatagrams", "%llu forwarded", statNumber},
	{"Ip6OutMcastPkts", "%llu outgoing multicast packets", statOpt},
	{"Ip6OutNoRoutes", "%llu dropped because of missing route", statOpt},
	{"Ip6OutRequests", "%llu requests sent out", statNumber},
	{"Ip6ReasmFails", "%llu packet reassemblies failed", statOpt},
	{"Ip6ReasmOKs", "%llu packets reassembled ok", statOpt},
	{"Ip6ReasmReqds", "%llu reassemblies required", statOpt},
	{"Ip6ReasmTimeout", "%llu fragments dropped after timeout", statOpt},
}

var icmpStats = []statEntry{
	{"InAddrMaskReps", "address mask replies: %llu", statInICMP},
	{"InAddrMasks", "address mask request: %llu", statInICMP},
	{"InDestUnreachs", "destination unreachable: %llu", statInICMP},
	{"InEchoReps", "echo replies: %llu", statInICMP},
	{"InEchos", "echo requests: %llu", statInICMP},
	{"InErrors", "%llu input ICMP message failed", statNumber},
	{"InMsgs", "%llu ICMP messages received", statNumber},
	{"InParmProbs", "wrong parameters: %llu", statInICMP},
	{"InRedirects", "redirects: %llu", statInICMP},
	{"InSrcQuenchs", "source quenches: %llu", statInICMP},
	{"InTimeExcds", "timeout in transit: %llu", statInICMP},
	{"InTimestampReps", "timestamp reply: %llu", statInICMP},
	{"InTimestamps", "timestamp request: %llu", statInICMP},
	{"OutAddrMaskReps", "address mask replies: %llu", statOutICMP},
	{"OutAddrMasks", "address mask requests: %llu", statOutICMP},
	{"OutDestUnreachs", "destination unreachable: %llu", statOutICMP},
	{"OutEchoReps", "echo replies: %llu", statOutICMP},
	{"OutEchos", "echo requests: %llu", statOutICMP},
	{"OutErrors", "%llu ICMP messages failed", statNumber},
	{"OutMsgs", "%llu ICMP messages sent", statNumber},
	{"OutParmProbs", "wrong parameters: %llu", statOutICMP},
	{"OutRedirects", "redirect: %llu", statOutICMP},
	{"OutSrcQuenchs", "source quench: %llu", statOutICMP},
	{"OutTimeExcds", "time exceeded: %llu", statOutICMP},
	{"OutTimestampReps", "timestamp replies: %llu", statOutICMP},
	{"OutTimestamps", "timestamp requests: %llu", statOutICMP},
}

var icmp6Stats = []statEntry{
	{"Icmp6InDestUnreachs", "destination unreachable: %llu", statInICMP},
	{"Icmp6InEchoReplies", "echo replies: %llu", statInICMP},
	{"Icmp6InEchos", "echo requests: %llu", statInICMP},
	{"Icmp6InErrors", "%llu input ICMP message failed", statNumber},
	{"Icmp6InGroupMembQueries", "group member queries: %llu", statInICMP},
	{"Icmp6InGroupMembReductions", "group member reductions: %llu", statInICMP},
	{"Icmp6InGroupMembResponses", "group member responses: %llu", statInICMP},
	{"Icmp6InMsgs", "%llu ICMP messages received", statNumber},
	{"Icmp6InNeighborAdvertisements", "neighbour advertisement: %llu", statInICMP},
	{"Icmp6InNeighborSolicits", "neighbour solicits: %llu", statInICMP},
	{"Icmp6InParmProblems", "parameter problem: %llu", statInICMP},
	{"Icmp6InPktTooBigs", "packets too big: %llu", statInICMP},
	{"Icmp6InRedirects", "redirects: %llu", statInICMP},
	{"Icmp6InRouterAdvertisements", "router advertisement: %llu", statInICMP},
	{"Icmp6InRouterSolicits", "router solicits: %llu", statInICMP},
	{"Icmp6InTimeExcds", "received ICMPv6 time exceeded: %llu", statInICMP},
	{"Icmp6OutDestUnreachs", "destination unreachable: %llu", statOutICMP},
	{"Icmp6OutEchoReplies", "echo replies: %llu", statOutICMP},
	{"Icmp6OutEchos", "echo requests: %llu", statOutICMP},
	{"Icmp6OutGroupMembQueries", "group member queries: %llu", statOutICMP},
	{"Icmp6OutGroupMembReductions", "group member reductions: %llu", statOutICMP},
	{"Icmp6OutGroupMembResponses", "group member responses: %llu", statOutICMP},
	{"Icmp6OutMsgs", "%llu ICMP messages sent", statNumber},
	{"Icmp6OutNeighborAdvertisements", "neighbor advertisements: %llu", statOutICMP},
	{"Icmp6OutNeighborSolicits", "neighbor solicits: %llu", statOutICMP},
	{"Icmp6OutParmProblems", "parameter problem: %llu", statOutICMP},
	{"Icmp6OutPktTooBigs", "packets too big: %llu", statOutICMP},
	{"Icmp6OutRedirects", "redirects: %llu", statOutICMP},
	// net-tools spells this one with a trailing space: it never matches.
	{"Icmp6OutRouterAdvertisements ", "router advertisement: %llu", statOutICMP},
	{"Icmp6OutRouterSolicits", "router solicits: %llu", statOutICMP},
	{"Icmp6OutTimeExcds", "sent ICMPv6 time exceeded: %llu", statOutICMP},
}

var tcpStats = []statEntry{
	{"ActiveOpens", "%llu active connection openings", statNumber},
	{"AttemptFails", "%llu failed connection attempts", statNumber},
	{"CurrEstab", "%llu connections established", statNumber},
	{"EstabResets", "%llu connection resets received", statNumber},
	{"InErrs", "%llu bad segments received", statNumber},
	{"InSegs", "%llu segments received", statNumber},
	{"MaxConn", "", statSilent},
	{"OutRsts", "%llu resets sent", statNumber},
	{"OutSegs", "%llu segments sent out", statNumber},
	{"PassiveOpens", "%llu passive connection openings", statNumber},
	{"RetransSegs", "%llu segments retransmitted", statNumber},
	{"RtoAlgorithm", "RTO algorithm is %s", statSilent},
	{"RtoMax", "", statSilent},
	{"RtoMin", "", statSilent},
}

var udpStats = []statEntry{
	{"InDatagrams", "%llu packets received", statNumber},
	{"InErrors", "%llu packet receive errors", statNumber},
	{"NoPorts", "%llu packets to unknown port received", statNumber},
	{"OutDatagrams", "%llu packets sent", statNumber},
	{"RcvbufErrors", "%llu receive buffer errors", statNumber},
	{"SndbufErrors", "%llu send buffer errors", statNumber},
}

var udp6Stats = []statEntry{
	{"Udp6InDatagrams", "%llu packets received", statNumber},
	{"Udp6InErrors", "%llu packet receive errors", statNumber},
	{"Udp6NoPorts", "%llu packets to unknown port received", statNumber},
	{"Udp6OutDatagrams", "%llu packets sent", statNumber},
}

var tcpExtStats = []statEntry{
	{"DelayedACKLocked", "%llu delayed acks further delayed because of locked socket", statOpt},
	{"DelayedACKLost", "Quick ack mode was activated %llu times", statOpt},
	{"DelayedACKs", "%llu delayed acks sent", statOpt},
	{"EmbryonicRsts", "%llu resets received for embryonic SYN_RECV sockets", statOpt},
	{"ListenDrops", "%llu SYNs to LISTEN sockets dropped", statOpt},
	{"ListenOverflows", "%llu times the listen queue of a socket overflowed", statOpt},
	{"LockDroppedIcmps", "%llu ICMP packets dropped because socket was locked", statOpt},
	{"OfoPruned", "%llu packets dropped from out-of-order queue because of socket buffer overrun", statOpt},
	{"OutOfWindowIcmps", "%llu ICMP packets dropped because they were out-of-window", statOpt},
	{"PAWSActive", "%llu active connections rejected because of time stamp", statOpt},
	{"PAWSEstab", "%llu packets rejected in established connections because of timestamp", statOpt},
	{"PAWSPassive", "%llu passive connections rejected because of time stamp", statOpt},
	{"PruneCalled", "%llu packets pruned from receive queue because of socket buffer overrun", statOpt},
	{"RcvPruned", "%llu packets pruned from receive queue", statOpt},
	{"SockMallocOOM", "Ran %llu times out of system memory during packet sending", statOpt},
	{"SyncookiesFailed", "%llu invalid SYN cookies received", statOpt},
	{"SyncookiesRecv", "%llu SYN cookies received", statOpt},
	{"SyncookiesSent", "%llu SYN cookies sent", statOpt},
	{"TCPAbortFailed", "%llu times unable to send RST due to no memory", statOpt},
	{"TCPAbortOnClose", "%llu connections reset due to early user close", statOpt},
	{"TCPAbortOnData", "%llu connections reset due to unexpected data", statOpt},
	{"TCPAbortOnLinger", "%llu connections aborted after user close in linger timeout", statOpt},
	{"TCPAbortOnMemory", "%llu connections aborted due to memory pressure", statOpt},
	{"TCPAbortOnSyn", "%llu connections reset due to unexpected SYN", statOpt},
	{"TCPAbortOnTimeout", "%llu connections aborted due to timeout", statOpt},
	{"TCPDirectCopyFromBacklog", "%llu bytes directly in process context from backlog", statOpt},
	{"TCPDirectCopyFromPrequeue", "%llu bytes directly received in process context from prequeue", statOpt},
	{"TCPDSACKOfoRecv", "%llu DSACKs for out of order packets received", statOpt},
	{"TCPDSACKOfoSent", "%llu DSACKs sent for out of order packets", statOpt},
	{"TCPDSACKOldSent", "%llu DSACKs sent for old packets", statOpt},
	{"TCPDSACKRecv", "%llu DSACKs received", statOpt},
	{"TCPDSackUndo", "%llu congestion window recovered without slow start using DSACK", statOpt},
	{"TCPDSACKUndo", "%llu congestion windows recovered without slow start by DSACK", statOpt},
	{"TCPFACKReorder", "Detected reordering %llu times using FACK", statOpt},
	{"TCPFastRetrans", "%llu fast retransmits", statOpt},
	{"TCPForwardRetrans", "%llu forward retransmits", statOpt},
	{"TCPFullUndo", "%llu congestion windows fully recovered without slow start", statOpt},
	{"TCPHPAcks", "%llu predicted acknowledgments", statOpt},
	{"TCPHPHits", "%llu packet headers predicted", statNumber},
	{"TCPHPHitsToUser", "%llu packet headers predicted and directly queued to user", statOpt},
	{"TCPLossFailures", "%llu timeouts in loss state", statOpt},
	{"TCPLoss", "%llu TCP data loss events", statOpt},
	{"TCPLossUndo", "%llu congestion windows recovered without slow start after partial ack", statOpt},
	{"TCPLostRetransmits", "%llu retransmits lost", statOpt},
	{"TCPMemoryPressures", "TCP ran low on memory %llu times", statOpt},
	{"TCPPartialUndo", "%llu congestion windows partially recovered using Hoe heuristic", statOpt},
	{"TCPPrequeued", "%llu packets directly queued to recvmsg prequeue", statOpt},
	{"TCPPrequeueDropped", "%llu packets dropped from prequeue", statOpt},
	{"TCPPureAcks", "%llu acknowledgments not containing data payload received", statOpt},
	{"TCPRcvCollapsed", "%llu packets collapsed in receive queue due to low socket buffer", statOpt},
	{"TCPRenoFailures", "%llu timeouts after reno fast retransmit", statOpt},
	{"TCPRenoRecoveryFailed", "%llu reno fast retransmits failed", statOpt},
	{"TCPRenoRecoveryFail", "%llu classic Reno fast retransmits failed", statOpt},
	{"TCPRenoRecovery", "%llu times recovered from packet loss due to fast retransmit", statOpt},
	{"TCPRenoReorder", "Detected reordering %llu times using reno fast retransmit", statOpt},
	{"TCPSackFailures", "%llu timeouts after SACK recovery", statOpt},
	{"TCPSackRecoveryFail", "%llu SACK retransmits failed", statOpt},
	{"TCPSackRecovery", "%llu times recovered from packet loss by selective acknowledgements", statOpt},
	{"TCPSACKReneging", "%llu bad SACK blocks received", statOpt},
	{"TCPSACKReorder", "Detected reordering %llu times using SACK", statOpt},
	{"TCPSchedulerFailed", "%llu times receiver scheduled too late for direct processing", statOpt},
	{"TCPSlowStartRetrans", "%llu retransmits in slow start", statOpt},
	{"TCPTimeouts", "%llu other TCP timeouts", statOpt},
	{"TCPTSReorder", "Detected reordering %llu times using time stamp", statOpt},
	{"TWKilled", "%llu TCP sockets finished time wait in slow timer", statOpt},
	{"TW", "%llu TCP sockets finished time wait in fast timer", statOpt},
	{"TWRecycled", "%llu time wait sockets recycled by time stamp", statOpt},
}

// statSections are netstat's tables by the section title they print:
// net/snmp and net/netstat (snmptabs), net/snmp6 (snmp6tabs). Sctp comes
// from net/sctp/snmp, which protocol_stats does not read.
var statSections = func() map[string]*statSection {
	m := map[string]*statSection{}
	for _, s := range []*statSection{
		{title: "Ip", flag: "raw", entries: ipStats},
		{title: "Icmp", flag: "raw", entries: icmpStats},
		{title: "Tcp", flag: "tcp", entries: tcpStats},
		{title: "Udp", flag: "udp", entries: udpStats},
		{title: "Sctp", flag: "sctp"},
		{title: "TcpExt", flag: "tcp", entries: tcpExtStats},
		{title: "Ip6", flag: "raw", entries: ip6Stats},
		{title: "Icmp6", flag: "raw", entries: icmp6Stats},
		{title: "Udp6", flag: "udp", entries: udp6Stats},
		{title: "Tcp6", flag: "tcp", entries: tcpStats},
	} {
		s.reachable = map[string]statEntry{}
		for _, e := range s.entries {
			if found, ok := bsearchStat(s.entries, e.name); ok {
				s.reachable[e.name] = found
			}
		}
		m[s.title] = s
	}
	return m
}()

// bsearchStat is C's bsearch with strcmp over a table that may be out of
// order: it finds what netstat finds.
func bsearchStat(tab []statEntry, name string) (statEntry, bool) {
	lo, hi := 0, len(tab)
	for lo < hi {
		mid := (lo + hi) / 2
		switch c := strings.Compare(name, tab[mid].name); {
		case c < 0:
			hi = mid
		case c > 0:
			lo = mid + 1
		default:
			return tab[mid], true
		}
	}
	return statEntry{}, false
}

// statLookup finds the entry netstat prints for a protocol_stats row. In
// net/snmp6 sections (Ip6, Icmp6, Udp6...) netstat knows the counters by
// their full name, Ip6InReceives; fullName is that name.
func statLookup(protocol, name string) (sec *statSection, e statEntry, found bool, fullName string) {
	fullName = name
	if strings.HasSuffix(protocol, "6") {
		fullName = protocol + name
	}
	sec = statSections[protocol]
	if sec == nil {
		return nil, statEntry{}, false, fullName
	}
	e, found = sec.reachable[fullName]
	return sec, e, found, fullName
}

// netstatStatSection is netstat_stat_section(protocol): the -s option
// that selects a section netstat knows (raw, tcp, udp, sctp), NULL for a
// section netstat does not know (IcmpMsg, UdpLite, IpExt, MPTcpExt...),
// which it prints whatever the options.
func netstatStatSection(args []driver.Value) (driver.Value, error) {
	protocol, err := vtab.TextArg("netstat_stat_section", "protocol", args[0])
	if err != nil {
		return nil, err
	}
	if s := statSections[protocol]; s != nil {
		return s.flag, nil
	}
	return nil, nil
}

// netstatStatKind is netstat_stat_kind(protocol, name): how netstat -s
// prints the counter (number, opt, forward, in_icmp, out_icmp, silent),
// NULL when netstat does not know it (then "Name: value", unless zero).
func netstatStatKind(args []driver.Value) (driver.Value, error) {
	protocol, err := vtab.TextArg("netstat_stat_kind", "protocol", args[0])
	if err != nil {
		return nil, err
	}
	name, err := vtab.TextArg("netstat_stat_kind", "name", args[1])
	if err != nil {
		return nil, err
	}
	_, e, found, _ := statLookup(protocol, name)
	if !found {
		return nil, nil
	}
	if e.text == "" {
		return string(statSilent), nil
	}
	return string(e.kind), nil
}

// netstatStatText is netstat_stat_text(protocol, name, value): netstat's
// sentence for a counter, without indentation ("41026 active connection
// openings", "destination unreachable: 1", "TCPTimeouts: 2" for one it
// does not know); NULL for a silent one.
func netstatStatText(args []driver.Value) (driver.Value, error) {
	protocol, err := vtab.TextArg("netstat_stat_text", "protocol", args[0])
	if err != nil {
		return nil, err
	}
	name, err := vtab.TextArg("netstat_stat_text", "name", args[1])
	if err != nil {
		return nil, err
	}
	v, err := vtab.IntArg("netstat_stat_text", "value", args[2])
	if err != nil {
		return nil, err
	}
	value := strconv.FormatUint(uint64(v), 10) // %llu of strtoull: -1 wraps
	_, e, found, full := statLookup(protocol, name)
	switch {
	case !found:
		return full + ": " + value, nil
	case e.text == "" || e.kind == statSilent:
		return nil, nil
	case e.kind == statForward:
		word := "disabled"
		if v == 2 {
			word = "enabled"
		}
		return strings.Replace(e.text, "%s", word, 1), nil
	}
	return strings.Replace(e.text, "%llu", value, 1), nil
}
