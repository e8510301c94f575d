package netstat

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/netsql/netsql/vtab/netns"
)

// masqRow splits a -M row: prot, minutes left, the columns after expire.
var masqRow = regexp.MustCompile(`^(.{4}) *(\d+):\d\d\.\d\d (.*)$`)

// TestLiveMasquerade: netstat 2.10 answers -M with an error on a current
// kernel (that is still what it does in the namespace); netsql prints
// net-tools' masquerading table from conntrack. In a namespace that
// masquerades what leaves through a veth pair, a TCP and a UDP flow from
// an address the peer has no route to show with their original source,
// destination, ports and masqueraded port, as conntrack -L lists them.
func TestLiveMasquerade(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces, nftables)")
	}
	for _, tool := range []string{"ip", "nft", "conntrack", "netstat"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (apt-get install iproute2 nftables conntrack net-tools)", tool)
		}
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ns := fmt.Sprintf("netsql-masq-%d", os.Getpid())
	peer := ns + "-p"
	for _, n := range []string{ns, peer} {
		if out, err := exec.Command("ip", "netns", "add", n).CombinedOutput(); err != nil {
			t.Skipf("cannot create a network namespace: %v: %s", err, out)
		}
		t.Cleanup(func() { exec.Command("ip", "netns", "del", n).Run() })
	}
	ipIn(t, peer, "link add vmp type veth peer name vmq", "link set vmq netns "+ns,
		"addr add 10.9.70.1/24 dev vmp", "link set vmp up", "link set lo up")
	ipIn(t, ns, "addr add 10.9.70.2/24 dev vmq", "link set vmq up", "link set lo up", "addr add 10.9.71.1/32 dev lo")
	nft := exec.Command("ip", "netns", "exec", ns, "nft", "-f", "-")
	nft.Stdin = strings.NewReader("table ip netsql_masq {\n chain post {\n  type nat hook postrouting priority srcnat;\n  oifname \"vmq\" masquerade;\n }\n}\n")
	if out, err := nft.CombinedOutput(); err != nil {
		t.Skipf("no nftables NAT here: %v: %s", err, out)
	}

	var ln net.Listener
	var pc net.PacketConn
	if err := netns.Do("/run/netns/"+peer, func() error {
		var err error
		if ln, err = net.Listen("tcp4", "10.9.70.1:0"); err != nil {
			return err
		}
		pc, err = net.ListenPacket("udp4", "10.9.70.1:0")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	defer pc.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			t.Cleanup(func() { c.Close() })
		}
	}()
	go func() {
		buf := make([]byte, 8)
		if _, from, err := pc.ReadFrom(buf); err == nil {
			pc.WriteTo(buf[:1], from)
		}
	}()
	var tc net.Conn
	var uc *net.UDPConn
	if err := netns.Do("/run/netns/"+ns, func() error {
		var err error
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(10, 9, 71, 1)}}
		if tc, err = d.Dial("tcp4", ln.Addr().String()); err != nil {
			return err
		}
		uc, err = net.DialUDP("udp4", &net.UDPAddr{IP: net.IPv4(10, 9, 71, 1)}, pc.LocalAddr().(*net.UDPAddr))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	defer uc.Close()
	uc.Write([]byte("x"))
	if _, err := uc.Read(make([]byte, 8)); err != nil {
		t.Fatal(err)
	}

	// netstat itself still cannot.
	if _, errOut, code := run(t, ns, nil, "netstat", "-M"); code == 0 || !strings.Contains(errOut, "ip_masquerade") {
		t.Logf("netstat -M: exit %d, %q (expected net-tools' error)", code, errOut)
	}

	// What conntrack lists, as net-tools' rows without the expiry.
	want := map[string]bool{}
	ct, _, code := run(t, ns, nil, "conntrack", "-L", "-o", "extended")
	if code != 0 {
		t.Fatalf("conntrack -L: exit %d", code)
	}
	for _, line := range strings.Split(ct, "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || f[0] != "ipv4" {
			continue
		}
		var kv [][2]string
		for _, x := range f {
			if k, v, ok := strings.Cut(x, "="); ok {
				kv = append(kv, [2]string{k, v})
			}
		}
		get := func(key string, nth int) string {
			for _, p := range kv {
				if p[0] == key {
					if nth == 0 {
						return p[1]
					}
					nth--
				}
			}
			return ""
		}
		if get("dst", 1) == get("src", 0) {
			continue // not source-NATed
		}
		want[fmt.Sprintf("%-4s %-20s %-20s %s -> %s (%s)", f[2], get("src", 0), get("dst", 0), get("sport", 0), get("dport", 0), get("dport", 1))] = true
	}
	if len(want) != 2 {
		t.Fatalf("conntrack lists %d masqueraded flows, want the test's 2:\n%s", len(want), ct)
	}

	out, errOut, code := run(t, ns, []string{"NETSQL_NETSTAT_RUN=1"}, self, "-Mn")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if code != 0 || errOut != "" || len(lines) != 4 || lines[0] != "IP masquerading entries" ||
		lines[1] != "prot   expire source               destination          ports" {
		t.Fatalf("netsql netstat -Mn: exit %d, stderr %q, stdout:\n%s", code, errOut, out)
	}
	for _, l := range lines[2:] {
		// prot (%-4s), then expire (%3d:%02d.%02d), then the rest.
		m := masqRow.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("row %q: not prot, expire, addresses and ports", l)
		}
		if min, _ := strconv.Atoi(m[2]); min*60 > 432000 {
			t.Errorf("row %q: %s minutes left, more than any conntrack timeout", l, m[2])
		}
		row := m[1] + " " + m[3]
		if !want[row] {
			t.Errorf("row %q is not one of conntrack's masqueraded flows %v", row, want)
		}
	}
}
