package rtnl

import (
	"net/netip"
	"reflect"
	"testing"

	"golang.org/x/sys/unix"
)

// nexthopMsg builds an RTM_NEWNEXTHOP payload.
func nexthopMsg(family byte, attrs ...[]byte) []byte {
	b := make([]byte, sizeofNhmsg)
	b[0] = family
	for _, a := range attrs {
		b = append(b, a...)
	}
	return b
}

func TestParseNexthop(t *testing.T) {
	gw := netip.MustParseAddr("192.0.2.3").As4()
	single, err := parseNexthop(nexthopMsg(unix.AF_INET,
		appendAttrU32(nil, unix.NHA_ID, 1), appendAttr(nil, unix.NHA_GATEWAY, gw[:]), appendAttrU32(nil, unix.NHA_OIF, 4)))
	if err != nil {
		t.Fatal(err)
	}
	if want := (Nexthop{ID: 1, Family: unix.AF_INET, Gateway: netip.AddrFrom4(gw), OIF: 4}); !reflect.DeepEqual(single, want) {
		t.Errorf("single: %+v, want %+v", single, want)
	}
	// group 1/2,3: weights are stored less one; weight_high adds 256s.
	grp := []byte{1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 255, 0, 0, 0}
	ne.PutUint32(grp[0:], 1)
	ne.PutUint32(grp[8:], 2)
	ne.PutUint32(grp[16:], 3)
	grp[21] = 0 // weight_high
	group, err := parseNexthop(nexthopMsg(unix.AF_UNSPEC, appendAttrU32(nil, unix.NHA_ID, 10), appendAttr(nil, unix.NHA_GROUP, grp)))
	if err != nil {
		t.Fatal(err)
	}
	if want := []NexthopMember{{1, 1}, {2, 3}, {3, 256}}; !reflect.DeepEqual(group.Group, want) {
		t.Errorf("group: %+v, want %+v", group.Group, want)
	}
	if _, err := parseNexthop(nexthopMsg(0, appendAttr(nil, unix.NHA_GROUP, grp[:7]))); err == nil {
		t.Error("a 7-byte NHA_GROUP parsed")
	}
	if _, err := parseNexthop([]byte{1, 2}); err == nil {
		t.Error("a short nhmsg parsed")
	}
}

// TestExpandNexthops: with nexthop_compat_mode=0 a route carries only its
// nexthop id; expanding gives what compatibility mode would have dumped.
func TestExpandNexthops(t *testing.T) {
	a, b := netip.MustParseAddr("192.0.2.3"), netip.MustParseAddr("192.0.2.1")
	nhs := []Nexthop{
		{ID: 1, Family: unix.AF_INET, Gateway: a, OIF: 4},
		{ID: 2, Family: unix.AF_INET, Gateway: b, OIF: 5},
		{ID: 5, Blackhole: true},
		{ID: 10, Group: []NexthopMember{{1, 1}, {2, 3}}},
	}
	base := Route{Family: unix.AF_INET, Dst: netip.MustParsePrefix("203.0.113.0/24"), Table: unix.RT_TABLE_MAIN, Type: unix.RTN_UNICAST, Priority: 7}
	grp, one, bh, unknown := base, base, base, base
	grp.NexthopID, one.NexthopID, bh.NexthopID, unknown.NexthopID = 10, 2, 5, 99
	bh.Type = unix.RTN_BLACKHOLE
	plain := base
	plain.OIF = 4
	got := ExpandNexthops([]Route{plain, grp, one, bh, unknown}, nhs)
	h0, h1 := grp, grp
	h0.Multipath, h0.Hop, h0.Weight, h0.Gateway, h0.OIF = true, 0, 1, a, 4
	h1.Multipath, h1.Hop, h1.Weight, h1.Gateway, h1.OIF = true, 1, 3, b, 5
	one.Gateway, one.OIF = b, 5
	bh.OIF = loopbackIndex
	want := []Route{plain, h0, h1, one, bh, unknown}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if !NeedsNexthops([]Route{plain, grp}) || NeedsNexthops([]Route{plain, h0}) {
		t.Error("NeedsNexthops")
	}
}
