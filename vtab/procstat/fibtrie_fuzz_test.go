package procstat

import (
	"os"
	"strings"
	"testing"
)

// fibTrieCapture is net/fib_trie as a test host's kernel printed it
// (loopback plus one address on eth0), the Main and Local tables.
const fibTrieCapture = `Main:
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
Local:
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
`

// FuzzParseFibTrie fuzzes the net/fib_trie parser, seeded with a real
// capture, cut and reordered variants of it, and the live kernel's file
// when it can be read.
func FuzzParseFibTrie(f *testing.F) {
	f.Add([]byte(fibTrieCapture))
	lines := strings.SplitAfter(fibTrieCapture, "\n")
	f.Add([]byte(strings.Join(lines[:len(lines)/2], "")))
	f.Add([]byte(strings.Join(lines[3:], "")))
	f.Add([]byte("     |-- 10.0.0.1\n        /33 host LOCAL\n"))
	f.Add([]byte("     |-- ::1\n        /32 host LOCAL\n"))
	f.Add([]byte("        /32 host LOCAL\n"))
	if b, err := os.ReadFile("/proc/net/fib_trie"); err == nil {
		f.Add(b)
	}
	fuzzParser(f, "fib_trie", parseFibTrie)
}
