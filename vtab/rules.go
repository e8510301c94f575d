package vtab

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/netsql/netsql/vtab/rtnl"
)

// ruleRecord is one row of the rules table.
type ruleRecord struct {
	r     rtnl.Rule
	table any // name, or nil when the rule has no table
	proto any // ip_proto name, or nil when the rule has none
}

// Rules is the rules table: the policy routing rules (ip rule).
var Rules = &Table[ruleRecord]{
	Name:     "rules",
	PerNetNS: true,
	Doc: "IPv4 and IPv6 policy routing rules (ip rule show, ip -6 rule show) in priority order, read through rtnetlink. " +
		"A selector the rule does not use is NULL. A /proc tree holds no rules: with --proc the table is empty and a notice says why.",
	Example: "SELECT family, priority, source, source_len, fwmark, iif, action, \"table\" FROM rules ORDER BY family, priority;",
	Columns: []Column[ruleRecord]{
		{Name: "family", Type: Text, Push: pushEQ, Values: []string{"inet", "inet6"}, Doc: "address family: inet (ip rule), inet6 (ip -6 rule)",
			Value: func(r *ruleRecord) any { return afName(r.r.Family) }},
		{Name: "priority", Type: Integer, Doc: "the rule's priority (ip rule's pref): rules are tried from the lowest up",
			Value: func(r *ruleRecord) any { return int64(r.r.Priority) }},
		{Name: "invert", Type: Integer, Doc: "1 for a `not` rule: it applies to packets its selectors do not match; else 0",
			Value: func(r *ruleRecord) any { return boolInt(r.r.Flags&unix.FIB_RULE_INVERT != 0) }},
		{Name: "source", Type: Text, Doc: "source address or network the rule matches (from); NULL for from all",
			Value: func(r *ruleRecord) any { return addrOrNull(r.r.Src) }},
		{Name: "source_len", Type: Integer, Doc: "prefix length of source: 32 or 128 for one address, 0 for from all",
			Value: func(r *ruleRecord) any { return int64(r.r.SrcLen) }},
		{Name: "destination", Type: Text, Doc: "destination address or network the rule matches (to); NULL when any",
			Value: func(r *ruleRecord) any { return addrOrNull(r.r.Dst) }},
		{Name: "destination_len", Type: Integer, Doc: "prefix length of destination; 0 when any",
			Value: func(r *ruleRecord) any { return int64(r.r.DstLen) }},
		{Name: "tos", Type: Integer, Doc: "TOS byte the rule matches (ip rule's tos, printed there in hex); NULL when none",
			Value: func(r *ruleRecord) any { return nullIfZero(uint64(r.r.TOS)) }},
		{Name: "dscp", Type: Integer, Doc: "DSCP value the rule matches (Linux 6.15+); NULL when none",
			Value: func(r *ruleRecord) any { return optInt(r.r.DSCP) }},
		{Name: "dscp_mask", Type: Integer, Doc: "mask applied to the DSCP before comparing; NULL when none",
			Value: func(r *ruleRecord) any { return optInt(r.r.DSCPMask) }},
		{Name: "fwmark", Type: Integer, Doc: "firewall mark the rule matches (fwmark); NULL when it matches any mark",
			Value: func(r *ruleRecord) any { return optInt(r.r.FwMark) }},
		{Name: "fwmask", Type: Integer, Doc: "mask applied to the packet's mark before comparing with fwmark: 4294967295 (0xffffffff) for an exact match; NULL without fwmark",
			Value: func(r *ruleRecord) any { return optInt(r.r.FwMask) }},
		{Name: "iif", Type: Text, Doc: "input interface the rule matches (iif; lo for locally generated packets); NULL when any. flags says iif_detached when no such device exists",
			Value: func(r *ruleRecord) any { return nullIfEmpty(r.r.IIF) }},
		{Name: "oif", Type: Text, Doc: "output interface the rule matches (oif, for sockets bound to a device); NULL when any",
			Value: func(r *ruleRecord) any { return nullIfEmpty(r.r.OIF) }},
		{Name: "uid_start", Type: Integer, Doc: "first uid of the uidrange the rule matches; NULL when any",
			Value: func(r *ruleRecord) any { return rangeStart(r.r.UIDRange) }},
		{Name: "uid_end", Type: Integer, Doc: "last uid of the uidrange (inclusive); NULL when any",
			Value: func(r *ruleRecord) any { return rangeEnd(r.r.UIDRange) }},
		{Name: "ip_proto", Type: Text, Cost: CostEtc, Doc: "IP protocol the rule matches (ipproto), named from /etc/protocols (tcp, udp...) or the number as text; NULL when any",
			Value: func(r *ruleRecord) any { return r.proto }},
		{Name: "sport_start", Type: Integer, Doc: "first source port the rule matches (sport); NULL when any",
			Value: func(r *ruleRecord) any { return rangeStart(r.r.SportRange) }},
		{Name: "sport_end", Type: Integer, Doc: "last source port (inclusive), equal to sport_start for one port; NULL when any",
			Value: func(r *ruleRecord) any { return rangeEnd(r.r.SportRange) }},
		{Name: "sport_mask", Type: Integer, Doc: "mask applied to the source port (sport PORT/MASK, Linux 6.15+); NULL when none",
			Value: func(r *ruleRecord) any { return optInt(r.r.SportMask) }},
		{Name: "dport_start", Type: Integer, Doc: "first destination port the rule matches (dport); NULL when any",
			Value: func(r *ruleRecord) any { return rangeStart(r.r.DportRange) }},
		{Name: "dport_end", Type: Integer, Doc: "last destination port (inclusive), equal to dport_start for one port; NULL when any",
			Value: func(r *ruleRecord) any { return rangeEnd(r.r.DportRange) }},
		{Name: "dport_mask", Type: Integer, Doc: "mask applied to the destination port (Linux 6.15+); NULL when none",
			Value: func(r *ruleRecord) any { return optInt(r.r.DportMask) }},
		{Name: "flowlabel", Type: Integer, Doc: "IPv6 flow label the rule matches (Linux 6.15+); NULL when any",
			Value: func(r *ruleRecord) any { return optInt(r.r.Flowlabel) }},
		{Name: "flowlabel_mask", Type: Integer, Doc: "mask applied to the flow label; NULL without flowlabel",
			Value: func(r *ruleRecord) any { return optInt(r.r.FlowMask) }},
		{Name: "tun_id", Type: Integer, Doc: "tunnel id the rule matches (tun_id, for metadata tunnels); NULL when any",
			Value: func(r *ruleRecord) any { return optInt(r.r.TunID) }},
		{Name: "l3mdev", Type: Integer, Doc: "1 when the table is the one of the VRF (l3mdev) device the packet came through (lookup [l3mdev-table]); else 0",
			Value: func(r *ruleRecord) any { return boolInt(r.r.L3MDev) }},
		{Name: "action", Type: Text, Values: rtnl.RuleActions(), Doc: "what a matching rule does: lookup (a table), goto (another rule), nop, blackhole, unreachable, prohibit",
			Value: func(r *ruleRecord) any { return r.r.ActionName() }},
		{Name: "table_id", Type: Integer, Doc: "number of the routing table a lookup rule consults: 255 local, 254 main, 253 default; NULL when none (other actions, l3mdev)",
			Value: func(r *ruleRecord) any { return nullIfZero(uint64(r.r.Table)) }},
		{Name: "table", Type: Text, Cost: CostEtc, Doc: "that table's name from iproute2's rt_tables (local, main, default...), else the number; NULL when none",
			Value: func(r *ruleRecord) any { return r.table }},
		{Name: "goto_priority", Type: Integer, Doc: "goto rules: the priority of the rule they jump to; NULL for other actions (flags says unresolved when no rule has that priority)",
			Value: func(r *ruleRecord) any { return optInt(r.r.Goto) }},
		{Name: "suppress_prefixlength", Type: Integer, Doc: "a lookup's result is ignored when its route's prefix is this long or shorter (0: ignore default routes); NULL when unset",
			Value: func(r *ruleRecord) any { return optInt(r.r.SuppressPrefixLen) }},
		{Name: "suppress_ifgroup", Type: Integer, Doc: "a lookup's result is ignored when its route leaves through a device of this group; NULL when unset",
			Value: func(r *ruleRecord) any { return optInt(r.r.SuppressIfGroup) }},
		{Name: "protocol", Type: Text, Doc: "who installed the rule: kernel (the default rules), unspec (ip rule add without proto), boot, static, a routing daemon...",
			Value: func(r *ruleRecord) any { return rtnl.ProtocolName(r.r.Protocol) }},
		{Name: "flags", Type: Text, Doc: "rule flags, comma-separated: invert, unresolved (a goto to no rule), iif_detached, oif_detached (no such device now), permanent; '' for none",
			Value: func(r *ruleRecord) any { return strings.Join(rtnl.RuleFlagNames(r.r.Flags), ",") }},
		{Name: "netns", Type: Integer, Doc: "inode of the network namespace the rule belongs to"},
	},
	Rows: readRules,
	Key:  func(r *ruleRecord) string { return rowKey(fmt.Sprintf("%+v", ruleKey(&r.r))) },
}

// ruleKey is a rule with its pointers followed, so that equal rules read
// twice print the same.
func ruleKey(r *rtnl.Rule) []any {
	return []any{r.Family, r.Priority, r.Action, r.Flags, r.Table, r.Protocol, r.Src, r.SrcLen, r.Dst, r.DstLen,
		r.TOS, r.IIF, r.OIF, optInt(r.FwMark), optInt(r.FwMask), optInt(r.Goto), r.L3MDev,
		rangeStart(r.UIDRange), rangeEnd(r.UIDRange), optInt(r.IPProto),
		rangeStart(r.SportRange), rangeEnd(r.SportRange), rangeStart(r.DportRange), rangeEnd(r.DportRange),
		optInt(r.SportMask), optInt(r.DportMask), optInt(r.DSCP), optInt(r.DSCPMask),
		optInt(r.Flowlabel), optInt(r.FlowMask), optInt(r.TunID),
		optInt(r.SuppressPrefixLen), optInt(r.SuppressIfGroup)}
}

func readRules(ctx context.Context, src *Source, q *Query) ([]ruleRecord, error) {
	fam, ok := familyFilter(q)
	if !ok {
		return nil, nil
	}
	list, err := src.readers().rule.rules(ctx, rtnl.RuleFilter{Family: fam})
	if err != nil || len(list) == 0 {
		return nil, err
	}
	// One CostEtc covers both /etc files: reading the other small file
	// too costs less than telling the columns apart.
	var names map[uint32]string
	if q.Needs(CostEtc) {
		if names, err = src.etc().routeTableNames(); err != nil {
			return nil, fmt.Errorf("rules: %w", err)
		}
	}
	var protos map[uint8]string
	if q.Needs(CostEtc) {
		protos = src.etc().protocolNames()
	}
	tables := &routeQuery{names: names}
	recs := make([]ruleRecord, len(list))
	for i, r := range list {
		rec := ruleRecord{r: r}
		if r.Table != 0 {
			rec.table = tables.tableName(r.Table)
		}
		if r.IPProto != nil {
			p := *r.IPProto
			if n, ok := protos[p]; ok {
				rec.proto = n
			} else {
				rec.proto = strconv.Itoa(int(p))
			}
		}
		recs[i] = rec
	}
	return recs, nil
}

// optInt is *p as an INTEGER, or NULL when p is nil.
func optInt[T uint8 | uint16 | uint32 | uint64 | int32](p *T) any {
	if p == nil {
		return nil
	}
	return int64(*p)
}

// rangeStart and rangeEnd are a range's bounds, NULL without a range.
func rangeStart(r *rtnl.Range) any {
	if r == nil {
		return nil
	}
	return int64(r.Start)
}

func rangeEnd(r *rtnl.Range) any {
	if r == nil {
		return nil
	}
	return int64(r.End)
}
