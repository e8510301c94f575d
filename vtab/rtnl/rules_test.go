package rtnl

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"reflect"
	"testing"

	"golang.org/x/sys/unix"
)

// ParseRules decodes RTM_NEWRULE messages from b, a buffer of netlink
// messages as the kernel sends them; other message types are skipped.
func ParseRules(b []byte) ([]Rule, error) {
	var out []Rule
	err := parseMessages(b, unix.RTM_NEWRULE, func(p []byte) error {
		r, err := parseRule(p)
		if err != nil {
			return err
		}
		out = append(out, r)
		return nil
	})
	return out, err
}

// fibRuleHdr builds a struct fib_rule_hdr.
func fibRuleHdr(family, dstLen, srcLen, tos, table, action uint8, flags uint32) []byte {
	return ne.AppendUint32([]byte{family, dstLen, srcLen, tos, table, 0, 0, action}, flags)
}

func atU8(typ uint16, v uint8) []byte { return at(typ, []byte{v}) }
func atU16(typ uint16, v uint16) []byte {
	return at(typ, ne.AppendUint16(nil, v))
}
func atRange(typ uint16, start, end uint16) []byte {
	return at(typ, ne.AppendUint16(ne.AppendUint16(nil, start), end))
}
func atBE32(typ uint16, v uint32) []byte {
	return at(typ, binary.BigEndian.AppendUint32(nil, v))
}

func ptr[T any](v T) *T { return &v }

// cannedRules is a dump of four rules, as the kernel would send them:
// every FRA_* attribute appears in one of them.
func cannedRules() []byte {
	return cat(
		// 0: from all lookup local, from the kernel.
		nlmsg(unix.RTM_NEWRULE, unix.NLM_F_MULTI, 1, cat(fibRuleHdr(unix.AF_INET, 0, 0, 0, 255, unix.FR_ACT_TO_TBL, 0),
			atU32(unix.FRA_TABLE, 255), atU8(unix.FRA_PROTOCOL, unix.RTPROT_KERNEL))),
		// 110: not from 10.3.0.0/16 to 10.2.3.4 tos 0x10 iif lo oif eth0 fwmark 0x10/0xff
		// uidrange 1000-2000 ipproto tcp sport 1000-2000 dport 443 lookup 1000 (FRA_TABLE
		// beyond the header's u8) suppress_prefixlength 0, suppress_ifgroup unset (-1).
		nlmsg(unix.RTM_NEWRULE, unix.NLM_F_MULTI, 1, cat(fibRuleHdr(unix.AF_INET, 32, 16, 0x10, unix.RT_TABLE_COMPAT, unix.FR_ACT_TO_TBL, unix.FIB_RULE_INVERT),
			atU32(unix.FRA_PRIORITY, 110), at(unix.FRA_SRC, ip("10.3.0.0")), at(unix.FRA_DST, ip("10.2.3.4")),
			atStr(unix.FRA_IIFNAME, "lo"), atStr(unix.FRA_OIFNAME, "eth0"),
			atU32(unix.FRA_FWMARK, 0x10), atU32(unix.FRA_FWMASK, 0xff),
			at(unix.FRA_UID_RANGE, ne.AppendUint32(ne.AppendUint32(nil, 1000), 2000)),
			atU8(unix.FRA_IP_PROTO, unix.IPPROTO_TCP), atRange(unix.FRA_SPORT_RANGE, 1000, 2000),
			atRange(unix.FRA_DPORT_RANGE, 443, 443), atU16(fraDportMask, 0xffff),
			atU32(unix.FRA_TABLE, 1000), atU32(unix.FRA_SUPPRESS_PREFIXLEN, 0),
			atU32(unix.FRA_SUPPRESS_IFGROUP, 0xffffffff), atU8(unix.FRA_L3MDEV, 0))),
		// 140: goto 9999 [unresolved], fwmark 0/0xf (the kernel leaves FRA_FWMARK out).
		nlmsg(unix.RTM_NEWRULE, unix.NLM_F_MULTI, 1, cat(fibRuleHdr(unix.AF_INET, 0, 0, 0, 0, unix.FR_ACT_GOTO, unix.FIB_RULE_UNRESOLVED),
			atU32(unix.FRA_PRIORITY, 140), atU32(unix.FRA_GOTO, 9999), atU32(unix.FRA_FWMASK, 0xf))),
		// IPv6 200: from fd00::/8 dscp 10/0x3f flowlabel 0x12345/0xfffff tun_id 7
		// sport 80/0xff00 l3mdev, prohibit, proto bird; a neighbour message
		// in between is skipped.
		nlmsg(unix.RTM_NEWNEIGH, unix.NLM_F_MULTI, 1, ndmsg(unix.AF_INET, 1, unix.NUD_PERMANENT, 0, 1)),
		nlmsg(unix.RTM_NEWRULE, unix.NLM_F_MULTI, 1, cat(fibRuleHdr(unix.AF_INET6, 0, 8, 0, 0, unix.FR_ACT_PROHIBIT, unix.FIB_RULE_OIF_DETACHED|0x100),
			atU32(unix.FRA_PRIORITY, 200), at(unix.FRA_SRC, ip("fd00::")),
			atU8(fraDSCP, 10), atU8(fraDSCPMask, 0x3f), atBE32(fraFlowlabel, 0x12345), atBE32(fraFlowlabelMask, 0xfffff),
			at(unix.FRA_TUN_ID, binary.BigEndian.AppendUint64(nil, 7)),
			atRange(unix.FRA_SPORT_RANGE, 80, 80), atU16(fraSportMask, 0xff00), atU8(unix.FRA_L3MDEV, 1),
			atU8(unix.FRA_PROTOCOL, 12), at(99, []byte{1, 2, 3}))), // an attribute from the future: ignored
		nlmsg(unix.NLMSG_DONE, unix.NLM_F_MULTI, 1, make([]byte, 4)),
	)
}

func TestParseRules(t *testing.T) {
	got, err := ParseRules(cannedRules())
	if err != nil {
		t.Fatal(err)
	}
	want := []Rule{
		{Family: unix.AF_INET, Action: unix.FR_ACT_TO_TBL, Table: 255, Protocol: unix.RTPROT_KERNEL},
		{Family: unix.AF_INET, Priority: 110, Action: unix.FR_ACT_TO_TBL, Flags: unix.FIB_RULE_INVERT, Table: 1000,
			Src: netip.MustParseAddr("10.3.0.0"), SrcLen: 16, Dst: netip.MustParseAddr("10.2.3.4"), DstLen: 32, TOS: 0x10,
			IIF: "lo", OIF: "eth0", FwMark: ptr[uint32](0x10), FwMask: ptr[uint32](0xff),
			UIDRange: &Range{1000, 2000}, IPProto: ptr[uint8](unix.IPPROTO_TCP),
			SportRange: &Range{1000, 2000}, DportRange: &Range{443, 443}, DportMask: ptr[uint16](0xffff),
			SuppressPrefixLen: ptr[int32](0)},
		{Family: unix.AF_INET, Priority: 140, Action: unix.FR_ACT_GOTO, Flags: unix.FIB_RULE_UNRESOLVED,
			Goto: ptr[uint32](9999), FwMark: ptr[uint32](0), FwMask: ptr[uint32](0xf)},
		{Family: unix.AF_INET6, Priority: 200, Action: unix.FR_ACT_PROHIBIT, Flags: unix.FIB_RULE_OIF_DETACHED | 0x100, Protocol: 12,
			Src: netip.MustParseAddr("fd00::"), SrcLen: 8, DSCP: ptr[uint8](10), DSCPMask: ptr[uint8](0x3f),
			Flowlabel: ptr[uint32](0x12345), FlowMask: ptr[uint32](0xfffff), TunID: ptr[uint64](7),
			SportRange: &Range{80, 80}, SportMask: ptr[uint16](0xff00), L3MDev: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseRules:\n got %+v\nwant %+v", got, want)
	}
	names := []string{got[0].ActionName(), got[2].ActionName(), got[3].ActionName(), RuleActionName(42)}
	if !reflect.DeepEqual(names, []string{"lookup", "goto", "prohibit", "42"}) {
		t.Errorf("action names %q", names)
	}
	if f := RuleFlagNames(got[3].Flags); !reflect.DeepEqual(f, []string{"oif_detached", "0x100"}) {
		t.Errorf("RuleFlagNames(%#x) = %q", got[3].Flags, f)
	}
	if a := RuleActions(); len(a) != 9 || a[1] != "lookup" || a[8] != "prohibit" {
		t.Errorf("RuleActions() = %q", a)
	}
}

func TestParseRuleMalformed(t *testing.T) {
	for name, b := range map[string][]byte{
		"short header":           nlmsg(unix.RTM_NEWRULE, 0, 1, make([]byte, 8)),
		"attribute past the end": nlmsg(unix.RTM_NEWRULE, 0, 1, cat(fibRuleHdr(unix.AF_INET, 0, 0, 0, 0, 1, 0), []byte{40, 0, 6, 0, 1, 0, 0, 0})),
	} {
		if _, err := ParseRules(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err %v, want ErrMalformed", name, err)
		}
	}
	// Attributes shorter than their type are ignored, not read past.
	b := nlmsg(unix.RTM_NEWRULE, 0, 1, cat(fibRuleHdr(unix.AF_INET, 0, 0, 0, 0, 1, 0),
		at(unix.FRA_PRIORITY, []byte{1}), at(unix.FRA_UID_RANGE, []byte{1, 2}), at(unix.FRA_SPORT_RANGE, nil),
		at(unix.FRA_TUN_ID, []byte{1}), at(fraDSCP, nil)))
	got, err := ParseRules(b)
	if err != nil || len(got) != 1 || got[0].UIDRange != nil || got[0].SportRange != nil || got[0].TunID != nil || got[0].DSCP != nil {
		t.Errorf("short attributes: %+v, %v", got, err)
	}
}

// TestRuleRequest: the dump request is a bare fib_rule_hdr naming the
// family, which the kernel's strict checking accepts.
func TestRuleRequest(t *testing.T) {
	want := []byte{unix.AF_INET6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	if got := ruleRequest(unix.AF_INET6); !reflect.DeepEqual(got, want) {
		t.Errorf("ruleRequest = %v, want %v", got, want)
	}
}

func FuzzParseRules(f *testing.F) {
	f.Add(cannedRules())
	for _, m := range cannedMessages() {
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		rules, _ := ParseRules(b)
		for i := range rules {
			RuleFlagNames(rules[i].Flags)
			rules[i].ActionName()
		}
	})
}
