package vtab

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// liveEngine opens an engine on the running kernel.
func liveEngine(t *testing.T) *Engine {
	t.Helper()
	eng, err := Open(Options{Notify: func(n Notice) { t.Log(n.Msg) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	return eng
}

// inodeOf returns the socket inode behind a connection or listener.
func inodeOf(t *testing.T, c syscall.Conn) uint64 {
	t.Helper()
	raw, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	var serr error
	if err := raw.Control(func(fd uintptr) { serr = syscall.Fstat(int(fd), &st) }); err != nil {
		t.Fatal(err)
	}
	if serr != nil {
		t.Fatal(serr)
	}
	return st.Ino
}

// closeWaitFixture listens on loopback, makes n connections and closes the
// client side of m of them, so m server-side sockets sit in CLOSE_WAIT.
type closeWaitFixture struct {
	port     int
	servers  []*net.TCPConn
	clients  []*net.TCPConn
	listener *net.TCPListener
}

func newCloseWaitFixture(t *testing.T, n, m int) *closeWaitFixture {
	t.Helper()
	ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	f := &closeWaitFixture{listener: ln, port: ln.Addr().(*net.TCPAddr).Port}
	t.Cleanup(func() {
		ln.Close()
		for _, c := range append(f.servers, f.clients...) {
			c.Close()
		}
	})
	for i := 0; i < n; i++ {
		c, err := net.DialTCP("tcp4", nil, ln.Addr().(*net.TCPAddr))
		if err != nil {
			t.Fatal(err)
		}
		s, err := ln.AcceptTCP()
		if err != nil {
			t.Fatal(err)
		}
		f.clients = append(f.clients, c)
		f.servers = append(f.servers, s)
	}
	for i := 0; i < m; i++ {
		f.clients[i].Close()
	}
	return f
}

// eventually retries check until it returns "" or the deadline passes.
func eventually(t *testing.T, check func() string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		msg := check()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestLiveCloseWaitByProgram(t *testing.T) {
	const n, m = 12, 5
	f := newCloseWaitFixture(t, n, m)
	eng := liveEngine(t)
	program := filepath.Base(os.Args[0])
	eventually(t, func() string {
		// By address and port: another address (::1, 127.0.0.10) may use
		// the same port number at the same time.
		got := query(t, eng, "SELECT program, count(*) FROM sockets WHERE state='CLOSE_WAIT' AND local_address = '127.0.0.1' AND local_port = ? GROUP BY 1", f.port)
		want := []string{fmt.Sprintf("%s|%d", program, m)}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			return fmt.Sprintf("used-by query = %v, want %v", got, want)
		}
		return ""
	})
	// The same question about every CLOSE_WAIT socket on the host (the
	// README's query) must include ours.
	rows := query(t, eng, "SELECT program, count(*) FROM sockets WHERE state='CLOSE_WAIT' GROUP BY 1")
	found := false
	for _, r := range rows {
		if name, count, _ := strings.Cut(r, "|"); name == program {
			c, _ := strconv.Atoi(count)
			found = c >= m
		}
	}
	if !found {
		t.Errorf("README query rows %v lack %s with at least %d", rows, program, m)
	}
}

func TestLiveSocketFieldsAgreeWithTheTest(t *testing.T) {
	f := newCloseWaitFixture(t, 3, 1)
	// The server side of connection 1 never reads: its recv_q grows.
	payload := strings.Repeat("x", 1234)
	if _, err := f.clients[1].Write([]byte(payload)); err != nil {
		t.Fatal(err)
	}
	eng := liveEngine(t)
	pid := os.Getpid()
	for i, s := range f.servers {
		inode := inodeOf(t, s)
		remotePort := f.clients[i].LocalAddr().(*net.TCPAddr).Port
		wantState, wantRecvQ := "ESTABLISHED", 0
		switch i {
		case 0:
			// The peer's FIN takes a sequence number the reader has not
			// consumed: the kernel (and netstat, and ss) count it as 1.
			wantState, wantRecvQ = "CLOSE_WAIT", 1
		case 1:
			wantRecvQ = len(payload)
		}
		want := fmt.Sprintf("tcp|inet|127.0.0.1|%d|127.0.0.1|%d|%s|%d|0|%d|%d|%d", f.port, remotePort, wantState, wantRecvQ, inode, pid, os.Getuid())
		eventually(t, func() string {
			got := query(t, eng, `SELECT proto, family, local_address, local_port, remote_address, remote_port,
				state, recv_q, send_q, inode, pid, uid FROM sockets WHERE inode = ?`, inode)
			if len(got) != 1 || got[0] != want {
				return fmt.Sprintf("server socket %d = %v, want %s", i, got, want)
			}
			return ""
		})
	}
	// The listener: LISTEN, owned by us, fd the one Go holds.
	lnInode := inodeOf(t, f.listener)
	got := query(t, eng, "SELECT state, local_port, pid, fd > 2, user = user_name(uid) FROM sockets WHERE inode = ?", lnInode)
	if want := fmt.Sprintf("LISTEN|%d|%d|1|1", f.port, pid); len(got) != 1 || got[0] != want {
		t.Errorf("listener = %v, want %s", got, want)
	}
}

func TestLiveUDPAndUnix(t *testing.T) {
	udp, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	defer udp.Close()
	path := filepath.Join(t.TempDir(), "s.sock")
	ul, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer ul.Close()
	eng := liveEngine(t)
	got := query(t, eng, "SELECT proto, local_address, local_port, state, type FROM sockets WHERE inode = ?", inodeOf(t, udp))
	if want := fmt.Sprintf("udp6|::1|%d|UNCONN|DGRAM", udp.LocalAddr().(*net.UDPAddr).Port); len(got) != 1 || got[0] != want {
		t.Errorf("udp6 = %v, want %s", got, want)
	}
	got = query(t, eng, "SELECT proto, family, path, state, type, local_address FROM sockets WHERE inode = ?", inodeOf(t, ul))
	if want := "unix|unix|" + path + "|LISTENING|STREAM|NULL"; len(got) != 1 || got[0] != want {
		t.Errorf("unix = %v, want %s", got, want)
	}
}

// TestLiveStateCountsMatchSS compares per-state counts for the test's own
// port with what ss reports on the same kernel.
func TestLiveStateCountsMatchSS(t *testing.T) {
	if _, err := exec.LookPath("ss"); err != nil {
		t.Skip("ss (iproute2) is not installed")
	}
	f := newCloseWaitFixture(t, 9, 4)
	eng := liveEngine(t)
	// The sockets with the listener's address at either end. By port alone
	// ss would also count sockets of other addresses that use the same
	// number at the same time ([::1]:port, which proto = 'tcp' leaves out,
	// or 127.0.0.10:port), and the two would never agree. TIME_WAIT
	// sockets an earlier user of the port left behind are counted by both.
	ssCounts := func() map[string]int {
		out, err := exec.Command("ss", "-Htan", fmt.Sprintf("( src 127.0.0.1:%d or dst 127.0.0.1:%d )", f.port, f.port)).Output()
		if err != nil {
			t.Fatalf("ss: %v", err)
		}
		counts := map[string]int{}
		ssNames := map[string]string{"ESTAB": "ESTABLISHED", "CLOSE-WAIT": "CLOSE_WAIT", "FIN-WAIT-2": "FIN_WAIT2", "LISTEN": "LISTEN", "TIME-WAIT": "TIME_WAIT", "LAST-ACK": "LAST_ACK", "FIN-WAIT-1": "FIN_WAIT1"}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if fields := strings.Fields(line); len(fields) > 0 {
				counts[ssNames[fields[0]]]++
			}
		}
		return counts
	}
	eventually(t, func() string {
		want := ssCounts()
		got := map[string]int{}
		for _, r := range query(t, eng, `SELECT state, count(*) FROM sockets WHERE proto = 'tcp'
			AND (local_address = '127.0.0.1' AND local_port = ? OR remote_address = '127.0.0.1' AND remote_port = ?) GROUP BY 1`, f.port, f.port) {
			name, count, _ := strings.Cut(r, "|")
			got[name], _ = strconv.Atoi(count)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Sprintf("netsql %v, ss %v", got, want)
		}
		if got["CLOSE_WAIT"] != 4 || got["LISTEN"] != 1 {
			return fmt.Sprintf("counts %v lack the 4 CLOSE_WAIT and 1 LISTEN the test made", got)
		}
		return ""
	})
}

func TestLiveCancelledContext(t *testing.T) {
	eng := liveEngine(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rows, err := eng.QueryContext(ctx, "SELECT count(*) FROM sockets")
	if err == nil {
		defer rows.Close()
		for rows.Next() {
		}
		err = rows.Err()
	}
	if err == nil {
		t.Fatal("a cancelled context still ran the query")
	}
}

// TestLiveTCPInternals: tcp_info columns are filled for a connected TCP
// socket and agree with what the connection did.
func TestLiveTCPInternals(t *testing.T) {
	f := newCloseWaitFixture(t, 1, 0)
	if _, err := f.clients[0].Write(make([]byte, 5000)); err != nil {
		t.Fatal(err)
	}
	eng := liveEngine(t)
	inode := inodeOf(t, f.clients[0])
	eventually(t, func() string {
		got := query(t, eng, "SELECT cwnd > 0, mss > 0, rtt_ms >= 0, bytes_acked >= 5000, congestion IS NOT NULL, shutdown FROM sockets WHERE inode = ?", inode)
		if len(got) != 1 || got[0] != "1|1|1|1|1|none" {
			return fmt.Sprintf("internals = %v", got)
		}
		return ""
	})
	// A UDP socket of this test's own has no tcp_info: NULL, not 0.
	u, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	uinode := inodeOf(t, u.(*net.UDPConn))
	eventually(t, func() string {
		got := query(t, eng, "SELECT protocol, coalesce(cwnd, 'NULL') FROM sockets WHERE inode = ?", uinode)
		if len(got) != 1 || got[0] != "udp|NULL" {
			return fmt.Sprintf("this test's UDP socket: %v, want udp with a NULL cwnd", got)
		}
		return ""
	})
}
