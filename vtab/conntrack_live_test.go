package vtab

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/netsql/netsql/vtab/conntrack"
	"github.com/netsql/netsql/vtab/internal/nstest"
	"github.com/netsql/netsql/vtab/netlink"
	"github.com/netsql/netsql/vtab/netns"
)

// conntrackNet is a namespace pair whose first namespace tracks its flows
// and masquerades what leaves through the veth pair, with one TCP and one
// UDP flow (marked 7 by the ruleset) from a local address the peer has no
// route back to, so the replies only arrive because of the masquerade.
type conntrackNet struct {
	*nstest.Net
	tcpPort, udpPort int
}

const conntrackRuleset = `table ip netsql_nat {
	chain post {
		type nat hook postrouting priority srcnat;
		oifname "%s" masquerade;
	}
	chain out {
		type filter hook output priority mangle;
		udp dport %d ct mark set 7;
	}
}
`

func newConntrackNet(t *testing.T) *conntrackNet {
	t.Helper()
	for _, tool := range []string{"nft", "conntrack"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (apt-get install nftables conntrack)", tool)
		}
	}
	n := &conntrackNet{Net: nstest.New(t, "netsql-ct-", "vct")}
	n.IP(t, "addr", "add", "10.9.50.1/32", "dev", "lo")
	if out, err := exec.Command("ip", "netns", "exec", n.NS, "sysctl", "-qw", "net.netfilter.nf_conntrack_acct=1").CombinedOutput(); err != nil {
		t.Skipf("no netfilter conntrack in this kernel: %v: %s", err, out)
	}

	// The peer's servers: a TCP listener that accepts and holds, a UDP
	// socket that answers once.
	var ln net.Listener
	var pc net.PacketConn
	err := netns.Do(nstest.RunDir+"/"+n.Peer, func() error {
		var err error
		if ln, err = net.Listen("tcp4", "10.9.0.1:0"); err != nil {
			return err
		}
		pc, err = net.ListenPacket("udp4", "10.9.0.1:0")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close(); pc.Close() })
	n.tcpPort = ln.Addr().(*net.TCPAddr).Port
	n.udpPort = pc.LocalAddr().(*net.UDPAddr).Port
	held := make(chan net.Conn, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			held <- c
		}
	}()
	t.Cleanup(func() {
		select {
		case c := <-held:
			c.Close()
		default:
		}
	})
	go func() {
		buf := make([]byte, 16)
		if _, from, err := pc.ReadFrom(buf); err == nil {
			pc.WriteTo([]byte("pong"), from)
		}
	}()

	cmd := exec.Command("ip", "netns", "exec", n.NS, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(fmt.Sprintf(conntrackRuleset, n.Link, n.udpPort))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nft: %v: %s", err, out)
	}

	// The flows, from the namespace's lo address.
	var tc net.Conn
	var uc *net.UDPConn
	err = netns.Do(n.Path(), func() error {
		var err error
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(10, 9, 50, 1)}}
		if tc, err = d.Dial("tcp4", "10.9.0.1:"+strconv.Itoa(n.tcpPort)); err != nil {
			return err
		}
		uc, err = net.DialUDP("udp4", &net.UDPAddr{IP: net.IPv4(10, 9, 50, 1)}, &net.UDPAddr{IP: net.IPv4(10, 9, 0, 1), Port: n.udpPort})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tc.Close(); uc.Close() })
	if _, err := uc.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	if _, err := uc.Read(make([]byte, 16)); err != nil {
		t.Fatal(err)
	}
	return n
}

// conntrackTool runs conntrack(8) inside the namespace.
func (n *conntrackNet) conntrackTool(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"netns", "exec", n.NS, "conntrack"}, args...)...).Output()
	if err != nil {
		t.Fatalf("conntrack %v: %v", args, err)
	}
	return string(out)
}

// toolFlows renders `conntrack -L -o extended,id` lines as the rows of
// conntrackRows: protocol, state, the two tuples with their counters,
// mark, the ASSURED and UNREPLIED marks and id.
func toolFlows(out string) []string {
	var rows []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || (f[0] != "ipv4" && f[0] != "ipv6") {
			continue
		}
		row := []string{f[2]}
		if !strings.Contains(f[5], "=") {
			row = append(row, f[5])
		} else {
			row = append(row, "-")
		}
		var flags []string
		for _, x := range f[5:] {
			k, _, ok := strings.Cut(x, "=")
			switch {
			case !ok && (x == "[ASSURED]" || x == "[UNREPLIED]"):
				flags = append(flags, x)
			case ok && k != "use" && k != "zone":
				row = append(row, x)
			}
		}
		rows = append(rows, strings.Join(append(row, flags...), " "))
	}
	return rows
}

const conntrackRowsSQL = `SELECT protocol || ' ' || coalesce(state, '-')
	|| ' src=' || src || ' dst=' || dst || ' sport=' || sport || ' dport=' || dport
	|| ' packets=' || packets || ' bytes=' || bytes
	|| ' src=' || reply_src || ' dst=' || reply_dst || ' sport=' || reply_sport || ' dport=' || reply_dport
	|| ' packets=' || reply_packets || ' bytes=' || reply_bytes
	|| ' mark=' || mark || ' id=' || id
	|| iif(status LIKE '%ASSURED%', ' [ASSURED]', '') || iif(status NOT LIKE '%SEEN_REPLY%', ' [UNREPLIED]', '')
	FROM conntrack WHERE netns_name = ?`

// TestLiveConntrackMatchesTool compares the conntrack table of a namespace
// the test made with conntrack -L -o extended,id and conntrack -S there,
// and checks the masquerade shows in the tuples and that a mark filter
// pushed to the kernel selects what conntrack -m selects.
func TestLiveConntrackMatchesTool(t *testing.T) {
	n := newConntrackNet(t)
	eng, err := Open(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()

	got, err := nstest.Agree(t, 8, 2, func() []string {
		return query(t, eng, conntrackRowsSQL, n.NS)
	}, func() []string {
		return toolFlows(n.conntrackTool(t, "-L", "-o", "extended,id"))
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("flows:\n  %s", strings.Join(got, "\n  "))

	// The --proc path, run inside the namespace, reads the same flows
	// from net/nf_conntrack (which has no id).
	procSQL := strings.Replace(strings.Replace(conntrackRowsSQL, " || ' id=' || id", "", 1), " WHERE netns_name = ?", "", 1)
	noID := func(rows []string) []string {
		out := make([]string, len(rows))
		for i, r := range rows {
			f := strings.Fields(r)
			var keep []string
			for _, x := range f {
				if !strings.HasPrefix(x, "id=") {
					keep = append(keep, x)
				}
			}
			out[i] = strings.Join(keep, " ")
		}
		return out
	}
	helper := &testNet{Net: n.Net}
	if _, err := nstest.Agree(t, 8, 2, func() []string {
		return helper.run(t, true, procSQL)[0]
	}, func() []string {
		return noID(toolFlows(n.conntrackTool(t, "-L", "-o", "extended,id")))
	}); err != nil {
		t.Errorf("--proc: %v", err)
	}

	// Both flows are masqueraded to the veth address, and only the UDP
	// one carries the mark.
	nat := query(t, eng, `SELECT protocol, reply_dst, snat, dnat, mark FROM conntrack
		WHERE netns_name = ? AND src = '10.9.50.1' ORDER BY protocol`, n.NS)
	if want := []string{"tcp|10.9.0.2|1|0|0", "udp|10.9.0.2|1|0|7"}; strings.Join(nat, ",") != strings.Join(want, ",") {
		t.Errorf("masqueraded flows: %v, want %v", nat, want)
	}
	_, err = nstest.Agree(t, 8, 1, func() []string {
		return query(t, eng, conntrackRowsSQL+" AND mark = 7", n.NS)
	}, func() []string {
		return toolFlows(n.conntrackTool(t, "-L", "-m", "7", "-o", "extended,id"))
	})
	if err != nil {
		t.Errorf("mark = 7: %v", err)
	}

	// The mark and family reach the kernel: a raw dump with the filter
	// returns the marked flow only (no userspace check in between).
	nl, err := netlink.DialConn(netlink.Config{Protocol: unix.NETLINK_NETFILTER, NetNS: n.Path()})
	if err != nil {
		t.Fatal(err)
	}
	defer nl.Close()
	var marks []uint32
	var fl conntrack.Flow
	err = nl.Dump(context.Background(), conntrack.DumpRequest(conntrack.Filter{Family: unix.AF_INET, Mark: 7, HasMark: true}),
		func() { marks = marks[:0] }, func(m netlink.Message) error {
			if !conntrack.IsFlow(m.Type) {
				return nil
			}
			if err := conntrack.ParseFlow(m.Payload, &fl); err != nil {
				return err
			}
			marks = append(marks, fl.Mark)
			return nil
		})
	if err != nil || len(marks) != 1 || marks[0] != 7 {
		t.Errorf("kernel-filtered dump for mark 7: marks %v, err %v", marks, err)
	}

	// conntrack -S, summed over the CPUs; count and max as the sysctls say.
	_, err = nstest.Agree(t, 8, 1, func() []string {
		return query(t, eng, `SELECT 'found='||found, 'invalid='||invalid, 'insert='||inserted, 'insert_failed='||insert_failed,
			'drop='||dropped, 'early_drop='||early_drop, 'error='||error, 'search_restart='||search_restart,
			'clash_resolve='||clash_resolve, 'chaintoolong='||chaintoolong FROM conntrack_stats WHERE netns_name = ?`, n.NS)
	}, func() []string {
		sums := map[string]uint64{}
		var keys []string
		for _, line := range strings.Split(n.conntrackTool(t, "-S"), "\n") {
			for _, f := range strings.Fields(line) {
				k, v, ok := strings.Cut(f, "=")
				if !ok || k == "cpu" {
					continue
				}
				x, _ := strconv.ParseUint(v, 10, 64)
				if _, seen := sums[k]; !seen {
					keys = append(keys, k)
				}
				sums[k] += x
			}
		}
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s=%d", k, sums[k]))
		}
		return []string{strings.Join(parts, "|")}
	})
	if err != nil {
		t.Errorf("conntrack -S: %v", err)
	}
	sysctl := func(name string) string {
		out, err := exec.Command("ip", "netns", "exec", n.NS, "sysctl", "-n", "net.netfilter."+name).Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(out))
	}
	limits := query(t, eng, `SELECT count, max FROM conntrack_stats WHERE netns_name = ?`, n.NS)
	if want := sysctl("nf_conntrack_count") + "|" + sysctl("nf_conntrack_max"); len(limits) != 1 || limits[0] != want {
		t.Errorf("count|max = %v, want %s", limits, want)
	}
}

// TestConntrackStatsUnprivileged: ctnetlink refuses a user without
// CAP_NET_ADMIN, but the per-CPU counters are world-readable in
// net/stat/nf_conntrack; conntrack_stats reads them there, with a notice,
// where it used to fail. (As root the netlink path runs: see
// TestLiveConntrackMatchesTool; CI runs the suite as a normal user too.)
func TestConntrackStatsUnprivileged(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("tests the path of a user without CAP_NET_ADMIN; run as a normal user")
	}
	b, err := os.ReadFile("/proc/self/net/stat/nf_conntrack")
	if err != nil {
		t.Skipf("no conntrack statistics in this kernel: %v", err)
	}
	var notices []string
	eng, err := Open(Options{Notify: func(n Notice) { notices = append(notices, n.Msg) }})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	rows := query(t, eng, "SELECT cpus FROM conntrack_stats")
	if want := strconv.Itoa(strings.Count(strings.TrimSpace(string(b)), "\n")); len(rows) != 1 || rows[0] != want {
		t.Errorf("cpus = %v, want %s (the file's rows)", rows, want)
	}
	if len(notices) != 1 || !strings.Contains(notices[0], "CAP_NET_ADMIN") {
		t.Errorf("notices %q", notices)
	}
}
