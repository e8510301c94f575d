package vtab

import (
	"strings"
	"testing"

	"github.com/netsql/netsql/vtab/internal/nstest"
)

// routeKeyCols are the routes columns that identify a route in the tests
// below.
const routeKeyCols = `family, destination, prefix_len, ifnull(gateway, ''), ifnull(interface, ''), metric`

// TestLiveRoutesRowsIndependentOfRefcnt: the rows of routes are the same
// whether or not a query selects refcnt and use (the columns only /proc
// carries); those are joined from net/ipv6_route and net/route by route
// key, and net/ipv6_route's own lines (the kernel's ::/0 reject entry
// included) are the table ipv6_route_lines.
func TestLiveRoutesRowsIndependentOfRefcnt(t *testing.T) {
	n := nstest.New(t, "netsql-rtref-", "vrr")
	n.IP(t, "-6", "route", "add", "fd00:10::/64", "via", "fd00:9::1")
	n.IP(t, "-6", "route", "add", "fd00:11::/64", "via", "fd00:9::1", "table", "100")
	n.IP(t, "-6", "route", "add", "blackhole", "fd00:13::/64")
	n.IP(t, "-6", "route", "add", "fd00:12::/64", "nexthop", "via", "fd00:9::1", "nexthop", "via", "fd00:9::3")
	n.IP(t, "route", "add", "10.10.0.0/24", "via", "10.9.0.1")
	eng := liveEngine(t)

	plain := func() []string {
		return query(t, eng, "SELECT "+routeKeyCols+" FROM routes WHERE netns_name = ?", n.NS)
	}
	withProc := func() []string {
		return query(t, eng, "SELECT "+routeKeyCols+" FROM routes WHERE netns_name = ? AND ifnull(refcnt, 0) + ifnull(use, 0) >= 0", n.NS)
	}
	rows, err := nstest.Agree(t, 40, 8, plain, withProc)
	if err != nil {
		t.Fatalf("routes rows change when refcnt and use are used: %v", err)
	}
	for _, want := range []string{"inet6|fd00:10::|64|fd00:9::1|vrr|", "inet6|fd00:11::|64|fd00:9::1|vrr|",
		"inet6|fd00:12::|64|fd00:9::3|vrr|", "inet6|fd00:13::|64||lo|", "inet|10.10.0.0|24|10.9.0.1|vrr|"} {
		found := false
		for _, r := range rows {
			found = found || strings.HasPrefix(r, want)
		}
		if !found {
			t.Errorf("no row %s… in %q", want, rows)
		}
	}

	// refcnt and use are known for the routes net/ipv6_route and
	// net/route list, the same value as in that file.
	for _, dst := range []string{"fd00:10::", "fd00:11::", "fd00:13::", "10.10.0.0"} {
		got := query(t, eng, "SELECT typeof(refcnt), typeof(use) FROM routes WHERE netns_name = ? AND destination = ?", n.NS, dst)
		if len(got) != 1 || got[0] != "integer|integer" {
			t.Errorf("%s: refcnt, use types %q, want one integer|integer row", dst, got)
		}
	}
	// The multipath route's two next hops are two lines of net/ipv6_route.
	if got := query(t, eng, "SELECT count(*) FROM routes WHERE netns_name = ? AND destination = 'fd00:12::' AND refcnt IS NOT NULL", n.NS); strings.Join(got, "") != "2" {
		t.Errorf("fd00:12::/64 next hops with refcnt: %q, want 2", got)
	}

	// ipv6_route_lines is net/ipv6_route: the routes of every table and the
	// kernel's reject entry, which rtnetlink does not list.
	lines := query(t, eng, "SELECT destination || '/' || prefix_len || ' ' || ifnull(gateway, '::') || ' ' || flags || ' ' || ifnull(interface, '') FROM ipv6_route_lines WHERE netns_name = ?", n.NS)
	for _, want := range []string{"fd00:10::/64 fd00:9::1 UG vrr", "fd00:11::/64 fd00:9::1 UG vrr", "fd00:13::/64 :: !n lo", "::/0 :: !n lo"} {
		found := false
		for _, l := range lines {
			found = found || l == want
		}
		if !found {
			t.Errorf("ipv6_route_lines has no line %q: %q", want, lines)
		}
	}
}
