package top

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
)

// TestNamespaceSwitch creates a namespace holding a veth pair and
// switches the snapshot to it, then to every namespace: the interfaces
// panel shows that namespace's links only, rates start again after the
// switch (no rate computed across two namespaces), and with * the
// namespace's links sit beside the host's under their own keys.
func TestNamespaceSwitch(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (CAP_NET_ADMIN) to create a network namespace")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip from iproute2")
	}
	var r [4]byte
	rand.Read(r[:])
	ns := "nstop" + hex.EncodeToString(r[:])
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
	}
	ip("netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	ip("-n", ns, "link", "add", "topveth0", "type", "veth", "peer", "name", "topveth1")

	ctx := context.Background()
	eng, _ := liveEngine(t)
	s, err := NewSnapshotter(ctx, eng, builtinPanels(t), false)
	if err != nil {
		t.Fatal(err)
	}
	m := NewModel(ctx, s, builtinPanels(t))
	refresh := func() map[string][]any {
		t.Helper()
		snap, err := s.Refresh(ctx)
		if err != nil {
			t.Fatal(err)
		}
		m.Update(snap)
		set := m.rated["top-interfaces"]
		if set == nil {
			t.Fatalf("no interfaces panel: %v", snap.Errs)
		}
		out := map[string][]any{}
		for _, row := range set.Rows {
			key := cellText(row[set.Index("interface")]) + "@" + cellText(row[set.Index("_netns")])
			out[key] = row
		}
		return out
	}
	names := func(rows map[string][]any) string {
		var n []string
		for k := range rows {
			n = append(n, strings.Split(k, "@")[0])
		}
		sort.Strings(n)
		return strings.Join(n, ",")
	}
	rx := func(row []any) any { return row[4] } // rx_bytes, rated
	refresh()
	refresh()    // the host's namespace now has rates
	m.pickNS(ns) // as the n key does: the source and the model follow
	rows := refresh()
	if got := names(rows); got != "lo,topveth0,topveth1" {
		t.Fatalf("namespace %s shows interfaces %s, want lo,topveth0,topveth1", ns, got)
	}
	for k, row := range rows {
		if rx(row) != nil {
			t.Errorf("%s: a rate on the first refresh after switching namespaces: %v", k, row)
		}
	}
	for k, row := range refresh() {
		if _, ok := number(rx(row)); !ok {
			t.Errorf("%s: no rate on the second refresh in the namespace: %v", k, row)
		}
	}
	m.pickNS("*")
	refresh()
	all := refresh()
	los, dummies := 0, 0
	for k, row := range all {
		if strings.HasPrefix(k, "lo@") {
			los++
		}
		if strings.HasPrefix(k, "topveth0@") {
			dummies++
		}
		// Only this test's interfaces: other namespaces come and go
		// while it runs, and one new since the previous refresh has no
		// rate yet.
		if _, ours := rows[k]; !ours {
			continue
		}
		if _, ok := number(rx(row)); !ok {
			t.Errorf("%s: no rate with every namespace: %v", k, row)
		}
	}
	for k := range rows {
		if _, ok := all[k]; !ok {
			t.Errorf("%s: missing with every namespace: %s", k, names(all))
		}
	}
	if los < 2 || dummies != 1 {
		t.Errorf("with * : %d lo and %d topveth0 (want the host's lo, the namespace's, and its veth): %s", los, dummies, names(all))
	}
}
