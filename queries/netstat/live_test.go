package netstat

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/netsql/netsql/vtab"
)

// The test binary doubles as two helpers, chosen by environment:
// NETSQL_NETSTAT_HOLD opens the fixture's kinds of sockets and holds them
// until its standard input closes; NETSQL_NETSTAT_RUN runs
// `netsql netstat ARGS` on the live kernel. The live test starts both
// under `ip netns exec`, in a namespace it builds.
func TestMain(m *testing.M) {
	switch {
	case os.Getenv("NETSQL_NETSTAT_HOLD") != "":
		os.Exit(holdSockets(os.Getenv("NETSQL_NETSTAT_HOLD")))
	case os.Getenv("NETSQL_NETSTAT_RUN") != "":
		eng, err := Open(vtab.Options{Notify: Notifier(os.Stderr)})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		code := Command(context.Background(), eng, os.Args[1:], os.Stdout, os.Stderr)
		eng.Close()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// holdSockets opens what netstat-captures/fixture_sockets.py opens, with
// unix paths under dir, prints "ready" and waits for stdin to close.
func holdSockets(dir string) int {
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "hold:", err)
		return 1
	}
	var keep []any
	lc := net.ListenConfig{KeepAlive: -1}
	listen := func(network, addr string) (net.Listener, error) {
		l, err := lc.Listen(context.Background(), network, addr)
		keep = append(keep, l)
		return l, err
	}
	web, err := listen("tcp4", "0.0.0.0:8080")
	if err != nil {
		return fail(err)
	}
	if _, err := listen("tcp4", "127.0.0.1:5432"); err != nil {
		return fail(err)
	}
	l6, err := listen("tcp6", "[::]:2222")
	if err != nil {
		return fail(err)
	}
	if _, err := listen("tcp6", "[::1]:631"); err != nil {
		return fail(err)
	}
	// A loopback connection whose server never reads (Recv-Q 1234), with
	// keepalive on the client (a -o timer).
	d := net.Dialer{KeepAlive: 2 * time.Hour}
	c, err := d.Dial("tcp4", "127.0.0.1:8080")
	if err != nil {
		return fail(err)
	}
	srv, err := web.Accept()
	if err != nil {
		return fail(err)
	}
	if _, err := c.Write(bytes.Repeat([]byte("x"), 1234)); err != nil {
		return fail(err)
	}
	// An IPv6 link-local connection (24-character address: cut to 23).
	v6, err := (&net.Dialer{KeepAlive: -1}).Dial("tcp6", "[fe80::fc:ff:fe00:1%eth0]:2222")
	if err != nil {
		return fail(err)
	}
	v6a, err := l6.Accept()
	if err != nil {
		return fail(err)
	}
	// A dual-stack listener with an IPv4 client: the accepted socket is
	// tcp6 with v4-mapped addresses (::ffff:127.0.0.1), which netstat
	// prints as 127.0.0.1 even when it resolves names.
	dual, err := listen("tcp", ":2223")
	if err != nil {
		return fail(err)
	}
	dc, err := (&net.Dialer{KeepAlive: -1}).Dial("tcp4", "127.0.0.1:2223")
	if err != nil {
		return fail(err)
	}
	dca, err := dual.Accept()
	if err != nil {
		return fail(err)
	}
	keep = append(keep, c, srv, v6, v6a, dc, dca)
	u, err := net.ListenPacket("udp4", "0.0.0.0:5353")
	if err != nil {
		return fail(err)
	}
	u2, err := net.DialUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53})
	if err != nil {
		return fail(err)
	}
	u6, err := net.ListenPacket("udp6", "[::]:123")
	if err != nil {
		return fail(err)
	}
	keep = append(keep, u, u2, u6)
	fds := []int{}
	sock := func(domain, typ, proto int) (int, error) {
		fd, err := unix.Socket(domain, typ|unix.SOCK_CLOEXEC, proto)
		if err == nil {
			fds = append(fds, fd)
		}
		return fd, err
	}
	if _, err := sock(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_ICMP); err != nil {
		return fail(err)
	}
	m, err := sock(unix.AF_INET, unix.SOCK_DGRAM, 0)
	if err != nil {
		return fail(err)
	}
	if err := unix.Bind(m, &unix.SockaddrInet4{Port: 4242}); err != nil {
		return fail(err)
	}
	mreq := &unix.IPMreq{Multiaddr: [4]byte{239, 1, 2, 3}, Interface: [4]byte{192, 0, 2, 2}}
	if err := unix.SetsockoptIPMreq(m, unix.IPPROTO_IP, unix.IP_ADD_MEMBERSHIP, mreq); err != nil {
		return fail(err)
	}
	// UDP-Lite (netstat's udpl and udpl6): a socket bound to 7000 (a udp
	// service name, afs3-fileserver) with a datagram queued, one connected
	// to it, and an IPv6 one on 7001.
	ul, err := sock(unix.AF_INET, unix.SOCK_DGRAM, unix.IPPROTO_UDPLITE)
	if err != nil {
		return fail(err)
	}
	if err := unix.Bind(ul, &unix.SockaddrInet4{Port: 7000, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return fail(err)
	}
	ulc, err := sock(unix.AF_INET, unix.SOCK_DGRAM, unix.IPPROTO_UDPLITE)
	if err != nil {
		return fail(err)
	}
	if err := unix.Connect(ulc, &unix.SockaddrInet4{Port: 7000, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return fail(err)
	}
	if _, err := unix.Write(ulc, []byte("hello")); err != nil {
		return fail(err)
	}
	ul6, err := sock(unix.AF_INET6, unix.SOCK_DGRAM, unix.IPPROTO_UDPLITE)
	if err != nil {
		return fail(err)
	}
	if err := unix.Bind(ul6, &unix.SockaddrInet6{Port: 7001}); err != nil {
		return fail(err)
	}
	path := filepath.Join(dir, "demo-app.sock")
	us, err := sock(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		return fail(err)
	}
	if err := unix.Bind(us, &unix.SockaddrUnix{Name: path}); err != nil {
		return fail(err)
	}
	if err := unix.Listen(us, 4); err != nil {
		return fail(err)
	}
	ua, err := sock(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		return fail(err)
	}
	if err := unix.Bind(ua, &unix.SockaddrUnix{Name: "@netsql-netstat-live"}); err != nil {
		return fail(err)
	}
	if err := unix.Listen(ua, 4); err != nil {
		return fail(err)
	}
	uc, err := sock(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		return fail(err)
	}
	if err := unix.Connect(uc, &unix.SockaddrUnix{Name: path}); err != nil {
		return fail(err)
	}
	acc, _, err := unix.Accept(us)
	if err != nil {
		return fail(err)
	}
	fds = append(fds, acc)
	// Two connections the server never accepts: /proc/net/unix lists
	// their server ends as CONNECTING sockets with inode 0, which netstat
	// -x prints and sock_diag does not list.
	for range 2 {
		p, err := sock(unix.AF_UNIX, unix.SOCK_STREAM, 0)
		if err != nil {
			return fail(err)
		}
		if err := unix.Connect(p, &unix.SockaddrUnix{Name: path}); err != nil {
			return fail(err)
		}
	}
	ud, err := sock(unix.AF_UNIX, unix.SOCK_DGRAM, 0)
	if err != nil {
		return fail(err)
	}
	if err := unix.Bind(ud, &unix.SockaddrUnix{Name: filepath.Join(dir, "demo-app.dgram")}); err != nil {
		return fail(err)
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	for _, fd := range fds {
		unix.Close(fd)
	}
	for _, k := range keep {
		if c, ok := k.(io.Closer); ok {
			c.Close()
		}
	}
	return 0
}

// liveNamespace builds a network namespace like the capture host (lo;
// eth0 with 192.0.2.2/24, fd00::2/64, fe80::fc:ff:fe00:1, here one end of
// a veth pair; default routes via 192.0.2.1 and fd00::1; ifb0 and ifb1
// down) and returns its name.
func liveNamespace(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("live netstat comparison needs root (network namespaces); run the tests as root")
	}
	for _, tool := range []string{"ip", "netstat"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("live netstat comparison needs %s (apt-get install net-tools iproute2)", tool)
		}
	}
	ns := fmt.Sprintf("netsql-netstat-%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Skipf("cannot create a network namespace: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	// Reverse DNS must fail fast, as on the capture host: `ip netns exec`
	// mounts /etc/netns/NS/resolv.conf over /etc/resolv.conf, and nothing
	// answers on the namespace's own loopback.
	etc := filepath.Join("/etc/netns", ns)
	if err := os.MkdirAll(etc, 0o755); err != nil {
		t.Skipf("cannot give the namespace its own resolv.conf: %v", err)
	}
	t.Cleanup(func() {
		os.RemoveAll(etc)
		os.Remove("/etc/netns") // only when empty
	})
	if err := os.WriteFile(filepath.Join(etc, "resolv.conf"), []byte("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ipIn(t, ns,
		"link set lo up",
		"link add eth0 address 02:fc:00:00:00:01 mtu 1400 type veth peer name veth1",
		"link set veth1 up",
		"link set eth0 up",
		"addr add 192.0.2.2/24 dev eth0",
		"addr add fd00::2/64 dev eth0 nodad",
		"addr replace fe80::fc:ff:fe00:1/64 dev eth0 nodad",
		"route add default via 192.0.2.1",
		"-6 route add default via fd00::1",
		// Multipath routes: netstat -r prints one line with the first hop.
		"route add 198.51.100.0/24 nexthop via 192.0.2.1 nexthop via 192.0.2.3 weight 2",
		"nexthop add id 1 via 192.0.2.3 dev eth0",
		"nexthop add id 2 via 192.0.2.1 dev eth0",
		"nexthop add id 10 group 1/2",
		"route add 203.0.113.0/24 nhid 10 metric 7",
		"-6 route add fd01::/64 nexthop via fd00::1 nexthop via fd00::3",
		// IPv4 routes over IPv6 next hops: flag G, gateway 0.0.0.0.
		"route add 198.51.102.0/24 via inet6 fe80::1 dev eth0",
		"route add 198.51.103.0/24 nexthop via inet6 fe80::2 dev eth0 nexthop via 192.0.2.1",
	)
	for _, ifb := range []string{"ifb0", "ifb1"} {
		// ifb needs its module; the views do not depend on it.
		exec.Command("ip", "-n", ns, "link", "add", ifb, "type", "ifb").Run()
	}
	return ns
}

// ipIn runs `ip -n NS CMD` for each command, failing the test on error.
func ipIn(t *testing.T, ns string, cmds ...string) {
	t.Helper()
	for _, cmd := range cmds {
		args := append([]string{"-n", ns}, strings.Fields(cmd)...)
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
}

// startHolder runs the socket holder inside ns and waits until it is ready.
func startHolder(t *testing.T, ns string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cmd := exec.Command("ip", "netns", "exec", ns, self)
	cmd.Env = append(os.Environ(), "NETSQL_NETSTAT_HOLD="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("socket holder did not start: %q, %v", line, err)
	}
}

// run runs a command inside ns and returns its stdout, stderr and exit code.
func run(t *testing.T, ns string, env []string, name string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns, name}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Env = append(cmd.Env, "LC_ALL=C.UTF-8")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return out.String(), errb.String(), code
}

// timers hides the seconds of -o timers, which count down between runs.
var timers = regexp.MustCompile(`\((\d+\.\d\d)/`)

// liveViews are the netstat command lines compared on the live namespace.
var liveViews = []string{
	"", "-a", "-l", "-t", "-u", "-w", "-x",
	"-tan", "-tanp", "-tane", "-tano", "-ta", "-taW", "-tanW", "-te",
	"-an", "-ap", "-ae", "-apA inet", "-apWA inet", "-A inet6 -an", "-6 -an", "-4 -an",
	"-lntu", "-uanp", "-wa", "-wan", "-xa", "-xlp", "-xap", "-atnpeo",
	"-U", "-aU", "-anU", "-lU", "--udplite -ae", "-uUan", "-tUa",
	"--numeric-hosts -a", "--numeric-ports -ta", "--numeric --programs --wide --tcp --all",
	"-k", "--bogus", "-A bogus",
	"-r", "-rn", "-re", "-ree", "-rn -A inet6",
	"-i", "-ia", "-ie",
	"-s", "-s -6", "-st", "-su",
	"-g",
	"-S", "-tS", "-ulS", "-xS", "-S -A inet6",
	"-C", "-rC", "-rCe", "-rCee", "-rCn", "-rC6", "-rCF", "-rCA inet,inet6",
	"-h",
}

// knownLiveGaps are views whose live output cannot match yet, and why.
var knownLiveGaps = map[string]string{}

func TestLiveMatchesNetstat(t *testing.T) {
	ns := liveNamespace(t)
	startHolder(t, ns)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The namespace must hold the sockets, or every comparison is vacuous.
	an, _, _ := run(t, ns, nil, "netstat", "-an")
	for _, want := range []string{"0.0.0.0:8080", "127.0.0.1:5432", ":::2222", ":::2223", "127.0.0.1:2223", "fe80::fc:ff:fe00:1:2222", "0.0.0.0:5353", "udpl ", "udpl6 ", "@netsql-netstat-live", "demo-app.dgram"} {
		if !strings.Contains(an, want) {
			t.Fatalf("netstat -an in the test namespace lacks %s:\n%s", want, an)
		}
	}
	for _, view := range liveViews {
		t.Run("netstat "+view, func(t *testing.T) {
			if reason, ok := knownLiveGaps[view]; ok {
				t.Skip(reason)
			}
			args := strings.Fields(view)
			// Counters may move between the two runs: compare netsql with
			// netstat run just before and just after it.
			before, beforeErr, beforeCode := run(t, ns, nil, "netstat", args...)
			got, gotErr, gotCode := run(t, ns, []string{"NETSQL_NETSTAT_RUN=1"}, self, args...)
			if strings.Contains(gotErr, "is not available yet") {
				t.Skipf("view not implemented: %s", strings.TrimSpace(gotErr))
			}
			after, _, _ := run(t, ns, nil, "netstat", args...)
			norm := func(s string) string { return timers.ReplaceAllString(s, "(T/") }
			same := norm(got) == norm(before) || norm(got) == norm(after)
			if !same && movingCounters[view] {
				same = countersBetween(before, got, after)
			}
			if !same {
				t.Errorf("stdout differs from netstat %s:\n%s", view, lineDiff(got, before))
			}
			if gotErr != beforeErr {
				t.Errorf("stderr = %q, netstat's %q", gotErr, beforeErr)
			}
			wantCode := beforeCode
			if wantCode == 3 {
				wantCode = ExitUsage // netsql's usage status
			}
			if gotCode != wantCode {
				t.Errorf("exit %d, netstat %d", gotCode, beforeCode)
			}
		})
	}
}

// TestLiveRoutesNexthopCompatOff: with net.ipv4.nexthop_compat_mode=0
// the kernel's route dumps name nexthop objects without their next hops;
// netstat -r (reading /proc/net/route) still shows the first one, and so
// must netsql. A blackhole nexthop object leaves through lo.
func TestLiveRoutesNexthopCompatOff(t *testing.T) {
	ns := liveNamespace(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ipIn(t, ns,
		"nexthop add id 5 blackhole",
		"route add 203.0.115.0/24 nhid 5",
		"route add 203.0.116.0/24 nhid 2",
	)
	if out, _, code := run(t, ns, nil, "sysctl", "-w", "net.ipv4.nexthop_compat_mode=0"); code != 0 {
		t.Skipf("cannot turn nexthop_compat_mode off: %s", out)
	}
	rn, _, _ := run(t, ns, nil, "netstat", "-rn")
	for _, want := range []string{"203.0.113.0     192.0.2.3", "203.0.116.0     192.0.2.1", "203.0.115.0     0.0.0.0"} {
		if !strings.Contains(rn, want) {
			t.Fatalf("netstat -rn in the test namespace lacks %q:\n%s", want, rn)
		}
	}
	for _, view := range []string{"-r", "-rn", "-re", "-ree"} {
		args := strings.Fields(view)
		want, _, _ := run(t, ns, nil, "netstat", args...)
		got, gotErr, code := run(t, ns, []string{"NETSQL_NETSTAT_RUN=1"}, self, args...)
		if code != 0 || gotErr != "" {
			t.Errorf("netstat %s: exit %d, stderr %q", view, code, gotErr)
		}
		if got != want {
			t.Errorf("stdout differs from netstat %s:\n%s", view, lineDiff(got, want))
		}
	}
}

// movingCounters are the views whose numbers are counters that may move
// between netstat's run and netsql's even in the quiet test namespace
// (IPv6 router solicitations, MLD reports and DAD on the new veth, the
// loopback traffic of the tools themselves). For them a line-by-line match
// with netstat's output before or after is not required; countersBetween
// is.
var movingCounters = map[string]bool{
	"-s": true, "-s -6": true, "-st": true, "-su": true,
	"-i": true, "-ia": true, "-ie": true,
}

// number is one counter in a line; ifconfig's "53.6 MiB" is one number.
var number = regexp.MustCompile(`\d+(\.\d)?`)

// counterLine is one output line with its numbers masked: the section it
// sits in, the text with every number replaced by #, and how many times
// that masked line came before in the same section (histograms repeat
// sentences).
type counterLine struct {
	section, mask string
	seen          int
}

// counterLines splits netstat output into masked lines and their numbers.
func counterLines(out string) ([]counterLine, map[counterLine][]float64) {
	var keys []counterLine
	vals := map[counterLine][]float64{}
	section := ""
	count := map[[2]string]int{}
	for _, line := range strings.Split(out, "\n") {
		if line != "" && line[0] != ' ' {
			section = line
			if i := strings.IndexAny(line, " :"); i > 0 {
				section = line[:i] // "eth0: flags=..." or "Tcp:"
			}
		}
		mask := number.ReplaceAllString(line, "#")
		k := counterLine{section: section, mask: mask, seen: count[[2]string{section, mask}]}
		count[[2]string{section, mask}]++
		var nums []float64
		for _, m := range number.FindAllString(line, -1) {
			var f float64
			fmt.Sscan(m, &f)
			nums = append(nums, f)
		}
		keys = append(keys, k)
		vals[k] = nums
	}
	return keys, vals
}

// countersBetween reports whether got is what netstat printed at some
// moment between before and after: every line of before is in got and
// every line of got in after, in the same order, and every number of got
// lies between its value in before (0 for a line netstat only prints once
// it is not zero) and in after. Counters only grow, so this is exactly
// "identical apart from counters that moved between the runs". Flags,
// MTUs, addresses and the sentences themselves must match.
func countersBetween(before, got, after string) bool {
	bk, bv := counterLines(before)
	gk, gv := counterLines(got)
	ak, av := counterLines(after)
	if !subsequence(bk, gk) || !subsequence(gk, ak) {
		return false
	}
	for _, k := range gk {
		lo, hi, g := bv[k], av[k], gv[k]
		if len(hi) != len(g) || lo != nil && len(lo) != len(g) {
			return false
		}
		for i := range g {
			min := 0.0
			if lo != nil {
				min = lo[i]
			}
			if g[i] < min || g[i] > hi[i] {
				return false
			}
		}
	}
	return true
}

// subsequence reports whether every element of a appears in b in order.
func subsequence(a, b []counterLine) bool {
	j := 0
	for _, x := range a {
		for j < len(b) && b[j] != x {
			j++
		}
		if j == len(b) {
			return false
		}
		j++
	}
	return true
}
