package vtab

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/netsql/netsql/vtab/internal/nstest"
)

// TestLiveSysfsInsideNamespace: what interfaces reads from sysfs
// (speed_mbps) for a namespace chosen by netns_name is that namespace's,
// as `ip netns exec NS cat /sys/class/net/DEV/speed` shows it, even where
// another namespace (netsql's own included) has a device of the same name
// with another speed: a veth va (10000) in one, a bridge va (unknown,
// NULL) in the other, and an up veth named after a device of netsql's own
// namespace.
func TestLiveSysfsInsideNamespace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (CAP_SYS_ADMIN) to create and enter network namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip from iproute2")
	}
	own, err := os.ReadDir("/sys/class/net")
	if err != nil || len(own) == 0 {
		t.Skipf("no /sys/class/net to share names with: %v", err)
	}
	ownName := own[0].Name() // a device of netsql's own namespace (lo at least)
	var r [4]byte
	rand.Read(r[:])
	tag := hex.EncodeToString(r[:])
	a, b := "netsql-sysa-"+tag, "netsql-sysb-"+tag
	for _, ns := range []string{a, b} {
		nstest.IP(t, "netns", "add", ns)
		t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	}
	for _, cmd := range [][]string{
		{"-n", a, "link", "add", "va", "type", "veth", "peer", "name", "vb"},
		{"-n", a, "link", "set", "va", "up"},
		{"-n", a, "link", "set", "vb", "up"},
		{"-n", b, "link", "add", "va", "type", "bridge"},
		{"-n", b, "link", "set", "va", "up"},
		{"-n", b, "link", "add", "vb", "type", "veth", "peer", "name", "vc"},
		{"-n", b, "link", "set", "vb", "master", "va"},
		{"-n", b, "link", "set", "vb", "up"},
		{"-n", b, "link", "set", "vc", "up"},
	} {
		nstest.IP(t, cmd...)
	}
	if ownName != "lo" {
		// A name netsql's own /sys also has: the old code read that one.
		nstest.IP(t, "-n", a, "link", "add", ownName, "type", "veth", "peer", "name", "vd")
		nstest.IP(t, "-n", a, "link", "set", ownName, "up")
		nstest.IP(t, "-n", a, "link", "set", "vd", "up")
	}
	eng, err := Open(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	ours := func(query string, args ...any) func() []string {
		return func() []string {
			rows, err := eng.DB().Query(query, args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var out []string
			for rows.Next() {
				var ns, name string
				var speed, master any
				if err := rows.Scan(&ns, &name, &speed, &master); err != nil {
					t.Fatal(err)
				}
				out = append(out, fmt.Sprintf("%s %s speed=%v master=%s", ns, name, speed, sqlText(master)))
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			return out
		}
	}
	theirs := func(names ...string) func() []string {
		return func() []string {
			var out []string
			for _, ns := range names {
				for _, l := range (&nstest.Net{NS: ns}).JSON(t, "link", "show") {
					dev := nstest.Str(l, "ifname")
					out = append(out, fmt.Sprintf("%s %s speed=%s master=%s", ns, dev, sysfsSpeed(ns, dev), nstest.Str(l, "master")))
				}
			}
			return out
		}
	}
	const cols = "SELECT netns_name, name, speed_mbps, master FROM interfaces"
	for _, c := range []struct {
		what  string
		query string
		args  []any
		ns    []string
	}{
		{"netns_name = A", cols + " WHERE netns_name = ?", []any{a}, []string{a}},
		{"table argument B", "SELECT netns_name, name, speed_mbps, master FROM interfaces(?)", []any{b}, []string{b}},
		{"both in one statement", cols + " WHERE netns_name IN (?, ?)", []any{a, b}, []string{a, b}},
	} {
		got, err := nstest.Agree(t, 40, 3, ours(c.query, c.args...), theirs(c.ns...))
		if err != nil {
			t.Fatalf("%s: %v", c.what, err)
		}
		// The comparison means something only if the test's own veth
		// reported a speed and the bridge of the same name did not.
		want := fmt.Sprintf("%s va speed=10000 master=", a)
		if c.ns[0] == a && !slices.Contains(got, want) {
			t.Fatalf("%s: no %q among\n%s", c.what, want, strings.Join(got, "\n"))
		}
	}
}

// sysfsSpeed is DEV's speed as `ip netns exec NS cat
// /sys/class/net/DEV/speed` shows it, "<nil>" (as a NULL prints) when
// unreadable (EINVAL: link down, virtual devices) or not positive
// (-1: unknown).
func sysfsSpeed(ns, dev string) string {
	b, err := exec.Command("ip", "netns", "exec", ns, "cat", "/sys/class/net/"+dev+"/speed").Output()
	if n, perr := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && perr == nil && n > 0 {
		return strconv.FormatInt(n, 10)
	}
	return "<nil>"
}

func sqlText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case []byte:
		return string(x)
	}
	return fmt.Sprint(v)
}

// TestLiveSysfsOwnNamespace: run in a namespace entered without
// remounting /sys (`nsenter --net`, unlike `ip netns exec`), netsql reads
// sysfs as its own namespace shows it, not the /sys it inherited. The test
// runs its own binary under nsenter, which prints speed_mbps per device.
func TestLiveSysfsOwnNamespace(t *testing.T) {
	if os.Getenv("NETSQL_SYSFS_HELPER") != "" {
		eng, err := Open(Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer eng.Close()
		rows, err := eng.DB().Query("SELECT name, speed_mbps FROM interfaces")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var name string
			var speed any
			if err := rows.Scan(&name, &speed); err != nil {
				t.Fatal(err)
			}
			fmt.Printf("ROW %s speed=%v\n", name, speed)
		}
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root (CAP_SYS_ADMIN) to create and enter network namespaces")
	}
	for _, tool := range []string{"ip", "nsenter"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s", tool)
		}
	}
	var r [4]byte
	rand.Read(r[:])
	ns := "netsql-sysown-" + hex.EncodeToString(r[:])
	nstest.IP(t, "netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	nstest.IP(t, "-n", ns, "link", "add", "sysown"+hex.EncodeToString(r[:2]), "type", "veth", "peer", "name", "sysownp")
	for _, dev := range []string{"sysown" + hex.EncodeToString(r[:2]), "sysownp", "lo"} {
		nstest.IP(t, "-n", ns, "link", "set", dev, "up")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ours := func() []string {
		cmd := exec.Command("nsenter", "--net=/run/netns/"+ns, self, "-test.run=^TestLiveSysfsOwnNamespace$")
		cmd.Env = append(os.Environ(), "NETSQL_SYSFS_HELPER=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("helper: %v\n%s", err, out)
		}
		var rows []string
		for _, l := range strings.Split(string(out), "\n") {
			if row, ok := strings.CutPrefix(l, "ROW "); ok {
				rows = append(rows, row)
			}
		}
		return rows
	}
	theirs := func() []string {
		var out []string
		for _, l := range (&nstest.Net{NS: ns}).JSON(t, "link", "show") {
			dev := nstest.Str(l, "ifname")
			out = append(out, dev+" speed="+sysfsSpeed(ns, dev))
		}
		return out
	}
	got, err := nstest.Agree(t, 40, 3, ours, theirs)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(got, "sysownp speed=10000") {
		t.Fatalf("the test's veth reported no speed:\n%s", strings.Join(got, "\n"))
	}
}
