package rtnl

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/netsql/netsql/vtab/internal/nstest"
	"golang.org/x/sys/unix"
)

// liveNS builds a network namespace for the live tests and returns it and
// a Client opened inside it. The veth pair is created in a second "peer"
// namespace and one end moved into the test namespace, so the root
// namespace is never touched and no traffic leaves the two.
//
// Test namespace (NS): lo, vtest 10.9.0.2/24 fd00:9::2/64
// Peer namespace (NS-p): vpeer 10.9.0.1/24 fd00:9::1/64
func liveNS(t *testing.T) (*nstest.Net, *Client) {
	t.Helper()
	n := nstest.New(t, "netsql-rtnl-", "vtest")
	c, err := DialNetNS(n.Path())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })

	in := func(args ...string) { n.IP(t, args...) }
	in("route", "add", "10.10.0.0/24", "via", "10.9.0.1", "table", "100")
	in("route", "add", "blackhole", "10.11.0.0/24")
	in("-6", "route", "add", "fd00:10::/64", "via", "fd00:9::1")
	in("route", "add", "10.12.0.0/24", "nexthop", "via", "10.9.0.1", "weight", "1", "nexthop", "via", "10.9.0.3", "weight", "2")
	in("-6", "route", "add", "fd00:12::/64", "nexthop", "via", "fd00:9::1", "nexthop", "via", "fd00:9::3")
	in("neigh", "add", "10.9.0.5", "lladdr", "02:00:00:00:00:05", "dev", "vtest", "nud", "permanent")
	return n, c
}

func TestLiveNamespace(t *testing.T) {
	ns, c := liveNS(t)
	ctx := context.Background()
	t.Logf("strict checking: %v", c.strict)
	if !c.strict {
		t.Log("kernel refused NETLINK_GET_STRICT_CHK; table filter runs in userspace")
	}

	t.Run("links", func(t *testing.T) {
		links, err := c.Links(ctx, LinkFilter{})
		if err != nil {
			t.Fatal(err)
		}
		byName := map[string]Link{}
		for _, l := range links {
			byName[l.Name] = l
		}
		if len(links) != 2 || byName["lo"].Index == 0 || byName["vtest"].Index == 0 {
			t.Fatalf("links %+v, want lo and vtest", links)
		}
		lo, v := byName["lo"], byName["vtest"]
		if lo.TypeName() != "loopback" || lo.OperStateName() != "UNKNOWN" || !lo.Up() || lo.MTU != 65536 {
			t.Errorf("lo: %+v", lo)
		}
		if v.Kind != "veth" || v.TypeName() != "ether" || v.OperStateName() != "UP" || !v.Up() ||
			v.MTU != 1500 || len(v.MAC) != 6 || v.LinkIndex == 0 || v.MasterIndex != 0 || !v.HasStats {
			t.Errorf("vtest: %+v", v)
		}
		for _, f := range []LinkFilter{{Name: "vtest"}, {Index: v.Index}, {Index: v.Index, Name: "vtest"}} {
			got, err := c.Links(ctx, f)
			if err != nil || len(got) != 1 || got[0].Name != "vtest" {
				t.Errorf("Links(%+v) = %+v, %v", f, got, err)
			}
		}
		for _, f := range []LinkFilter{{Name: "nosuchlink"}, {Index: 9999}, {Index: v.Index, Name: "lo"}, {Name: "a-name-that-is-too-long"}} {
			got, err := c.Links(ctx, f)
			if err != nil || len(got) != 0 {
				t.Errorf("Links(%+v) = %+v, %v; want none", f, got, err)
			}
		}
	})

	t.Run("addresses", func(t *testing.T) {
		addrs, err := c.Addresses(ctx, AddrFilter{})
		if err != nil {
			t.Fatal(err)
		}
		vt := linkIndex(t, c, "vtest")
		var got []string
		for _, a := range addrs {
			if a.Scope == unix.RT_SCOPE_LINK && a.Address.IsLinkLocalUnicast() {
				continue // the kernel's fe80:: address
			}
			got = append(got, fmt.Sprintf("%s %d %s %s", a.Prefix(), a.Index, a.ScopeName(), strings.Join(a.FlagNames(), ",")))
		}
		slices.Sort(got)
		want := []string{
			fmt.Sprintf("10.9.0.2/24 %d global permanent", vt),
			"127.0.0.1/8 1 host permanent",
			"::1/128 1 host permanent",
			fmt.Sprintf("fd00:9::2/64 %d global permanent,nodad", vt),
		}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("addresses:\n got %q\nwant %q", got, want)
		}
		v6, err := c.Addresses(ctx, AddrFilter{Family: unix.AF_INET6, Index: vt})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range v6 {
			if a.Family != unix.AF_INET6 || a.Index != vt || a.ValidLft != Forever {
				t.Errorf("filtered address %+v", a)
			}
		}
		if len(v6) != 2 { // fd00:9::2 and fe80::
			t.Errorf("IPv6 addresses on vtest: %+v", v6)
		}
	})

	t.Run("routes", func(t *testing.T) {
		routes, err := c.Routes(ctx, RouteFilter{})
		if err != nil {
			t.Fatal(err)
		}
		vt := linkIndex(t, c, "vtest")
		find := func(dst string) []Route {
			var out []Route
			for _, r := range routes {
				if r.Dst == netip.MustParsePrefix(dst) {
					out = append(out, r)
				}
			}
			return out
		}
		if r := find("10.10.0.0/24"); len(r) != 1 || r[0].Table != 100 || r[0].Gateway != netip.MustParseAddr("10.9.0.1") ||
			r[0].OIF != vt || r[0].ProtocolName() != "boot" || r[0].TypeName() != "unicast" || r[0].Multipath {
			t.Errorf("table 100 route: %+v", r)
		}
		if r := find("10.11.0.0/24"); len(r) != 1 || r[0].TypeName() != "blackhole" || r[0].TableName() != "main" || r[0].OIF != 0 {
			t.Errorf("blackhole route: %+v", r)
		}
		if r := find("fd00:10::/64"); len(r) != 1 || r[0].Gateway != netip.MustParseAddr("fd00:9::1") ||
			r[0].Priority != 1024 || r[0].PrefName() != "medium" || r[0].OIF != vt {
			t.Errorf("IPv6 gateway route: %+v", r)
		}
		mp := find("10.12.0.0/24")
		if len(mp) != 2 || !mp[0].Multipath || !mp[1].Multipath ||
			mp[0].Gateway != netip.MustParseAddr("10.9.0.1") || mp[0].Weight != 1 ||
			mp[1].Gateway != netip.MustParseAddr("10.9.0.3") || mp[1].Weight != 2 || mp[0].OIF != vt || mp[1].OIF != vt {
			t.Errorf("multipath route: %+v", mp)
		}

		mp6 := find("fd00:12::/64")
		if len(mp6) != 2 || !mp6[0].Multipath || mp6[0].Gateway != netip.MustParseAddr("fd00:9::1") ||
			mp6[1].Gateway != netip.MustParseAddr("fd00:9::3") || mp6[0].Weight != 1 || mp6[1].Weight != 1 || mp6[0].Priority != 1024 {
			t.Errorf("IPv6 multipath route: %+v", mp6)
		}

		t100, err := c.Routes(ctx, RouteFilter{Table: 100})
		if err != nil || len(t100) != 1 || t100[0].Dst != netip.MustParsePrefix("10.10.0.0/24") {
			t.Errorf("Routes(table 100) = %+v, %v", t100, err)
		}
		// The same answers when the table filter runs in userspace, as on
		// kernels without strict checking.
		c.mu.Lock()
		strict := c.strict
		c.strict = false
		c.mu.Unlock()
		u100, err := c.Routes(ctx, RouteFilter{Table: 100})
		none, err2 := c.Routes(ctx, RouteFilter{Table: 4242})
		c.mu.Lock()
		c.strict = strict
		c.mu.Unlock()
		if err != nil || err2 != nil || !slices.Equal(u100, t100) || len(none) != 0 {
			t.Errorf("userspace table filter: %+v %v / %+v %v", u100, err, none, err2)
		}
		for _, f := range []RouteFilter{{Table: 4242}, {Table: 100, Family: unix.AF_INET6}, {OIF: 9999}} {
			got, err := c.Routes(ctx, f)
			if err != nil || len(got) != 0 {
				t.Errorf("Routes(%+v) = %+v, %v; want none", f, got, err)
			}
		}
		local, err := c.Routes(ctx, RouteFilter{Table: unix.RT_TABLE_LOCAL, Family: unix.AF_INET6})
		if err != nil || len(local) == 0 {
			t.Errorf("Routes(local, v6) = %+v, %v", local, err)
		}
		for _, r := range local {
			if r.Table != unix.RT_TABLE_LOCAL || r.Family != unix.AF_INET6 {
				t.Errorf("filtered route %+v", r)
			}
		}
		onLo, err := c.Routes(ctx, RouteFilter{OIF: 1})
		if err != nil || len(onLo) == 0 {
			t.Errorf("Routes(oif lo) = %+v, %v", onLo, err)
		}
		for _, r := range onLo {
			if r.OIF != 1 {
				t.Errorf("filtered route %+v", r)
			}
		}
	})

	t.Run("routes vs ip route", func(t *testing.T) {
		// The tables are not still yet: when duplicate address detection
		// on vtest's link-local address ends (1 to 2 s after the link came
		// up, later than this test gets here unless the machine is busy),
		// the kernel adds its local route. Retry until a read of ours,
		// ip's read and a second read of ours all agree.
		names := linkNames(t, c)
		ours := func() []string {
			routes, err := c.Routes(ctx, RouteFilter{})
			if err != nil {
				t.Fatal(err)
			}
			var rows []string
			for _, r := range routes {
				rows = append(rows, routeRow(ipDst(r.Dst), r.Gateway.String(), names[r.OIF], r.TableName(),
					r.ProtocolName(), r.ScopeName(), r.TypeName(), fmt.Sprint(r.Priority), srcString(r.Src), r.Weight))
			}
			slices.Sort(rows)
			return rows
		}
		rows, err := nstest.Agree(t, 40, 15, ours, func() []string { return ipRouteRows(t, ns) })
		if err != nil {
			t.Errorf("routes differ from ip route: %v", err)
			return
		}
		t.Logf("%d route rows match ip route:\n  %s", len(rows), strings.Join(rows, "\n  "))
	})

	t.Run("link counters vs ip -s link", func(t *testing.T) {
		// Counters move if the kernel sends anything (IPv6 MLD reports,
		// router solicitations) between the two reads: retry until a
		// read of ours, ip's read and a second read of ours all agree.
		rows, err := nstest.Agree(t, 40, 0, func() []string { return linkRows(t, c) }, func() []string { return ipLinkRows(t, ns) })
		if err != nil {
			t.Errorf("links differ from ip -s -s link: %v", err)
			return
		}
		t.Logf("links match ip -s -s link:\n  %s", strings.Join(rows, "\n  "))
	})

	t.Run("neighbours", func(t *testing.T) {
		vt := linkIndex(t, c, "vtest")
		ns4, err := c.Neighbors(ctx, NeighFilter{Family: unix.AF_INET, Index: vt})
		if err != nil {
			t.Fatal(err)
		}
		var perm []Neighbor
		for _, n := range ns4 {
			if n.State == unix.NUD_PERMANENT {
				perm = append(perm, n)
			}
		}
		if len(perm) != 1 || perm[0].Address != netip.MustParseAddr("10.9.0.5") ||
			perm[0].MAC.String() != "02:00:00:00:00:05" || perm[0].StateName() != "PERMANENT" || perm[0].Router {
			t.Errorf("permanent neighbours %+v", perm)
		}
	})

	t.Run("neighbours vs ip neigh", func(t *testing.T) {
		names := linkNames(t, c)
		var diff string
		for attempt := 0; attempt < 20; attempt++ {
			all, err := c.Neighbors(ctx, NeighFilter{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, n := range all {
				got = append(got, fmt.Sprintf("%s dev %s lladdr %s %s router=%v", n.Address, names[n.Index], n.MAC, strings.Join(n.StateNames(), ","), n.Router))
			}
			var want []string
			for _, nb := range ns.Neighbors(t) {
				want = append(want, fmt.Sprintf("%s dev %s lladdr %s %s router=%v", nb.Dst, nb.Dev, nb.LLAddr, strings.Join(nb.States, ","), nb.Router))
			}
			slices.Sort(got)
			slices.Sort(want)
			if slices.Equal(got, want) {
				t.Logf("neighbours match ip neigh show nud all:\n  %s", strings.Join(got, "\n  "))
				return
			}
			diff = nstest.RowsDiff(got, want)
			time.Sleep(250 * time.Millisecond)
		}
		t.Errorf("neighbours differ from ip neigh:\n%s", diff)
	})
}

// ipRouteRows renders ip -j -d route show table all (both families) in
// ns as routeRow rows, sorted.
func ipRouteRows(t *testing.T, ns *nstest.Net) []string {
	t.Helper()
	var want []string
	for _, r := range ns.Routes(t) {
		gw := r.Gateway
		if gw == "" {
			gw = "invalid IP"
		}
		want = append(want, routeRow(r.Dst, gw, r.Dev, r.Table, r.Protocol, r.Scope, r.Type, r.Metric, r.PrefSrc, r.Weight))
	}
	slices.Sort(want)
	return want
}

func routeRow(dst, gw, dev, table, proto, scope, typ, metric, src string, weight int) string {
	return fmt.Sprintf("%s via %s dev %s table %s proto %s scope %s type %s metric %s src %s weight %d",
		dst, gw, dev, table, proto, scope, typ, metric, src, weight)
}

// ipDst formats a destination as ip(8) does: "default", a bare address for
// a host route, else the prefix.
func ipDst(p netip.Prefix) string {
	switch p.Bits() {
	case 0:
		return "default"
	case p.Addr().BitLen():
		return p.Addr().String()
	}
	return p.String()
}

func srcString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

func linkIndex(t *testing.T, c *Client, name string) int {
	t.Helper()
	ls, err := c.Links(context.Background(), LinkFilter{Name: name})
	if err != nil || len(ls) != 1 {
		t.Fatalf("link %s: %+v, %v", name, ls, err)
	}
	return ls[0].Index
}

func linkNames(t *testing.T, c *Client) map[int]string {
	t.Helper()
	ls, err := c.Links(context.Background(), LinkFilter{})
	if err != nil {
		t.Fatal(err)
	}
	m := map[int]string{}
	for _, l := range ls {
		m[l.Index] = l.Name
	}
	return m
}

func linkRows(t *testing.T, c *Client) []string {
	t.Helper()
	ls, err := c.Links(context.Background(), LinkFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, l := range ls {
		s := l.Stats
		rows = append(rows, fmt.Sprintf("%d %s mtu %d %s txqlen %d %s %s qdisc %s rx %d %d %d %d %d %d %d %d %d %d %d tx %d %d %d %d %d %d %d %d %d %d",
			l.Index, l.Name, l.MTU, l.OperStateName(), l.TxQueueLen, l.TypeName(), l.MAC, l.Qdisc,
			s.RxBytes, s.RxPackets, s.RxErrors, s.RxDropped, s.RxOverErrors, s.Multicast,
			s.RxLengthErrors, s.RxCRCErrors, s.RxFrameErrors, s.RxFIFOErrors, s.RxMissedErrors,
			s.TxBytes, s.TxPackets, s.TxErrors, s.TxDropped, s.TxCarrierErrors, s.Collisions,
			s.TxAbortedErrors, s.TxFIFOErrors, s.TxWindowErrors, s.TxHeartbeatErrors))
	}
	slices.Sort(rows)
	return rows
}

// ipLinkRows renders ip -j -s -s link show in ns as linkRows rows, sorted.
func ipLinkRows(t *testing.T, ns *nstest.Net) []string {
	t.Helper()
	var rows []string
	for _, l := range ns.Links(t) {
		m, rx, tx := l.Attrs, l.RX, l.TX
		rows = append(rows, fmt.Sprintf("%s %s mtu %s %s txqlen %s %s %s qdisc %s rx %d %d %d %d %d %d %d %d %d %d %d tx %d %d %d %d %d %d %d %d %d %d",
			nstest.Str(m, "ifindex"), nstest.Str(m, "ifname"), nstest.Str(m, "mtu"), nstest.Str(m, "operstate"), nstest.Str(m, "txqlen"),
			nstest.Str(m, "link_type"), nstest.Str(m, "address"), nstest.Str(m, "qdisc"),
			rx["bytes"], rx["packets"], rx["errors"], rx["dropped"], rx["over_errors"], rx["multicast"],
			rx["length_errors"], rx["crc_errors"], rx["frame_errors"], rx["fifo_errors"], rx["missed_errors"],
			tx["bytes"], tx["packets"], tx["errors"], tx["dropped"], tx["carrier_errors"], tx["collisions"],
			tx["aborted_errors"], tx["fifo_errors"], tx["window_errors"], tx["heartbeat_errors"]))
	}
	slices.Sort(rows)
	return rows
}

// TestDialNetNSRestoresNamespace checks that opening a socket in another
// namespace leaves the calling thread's namespace alone.
func TestDialNetNSRestoresNamespace(t *testing.T) {
	_, c := liveNS(t)
	before, err := os.Readlink("/proc/thread-self/ns/net")
	if err != nil {
		t.Skip(err)
	}
	self, err := Dial()
	if err != nil {
		t.Fatal(err)
	}
	defer self.Close()
	for i := 0; i < 5; i++ {
		c2, err := DialNetNS(fmt.Sprintf("/proc/%d/ns/net", os.Getpid()))
		if err != nil {
			t.Fatal(err)
		}
		c2.Close()
	}
	after, _ := os.Readlink("/proc/thread-self/ns/net")
	if before != after {
		t.Errorf("netns changed: %s -> %s", before, after)
	}
	// The namespace client sees vtest; the root one does not.
	if ls, err := c.Links(context.Background(), LinkFilter{Name: "vtest"}); err != nil || len(ls) != 1 {
		t.Errorf("netns client: %+v %v", ls, err)
	}
	if ls, err := self.Links(context.Background(), LinkFilter{Name: "vtest"}); err != nil || len(ls) != 0 {
		t.Errorf("root client sees vtest: %+v %v", ls, err)
	}
	// After an abandoned dump the client reopens its socket in the same
	// namespace.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Routes(ctx, RouteFilter{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	if ls, err := c.Links(context.Background(), LinkFilter{Name: "vtest"}); err != nil || len(ls) != 1 {
		t.Errorf("after reopen: %+v %v", ls, err)
	}
	if _, err := DialNetNS("/nonexistent/netns"); err == nil || !strings.Contains(err.Error(), "rtnl: dial netns") {
		t.Errorf("DialNetNS(nonexistent) = %v", err)
	}
}
