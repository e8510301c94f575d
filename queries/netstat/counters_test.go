package netstat

import "testing"

// TestCountersBetween checks the live test's comparison of moving counters.
func TestCountersBetween(t *testing.T) {
	before := "Tcp:\n    3 active connection openings\n    0 resets sent\nIcmp:\n    ICMP input histogram:\n        echo requests: 1\n"
	after := "Tcp:\n    5 active connection openings\n    0 resets sent\nIcmp:\n    ICMP input histogram:\n        destination unreachable: 2\n        echo requests: 4\n"
	for _, c := range []struct {
		got  string
		want bool
	}{
		{before, true},
		{after, true},
		{"Tcp:\n    4 active connection openings\n    0 resets sent\nIcmp:\n    ICMP input histogram:\n        echo requests: 2\n", true},
		{"Tcp:\n    6 active connection openings\n    0 resets sent\nIcmp:\n    ICMP input histogram:\n        echo requests: 2\n", false},
		{"Tcp:\n    4 active connection openings\nIcmp:\n    ICMP input histogram:\n        echo requests: 2\n", false},
		{"Tcp:\n    4 passive connection openings\n    0 resets sent\nIcmp:\n    ICMP input histogram:\n        echo requests: 2\n", false},
	} {
		if got := countersBetween(before, c.got, after); got != c.want {
			t.Errorf("countersBetween(%q) = %v, want %v", c.got, got, c.want)
		}
	}
}
