package procstat

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

func TestAddresses4FromFibTrie(t *testing.T) {
	trie, err := parseFibTrie(strings.NewReader(`Main:
  +-- 0.0.0.0/0 3 0 5
     |-- 0.0.0.0
        /0 universe UNICAST
     +-- 127.0.0.0/8 2 0 2
        +-- 127.0.0.0/31 1 0 0
           |-- 127.0.0.0
              /8 host LOCAL
           |-- 127.0.0.1
              /32 host LOCAL
        |-- 127.255.255.255
           /32 link BROADCAST
     +-- 192.0.2.0/24 2 0 2
        +-- 192.0.2.0/30 2 0 2
           |-- 192.0.2.0
              /24 link UNICAST
           |-- 192.0.2.2
              /32 host LOCAL
        |-- 192.0.2.255
           /32 link BROADCAST
     |-- 203.0.113.9
        /32 host LOCAL
`), "fib_trie")
	if err != nil {
		t.Fatal(err)
	}
	routes := []Route4{
		{Iface: "eth0", Destination: netip.MustParseAddr("0.0.0.0"), Gateway: netip.MustParseAddr("192.0.2.1"), Mask: netip.MustParseAddr("0.0.0.0")},
		{Iface: "eth0", Destination: netip.MustParseAddr("192.0.2.0"), Gateway: netip.MustParseAddr("0.0.0.0"), Mask: netip.MustParseAddr("255.255.255.0")},
	}
	got := addresses4(trie, routes)
	// The network's last address is routed as broadcast whether or not
	// the address has it: unknown. 203.0.113.9 has no route placing it.
	want := []Addr4{
		{Interface: "lo", Address: netip.MustParseAddr("127.0.0.1"), PrefixLen: 8, BroadcastUnknown: true},
		{Interface: "eth0", Address: netip.MustParseAddr("192.0.2.2"), PrefixLen: 24, BroadcastUnknown: true},
		{Address: netip.MustParseAddr("203.0.113.9"), PrefixLen: -1, BroadcastUnknown: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if _, err := parseFibTrie(strings.NewReader("Main:\n        /32 host LOCAL\n"), "fib_trie"); err == nil {
		t.Error("an alias line without a leaf parsed")
	}
}

// TestAddresses4SplitTables: once a policy rule splits the main and local
// tables, fib_trie prints them apart; a LOCAL route in Main is no address,
// one in Local is, and a broadcast route other than the network's last
// address names the broadcast of the one address of that network.
func TestAddresses4SplitTables(t *testing.T) {
	trie, err := parseFibTrie(strings.NewReader(`Main:
  +-- 0.0.0.0/0 2 0 2
     |-- 10.4.0.0
        /24 link UNICAST
     |-- 198.51.100.7
        /32 host LOCAL
Local:
  +-- 0.0.0.0/0 2 0 2
     |-- 10.4.0.1
        /32 host LOCAL
     |-- 10.4.0.127
        /32 link BROADCAST
     |-- 10.4.0.255
        /32 link BROADCAST
Id 100:
  +-- 0.0.0.0/0 2 0 2
     |-- 10.9.0.1
        /32 host LOCAL
`), "fib_trie")
	if err != nil {
		t.Fatal(err)
	}
	if trie[0].Table != "Main" || trie[2].Table != "Local" || trie[len(trie)-1].Table != "Id 100" {
		t.Errorf("tables: %+v", trie)
	}
	routes := []Route4{
		{Iface: "mv0", Destination: netip.MustParseAddr("10.4.0.0"), Gateway: netip.MustParseAddr("0.0.0.0"), Mask: netip.MustParseAddr("255.255.255.0")},
		{Iface: "eth0", Destination: netip.MustParseAddr("198.51.100.7"), Gateway: netip.MustParseAddr("0.0.0.0"), Mask: netip.MustParseAddr("255.255.255.255")},
	}
	got := addresses4(trie, routes)
	want := []Addr4{{Interface: "mv0", Address: netip.MustParseAddr("10.4.0.1"), PrefixLen: 24, Broadcast: netip.MustParseAddr("10.4.0.127")}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}
