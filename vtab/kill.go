package vtab

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
	sqlvtab "modernc.org/sqlite/vtab"

	"github.com/netsql/netsql/vtab/sockdiag"
)

// Killer declares what DELETE does to a table's rows: netsql is a
// read-only observer, and the one write it knows is closing what a row
// describes (the sockets table's DELETE closes sockets, as `ss -K` does).
// The engine runs it only when the user opted in (Options.AllowKill,
// SetAllowKill).
type Killer[T any] struct {
	// Close acts on the kernel object rec describes, in the network
	// namespace whose file is nsPath ("" for netsql's own). src is the
	// engine's source.
	Close func(ctx context.Context, src *Source, nsPath string, rec *T) error
	// Describe names rec in the statement's report and in the shell's
	// confirmation: one line, as ss would show it.
	Describe func(*T) string
}

// killRows is a rowSet whose rows a DELETE can act on.
type killRows interface {
	describeRow(row int) string
	killRow(ctx context.Context, src *Source, nsPath string, row int) error
}

func (r *records[T]) describeRow(row int) string { return r.kill.Describe(&r.recs[row]) }

func (r *records[T]) killRow(ctx context.Context, src *Source, nsPath string, row int) error {
	return r.kill.Close(ctx, src, nsPath, &r.recs[row])
}

// killPart is one read of a killable table during a DELETE, with the
// namespace it was read in.
type killPart struct {
	p      *part
	nsPath string
}

// killRef locates a row by its rowid.
type killRef struct {
	part *killPart
	row  int
}

// killLog is what one DELETE on a killable table matched and did. The
// statement keeps the parts its cursors read, so every rowid SQLite hands
// to Delete resolves to the row (and namespace) it came from, whenever
// SQLite calls it.
type killLog struct {
	table   string
	mu      sync.Mutex
	dryRun  bool // only record what matched (the shell's confirmation)
	parts   []*killPart
	index   map[int64]killRef
	indexed int // parts in index
	done    map[int64]bool
	matched []string
	closed  int
	failed  []KillFailure
}

// add records a part read during the DELETE.
func (k *killLog) add(p *part, t nsTarget) {
	k.mu.Lock()
	defer k.mu.Unlock()
	kp := &killPart{p: p}
	if !t.own {
		kp.nsPath = t.ns.Path
	}
	k.parts = append(k.parts, kp)
}

// find returns the row SQLite calls rowid.
func (k *killLog) find(rowid int64) (killRef, bool) {
	if k.index == nil {
		k.index = map[int64]killRef{}
	}
	for ; k.indexed < len(k.parts); k.indexed++ {
		kp := k.parts[k.indexed]
		for r, id := range kp.p.rowids {
			if _, ok := k.index[id]; !ok {
				k.index[id] = killRef{part: kp, row: r}
			}
		}
	}
	ref, ok := k.index[rowid]
	return ref, ok
}

// delete acts on the row SQLite deletes. A row that cannot be closed is
// recorded, not returned: the statement goes on to close the others and
// the engine reports every failure once it ends.
func (k *killLog) delete(ctx context.Context, src *Source, table string, rowid int64) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.done[rowid] {
		return nil
	}
	if k.done == nil {
		k.done = map[int64]bool{}
	}
	k.done[rowid] = true
	ref, ok := k.find(rowid)
	if !ok {
		return fmt.Errorf("%s: DELETE of a row this statement did not read (rowid %d)", table, rowid)
	}
	rows, ok := ref.part.p.rows.(killRows)
	if !ok {
		return fmt.Errorf("%s is a read-only view of the kernel", table)
	}
	desc := rows.describeRow(ref.row)
	k.matched = append(k.matched, desc)
	if k.dryRun {
		return nil
	}
	if err := rows.killRow(ctx, src, ref.part.nsPath, ref.row); err != nil {
		k.failed = append(k.failed, KillFailure{Row: desc, Reason: killReason(err), Err: err})
		return nil
	}
	k.closed++
	return nil
}

// errNotLive refuses to close sockets described by a /proc tree.
var errNotLive = errors.New("read from a /proc tree, not the live kernel")

// killReason says in a few words why a socket could not be closed.
func killReason(err error) string {
	switch {
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ESTALE):
		return "already gone"
	case errors.Is(err, unix.EOPNOTSUPP):
		return "not supported by the kernel"
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		return "not permitted (needs CAP_NET_ADMIN in the socket's namespace)"
	case errors.Is(err, sockdiag.ErrNotInet):
		return "unix sockets are never closed"
	case errors.Is(err, errNotLive):
		return errNotLive.Error()
	}
	return err.Error()
}

// KillFailure is one row a DELETE matched but could not act on.
type KillFailure struct {
	Row    string // the row as Killer.Describe names it
	Reason string // already gone, not supported by the kernel, not permitted, ...
	Err    error  // the underlying error
}

// KillError is the error of a DELETE that closed some matched sockets
// (Closed) but not all (Failed).
type KillError struct {
	Table  string
	Closed int
	Failed []KillFailure
}

// maxKillFailuresShown bounds the failures KillError's one line lists.
const maxKillFailuresShown = 10

// Error is one line: the counts, then each failed row and why.
func (e *KillError) Error() string {
	var b strings.Builder
	n := e.Closed + len(e.Failed)
	fmt.Fprintf(&b, "%s: closed %d of %d matched, could not close %d:", e.Table, e.Closed, n, len(e.Failed))
	for i, f := range e.Failed {
		if i == maxKillFailuresShown {
			fmt.Fprintf(&b, "; and %d more", len(e.Failed)-i)
			break
		}
		if i > 0 {
			b.WriteByte(';')
		}
		fmt.Fprintf(&b, " %s (%s)", f.Row, f.Reason)
	}
	return b.String()
}

// Insert refuses: no table takes new rows.
func (t *table) Insert([]sqlvtab.Value, *int64) error { return t.readOnly() }

// Update refuses: no table's rows can be changed.
func (t *table) Update(int64, []sqlvtab.Value, *int64) error { return t.readOnly() }

// Delete acts on the row through the table's Killer, when the running
// statement is a DELETE the engine allowed (see Engine.authorize).
func (t *table) Delete(rowid int64) error {
	st := t.mod.eng.currentStatement()
	if st == nil || st.kill == nil || !t.mod.schema.Killable {
		return t.readOnly()
	}
	ctx := st.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	return st.kill.delete(ctx, t.mod.eng.src, t.mod.schema.Name, rowid)
}

func (t *table) readOnly() error {
	return fmt.Errorf("%s is a read-only view of the kernel", t.mod.schema.Name)
}

// killRefusedHow is the error for a DELETE on a killable table when the
// user has not opted in.
const killRefusedHow = "%s: DELETE closes sockets and netsql is read-only by default: run netsql --allow-kill, or .allow kill in the shell"

// SetAllowKill turns on (or off) DELETE on the tables that close what a
// row describes (DELETE FROM sockets closes sockets), as Options.AllowKill.
func (e *Engine) SetAllowKill(allow bool) {
	e.mu.Lock()
	e.allowKill = allow
	e.mu.Unlock()
}

// KillAllowed reports whether DELETE FROM sockets closes sockets.
func (e *Engine) KillAllowed() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.allowKill
}

// currentStatement returns the statement QueryContext or ExecContext runs.
func (e *Engine) currentStatement() *statement {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.current
}

// authorizeKill decides, with e.mu held, on a DELETE of killable table
// name: "" allows it, anything else is the error. It runs only for a
// statement the engine EXPLAINed first (prepare), which marks it a kill:
// the engine then reports what the DELETE closed. A DELETE that reaches
// SQLite otherwise (DB() directly, inside a multi-statement script) is
// refused.
func (e *Engine) authorizeKill(name string) string {
	if !e.allowKill {
		return fmt.Sprintf(killRefusedHow, name)
	}
	st := e.current
	if st == nil || (!st.probing && st.kill == nil) {
		return fmt.Sprintf("%s: DELETE must run as a statement of its own, through the engine's QueryContext or ExecContext", name)
	}
	if st.kill == nil {
		st.kill = &killLog{table: name}
	}
	return ""
}

// runKill runs the DELETE st and returns how many rows it closed; a
// *KillError when some matched rows could not be closed.
func (e *Engine) runKill(ctx context.Context, st *statement, query string, args []any) (int64, error) {
	_, err := e.db.ExecContext(ctx, query, args...)
	e.mu.Lock()
	if e.current == st {
		e.current = nil
	}
	e.mu.Unlock()
	if err != nil {
		return 0, e.explain(err)
	}
	k := st.kill
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.failed) > 0 {
		return int64(k.closed), &KillError{Table: k.table, Closed: k.closed, Failed: k.failed}
	}
	return int64(k.closed), nil
}

// queryKill runs the DELETE st and answers with one row, the count of
// what it closed, so every caller that prints results shows it.
func (e *Engine) queryKill(ctx context.Context, st *statement, query string, args []any) (*sql.Rows, error) {
	n, err := e.runKill(ctx, st, query, args)
	if err != nil {
		return nil, err
	}
	return e.db.QueryContext(ctx, "SELECT ? AS closed", n)
}

// execKill runs the DELETE st; RowsAffected is how many rows it closed.
func (e *Engine) execKill(ctx context.Context, st *statement, query string, args []any) (sql.Result, error) {
	n, err := e.runKill(ctx, st, query, args)
	if err != nil {
		return nil, err
	}
	return killResult(n), nil
}

// killResult is the sql.Result of a DELETE that closed sockets.
type killResult int64

// LastInsertId is always an error: a DELETE inserts nothing.
func (killResult) LastInsertId() (int64, error) {
	return 0, errors.New("vtab: DELETE has no insert id")
}

// RowsAffected is how many rows the DELETE closed.
func (r killResult) RowsAffected() (int64, error) { return int64(r), nil }

// PreviewKill runs query, when it is a DELETE that would close what its
// rows describe (and the engine allows it), without closing anything, and
// returns each matched row as Killer.Describe names it. isKill is false,
// and nothing ran, for any other statement. The shell shows the rows and
// asks before the real DELETE, which reads the kernel again.
func (e *Engine) PreviewKill(ctx context.Context, query string, args ...any) (matched []string, isKill bool, err error) {
	st := e.prepare(ctx, query, args)
	if st.kill == nil {
		e.mu.Lock()
		if e.current == st {
			e.current = nil
		}
		e.mu.Unlock()
		_ = e.explain(nil) // forget the EXPLAIN's refusal
		return nil, false, nil
	}
	st.kill.dryRun = true
	_, err = e.runKill(ctx, st, query, args)
	st.kill.mu.Lock()
	defer st.kill.mu.Unlock()
	return st.kill.matched, true, err
}
