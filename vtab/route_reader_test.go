package vtab

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/netsql/netsql/vtab/rtnl"
)

// cannedRoute answers rtnetlink dumps with fixed objects, as a recorded
// reply would: the tables map whatever the Source's reader returns and
// dial nothing themselves.
type cannedRoute struct {
	links   []rtnl.Link
	addrs   []rtnl.Address
	routes  []rtnl.Route
	neighs  []rtnl.Neighbor
	rules   []rtnl.Rule
	dials   *int
	closeds *int
}

func (c cannedRoute) Links(context.Context, rtnl.LinkFilter) ([]rtnl.Link, error) {
	return c.links, nil
}
func (c cannedRoute) Addresses(context.Context, rtnl.AddrFilter) ([]rtnl.Address, error) {
	return c.addrs, nil
}
func (c cannedRoute) Routes(context.Context, rtnl.RouteFilter) ([]rtnl.Route, error) {
	return c.routes, nil
}
func (c cannedRoute) Neighbors(context.Context, rtnl.NeighFilter) ([]rtnl.Neighbor, error) {
	return c.neighs, nil
}
func (c cannedRoute) Rules(context.Context, rtnl.RuleFilter) ([]rtnl.Rule, error) {
	return c.rules, nil
}
func (c cannedRoute) Nexthops(context.Context) ([]rtnl.Nexthop, error) { return nil, nil }
func (c cannedRoute) Close() error                                     { *c.closeds++; return nil }

// TestTablesReadTheSourcesRouteReader: interfaces, addresses, routes,
// neighbors and rules read rtnetlink only through the Source, so a Source
// with canned objects answers them all with exactly those objects, and
// every reader opened is closed.
func TestTablesReadTheSourcesRouteReader(t *testing.T) {
	src, err := NewSource("", nil)
	if err != nil {
		t.Fatal(err)
	}
	var dials, closes int
	mac, _ := net.ParseMAC("02:00:5e:00:53:01")
	canned := cannedRoute{
		links: []rtnl.Link{{Index: 4242, Name: "canned0", MTU: 1400, Flags: unix.IFF_UP | unix.IFF_RUNNING, Type: unix.ARPHRD_ETHER, MAC: mac}},
		addrs: []rtnl.Address{{Index: 4242, Family: unix.AF_INET, Address: netip.MustParseAddr("192.0.2.5"), PrefixLen: 24, Scope: unix.RT_SCOPE_UNIVERSE, ValidLft: 0xFFFFFFFF, PreferredLft: 0xFFFFFFFF}},
		routes: []rtnl.Route{{Family: unix.AF_INET, Dst: netip.MustParsePrefix("198.51.100.0/24"), Gateway: netip.MustParseAddr("192.0.2.1"),
			OIF: 4242, Table: unix.RT_TABLE_MAIN, Type: unix.RTN_UNICAST, Priority: 7}},
		neighs: []rtnl.Neighbor{{Index: 4242, Family: unix.AF_INET, Address: netip.MustParseAddr("192.0.2.1"), MAC: mac, State: unix.NUD_REACHABLE}},
		rules:  []rtnl.Rule{{Family: unix.AF_INET, Priority: 4242, Action: unix.FR_ACT_TO_TBL, Table: 100}},
		dials:  &dials, closeds: &closes,
	}
	src.Route = func() (RouteReader, error) { dials++; return canned, nil }
	eng, err := Open(Options{Source: src})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	for stmt, want := range map[string][]string{
		"SELECT name, \"index\", mtu FROM interfaces":                                   {"canned0|4242|1400"},
		"SELECT interface, address, prefix_len FROM addresses":                          {"canned0|192.0.2.5|24"},
		"SELECT destination, gateway, interface, metric FROM routes":                    {"198.51.100.0|192.0.2.1|canned0|7"},
		"SELECT address, mac, interface, state FROM neighbors":                          {"192.0.2.1|02:00:5e:00:53:01|canned0|REACHABLE"},
		"SELECT priority, table_id FROM rules WHERE family = 'inet'":                    {"4242|100"},
		"SELECT count(*) FROM interfaces i JOIN addresses a ON a.ifindex = i.\"index\"": {"1"},
	} {
		if got := query(t, eng, stmt); !slices.Equal(got, want) {
			t.Errorf("%s: got %q, want %q", stmt, got, want)
		}
	}
	if dials == 0 || dials != closes {
		t.Errorf("opened %d readers, closed %d", dials, closes)
	}
}
