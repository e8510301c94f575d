package vtab

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// unixFixture holds unix sockets in states that tell the sources apart:
// a listener with two connections not yet accepted (which /proc/net/unix
// lists as inode-0 CONNECTING sockets and sock_diag does not), a connected
// pair with bytes queued at the reader and in flight from the writer, and
// a datagram socket with a datagram queued.
type unixFixture struct {
	dir    string
	inodes []uint64 // every socket the fixture holds a file for
}

func newUnixFixture(t *testing.T) *unixFixture {
	t.Helper()
	f := &unixFixture{dir: t.TempDir()}
	open := func(typ int) int {
		fd, err := unix.Socket(unix.AF_UNIX, typ|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(fd) })
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			t.Fatal(err)
		}
		f.inodes = append(f.inodes, st.Ino)
		return fd
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	lnPath := filepath.Join(f.dir, "listener.sock")
	ln := open(unix.SOCK_STREAM)
	must(unix.Bind(ln, &unix.SockaddrUnix{Name: lnPath}))
	must(unix.Listen(ln, 8))
	c := open(unix.SOCK_STREAM)
	must(unix.Bind(c, &unix.SockaddrUnix{Name: filepath.Join(f.dir, "client.sock")}))
	must(unix.Connect(c, &unix.SockaddrUnix{Name: lnPath}))
	nfd, _, err := unix.Accept4(ln, unix.SOCK_CLOEXEC)
	must(err)
	t.Cleanup(func() { unix.Close(nfd) })
	var st unix.Stat_t
	must(unix.Fstat(nfd, &st))
	f.inodes = append(f.inodes, st.Ino)
	for range 2 { // pending: never accepted
		must(unix.Connect(open(unix.SOCK_STREAM), &unix.SockaddrUnix{Name: lnPath}))
	}
	// 5 bytes queued at the accepted end, 768 in flight from it to c.
	_, err = unix.Write(c, []byte("hello"))
	must(err)
	_, err = unix.Write(nfd, make([]byte, 768))
	must(err)
	dg := open(unix.SOCK_DGRAM)
	must(unix.Bind(dg, &unix.SockaddrUnix{Name: filepath.Join(f.dir, "dgram.sock")}))
	sender := open(unix.SOCK_DGRAM)
	must(unix.Sendto(sender, []byte("datagram"), 0, &unix.SockaddrUnix{Name: filepath.Join(f.dir, "dgram.sock")}))
	return f
}

// ours keeps the rows (first column inode, second path) about the
// fixture's sockets, and any row with the fixture's paths (the pending
// connections carry the listener's path).
func (f *unixFixture) ours(rows []string) []string {
	var out []string
	for _, r := range rows {
		fields := strings.Split(r, "|")
		var ino uint64
		fmt.Sscan(fields[0], &ino)
		if slices.Contains(f.inodes, ino) || strings.HasPrefix(fields[1], f.dir) {
			out = append(out, r)
		}
	}
	slices.Sort(out)
	return out
}

// TestLiveUnixRowsIndependentOfColumns: the unix rows and every value are
// the same whether or not a statement uses the /proc/net-only columns
// (refcnt, flags), and they are the rows and queues ss -xa shows.
func TestLiveUnixRowsIndependentOfColumns(t *testing.T) {
	f := newUnixFixture(t)
	eng := liveEngine(t)
	const cols = "inode, ifnull(path, ''), proto, family, state, type, recv_q, send_q, peer_inode, uid, pid, fd, program, cookie"
	var plain, joined []string
	eventually(t, func() string {
		plain = f.ours(query(t, eng, "SELECT "+cols+" FROM sockets WHERE family = 'unix'"))
		withProc := f.ours(query(t, eng, "SELECT "+cols+", refcnt, flags FROM sockets WHERE family = 'unix'"))
		joined = joined[:0]
		for _, r := range withProc {
			joined = append(joined, r[:strings.LastIndex(r[:strings.LastIndexByte(r, '|')], "|")])
		}
		if fmt.Sprint(plain) != fmt.Sprint(joined) {
			return fmt.Sprintf("rows differ with refcnt, flags selected:\nwithout %q\nwith    %q", plain, joined)
		}
		if len(plain) != len(f.inodes) {
			return fmt.Sprintf("%d rows for the fixture's %d sockets: %q", len(plain), len(f.inodes), plain)
		}
		return ""
	})
	// The listener's refcnt and flags come from /proc/net/unix.
	got := query(t, eng, "SELECT recv_q, refcnt > 0, flags FROM sockets WHERE path = ? AND state = 'LISTENING'", filepath.Join(f.dir, "listener.sock"))
	if fmt.Sprint(got) != "[2|1|ACC]" {
		t.Errorf("listener: got %q, want 2 pending connections, a refcnt and ACC", got)
	}

	if _, err := exec.LookPath("ss"); err != nil {
		t.Skip("ss (iproute2) is not installed: the comparison with ss -xa is skipped")
	}
	eventually(t, func() string {
		out, err := exec.Command("ss", "-xaH").Output()
		if err != nil {
			t.Fatalf("ss -xaH: %v", err)
		}
		// Netid State Recv-Q Send-Q Local-path Local-inode Peer Peer-inode;
		// a listener's Send-Q is its backlog (netsql's backlog column).
		var ss []string
		for _, line := range strings.Split(string(out), "\n") {
			fl := strings.Fields(line)
			if len(fl) < 8 {
				continue
			}
			path := fl[4]
			if path == "*" {
				path = ""
			}
			ss = append(ss, fmt.Sprintf("%s|%s|%s|%s", fl[5], path, fl[2], fl[3]))
		}
		ss = f.ours(ss)
		var mine []string
		for _, r := range f.ours(query(t, eng, "SELECT inode, ifnull(path, ''), recv_q, iif(state = 'LISTENING', backlog, send_q), refcnt FROM sockets WHERE family = 'unix'")) {
			mine = append(mine, r[:strings.LastIndexByte(r, '|')])
		}
		if fmt.Sprint(mine) != fmt.Sprint(ss) {
			return fmt.Sprintf("inode|path|recv_q|send_q:\nnetsql %q\nss -xa %q", mine, ss)
		}
		return ""
	})
}

// TestLiveTCPRowsIndependentOfProbes: using probes (a /proc/net/tcp-only
// column) keeps TCP rows and their netlink-only values (backlog, cookie).
func TestLiveTCPRowsIndependentOfProbes(t *testing.T) {
	f := newCloseWaitFixture(t, 2, 1)
	eng := liveEngine(t)
	const cols = "inode, state, local_port, remote_port, recv_q, send_q, backlog, cookie IS NOT NULL"
	eventually(t, func() string {
		where := fmt.Sprintf(" FROM sockets WHERE protocol = 'tcp' AND (local_port = %d OR remote_port = %d) ORDER BY inode, local_port", f.port, f.port)
		plain := query(t, eng, "SELECT "+cols+where)
		withProbes := query(t, eng, "SELECT "+cols+", probes"+where)
		var joined []string
		for _, r := range withProbes {
			v := r[strings.LastIndexByte(r, '|')+1:]
			if v != "0" {
				return fmt.Sprintf("probes %s for %q: the test's sockets send no probes", v, r)
			}
			joined = append(joined, r[:strings.LastIndexByte(r, '|')])
		}
		if fmt.Sprint(plain) != fmt.Sprint(joined) {
			return fmt.Sprintf("rows differ with probes selected:\nwithout %q\nwith    %q", plain, joined)
		}
		if len(plain) != 5 {
			return fmt.Sprintf("%d rows, want the listener and 2 connections' 4 ends: %q", len(plain), plain)
		}
		return ""
	})
}

// TestLiveUnixNameWithNewline: a name holding a newline (an abstract one
// needs no privilege) neither breaks nor misleads any read of unix
// sockets: netlink, netlink joined with /proc/net/unix, and /proc/net/unix
// alone (a --proc tree) all give the name byte for byte. A name holding a
// whole forged socket line misleads only /proc/net/unix alone, which
// cannot tell it from the kernel's (nor can netstat); the reads through
// netlink take names from netlink and join /proc/net/unix by inode.
func TestLiveUnixNameWithNewline(t *testing.T) {
	dir := t.TempDir()
	// Unique across concurrent test binaries (t.TempDir's last element is
	// always "001"), and short: the forged name below nearly fills
	// sun_path's 108 bytes.
	tag := fmt.Sprintf("%x", os.Getpid())
	names := []string{
		"@netsql-test-" + tag + "\nx\n\n0000000000000000: 00000002 y",
		filepath.Join(dir, "a\nb"),
		"@netsql-test-" + tag + "\n0000000000000000: 00000002 00000000 00010000 0001 01 1 /forged",
	}
	var inodes []uint64
	for _, name := range names {
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(fd) })
		if err := unix.Bind(fd, &unix.SockaddrUnix{Name: name}); err != nil {
			t.Fatal(err)
		}
		if err := unix.Listen(fd, 1); err != nil {
			t.Fatal(err)
		}
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			t.Fatal(err)
		}
		inodes = append(inodes, st.Ino)
	}
	live := liveEngine(t)
	tree, err := Open(Options{ProcRoot: "/proc"})
	if err != nil {
		t.Fatal(err)
	}
	defer tree.Close()
	for i, ino := range inodes {
		for _, q := range []struct {
			eng  *Engine
			what string
			sql  string
		}{
			{live, "netlink", "SELECT path, state FROM sockets WHERE inode = ?"},
			{live, "netlink with /proc/net/unix", "SELECT path, state, refcnt > 0, flags FROM sockets WHERE inode = ?"},
			{tree, "/proc/net/unix", "SELECT path, state, refcnt > 0, flags FROM sockets WHERE inode = ?"},
		} {
			if q.eng == tree && strings.Contains(names[i], "/forged") {
				continue
			}
			rows, err := q.eng.QueryContext(context.Background(), q.sql, int64(ino))
			if err != nil {
				t.Fatalf("%s: %v", q.what, err)
			}
			var got []string
			for rows.Next() {
				var path, state string
				var rest [2]any
				dst := []any{&path, &state}
				if strings.Contains(q.sql, "refcnt") {
					dst = append(dst, &rest[0], &rest[1])
				}
				if err := rows.Scan(dst...); err != nil {
					t.Fatal(err)
				}
				got = append(got, fmt.Sprintf("%q %s %v %v", path, state, rest[0], rest[1]))
			}
			if err := rows.Err(); err != nil {
				t.Fatalf("%s: %v", q.what, err)
			}
			rows.Close()
			want := fmt.Sprintf("%q LISTENING <nil> <nil>", names[i])
			if strings.Contains(q.sql, "refcnt") {
				want = fmt.Sprintf("%q LISTENING 1 ACC", names[i])
			}
			if len(got) != 1 || got[0] != want {
				t.Errorf("%s: got %q, want [%s]", q.what, got, want)
			}
		}
	}
	// Every unix socket of the host still reads (no "malformed line").
	query(t, tree, "SELECT count(*) FROM sockets WHERE family = 'unix'")
}

// TestLiveUnixSocketLines: unix_socket_lines is /proc/net/unix as netstat -x
// reads it: the fixture's sockets and its two connections not yet
// accepted (inode 0, CONNECTING, the listener's path), which sockets
// leaves out.
func TestLiveUnixSocketLines(t *testing.T) {
	f := newUnixFixture(t)
	eng := liveEngine(t)
	ln := filepath.Join(f.dir, "listener.sock")
	eventually(t, func() string {
		got := query(t, eng, "SELECT count(*) FROM unix_socket_lines WHERE inode = 0 AND state = 'CONNECTING' AND path = ?", ln)
		if fmt.Sprint(got) != "[2]" {
			return fmt.Sprintf("pending connections on %s: %q, want 2", ln, got)
		}
		var missing []uint64
		for _, ino := range f.inodes {
			if got := query(t, eng, "SELECT count(*) FROM unix_socket_lines WHERE inode = ?", ino); fmt.Sprint(got) != "[1]" {
				missing = append(missing, ino)
			}
		}
		if len(missing) > 0 {
			return fmt.Sprintf("inodes %v not listed once", missing)
		}
		if got := query(t, eng, "SELECT count(*) FROM sockets WHERE inode = 0 AND path = ?", ln); fmt.Sprint(got) != "[0]" {
			return fmt.Sprintf("sockets lists %q connections not yet accepted", got)
		}
		return ""
	})
}
