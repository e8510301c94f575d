package netstat

import (
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/netsql/netsql/vtab"
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

// queryOne runs a query that returns one value.
func queryOne(t *testing.T, eng *vtab.Engine, q string, args ...any) any {
	t.Helper()
	var v any
	if err := eng.DB().QueryRow(q, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	if b, ok := v.([]byte); ok {
		return string(b)
	}
	return v
}

// TestNameFunctions: netstat's address, program and timer wording.
func TestNameFunctions(t *testing.T) {
	eng := openFixture(t)
	for _, c := range []struct {
		sql  string
		want any
	}{
		{"SELECT netstat_addr('::ffff:127.0.0.1', 5432, 'tcp6', 0, 0)", "127.0.0.1:postgresql"},
		{"SELECT netstat_host('::ffff:127.0.0.1', 0)", "127.0.0.1"},
		{"SELECT netstat_addr('127.0.0.1', 5432, 'tcp', 0, 0)", "localhost:postgresql"},
		{"SELECT netstat_addr('127.0.0.1', 5432, 'tcp', 1, 0)", "127.0.0.1:5432"},
		{"SELECT netstat_addr('127.0.0.1', 5432, 'tcp', 'hosts', 0)", "127.0.0.1:postgresql"},
		{"SELECT netstat_addr('127.0.0.1', 5432, 'tcp', 'ports', 0)", "localhost:5432"},
		{"SELECT netstat_addr('0.0.0.0', 0, 'udp', 0, 0)", "0.0.0.0:*"},
		{"SELECT netstat_addr('::', 0, 'tcp6', 0, 0)", "[::]:*"},
		{"SELECT netstat_addr('::', 0, 'tcp6', 1, 0)", ":::*"},
		{"SELECT netstat_addr('::ffff:10.1.2.3', 80, 'tcp6', 1, 0)", "10.1.2.3:80"},
		{"SELECT netstat_addr('::1.2.3.4', 80, 'tcp6', 1, 0)", "::1.2.3.4:80"},
		// 24 characters: the address is cut so the port keeps its digits.
		{"SELECT netstat_addr('fe80::fc:ff:fe00:1', 60728, 'tcp6', 1, 0)", "fe80::fc:ff:fe00::60728"},
		{"SELECT netstat_addr('fe80::fc:ff:fe00:1', 60728, 'tcp6', 1, 1)", "fe80::fc:ff:fe00:1:60728"},
		{"SELECT length(netstat_addr('2001:db8:1234:5678:9abc:def0:1234:5678', 65535, 'tcp6', 1, 0))", int64(23)},
		{"SELECT netstat_host('169.254.0.0', 0)", "link-local"}, // /etc/networks
		{"SELECT netstat_route_host('0.0.0.0', '0.0.0.0', 0, 0)", "default"},
		{"SELECT netstat_route_host('127.0.0.0', '255.0.0.0', 0, 0)", "loopback"},
		{"SELECT netstat_route_host('0.0.0.0', '255.255.255.0', 0, 1)", "0.0.0.0"},
		{"SELECT netstat_program(9058)", "9058/python3"},
		{"SELECT netstat_program(NULL)", "-"},
		{"SELECT netstat_timer('tcp', 'keepalive', 7183.36, 0, 0)", "keepalive (7183.36/0/0)"},
		{"SELECT netstat_timer('tcp', 'off', 0, 2, 1)", "off (0.00/2/1)"},
		{"SELECT netstat_timer('udp', 'on', 1, 1, 1)", "off (0.00/0/0)"},
	} {
		if got := queryOne(t, eng, c.sql); got != c.want {
			t.Errorf("%s = %#v, want %#v", c.sql, got, c.want)
		}
	}
}

// TestAddressFunctionsBadInput: a value that is not an IP address gives
// NULL from every netstat function taking an address, never an aborted
// statement.
func TestAddressFunctionsBadInput(t *testing.T) {
	eng := openFixture(t)
	for _, bad := range []string{"'x'", "''", "'127.0.0.1:80'", "'1.2.3'", "'::1%'", "42", "4.5", "x'7f000001'", "'fe80::1%eth0/64'"} {
		for _, call := range []string{
			"netstat_addr(%s, 80, 'tcp', 0, 0)",
			"netstat_host(%s, 0)",
			"netstat_route_host(%s, '255.255.255.0', 0, 0)",
			"netstat_route_host('10.0.0.0', %s, 0, 0)",
		} {
			q := "SELECT " + strings.Replace(call, "%s", bad, 1)
			var v any
			if err := eng.DB().QueryRow(q).Scan(&v); err != nil {
				t.Errorf("%s: %v", q, err)
			} else if v != nil {
				t.Errorf("%s = %#v, want NULL", q, v)
			}
		}
	}
	// IPv6 routes have no netstat -r name: NULL, not an error.
	if v := queryOne(t, eng, "SELECT netstat_route_host('::1', '::', 0, 0)"); v != nil {
		t.Errorf("netstat_route_host(IPv6) = %#v", v)
	}
}

// TestFunctionsAreRegistered: every function Extension documents exists
// in an engine opened with it, with the documented number of arguments;
// the engine has no netstat function the reference leaves out; and an
// engine opened without the extension has none of them.
func TestFunctionsAreRegistered(t *testing.T) {
	eng := openFixture(t)
	documented := map[string]bool{}
	for _, f := range Extension().Functions(nil) {
		documented[f.Name] = true
		nargs := strings.Count(f.Args, ",") + 1
		if got := queryOne(t, eng, "SELECT group_concat(narg) FROM pragma_function_list WHERE name = ?", f.Name); got != strconv.Itoa(nargs) || int(f.NArgs) != nargs {
			t.Errorf("%s%s: registered with narg %v, declared with %d, documented with %d arguments", f.Name, f.Args, got, f.NArgs, nargs)
		}
	}
	rows, err := eng.DB().Query("SELECT name FROM pragma_function_list WHERE name LIKE 'netstat%'")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		if !documented[name] {
			t.Errorf("function %s is registered but not declared in Extension()", name)
		}
	}
	if got := queryOne(t, eng, "SELECT 'eth10' < 'eth2' COLLATE netstat_if"); got != int64(0) {
		t.Errorf("netstat_if: eth10 < eth2 = %v", got)
	}
	plain, err := vtab.Open(vtab.Options{ProcRoot: fixtureProc})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if got := queryOne(t, plain, "SELECT count(*) FROM pragma_function_list WHERE name LIKE 'netstat%'"); got != int64(0) {
		t.Errorf("an engine without the extension has %v netstat functions", got)
	}
}
