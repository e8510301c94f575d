// Package record keeps a history of canned queries' results in a regular
// SQLite database file, for trends: "CLOSE_WAIT per program per hour".
//
// Each snapshot runs every query on the live engine, then appends all
// their rows in one transaction, each row stamped with the snapshot's
// captured_at (UTC, "YYYY-MM-DD HH:MM:SS.ffffff", which SQLite's date
// functions read). A query's rows go to a table named after the query (see
// TableName: sockets-by-state -> sockets_by_state), created on first use
// and given new columns when the query grows. While recording, the file is
// in WAL mode with synchronous=FULL: a process killed mid-snapshot leaves
// the file with every earlier snapshot whole and none of the interrupted
// one. A finished record leaves it in rollback-journal mode, so that users
// who may not write it can read it.
//
// The netsql_snapshots table lists every snapshot: one row per query with
// its table, how many rows it stored, or the error that kept it from
// running.
package record

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
	"modernc.org/sqlite" // the plain "sqlite" driver: no netsql tables on it

	"github.com/netsql/netsql/queries"
	"github.com/netsql/netsql/queries/result"
	"github.com/netsql/netsql/queries/run"
	"github.com/netsql/netsql/vtab"
)

// TimeLayout is how captured_at is written.
const TimeLayout = "2006-01-02 15:04:05.000000"

// SnapshotsTable lists every snapshot taken.
const SnapshotsTable = "netsql_snapshots"

// Defaults are the queries recorded when none are named: socket counts by
// state and by program, the listening ports and the interface counters.
func Defaults() []string {
	return []string{"sockets-by-state", "sockets-by-program", "listening", "interface-counters"}
}

// TableName is the table a query's rows are stored in. Two queries never
// share a table, and no query writes into record's own tables:
//
//   - a name of lower-case letters and digits in words joined by single
//     "-" (every built-in query) keeps the table it always had, with "_"
//     for "-": sockets-by-state -> sockets_by_state;
//   - any other name, and one whose table would be netsql_snapshots, start
//     with sqlite_ or end with _captured_at (record's index on a table),
//     is escaped: "_" followed by the name with every byte but a-z and 0-9
//     written as "_" and two hex digits: a_b -> _a_5fb,
//     netsql-snapshots -> _netsql_2dsnapshots.
//
// A plain table name never starts with "_" and an escaped one always
// does; SQLite's case-insensitive names cannot merge two of them (both
// kinds are lower-case).
func TableName(query string) string {
	if plainName(query) {
		t := strings.ReplaceAll(query, "-", "_")
		if t != SnapshotsTable && !strings.HasPrefix(t, "sqlite_") && !strings.HasSuffix(t, indexSuffix) {
			return t
		}
	}
	var b strings.Builder
	b.WriteByte('_')
	for i := 0; i < len(query); i++ {
		c := query[i]
		if 'a' <= c && c <= 'z' || '0' <= c && c <= '9' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "_%02x", c)
	}
	return b.String()
}

// indexSuffix ends the name of the captured_at index record gives each
// table (tables and indexes share one namespace in SQLite).
const indexSuffix = "_captured_at"

// plainName reports whether name is words of a-z and 0-9 joined by single
// "-".
func plainName(name string) bool {
	if name == "" || name[0] == '-' || name[len(name)-1] == '-' || strings.Contains(name, "--") {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// Recorder appends snapshots of queries to a database file.
type Recorder struct {
	eng     *vtab.Engine
	db      *sql.DB
	path    string
	queries []queries.Query
	params  map[string]string
	// Timeout bounds each snapshot's queries and write (0: no bound).
	Timeout time.Duration
	// Keep, when positive, is how long snapshots are kept: each snapshot
	// also deletes, in its own transaction, the rows captured more than
	// Keep before it from every table the snapshots ledger names and from
	// the ledger. Other tables in the file are never touched.
	Keep time.Duration
	// now is the clock (tests may replace it).
	now  func() time.Time
	last string
}

// Open opens (or creates) the database file at path for recording qs run
// on eng, with params overriding the queries' defaults. It fails, leaving
// no file behind, when path cannot be created or is not a SQLite
// database.
func Open(ctx context.Context, path string, eng *vtab.Engine, qs []queries.Query, params map[string]string) (_ *Recorder, err error) {
	if len(qs) == 0 {
		return nil, errors.New("record: no queries")
	}
	if strings.ContainsAny(path, "?#") || path == "" || strings.HasPrefix(path, "file:") || path == ":memory:" {
		return nil, fmt.Errorf("record: %q: want a plain file path", path)
	}
	existed := true
	if fi, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		existed = false
		if di, err := os.Stat(filepath.Dir(path)); err != nil || !di.IsDir() {
			return nil, fmt.Errorf("record: cannot create %s: directory %s does not exist", path, filepath.Dir(path))
		}
	} else if err != nil {
		return nil, fmt.Errorf("record: %w", err)
	} else if fi.IsDir() {
		return nil, fmt.Errorf("record: cannot use %s: is a directory", path)
	} else if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("record: cannot use %s: not a regular file", path)
	}
	// SQLite opens a file it may not write read-only and only fails at
	// the first write, after creating -wal and -shm files beside it that
	// the file's owner then trips over: check first.
	if existed && unix.Access(path, unix.W_OK) != nil {
		return nil, fmt.Errorf("record: cannot write %s: permission denied", path)
	}
	if dir := filepath.Dir(path); unix.Access(dir, unix.W_OK) != nil {
		return nil, fmt.Errorf("record: cannot write %s: no permission to create files in %s (its journal goes there)", path, dir)
	}
	// Whatever this open creates goes again if it fails.
	var created []string
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		if _, err := os.Lstat(path + suffix); errors.Is(err, fs.ErrNotExist) {
			created = append(created, path+suffix)
		}
	}
	db, err := openFile(ctx, path)
	if err != nil {
		for _, f := range created {
			os.Remove(f)
		}
		return nil, fmt.Errorf("record: %s: %w", path, err)
	}
	return &Recorder{eng: eng, db: db, path: path, queries: qs, params: params, now: time.Now}, nil
}

// openFile opens path with one connection in WAL mode and creates the
// snapshots table.
//
// Other connections to the file (netsql --db FILE reading it) take its
// locks too: a reader that closes last checkpoints the WAL into the file
// under an exclusive lock. So the busy timeout is set when the connection
// opens, before any statement (even PRAGMA journal_mode needs a lock), and
// transactions begin IMMEDIATE: a deferred one that has read first and
// then finds the write lock taken fails at once with SQLITE_BUSY, without
// waiting. path has no '?' (Open checks), so the parameters are the
// driver's.
func openFile(ctx context.Context, path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", path+"?_busy_timeout=10000&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	var mode string
	err = db.QueryRowContext(ctx, "PRAGMA journal_mode=WAL").Scan(&mode)
	if err == nil && !strings.EqualFold(mode, "wal") {
		err = fmt.Errorf("cannot switch to WAL mode (journal_mode is %s)", mode)
	}
	for _, stmt := range []string{
		"PRAGMA synchronous=FULL",
		"CREATE TABLE IF NOT EXISTS " + SnapshotsTable + "(captured_at TEXT NOT NULL, query TEXT NOT NULL, " +
			"table_name TEXT, rows INTEGER, error TEXT, PRIMARY KEY (captured_at, query))",
	} {
		if err != nil {
			break
		}
		_, err = db.ExecContext(ctx, stmt)
	}
	if err != nil {
		db.Close()
		return nil, cleanError(err)
	}
	return db, nil
}

// Close closes the database file, leaving it in SQLite's rollback-journal
// mode when no one else has it open: a WAL file cannot be read by a user
// who may not write its -shm file (sqlite3 FILE as another user fails
// with "attempt to write a readonly database"). The next Open switches it
// back to WAL.
func (r *Recorder) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if conn, err := r.db.Conn(ctx); err == nil {
		// Needs the file to itself: with a reader attached the switch
		// waits for it at most a second, then the file stays in WAL.
		conn.ExecContext(ctx, "PRAGMA busy_timeout = 1000")
		conn.ExecContext(ctx, "PRAGMA journal_mode = DELETE")
		conn.Close()
	}
	return r.db.Close()
}

// Snapshot is what one snapshot stored.
type Snapshot struct {
	CapturedAt string
	// Rows is how many rows each query stored, by query name.
	Rows map[string]int
	// Failed are the queries that could not run; the others were stored.
	Failed []error
	// Pruned is how many rows older than Recorder.Keep it deleted.
	Pruned int64
}

// Snapshot runs every query and stores their rows in one transaction. err
// is set when nothing could be stored (the database refused the write);
// queries that failed are in Snapshot.Failed and the rest are stored.
func (r *Recorder) Snapshot(ctx context.Context) (Snapshot, error) {
	now := r.now().UTC()
	at := now.Format(TimeLayout)
	for at <= r.last { // two snapshots within a microsecond
		now = now.Add(time.Microsecond)
		at = now.Format(TimeLayout)
	}
	snap := Snapshot{CapturedAt: at, Rows: map[string]int{}}
	sets := make([]*result.Set, len(r.queries))
	errs := make([]error, len(r.queries))
	// One /proc fd walk names the owners for every query of the
	// snapshot: they describe one moment, and it is walked once.
	releaseOwners := r.eng.HoldOwners()
	defer releaseOwners() // idempotent: released after the queries, or on an early return
	for i, q := range r.queries {
		sets[i], errs[i] = result.Run(ctx, r.eng, q.SQL, q.Bind(r.params))
		if errs[i] == nil {
			errs[i] = checkColumns(sets[i])
		}
		if errs[i] != nil {
			if ctx.Err() != nil {
				return snap, fmt.Errorf("record: %w", ctx.Err())
			}
			snap.Failed = append(snap.Failed, fmt.Errorf("query %s: %w", q.Name, errs[i]))
		}
	}
	releaseOwners()
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return snap, fmt.Errorf("record: %s: %w", r.path, cleanError(err))
	}
	defer tx.Rollback()
	for i, q := range r.queries {
		table := TableName(q.Name)
		if errs[i] != nil {
			if _, err := tx.ExecContext(ctx, "INSERT INTO "+SnapshotsTable+"(captured_at, query, table_name, rows, error) VALUES (?, ?, ?, NULL, ?)",
				at, q.Name, table, errs[i].Error()); err != nil {
				return snap, fmt.Errorf("record: %s: %w", r.path, cleanError(err))
			}
			continue
		}
		if err := store(ctx, tx, table, at, sets[i]); err != nil {
			return snap, fmt.Errorf("record: %s: table %s: %w", r.path, table, cleanError(err))
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO "+SnapshotsTable+"(captured_at, query, table_name, rows) VALUES (?, ?, ?, ?)",
			at, q.Name, table, len(sets[i].Rows)); err != nil {
			return snap, fmt.Errorf("record: %s: %w", r.path, cleanError(err))
		}
		snap.Rows[q.Name] = len(sets[i].Rows)
	}
	if r.Keep > 0 {
		n, err := prune(ctx, tx, now.Add(-r.Keep).Format(TimeLayout))
		if err != nil {
			return snap, fmt.Errorf("record: %s: prune: %w", r.path, cleanError(err))
		}
		snap.Pruned = n
	}
	if err := tx.Commit(); err != nil {
		return snap, fmt.Errorf("record: %s: %w", r.path, cleanError(err))
	}
	r.last = at
	return snap, nil
}

// prune deletes the rows captured before cutoff (a TimeLayout stamp,
// which sorts as text) from the tables the ledger names and from the
// ledger itself, and returns how many data rows went.
func prune(ctx context.Context, tx *sql.Tx, cutoff string) (int64, error) {
	rows, err := tx.QueryContext(ctx, "SELECT DISTINCT s.table_name FROM "+SnapshotsTable+
		" s JOIN sqlite_master m ON m.type = 'table' AND m.name = s.table_name")
	if err != nil {
		return 0, err
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return 0, err
		}
		tables = append(tables, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	var total int64
	for _, t := range tables {
		res, err := tx.ExecContext(ctx, "DELETE FROM "+quote(t)+" WHERE captured_at < ?", cutoff)
		if err != nil {
			return total, fmt.Errorf("table %s: %w", t, err)
		}
		n, _ := res.RowsAffected()
		total += n
	}
	_, err = tx.ExecContext(ctx, "DELETE FROM "+SnapshotsTable+" WHERE captured_at < ?", cutoff)
	return total, err
}

// checkColumns refuses results that cannot become a table.
func checkColumns(set *result.Set) error {
	seen := map[string]bool{}
	for _, c := range set.Columns {
		l := strings.ToLower(c)
		if l == "captured_at" {
			return errors.New("a column is named captured_at, which record adds itself")
		}
		if seen[l] {
			return fmt.Errorf("two columns are named %s: give them different names with AS", c)
		}
		seen[l] = true
	}
	if len(set.Columns) == 0 {
		return errors.New("the last statement returns no columns")
	}
	return nil
}

// store creates or widens table and appends set's rows.
func store(ctx context.Context, tx *sql.Tx, table, at string, set *result.Set) error {
	defs := []string{"captured_at TEXT NOT NULL"}
	for i, c := range set.Columns {
		defs = append(defs, strings.TrimSpace(quote(c)+" "+set.Types[i]))
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s(%s)", quote(table), strings.Join(defs, ", "))); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s ON %s(captured_at)", quote(table+indexSuffix), quote(table))); err != nil {
		return err
	}
	have, err := columns(ctx, tx, table)
	if err != nil {
		return err
	}
	for i, c := range set.Columns {
		if have[strings.ToLower(c)] {
			continue
		}
		if _, err := tx.ExecContext(ctx, strings.TrimSpace(fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s %s", quote(table), quote(c), set.Types[i]))); err != nil {
			return err
		}
	}
	cols := []string{"captured_at"}
	marks := []string{"?"}
	for _, c := range set.Columns {
		cols = append(cols, quote(c))
		marks = append(marks, "?")
	}
	ins, err := tx.PrepareContext(ctx, fmt.Sprintf("INSERT INTO %s(%s) VALUES (%s)", quote(table), strings.Join(cols, ", "), strings.Join(marks, ", ")))
	if err != nil {
		return err
	}
	defer ins.Close()
	args := make([]any, len(cols))
	args[0] = at
	for _, row := range set.Rows {
		copy(args[1:], row)
		if _, err := ins.ExecContext(ctx, args...); err != nil {
			return err
		}
	}
	return nil
}

// columns returns the lower-cased column names of table.
func columns(ctx context.Context, tx *sql.Tx, table string) (map[string]bool, error) {
	rows, err := tx.QueryContext(ctx, "SELECT name FROM pragma_table_info(?)", table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	have := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		have[strings.ToLower(n)] = true
	}
	return have, rows.Err()
}

func quote(ident string) string { return `"` + strings.ReplaceAll(ident, `"`, `""`) + `"` }

// Run takes a snapshot now and, when every is positive, again every
// interval until ctx ends. report receives each snapshot (failed queries
// included). Once (every 0) it returns an error when a query failed; while
// repeating, query failures are only reported and an error stops it only
// when the database refuses a write.
func (r *Recorder) Run(ctx context.Context, every time.Duration, report func(Snapshot)) error {
	for {
		snap, err := r.timedSnapshot(ctx)
		switch {
		case err != nil && every > 0 && ctx.Err() != nil:
			return nil // stopped mid-snapshot: nothing of it was stored
		case err != nil && every > 0 && errors.Is(err, context.DeadlineExceeded):
			// This snapshot took longer than Timeout: none of it was
			// stored; say so and try again next time.
			snap.Failed = append(snap.Failed, fmt.Errorf("snapshot not stored: it took longer than %v", r.Timeout))
		case err != nil:
			return err
		}
		if report != nil {
			report(snap)
		}
		if every <= 0 {
			if len(snap.Failed) > 0 {
				return fmt.Errorf("record: %w", errors.Join(snap.Failed...))
			}
			return nil
		}
		t := time.NewTimer(every)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

func (r *Recorder) timedSnapshot(ctx context.Context) (Snapshot, error) {
	if r.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.Timeout)
		defer cancel()
	}
	return r.Snapshot(ctx)
}

// Attach makes the history in the database file at path queryable beside
// the live tables: it is attached to eng's connection as schema "history",
// so its tables are found by their plain names (sockets_by_state) as well
// as history.sockets_by_state. The file must exist.
//
// It is attached read-only: a DROP TABLE or DELETE on it fails. When this
// process may not write the file and its directory (another user's
// history), it is opened immutable, which needs no lock and no -shm file:
// a snapshot a record commits meanwhile may then be missed or fail the
// statement.
func Attach(ctx context.Context, eng *vtab.Engine, path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("--db %s: %w", path, err)
	}
	if fi.IsDir() {
		return fmt.Errorf("--db: %s is a directory", path)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("--db: %s is not a regular file", path) // a FIFO would block the open
	}
	// A `netsql record` writing the file holds its locks for moments (and
	// checkpoints the WAL into the file as it closes): wait for them
	// rather than fail with "database is locked".
	if _, err := eng.ExecContext(ctx, "PRAGMA busy_timeout = 10000"); err != nil {
		return fmt.Errorf("--db %s: busy timeout: %w", path, cleanError(err))
	}
	if _, err := eng.ExecContext(ctx, "ATTACH DATABASE ? AS history", readOnlyURI(path)); err != nil {
		return fmt.Errorf("--db %s: %w", path, cleanError(err))
	}
	// Fail now, with the file named, when it is not a database.
	var n int
	if err := eng.DB().QueryRowContext(ctx, "SELECT count(*) FROM history.sqlite_master").Scan(&n); err != nil {
		return fmt.Errorf("--db %s: %w", path, cleanError(err))
	}
	return nil
}

// readOnlyURI is the SQLite URI that opens path read-only, immutable when
// this process may not write the file or the directory its -shm file
// would be made in.
func readOnlyURI(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	query := "mode=ro"
	if unix.Access(abs, unix.W_OK) != nil || unix.Access(filepath.Dir(abs), unix.W_OK) != nil {
		query += "&immutable=1"
	}
	return (&url.URL{Scheme: "file", OmitHost: true, Path: abs, RawQuery: query}).String()
}

func cleanError(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return run.CleanError(err)
	}
	return err
}
