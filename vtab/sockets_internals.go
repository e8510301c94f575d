package vtab

import (
	"math"
	"net/netip"
	"strings"

	sqlvtab "modernc.org/sqlite/vtab"

	"github.com/netsql/netsql/vtab/sock"
)

// This file holds the sockets table's TCP internals (what ss -tiem shows),
// fetched only when a statement uses them, and the port and address
// filters the kernel applies through sock_diag bytecode.

// internalColumn is a sockets column backed by a sock_diag extra.
type internalColumn struct {
	Column[socketRecord]
	need sock.Extras
}

// internals are the sockets columns backed by sock_diag extras. Each is
// NULL when the extra does not apply (not TCP, TIME_WAIT, read from /proc)
// or the kernel's tcp_info is too old to carry the field, and where the
// kernel's value is a "no value" marker: exactly where ss -ti prints
// nothing for a field that is a measurement or a setting (no RTT sample
// yet, an unset ssthresh, an unlimited pacing rate), by ss's own tests
// (iproute2 misc/ss.c, tcp_show_info and tcp_stats_print). Counters
// (retransmits, bytes) are counts: 0 is 0, though ss omits zeros.
var internals = []internalColumn{
	tcpInfoColumn("rtt_ms", Real, "smoothed round-trip time in milliseconds (tcp_info); NULL before the first RTT sample (SYN_SENT, LISTEN), as ss prints no rtt", 0,
		func(t *sock.TCPInfo) any { return nullUnless(t.RTTUs != 0, t.RTTMs()) }),
	tcpInfoColumn("rttvar_ms", Real, "round-trip time variation in milliseconds; NULL before the first RTT sample (the kernel's initial 250 ms is no measurement)", 0,
		func(t *sock.TCPInfo) any { return nullUnless(t.RTTUs != 0, t.RTTVarMs()) }),
	tcpInfoColumn("min_rtt_ms", Real, "lowest round-trip time seen, in milliseconds; NULL before the first sample (the kernel reports 0 or ~0)", sock.TCPInfoLenMinRTT,
		func(t *sock.TCPInfo) any {
			return nullUnless(t.MinRTTUs != 0 && t.MinRTTUs != ^uint32(0), t.MinRTTMs())
		}),
	tcpInfoColumn("cwnd", Integer, "congestion window in segments; NULL when the kernel reports 0", 0,
		func(t *sock.TCPInfo) any { return nullUnless(t.SndCwnd != 0, int64(t.SndCwnd)) }),
	tcpInfoColumn("ssthresh", Integer, "slow-start threshold in segments; NULL while unset: 0 (LISTEN) or 65535 and above (infinite), where ss prints none", 0,
		func(t *sock.TCPInfo) any {
			return nullUnless(t.SndSsthresh != 0 && t.SndSsthresh < ssUnsetSsthresh, int64(t.SndSsthresh))
		}),
	tcpInfoColumn("mss", Integer, "sending maximum segment size in bytes; NULL when the kernel reports 0", 0,
		func(t *sock.TCPInfo) any { return nullUnless(t.SndMSS != 0, int64(t.SndMSS)) }),
	tcpInfoColumn("retrans", Integer, "segments retransmitted and not yet acknowledged", 0,
		func(t *sock.TCPInfo) any { return int64(t.Retrans) }),
	tcpInfoColumn("total_retrans", Integer, "segments retransmitted over the connection's life", 0,
		func(t *sock.TCPInfo) any { return int64(t.TotalRetrans) }),
	tcpInfoColumn("lost", Integer, "segments currently considered lost", 0,
		func(t *sock.TCPInfo) any { return int64(t.Lost) }),
	tcpInfoColumn("bytes_sent", Integer, "bytes sent, retransmissions included", sock.TCPInfoLenBytesSent,
		func(t *sock.TCPInfo) any { return clampInt64(t.BytesSent) }),
	tcpInfoColumn("bytes_acked", Integer, "bytes acknowledged by the peer (the SYN counts 1)", sock.TCPInfoLenBytesAcked,
		func(t *sock.TCPInfo) any { return clampInt64(t.BytesAcked) }),
	tcpInfoColumn("bytes_received", Integer, "bytes received (the FIN counts 1)", sock.TCPInfoLenBytesAcked,
		func(t *sock.TCPInfo) any { return clampInt64(t.BytesReceived) }),
	tcpInfoColumn("delivery_rate", Integer, "recent delivery rate in bytes per second; NULL before the first sample (0)", sock.TCPInfoLenDeliveryRate,
		func(t *sock.TCPInfo) any { return nullUnless(t.DeliveryRate != 0, clampInt64(t.DeliveryRate)) }),
	tcpInfoColumn("pacing_rate", Integer, "pacing rate in bytes per second; NULL when unlimited or unset (~0 or 0: SYN_SENT, LISTEN)", sock.TCPInfoLenPacingRate,
		func(t *sock.TCPInfo) any {
			return nullUnless(t.PacingRate != 0 && t.PacingRate != ^uint64(0), clampInt64(t.PacingRate))
		}),
	extraColumn("congestion", Text, "congestion control algorithm (cubic, bbr...)", sock.ExtraCongestion,
		func(e *sock.Extra) any { return e.Congestion }),
	extraColumn("skmem_rmem", Integer, "receive memory allocated, bytes (ss -m r)", sock.ExtraMemInfo,
		func(e *sock.Extra) any { return int64(e.Mem.RmemAlloc) }),
	extraColumn("skmem_rcvbuf", Integer, "receive buffer size, bytes (ss -m rb)", sock.ExtraMemInfo,
		func(e *sock.Extra) any { return int64(e.Mem.Rcvbuf) }),
	extraColumn("skmem_wmem", Integer, "send memory allocated, bytes (ss -m t)", sock.ExtraMemInfo,
		func(e *sock.Extra) any { return int64(e.Mem.WmemAlloc) }),
	extraColumn("skmem_sndbuf", Integer, "send buffer size, bytes (ss -m tb)", sock.ExtraMemInfo,
		func(e *sock.Extra) any { return int64(e.Mem.Sndbuf) }),
	extraColumn("cgroup", Integer, "cgroup v2 id (the inode of its directory) of the socket's creator", sock.ExtraCgroup,
		func(e *sock.Extra) any { return clampInt64(e.CgroupID) }),
	extraColumn("shutdown", Text, "directions shut down: none, read, write, both", sock.ExtraShutdown,
		func(e *sock.Extra) any { return shutdownName(e.Shutdown) }),
}

// internalsColumns returns the declarations of the internals columns.
func internalsColumns() []Column[socketRecord] {
	out := make([]Column[socketRecord], len(internals))
	for i, c := range internals {
		out[i] = c.Column
	}
	return out
}

func tcpInfoColumn(name, typ, doc string, minLen int, get func(*sock.TCPInfo) any) internalColumn {
	return internalColumn{need: sock.ExtraTCPInfo, Column: Column[socketRecord]{
		Name: name, Type: typ, Doc: doc + " (NULL unless TCP with tcp_info)",
		Value: func(r *socketRecord) any {
			if !r.Extra.Has(sock.ExtraTCPInfo) || minLen > 0 && !r.Extra.TCP.Has(minLen) {
				return nil
			}
			return get(&r.Extra.TCP)
		}}}
}

func extraColumn(name, typ, doc string, x sock.Extras, get func(*sock.Extra) any) internalColumn {
	return internalColumn{need: x, Column: Column[socketRecord]{
		Name: name, Type: typ, Doc: doc,
		Value: func(r *socketRecord) any {
			if !r.Extra.Has(x) {
				return nil
			}
			return get(r.Extra)
		}}}
}

// requestedExtras returns the extras the statement's columns need.
func requestedExtras(q *Query) sock.Extras {
	var x sock.Extras
	for _, c := range internals {
		if q.Uses(c.Name) {
			x |= c.need
		}
	}
	return x
}

// ssUnsetSsthresh is the snd_ssthresh from which ss prints no ssthresh
// (it tests < 0xFFFF): the kernel's "infinite" TCP_INFINITE_SSTHRESH and
// anything as large.
const ssUnsetSsthresh = 0xFFFF

// nullUnless is v when ok, else NULL.
func nullUnless(ok bool, v any) any {
	if !ok {
		return nil
	}
	return v
}

func clampInt64(v uint64) int64 {
	if v > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(v)
}

func shutdownName(s uint8) string {
	switch s & (sock.ShutdownRead | sock.ShutdownWrite) {
	case sock.ShutdownRead:
		return "read"
	case sock.ShutdownWrite:
		return "write"
	case sock.ShutdownRead | sock.ShutdownWrite:
		return "both"
	}
	return "none"
}

// pushRange lists the operators a port column hands to the kernel.
var pushRange = []sqlvtab.ConstraintOp{sqlvtab.OpEQ, sqlvtab.OpGT, sqlvtab.OpGE, sqlvtab.OpLT, sqlvtab.OpLE}

// socketFilter turns port and address constraints into the kernel's
// bytecode filter. ok is false when they cannot match any socket.
func socketFilter(q *Query) (f sock.Filter, ok bool) {
	for _, col := range []struct {
		name string
		dst  *[]sock.PortRange
	}{{"local_port", &f.LocalPorts}, {"remote_port", &f.RemotePorts}} {
		lo, hi := 0, 65535
		constrained := false
		for _, c := range q.Constraints {
			if c.Column != col.name {
				continue
			}
			v, isNum := portAsNumber(c.Value)
			if !isNum {
				return f, false // text that is no number equals no port
			}
			constrained = true
			switch c.Op {
			case sqlvtab.OpEQ:
				lo, hi = max(lo, int(math.Ceil(v))), min(hi, int(math.Floor(v)))
			case sqlvtab.OpGT:
				lo = max(lo, int(math.Floor(v))+1)
			case sqlvtab.OpGE:
				lo = max(lo, int(math.Ceil(v)))
			case sqlvtab.OpLT:
				hi = min(hi, int(math.Ceil(v))-1)
			case sqlvtab.OpLE:
				hi = min(hi, int(math.Floor(v)))
			}
		}
		if lo > hi {
			return f, false
		}
		if constrained && (lo > 0 || hi < 65535) {
			*col.dst = []sock.PortRange{{Min: uint16(lo), Max: uint16(hi)}}
		}
	}
	for _, col := range []struct {
		name string
		dst  *[]netip.Prefix
	}{{"local_address", &f.LocalAddrs}, {"remote_address", &f.RemoteAddrs}} {
		for _, v := range q.Values(col.name, sqlvtab.OpEQ) {
			s, isText := v.(string)
			addr, err := netip.ParseAddr(strings.TrimSpace(s))
			if !isText || err != nil || addr.Zone() != "" {
				return f, false // the column holds canonical addresses only
			}
			if len(*col.dst) > 0 {
				return sock.Filter{}, true // two equalities: let SQLite decide
			}
			*col.dst = []netip.Prefix{netip.PrefixFrom(addr, addr.BitLen())}
		}
	}
	return f, true
}

// portAsNumber reads a pushed constraint value: the adapter passes
// numbers only, brought to the column's affinity and within float64's
// exact integers.
func portAsNumber(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, !math.IsNaN(x)
	}
	return 0, false
}
