package vtab

import (
	"fmt"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/netsql/netsql/vtab/netns"
)

// testNamespace is a namespace the test built: lo up, a veth pair named
// after it, and a listener created inside it.
type testNamespace struct {
	name  string
	inode uint64
	port  int
	veth  string
}

// addTestNamespace creates a namespace named prefix-RANDOM with lo up,
// deleted when the test ends, and returns its name and a runner of ip(8)
// that fails the test on error.
func addTestNamespace(t *testing.T, prefix string) (string, func(args ...string)) {
	t.Helper()
	name := fmt.Sprintf("%s-%d", prefix, rand.Intn(1<<24))
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v\n%s", args, err, out)
		}
	}
	run("netns", "add", name)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	run("-n", name, "link", "set", "lo", "up")
	return name, run
}

func buildNamespace(t *testing.T, tag string) *testNamespace {
	t.Helper()
	name, run := addTestNamespace(t, "netsql-t7"+tag)
	veth := "nsv" + tag
	run("-n", name, "link", "add", veth+"a", "type", "veth", "peer", "name", veth+"b")
	run("-n", name, "addr", "add", "10.77.0.1/24", "dev", veth+"a")
	run("-n", name, "link", "set", veth+"a", "up")
	run("-n", name, "link", "set", veth+"b", "up")
	ns := &testNamespace{name: name, veth: veth}
	path := filepath.Join(netns.RunDir, name)
	var err error
	if ns.inode, err = netns.Inode(path); err != nil {
		t.Fatal(err)
	}
	// A socket created on a thread inside the namespace lives there.
	var ln net.Listener
	if err := netns.Do(path, func() error {
		var err error
		ln, err = net.Listen("tcp4", "127.0.0.1:0")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ns.port = ln.Addr().(*net.TCPAddr).Port
	// A neighbour entry and a multicast membership only this namespace has.
	run("-n", name, "neigh", "add", "10.77.0.9", "lladdr", "02:00:00:00:00:09", "dev", veth+"a", "nud", "permanent")
	var mc *net.UDPConn
	if err := netns.Do(path, func() error {
		ifi, err := net.InterfaceByName(veth + "a")
		if err != nil {
			return err
		}
		mc, err = net.ListenMulticastUDP("udp4", ifi, &net.UDPAddr{IP: net.IPv4(239, 7, 7, 7)})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mc.Close() })
	return ns
}

func TestLiveNamespacesInOneQuery(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (CAP_SYS_ADMIN) to create and enter network namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("ip (iproute2) is not installed")
	}
	a, b := buildNamespace(t, "a"), buildNamespace(t, "b")
	eng := liveEngine(t)
	sorted := func(rows []string) []string { sort.Strings(rows); return rows }
	// netns_name = '*' reads every namespace of the host: the root one,
	// and those other tests (other packages, running in parallel) build,
	// where the same port numbers, names and addresses may be in use. The
	// rows checked are those of a and b, which must come out of '*'. (The
	// unary + keeps SQLite from handing the filter to the table, so '*'
	// still reads every namespace.)
	ours := fmt.Sprintf("+netns IN (%d, %d)", a.inode, b.inode)

	// Sockets of both namespaces in one query, attributed by inode and name.
	got := sorted(query(t, eng, `SELECT netns_name, netns, local_port FROM sockets
		WHERE netns_name = '*' AND `+ours+` AND state = 'LISTEN' AND local_port IN (?, ?)`, a.port, b.port))
	want := sorted([]string{
		fmt.Sprintf("%s|%d|%d", a.name, a.inode, a.port),
		fmt.Sprintf("%s|%d|%d", b.name, b.inode, b.port),
	})
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("sockets across namespaces = %v, want %v", got, want)
	}
	// Our own namespace does not see them.
	if got := query(t, eng, "SELECT count(*) FROM sockets WHERE state = 'LISTEN' AND local_port IN (?, ?) AND netns = ?", a.port, b.port, a.inode); got[0] != "1" {
		t.Errorf("netns = inode selected %v rows, want 1", got)
	}
	if got := query(t, eng, "SELECT local_port FROM sockets(?) WHERE state = 'LISTEN' AND local_port = ?", a.name, a.port); len(got) != 1 {
		t.Errorf("sockets('%s') = %v", a.name, got)
	}
	// Interfaces, addresses, routes, neighbours and multicast groups of
	// both, in one query each.
	both := " WHERE netns_name = '*' AND " + ours + " AND "
	for _, c := range []struct {
		table, query string
		want         []string
	}{
		{"interfaces", "SELECT netns_name, name FROM interfaces" + both + "name LIKE 'nsv%'",
			[]string{a.name + "|nsva" + "a", a.name + "|nsvab", b.name + "|nsvba", b.name + "|nsvbb"}},
		{"routes", "SELECT netns_name, destination, prefix_len, interface FROM routes" + both + "destination = '10.77.0.0'",
			[]string{a.name + "|10.77.0.0|24|nsvaa", b.name + "|10.77.0.0|24|nsvba"}},
		{"addresses", "SELECT netns, address FROM addresses" + both + "address = '10.77.0.1'",
			[]string{fmt.Sprintf("%d|10.77.0.1", a.inode), fmt.Sprintf("%d|10.77.0.1", b.inode)}},
		{"neighbors", "SELECT netns_name, address, mac, state FROM neighbors" + both + "address = '10.77.0.9'",
			[]string{a.name + "|10.77.0.9|02:00:00:00:00:09|PERMANENT", b.name + "|10.77.0.9|02:00:00:00:00:09|PERMANENT"}},
		{"multicast_groups", "SELECT netns_name, interface FROM multicast_groups" + both + "\"group\" = '239.7.7.7'",
			[]string{a.name + "|nsvaa", b.name + "|nsvba"}},
	} {
		got, want := sorted(query(t, eng, c.query)), sorted(c.want)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s = %v, want %v", c.table, got, want)
		}
	}
	// /proc-only tables read the namespace's own files.
	got = query(t, eng, "SELECT count(*) FROM protocol_stats WHERE netns_name = ? AND protocol = 'Tcp' AND name = 'CurrEstab' AND value = 0", a.name)
	if got[0] != "1" {
		t.Errorf("protocol_stats in %s = %v", a.name, got)
	}

	// A process inside a namespace is found through pid:N.
	sleep := exec.Command("ip", "netns", "exec", b.name, "sleep", "30")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sleep.Process.Kill(); sleep.Wait() })
	pid := sleep.Process.Pid
	eventually(t, func() string {
		got := query(t, eng, "SELECT netns, local_port FROM sockets WHERE netns_name = ? AND state = 'LISTEN' AND local_port = ?", fmt.Sprintf("pid:%d", pid), b.port)
		if want := fmt.Sprintf("%d|%d", b.inode, b.port); len(got) != 1 || got[0] != want {
			return fmt.Sprintf("pid:%d = %v, want %s", pid, got, want)
		}
		return ""
	})
	got = query(t, eng, "SELECT name, pid IS NOT NULL, current FROM namespaces WHERE netns = ?", b.inode)
	if want := b.name + "|1|0"; len(got) != 1 || got[0] != want {
		t.Errorf("namespaces row = %v, want %s", got, want)
	}
	// Errors: an unknown name is one clear error.
	if _, err := eng.QueryContext(t.Context(), "SELECT * FROM sockets WHERE netns_name = 'no-such-ns'"); err == nil {
		t.Error("unknown namespace name gave no error")
	}
}
