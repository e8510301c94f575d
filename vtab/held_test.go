package vtab

import (
	"context"
	"net"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestHeldStoresEveryKind: what Append and AddColumn store, Value gives
// back as it was given, for every kind of value and every mix of kinds
// in a column (NULLs first, a kind changing midway, a blob).
func TestHeldStoresEveryKind(t *testing.T) {
	cols := [][]any{
		{nil, nil, int64(3), int64(1 << 40), nil, int64(-1)},
		{1.5, nil, 2.5, 0.0, -1e300, nil},
		{"a", "b", "a", nil, "", "a"},
		{nil, nil, nil, nil, nil, nil},
		{int64(1), "one", nil, 1.5, []byte("x"), int64(2)},
		{nil, "t", []byte{}, nil, int64(7), "t"},
	}
	var decl []HeldColumn
	for i := range cols {
		decl = append(decl, HeldColumn{Name: "c" + strconv.Itoa(i), Type: Text})
	}
	h := NewHeld(decl, 2)
	for r := range cols[0] {
		row := make([]any, len(cols))
		for c := range cols {
			row[c] = cols[c][r]
		}
		h.Append(row)
	}
	added := []any{int64(9), nil, "z", 0.25, nil, int64(300)}
	h.AddColumn(HeldColumn{Name: "added", Type: Integer}, func(r int) any { return added[r] })
	cols = append(cols, added)
	if h.Len() != len(added) || len(h.Columns) != len(cols) {
		t.Fatalf("%d rows, %d columns; want %d, %d", h.Len(), len(h.Columns), len(added), len(cols))
	}
	for c := range cols {
		for r, want := range cols[c] {
			if got := h.Value(r, c); !reflect.DeepEqual(got, want) {
				t.Errorf("column %d row %d: %#v, want %#v", c, r, got, want)
			}
		}
	}
}

// TestHoldServesSQL: a held table answers SQL as a table with those
// rows would: types, NULLs, equalities under every collation and
// affinity (the index only narrows, SQLite decides), IN lists; holding
// again replaces the rows, or the table when the columns change.
func TestHoldServesSQL(t *testing.T) {
	ctx := context.Background()
	eng, _ := openFake(t)
	if _, err := eng.ExecContext(ctx, "ATTACH DATABASE ':memory:' AS s"); err != nil {
		t.Fatal(err)
	}
	cols := []HeldColumn{{Name: "state", Type: Text}, {Name: "port", Type: Integer}, {Name: "rate", Type: Real}}
	h := NewHeld(cols, 0)
	for _, r := range [][]any{
		{"ESTABLISHED", int64(80), 1.5},
		{"LISTEN", int64(80), nil},
		{"ESTABLISHED", int64(443), 0.0},
		{nil, nil, 2.0},
		{"established ", int64(5), 3.0},
	} {
		h.Append(r)
	}
	if err := eng.Hold(ctx, "s", "t", h); err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string][]string{
		"SELECT state, port, rate, typeof(port), typeof(rate) FROM s.t": {
			"ESTABLISHED|80|1.5|integer|real", "LISTEN|80|NULL|integer|null", "ESTABLISHED|443|0|integer|real",
			"NULL|NULL|2|null|real", "established |5|3|integer|real"},
		"SELECT rowid, port FROM s.t WHERE state = 'ESTABLISHED'":                         {"0|80", "2|443"},
		"SELECT port FROM s.t WHERE state = 'established'":                                nil,
		"SELECT port FROM s.t WHERE state = 'established' COLLATE NOCASE":                 {"80", "443"},
		"SELECT port FROM s.t WHERE state = 'ESTABLISHED' COLLATE RTRIM":                  {"80", "443"},
		"SELECT port FROM s.t WHERE state = 'established' COLLATE RTRIM":                  {"5"},
		"SELECT state FROM s.t WHERE port = '80'":                                         {"ESTABLISHED", "LISTEN"},
		"SELECT state FROM s.t WHERE port = 443.0":                                        {"ESTABLISHED"},
		"SELECT state FROM s.t WHERE port = 'http'":                                       nil,
		"SELECT port FROM s.t WHERE state IN ('LISTEN', 'ESTABLISHED') ORDER BY 1":        {"80", "80", "443"},
		"SELECT count(*) FROM s.t WHERE state = 'LISTEN' AND port = 80":                   {"1"},
		"SELECT count(*) FROM s.t a JOIN s.t b ON a.port = b.port":                        {"6"},
		"SELECT count(*) FROM s.t WHERE state IS NULL":                                    {"1"},
		"SELECT group_concat(port) FROM s.t WHERE rate = 2 OR state = 'LISTEN'":           {"80"},
		"SELECT state FROM s.t WHERE rate = 1.5 AND state = 'ESTABLISHED' COLLATE NOCASE": {"ESTABLISHED"},
	} {
		if got := query(t, eng, q); !slices.Equal(got, want) {
			t.Errorf("%s\n got %q\nwant %q", q, got, want)
		}
	}
	// The same columns: the rows are replaced in place.
	h2 := NewHeld(cols, 0)
	h2.Append([]any{"CLOSE_WAIT", int64(1), 1.0})
	if err := eng.Hold(ctx, "s", "t", h2); err != nil {
		t.Fatal(err)
	}
	if got := query(t, eng, "SELECT state, port FROM s.t WHERE state = 'CLOSE_WAIT'"); !slices.Equal(got, []string{"CLOSE_WAIT|1"}) {
		t.Errorf("after holding new rows: %q", got)
	}
	if got := query(t, eng, "SELECT count(*) FROM s.t"); !slices.Equal(got, []string{"1"}) {
		t.Errorf("after holding new rows: count %q", got)
	}
	// Other columns: the table is made again.
	h3 := NewHeld([]HeldColumn{{Name: "name", Type: Text}}, 0)
	if err := eng.Hold(ctx, "s", "t", h3); err != nil {
		t.Fatal(err)
	}
	if got := query(t, eng, "SELECT count(*) FROM s.t"); !slices.Equal(got, []string{"0"}) {
		t.Errorf("an empty held table: count %q", got)
	}
	if _, err := tryQuery(eng, "SELECT state FROM s.t"); err == nil || !strings.Contains(err.Error(), "no such column: state") {
		t.Errorf("a column the held table no longer has: %v", err)
	}
	if err := eng.Hold(ctx, "s", "u", &Held{}); err == nil {
		t.Error("holding a table without columns: no error")
	}
}

// TestScanMatchesSelect: Scan gives, for every table of the fixture
// host, the rows `SELECT cols FROM table` gives, every column included,
// and reads nothing for a table, column or namespace that is not there.
func TestScanMatchesSelect(t *testing.T) {
	ctx := context.Background()
	eng, _ := openFixture(t)
	checked := 0
	for _, sc := range eng.Schemas() {
		var cols []string
		for _, c := range sc.Columns {
			cols = append(cols, c.Name)
		}
		quoted := make([]string, len(cols))
		for i, c := range cols {
			quoted[i] = quoteIdent(c)
		}
		want, qerr := tryQuery(eng, "SELECT "+strings.Join(quoted, ", ")+" FROM temp."+quoteIdent(sc.Name))
		var got []string
		serr := eng.Scan(ctx, sc.Name, cols, "", func(row []any) error {
			parts := make([]string, len(row))
			for i, v := range row {
				parts[i] = "NULL"
				if v != nil {
					parts[i] = fmtAny(v)
				}
			}
			got = append(got, strings.Join(parts, "|"))
			return nil
		})
		if (qerr == nil) != (serr == nil) {
			t.Errorf("%s: SELECT error %v, Scan error %v", sc.Name, qerr, serr)
			continue
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: Scan gives\n  %s\nSELECT gives\n  %s", sc.Name, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
		}
		if len(want) > 0 {
			checked++
		}
	}
	if checked < 10 {
		t.Errorf("only %d tables have rows on the fixture host: the test proves little", checked)
	}
	none := func([]any) error { t.Error("a row from a scan that should fail"); return nil }
	for _, c := range []struct{ table, col, ns, want string }{
		{"nosuch", "x", "", "no such table: nosuch"},
		{"sockets", "nosuch", "", "no such column: nosuch"},
		{"services", "name", "*", "has no namespaces"},
		{"sockets", "state", "other", "netns_name needs the live kernel"},
	} {
		if err := eng.Scan(ctx, c.table, []string{c.col}, c.ns, none); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Scan(%s, %s, %q): %v, want an error saying %q", c.table, c.col, c.ns, err, c.want)
		}
	}
}

// TestScanLive: on the live kernel, Scan finds a socket the test opened,
// with its owner, in netsql's own namespace and under '*'.
func TestScanLive(t *testing.T) {
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("cannot listen on loopback: %v", err)
	}
	defer ln.Close()
	port := int64(ln.Addr().(*net.TCPAddr).Port)
	eng, err := Open(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	for _, ns := range []string{"", "*"} {
		q := "SELECT netns_name, netns FROM sockets WHERE local_port = ? AND state = 'LISTEN'"
		if ns != "" {
			q += " AND netns_name = '*'"
		}
		want := query(t, eng, q, port)
		if len(want) != 1 {
			t.Fatalf("%s: %q", q, want)
		}
		found := 0
		err := eng.Scan(ctx, "sockets", []string{"local_port", "state", "pid", "netns_name", "netns"}, ns, func(row []any) error {
			if row[0] == port && row[1] == "LISTEN" {
				found++
				if pid, ok := row[2].(int64); !ok || int(pid) != os.Getpid() {
					t.Errorf("netns %q: the listener's pid is %v", ns, row[2])
				}
				got := fmtAny(row[3]) + "|" + fmtAny(row[4])
				if row[3] == nil {
					got = "NULL|" + fmtAny(row[4])
				}
				if got != want[0] {
					t.Errorf("netns %q: the listener's netns_name|netns is %s, SELECT says %s", ns, got, want[0])
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("netns %q: %v", ns, err)
		}
		if found != 1 {
			t.Errorf("netns %q: the test's listener found %d times", ns, found)
		}
	}
}

// TestHeldOrdersRows: a held table returns rows in the order ORDER BY
// and GROUP BY ask of it (so SQLite needs no sorter: no temporary
// b-tree in the plan), and every ordered query answers as it does over
// a plain table with the same rows: NULLs first, numbers, text by
// bytes, blobs; descending; several terms; a column mixing kinds; an
// IN list; a COLLATE SQLite orders itself.
func TestHeldOrdersRows(t *testing.T) {
	ctx := context.Background()
	eng, _ := openFake(t)
	if _, err := eng.ExecContext(ctx, "ATTACH DATABASE ':memory:' AS s"); err != nil {
		t.Fatal(err)
	}
	h := NewHeld([]HeldColumn{{Name: "state", Type: Text}, {Name: "port", Type: Integer}, {Name: "rate", Type: Real}, {Name: "mixed", Type: Text}}, 0)
	for _, r := range [][]any{
		{"LISTEN", int64(80), 1.5, "b"},
		{"ESTABLISHED", int64(-3), nil, int64(2)},
		{nil, int64(80), 0.5, nil},
		{"CLOSE_WAIT", nil, 2.5, 1.5},
		{"ESTABLISHED", int64(443), -1.0, []byte("a")},
		{"established", int64(80), 1.5, "a"},
		{"LISTEN", int64(7), nil, int64(-9)},
	} {
		h.Append(r)
	}
	if err := eng.Hold(ctx, "s", "t", h); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.ExecContext(ctx, "CREATE TABLE s.plain AS SELECT * FROM s.t"); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"SELECT rowid, * FROM T ORDER BY state",
		"SELECT rowid, * FROM T ORDER BY state DESC",
		"SELECT rowid, * FROM T ORDER BY port",
		"SELECT rowid, * FROM T ORDER BY port DESC, state",
		"SELECT rowid, * FROM T ORDER BY rate, port DESC",
		"SELECT rowid, * FROM T ORDER BY mixed",
		"SELECT rowid, * FROM T ORDER BY mixed DESC",
		"SELECT rowid, * FROM T ORDER BY state COLLATE NOCASE, rowid",
		"SELECT rowid, * FROM T WHERE state IN ('LISTEN', 'ESTABLISHED') ORDER BY port",
		"SELECT rowid, * FROM T WHERE state = 'LISTEN' ORDER BY port DESC",
		"SELECT state, count(*), sum(port) FROM T GROUP BY state",
		"SELECT port, state, count(*) FROM T GROUP BY port, state",
		"SELECT mixed, count(*) FROM T GROUP BY mixed",
		"SELECT state, count(*) FROM T GROUP BY state ORDER BY count(*) DESC, state",
	} {
		got := query(t, eng, strings.ReplaceAll(q, "FROM T", "FROM s.t"))
		want := query(t, eng, strings.ReplaceAll(strings.ReplaceAll(q, "FROM T", "FROM s.plain"), "rowid", "rowid - 1"))
		if !slices.Equal(got, want) {
			t.Errorf("%s\n got  %q\n want %q (a plain table)", q, got, want)
		}
	}
	for _, q := range []string{"SELECT state, count(*) FROM s.t GROUP BY state", "SELECT * FROM s.t ORDER BY port DESC, rate"} {
		plan := strings.Join(query(t, eng, "EXPLAIN QUERY PLAN "+q), "\n")
		if strings.Contains(plan, "TEMP B-TREE") {
			t.Errorf("%s sorts the held rows again:\n%s", q, plan)
		}
	}
}

// TestHeldPlansByRows: the planner weighs a held table's plans by the
// rows each reads: reading every row in the order a GROUP BY needs
// beats looking up the values of an IN list on a column of few values
// and sorting what they return; a lookup on a column of many values is
// still taken.
func TestHeldPlansByRows(t *testing.T) {
	ctx := context.Background()
	eng, _ := openFake(t)
	if _, err := eng.ExecContext(ctx, "ATTACH DATABASE ':memory:' AS s"); err != nil {
		t.Fatal(err)
	}
	h := NewHeld([]HeldColumn{{Name: "family", Type: Text}, {Name: "program", Type: Text}, {Name: "remote", Type: Text}}, 0)
	families := []string{"inet", "inet6", "unix"}
	for i := range 3000 {
		h.Append([]any{families[i%3], "p" + strconv.Itoa(i%7), "10.0." + strconv.Itoa(i/250) + "." + strconv.Itoa(i%250)})
	}
	if err := eng.Hold(ctx, "s", "t", h); err != nil {
		t.Fatal(err)
	}
	plan := func(q string) string {
		return strings.Join(query(t, eng, "EXPLAIN QUERY PLAN "+q), "\n")
	}
	q := "SELECT program, count(*) FROM s.t WHERE family IN ('inet', 'inet6') GROUP BY program"
	if p := plan(q); strings.Contains(p, "TEMP B-TREE") {
		t.Errorf("%s sorts:\n%s", q, p)
	}
	if got := query(t, eng, q); len(got) != 7 || got[0] != "p0|286" {
		t.Errorf("%s: %q", q, got)
	}
	q = "SELECT family FROM s.t WHERE remote = '10.0.3.7' ORDER BY program"
	if p := plan(q); !strings.Contains(p, heldModule+";2;") {
		t.Errorf("%s does not look the remote up:\n%s", q, p)
	}
}
