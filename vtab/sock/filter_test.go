package sock

import (
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"
)

func TestFilterMatch(t *testing.T) {
	tcp4 := Socket{Family: unix.AF_INET, Protocol: TCP,
		Local: netip.MustParseAddrPort("127.0.0.1:443"), Remote: netip.MustParseAddrPort("10.1.2.3:50000")}
	mapped := Socket{Family: unix.AF_INET6, Protocol: TCP,
		Local: netip.MustParseAddrPort("[::ffff:127.0.0.1]:443"), Remote: netip.MustParseAddrPort("[::ffff:10.1.2.3]:50000")}
	ux := Socket{Family: unix.AF_UNIX, Protocol: UNIX, Path: "/run/x"}
	p := netip.MustParsePrefix
	for _, c := range []struct {
		name      string
		f         Filter
		s         *Socket
		want      bool
		canMatch4 bool
		canMatch6 bool
	}{
		{"zero", Filter{}, &ux, true, true, true},
		{"sport", Filter{LocalPorts: []PortRange{Port(443)}}, &tcp4, true, true, true},
		{"sport other", Filter{LocalPorts: []PortRange{Port(80)}}, &tcp4, false, true, true},
		{"sport in", Filter{LocalPorts: []PortRange{Port(80), Port(443)}}, &tcp4, true, true, true},
		{"dport range", Filter{RemotePorts: []PortRange{{49152, 65535}}}, &tcp4, true, true, true},
		{"empty range", Filter{RemotePorts: []PortRange{{2, 1}}}, &tcp4, false, false, false},
		{"dst prefix", Filter{RemoteAddrs: []netip.Prefix{p("10.0.0.0/8")}}, &tcp4, true, true, false},
		{"dst prefix miss", Filter{RemoteAddrs: []netip.Prefix{p("10.2.0.0/16")}}, &tcp4, false, true, false},
		{"v4 prefix, mapped v6 socket", Filter{LocalAddrs: []netip.Prefix{p("127.0.0.1/32")}}, &mapped, false, true, false},
		{"mapped prefix, mapped socket", Filter{LocalAddrs: []netip.Prefix{p("::ffff:127.0.0.1/128")}}, &mapped, true, false, true},
		{"and", Filter{LocalPorts: []PortRange{Port(443)}, RemoteAddrs: []netip.Prefix{p("10.1.2.3/32")}}, &tcp4, true, true, false},
		{"and, one fails", Filter{LocalPorts: []PortRange{Port(443)}, RemotePorts: []PortRange{Port(1)}}, &tcp4, false, true, true},
		{"invalid prefix", Filter{LocalAddrs: []netip.Prefix{{}}}, &tcp4, false, false, false},
		{"unix under a filter", Filter{LocalPorts: []PortRange{Port(0)}}, &ux, false, true, true},
	} {
		if got := c.f.Match(c.s); got != c.want {
			t.Errorf("%s: Match = %v, want %v", c.name, got, c.want)
		}
		if got := c.f.CanMatch(unix.AF_INET, TCP); got != c.canMatch4 {
			t.Errorf("%s: CanMatch(inet) = %v, want %v", c.name, got, c.canMatch4)
		}
		if got := c.f.CanMatch(unix.AF_INET6, UDP); got != c.canMatch6 {
			t.Errorf("%s: CanMatch(inet6) = %v, want %v", c.name, got, c.canMatch6)
		}
		if !c.f.IsZero() && c.f.CanMatch(unix.AF_UNIX, UNIX) {
			t.Errorf("%s: a non-zero filter can match unix sockets", c.name)
		}
	}
}

func TestRequestWantsFilter(t *testing.T) {
	r := Request{Filter: Filter{LocalAddrs: []netip.Prefix{netip.MustParsePrefix("::1/128")}}}
	if r.Wants(unix.AF_INET, TCP) || !r.Wants(unix.AF_INET6, TCP) || r.Wants(unix.AF_UNIX, UNIX) {
		t.Errorf("an IPv6 address filter wants inet %v inet6 %v unix %v",
			r.Wants(unix.AF_INET, TCP), r.Wants(unix.AF_INET6, TCP), r.Wants(unix.AF_UNIX, UNIX))
	}
	if !(Request{}).Wants(unix.AF_UNIX, UNIX) {
		t.Error("the zero request does not want unix sockets")
	}
}

func TestExtraHas(t *testing.T) {
	var e *Extra
	if e.Has(ExtraTCPInfo) {
		t.Error("nil Extra has tcp_info")
	}
	e = &Extra{Have: ExtraTCPInfo | ExtraShutdown}
	if !e.Has(ExtraTCPInfo) || !e.Has(ExtraTCPInfo|ExtraShutdown) || e.Has(ExtraTCPInfo|ExtraCgroup) {
		t.Errorf("Has on %b", e.Have)
	}
}
