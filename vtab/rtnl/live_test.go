package rtnl

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// liveNS builds a network namespace for the live tests and returns its name
// and a Client opened inside it. The veth pair is created in a second
// "peer" namespace and one end moved into the test namespace, so the
// root namespace is never touched and no traffic leaves the two.
//
// Test namespace (NAME): lo, vtest 10.9.0.2/24 fd00:9::2/64
// Peer namespace (NAME-p): vpeer 10.9.0.1/24 fd00:9::1/64
func liveNS(t *testing.T) (string, *Client) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs CAP_NET_ADMIN to create a network namespace")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip from iproute2")
	}
	var r [4]byte
	rand.Read(r[:])
	name := "netsql-rtnl-" + hex.EncodeToString(r[:])
	peer := name + "-p"
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Skipf("needs CAP_NET_ADMIN to create a network namespace: ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	ipc(t, "netns", "add", peer)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", peer).Run() })

	in := func(args ...string) { ipc(t, append([]string{"-n", name}, args...)...) }
	inPeer := func(args ...string) { ipc(t, append([]string{"-n", peer}, args...)...) }

	inPeer("link", "add", "vpeer", "type", "veth", "peer", "name", "vtest")
	inPeer("link", "set", "vtest", "netns", name)
	inPeer("link", "set", "vpeer", "up")
	in("link", "set", "lo", "up")
	in("link", "set", "vtest", "up")
	inPeer("addr", "add", "10.9.0.1/24", "dev", "vpeer")
	inPeer("-6", "addr", "add", "fd00:9::1/64", "dev", "vpeer", "nodad")
	in("addr", "add", "10.9.0.2/24", "dev", "vtest")
	in("-6", "addr", "add", "fd00:9::2/64", "dev", "vtest", "nodad")

	c, err := DialNetNS("/run/netns/" + name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })

	// veth reports carrier asynchronously; wait so that routes are not
	// flagged linkdown and operstate is settled before comparing.
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ls, err := c.Links(ctx, LinkFilter{Name: "vtest"})
		if err != nil {
			t.Fatal(err)
		}
		if len(ls) == 1 && ls[0].OperStateName() == "UP" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("vtest never came up: %+v", ls)
		}
		time.Sleep(50 * time.Millisecond)
	}

	in("route", "add", "10.10.0.0/24", "via", "10.9.0.1", "table", "100")
	in("route", "add", "blackhole", "10.11.0.0/24")
	in("-6", "route", "add", "fd00:10::/64", "via", "fd00:9::1")
	in("route", "add", "10.12.0.0/24", "nexthop", "via", "10.9.0.1", "weight", "1", "nexthop", "via", "10.9.0.3", "weight", "2")
	in("-6", "route", "add", "fd00:12::/64", "nexthop", "via", "fd00:9::1", "nexthop", "via", "fd00:9::3")
	in("neigh", "add", "10.9.0.5", "lladdr", "02:00:00:00:00:05", "dev", "vtest", "nud", "permanent")
	return name, c
}

// ipc runs ip(8) and fails the test on error.
func ipc(t *testing.T, args ...string) []byte {
	t.Helper()
	out, err := exec.Command("ip", args...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, ee.Stderr)
		}
		t.Fatalf("ip %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// ipJSON runs ip -j in the namespace and decodes its array of objects.
func ipJSON(t *testing.T, ns string, args ...string) []map[string]any {
	t.Helper()
	out := ipc(t, append([]string{"-n", ns, "-j"}, args...)...)
	var v []map[string]any
	d := json.NewDecoder(bytes.NewReader(out))
	d.UseNumber()
	if len(bytes.TrimSpace(out)) > 0 {
		if err := d.Decode(&v); err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
	}
	return v
}

func str(m map[string]any, k string) string {
	v, ok := m[k]
	if !ok || v == nil {
		return ""
	}
	return fmt.Sprint(v)
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
		var diff string
		for attempt := 0; attempt < 40; attempt++ {
			got := ours()
			want := ipRouteRows(t, ns)
			again := ours()
			if slices.Equal(got, again) {
				if len(got) < 15 {
					t.Fatalf("only %d routes", len(got))
				}
				if slices.Equal(got, want) {
					t.Logf("%d route rows match ip route:\n  %s", len(got), strings.Join(got, "\n  "))
					return
				}
				diff = fmt.Sprintf("got:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			} else {
				diff = fmt.Sprintf("the routes kept changing:\n  %s\nthen:\n  %s", strings.Join(got, "\n  "), strings.Join(again, "\n  "))
			}
			time.Sleep(250 * time.Millisecond)
		}
		t.Errorf("routes differ from ip route: %s", diff)
	})

	t.Run("link counters vs ip -s link", func(t *testing.T) {
		// Counters move if the kernel sends anything (IPv6 MLD reports,
		// router solicitations) between the two reads: retry until a
		// read of ours, ip's read and a second read of ours all agree.
		var diff string
		for attempt := 0; attempt < 40; attempt++ {
			a := linkRows(t, c)
			want := ipLinkRows(t, ns)
			b := linkRows(t, c)
			if slices.Equal(a, b) {
				if slices.Equal(a, want) {
					t.Logf("links match ip -s -s link:\n  %s", strings.Join(a, "\n  "))
					return
				}
				diff = fmt.Sprintf("got:\n  %s\nwant:\n  %s", strings.Join(a, "\n  "), strings.Join(want, "\n  "))
			}
			time.Sleep(250 * time.Millisecond)
		}
		t.Errorf("links differ from ip -s -s link: %s", diff)
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
			for _, m := range ipJSON(t, ns, "neigh", "show", "nud", "all") {
				var states []string
				if s, ok := m["state"].([]any); ok {
					for _, x := range s {
						states = append(states, fmt.Sprint(x))
					}
				}
				_, router := m["router"]
				want = append(want, fmt.Sprintf("%s dev %s lladdr %s %s router=%v", str(m, "dst"), str(m, "dev"), str(m, "lladdr"), strings.Join(states, ","), router))
			}
			slices.Sort(got)
			slices.Sort(want)
			if slices.Equal(got, want) {
				t.Logf("neighbours match ip neigh show nud all:\n  %s", strings.Join(got, "\n  "))
				return
			}
			diff = fmt.Sprintf("got:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			time.Sleep(250 * time.Millisecond)
		}
		t.Errorf("neighbours differ from ip neigh: %s", diff)
	})
}

// ipRouteRows renders ip -j -d route show table all (both families) in
// ns as routeRow rows, sorted.
func ipRouteRows(t *testing.T, ns string) []string {
	t.Helper()
	var want []string
	for _, fam := range []string{"-4", "-6"} {
		for _, m := range ipJSON(t, ns, "-d", fam, "route", "show", "table", "all") {
			metric := str(m, "metric")
			if metric == "" {
				metric = "0"
			}
			base := func(gw, dev string, weight int) string {
				if gw == "" {
					gw = "invalid IP"
				}
				return routeRow(str(m, "dst"), gw, dev, str(m, "table"), str(m, "protocol"),
					str(m, "scope"), str(m, "type"), metric, str(m, "prefsrc"), weight)
			}
			hops, ok := m["nexthops"].([]any)
			if !ok {
				want = append(want, base(str(m, "gateway"), str(m, "dev"), 0))
				continue
			}
			for _, h := range hops {
				nh := h.(map[string]any)
				w := 1
				fmt.Sscan(str(nh, "weight"), &w)
				want = append(want, base(str(nh, "gateway"), str(nh, "dev"), w))
			}
		}
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

func ipLinkRows(t *testing.T, ns string) []string {
	t.Helper()
	var rows []string
	for _, m := range ipJSON(t, ns, "-s", "-s", "link", "show") {
		st, _ := m["stats64"].(map[string]any)
		rx, _ := st["rx"].(map[string]any)
		tx, _ := st["tx"].(map[string]any)
		g := func(m map[string]any, k string) string {
			if v := str(m, k); v != "" {
				return v
			}
			return "0"
		}
		rows = append(rows, fmt.Sprintf("%s %s mtu %s %s txqlen %s %s %s qdisc %s rx %s %s %s %s %s %s %s %s %s %s %s tx %s %s %s %s %s %s %s %s %s %s",
			str(m, "ifindex"), str(m, "ifname"), str(m, "mtu"), str(m, "operstate"), str(m, "txqlen"), str(m, "link_type"), str(m, "address"), str(m, "qdisc"),
			g(rx, "bytes"), g(rx, "packets"), g(rx, "errors"), g(rx, "dropped"), g(rx, "over_errors"), g(rx, "multicast"),
			g(rx, "length_errors"), g(rx, "crc_errors"), g(rx, "frame_errors"), g(rx, "fifo_errors"), g(rx, "missed_errors"),
			g(tx, "bytes"), g(tx, "packets"), g(tx, "errors"), g(tx, "dropped"), g(tx, "carrier_errors"), g(tx, "collisions"),
			g(tx, "aborted_errors"), g(tx, "fifo_errors"), g(tx, "window_errors"), g(tx, "heartbeat_errors")))
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
