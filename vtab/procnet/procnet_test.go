package procnet

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/procfs"
	"golang.org/x/sys/unix"

	"github.com/netsql/netsql/vtab/sock"
)

// fixtureRoot is a copy of /proc/net/* taken while fixture_sockets.py held
// its sockets open (see ../../../shared/netstat-captures/README.md at the
// time of copying): testdata/proc/net/{tcp,tcp6,udp,udp6,raw,raw6,unix}.
const fixtureRoot = "testdata/proc"

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func inet(family uint8, proto sock.Proto, state uint8, local, remote string, inode uint64) sock.Socket {
	return sock.Socket{Family: family, Protocol: proto, State: state, Local: ap(local), Remote: ap(remote), Inode: inode, ProcNet: true}
}

func unixSock(state, typ uint8, ref uint32, inode uint64, path string) sock.Socket {
	s := sock.Socket{Family: unix.AF_UNIX, Protocol: sock.UNIX, State: state, Type: typ, RefCount: ref, Inode: inode, Path: path, ProcNet: true, NoQueues: true}
	if state == sock.StateListen {
		s.UnixFlags = 1 << 16 // __SO_ACCEPTCON
	}
	return s
}

// fixtureSockets is every socket in testdata/proc, in the order Sockets
// returns them.
func fixtureSockets() []sock.Socket {
	const (
		v4, v6        = unix.AF_INET, unix.AF_INET6
		listen, estab = sock.StateListen, sock.StateEstablished
		closed        = sock.StateClose
	)
	linkLocal := "fe80::fc:ff:fe00:1"

	// The server side of the loopback connection: the client wrote 1234
	// bytes it never reads.
	server := inet(v4, sock.TCP, estab, "127.0.0.1:8080", "127.0.0.1:45280", 219986)
	server.RecvQ = 1234
	// The client side, with SO_KEEPALIVE: tr 02, tm->when 0x000AF494
	// = 717972 ticks of 10 ms.
	client := inet(v4, sock.TCP, estab, "127.0.0.1:45280", "127.0.0.1:8080", 219985)
	client.Timer = sock.TimerKeepalive
	client.TimerExpiresMs = 7179720
	icmp := inet(v4, sock.RAW, closed, "0.0.0.0:1", "0.0.0.0:0", 219993)
	icmp.RawProtocol = 1

	return []sock.Socket{
		// tcp
		inet(v4, sock.TCP, listen, "127.0.0.1:5432", "0.0.0.0:0", 219982),
		inet(v4, sock.TCP, listen, "0.0.0.0:8080", "0.0.0.0:0", 219981),
		inet(v4, sock.TCP, listen, "0.0.0.0:2024", "0.0.0.0:0", 1619), // another process's
		server,
		client,
		// tcp6
		inet(v6, sock.TCP, listen, "[::1]:631", "[::]:0", 219984),
		inet(v6, sock.TCP, listen, "[::]:2222", "[::]:0", 219983),
		inet(v6, sock.TCP, estab, "["+linkLocal+"]:60728", "["+linkLocal+"]:2222", 219988),
		inet(v6, sock.TCP, estab, "["+linkLocal+"]:2222", "["+linkLocal+"]:60728", 219989),
		// udp: unconnected sockets are CLOSE (07), the connected one ESTABLISHED
		inet(v4, sock.UDP, closed, "0.0.0.0:5353", "0.0.0.0:0", 219990),
		inet(v4, sock.UDP, estab, "127.0.0.1:42670", "127.0.0.1:53", 219991),
		inet(v4, sock.UDP, closed, "0.0.0.0:4242", "0.0.0.0:0", 219994), // the multicast member
		// udp6
		inet(v6, sock.UDP, closed, "[::]:123", "[::]:0", 219992),
		// raw (raw6 holds only its header)
		icmp,
		// unix: the accepted end of the connection to demo-app.sock shows the
		// listener's path; 219997 is the client end; 1615/1616 are another
		// process's connected pair.
		unixSock(estab, sock.TypeStream, 3, 219998, "/var/run/demo-app.sock"),
		unixSock(estab, sock.TypeStream, 3, 219997, ""),
		unixSock(estab, sock.TypeStream, 3, 1615, ""),
		unixSock(listen, sock.TypeStream, 2, 219995, "/var/run/demo-app.sock"),
		unixSock(closed, sock.TypeDgram, 2, 219999, "/var/run/demo-app.dgram"),
		unixSock(estab, sock.TypeStream, 3, 1616, ""),
		unixSock(listen, sock.TypeStream, 2, 219996, "@anchors-abstract"),
	}
}

// diffSockets reports the differences between two socket lists.
func diffSockets(t *testing.T, got, want []sock.Socket) {
	t.Helper()
	for i := 0; i < len(got) || i < len(want); i++ {
		switch {
		case i >= len(got):
			t.Errorf("socket %d missing: want %+v", i, want[i])
		case i >= len(want):
			t.Errorf("socket %d extra: got %+v", i, got[i])
		case got[i] != want[i]:
			t.Errorf("socket %d:\n got  %+v\n want %+v", i, got[i], want[i])
		}
	}
}

func TestFixture(t *testing.T) {
	got, err := New(fixtureRoot).Sockets(context.Background(), sock.Request{})
	if err != nil {
		t.Fatal(err)
	}
	diffSockets(t, got, fixtureSockets())
}

func TestRequestFiltering(t *testing.T) {
	bit := func(states ...uint8) uint32 {
		var m uint32
		for _, s := range states {
			m |= 1 << s
		}
		return m
	}
	tests := []struct {
		name string
		req  sock.Request
	}{
		{"ipv6 only", sock.Request{Families: []uint8{unix.AF_INET6}}},
		{"ipv4 and unix", sock.Request{Families: []uint8{unix.AF_INET, unix.AF_UNIX}}},
		{"udp only", sock.Request{Protocols: []sock.Proto{sock.UDP}}},
		{"raw and unix", sock.Request{Protocols: []sock.Proto{sock.RAW, sock.UNIX}}},
		{"listeners", sock.Request{States: bit(sock.StateListen)}},
		{"established tcp", sock.Request{Protocols: []sock.Proto{sock.TCP}, States: bit(sock.StateEstablished)}},
		{"tcp6 listen or close", sock.Request{Families: []uint8{unix.AF_INET6}, Protocols: []sock.Proto{sock.TCP}, States: bit(sock.StateListen, sock.StateClose)}},
		{"unix close (unconnected)", sock.Request{Families: []uint8{unix.AF_UNIX}, States: bit(sock.StateClose)}},
		{"time-wait: none", sock.Request{States: bit(sock.StateTimeWait)}},
		{"packet family: nothing to read", sock.Request{Families: []uint8{unix.AF_PACKET}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want []sock.Socket
			for _, s := range fixtureSockets() {
				if tt.req.Wants(s.Family, s.Protocol) && tt.req.StateMask()&(1<<s.State) != 0 {
					want = append(want, s)
				}
			}
			got, err := New(fixtureRoot).Sockets(context.Background(), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			diffSockets(t, got, want)
		})
	}

	// Spot-check the counts, so a wrong filter in the test cannot hide one
	// in the code.
	counts := map[string]int{"ipv6 only": 5, "udp only": 4, "listeners": 7, "established tcp": 4, "unix close (unconnected)": 1}
	for _, tt := range tests {
		n, ok := counts[tt.name]
		if !ok {
			continue
		}
		got, _ := New(fixtureRoot).Sockets(context.Background(), tt.req)
		if len(got) != n {
			t.Errorf("%s: %d sockets, want %d", tt.name, len(got), n)
		}
	}
}

// writeTree writes files (name under net/ -> content) into a new proc tree.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "net"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(root, "net", name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func fixtureFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureRoot, "net", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestUnwantedFilesNotRead puts garbage in every file the request does not
// want: reading them would fail.
func TestUnwantedFilesNotRead(t *testing.T) {
	files := map[string]string{"tcp": fixtureFile(t, "tcp")}
	for _, name := range []string{"tcp6", "udp", "udp6", "raw", "raw6", "unix"} {
		files[name] = "header\ngarbage\n"
	}
	root := writeTree(t, files)
	req := sock.Request{Families: []uint8{unix.AF_INET}, Protocols: []sock.Proto{sock.TCP}}
	got, err := New(root).Sockets(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	diffSockets(t, got, fixtureSockets()[:5])

	if _, err := New(root).Sockets(context.Background(), sock.Request{}); !errors.Is(err, ErrMalformed) {
		t.Errorf("reading every file: err = %v, want ErrMalformed", err)
	}
}

func TestMissingFile(t *testing.T) {
	// A host with IPv6 disabled: no tcp6, udp6, raw6.
	root := writeTree(t, map[string]string{
		"tcp":  fixtureFile(t, "tcp"),
		"udp":  fixtureFile(t, "udp"),
		"unix": fixtureFile(t, "unix"),
	})
	got, err := New(root).Sockets(context.Background(), sock.Request{})
	if err != nil {
		t.Fatal(err)
	}
	var want []sock.Socket
	for _, s := range fixtureSockets() {
		if s.Family != unix.AF_INET6 && s.Protocol != sock.RAW {
			want = append(want, s)
		}
	}
	diffSockets(t, got, want)

	// Only missing files wanted: nothing, and no error.
	got, err = New(root).Sockets(context.Background(), sock.Request{Families: []uint8{unix.AF_INET6}})
	if err != nil || len(got) != 0 {
		t.Errorf("ipv6 on a host without it: %v, %v; want nothing and no error", got, err)
	}
}

func TestMissingNetDir(t *testing.T) {
	root := filepath.Join(t.TempDir(), "no-such-proc")
	_, err := New(root).Sockets(context.Background(), sock.Request{})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want fs.ErrNotExist", err)
	}
	if !strings.Contains(err.Error(), root) {
		t.Errorf("error %q does not name %s", err, root)
	}
}

func TestContextCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := New(fixtureRoot).Sockets(ctx, sock.Request{}); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestMalformedLineNumber(t *testing.T) {
	lines := strings.SplitAfter(fixtureFile(t, "tcp"), "\n")
	// Break line 4 (the third socket): a 'G' in its local address.
	lines[3] = strings.Replace(lines[3], "00000000:07E8", "0000000G:07E8", 1)
	root := writeTree(t, map[string]string{"tcp": strings.Join(lines, "")})
	_, err := New(root).Sockets(context.Background(), sock.Request{})
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("err = %v, want ErrMalformed", err)
	}
	path := filepath.Join(root, "net", "tcp")
	if want := "procnet: " + path + " line 4: "; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("err = %q, want prefix %q", err, want)
	}
	if !strings.Contains(err.Error(), "local_address") {
		t.Errorf("err = %q does not name the field", err)
	}

	// A line after an unbound socket's cannot continue a name.
	lines = strings.SplitAfter(fixtureFile(t, "unix"), "\n")
	lines[3] = "00000000b643d35e: 00000003 00000000 00000000 0001 03\n" // no inode
	root = writeTree(t, map[string]string{"unix": strings.Join(lines, "")})
	_, err = New(root).Sockets(context.Background(), sock.Request{})
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "unix line 4: ") {
		t.Errorf("err = %v, want ErrMalformed at unix line 4", err)
	}
}

func TestMalformedInetLines(t *testing.T) {
	good4 := "   0: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 219982 1 00000000062f8e68 100 0 0 10 0"
	if _, err := parseInetLine([]byte(good4), unix.AF_INET, sock.TCP); err != nil {
		t.Fatalf("good line: %v", err)
	}
	bad := map[string]string{
		"empty":            "",
		"too few fields":   "   0: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0",
		"sl without colon": "   0 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 219982",
		"sl not a number":  "   x: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 219982",
		"no port":          "   0: 0100007F 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 219982",
		"short address":    "   0: 100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 219982",
		"ipv6 address":     "   0: 00000000000000000000000001000000:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 219982",
		"port too big":     "   0: 0100007F:10000 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 219982",
		"empty port":       "   0: 0100007F: 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 219982",
		"bad remote":       "   0: 0100007F:1538 0000000x:0000 0A 00000000:00000000 00:00000000 00000000     0        0 219982",
		"state too big":    "   0: 0100007F:1538 00000000:0000 10A 00000000:00000000 00:00000000 00000000     0        0 219982",
		"queues no colon":  "   0: 0100007F:1538 00000000:0000 0A 0000000000000000 00:00000000 00000000     0        0 219982",
		"queue too big":    "   0: 0100007F:1538 00000000:0000 0A 100000000:00000000 00:00000000 00000000     0        0 219982",
		"timer no colon":   "   0: 0100007F:1538 00000000:0000 0A 00000000:00000000 0000000000 00000000     0        0 219982",
		"when too long":    "   0: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:10000000000000000 00000000     0        0 219982",
		"retrnsmt not hex": "   0: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 0000000Z     0        0 219982",
		"negative uid":     "   0: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000    -1        0 219982",
		"uid too big":      "   0: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000 4294967296  0 219982",
		"hex inode":        "   0: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 0x1F",
	}
	for name, line := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := parseInetLine([]byte(line), unix.AF_INET, sock.TCP)
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("err = %v, want ErrMalformed", err)
			}
		})
	}
	// An IPv4 address in a tcp6 file.
	if _, err := parseInetLine([]byte(good4), unix.AF_INET6, sock.TCP); !errors.Is(err, ErrMalformed) {
		t.Errorf("ipv4 line as tcp6: err = %v, want ErrMalformed", err)
	}
}

func TestMalformedUnixLines(t *testing.T) {
	bad := map[string]string{
		"too few fields":  "00000000e0dc6363: 00000003 00000000 00000000 0001 03",
		"num no colon":    "00000000e0dc6363 00000003 00000000 00000000 0001 03 219998",
		"num not hex":     "0000000xe0dc6363: 00000003 00000000 00000000 0001 03 219998",
		"refcount":        "00000000e0dc6363: 0000000g 00000000 00000000 0001 03 219998",
		"protocol":        "00000000e0dc6363: 00000003 -0000000 00000000 0001 03 219998",
		"flags too big":   "00000000e0dc6363: 00000003 00000000 100000000 0001 03 219998",
		"type too big":    "00000000e0dc6363: 00000003 00000000 00000000 0100 03 219998",
		"state not hex":   "00000000e0dc6363: 00000003 00000000 00000000 0001 0x 219998",
		"inode not a num": "00000000e0dc6363: 00000003 00000000 00000000 0001 03 21999a /x",
	}
	for name, line := range bad {
		t.Run(name, func(t *testing.T) {
			if _, err := parseUnixLine([]byte(line)); !errors.Is(err, ErrMalformed) {
				t.Errorf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestNegativeTimer(t *testing.T) {
	tests := []struct {
		when string
		ms   int64
	}{
		{"00000000", 0},
		{"00000064", 1000},
		{"FFFFFFFFFFFFFF9C", -1000}, // 64-bit kernel: -100 ticks as %08lX
		{"FFFFFF9C", -1000},         // 32-bit kernel: the same, 8 digits
		{"FFFFFFFFFFFFFFFF", -10},
		{"7FFFFFFF", 21474836470},
	}
	for _, tt := range tests {
		line := "   0: 0100007F:B0E0 0100007F:1F90 01 00000000:00000000 01:" + tt.when + " 00000003     0        0 219985 2 00000000a67973f4 20 0 0 11 -1"
		s, err := parseInetLine([]byte(line), unix.AF_INET, sock.TCP)
		if err != nil {
			t.Fatalf("%s: %v", tt.when, err)
		}
		if s.TimerExpiresMs != tt.ms || s.Timer != sock.TimerOn || s.Retransmits != 3 {
			t.Errorf("tm->when %s: timer %d, %d ms, %d retransmits; want 1, %d ms, 3", tt.when, s.Timer, s.TimerExpiresMs, s.Retransmits, tt.ms)
		}
	}
}

func TestTimeWaitLine(t *testing.T) {
	// get_timewait4_sock prints 12 columns: uid, timeout and inode are 0.
	line := "   5: 0100007F:1F90 0100007F:B0E2 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0000000000000000"
	s, err := parseInetLine([]byte(line), unix.AF_INET, sock.TCP)
	if err != nil {
		t.Fatal(err)
	}
	want := inet(unix.AF_INET, sock.TCP, sock.StateTimeWait, "127.0.0.1:8080", "127.0.0.1:45282", 0)
	want.Timer, want.TimerExpiresMs = sock.TimerTimeWait, 60000
	if s != want {
		t.Errorf("got %+v\nwant %+v", s, want)
	}
}

func TestIPv4MappedAddress(t *testing.T) {
	// A dual-stack socket connected from 127.0.0.1 lists ::ffff:127.0.0.1.
	line := "   0: 0000000000000000FFFF00000100007F:1F90 0000000000000000FFFF00000100007F:B0E0 01 00000000:00000000 00:00000000 00000000  1000        0 4242 1 0000000000000000 20 4 30 10 -1"
	s, err := parseInetLine([]byte(line), unix.AF_INET6, sock.TCP)
	if err != nil {
		t.Fatal(err)
	}
	if s.Local != ap("[::ffff:127.0.0.1]:8080") || s.Remote != ap("[::ffff:127.0.0.1]:45280") || s.UID != 1000 {
		t.Errorf("got %v -> %v uid %d", s.Local, s.Remote, s.UID)
	}
}

func TestUnixPaths(t *testing.T) {
	tests := []struct {
		line string
		path string
	}{
		{"0000000000000000: 00000002 00000000 00010000 0001 01 12345 /run/my app.sock", "/run/my app.sock"},
		{"0000000000000000: 00000002 00000000 00010000 0001 01 12345  leading space", " leading space"},
		{"0000000000000000: 00000002 00000000 00000000 0005 01 12345 @abs@with@nuls", "@abs@with@nuls"},
		{"0000000000000000: 00000002 00000000 00000000 0002 01 12345", ""},
		{"0000000000000000: 00000002 00000000 00000000 0002 01 12345   ", ""},
		{"0000000000000000: 00000002 00000000 00000000 0002 01 12345 ", ""},
	}
	for _, tt := range tests {
		s, err := parseUnixLine([]byte(tt.line))
		if err != nil {
			t.Fatalf("%q: %v", tt.line, err)
		}
		if s.Path != tt.path || s.Inode != 12345 {
			t.Errorf("%q: path %q inode %d, want %q 12345", tt.line, s.Path, s.Inode, tt.path)
		}
	}
}

func TestUnixStates(t *testing.T) {
	tests := []struct {
		flags, st string
		want      uint8
	}{
		{"00010000", "01", sock.StateListen},
		{"00000000", "01", sock.StateClose},
		{"00000000", "02", sock.StateSynSent},
		{"00000000", "03", sock.StateEstablished},
		{"00000000", "04", sock.StateCloseWait},
		{"00000000", "00", 0},
		{"00000000", "07", 0},
	}
	for _, tt := range tests {
		line := fmt.Sprintf("0000000000000000: 00000002 00000000 %s 0005 %s 7", tt.flags, tt.st)
		s, err := parseUnixLine([]byte(line))
		if err != nil {
			t.Fatal(err)
		}
		if s.State != tt.want || s.Type != sock.TypeSeqPacket {
			t.Errorf("Flags %s St %s: state %d type %d, want %d %d", tt.flags, tt.st, s.State, s.Type, tt.want, sock.TypeSeqPacket)
		}
	}
}

// TestBlankAndHeaderOnly: an empty file, a header alone and blank lines
// are not errors.
func TestBlankAndHeaderOnly(t *testing.T) {
	tcp := fixtureFile(t, "tcp") + "\n   \n"
	root := writeTree(t, map[string]string{"tcp": tcp, "tcp6": "", "udp": strings.SplitAfter(fixtureFile(t, "udp"), "\n")[0]})
	got, err := New(root).Sockets(context.Background(), sock.Request{})
	if err != nil {
		t.Fatal(err)
	}
	diffSockets(t, got, fixtureSockets()[:5])
}

// TestAgreesWithProcfs cross-checks the fields prometheus/procfs also
// parses.
func TestAgreesWithProcfs(t *testing.T) {
	pfs, err := procfs.NewFS(fixtureRoot)
	if err != nil {
		t.Fatal(err)
	}
	got, err := New(fixtureRoot).Sockets(context.Background(), sock.Request{})
	if err != nil {
		t.Fatal(err)
	}
	type key struct {
		family uint8
		proto  sock.Proto
	}
	ours := map[key][]sock.Socket{}
	for _, s := range got {
		k := key{s.Family, s.Protocol}
		ours[k] = append(ours[k], s)
	}
	type ipLine struct {
		local, remote netip.AddrPort
		st            uint64
		tx, rx        uint64
		uid, inode    uint64
	}
	check := func(k key, name string, theirs []ipLine) {
		if len(theirs) != len(ours[k]) {
			t.Errorf("%s: procfs %d sockets, ours %d", name, len(theirs), len(ours[k]))
			return
		}
		for i, p := range theirs {
			s := ours[k][i]
			if p.local != s.Local || p.remote != s.Remote || p.st != uint64(s.State) || p.tx != uint64(s.SendQ) ||
				p.rx != uint64(s.RecvQ) || p.uid != uint64(s.UID) || p.inode != s.Inode {
				t.Errorf("%s socket %d: procfs %+v, ours %+v", name, i, p, s)
			}
		}
	}
	conv := func(ip []byte, port uint64) netip.AddrPort {
		a, _ := netip.AddrFromSlice(ip)
		return netip.AddrPortFrom(a, uint16(port))
	}
	for _, c := range []struct {
		k    key
		name string
		read func() ([]ipLine, error)
	}{
		{key{unix.AF_INET, sock.TCP}, "tcp", func() ([]ipLine, error) {
			//lint:ignore SA1019 procfs's parser is the independent reference this test compares with
			n, err := pfs.NetTCP()
			var out []ipLine
			for _, l := range n {
				out = append(out, ipLine{conv(l.LocalAddr.To4(), l.LocalPort), conv(l.RemAddr.To4(), l.RemPort), l.St, l.TxQueue, l.RxQueue, l.UID, l.Inode})
			}
			return out, err
		}},
		{key{unix.AF_INET6, sock.TCP}, "tcp6", func() ([]ipLine, error) {
			//lint:ignore SA1019 procfs's parser is the independent reference this test compares with
			n, err := pfs.NetTCP6()
			var out []ipLine
			for _, l := range n {
				out = append(out, ipLine{conv(l.LocalAddr, l.LocalPort), conv(l.RemAddr, l.RemPort), l.St, l.TxQueue, l.RxQueue, l.UID, l.Inode})
			}
			return out, err
		}},
		{key{unix.AF_INET, sock.UDP}, "udp", func() ([]ipLine, error) {
			n, err := pfs.NetUDP()
			var out []ipLine
			for _, l := range n {
				out = append(out, ipLine{conv(l.LocalAddr.To4(), l.LocalPort), conv(l.RemAddr.To4(), l.RemPort), l.St, l.TxQueue, l.RxQueue, l.UID, l.Inode})
			}
			return out, err
		}},
		{key{unix.AF_INET6, sock.UDP}, "udp6", func() ([]ipLine, error) {
			n, err := pfs.NetUDP6()
			var out []ipLine
			for _, l := range n {
				out = append(out, ipLine{conv(l.LocalAddr, l.LocalPort), conv(l.RemAddr, l.RemPort), l.St, l.TxQueue, l.RxQueue, l.UID, l.Inode})
			}
			return out, err
		}},
	} {
		theirs, err := c.read()
		if err != nil {
			t.Fatalf("procfs %s: %v", c.name, err)
		}
		check(c.k, c.name, theirs)
	}

	nu, err := pfs.NetUNIX()
	if err != nil {
		t.Fatal(err)
	}
	us := ours[key{unix.AF_UNIX, sock.UNIX}]
	if len(nu.Rows) != len(us) {
		t.Fatalf("unix: procfs %d sockets, ours %d", len(nu.Rows), len(us))
	}
	for i, r := range nu.Rows {
		s := us[i]
		if r.Inode != s.Inode || r.RefCount != uint64(s.RefCount) || uint64(r.Type) != uint64(s.Type) || r.Path != s.Path ||
			(r.Flags&soAcceptCon != 0) != (s.State == sock.StateListen) {
			t.Errorf("unix socket %d: procfs %+v, ours %+v", i, r, s)
		}
	}
}

// TestUDPLite reads /proc/net/udplite and udplite6 (lines copied from a
// live kernel) as UDP-Lite sockets, between udp6 and raw, and only when
// the request wants UDP-Lite.
func TestUDPLite(t *testing.T) {
	root := writeTree(t, map[string]string{
		"udp": fixtureFile(t, "udp"),
		"udplite": "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops            \n" +
			" 1405: 0100007F:83DB 00000000:0000 07 00000000:00000340 00:00000000 00000000     0        0 88202 2 00000000c003cff0 0         \n" +
			" 6189: 0100007F:D68B 0100007F:83DB 01 00000000:00000000 00:00000000 00000000     0        0 88204 2 00000000630ff7a8 0         \n",
		"udplite6": "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n" +
			" 8287: 00000000000000000000000001000000:9EBD 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 88203 2 000000006c0a86b5 0\n",
		"raw": fixtureFile(t, "raw"),
	})
	bound := inet(unix.AF_INET, sock.UDPLite, sock.StateClose, "127.0.0.1:33755", "0.0.0.0:0", 88202)
	bound.RecvQ = 0x340
	want := []sock.Socket{
		bound,
		inet(unix.AF_INET, sock.UDPLite, sock.StateEstablished, "127.0.0.1:54923", "127.0.0.1:33755", 88204),
		inet(unix.AF_INET6, sock.UDPLite, sock.StateClose, "[::1]:40637", "[::]:0", 88203),
	}
	got, err := New(root).Sockets(context.Background(), sock.Request{Protocols: []sock.Proto{sock.UDPLite}})
	if err != nil {
		t.Fatal(err)
	}
	diffSockets(t, got, want)

	all, err := New(root).Sockets(context.Background(), sock.Request{Families: []uint8{unix.AF_INET, unix.AF_INET6}})
	if err != nil {
		t.Fatal(err)
	}
	var order []sock.Proto
	for _, s := range all {
		if len(order) == 0 || order[len(order)-1] != s.Protocol {
			order = append(order, s.Protocol)
		}
	}
	if fmt.Sprint(order) != fmt.Sprint([]sock.Proto{sock.UDP, sock.UDPLite, sock.RAW}) {
		t.Errorf("file order: got %v, want udp, udplite, raw", order)
	}
	udp, err := New(root).Sockets(context.Background(), sock.Request{Protocols: []sock.Proto{sock.UDP}})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range udp {
		if s.Protocol != sock.UDP {
			t.Errorf("a UDP request returned %+v", s)
		}
	}
}

// TestUnixNameWithNewlines: the kernel prints a socket's name byte for
// byte, newlines included; the lines that follow a bound socket's line
// and are not socket lines are the rest of its name (even an empty one,
// or one that starts like a socket line but is none).
func TestUnixNameWithNewlines(t *testing.T) {
	const head = "Num       RefCount Protocol Flags    Type St Inode Path\n"
	file := head +
		"0000000000000000: 00000002 00000000 00010000 0001 01 101 @x\ny\n" +
		"0000000000000000: 00000002 00000000 00000000 0002 01 102 /tmp/a\n\nb\n" +
		"0000000000000000: 00000002 00000000 00000000 0002 01 103 @p\n0000000000000000: 00000002 q\n" +
		"0000000000000000: 00000003 00000000 00000000 0001 03 104\n" +
		"0000000000000000: 00000002 00000000 00000000 0005 01 105 @trailing\n\n"
	got, err := New(writeTree(t, map[string]string{"unix": file})).Sockets(context.Background(), sock.Request{})
	if err != nil {
		t.Fatal(err)
	}
	want := []sock.Socket{
		unixSock(sock.StateListen, sock.TypeStream, 2, 101, "@x\ny"),
		unixSock(sock.StateClose, sock.TypeDgram, 2, 102, "/tmp/a\n\nb"),
		unixSock(sock.StateClose, sock.TypeDgram, 2, 103, "@p\n0000000000000000: 00000002 q"),
		unixSock(sock.StateEstablished, sock.TypeStream, 3, 104, ""),
		unixSock(sock.StateClose, sock.TypeSeqPacket, 2, 105, "@trailing\n"),
	}
	diffSockets(t, got, want)
}

// TestTruncatedLastLine: the kernel ends every line with a newline, so a
// last line without one was cut short: an error naming the file and the
// line, never a socket with a cut inode or path.
func TestTruncatedLastLine(t *testing.T) {
	for _, name := range []string{"tcp", "udp6", "unix"} {
		full := fixtureFile(t, name)
		cut := strings.TrimSuffix(full, "\n")
		cut = cut[:len(cut)-2] // two bytes short of the last line
		nLines := strings.Count(full, "\n")
		root := writeTree(t, map[string]string{name: cut})
		_, err := New(root).Sockets(context.Background(), sock.Request{})
		want := fmt.Sprintf("procnet: %s line %d: malformed line: truncated", filepath.Join(root, "net", name), nLines)
		if !errors.Is(err, ErrMalformed) || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s cut short: err = %v, want %q...", name, err, want)
		}
	}
}

// TestNoSocketFiles: a net/ directory with none of the socket files (an
// empty or wrong --proc tree) is an error, not a host without sockets.
func TestNoSocketFiles(t *testing.T) {
	root := writeTree(t, map[string]string{"dev": "header\n"})
	for _, req := range []sock.Request{{}, {Protocols: []sock.Proto{sock.UNIX}}} {
		_, err := New(root).Sockets(context.Background(), req)
		if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), filepath.Join(root, "net")) {
			t.Errorf("%+v: err = %v, want fs.ErrNotExist naming %s/net", req, err, root)
		}
	}
}
