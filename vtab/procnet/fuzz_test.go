package procnet

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/netsql/netsql/vtab/sock"
)

// addFixtureSeeds adds each fixture file whole, and each of its lines after
// its header, to f's corpus.
func addFixtureSeeds(f *testing.F, names []string, add func(data []byte, name string)) {
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join(fixtureRoot, "net", name))
		if err != nil {
			f.Fatal(err)
		}
		add(b, name)
		lines := bytes.SplitAfter(b, []byte("\n"))
		for _, l := range lines[1:] {
			add(append(append([]byte{}, lines[0]...), l...), name)
		}
	}
}

// checkParseErr fails unless err is nil or one of the errors parsing may
// legitimately return.
func checkParseErr(t *testing.T, err error) {
	t.Helper()
	if err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, bufio.ErrTooLong) {
		t.Fatalf("unexpected error kind: %v", err)
	}
}

func FuzzParseInet(f *testing.F) {
	addFixtureSeeds(f, []string{"tcp", "tcp6", "udp", "udp6", "raw", "raw6"}, func(data []byte, name string) {
		f.Add(data, strings.HasSuffix(name, "6"), strings.HasPrefix(name, "raw"))
	})
	f.Fuzz(func(t *testing.T, data []byte, v6, raw bool) {
		family, proto := uint8(unix.AF_INET), sock.TCP
		if v6 {
			family = unix.AF_INET6
		}
		if raw {
			proto = sock.RAW
		}
		out, err := parseInet(bytes.NewReader(data), "fuzz", family, proto, sock.AllStates, nil, nil)
		checkParseErr(t, err)
		if err != nil {
			return
		}
		if n := bytes.Count(data, []byte("\n")) + 1; len(out) > n {
			t.Fatalf("%d sockets from %d lines", len(out), n)
		}
		for _, s := range out {
			if s.Family != family || s.Protocol != proto || s.Local.Addr().Is4() == v6 || s.Remote.Addr().Is4() == v6 ||
				s.Local.Addr().Zone() != "" || s.Path != "" {
				t.Fatalf("inconsistent socket %+v", s)
			}
			if !raw && s.RawProtocol != 0 || raw && uint16(s.RawProtocol) != s.Local.Port() && s.Local.Port() <= 0xff {
				t.Fatalf("RawProtocol %d for %v (raw %v)", s.RawProtocol, s.Local, raw)
			}
		}
	})
}

func FuzzParseUnix(f *testing.F) {
	addFixtureSeeds(f, []string{"unix"}, func(data []byte, _ string) { f.Add(data) })
	f.Add([]byte("Num       RefCount Protocol Flags    Type St Inode Path\n0000000000000000: 00000002 00000000 00010000 0001 01 12345 /run/my app.sock\n"))
	// Names holding newlines, as unix_seq_show prints them.
	f.Add([]byte("Num       RefCount Protocol Flags    Type St Inode Path\n0000000000000000: 00000002 00000000 00010000 0001 01 12345 @x\ny\n\n0000000000000000: 00000003 00000000 00000000 0001 03 12346\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := parseUnix(bytes.NewReader(data), "fuzz", sock.AllStates, nil, nil)
		checkParseErr(t, err)
		for _, s := range out {
			if s.Family != unix.AF_UNIX || s.Protocol != sock.UNIX || s.Local.IsValid() || !bytes.Contains(data, []byte(s.Path)) {
				t.Fatalf("inconsistent socket %+v", s)
			}
		}
	})
}
