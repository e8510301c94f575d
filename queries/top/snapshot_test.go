package top

import (
	"context"
	"errors"
	"io"
	"math"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/netsql/netsql/queries"
	"github.com/netsql/netsql/queries/result"
	"github.com/netsql/netsql/vtab"
	"github.com/netsql/netsql/vtab/sock"
)

// countingReader counts the socket dumps the engine asks for.
type countingReader struct {
	inner sock.Reader
	mu    sync.Mutex
	n     int
	fail  error // returned instead of reading, when set
}

func (c *countingReader) Sockets(ctx context.Context, req sock.Request) ([]sock.Socket, error) {
	c.mu.Lock()
	c.n++
	fail := c.fail
	c.mu.Unlock()
	if fail != nil {
		return nil, fail
	}
	return c.inner.Sockets(ctx, req)
}

func (c *countingReader) setFail(err error) {
	c.mu.Lock()
	c.fail = err
	c.mu.Unlock()
}

func (c *countingReader) take() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n
	c.n = 0
	return n
}

// liveEngine opens an engine on the live kernel whose socket reads are
// counted.
func liveEngine(t *testing.T) (*vtab.Engine, *countingReader) {
	t.Helper()
	src, err := vtab.NewSource("", nil)
	if err != nil {
		t.Fatal(err)
	}
	cr := &countingReader{inner: src.Sockets}
	src.Sockets = cr
	eng, err := vtab.Open(vtab.Options{Source: src})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	return eng, cr
}

// TestRefreshReadsKernelOnce checks that one refresh reads the sockets
// table as often as one plain SELECT of the columns panels use does,
// however many panels (here every built-in one) read the snapshot.
func TestRefreshReadsKernelOnce(t *testing.T) {
	ctx := context.Background()
	eng, cr := liveEngine(t)
	panels := builtinPanels(t)
	readers := 0
	for _, p := range panels {
		if p.Show != "drill" && wordRE.MatchString(p.Query.SQL) && sqlWords(p.Query.SQL)["sockets"] {
			readers++
		}
	}
	if readers < 4 {
		t.Fatalf("only %d panels read snap.sockets: the test proves nothing", readers)
	}
	s, err := NewSnapshotter(ctx, eng, panels, false)
	if err != nil {
		t.Fatal(err)
	}
	var cols []string
	for _, pl := range s.plans {
		if pl.table == "sockets" {
			cols = pl.cols
		}
	}
	if len(cols) < 10 {
		t.Fatalf("the snapshot copies only %v of sockets", cols)
	}
	if _, err := result.Run(ctx, eng, "SELECT "+strings.Join(cols, ", ")+" FROM sockets", nil); err != nil {
		t.Fatal(err)
	}
	one := cr.take()
	if one == 0 {
		t.Fatal("a SELECT of sockets read no sockets")
	}
	for i := 0; i < 3; i++ { // the first refresh, then ones comparing with the last
		snap, err := s.Refresh(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(snap.Errs) > 0 {
			t.Fatalf("panel errors: %v", snap.Errs)
		}
		if n := cr.take(); n != one {
			t.Errorf("refresh %d read sockets %d times; one SELECT of the table reads %d", i+1, n, one)
		}
	}
}

// TestSocketRatesLive sends known byte counts over loopback between two
// refreshes and finds them in the per-socket rates, the programs panel
// and the drill-down: a connection alive at both refreshes counts its
// change, one opened in between counts from zero.
func TestSocketRatesLive(t *testing.T) {
	ctx := context.Background()
	eng, _ := liveEngine(t)
	s, err := NewSnapshotter(ctx, eng, builtinPanels(t), false)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dial := func() (client, server net.Conn) {
		c, err := net.Dial("tcp4", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		sv, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close(); sv.Close() })
		return c, sv
	}
	send := func(from, to net.Conn, n int) {
		go func() { from.Write(make([]byte, n)) }()
		if _, err := io.ReadFull(to, make([]byte, n)); err != nil {
			t.Fatal(err)
		}
	}
	c1, s1 := dial()
	send(c1, s1, 1000) // before the first refresh: must not count
	first, err := s.Refresh(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const n1, n2 = 300000, 70000
	send(c1, s1, n1)
	c2, s2 := dial()
	send(c2, s2, n2)
	second, err := s.Refresh(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dt := second.Time.Sub(first.Time).Seconds()
	bytes := func(conn net.Conn, col string) float64 {
		t.Helper()
		port := conn.LocalAddr().(*net.TCPAddr).Port
		set, err := result.Run(ctx, eng, "SELECT "+col+" FROM snap.sockets WHERE local_port = :p AND state = 'ESTABLISHED' AND local_address = '127.0.0.1' AND remote_port = :r",
			map[string]string{"p": itoa(port), "r": itoa(conn.RemoteAddr().(*net.TCPAddr).Port)})
		if err != nil {
			t.Fatal(err)
		}
		if len(set.Rows) != 1 {
			t.Fatalf("%d rows for port %d", len(set.Rows), port)
		}
		f, ok := number(set.Rows[0][0])
		if !ok {
			t.Fatalf("%s of port %d is %v", col, port, set.Rows[0][0])
		}
		return f * dt
	}
	near := func(got, want float64) bool { return math.Abs(got-want) < 1e-6*want+1e-6 }
	if got := bytes(s1, "bytes_received_per_s"); !near(got, n1) {
		t.Errorf("server of the old connection received %.1f bytes between refreshes, want %d", got, n1)
	}
	if got := bytes(s2, "bytes_received_per_s"); !near(got, n2) {
		t.Errorf("server of the new connection received %.1f bytes, want %d (from zero)", got, n2)
	}
	if got := bytes(c1, "bytes_sent_per_s"); got < n1 {
		t.Errorf("client of the old connection sent %.1f bytes, want at least %d", got, n1)
	}
	// The programs panel sums the per-socket rates of this process.
	prog := filepath.Base(os.Args[0])
	set := second.Sets["top-programs"]
	row := -1
	for i, r := range set.Rows {
		if r[set.Index("program")] == prog {
			row = i
		}
	}
	if row < 0 {
		t.Fatalf("no row for program %s in %v", prog, set.Rows)
	}
	if in, _ := number(set.Rows[row][set.Index("in_bps")]); !near(in*dt, n1+n2) {
		t.Errorf("programs panel: %s received %.1f bytes, want %d", prog, in*dt, n1+n2)
	}
	// The drill-down lists this program's sockets, ours among them.
	var drill *Panel
	for _, p := range s.panels {
		if p.Name() == "top-program-sockets" {
			drill = p
		}
	}
	ds, err := s.Drill(ctx, drill, map[string]string{"program": prog})
	if err != nil {
		t.Fatal(err)
	}
	ports := map[any]bool{}
	for _, r := range ds.Rows {
		ports[r[ds.Index("local_port")]] = true
	}
	for _, c := range []net.Conn{c1, c2, s1} {
		if p := int64(c.LocalAddr().(*net.TCPAddr).Port); !ports[p] {
			t.Errorf("drill-down into %s lacks local port %d: %v", prog, p, ds.Rows)
		}
	}
}

func itoa(n int) string { return fmtInt(int64(n)) }

func fmtInt(n int64) string { return cellText(n) }

// TestRefreshRecoversFromFailedRead: a refresh whose socket read fails
// (after the previous copy was set aside for the rate join) reports the
// error, and the next refresh works again, starting rates afresh.
func TestRefreshRecoversFromFailedRead(t *testing.T) {
	ctx := context.Background()
	eng, cr := liveEngine(t)
	s, err := NewSnapshotter(ctx, eng, builtinPanels(t), false)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if _, err := s.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
	}
	cr.setFail(errors.New("netlink went away"))
	if _, err := s.Refresh(ctx); err == nil || !strings.Contains(err.Error(), "netlink went away") {
		t.Fatalf("a failed socket read: refresh error %v", err)
	}
	cr.setFail(nil)
	for i := 0; i < 2; i++ {
		snap, err := s.Refresh(ctx)
		if err != nil {
			t.Fatalf("refresh %d after the failure: %v", i+1, err)
		}
		if len(snap.Errs) > 0 {
			t.Fatalf("refresh %d after the failure: %v", i+1, snap.Errs)
		}
	}
}

// TestPlanSkipsAliases: a name an AS gives (a result column, a table
// alias, a CAST type) is not a column the snapshot must copy, even when
// a live column has that name; the same word read elsewhere in the
// query still is.
func TestPlanSkipsAliases(t *testing.T) {
	eng, _ := liveEngine(t)
	panel := func(name, text string) *Panel {
		return &Panel{Query: queries.Query{Name: name, SQL: text}, Panel: queries.Panel{Show: "tab"}}
	}
	cols := func(panels ...*Panel) map[string]bool {
		got := map[string]bool{}
		for _, pl := range planTables(eng.Schemas(), panels) {
			if pl.table == "sockets" {
				for _, c := range pl.cols {
					got[c] = true
				}
			}
		}
		return got
	}
	aliased := panel("a", `SELECT total_retrans AS retrans, program AS "state", CAST(recv_q AS fd) AS rtt_ms
FROM snap.sockets AS cwnd`)
	got := cols(aliased)
	for _, c := range []string{"total_retrans", "program", "recv_q"} {
		if !got[c] {
			t.Errorf("column %s is read but not copied: %v", c, got)
		}
	}
	for _, c := range []string{"retrans", "state", "fd", "rtt_ms", "cwnd"} {
		if got[c] {
			t.Errorf("%s is only a name AS gives, yet the column is copied: %v", c, got)
		}
	}
	if got := cols(aliased, panel("b", "SELECT count(*) FROM snap.sockets WHERE retrans > 0")); !got["retrans"] {
		t.Errorf("retrans is read by another panel's WHERE but not copied: %v", got)
	}
	// The built-in drill-downs show total_retrans AS retrans.
	if got := cols(builtinPanels(t)...); got["retrans"] || !got["total_retrans"] {
		t.Errorf("built-in panels copy %v: want total_retrans, not retrans", got)
	}
}

// TestRateCasesOnTable rates a keyed table with one counter over two
// fixed reads and checks every case of a per-row rate: a rise, no
// change, a fall (NULL), a row new since (from zero, or NULL when the
// table does not count from zero), a keyless row, a NULL counter on
// either side, a key two previous rows had (NULL: which one is it?),
// and keys matched by value as SQL's = does (1 = 1.0, text apart from
// numbers); then a read with no time elapsed (NULL).
func TestRateCasesOnTable(t *testing.T) {
	for _, fromZero := range []bool{true, false} {
		pl := &plan{table: "t", cols: []string{"name", "k", "x"}, types: []string{vtab.Text, vtab.Integer, vtab.Integer}, rates: []string{"x"},
			rate: &tableRate{Table: "t", Key: "k", Counters: []string{"x"}, NewFromZero: fromZero}}
		read := func(rows [][]any, dt float64) map[string]any {
			t.Helper()
			h := vtab.NewHeld([]vtab.HeldColumn{{Name: "name", Type: vtab.Text}, {Name: "k", Type: vtab.Integer}, {Name: "x", Type: vtab.Integer}}, 0)
			for _, r := range rows {
				h.Append(r)
			}
			pl.addRates(h, dt)
			if len(h.Columns) != 4 || h.Columns[3].Name != "x_per_s" {
				t.Fatalf("rates: columns %v", h.Columns)
			}
			got := map[string]any{}
			for r := range h.Len() {
				got[rows[r][0].(string)] = h.Value(r, 3)
			}
			return got
		}
		first := read([][]any{{"rise", int64(1), int64(100)}, {"same", int64(2), int64(50)}, {"fall", int64(3), int64(80)},
			{"gone", int64(4), int64(1)}, {"nullnow", int64(5), int64(7)}, {"nullbefore", int64(6), nil}, {"keyless", nil, int64(1)},
			{"dup", int64(8), int64(1)}, {"dup2", int64(8), int64(2)}, {"real", float64(9), int64(3)}, {"text", "10", int64(4)}}, 2)
		for name, v := range first {
			if v != nil {
				t.Errorf("from zero %v: first read: row %s has rate %v, want NULL", fromZero, name, v)
			}
		}
		fresh := any(5.0)
		if !fromZero {
			fresh = nil
		}
		got := read([][]any{{"rise", int64(1), int64(130)}, {"same", int64(2), int64(50)}, {"fall", int64(3), int64(20)},
			{"new", int64(7), int64(10)}, {"nullnow", int64(5), nil}, {"nullbefore", int64(6), int64(9)}, {"keyless", nil, int64(5)},
			{"dup", int64(8), int64(5)}, {"real", int64(9), int64(7)}, {"text", int64(10), int64(8)}}, 2)
		want := map[string]any{"rise": 15.0, "same": 0.0, "fall": nil, "new": fresh, "nullnow": nil, "nullbefore": nil, "keyless": nil,
			"dup": nil, "real": 2.0, "text": nil}
		if fromZero {
			want["text"] = 4.0 // key 10 is new: the text '10' equals no number
		}
		for name, w := range want {
			if got[name] != w {
				t.Errorf("from zero %v: row %s: rate %v, want %v", fromZero, name, got[name], w)
			}
		}
		if got := read([][]any{{"rise", int64(1), int64(140)}}, 0); got["rise"] != nil {
			t.Errorf("from zero %v: no time elapsed, yet rate %v", fromZero, got["rise"])
		}
	}
}

// TestRateCountersAreIntegers: a counter is a count (a fall is a
// reset, NULL), an integer; every
// declared counter must be an INTEGER column of its live table (one
// that is not gets no rate column).
func TestRateCountersAreIntegers(t *testing.T) {
	eng, _ := liveEngine(t)
	for _, r := range tableRates {
		found := false
		for _, sc := range eng.Schemas() {
			if sc.Name != r.Table {
				continue
			}
			found = true
			for _, c := range r.Counters {
				if !integerColumn(sc, c) {
					t.Errorf("%s.%s is declared a counter but is not an INTEGER column", r.Table, c)
				}
			}
		}
		if !found {
			t.Errorf("tableRates names table %s, which does not exist", r.Table)
		}
	}
}

// TestRefreshHoldsTheSnapshot: a refresh copies nothing into SQLite.
// Each snap.TABLE the panels read is a virtual table serving the rows
// the refresh read (vtab.Held), and the snapshot schema holds nothing
// else: no table made by CREATE TABLE ... AS, no previous copy, no
// index on it.
func TestRefreshHoldsTheSnapshot(t *testing.T) {
	ctx := context.Background()
	eng, _ := liveEngine(t)
	s, err := NewSnapshotter(ctx, eng, builtinPanels(t), false)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, pl := range s.plans {
		want[pl.table] = true
	}
	if !want["sockets"] || !want["interfaces"] {
		t.Fatalf("the built-in panels read %v: the test proves little", want)
	}
	for i := 0; i < 2; i++ {
		if _, err := s.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		set, err := result.Run(ctx, eng, "SELECT type, name, sql FROM "+Schema+".sqlite_master ORDER BY name", nil)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, r := range set.Rows {
			name, sqlText := cellText(r[1]), cellText(r[2])
			got[name] = true
			if cellText(r[0]) != "table" || !strings.HasPrefix(sqlText, "CREATE VIRTUAL TABLE") {
				t.Errorf("refresh %d: %s.%s is a %s: %s", i+1, Schema, name, cellText(r[0]), sqlText)
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("refresh %d: the snapshot schema holds %v, want the tables panels read, %v", i+1, got, want)
		}
	}
}

// TestHeaderReadsEachSocketOnce: the header's count of TCP sockets per
// state reads a socket's state a couple of times, not once per state
// it counts (each read is a call into the held table, at 80k sockets
// 80k calls), and needs no sorter for its GROUP BY; it still counts
// what a plain GROUP BY counts.
func TestHeaderReadsEachSocketOnce(t *testing.T) {
	ctx := context.Background()
	eng, _ := liveEngine(t)
	panels := builtinPanels(t)
	var header *Panel
	for _, p := range panels {
		if p.Name() == "top-sockets" {
			header = p
		}
	}
	if header == nil {
		t.Fatal("no top-sockets panel")
	}
	s, err := NewSnapshotter(ctx, eng, panels, false)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("cannot listen on loopback: %v", err)
	}
	defer ln.Close()
	snap, err := s.Refresh(ctx)
	if err != nil {
		t.Fatal(err)
	}
	set, err := result.Run(ctx, eng, "EXPLAIN "+header.Query.SQL, nil)
	if err != nil {
		t.Fatal(err)
	}
	vcolumns := 0
	for _, r := range set.Rows {
		switch cellText(r[1]) {
		case "VColumn":
			vcolumns++
		case "SorterOpen", "OpenEphemeral":
			t.Errorf("the header sorts the sockets: %v", r)
		}
	}
	if vcolumns > 3 {
		t.Errorf("the header reads %d columns of each socket, want at most 3 (protocol, state for its group, state's value)", vcolumns)
	}
	counts, err := result.Run(ctx, eng, "SELECT lower(state), count(*) FROM snap.sockets WHERE protocol = 'tcp' GROUP BY state", nil)
	if err != nil {
		t.Fatal(err)
	}
	row := snap.Sets["top-sockets"]
	if row == nil || len(row.Rows) != 1 {
		t.Fatalf("header: %v", row)
	}
	for _, c := range counts.Rows {
		if i := row.Index(cellText(c[0])); i >= 0 && cellText(row.Rows[0][i]) != cellText(c[1]) {
			t.Errorf("header: %s %v, a GROUP BY counts %v", cellText(c[0]), row.Rows[0][i], c[1])
		}
	}
	if i := row.Index("listen"); i < 0 || cellText(row.Rows[0][i]) == "0" {
		t.Errorf("header: the test's listener is not counted: %v", row.Rows[0])
	}
}

// TestPanelsSortNoSocket: no built-in panel sorts the snapshot's
// sockets for a GROUP BY (at 80k sockets a sort of 80k records, often
// spilled to temp files): the held table returns them in the order the
// GROUP BY needs, and a panel grouping by an expression groups by the
// column first. Sorting the groups after is cheap and allowed.
func TestPanelsSortNoSocket(t *testing.T) {
	ctx := context.Background()
	eng, _ := liveEngine(t)
	panels := builtinPanels(t)
	s, err := NewSnapshotter(ctx, eng, panels, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	grouped := 0
	for _, p := range panels {
		if p.Show == "drill" || !strings.Contains(p.Query.SQL, "snap.sockets") || !strings.Contains(p.Query.SQL, "GROUP BY") {
			continue
		}
		grouped++
		set, err := result.Run(ctx, eng, "EXPLAIN QUERY PLAN "+p.Query.SQL, nil)
		if err != nil {
			t.Fatal(err)
		}
		// Each row: id, parent, notused, detail. A sort for a GROUP BY
		// sorts the rows of the scan beside it (the same parent).
		scans, sorts := map[string]bool{}, map[string]bool{}
		var lines []string
		for _, r := range set.Rows {
			detail, parent := cellText(r[3]), cellText(r[1])
			lines = append(lines, cellText(r[0])+" "+parent+" "+detail)
			switch {
			case strings.HasPrefix(detail, "SCAN sockets"), strings.HasPrefix(detail, "SCAN snap.sockets"):
				scans[parent] = true
			case strings.Contains(detail, "TEMP B-TREE FOR GROUP BY"):
				sorts[parent] = true
			}
		}
		if len(scans) == 0 {
			t.Errorf("%s: no scan of the sockets in its plan:\n%s", p.Name(), strings.Join(lines, "\n"))
		}
		for parent := range scans {
			if sorts[parent] {
				t.Errorf("%s sorts every socket for its GROUP BY:\n%s", p.Name(), strings.Join(lines, "\n"))
			}
		}
	}
	if grouped < 3 {
		t.Errorf("only %d built-in panels group sockets: the test proves little", grouped)
	}
}
