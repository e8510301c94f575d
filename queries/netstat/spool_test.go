package netstat

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"
)

// TestSpoolMovesLargeOutputToAFile: past spoolMemory the output goes to
// a temporary file, and comes back whole and in order.
func TestSpoolMovesLargeOutputToAFile(t *testing.T) {
	for _, c := range []struct {
		name     string
		dir      string
		wantFile bool
	}{
		{"temporary file", t.TempDir(), true},
		// No file can be made: everything stays in memory, nothing is lost.
		{"no temporary directory", filepath.Join(t.TempDir(), "missing"), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := &spool{dir: c.dir}
			defer s.Close()
			var want bytes.Buffer
			for i := 0; want.Len() < 3*spoolMemory; i++ {
				line := fmt.Sprintf("tcp        0      0 127.0.0.1:%-5d 127.0.0.1:8080 ESTABLISHED %d\n", i%65536, i)
				want.WriteString(line)
				if n, err := s.Write([]byte(line)); err != nil || n != len(line) {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if (s.file != nil) != c.wantFile {
				t.Fatalf("spool in a file: %v, want %v", s.file != nil, c.wantFile)
			}
			if c.wantFile && s.mem.Cap() != 0 {
				t.Fatalf("the spool still holds %d bytes of memory after moving to a file", s.mem.Cap())
			}
			var got bytes.Buffer
			if _, err := s.WriteTo(&got); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Fatalf("spooled %d bytes, got back %d different ones", want.Len(), got.Len())
			}
		})
	}
}

// TestSpoolSmallOutputStaysInMemory: a usual listing makes no file.
func TestSpoolSmallOutputStaysInMemory(t *testing.T) {
	s := &spool{dir: t.TempDir()}
	defer s.Close()
	s.Write([]byte("Active Internet connections (servers and established)\n"))
	if s.file != nil {
		t.Fatal("a one-line output went to a file")
	}
	var got bytes.Buffer
	s.WriteTo(&got)
	if got.String() != "Active Internet connections (servers and established)\n" {
		t.Fatalf("got %q", got.String())
	}
}
