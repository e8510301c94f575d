package procstat

import (
	"os"
	"strings"
	"testing"
)

// FuzzParseFibTrie fuzzes the net/fib_trie parser, seeded with a real
// capture (testdata/proc/net/fib_trie: loopback plus one address on
// eth0, the Main and Local tables), cut and reordered variants of it, and the live kernel's file
// when it can be read.
func FuzzParseFibTrie(f *testing.F) {
	capture, err := os.ReadFile("testdata/proc/net/fib_trie")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(capture)
	lines := strings.SplitAfter(string(capture), "\n")
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
