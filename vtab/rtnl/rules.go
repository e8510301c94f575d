package rtnl

import (
	"context"
	"encoding/binary"
	"net/netip"
	"strconv"

	"golang.org/x/sys/unix"
)

// sizeofFibRuleHdr is struct fib_rule_hdr: family, dst_len, src_len, tos,
// table, res1, res2, action, then u32 flags.
const sizeofFibRuleHdr = 12

// FRA_* attributes newer than golang.org/x/sys/unix (linux/fib_rules.h).
const (
	fraDSCP          = 25 // u8, Linux 6.15
	fraFlowlabel     = 26 // be32, IPv6 only
	fraFlowlabelMask = 27 // be32
	fraSportMask     = 28 // u16
	fraDportMask     = 29 // u16
	fraDSCPMask      = 30 // u8
)

// Rule is one policy routing rule (ip rule) as RTM_NEWRULE describes it.
// Optional selectors are nil or unset when the rule does not match on them.
type Rule struct {
	Family   int    // unix.AF_INET or unix.AF_INET6
	Priority uint32 // FRA_PRIORITY; 0 when absent, as ip prints it
	Action   uint8  // FR_ACT_*
	Flags    uint32 // FIB_RULE_* (frh flags)
	Table    uint32 // FRA_TABLE, else the header's table; 0 for none
	Protocol uint8  // FRA_PROTOCOL: who installed the rule (RTPROT_*)

	Src    netip.Addr // FRA_SRC; invalid when the rule matches any source
	SrcLen uint8
	Dst    netip.Addr // FRA_DST; invalid when the rule matches any destination
	DstLen uint8
	TOS    uint8 // 0: no tos selector

	IIF string // FRA_IIFNAME; "" for none
	OIF string // FRA_OIFNAME; "" for none

	FwMark     *uint32 // FRA_FWMARK (present with FwMask when either is set)
	FwMask     *uint32 // FRA_FWMASK
	Goto       *uint32 // FRA_GOTO: the priority a goto rule jumps to
	L3MDev     bool    // FRA_L3MDEV: the table comes from the l3mdev (VRF) device
	UIDRange   *Range  // FRA_UID_RANGE
	IPProto    *uint8  // FRA_IP_PROTO
	SportRange *Range  // FRA_SPORT_RANGE
	DportRange *Range  // FRA_DPORT_RANGE
	SportMask  *uint16 // FRA_SPORT_MASK
	DportMask  *uint16 // FRA_DPORT_MASK
	DSCP       *uint8  // FRA_DSCP
	DSCPMask   *uint8  // FRA_DSCP_MASK
	Flowlabel  *uint32 // FRA_FLOWLABEL (host order)
	FlowMask   *uint32 // FRA_FLOWLABEL_MASK (host order)
	TunID      *uint64 // FRA_TUN_ID (host order)

	// SuppressPrefixLen and SuppressIfGroup are nil when unset (the
	// kernel's -1).
	SuppressPrefixLen *int32
	SuppressIfGroup   *int32
}

// Range is an inclusive range of uids or ports.
type Range struct{ Start, End uint32 }

// parseRule parses one RTM_NEWRULE payload (fib_rule_hdr + FRA_* attributes).
func parseRule(p []byte) (Rule, error) {
	if len(p) < sizeofFibRuleHdr {
		return Rule{}, malformed("rule message of %d bytes", len(p))
	}
	r := Rule{
		Family: int(p[0]), DstLen: p[1], SrcLen: p[2], TOS: p[3],
		Table: uint32(p[4]), Action: p[7], Flags: ne.Uint32(p[8:12]),
	}
	attrs, err := parseAttrs(p[sizeofFibRuleHdr:])
	if err != nil {
		return r, err
	}
	for _, a := range attrs {
		v := a.Value
		switch a.Type {
		case unix.FRA_SRC:
			if r.Src, _ = ipAddr(v); r.SrcLen == 0 {
				r.Src = netip.Addr{}
			}
		case unix.FRA_DST:
			if r.Dst, _ = ipAddr(v); r.DstLen == 0 {
				r.Dst = netip.Addr{}
			}
		case unix.FRA_IIFNAME:
			r.IIF = cstring(v)
		case unix.FRA_OIFNAME:
			r.OIF = cstring(v)
		case unix.FRA_PRIORITY:
			r.Priority, _ = u32(v)
		case unix.FRA_TABLE:
			if t, ok := u32(v); ok {
				r.Table = t
			}
		case unix.FRA_GOTO:
			r.Goto = optU32(v)
		case unix.FRA_FWMARK:
			r.FwMark = optU32(v)
		case unix.FRA_FWMASK:
			r.FwMask = optU32(v)
		case unix.FRA_SUPPRESS_PREFIXLEN:
			r.SuppressPrefixLen = optSigned(v)
		case unix.FRA_SUPPRESS_IFGROUP:
			r.SuppressIfGroup = optSigned(v)
		case unix.FRA_L3MDEV:
			r.L3MDev = len(v) > 0 && v[0] != 0
		case unix.FRA_UID_RANGE:
			if len(v) >= 8 {
				r.UIDRange = &Range{ne.Uint32(v[0:4]), ne.Uint32(v[4:8])}
			}
		case unix.FRA_PROTOCOL:
			if len(v) >= 1 {
				r.Protocol = v[0]
			}
		case unix.FRA_IP_PROTO:
			r.IPProto = optU8(v)
		case unix.FRA_SPORT_RANGE:
			r.SportRange = portRange(v)
		case unix.FRA_DPORT_RANGE:
			r.DportRange = portRange(v)
		case fraSportMask:
			r.SportMask = optU16(v)
		case fraDportMask:
			r.DportMask = optU16(v)
		case fraDSCP:
			r.DSCP = optU8(v)
		case fraDSCPMask:
			r.DSCPMask = optU8(v)
		case fraFlowlabel:
			r.Flowlabel = optBE32(v)
		case fraFlowlabelMask:
			r.FlowMask = optBE32(v)
		case unix.FRA_TUN_ID:
			if len(v) >= 8 {
				id := binary.BigEndian.Uint64(v)
				r.TunID = &id
			}
		}
	}
	if r.FwMask != nil && r.FwMark == nil {
		// The kernel leaves FRA_FWMARK out for mark 0 (fwmark 0/MASK).
		var zero uint32
		r.FwMark = &zero
	}
	return r, nil
}

func optU8(v []byte) *uint8 {
	if len(v) < 1 {
		return nil
	}
	x := v[0]
	return &x
}

func optU16(v []byte) *uint16 {
	if len(v) < 2 {
		return nil
	}
	x := ne.Uint16(v)
	return &x
}

func optU32(v []byte) *uint32 {
	x, ok := u32(v)
	if !ok {
		return nil
	}
	return &x
}

func optBE32(v []byte) *uint32 {
	if len(v) < 4 {
		return nil
	}
	x := binary.BigEndian.Uint32(v)
	return &x
}

// optSigned reads a u32 the kernel uses as a signed value with -1 for
// "unset" (suppress_prefixlength, suppress_ifgroup): nil for -1.
func optSigned(v []byte) *int32 {
	x, ok := u32(v)
	if !ok || int32(x) == -1 {
		return nil
	}
	s := int32(x)
	return &s
}

// portRange reads struct fib_rule_port_range (u16 start, u16 end).
func portRange(v []byte) *Range {
	if len(v) < 4 {
		return nil
	}
	return &Range{uint32(ne.Uint16(v[0:2])), uint32(ne.Uint16(v[2:4]))}
}

// ruleRequest is the RTM_GETRULE dump request body for one family: a
// fib_rule_hdr with only the family set, as the kernel's strict checking
// demands (any other field, or an attribute, is refused with EINVAL).
func ruleRequest(family int) []byte {
	body := make([]byte, sizeofFibRuleHdr)
	body[0] = byte(family)
	return body
}

// RuleFilter selects policy routing rules. The zero value selects the
// IPv4 and IPv6 rules.
type RuleFilter struct {
	Family int // unix.AF_INET, unix.AF_INET6, or 0 for both
}

// Rules dumps the IPv4 and IPv6 policy routing rules (RTM_GETRULE), in
// the kernel's order (by priority), one dump per family with the family in
// the request: the kernel then sends only that family's rules (an
// AF_UNSPEC dump would add the multicast routing families' rules too).
func (c *Client) Rules(ctx context.Context, f RuleFilter) ([]Rule, error) {
	if !wantFamily(f.Family) {
		return nil, nil
	}
	families := []int{unix.AF_INET, unix.AF_INET6}
	if f.Family != 0 {
		families = []int{f.Family}
	}
	var all []Rule
	for _, fam := range families {
		var got []Rule
		err := c.dump(ctx, "rules", unix.RTM_GETRULE, ruleRequest(fam), func() { got = got[:0] }, func(m message) error {
			if m.Type != unix.RTM_NEWRULE {
				return nil
			}
			r, err := parseRule(m.Payload)
			if err != nil {
				return err
			}
			if r.Family == fam {
				got = append(got, r)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		all = append(all, got...)
	}
	return all, nil
}

// ruleActionNames names FR_ACT_* values with the word ip rule uses for
// the action: lookup (FR_ACT_TO_TBL), goto, nop, blackhole, unreachable,
// prohibit.
var ruleActionNames = map[uint8]string{
	unix.FR_ACT_UNSPEC: "unspec", unix.FR_ACT_TO_TBL: "lookup", unix.FR_ACT_GOTO: "goto",
	unix.FR_ACT_NOP: "nop", unix.FR_ACT_RES3: "res3", unix.FR_ACT_RES4: "res4",
	unix.FR_ACT_BLACKHOLE: "blackhole", unix.FR_ACT_UNREACHABLE: "unreachable",
	unix.FR_ACT_PROHIBIT: "prohibit",
}

// RuleActions lists every action name RuleActionName returns for a known
// action, in FR_ACT_* order.
func RuleActions() []string {
	out := make([]string, 0, len(ruleActionNames))
	for a := uint8(0); int(a) < len(ruleActionNames); a++ {
		out = append(out, ruleActionNames[a])
	}
	return out
}

// RuleActionName names an FR_ACT_* value (see ruleActionNames); unknown
// values become their number.
func RuleActionName(a uint8) string {
	if s, ok := ruleActionNames[a]; ok {
		return s
	}
	return strconv.Itoa(int(a))
}

// ActionName names the rule's action, as RuleActionName does.
func (r *Rule) ActionName() string { return RuleActionName(r.Action) }

var ruleFlagNames = []bitName[uint32]{
	{unix.FIB_RULE_PERMANENT, "permanent"}, {unix.FIB_RULE_INVERT, "invert"},
	{unix.FIB_RULE_UNRESOLVED, "unresolved"}, {unix.FIB_RULE_IIF_DETACHED, "iif_detached"},
	{unix.FIB_RULE_OIF_DETACHED, "oif_detached"}, {unix.FIB_RULE_FIND_SADDR, "find_saddr"},
}

// RuleFlagNames lists FIB_RULE_* bits by name, as ip -j rule show names
// the ones it prints (unresolved, iif_detached, oif_detached); others as
// in linux/fib_rules.h, unknown bits in hex.
func RuleFlagNames(flags uint32) []string {
	out := bitNames(flags, ruleFlagNames)
	var known uint32
	for _, b := range ruleFlagNames {
		known |= b.bit
	}
	if rest := flags &^ known; rest != 0 {
		out = append(out, "0x"+strconv.FormatUint(uint64(rest), 16))
	}
	return out
}
