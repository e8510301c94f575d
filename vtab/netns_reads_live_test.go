package vtab

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netsql/netsql/vtab/netns"
)

// twinLinks is how many veth pairs, listeners, routing tables and
// neighbours each twin namespace holds: more than maxReadsPerStatement, so
// that IN lists and joins run past the adapter's narrowed reads.
const twinLinks = 10

// twin is one of two namespaces the test fills with the same objects:
// veth pairs tN/tNp (addresses 10.X.N.1/24 on tN, a permanent neighbour
// 10.X.N.9), a route to 192.0.2.N/32 in table 100+N, and TCP listeners
// on the same ports as netsql's own namespace, so a read that lands in
// the wrong namespace finds rows of the right shape there.
type twin struct {
	name  string
	inode uint64
	pid   int // a process inside it, for pid:N
}

func buildTwin(t *testing.T, tag string, octet int, ports []int) *twin {
	t.Helper()
	name, run := addTestNamespace(t, "netsql-tw"+tag)
	for i := 0; i < twinLinks; i++ {
		dev := fmt.Sprintf("t%d", i)
		run("-n", name, "link", "add", dev, "type", "veth", "peer", "name", dev+"p")
		run("-n", name, "link", "set", dev, "up")
		run("-n", name, "link", "set", dev+"p", "up")
		run("-n", name, "addr", "add", fmt.Sprintf("10.%d.%d.1/24", octet, i), "dev", dev)
		run("-n", name, "neigh", "add", fmt.Sprintf("10.%d.%d.9", octet, i), "lladdr", fmt.Sprintf("02:00:00:00:%02x:09", i), "dev", dev, "nud", "permanent")
		run("-n", name, "route", "add", fmt.Sprintf("192.0.2.%d/32", i+octet), "dev", dev, "table", strconv.Itoa(101+i))
	}
	tw := &twin{name: name}
	path := filepath.Join(netns.RunDir, name)
	var err error
	if tw.inode, err = netns.Inode(path); err != nil {
		t.Fatal(err)
	}
	for _, p := range ports {
		var ln net.Listener
		if err := netns.Do(path, func() error {
			var err error
			ln, err = net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", p))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
	}
	cmd := exec.Command("ip", "netns", "exec", name, "sleep", "600")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	// ip netns exec enters the namespace before it execs sleep: wait
	// until the process is inside.
	for deadline := time.Now().Add(10 * time.Second); ; {
		if ino, err := netns.Inode(fmt.Sprintf("/proc/%d/ns/net", cmd.Process.Pid)); err == nil && ino == tw.inode {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sleep never entered %s", name)
		}
		time.Sleep(20 * time.Millisecond)
	}
	tw.pid = cmd.Process.Pid
	return tw
}

// inNS runs a command inside namespace ns and returns its output.
func inNS(t *testing.T, ns string, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...).Output()
	if err != nil {
		t.Fatalf("ip netns exec %s %v: %v", ns, args, err)
	}
	return string(out)
}

// ipJSON runs ip -n ns -j args.
func ipJSON(t *testing.T, ns string, args ...string) []map[string]any {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"-n", ns, "-j"}, args...)...).Output()
	if err != nil {
		t.Fatalf("ip -n %s -j %v: %v", ns, args, err)
	}
	var v []map[string]any
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("ip -n %s -j %v: %v", ns, args, err)
	}
	return v
}

func sorted(xs []string) []string {
	out := append([]string{}, xs...)
	sort.Strings(out)
	return out
}

// agree runs read until two consecutive results are equal and returns it.
func agree(t *testing.T, read func() []string) []string {
	t.Helper()
	prev := read()
	for i := 0; i < 20; i++ {
		cur := read()
		if reflect.DeepEqual(prev, cur) {
			return cur
		}
		prev = cur
	}
	t.Fatal("reads never agreed")
	return nil
}

func inList(vals []string) string { return "(" + strings.Join(vals, ", ") + ")" }

// TestLiveReadsStayInChosenNamespace runs, for every per-namespace table,
// IN lists of 1 to 10 values on the pushed-down (or indexed) columns and
// joins against a namespace chosen by netns_name, while netsql's own
// namespace and a twin namespace hold objects of the same shape, and
// compares the rows with what ss and ip report inside the chosen one.
func TestLiveReadsStayInChosenNamespace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (CAP_SYS_ADMIN) to create and enter network namespaces")
	}
	if _, err := exec.LookPath("ss"); err != nil {
		t.Skip("needs ss and ip from iproute2")
	}
	// Listeners in netsql's own namespace; the twins listen on the same ports.
	var ports []int
	for i := 0; i < twinLinks; i++ {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	a := buildTwin(t, "a", 71, ports[:twinLinks-1]) // A lacks the last port
	b := buildTwin(t, "b", 72, ports)
	eng, err := Open(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	check := func(q string, want []string) {
		t.Helper()
		got := sorted(query(t, eng, q))
		if want = sorted(want); !reflect.DeepEqual(got, want) {
			t.Errorf("%s\n got: %v\nwant: %v", q, got, want)
		}
	}
	portStr := make([]string, len(ports))
	for i, p := range ports {
		portStr[i] = strconv.Itoa(p)
	}

	// sockets: ss inside A.
	ssPorts := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(inNS(t, a.name, "ss", "-Htln")), "\n") {
		f := strings.Fields(line)
		if len(f) >= 4 {
			ssPorts[f[3][strings.LastIndex(f[3], ":")+1:]] = true
		}
	}
	links := make([]string, twinLinks)
	for i := range links {
		links[i] = fmt.Sprintf("'t%d'", i)
	}
	idx := map[string]string{}
	for _, l := range ipJSON(t, a.name, "link", "show") {
		idx[fmt.Sprint(l["ifname"])] = fmt.Sprint(l["ifindex"])
	}
	for n := 1; n <= twinLinks; n++ {
		var want []string
		for _, p := range portStr[:n] {
			if ssPorts[p] {
				want = append(want, p+"|"+a.name)
			}
		}
		check(fmt.Sprintf("SELECT local_port, netns_name FROM sockets('%s') WHERE state = 'LISTEN' AND local_port IN %s", a.name, inList(portStr[:n])), want)
		check(fmt.Sprintf("SELECT local_port, netns_name FROM sockets WHERE netns_name = '%s' AND local_port IN %s AND state = 'LISTEN'", a.name, inList(portStr[:n])), want)

		// interfaces and addresses: ip link / ip addr inside A.
		want = nil
		var ifidx []string
		for _, l := range links[:n] {
			name := strings.Trim(l, "'")
			want = append(want, name+"|"+idx[name]+"|"+a.name)
			ifidx = append(ifidx, idx[name])
		}
		check(fmt.Sprintf(`SELECT name, "index", netns_name FROM interfaces('%s') WHERE name IN %s`, a.name, inList(links[:n])), want)
		check(fmt.Sprintf(`SELECT name, "index", netns_name FROM interfaces('%s') WHERE "index" IN %s`, a.name, inList(ifidx)), want)
		want = nil
		for _, l := range ipJSON(t, a.name, "-4", "addr", "show") {
			for _, i := range ifidx {
				if fmt.Sprint(l["ifindex"]) != i {
					continue
				}
				for _, ai := range l["addr_info"].([]any) {
					want = append(want, fmt.Sprintf("%v|%v|%s", l["ifname"], ai.(map[string]any)["local"], a.name))
				}
			}
		}
		check(fmt.Sprintf(`SELECT interface, address, netns_name FROM addresses('%s') WHERE family = 'inet' AND ifindex IN %s`, a.name, inList(ifidx)), want)
		// An index no link has matches nothing (the kernel refuses such
		// a filtered dump with ENODEV).
		check(fmt.Sprintf(`SELECT interface, address, netns_name FROM addresses('%s') WHERE family = 'inet' AND ifindex IN %s`, a.name, inList(append(ifidx, "99999"))), want)

		// neighbors: ip neigh inside A.
		want = nil
		for _, l := range ipJSON(t, a.name, "-4", "neigh", "show", "nud", "all") {
			for _, name := range links[:n] {
				if fmt.Sprint(l["dev"]) == strings.Trim(name, "'") {
					want = append(want, fmt.Sprintf("%v|%v|%v|%s", l["dst"], l["dev"], l["lladdr"], a.name))
				}
			}
		}
		check(fmt.Sprintf(`SELECT address, interface, mac, netns_name FROM neighbors('%s') WHERE family = 'inet' AND ifindex IN %s`, a.name, inList(ifidx)), want)

		// routes: ip route inside A, one table per value.
		want = nil
		var tables []string
		for i := 0; i < n; i++ {
			tables = append(tables, strconv.Itoa(101+i))
			for _, r := range ipJSON(t, a.name, "route", "show", "table", tables[i]) {
				want = append(want, fmt.Sprintf("%v|%v|%s|%s", r["dst"], r["dev"], tables[i], a.name))
			}
		}
		check(fmt.Sprintf(`SELECT destination, interface, table_id, netns_name FROM routes('%s') WHERE table_id IN %s`, a.name, inList(tables)), want)

		// multicast_groups: ip maddr inside A.
		want = nil
		dev := ""
		for _, line := range strings.Split(inNS(t, a.name, "ip", "maddr", "show"), "\n") {
			f := strings.Fields(line)
			switch {
			case len(f) == 2 && strings.HasSuffix(f[0], ":"):
				dev = f[1]
			case len(f) >= 2 && f[0] == "inet":
				for _, name := range links[:n] {
					if dev == strings.Trim(name, "'") {
						want = append(want, dev+"|"+f[1]+"|"+a.name)
					}
				}
			}
		}
		check(fmt.Sprintf(`SELECT interface, "group", netns_name FROM multicast_groups('%s') WHERE family = 'inet' AND interface IN %s`, a.name, inList(links[:n])), want)
	}

	// protocol_stats and socket_summary: /proc/net/snmp and sockstat
	// inside A, with IN lists of counter names, and A selected twice.
	snmpNames := []string{"'Forwarding'", "'DefaultTTL'", "'RtoAlgorithm'", "'RtoMin'", "'RtoMax'", "'MaxConn'", "'ActiveOpens'", "'PassiveOpens'", "'AttemptFails'", "'EstabResets'"}
	for n := 1; n <= len(snmpNames); n++ {
		for _, sel := range []string{
			fmt.Sprintf("netns_name = '%s'", a.name),
			fmt.Sprintf("netns_name IN ('%s', 'pid:%d')", a.name, a.pid),
		} {
			q := fmt.Sprintf("SELECT protocol, name, value, netns_name FROM protocol_stats WHERE %s AND protocol IN ('Ip', 'Tcp') AND name IN %s", sel, inList(snmpNames[:n]))
			got := agree(t, func() []string { return sorted(query(t, eng, q)) })
			var want []string
			lines := strings.Split(strings.TrimSpace(inNS(t, a.name, "cat", "/proc/net/snmp")), "\n")
			for i := 0; i+1 < len(lines); i += 2 {
				head, vals := strings.Fields(lines[i]), strings.Fields(lines[i+1])
				proto := strings.TrimSuffix(head[0], ":")
				if proto != "Ip" && proto != "Tcp" {
					continue
				}
				for j := 1; j < len(head) && j < len(vals); j++ {
					for _, nm := range snmpNames[:n] {
						if "'"+head[j]+"'" == nm {
							want = append(want, proto+"|"+head[j]+"|"+vals[j]+"|"+a.name)
						}
					}
				}
			}
			if want = sorted(want); !reflect.DeepEqual(got, want) {
				t.Errorf("%s\n got: %v\nwant: %v", q, got, want)
			}
		}
	}
	var tcpInuse string
	f := strings.Fields(inNS(t, a.name, "grep", "^TCP:", "/proc/net/sockstat"))
	for i := 1; i+1 < len(f); i++ {
		if f[i] == "inuse" {
			tcpInuse = f[i+1]
		}
	}
	check(fmt.Sprintf("SELECT value, netns_name FROM socket_summary WHERE netns_name IN ('%s', 'pid:%d') AND family = 'inet' AND protocol = 'TCP' AND name IN ('inuse', 'x1', 'x2', 'x3', 'x4', 'x5')", a.name, a.pid),
		[]string{tcpInuse + "|" + a.name})

	// Joins that feed pushed columns from the other side.
	var want []string
	for p := range ssPorts {
		if strings.Contains(inList(portStr), p) {
			want = append(want, p+"|"+p+"|"+a.name+"|"+a.name)
		}
	}
	check(fmt.Sprintf(`SELECT x.local_port, y.local_port, x.netns_name, y.netns_name FROM sockets('%[1]s') x JOIN sockets('%[1]s') y
		ON y.local_port = x.local_port AND y.state = 'LISTEN' WHERE x.state = 'LISTEN' AND x.local_port IN %[2]s`, a.name, inList(portStr)), want)
	check(fmt.Sprintf(`SELECT x.local_port, y.local_port, x.netns_name, y.netns_name FROM (SELECT column1 AS p FROM (VALUES %[2]s)) v
		JOIN sockets('%[1]s') x ON x.local_port = v.p JOIN sockets('%[1]s') y ON y.local_port = x.local_port
		WHERE x.state = 'LISTEN' AND y.state = 'LISTEN'`, a.name, "("+strings.Join(portStr, "), (")+")"), want)
	want = nil
	for i := 0; i < twinLinks; i++ {
		name := fmt.Sprintf("t%d", i)
		want = append(want, fmt.Sprintf("%s|10.71.%d.1|%s", name, i, a.name))
	}
	check(fmt.Sprintf(`SELECT i.name, ad.address, ad.netns_name FROM interfaces('%[1]s') i JOIN addresses('%[1]s') ad
		ON ad.ifindex = i."index" AND ad.family = 'inet' WHERE i.name LIKE 't_'`, a.name), want)
	want = nil
	for i := 0; i < twinLinks; i++ {
		want = append(want, fmt.Sprintf("t%d|%d|%s", i, 101+i, a.name))
	}
	check(fmt.Sprintf(`SELECT r.interface, r.table_id, r.netns_name FROM interfaces('%[1]s') i JOIN routes('%[1]s') r
		ON r.table_id = 101 + CAST(substr(i.name, 2) AS INTEGER) WHERE i.name LIKE 't_'`, a.name), want)

	// One namespace named twice, and by '*' with an OR: each row once.
	check(fmt.Sprintf("SELECT local_port, netns_name FROM sockets WHERE netns_name IN ('%s', 'pid:%d') AND state = 'LISTEN' AND local_port = %d", a.name, a.pid, ports[0]),
		[]string{portStr[0] + "|" + a.name})
	check(fmt.Sprintf("SELECT local_port, netns_name FROM sockets WHERE netns_name = '*' AND netns IN (%d, %d) AND (state = 'LISTEN' AND local_port = %d OR local_port = %d)", a.inode, b.inode, ports[0], ports[twinLinks-1]),
		[]string{portStr[0] + "|" + a.name, portStr[0] + "|" + b.name, portStr[twinLinks-1] + "|" + b.name})
	check(fmt.Sprintf("SELECT name, netns_name FROM interfaces WHERE netns_name = '*' AND netns = %d AND (name = 't1' OR \"index\" = %s)", a.inode, idx["t2"]),
		[]string{"t1|" + a.name, "t2|" + a.name})
	// net/snmp6 lists an Icmp6InType/OutType counter only once such a
	// message has passed, so the namespace's count can grow between two
	// reads (a veth coming up sends router and neighbour solicitations):
	// read both until they agree.
	byColumns := fmt.Sprintf("SELECT count(*) FROM protocol_stats WHERE netns_name = '%s' AND (netns = %d OR netns = '%d')", a.name, a.inode, a.inode)
	byArgument := fmt.Sprintf("SELECT count(*) FROM protocol_stats('%s')", a.name)
	for try := 0; ; try++ {
		got, want := query(t, eng, byColumns), query(t, eng, byArgument)
		if reflect.DeepEqual(got, want) {
			break
		}
		if try == 20 {
			t.Errorf("%s\n got: %v\nwant: %v (%s)", byColumns, got, want, byArgument)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}

	// netns compared by affinity: text and REAL spellings of the inode.
	for _, v := range []string{fmt.Sprintf("'%d'", a.inode), fmt.Sprintf("%d.0", a.inode), fmt.Sprintf("' %d '", a.inode)} {
		check(fmt.Sprintf("SELECT local_port, netns_name FROM sockets WHERE netns_name = '*' AND netns = %s AND state = 'LISTEN' AND local_port = %d", v, ports[0]),
			[]string{portStr[0] + "|" + a.name})
	}
}
