package vtab

import (
	"fmt"
	"net"
	"path/filepath"
	"reflect"
	"testing"
)

// TestLivePackedSameRowsAsRecords: a statement that reads sockets more
// than once (a self-join, an IN list, an OR merge, a correlated
// subquery) holds them as a compact snapshot of sock_diag replies
// (packSockets), and returns the rows a snapshot of records does, on the
// test's live sockets: TCP in four states, UDP and unix, with the owner,
// user, /proc/net-only and tcp_info columns, and rowids that join a
// socket to itself across two differently filtered reads.
func TestLivePackedSameRowsAsRecords(t *testing.T) {
	eng := liveEngine(t)
	eng.noStream = true // every statement reads into a snapshot
	fx := newCloseWaitFixture(t, 300, 40)
	udp, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { udp.Close() })
	path := filepath.Join(t.TempDir(), "packed.sock")
	ux, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ux.Close() })
	up, p := udp.LocalAddr().(*net.UDPAddr).Port, fx.port

	cols := "a.proto, a.family, a.protocol, a.local_address, a.local_port, a.remote_address, a.remote_port, a.state, a.recv_q, a.send_q, a.backlog, a.uid, a.user, a.inode, a.type, a.timer, a.retransmits, a.kernel_state, a.netns, a.netns_name, a.cookie, a.probes, a.refcnt, a.flags, a.path, a.peer_inode, a.bound_interface"
	stmts := []string{
		fmt.Sprintf("SELECT %s, a.pid, a.program, a.fd FROM sockets a WHERE a.state IN ('CLOSE_WAIT', 'LISTEN', 'FIN_WAIT2') AND a.local_port = %d", cols, p),
		fmt.Sprintf("SELECT %s FROM sockets a WHERE a.local_port = %d OR a.remote_port = %d OR a.local_port = %d", cols, p, p, up),
		fmt.Sprintf("SELECT %s, a.rtt_ms IS NOT NULL, a.cwnd, a.mss, a.congestion, a.skmem_rcvbuf > 0, a.shutdown, a.cgroup FROM sockets a WHERE a.proto IN ('tcp', 'tcp6') AND a.remote_port = %d", cols, p),
		fmt.Sprintf("SELECT a.local_port, a.state, (SELECT count(*) FROM sockets b WHERE b.remote_port = a.local_port AND b.inode != 0) FROM sockets a WHERE a.local_port IN (%d, %d)", p, up),
		fmt.Sprintf("SELECT %s, b.state, b.program FROM sockets a JOIN sockets b ON a.local_port = b.remote_port AND a.remote_port = b.local_port WHERE a.local_port = %d AND a.state != 'LISTEN'", cols, p),
		fmt.Sprintf("SELECT %s FROM sockets a WHERE a.proto = 'unix' AND a.path IN ('%s', '/nonexistent')", cols, path),
		// Rowids: each of the test's sockets read with a filter and
		// without one is the same row.
		fmt.Sprintf("SELECT count(*), count(DISTINCT a.rowid), (SELECT count(*) FROM sockets c WHERE c.local_port = %d) FROM sockets a JOIN sockets b ON a.rowid = b.rowid WHERE a.local_port = %d AND b.local_port = %d AND b.state IN ('ESTABLISHED', 'CLOSE_WAIT', 'FIN_WAIT2', 'LISTEN')", p, p, p),
	}
	src := eng.src
	for _, q := range stmts {
		read := func(pack bool) []string {
			src.noPack = !pack
			defer func() { src.noPack = false }()
			before := src.packs.Load()
			rows := agree(t, func() []string { return sorted(query(t, eng, q)) })
			if did := src.packs.Load() > before; did != pack {
				t.Fatalf("%s: packed %v, want %v", q, did, pack)
			}
			return rows
		}
		// The two reads are apart in time: a CLOSE_WAIT socket may go
		// between them (see below), so a difference is read again.
		var packed, records []string
		for try := 0; try < 5; try++ {
			if packed, records = read(true), read(false); reflect.DeepEqual(packed, records) {
				break
			}
		}
		if len(packed) == 0 {
			t.Errorf("%s: no rows: the test's sockets must show", q)
		}
		if !reflect.DeepEqual(packed, records) {
			t.Errorf("%s:\npacked %d rows: %v\nrecords %d rows: %v", q, len(packed), head(packed), len(records), head(records))
		}
	}
	// The rowid statement: every server socket and the listener joined
	// to itself only (301 at first; a CLOSE_WAIT socket goes when its
	// peer's FIN_WAIT2 times out and a keepalive meets a reset, so the
	// count is checked against the statement's own).
	got := agree(t, func() []string { return query(t, eng, stmts[len(stmts)-1]) })
	var joined, distinct, all int
	if len(got) != 1 {
		t.Fatalf("self-join by rowid: %v", got)
	}
	fmt.Sscanf(got[0], "%d|%d|%d", &joined, &distinct, &all)
	if joined != all || distinct != all || all < 261 {
		t.Errorf("self-join by rowid: %d rows, %d rowids, for %d sockets on the port (at least 261)", joined, distinct, all)
	}
}
