package record

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netsql/netsql/queries"
	"github.com/netsql/netsql/vtab"
)

// TestTableNameInjective: names that used to share a table (a-b, a_b,
// a.b, "a b", A-b) get one each, names of record's own tables and indexes
// are never a query's, and built-in names keep the table they always had.
func TestTableNameInjective(t *testing.T) {
	keep := map[string]string{
		"sockets-by-state": "sockets_by_state", "sockets-by-program": "sockets_by_program",
		"listening": "listening", "interface-counters": "interface_counters", "grow": "grow", "q1": "q1",
	}
	for name, want := range keep {
		if got := TableName(name); got != want {
			t.Errorf("TableName(%q) = %q, want %q (as before)", name, got, want)
		}
	}
	names := []string{"a-b", "a_b", "a.b", "a b", "A-b", "a--b", "-a", "a-", "_a_2db", "a_2db",
		"netsql-snapshots", "netsql_snapshots", "NETSQL-SNAPSHOTS", "sqlite-master", "a-captured-at", "a",
		"é", "\xff", "a\x00b", ""}
	seen := map[string]string{}
	reserved := map[string]bool{}
	for _, n := range names {
		reserved[strings.ToLower(TableName(n)+indexSuffix)] = true
	}
	for _, n := range names {
		tn := strings.ToLower(TableName(n)) // SQLite compares names without case
		if prev, dup := seen[tn]; dup {
			t.Errorf("TableName(%q) = TableName(%q) = %q", n, prev, tn)
		}
		seen[tn] = n
		if tn == SnapshotsTable || strings.HasPrefix(tn, "sqlite_") || reserved[tn] {
			t.Errorf("TableName(%q) = %q: a name record or SQLite uses", n, tn)
		}
	}
}

// TestQueriesNeverShareTables records queries named a-b, a_b and
// netsql-snapshots into one file: each has its own table and the
// snapshots ledger keeps only ledger rows.
func TestQueriesNeverShareTables(t *testing.T) {
	eng, err := vtab.Open(vtab.Options{ProcRoot: "../../vtab/testdata/fixture/proc"})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	var qs []queries.Query
	for i, name := range []string{"a-b", "a_b", "netsql-snapshots"} {
		q, err := queries.Parse(name+".sql", "SELECT "+string(rune('1'+i))+" AS v;")
		if err != nil {
			t.Fatal(err)
		}
		qs = append(qs, q)
	}
	file := filepath.Join(t.TempDir(), "h.db")
	ctx := context.Background()
	r, err := Open(ctx, file, eng, qs, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Snapshot(ctx); err != nil {
		t.Fatal(err)
	}
	for i, q := range qs {
		var got []int
		rows, err := r.db.Query(`SELECT v FROM "` + TableName(q.Name) + `"`)
		if err != nil {
			t.Fatalf("%s: %v", q.Name, err)
		}
		for rows.Next() {
			var v int
			rows.Scan(&v)
			got = append(got, v)
		}
		rows.Close()
		if len(got) != 1 || got[0] != i+1 {
			t.Errorf("table of %s holds %v, want [%d]", q.Name, got, i+1)
		}
	}
	var cols, ledger int
	r.db.QueryRow("SELECT count(*) FROM pragma_table_info('netsql_snapshots')").Scan(&cols)
	r.db.QueryRow("SELECT count(*) FROM netsql_snapshots").Scan(&ledger)
	if cols != 5 || ledger != 3 {
		t.Errorf("netsql_snapshots has %d columns and %d rows, want 5 and 3", cols, ledger)
	}
}
