package procnet

import (
	"context"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/netsql/netsql/vtab/sock"
)

// TestPortAddressFilter reads the fixture with port and address filters:
// the result is exactly the fixture's sockets that Filter.Match keeps, in
// file order, and no unix socket passes a non-zero filter.
func TestPortAddressFilter(t *testing.T) {
	all := fixtureSockets()
	var tcp4, tcp6 *sock.Socket
	for i := range all {
		s := &all[i]
		if s.Protocol == sock.TCP && s.Family == unix.AF_INET && tcp4 == nil && s.Remote.Port() != 0 {
			tcp4 = s
		}
		if s.Protocol == sock.TCP && s.Family == unix.AF_INET6 && tcp6 == nil {
			tcp6 = s
		}
	}
	if tcp4 == nil || tcp6 == nil {
		t.Fatal("fixture lacks a connected tcp socket and a tcp6 socket")
	}
	filters := map[string]sock.Filter{
		"sport":         {LocalPorts: []sock.PortRange{sock.Port(tcp4.Local.Port())}},
		"dport":         {RemotePorts: []sock.PortRange{sock.Port(tcp4.Remote.Port())}},
		"sport in":      {LocalPorts: []sock.PortRange{sock.Port(tcp4.Local.Port()), sock.Port(tcp6.Local.Port())}},
		"sport >= 1024": {LocalPorts: []sock.PortRange{{Min: 1024, Max: 0xffff}}},
		"src addr":      {LocalAddrs: []netip.Prefix{netip.PrefixFrom(tcp4.Local.Addr(), 32)}},
		"dst /8":        {RemoteAddrs: []netip.Prefix{netip.PrefixFrom(tcp4.Remote.Addr(), 8)}},
		"v6 src":        {LocalAddrs: []netip.Prefix{netip.PrefixFrom(tcp6.Local.Addr(), 128)}},
		"nothing":       {LocalPorts: []sock.PortRange{{Min: 5, Max: 4}}},
	}
	for name, f := range filters {
		t.Run(name, func(t *testing.T) {
			var want []sock.Socket
			for i := range all {
				if f.Match(&all[i]) {
					want = append(want, all[i])
				}
			}
			got, err := New(fixtureRoot).Sockets(context.Background(), sock.Request{Filter: f})
			if err != nil {
				t.Fatal(err)
			}
			diffSockets(t, got, want)
			for _, s := range got {
				if s.Protocol == sock.UNIX {
					t.Errorf("unix socket %q passed a port/address filter", s.Path)
				}
			}
			if name != "nothing" && len(want) == 0 {
				t.Errorf("filter %+v keeps nothing of the fixture: a weak test", f)
			}
		})
	}
}
