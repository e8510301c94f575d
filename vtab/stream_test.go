package vtab

import (
	"context"
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/netsql/netsql/vtab/sock"
)

// streamShapes are statement shapes and, for each, the tables the engine
// must stream: exactly those read once, outside every loop, subroutine
// and coroutine. Each shape with a table left out fails a rule "always
// stream"; each with a table listed fails "never stream".
var streamShapes = []struct {
	name, sql string
	streams   []string
}{
	{"single scan", "SELECT * FROM sockets", []string{"sockets"}},
	{"count", "SELECT count(*) FROM sockets WHERE proto = 'tcp'", []string{"sockets"}},
	{"group by", "SELECT program, state, count(*) FROM sockets GROUP BY 1, 2", []string{"sockets"}},
	{"order by", "SELECT local_port FROM sockets WHERE state = 'LISTEN' ORDER BY 1", []string{"sockets"}},
	{"limit", "SELECT inode FROM sockets LIMIT 3", []string{"sockets"}},
	{"join, sockets outer", "SELECT s.inode, p.name FROM sockets s CROSS JOIN processes p WHERE p.pid = s.pid", []string{"sockets"}},
	{"join, sockets inner", "SELECT s.inode, p.name FROM processes p CROSS JOIN sockets s WHERE p.pid = s.pid", []string{"processes"}},
	{"self-join", "SELECT a.inode FROM sockets a JOIN sockets b ON a.peer_inode = b.inode", nil},
	{"OR merge", "SELECT inode FROM sockets WHERE proto = 'tcp' OR state = 'LISTEN'", nil},
	{"IN list", "SELECT inode FROM sockets WHERE state IN ('LISTEN', 'ESTABLISHED')", nil},
	{"correlated subquery", "SELECT name FROM interfaces i WHERE mtu > (SELECT count(*) FROM sockets s WHERE s.bound_interface = i.name)", []string{"interfaces"}},
	{"correlated self", "SELECT (SELECT count(*) FROM sockets s2 WHERE s2.local_port = s.local_port) FROM sockets s", nil},
	{"subquery in FROM", "SELECT * FROM (SELECT proto, count(*) c FROM sockets GROUP BY 1) WHERE c > 1", nil},
	// processes is read once per pid of the IN set; the set is built in a
	// subroutine (run once, but subroutines are not told apart).
	{"IN subquery", "SELECT name FROM processes WHERE pid IN (SELECT pid FROM sockets)", nil},
	// Each arm of a compound runs once (as a coroutine or in turn).
	{"UNION", "SELECT inode FROM sockets UNION SELECT pid FROM processes", []string{"processes", "sockets"}},
	{"UNION ALL ordered (coroutines)", "SELECT inode FROM sockets UNION ALL SELECT pid FROM processes ORDER BY 1", []string{"processes", "sockets"}},
	// top copies tables this way: the SELECT is a coroutine run once.
	{"CREATE TABLE AS", "CREATE TABLE temp.copy AS SELECT proto, pid FROM sockets", []string{"sockets"}},
	{"CREATE TABLE AS from a subquery", "CREATE TABLE temp.copy AS SELECT c.*, 1 AS x FROM (SELECT proto, pid FROM sockets) AS c", []string{"sockets"}},
	{"INSERT SELECT", "INSERT INTO temp.copy2 SELECT proto FROM sockets", []string{"sockets"}},
	// A coroutine started once per outer row runs its body each time
	// (sockets must not stream; processes is left alone too: its loop
	// restarts the coroutine with a second InitCoroutine).
	{"coroutine per outer row", "SELECT (SELECT count(*) FROM (SELECT inode FROM sockets WHERE inode = p.pid UNION ALL SELECT 1 ORDER BY 1)) FROM processes p", nil},
	{"UNION of one table", "SELECT inode FROM sockets WHERE proto = 'tcp' UNION ALL SELECT inode FROM sockets WHERE proto = 'udp'", nil},
}

func streamedTables(streams map[string]bool) []string {
	var out []string
	for n, ok := range streams {
		if ok {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// TestStreamingDecision checks the engine's reading of EXPLAIN listings:
// which tables of a statement stream.
func TestStreamingDecision(t *testing.T) {
	eng, _ := openFake(t)
	if _, err := eng.DB().Exec("CREATE TEMP TABLE copy2(proto)"); err != nil {
		t.Fatal(err)
	}
	for _, c := range streamShapes {
		_, streams := eng.analyse(context.Background(), c.sql, nil)
		if got := streamedTables(streams); !reflect.DeepEqual(got, c.streams) {
			t.Errorf("%s: %s\nstreams %v, want %v", c.name, c.sql, got, c.streams)
		}
	}
}

// TestKillDoesNotStream: a DELETE that closes sockets keeps what it read
// (the kill log), so it reads a snapshot even though it scans once.
func TestKillDoesNotStream(t *testing.T) {
	eng, _ := openFake(t)
	eng.SetAllowKill(true)
	q := "DELETE FROM sockets WHERE state = 'CLOSE_WAIT'"
	st := eng.prepare(context.Background(), q, nil)
	if st.kill == nil {
		t.Fatalf("%s: not seen as a kill", q)
	}
	if st.streams["sockets"] {
		t.Errorf("%s: streams", q)
	}
}

// TestStreamSameRowsFake: over canned sockets, statements give the same
// rows on the streaming path as on the snapshot path, and streamed.
func TestStreamSameRowsFake(t *testing.T) {
	eng, _ := openFake(t)
	for _, q := range []string{
		"SELECT * FROM sockets",
		"SELECT rowid IS NOT NULL, proto, state FROM sockets WHERE proto = 'tcp'",
		"SELECT state, count(*) FROM sockets GROUP BY 1",
		"SELECT local_port FROM sockets WHERE local_port = '8080'",
		"SELECT inode FROM sockets WHERE state = 'close_wait' COLLATE NOCASE",
		"SELECT path, netns_name FROM sockets WHERE proto = 'unix' AND netns_name = '*'",
		"SELECT inode FROM sockets WHERE local_port > 1000 AND remote_port < 40001",
		"SELECT inode FROM sockets LIMIT 2",
	} {
		eng.noStream = false
		before := eng.streamed.Load()
		s := sorted(query(t, eng, q))
		if eng.streamed.Load() == before {
			t.Errorf("%s: did not stream", q)
		}
		eng.noStream = true
		snap := sorted(query(t, eng, q))
		eng.noStream = false
		if !reflect.DeepEqual(s, snap) {
			t.Errorf("%s:\nstreamed %v\nsnapshot %v", q, s, snap)
		}
	}
}

// TestExactPushdownKeepsTheAnswer: proto, family and protocol are pushed
// exactly and SQLite does not re-check them (Column.Exact), which must
// not change an answer: values no word equals, folded words under
// BINARY and under NOCASE, on both read paths.
func TestExactPushdownKeepsTheAnswer(t *testing.T) {
	eng, _ := openFake(t)
	for _, c := range []struct {
		q    string
		want []string
	}{
		{"SELECT count(*) FROM sockets WHERE proto = 'tcp'", []string{"4"}},
		{"SELECT count(*) FROM sockets WHERE proto = 'tcp' AND family = 'inet' AND protocol = 'tcp'", []string{"4"}},
		{"SELECT count(*) FROM sockets WHERE proto = NULL", []string{"0"}},
		{"SELECT count(*) FROM sockets WHERE proto = 1.5", []string{"0"}},
		{"SELECT count(*) FROM sockets WHERE family = x'696e6574'", []string{"0"}},
		{"SELECT count(*) FROM sockets WHERE proto = 'TCP' COLLATE NOCASE", []string{"4"}},
		// NOCASE elsewhere lets 'TCP' through, compared under BINARY.
		{"SELECT count(*) FROM sockets WHERE proto = 'TCP' AND state = 'listen' COLLATE NOCASE", []string{"0"}},
		{"SELECT count(*) FROM sockets WHERE proto = 'tcp' AND state = 'listen' COLLATE NOCASE", []string{"1"}},
		{"SELECT count(*) FROM sockets WHERE protocol IN ('udp', 'unix')", []string{"2"}},
	} {
		for _, noStream := range []bool{false, true} {
			eng.noStream = noStream
			if got := query(t, eng, c.q); !reflect.DeepEqual(got, c.want) {
				t.Errorf("%s (noStream %v): %v, want %v", c.q, noStream, got, c.want)
			}
		}
	}
	eng.noStream = false
}

// failingStream hands over one batch of sockets, then fails.
type failingStream struct{ fakeSockets }

func (f *failingStream) Stream(_ context.Context, _ sock.Request, yield func([]sock.Socket) bool) error {
	if !yield(cannedSockets[:2]) {
		return nil
	}
	return errors.New("sockdiag: dump tcp6: boom")
}

// TestStreamErrorAfterFirstBatchKeepsItsMessage: a read that fails after
// rows were handed over is still one error line that says why (SQLite
// drops the message of an error returned by Next).
func TestStreamErrorAfterFirstBatchKeepsItsMessage(t *testing.T) {
	src := &Source{ProcRoot: t.TempDir(), Live: true, Sockets: &failingStream{}, users: map[uint32]string{}}
	eng, err := Open(Options{Source: src})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	before := eng.streamed.Load()
	_, err = tryQuery(eng, "SELECT inode, state FROM sockets")
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("error %v, want the reader's", err)
	}
	if eng.streamed.Load() == before {
		t.Error("did not stream")
	}
}
