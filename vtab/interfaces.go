package vtab

import (
	"context"
	"strings"

	"golang.org/x/sys/unix"
	sqlvtab "modernc.org/sqlite/vtab"

	"github.com/netsql/netsql/vtab/rtnl"
)

// ifaceCounters are an interface's counters as /proc/net/dev (and so
// netstat -i and ifconfig) report them.
type ifaceCounters struct {
	rxPackets, rxBytes, rxErrors, rxDropped, rxOver, rxFrame, rxMulticast uint64
	txPackets, txBytes, txErrors, txDropped, txOver, txCarrier, txColls   uint64
}

// interfaceRecord is one row of the interfaces table.
type interfaceRecord struct {
	name      string
	index     any // int64, or nil when unknown
	mtu       any
	flags     uint32 // IFF_* as SIOCGIFFLAGS reports them (RUNNING included)
	haveFlags bool
	mac       any
	typ       any
	operstate any
	master    any
	kind      any
	speed     any
	txqlen    any // int64, or nil when unknown
	counters  ifaceCounters
}

// ifaceFlagLetters is net-tools 2.10's order for netstat -i's Flg column.
// (2.10 prints P for POINTOPOINT as well as PROMISC; later releases print p.)
var ifaceFlagLetters = []flagLetter{
	{unix.IFF_ALLMULTI, "A"}, {unix.IFF_BROADCAST, "B"}, {unix.IFF_DEBUG, "D"},
	{unix.IFF_LOOPBACK, "L"}, {unix.IFF_MULTICAST, "M"}, {unix.IFF_DYNAMIC, "d"},
	{unix.IFF_PROMISC, "P"}, {unix.IFF_NOTRAILERS, "N"}, {unix.IFF_NOARP, "O"},
	{unix.IFF_POINTOPOINT, "P"}, {unix.IFF_SLAVE, "s"}, {unix.IFF_MASTER, "m"},
	{unix.IFF_RUNNING, "R"}, {unix.IFF_UP, "U"},
}

// InterfaceFlags spells IFF_* bits as netstat -i's Flg column does, e.g.
// BMRU for an up ethernet device, LRU for lo, BO for a down ifb. No flags
// at all give "" (netstat prints "[NO FLAGS]").
func InterfaceFlags(flags uint32) string {
	var b strings.Builder
	for _, f := range ifaceFlagLetters {
		if flags&f.bit != 0 {
			b.WriteString(f.letter)
		}
	}
	return b.String()
}

func (r *interfaceRecord) flag(bit uint32) any {
	if !r.haveFlags {
		return nil
	}
	if r.flags&bit != 0 {
		return int64(1)
	}
	return int64(0)
}

func counter(get func(*ifaceCounters) uint64) func(*interfaceRecord) any {
	return func(r *interfaceRecord) any { return int64(get(&r.counters)) }
}

// Interfaces is the interfaces table: every network device with its
// netstat -i counters.
var Interfaces = &Table[interfaceRecord]{
	Name:     "interfaces",
	PerNetNS: true,
	Doc: "Every network interface with its state and 64-bit counters (ip -s link, netstat -i), read through rtnetlink. " +
		"With --proc, counters from net/dev and the rest from a sysfs tree beside it (DIR/../sys/class/net), NULL where that is missing. " +
		"Counters add up as /proc/net/dev and netstat count them: rx_dropped includes missed, rx_frame and tx_carrier sum their error kinds.",
	Example: "SELECT name, rx_bytes, tx_bytes FROM interfaces ORDER BY rx_bytes + tx_bytes DESC;",
	Columns: []Column[interfaceRecord]{
		{Name: "name", Type: Text, Push: pushEQ, Doc: "interface name",
			Value: func(r *interfaceRecord) any { return r.name }},
		{Name: "index", Type: Integer, Push: pushEQ, Doc: "interface index (ifindex)",
			Value: func(r *interfaceRecord) any { return r.index }},
		{Name: "mtu", Type: Integer, Doc: "MTU in bytes",
			Value: func(r *interfaceRecord) any { return r.mtu }},
		{Name: "flags", Type: Text, Doc: "netstat -i's flag letters: A allmulti, B broadcast, D debug, L loopback, M multicast, d dynamic, P promisc or point-to-point, N notrailers, O noarp, s slave, m master, R running, U up (e.g. BMRU); A and P as a user set them (a packet socket's or an upper device's do not count); with --proc, sysfs cannot tell a user's A and P from a bridge's, bond's or macvlan's, so they are left out for devices under one",
			Value: func(r *interfaceRecord) any {
				if !r.haveFlags {
					return nil
				}
				return InterfaceFlags(r.flags)
			}},
		{Name: "flags_value", Type: Integer, Doc: "the IFF_* flags as a number, as SIOCGIFFLAGS and ifconfig report them (flags=4163 is UP,BROADCAST,RUNNING,MULTICAST): the low 16 bits, RUNNING included",
			Value: func(r *interfaceRecord) any {
				if !r.haveFlags {
					return nil
				}
				return int64(r.flags & 0xffff)
			}},
		{Name: "up", Type: Integer, Doc: "1 when administratively up (IFF_UP)",
			Value: func(r *interfaceRecord) any { return r.flag(unix.IFF_UP) }},
		{Name: "running", Type: Integer, Doc: "1 when up and operationally up or unknown (IFF_RUNNING)",
			Value: func(r *interfaceRecord) any { return r.flag(unix.IFF_RUNNING) }},
		{Name: "loopback", Type: Integer, Doc: "1 for a loopback device",
			Value: func(r *interfaceRecord) any { return r.flag(unix.IFF_LOOPBACK) }},
		{Name: "mac", Type: Text, Doc: "link-layer address (00:00:00:00:00:00 for lo); NULL when the link has none",
			Value: func(r *interfaceRecord) any { return r.mac }},
		{Name: "type", Type: Text, Doc: "link type as ip link prints it after link/: ether, loopback, none, sit...",
			Value: func(r *interfaceRecord) any { return r.typ }},
		{Name: "operstate", Type: Text, Doc: "operational state (RFC 2863): UP, DOWN, UNKNOWN, LOWERLAYERDOWN, DORMANT...",
			Value: func(r *interfaceRecord) any { return r.operstate }},
		{Name: "speed_mbps", Type: Integer, Cost: CostSysfs, Doc: "link speed in Mbit/s (ethtool's Speed), from sysfs as seen inside the interface's namespace; NULL when unknown (link down, bridges, most virtual devices) or when that sysfs cannot be mounted (a notice says why)",
			Value: func(r *interfaceRecord) any { return r.speed }},
		{Name: "master", Type: Text, Cost: CostLinkNames, Doc: "the bridge or bond this interface is enslaved to; NULL when none",
			Value: func(r *interfaceRecord) any { return r.master }},
		{Name: "kind", Type: Text, Doc: "driver kind of a virtual device: veth, bridge, bond, vlan, dummy...; NULL for physical devices, lo, and with --proc",
			Value: func(r *interfaceRecord) any { return r.kind }},
		{Name: "tx_queue_len", Type: Integer, Doc: "transmit queue length in packets (ip link's qlen, ifconfig's txqueuelen); NULL when unknown",
			Value: func(r *interfaceRecord) any { return r.txqlen }},
		{Name: "rx_packets", Type: Integer, Doc: "packets received (netstat -i RX-OK)",
			Value: counter(func(c *ifaceCounters) uint64 { return c.rxPackets })},
		{Name: "rx_bytes", Type: Integer, Doc: "bytes received",
			Value: counter(func(c *ifaceCounters) uint64 { return c.rxBytes })},
		{Name: "rx_errors", Type: Integer, Doc: "receive errors (RX-ERR)",
			Value: counter(func(c *ifaceCounters) uint64 { return c.rxErrors })},
		{Name: "rx_dropped", Type: Integer, Doc: "packets dropped on receive, missed included (RX-DRP)",
			Value: counter(func(c *ifaceCounters) uint64 { return c.rxDropped })},
		{Name: "rx_over", Type: Integer, Doc: "receive FIFO overruns (RX-OVR)",
			Value: counter(func(c *ifaceCounters) uint64 { return c.rxOver })},
		{Name: "rx_frame", Type: Integer, Doc: "frame errors: length, overrun, CRC and alignment errors together (ifconfig's frame)",
			Value: counter(func(c *ifaceCounters) uint64 { return c.rxFrame })},
		{Name: "rx_multicast", Type: Integer, Doc: "multicast packets received",
			Value: counter(func(c *ifaceCounters) uint64 { return c.rxMulticast })},
		{Name: "tx_packets", Type: Integer, Doc: "packets sent (TX-OK)",
			Value: counter(func(c *ifaceCounters) uint64 { return c.txPackets })},
		{Name: "tx_bytes", Type: Integer, Doc: "bytes sent",
			Value: counter(func(c *ifaceCounters) uint64 { return c.txBytes })},
		{Name: "tx_errors", Type: Integer, Doc: "transmit errors (TX-ERR)",
			Value: counter(func(c *ifaceCounters) uint64 { return c.txErrors })},
		{Name: "tx_dropped", Type: Integer, Doc: "packets dropped on transmit (TX-DRP)",
			Value: counter(func(c *ifaceCounters) uint64 { return c.txDropped })},
		{Name: "tx_over", Type: Integer, Doc: "transmit FIFO overruns (TX-OVR)",
			Value: counter(func(c *ifaceCounters) uint64 { return c.txOver })},
		{Name: "tx_carrier", Type: Integer, Doc: "carrier errors: carrier, aborted, window and heartbeat errors together (ifconfig's carrier)",
			Value: counter(func(c *ifaceCounters) uint64 { return c.txCarrier })},
		{Name: "tx_collisions", Type: Integer, Doc: "collisions",
			Value: counter(func(c *ifaceCounters) uint64 { return c.txColls })},
		{Name: "netns", Type: Integer, Doc: "inode of the network namespace the interface lives in"},
	},
	Rows: readInterfaces,
	Key:  func(r *interfaceRecord) string { return r.name },
}

// countersOf converts rtnetlink's 64-bit counters to /proc/net/dev's sums.
func countersOf(s *rtnl.LinkStats) ifaceCounters {
	return ifaceCounters{
		rxPackets: s.RxPackets, rxBytes: s.RxBytes, rxErrors: s.RxErrors,
		rxDropped:   s.RxDropped + s.RxMissedErrors,
		rxOver:      s.RxFIFOErrors,
		rxFrame:     s.RxLengthErrors + s.RxOverErrors + s.RxCRCErrors + s.RxFrameErrors,
		rxMulticast: s.Multicast,
		txPackets:   s.TxPackets, txBytes: s.TxBytes, txErrors: s.TxErrors, txDropped: s.TxDropped,
		txOver:    s.TxFIFOErrors,
		txCarrier: s.TxCarrierErrors + s.TxAbortedErrors + s.TxWindowErrors + s.TxHeartbeatErrors,
		txColls:   s.Collisions,
	}
}

func readInterfaces(ctx context.Context, src *Source, q *Query) ([]interfaceRecord, error) {
	var f rtnl.LinkFilter
	for _, v := range q.Values("name", sqlvtab.OpEQ) {
		name, ok := v.(string)
		if !ok {
			continue // let SQLite compare a number with the TEXT column
		}
		if f.Name != "" && f.Name != name {
			return nil, nil
		}
		f.Name = name
	}
	idx, set, ok := intFilter(q, "index")
	if !ok {
		return nil, nil
	}
	if set {
		if idx <= 0 {
			return nil, nil
		}
		f.Index = idx
	}
	return src.readers().link.links(ctx, f, linkWants{masterNames: q.Needs(CostLinkNames), speed: q.Needs(CostSysfs)})
}

// linkRecord maps an rtnetlink link to a row; master and speed are the
// reader's to fill.
func linkRecord(l *rtnl.Link) interfaceRecord {
	r := interfaceRecord{
		name: l.Name, index: int64(l.Index), mtu: int64(l.MTU),
		flags: l.Flags, haveFlags: true, mac: macText(l.MAC),
		typ: l.TypeName(), operstate: l.OperStateName(),
		counters: countersOf(&l.Stats), txqlen: int64(l.TxQueueLen),
	}
	if l.Kind != "" {
		r.kind = l.Kind
	}
	return r
}
