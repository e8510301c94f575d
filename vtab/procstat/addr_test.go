package procstat

import (
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

func TestAddresses6Fixture(t *testing.T) {
	got, err := Addresses6(fixtureRoot)
	if err != nil {
		t.Fatal(err)
	}
	want := []Addr6{
		{Address: netip.MustParseAddr("::1"), Index: 1, PrefixLen: 128, Scope: 0x10, Flags: 0x80, Interface: "lo"},
		{Address: netip.MustParseAddr("fd00::2"), Index: 4, PrefixLen: 64, Scope: 0, Flags: 0x80, Interface: "eth0"},
		{Address: netip.MustParseAddr("fe80::fc:ff:fe00:1"), Index: 4, PrefixLen: 64, Scope: 0x20, Flags: 0x80, Interface: "eth0"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestARPFixture(t *testing.T) {
	got, err := ARP(fixtureRoot)
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, e := range got {
		rows = append(rows, strings.Join([]string{e.Address.String(), e.MAC.String(), e.Interface, e.Mask}, " "))
	}
	want := []string{
		"192.0.2.1 02:fc:00:00:00:02 eth0 *",
		"192.0.2.9 02:00:00:00:00:09 eth0 *",
		"192.0.2.77 00:00:00:00:00:00 eth0 *",
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("got %q, want %q", rows, want)
	}
	if got[0].Flags != ATFComplete || got[1].Flags != ATFComplete|ATFPermanent || got[2].Flags != 0 || got[0].HWType != 1 {
		t.Errorf("flags/hwtype: %+v", got)
	}
}

func TestARPOddHardwareAddress(t *testing.T) {
	// A tunnel's 4-byte address and an InfiniBand one: net.ParseMAC
	// refuses the first.
	in := "IP address       HW type     Flags       HW address            Mask     Device\n" +
		"10.0.0.1         0x300       0x2         c0:00:02:01           *        tun0\n"
	got, err := parseARP(strings.NewReader(in), "arp")
	if err != nil || len(got) != 1 || got[0].MAC.String() != "c0:00:02:01" || got[0].HWType != 0x300 {
		t.Fatalf("got %+v, %v", got, err)
	}
}

func TestAddrMalformed(t *testing.T) {
	for _, c := range []struct {
		name  string
		parse func(string) error
		in    string
	}{
		{"if_inet6", func(s string) error { _, err := parseIfInet6(strings.NewReader(s), "if_inet6"); return err },
			"fd000000000000000000000000000002 04 40 00 80\n"},
		{"if_inet6", func(s string) error { _, err := parseIfInet6(strings.NewReader(s), "if_inet6"); return err },
			"fd000000000000000000000000000002 04 81 00 80 eth0\n"},
		{"if_inet6", func(s string) error { _, err := parseIfInet6(strings.NewReader(s), "if_inet6"); return err },
			"fd00 04 40 00 80 eth0\n"},
		{"arp", func(s string) error { _, err := parseARP(strings.NewReader(s), "arp"); return err },
			"IP address HW type Flags HW address Mask Device\n::1 0x1 0x2 02:00:00:00:00:01 * eth0\n"},
		{"arp", func(s string) error { _, err := parseARP(strings.NewReader(s), "arp"); return err },
			"10.0.0.1 1 0x2 02:00:00:00:00:01 * eth0\n"},
		{"arp", func(s string) error { _, err := parseARP(strings.NewReader(s), "arp"); return err },
			"10.0.0.1 0x1 0x2 2:0:0:0:0:1 * eth0\n"},
	} {
		err := c.parse(c.in)
		if !errors.Is(err, ErrMalformed) || !strings.HasPrefix(err.Error(), "procstat: "+c.name+" line ") {
			t.Errorf("%q: err = %v, want a malformed-line error naming the file and line", c.in, err)
		}
	}
}
