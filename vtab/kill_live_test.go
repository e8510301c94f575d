package vtab

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netsql/netsql/vtab/internal/nstest"
	"github.com/netsql/netsql/vtab/netns"
)

// killFixture is, in a namespace of its own, a TCP listener on 10.9.0.2
// with established connections, some of whose clients shut down their
// sending side (their server sockets sit in CLOSE_WAIT), and a unix
// listener. Every socket was made inside the namespace by this process.
type killFixture struct {
	net       *nstest.Net
	port      int
	listener  *net.TCPListener
	closeWait []*net.TCPConn // server side, CLOSE_WAIT
	halfShut  []*net.TCPConn // their clients, FIN_WAIT2, still reading
	est       []*net.TCPConn // server side of untouched connections
	estPeers  []*net.TCPConn
	unixPath  string
}

func newKillFixture(t *testing.T, established, closeWait int) *killFixture {
	t.Helper()
	n := nstest.New(t, "nskill", "vk0")
	f := &killFixture{net: n, unixPath: filepath.Join(t.TempDir(), "kill.sock")}
	var all []*net.TCPConn
	t.Cleanup(func() {
		for _, c := range all {
			c.Close()
		}
	})
	err := netns.Do(n.Path(), func() error {
		ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(10, 9, 0, 2)})
		if err != nil {
			return err
		}
		f.listener = ln
		f.port = ln.Addr().(*net.TCPAddr).Port
		ul, err := net.ListenUnix("unix", &net.UnixAddr{Name: f.unixPath, Net: "unix"})
		if err != nil {
			return err
		}
		t.Cleanup(func() { ul.Close(); ln.Close() })
		for i := 0; i < established+closeWait; i++ {
			c, err := net.DialTCP("tcp4", nil, ln.Addr().(*net.TCPAddr))
			if err != nil {
				return err
			}
			s, err := ln.AcceptTCP()
			if err != nil {
				c.Close()
				return err
			}
			all = append(all, c, s)
			if i < closeWait {
				if err := c.CloseWrite(); err != nil {
					return err
				}
				f.closeWait, f.halfShut = append(f.closeWait, s), append(f.halfShut, c)
			} else {
				f.est, f.estPeers = append(f.est, s), append(f.estPeers, c)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("sockets in %s: %v", n.NS, err)
	}
	// Wait for the FINs to land.
	eventually(t, func() string {
		if got := len(f.ss(t, "state", "close-wait")); got != closeWait {
			return fmt.Sprintf("%d CLOSE_WAIT sockets in %s, want %d", got, n.NS, closeWait)
		}
		return ""
	})
	return f
}

// ss lists the TCP sockets ss shows in the fixture's namespace (with its
// filter args), one "state local peer" line each, sorted.
func (f *killFixture) ss(t *testing.T, args ...string) []string {
	t.Helper()
	argv := append([]string{"netns", "exec", f.net.NS, "ss", "-tanH"}, args...)
	out, err := exec.Command("ip", argv...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(argv, " "), err, out)
	}
	var rows []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fs := strings.Fields(line)
		switch {
		case len(fs) == 0:
		case len(fs) >= 5: // State Recv-Q Send-Q Local Peer
			rows = append(rows, fs[0]+" "+fs[3]+" "+fs[4])
		default: // a state filter drops the State column
			rows = append(rows, line)
		}
	}
	slices.Sort(rows)
	return rows
}

// unixListed reports whether ss shows the fixture's unix listener.
func (f *killFixture) unixListed(t *testing.T) bool {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", f.net.NS, "ss", "-xlnH").CombinedOutput()
	if err != nil {
		t.Fatalf("ss -xlnH: %v: %s", err, out)
	}
	return strings.Contains(string(out), f.unixPath)
}

// stableSS reads ss until two reads agree.
func (f *killFixture) stableSS(t *testing.T) []string {
	t.Helper()
	prev := f.ss(t)
	for i := 0; i < 20; i++ {
		time.Sleep(20 * time.Millisecond)
		cur := f.ss(t)
		if slices.Equal(prev, cur) {
			return cur
		}
		prev = cur
	}
	t.Fatalf("ss never read the same twice in %s", f.net.NS)
	return nil
}

func killEngine(t *testing.T, allow bool) *Engine {
	t.Helper()
	eng, err := Open(Options{Notify: func(n Notice) { t.Log(n.Msg) }, AllowKill: allow})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	return eng
}

// killCloseWait is the DELETE the tests run: the fixture's CLOSE_WAIT
// sockets, by program and port, in its namespace.
const killCloseWait = `DELETE FROM sockets WHERE netns_name = :ns AND state = 'CLOSE_WAIT' AND program = :program AND local_port = :port`

func killArgs(f *killFixture) []any {
	return []any{
		sqlNamed("ns", f.net.NS),
		sqlNamed("program", filepath.Base(os.Args[0])),
		sqlNamed("port", f.port),
	}
}

// TestLiveKillRefusedWithoutOptIn: without AllowKill the DELETE is an
// error saying how to allow it, and no socket changes.
func TestLiveKillRefusedWithoutOptIn(t *testing.T) {
	f := newKillFixture(t, 2, 2)
	before := f.stableSS(t)
	eng := killEngine(t, false)
	_, err := tryQuery(eng, killCloseWait, killArgs(f)...)
	if err == nil || !strings.Contains(err.Error(), "--allow-kill") || !strings.Contains(err.Error(), ".allow kill") {
		t.Fatalf("DELETE without AllowKill: err = %v, want the how-to-enable error", err)
	}
	if _, err := eng.ExecContext(context.Background(), killCloseWait, killArgs(f)...); err == nil || !strings.Contains(err.Error(), "--allow-kill") {
		t.Fatalf("ExecContext DELETE without AllowKill: err = %v", err)
	}
	if after := f.stableSS(t); !slices.Equal(before, after) {
		t.Fatalf("sockets changed without AllowKill:\nbefore %v\nafter  %v", before, after)
	}
}

// TestLiveKillCloseWait closes exactly the CLOSE_WAIT sockets the DELETE
// names, in the namespace it names: ss no longer shows them, shows every
// other socket as before, the peers read a reset, the owner's next read
// fails, and the unix socket is untouched.
func TestLiveKillCloseWait(t *testing.T) {
	const est, cw = 3, 2
	f := newKillFixture(t, est, cw)
	before := f.stableSS(t)
	eng := killEngine(t, true)

	var want []string // what ss should show after: all but the CLOSE_WAIT rows
	for _, r := range before {
		if !strings.HasPrefix(r, "CLOSE-WAIT ") {
			want = append(want, r)
		}
	}
	if len(want) != len(before)-cw {
		t.Fatalf("ss before = %v, want %d CLOSE-WAIT rows", before, cw)
	}

	got := query(t, eng, killCloseWait, killArgs(f)...)
	if !slices.Equal(got, []string{fmt.Sprint(cw)}) {
		t.Fatalf("DELETE answered %v, want closed = %d", got, cw)
	}
	// The peers (FIN_WAIT2) are gone too once they read the reset; the
	// untouched rows must all still be there.
	var wantAfter []string
	for _, r := range want {
		if !strings.HasPrefix(r, "FIN-WAIT-2 ") {
			wantAfter = append(wantAfter, r)
		}
	}
	for _, c := range f.halfShut {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err := c.Read(make([]byte, 1))
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("peer read after the DELETE: %v, want ECONNRESET", err)
		}
	}
	for _, s := range f.closeWait {
		_, err := s.Write([]byte("x"))
		if err == nil {
			t.Errorf("owner's write on a closed socket succeeded")
		}
	}
	after := f.stableSS(t)
	if !slices.Equal(after, wantAfter) {
		t.Fatalf("ss after the DELETE:\n%v\nwant\n%v", after, wantAfter)
	}
	for _, c := range f.estPeers {
		if _, err := c.Write([]byte("ok")); err != nil {
			t.Errorf("an untouched connection failed: %v", err)
		}
	}
	if !f.unixListed(t) {
		t.Errorf("the unix listener %s is gone", f.unixPath)
	}
	// Nothing left to close: the same DELETE closes none, no error.
	if got := query(t, eng, killCloseWait, killArgs(f)...); !slices.Equal(got, []string{"0"}) {
		t.Fatalf("second DELETE answered %v, want closed = 0", got)
	}
}

// TestLiveKillReportsWhatItCouldNotClose: a DELETE matching a unix socket
// closes the TCP ones it matched, leaves the unix one, and is an error
// that counts both and says why.
func TestLiveKillReportsWhatItCouldNotClose(t *testing.T) {
	f := newKillFixture(t, 1, 1)
	eng := killEngine(t, true)
	_, err := tryQuery(eng, `DELETE FROM sockets WHERE netns_name = :ns AND (path = :path OR (state = 'CLOSE_WAIT' AND local_port = :port))`,
		sqlNamed("ns", f.net.NS), sqlNamed("path", f.unixPath), sqlNamed("port", f.port))
	var ke *KillError
	if !errors.As(err, &ke) {
		t.Fatalf("err = %v, want a *KillError", err)
	}
	if ke.Closed != 1 || len(ke.Failed) != 1 || ke.Failed[0].Reason != "unix sockets are never closed" {
		t.Fatalf("report = %+v", ke)
	}
	msg := err.Error()
	if !strings.Contains(msg, "closed 1 of 2") || !strings.Contains(msg, f.unixPath) || strings.Contains(msg, "\n") {
		t.Fatalf("error %q: want one line counting 1 of 2 and naming %s", msg, f.unixPath)
	}
	if !f.unixListed(t) {
		t.Errorf("the unix listener %s is gone", f.unixPath)
	}
	if n := len(f.ss(t, "state", "close-wait")); n != 0 {
		t.Errorf("%d CLOSE_WAIT sockets left", n)
	}
}

// TestLiveKillOtherWritesRefused: with AllowKill, UPDATE and INSERT on
// sockets and DELETE on any other table stay refused, and change nothing.
func TestLiveKillOtherWritesRefused(t *testing.T) {
	f := newKillFixture(t, 1, 1)
	before := f.stableSS(t)
	eng := killEngine(t, true)
	for _, q := range []string{
		`UPDATE sockets SET state = 'LISTEN' WHERE netns_name = :ns`,
		`INSERT INTO sockets(proto) SELECT 'tcp' WHERE :ns IS NOT NULL`,
		`DELETE FROM routes WHERE netns_name = :ns`,
		`DELETE FROM interfaces WHERE netns_name = :ns`,
	} {
		_, err := tryQuery(eng, q, sqlNamed("ns", f.net.NS))
		if err == nil || !strings.Contains(err.Error(), "read-only view of the kernel") {
			t.Errorf("%s: err = %v, want read-only refusal", q, err)
		}
	}
	// A DELETE reaching SQLite behind the engine's back is refused too.
	if _, err := eng.DB().Exec(killCloseWait, killArgs(f)...); err == nil {
		t.Errorf("DELETE through DB() ran")
	}
	if after := f.stableSS(t); !slices.Equal(before, after) {
		t.Fatalf("sockets changed:\nbefore %v\nafter  %v", before, after)
	}
	if got := len(f.ss(t, "state", "close-wait")); got != 1 {
		t.Fatalf("%d CLOSE_WAIT sockets, want 1", got)
	}
}

// TestLiveKillPreview: PreviewKill lists what the DELETE matches and
// closes nothing; the list names the sockets as ss shows them.
func TestLiveKillPreview(t *testing.T) {
	f := newKillFixture(t, 1, 2)
	before := f.stableSS(t)
	eng := killEngine(t, true)
	rows, isKill, err := eng.PreviewKill(context.Background(), killCloseWait, killArgs(f)...)
	if err != nil || !isKill {
		t.Fatalf("PreviewKill = %v, %v, %v", rows, isKill, err)
	}
	if len(rows) != 2 {
		t.Fatalf("preview rows %v, want 2", rows)
	}
	for _, r := range rows {
		if !strings.HasPrefix(r, fmt.Sprintf("tcp 10.9.0.2:%d -> 10.9.0.2:", f.port)) || !strings.Contains(r, "CLOSE_WAIT") {
			t.Errorf("preview row %q", r)
		}
	}
	if after := f.stableSS(t); !slices.Equal(before, after) {
		t.Fatalf("PreviewKill changed sockets:\nbefore %v\nafter  %v", before, after)
	}
	if _, isKill, err := eng.PreviewKill(context.Background(), "SELECT 1"); isKill || err != nil {
		t.Fatalf("PreviewKill(SELECT) = %v, %v", isKill, err)
	}
}

func sqlNamed(name string, v any) any { return sql.Named(name, v) }
