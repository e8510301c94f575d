package vtab

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fixtureHost is the shared fixture host; its /etc is found beside proc.
const fixtureHost = "testdata/fixture/proc"

func queryOne(t *testing.T, eng *Engine, q string, args ...any) any {
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

func TestNameFunctions(t *testing.T) {
	eng, err := Open(Options{ProcRoot: fixtureHost})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	for _, c := range []struct {
		sql  string
		want any
	}{
		{"SELECT service_name(8080, 'tcp')", "http-alt"},
		{"SELECT service_name(631, 'tcp6')", "ipp"},
		{"SELECT service_name(5353, 'udp')", "mdns"},
		{"SELECT service_name(1, 'raw')", "icmp"}, // from /etc/protocols
		{"SELECT service_name(0, 'tcp')", "*"},
		{"SELECT service_name(2222, 'tcp')", "2222"},
		{"SELECT service_name(NULL, 'tcp')", nil},
		{"SELECT host_name('127.0.0.1')", "localhost"},
		{"SELECT host_name('192.0.2.9')", "192.0.2.9"}, // no DNS for a copied /etc
		// getnameinfo looks ::ffff:127.0.0.1 up as IPv6: /etc/hosts'
		// IPv4 line does not name it (netstat then prints 127.0.0.1).
		{"SELECT host_name('::ffff:127.0.0.1')", "::ffff:127.0.0.1"},
		{"SELECT host_name('::127.0.0.1')", "::127.0.0.1"},
	} {
		if got := queryOne(t, eng, c.sql); got != c.want {
			t.Errorf("%s = %#v, want %#v", c.sql, got, c.want)
		}
	}
}

// TestAddressFunctionsBadInput: a value that is not an IP address gives
// NULL from every function taking an address, never an aborted statement.
func TestAddressFunctionsBadInput(t *testing.T) {
	eng, err := Open(Options{ProcRoot: fixtureHost})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	for _, bad := range []string{"'x'", "''", "'127.0.0.1:80'", "'1.2.3'", "'::1%'", "42", "4.5", "x'7f000001'", "'fe80::1%eth0/64'"} {
		for _, call := range []string{
			"host_name(%s)",
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
	// A statement over many rows keeps going past the bad ones.
	var n, named int
	if err := eng.DB().QueryRow(`SELECT count(*), count(host_name(a)) FROM (SELECT 'x' AS a UNION ALL SELECT '127.0.0.1' UNION ALL SELECT NULL)`).Scan(&n, &named); err != nil || n != 3 || named != 1 {
		t.Errorf("count = %d, %d (%v); want 3 rows, 1 named", n, named, err)
	}
}

// TestGetnameinfoRules: /etc/hosts and DNS are consulted as glibc's
// getnameinfo consults them for each kind of address.
func TestGetnameinfoRules(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "proc", "net"), 0o755); err != nil {
		t.Fatal(err)
	}
	hosts := "192.0.2.7 seven\n::ffff:192.0.2.8 eight\n2001:db8::9 nine\n::1 six-lo\nfe80::1%eth0 zoned\n"
	if err := os.MkdirAll(filepath.Join(dir, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "etc", "hosts"), []byte(hosts), 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := NewSource(filepath.Join(dir, "proc"), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := newResolver(src)
	r.dns = true
	var asked []string
	r.lookupAddr = func(_ context.Context, addr string) ([]string, error) {
		asked = append(asked, addr)
		return nil, &net.DNSError{Err: "no such host", IsNotFound: true}
	}
	for _, c := range []struct{ addr, want string }{
		{"192.0.2.7", "seven"},
		{"::ffff:192.0.2.7", "::ffff:192.0.2.7"}, // IPv4 lines never name an IPv6 lookup
		{"192.0.2.8", "eight"},                   // a v4-mapped line names its IPv4 address
		{"::ffff:192.0.2.8", "eight"},
		{"2001:db8::9", "nine"},
		{"127.0.0.1", "six-lo"}, // ::1 counts as 127.0.0.1 for an IPv4 lookup
		{"::1", "six-lo"},
		{"fe80::1", "fe80::1"}, // a line with a zone is no address to inet_pton
		{"::", "::"},
		{"::1.2.3.4", "::1.2.3.4"},
		// The scope: an interface name for link-local addresses, else its number.
		{"fe80::7%1", "fe80::7%lo"},
		{"fe80::7%lo", "fe80::7%lo"},
		{"ff02::7%1", "ff02::7%lo"},
		{"2001:db8::7%lo", "2001:db8::7%1"},
		{"2001:db8::9%1", "nine"}, // a name found carries no scope
	} {
		if got, _ := r.hostName(c.addr); got != c.want {
			t.Errorf("hostName(%s) = %q, want %q", c.addr, got, c.want)
		}
	}
	// DNS is asked for the IPv4 PTR of v4-mapped and v4-compatible
	// addresses (in the mapped text, which Go's resolver reverses as
	// IPv4 without consulting /etc/hosts' IPv4 lines), and never for ::.
	want := []string{"::ffff:192.0.2.7", "fe80::1", "::ffff:1.2.3.4", "fe80::7", "ff02::7", "2001:db8::7"}
	if strings.Join(asked, " ") != strings.Join(want, " ") {
		t.Errorf("DNS asked for %q, want %q", asked, want)
	}
}

// TestDeadDNS: a name server that does not answer costs one timeout per
// run, not one per address.
func TestDeadDNS(t *testing.T) {
	src, err := NewSource(fixtureHost, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := newResolver(src)
	r.dns = true
	calls := 0
	r.lookupAddr = func(ctx context.Context, addr string) ([]string, error) {
		calls++
		<-ctx.Done()
		return nil, errors.New("timeout")
	}
	start := time.Now()
	for _, a := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"} {
		if name, _ := r.hostName(a); name != a {
			t.Errorf("hostName(%s) = %s", a, name)
		}
	}
	if calls != 1 || time.Since(start) > 2*dnsTimeout {
		t.Errorf("%d DNS calls in %v; want one timeout, then none", calls, time.Since(start))
	}
	r2 := newResolver(src)
	r2.dns = true
	r2.lookupAddr = func(context.Context, string) ([]string, error) { return []string{"gw.example."}, nil }
	if name, _ := r2.hostName("192.0.2.1"); name != "gw.example" {
		t.Errorf("DNS name = %q", name)
	}
	if name, _ := r2.hostName("127.0.0.1"); name != "localhost" {
		t.Errorf("/etc/hosts must come first: %q", name)
	}
}

// hostName returns the name of an address, or its numeric text; ok is
// false when text is not an IP address.
func (r *resolver) hostName(text string) (string, bool) {
	a, err := netip.ParseAddr(text)
	if err != nil {
		return "", false
	}
	return r.lookupHost(a), true
}
