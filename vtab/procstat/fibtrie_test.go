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
	want := []Addr4{
		{Interface: "lo", Address: netip.MustParseAddr("127.0.0.1"), PrefixLen: 8, Broadcast: netip.MustParseAddr("127.255.255.255")},
		{Interface: "eth0", Address: netip.MustParseAddr("192.0.2.2"), PrefixLen: 24, Broadcast: netip.MustParseAddr("192.0.2.255")},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if _, err := parseFibTrie(strings.NewReader("Main:\n        /32 host LOCAL\n"), "fib_trie"); err == nil {
		t.Error("an alias line without a leaf parsed")
	}
}
