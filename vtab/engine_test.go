package vtab

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/netsql/netsql/vtab/sock"
	"github.com/netsql/netsql/vtab/sockdiag"
)

// fakeSockets serves canned sockets, applies the request the way a kernel
// reader must, and records every request.
type fakeSockets struct {
	mu    sync.Mutex
	socks []sock.Socket
	reqs  []sock.Request
}

func (f *fakeSockets) Sockets(_ context.Context, req sock.Request) ([]sock.Socket, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, req)
	var out []sock.Socket
	for _, s := range f.socks {
		if req.Wants(s.Family, s.Protocol) && req.StateMask()&(1<<s.State) != 0 && req.Filter.Match(&s) {
			out = append(out, s)
		}
	}
	return out, nil
}

func (f *fakeSockets) requests() []sock.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sock.Request(nil), f.reqs...)
}

func tcp4(local, remote string, state uint8, inode uint64) sock.Socket {
	return sock.Socket{Family: unix.AF_INET, Protocol: sock.TCP, State: state,
		Local: netip.MustParseAddrPort(local), Remote: netip.MustParseAddrPort(remote), Inode: inode}
}

var cannedSockets = []sock.Socket{
	tcp4("0.0.0.0:8080", "0.0.0.0:0", sock.StateListen, 100),
	tcp4("127.0.0.1:8080", "127.0.0.1:40000", sock.StateCloseWait, 101),
	tcp4("127.0.0.1:8080", "127.0.0.1:40001", sock.StateCloseWait, 102),
	tcp4("127.0.0.1:40002", "127.0.0.1:8080", sock.StateEstablished, 103),
	{Family: unix.AF_INET6, Protocol: sock.TCP, State: sock.StateListen, Local: netip.MustParseAddrPort("[::1]:631"), Remote: netip.MustParseAddrPort("[::]:0"), Inode: 104},
	{Family: unix.AF_INET, Protocol: sock.UDP, State: sock.StateClose, Local: netip.MustParseAddrPort("0.0.0.0:5353"), Remote: netip.MustParseAddrPort("0.0.0.0:0"), Inode: 105},
	{Family: unix.AF_UNIX, Protocol: sock.UNIX, State: sock.StateListen, Type: sock.TypeStream, Path: "@abstract", Inode: 106},
}

// openFake opens an engine over canned sockets and an empty /proc tree.
func openFake(t *testing.T) (*Engine, *fakeSockets) {
	t.Helper()
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "net"), 0o755); err != nil {
		t.Fatal(err)
	}
	fake := &fakeSockets{socks: cannedSockets}
	src := &Source{ProcRoot: root, Sockets: fake, users: map[uint32]string{}}
	eng, err := Open(Options{Source: src})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	return eng, fake
}

// query runs SQL and returns its rows as text, one "a|b|c" line per row.
func query(t *testing.T, eng *Engine, q string, args ...any) []string {
	t.Helper()
	out, err := tryQuery(eng, q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out
}

// tryQuery is query returning the error instead of failing the test.
func tryQuery(eng *Engine, q string, args ...any) ([]string, error) {
	rows, err := eng.QueryContext(context.Background(), q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			if v == nil {
				parts[i] = "NULL"
			} else {
				parts[i] = fmtAny(v)
			}
		}
		out = append(out, strings.Join(parts, "|"))
	}
	return out, rows.Err()
}

func fmtAny(v any) string {
	switch x := v.(type) {
	case []byte:
		return string(x)
	case string:
		return x
	case int64:
		return itoa(x)
	case float64:
		return ftoa(x)
	}
	return "?"
}

func TestStatePushdownSelectsTCPDumpAndMask(t *testing.T) {
	eng, fake := openFake(t)
	got := query(t, eng, "SELECT local_port, remote_port FROM sockets WHERE state = 'CLOSE_WAIT' ORDER BY remote_port")
	want := []string{"8080|40000", "8080|40001"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("rows = %v, want %v", got, want)
	}
	reqs := fake.requests()
	if len(reqs) != 1 {
		t.Fatalf("kernel requests = %d, want 1", len(reqs))
	}
	r := reqs[0]
	if r.States != 1<<sock.StateCloseWait {
		t.Errorf("state mask = %#x, want only CLOSE_WAIT", r.States)
	}
	if !reflect.DeepEqual(r.Protocols, []sock.Proto{sock.TCP}) {
		t.Errorf("protocols = %v, want only tcp (CLOSE_WAIT is a TCP state)", r.Protocols)
	}
}

func TestProtoPushdownSkipsOtherDumps(t *testing.T) {
	eng, fake := openFake(t)
	got := query(t, eng, "SELECT local_address, local_port FROM sockets WHERE proto = 'tcp6'")
	if !reflect.DeepEqual(got, []string{"::1|631"}) {
		t.Fatalf("rows = %v", got)
	}
	r := fake.requests()[0]
	if !reflect.DeepEqual(r.Families, []uint8{unix.AF_INET6}) || !reflect.DeepEqual(r.Protocols, []sock.Proto{sock.TCP}) {
		t.Errorf("request = %+v, want inet6/tcp only", r)
	}
}

func TestUnknownStateIsAnError(t *testing.T) {
	eng, fake := openFake(t)
	for _, q := range []string{
		"SELECT * FROM sockets WHERE state = 'close_wait'",
		"SELECT * FROM sockets WHERE state = 'CLOSEWAIT'",
		"SELECT * FROM sockets WHERE state IN ('LISTEN', 'CLOSEWAIT')",
	} {
		rows, err := eng.QueryContext(context.Background(), q)
		if err == nil {
			for rows.Next() {
			}
			err = rows.Err()
			rows.Close()
		}
		if err == nil || !strings.Contains(err.Error(), "sockets.state") || !strings.Contains(err.Error(), "tcp: ") ||
			!strings.Contains(err.Error(), "unix: ") || !strings.Contains(err.Error(), "CLOSE_WAIT") {
			t.Errorf("%s: err = %v, want an error listing the states by transport", q, err)
		}
	}
	if n := len(fake.requests()); n != 0 {
		t.Errorf("an unknown state still made %d kernel requests", n)
	}
}

func TestInListFiltersEachValue(t *testing.T) {
	eng, _ := openFake(t)
	got := query(t, eng, "SELECT state, count(*) FROM sockets WHERE state IN ('LISTEN', 'UNCONN', 'LISTENING') GROUP BY 1 ORDER BY 1")
	want := []string{"LISTEN|2", "LISTENING|1", "UNCONN|1"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("rows = %v, want %v", got, want)
	}
}

func TestSelfJoinAndCorrelatedSubqueryReadOnce(t *testing.T) {
	eng, fake := openFake(t)
	got := query(t, eng, `SELECT count(*) FROM sockets a JOIN sockets b ON a.inode = b.inode`)
	if !reflect.DeepEqual(got, []string{"7"}) {
		t.Fatalf("self-join count = %v, want 7", got)
	}
	if n := len(fake.requests()); n != 1 {
		t.Errorf("self-join read the kernel %d times, want 1", n)
	}
	got = query(t, eng, `SELECT local_port, (SELECT count(*) FROM sockets b WHERE b.local_port = a.local_port) FROM sockets a WHERE a.proto = 'tcp' ORDER BY 1, 2`)
	want := []string{"8080|3", "8080|3", "8080|3", "40002|1"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("correlated subquery = %v, want %v", got, want)
	}
	if n := len(fake.requests()) - 1; n > 3 {
		t.Errorf("correlated subquery made %d kernel requests, want 3: the outer read and one per distinct pushed port", n)
	}
}

// TestPushedJoinValuesAreBounded: a join that feeds many distinct values
// into a pushed column makes a bounded number of reads, never one per row.
func TestPushedJoinValuesAreBounded(t *testing.T) {
	eng, fake := openFake(t)
	fake.mu.Lock()
	for p := 1; p <= 30; p++ {
		fake.socks = append(fake.socks, tcp4(fmt.Sprintf("127.0.0.1:%d", 1000+p), "127.0.0.1:9", sock.StateEstablished, uint64(1000+p)))
	}
	fake.mu.Unlock()
	got := query(t, eng, `SELECT count(*) FROM sockets a WHERE a.protocol = 'tcp'
		AND (SELECT count(*) FROM sockets b WHERE b.local_port = a.local_port) = 1`)
	if !reflect.DeepEqual(got, []string{"32"}) {
		t.Fatalf("count = %v, want 32 (30 added, 40002, [::1]:631)", got)
	}
	if n := len(fake.requests()); n > 1+maxReadsPerStatement+1 {
		t.Errorf("%d kernel reads for 36 outer rows; want at most %d", n, 2+maxReadsPerStatement)
	}
}

// TestORMergesReadsByIdentity: SQLite's OR optimization reads the table
// once per term and merges rows by rowid; a row matching both terms must
// appear once and no row may be lost to a rowid collision.
func TestORMergesReadsByIdentity(t *testing.T) {
	eng, _ := openFake(t)
	got := query(t, eng, "SELECT inode FROM sockets WHERE local_port = 8080 OR remote_port = 8080 OR state = 'LISTEN' ORDER BY inode")
	want := []string{"100", "101", "102", "103", "104"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("OR query = %v, want %v", got, want)
	}
}

func TestSnapshotEndsWithStatement(t *testing.T) {
	eng, fake := openFake(t)
	query(t, eng, "SELECT count(*) FROM sockets")
	fake.mu.Lock()
	fake.socks = fake.socks[:2]
	fake.mu.Unlock()
	if got := query(t, eng, "SELECT count(*) FROM sockets"); !reflect.DeepEqual(got, []string{"2"}) {
		t.Fatalf("second statement saw %v, want a fresh read with 2 sockets", got)
	}
}

func TestOwnerScanOnlyWhenOwnerColumnsUsed(t *testing.T) {
	eng, _ := openFake(t)
	query(t, eng, "SELECT state, count(*) FROM sockets GROUP BY 1")
	query(t, eng, "SELECT count(*) FROM sockets") // reads no column at all
	query(t, eng, "SELECT * FROM sockets WHERE inode = 101")
	// SELECT * reads pid, so that one scans; the aggregate must not.
	if n := eng.src.OwnerScans(); n != 1 {
		t.Errorf("owner scans = %d, want 1 (only the statement that reads pid)", n)
	}
}

func TestIndexLookupRespectsAffinity(t *testing.T) {
	eng, _ := openFake(t)
	for _, q := range []string{
		"SELECT inode FROM sockets WHERE inode = 101",
		"SELECT inode FROM sockets WHERE inode = '101'",
		"SELECT inode FROM sockets WHERE inode = 101.0",
	} {
		if got := query(t, eng, q); !reflect.DeepEqual(got, []string{"101"}) {
			t.Errorf("%s = %v, want [101]", q, got)
		}
	}
	if got := query(t, eng, "SELECT inode FROM sockets WHERE local_address = '0.0.0.0' ORDER BY inode"); !reflect.DeepEqual(got, []string{"100", "105"}) {
		t.Errorf("text lookup = %v", got)
	}
}

func TestColumnsAndNulls(t *testing.T) {
	eng, _ := openFake(t)
	got := query(t, eng, "SELECT proto, family, protocol, local_address, local_port, state, type, path, timer FROM sockets WHERE inode IN (100, 105, 106) ORDER BY inode")
	want := []string{
		"tcp|inet|tcp|0.0.0.0|8080|LISTEN|STREAM|NULL|off",
		"udp|inet|udp|0.0.0.0|5353|UNCONN|DGRAM|NULL|off",
		"unix|unix|unix|NULL|NULL|LISTENING|STREAM|@abstract|NULL",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got\n%v\nwant\n%v", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestWritesAreRefused(t *testing.T) {
	eng, _ := openFake(t)
	for _, q := range []string{
		"DELETE FROM sockets", "INSERT INTO sockets(proto) VALUES ('tcp')", "UPDATE sockets SET state = 'LISTEN'",
		"DELETE FROM sockets WHERE inode = -1", // matches nothing: still refused
		"DROP TABLE sockets",
		"ALTER TABLE sockets RENAME TO s2", "ALTER TABLE temp.sockets RENAME TO s2",
	} {
		_, err := eng.ExecContext(context.Background(), q)
		want := "sockets is a read-only view of the kernel"
		if strings.HasPrefix(q, "DELETE") {
			// DELETE FROM sockets closes sockets once allowed: say how.
			want = fmt.Sprintf(killRefusedHow, "sockets")
		}
		if err == nil || err.Error() != want {
			t.Errorf("%s: err = %v, want %q", q, err, want)
		}
	}
	if got := query(t, eng, "SELECT count(*) FROM sockets"); got[0] != "7" {
		t.Errorf("after refused writes the table reads %v", got)
	}
	// After a refused rename no temp table can take the live table's name.
	if _, err := eng.ExecContext(context.Background(), "CREATE TEMP TABLE sockets(state)"); err == nil {
		t.Error("a temp table named sockets was created beside the live one")
	}
	if got := query(t, eng, "SELECT count(*) FROM sockets"); got[0] != "7" {
		t.Errorf("after refused writes the table reads %v", got)
	}
	// Ordinary temp objects stay writable, and renamable.
	if _, err := eng.ExecContext(context.Background(), "CREATE TEMP TABLE notes(x); INSERT INTO notes VALUES (1); ALTER TABLE notes RENAME TO n2; DROP TABLE n2"); err != nil {
		t.Errorf("temp table: %v", err)
	}
}

func TestDeclarationsAreComplete(t *testing.T) {
	for _, d := range Tables() {
		s := d.Schema()
		if err := s.validate(); err != nil {
			t.Error(err)
		}
	}
}

func itoa(x int64) string   { return strconv.FormatInt(x, 10) }
func ftoa(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

// partialReader answers like sockdiag on a kernel without raw_diag.
type partialReader struct{}

func (partialReader) Sockets(context.Context, sock.Request) ([]sock.Socket, error) {
	return []sock.Socket{tcp4("127.0.0.1:1", "0.0.0.0:0", sock.StateListen, 1)},
		&sockdiag.UnavailableError{Missing: []sock.Request{{Families: []uint8{unix.AF_INET}, Protocols: []sock.Proto{sock.RAW}}}, Names: []string{"raw"}, Err: unix.ENOENT}
}

// refusingReader answers like sockdiag where netlink is refused.
type refusingReader struct{}

func (refusingReader) Sockets(context.Context, sock.Request) ([]sock.Socket, error) {
	return nil, fmt.Errorf("sockdiag: socket: %w", sockdiag.ErrUnavailable)
}

func TestFallbackMergesMissingDumpsAndNotifiesOnRefusal(t *testing.T) {
	raw := sock.Socket{Family: unix.AF_INET, Protocol: sock.RAW, State: sock.StateClose, Inode: 2}
	fake := &fakeSockets{socks: []sock.Socket{raw}}
	var notices []string
	var kinds []NoticeKind
	src := &Source{notify: func(n Notice) { notices, kinds = append(notices, n.Msg), append(kinds, n.Kind) }}
	f := &fallbackReader{primary: partialReader{}, fallback: fake, src: src}
	got, err := f.Sockets(context.Background(), sock.Request{})
	if err != nil || len(got) != 2 || got[1].Inode != 2 {
		t.Fatalf("partial netlink + /proc raw = %+v, %v; want both sockets", got, err)
	}
	if len(notices) != 0 {
		t.Errorf("a missing raw_diag module is routine (ss is silent too), got notices %v", notices)
	}
	f = &fallbackReader{primary: refusingReader{}, fallback: fake, src: src}
	for i := 0; i < 3; i++ {
		if got, err := f.Sockets(context.Background(), sock.Request{}); err != nil || len(got) != 1 {
			t.Fatalf("refused netlink: %v %v", got, err)
		}
	}
	if len(notices) != 1 || !strings.Contains(notices[0], "reading /proc/net instead") || kinds[0] != NoticeFallback {
		t.Errorf("notices = %q (kinds %v), want exactly one fallback notice", notices, kinds)
	}
}

// A cancelled context given to one statement must not leak into the next
// statement run through DB() directly.
func TestContextDoesNotOutliveItsStatement(t *testing.T) {
	eng, _ := openFake(t)
	ctx, cancel := context.WithCancel(context.Background())
	query(t, eng, "SELECT count(*) FROM sockets") // warm up
	rows, err := eng.QueryContext(ctx, "SELECT count(*) FROM sockets")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
	}
	rows.Close()
	cancel()
	var n int
	if err := eng.DB().QueryRow("SELECT count(*) FROM sockets").Scan(&n); err != nil || n != len(cannedSockets) {
		t.Fatalf("statement after a cancelled one: n=%d err=%v", n, err)
	}
}

func TestPortAndAddressPushdown(t *testing.T) {
	eng, fake := openFake(t)
	got := query(t, eng, "SELECT inode FROM sockets WHERE local_port BETWEEN 8000 AND 9000 AND remote_address = '127.0.0.1' ORDER BY inode")
	if !reflect.DeepEqual(got, []string{"101", "102"}) {
		t.Fatalf("rows = %v", got)
	}
	r := fake.requests()[0]
	if !reflect.DeepEqual(r.Filter.LocalPorts, []sock.PortRange{{Min: 8000, Max: 9000}}) ||
		!reflect.DeepEqual(r.Filter.RemoteAddrs, []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}) {
		t.Errorf("filter = %+v, want local ports 8000-9000 and remote 127.0.0.1/32", r.Filter)
	}
	for _, q := range []string{
		"SELECT * FROM sockets WHERE local_port = 'http'",
		"SELECT * FROM sockets WHERE local_port > 70000",
		"SELECT * FROM sockets WHERE remote_address = 'not an address'",
	} {
		before := len(fake.requests())
		if got := query(t, eng, q); len(got) != 0 {
			t.Errorf("%s matched %v", q, got)
		}
		if n := len(fake.requests()) - before; n != 0 {
			t.Errorf("%s: %d kernel reads for an impossible filter", q, n)
		}
	}
	// '8080' is text but SQLite compares it with the INTEGER column as a number.
	if got := query(t, eng, "SELECT count(*) FROM sockets WHERE local_port = '8080'"); !reflect.DeepEqual(got, []string{"3"}) {
		t.Errorf("text port = %v, want 3", got)
	}
}

func TestExtrasOnlyWhenUsed(t *testing.T) {
	eng, fake := openFake(t)
	query(t, eng, "SELECT state, recv_q FROM sockets")
	query(t, eng, "SELECT cwnd, congestion FROM sockets")
	reqs := fake.requests()
	if reqs[0].Extras != 0 {
		t.Errorf("plain query asked for extras %b", reqs[0].Extras)
	}
	if want := sock.ExtraTCPInfo | sock.ExtraCongestion; reqs[1].Extras != want {
		t.Errorf("extras = %b, want %b", reqs[1].Extras, want)
	}
	// The canned sockets carry no extras: the columns are NULL, not zero.
	if got := query(t, eng, "SELECT DISTINCT cwnd, rtt_ms, congestion FROM sockets"); !reflect.DeepEqual(got, []string{"NULL|NULL|NULL"}) {
		t.Errorf("extras without data = %v", got)
	}
}

func TestSingleStatement(t *testing.T) {
	for q, want := range map[string]bool{
		"SELECT 1":              true,
		"SELECT 1;":             true,
		"SELECT 1; -- done\n":   true,
		"SELECT 1; /* done */ ": true,
		"SELECT ';' AS x":       true,
		`SELECT "a;b" FROM [c;d] WHERE 'it''s;' = x`:             true,
		"SELECT 1 -- ; SELECT 2\n":                               true,
		"SELECT 1; SELECT 2":                                     false,
		"SELECT 1;SELECT 2;":                                     false,
		"SELECT 'unterminated; SELECT 2":                         false,
		"CREATE TRIGGER t AFTER INSERT ON x BEGIN SELECT 1; END": false,
	} {
		if got := singleStatement(q); got != want {
			t.Errorf("singleStatement(%q) = %v, want %v", q, got, want)
		}
	}
}

// The engine explains a statement to learn its collations: the statements
// of a multi-statement string must still run once each.
func TestStatementsRunOnce(t *testing.T) {
	eng, _ := openFake(t)
	ctx := context.Background()
	if _, err := eng.ExecContext(ctx, "CREATE TEMP TABLE z(x)"); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.ExecContext(ctx, "SELECT 1; INSERT INTO z VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	if got := query(t, eng, "SELECT count(*) FROM z"); got[0] != "1" {
		t.Errorf("the INSERT ran %s times", got[0])
	}
}

// A case slip in a closed-set word is an error under BINARY only: where
// the statement compares under NOCASE or RTRIM, however it got there
// (COLLATE, a view's column, a table's declared collation), it matches.
func TestClosedSetFollowsCollation(t *testing.T) {
	eng, _ := openFake(t)
	ctx := context.Background()
	for _, q := range []string{
		"CREATE TEMP VIEW v AS SELECT state COLLATE NOCASE AS s FROM sockets",
		"CREATE TEMP TABLE w(s TEXT COLLATE NOCASE)",
		"INSERT INTO w VALUES ('listen')",
	} {
		if _, err := eng.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	for q, want := range map[string]string{
		"SELECT count(*) FROM sockets WHERE state = 'listen' COLLATE NOCASE":      "2",
		"SELECT count(*) FROM sockets WHERE state COLLATE NOCASE IN ('listen')":   "2",
		"SELECT count(*) FROM sockets WHERE state = 'LISTEN ' COLLATE RTRIM":      "2",
		"SELECT count(*) FROM v WHERE s = 'listen'":                               "2",
		"SELECT count(*) FROM w JOIN sockets ON w.s = sockets.state":              "2",
		"SELECT count(*) FROM sockets WHERE proto = 'TCP6' COLLATE NOCASE":        "1",
		"SELECT count(*) FROM sockets WHERE local_address = '::1' COLLATE NOCASE": "1",
	} {
		if got, err := tryQuery(eng, q); err != nil || got[0] != want {
			t.Errorf("%s = %v, %v; want %s", q, got, err, want)
		}
	}
	for _, q := range []string{
		"SELECT count(*) FROM sockets WHERE state = 'listen'",
		"SELECT count(*) FROM sockets WHERE state = 'listen' COLLATE BINARY",
		"SELECT count(*) FROM sockets WHERE state IN ('LISTEN', 'listen')",
	} {
		if err := queryErr(eng, q); err == nil || !strings.Contains(err.Error(), "did you mean 'LISTEN'?") {
			t.Errorf("%s: err = %v, want a hint at LISTEN", q, err)
		}
	}
}
