package procstat

import (
	"errors"
	"io/fs"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
)

// liveRoot skips the test when the live /proc has no net/snmp.
func liveRoot(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(procPath(DefaultProcRoot, "net/snmp")); err != nil {
		t.Skipf("no live /proc/net/snmp: %v", err)
	}
	return DefaultProcRoot
}

func liveCounter(t *testing.T, proto, name string) int64 {
	t.Helper()
	cs, err := ProtocolCounters(liveRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.Protocol == proto && c.Name == name {
			return c.Value
		}
	}
	t.Fatalf("live counters lack %s %s", proto, name)
	return 0
}

// TestLiveActiveOpens makes a loopback TCP connection and checks that
// Tcp ActiveOpens in the live /proc/net/snmp grew.
func TestLiveActiveOpens(t *testing.T) {
	before := liveCounter(t, "Tcp", "ActiveOpens")
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Skipf("no loopback: %v", err)
	}
	defer ln.Close()
	accepted := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Close()
		}
		accepted <- err
	}()
	c, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if err := <-accepted; err != nil {
		t.Fatal(err)
	}
	after := liveCounter(t, "Tcp", "ActiveOpens")
	if after <= before {
		t.Errorf("Tcp ActiveOpens %d -> %d after a loopback connect", before, after)
	}
	if v := liveCounter(t, "Tcp", "MaxConn"); v != -1 {
		t.Logf("Tcp MaxConn = %d (usually -1)", v)
	}
}

// TestLiveReaders runs every reader over the live /proc.
func TestLiveReaders(t *testing.T) {
	root := liveRoot(t)
	s, err := SocketSummary(root)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := s.Value("", "sockets", "used"); !ok || v <= 0 {
		t.Errorf("sockets used = %d, %v", v, ok)
	}
	ds, err := DevCounters(root)
	if err != nil {
		t.Fatal(err)
	}
	lo := false
	for _, d := range ds {
		lo = lo || d.Interface == "lo"
	}
	if !lo {
		t.Errorf("net/dev has no lo: %+v", ds)
	}
	if _, err := MulticastGroups(root); err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Error(err)
	}
	if _, err := Routes4(root); err != nil {
		t.Error(err)
	}
	if _, err := Routes6(root); err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Error(err)
	}
}

// TestLiveServices checks /etc/services has ssh on 22/tcp where it exists.
func TestLiveServices(t *testing.T) {
	if _, err := os.Stat(DefaultServicesPath); err != nil {
		t.Skipf("no %s: %v", DefaultServicesPath, err)
	}
	ss, err := Services(DefaultServicesPath)
	if err != nil {
		t.Fatal(err)
	}
	// The first well-formed line of the host's own file, found here
	// without the parser, must be among what the parser returns (no
	// assumption about which services this host lists).
	b, err := os.ReadFile(DefaultServicesPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(strings.SplitN(line, "#", 2)[0])
		if len(f) < 2 {
			continue
		}
		port, proto, ok := strings.Cut(f[1], "/")
		n, err := strconv.Atoi(port)
		if !ok || err != nil || n < 0 || n > 65535 {
			continue
		}
		for _, s := range ss {
			if s.Name == f[0] && s.Port == n && s.Protocol == proto {
				return
			}
		}
		t.Fatalf("%s: %q (its first service line) is not among the %d entries parsed", DefaultServicesPath, line, len(ss))
	}
	if len(ss) != 0 {
		t.Errorf("%s has no well-formed line, yet %d entries were parsed", DefaultServicesPath, len(ss))
	}
}

// TestLiveRouteTables reads the host's rt_tables (or the built-ins).
func TestLiveRouteTables(t *testing.T) {
	m, err := RouteTables()
	if err != nil {
		t.Fatal(err)
	}
	if m[254] != "main" || m[255] != "local" {
		t.Errorf("main/local tables: %v", m)
	}
}
