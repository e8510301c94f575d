package vtab

import (
	"sort"
	"strings"
	"testing"
)

func TestNetstatIfCompare(t *testing.T) {
	names := []string{"eth10", "lo", "eth2", "eth0:1", "eth0", "eth0:10", "eth0:2", "br-x", "eth", "veth1", "ifb0"}
	sort.SliceStable(names, func(i, j int) bool { return NetstatIfCompare(names[i], names[j]) < 0 })
	want := "br-x eth eth0 eth0:1 eth0:2 eth0:10 eth2 eth10 ifb0 lo veth1"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("sorted %s, want %s", got, want)
	}
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"eth1", "eth1", 0}, {"eth0", "eth1", -1}, {"eth1", "eth20", -1}, {"eth20", "eth100", -1},
		{"a", "aa", -1}, {"eth0:1", "eth0:1", 0}, {"100", "100", 0}, {"", "", 0},
	} {
		if got := NetstatIfCompare(c.a, c.b); got != c.want {
			t.Errorf("NetstatIfCompare(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestIfconfigBytes(t *testing.T) {
	for n, want := range map[uint64]string{
		0: "0.0 B", 1024: "1024.0 B", 1025: "1.0 KiB", 309438: "302.1 KiB",
		56273789: "53.6 MiB", 1 << 30: "1024.0 MiB", 3 << 40: "3.0 TiB",
	} {
		if got := ifconfigBytes(n); got != want {
			t.Errorf("ifconfigBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestStatReachable checks the entries netstat's bsearch cannot find in
// its unsorted tables: their counters print as "Name: value".
func TestStatReachable(t *testing.T) {
	for _, c := range []struct {
		protocol, name string
		found          bool
	}{
		{"Ip", "Forwarding", false}, // "ForwDatagrams" sorts before it
		{"Ip", "InReceives", true},
		{"TcpExt", "TCPTimeouts", false},
		{"TcpExt", "TCPDSACKRecv", false},
		{"TcpExt", "TW", true},
		{"TcpExt", "TCPPureAcks", true},
		{"Ip6", "InReceives", true},
		{"Icmp6", "OutRouterAdvertisements", false},
		{"IcmpMsg", "InType3", false},
	} {
		if _, _, found, _ := statLookup(c.protocol, c.name); found != c.found {
			t.Errorf("%s %s: found %v, want %v", c.protocol, c.name, found, c.found)
		}
	}
}
