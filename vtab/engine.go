package vtab

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"

	"modernc.org/sqlite"
)

// Options configure an Engine.
type Options struct {
	// ProcRoot is a /proc tree to read instead of the live kernel (a copy
	// from another host, a support bundle, a test fixture). Empty means the
	// live kernel: netlink where it answers, /proc otherwise.
	ProcRoot string
	// Notify receives one-line notices meant for the user, such as the
	// fallback from netlink to /proc/net, each with its kind. Nil
	// discards them.
	Notify func(Notice)
	// Tables to register; nil means every table netsql declares.
	Tables []Def
	// Source replaces the data source built from ProcRoot (tests use it to
	// count or fake kernel reads).
	Source *Source
	// AllowKill lets DELETE FROM sockets close the sockets it matches
	// (SOCK_DESTROY, as `ss -K`). Without it netsql writes nothing: every
	// write to a live table is refused.
	AllowKill bool
	// Extensions add SQL functions and collations declared outside vtab
	// (netstat's, from queries/netstat).
	Extensions []Extension
	// WalkFDs makes the owner columns walk /proc/*/fd even where the
	// kernel's BPF fd iterator is available (Source.WalkFDs).
	WalkFDs bool
}

// Engine is a SQLite database whose connection has every netsql table.
// It is safe for use by one goroutine at a time per statement; the
// underlying *sql.DB holds a single connection so statements see the same
// temp tables, views and parameters.
type Engine struct {
	db        *sql.DB
	src       *Source
	ownSource bool // src was made by Open: Close closes it
	tables    []Def
	funcs     *sqlFuncs

	mu       sync.Mutex
	sessions map[int]*session
	nextID   int
	refused  string // the live table the authorizer last refused
	// refusedWhy, when set, is the error for that refusal.
	refusedWhy string
	// allowKill lets a DELETE on a killable table run (Options.AllowKill).
	allowKill bool
	// current is the statement QueryContext or ExecContext runs.
	current *statement
	// noStream makes every statement read its tables into snapshots
	// (tests compare the two paths); streamed counts the scans that
	// streamed.
	noStream bool
	streamed atomic.Int64
	// modules are the declared tables' modules, by table name (Scan).
	modules map[string]*module
	// held are the tables Hold keeps.
	held heldTables
}

// Open returns an engine reading the live kernel, or opts.ProcRoot.
func Open(opts Options) (*Engine, error) {
	src, ownSource := opts.Source, opts.Source == nil
	if src == nil {
		var err error
		if src, err = NewSource(opts.ProcRoot, opts.Notify); err != nil {
			return nil, err
		}
		src.WalkFDs = opts.WalkFDs
	}
	tables := opts.Tables
	if tables == nil {
		tables = Tables()
	}
	e := &Engine{src: src, ownSource: ownSource, tables: tables, sessions: map[int]*session{}, allowKill: opts.AllowKill, modules: map[string]*module{}}
	drv := &sqlite.Driver{}
	if err := drv.RegisterModule(heldModule, &heldMod{eng: e}); err != nil {
		return nil, fmt.Errorf("vtab: register %s: %w", heldModule, err)
	}
	for _, def := range tables {
		s := def.Schema()
		if err := s.validate(); err != nil {
			return nil, err
		}
		m := &module{def: def, schema: s, eng: e, nameCol: -1, inoCol: -1}
		if s.PerNetNS {
			m.nameCol, m.inoCol = s.ColumnIndex(netnsNameColumn), s.ColumnIndex(netnsColumn)
		}
		if err := drv.RegisterModule(s.Name, m); err != nil {
			return nil, fmt.Errorf("vtab: register %s: %w", s.Name, err)
		}
		e.modules[s.Name] = m
	}
	funcs, err := registerFunctions(drv, src, opts.Extensions)
	if err != nil {
		return nil, err
	}
	e.funcs = funcs
	e.db = sql.OpenDB(&connector{drv: drv, eng: e})
	e.db.SetMaxOpenConns(1)
	e.db.SetMaxIdleConns(1)
	e.db.SetConnMaxLifetime(0)
	if err := e.db.Ping(); err != nil {
		e.db.Close()
		return nil, fmt.Errorf("vtab: open engine: %w", err)
	}
	return e, nil
}

// DB returns the engine's database. Statements run through it see the
// live tables; use QueryContext to let a context reach the kernel reads.
func (e *Engine) DB() *sql.DB { return e.db }

// QueryContext runs a statement whose kernel reads obey ctx (cancellation
// and deadlines reach netlink dumps and /proc walks, not only SQLite).
func (e *Engine) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := e.prepare(ctx, query, args); st.kill != nil {
		return e.queryKill(ctx, st, query, args)
	}
	rows, err := e.db.QueryContext(ctx, query, args...)
	return rows, e.explain(err)
}

// ExecContext is QueryContext for statements that return no rows.
func (e *Engine) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := e.prepare(ctx, query, args); st.kill != nil {
		return e.execKill(ctx, st, query, args)
	}
	res, err := e.db.ExecContext(ctx, query, args...)
	return res, e.explain(err)
}

// prepare hands the statement about to run, and its context, to the
// sessions its cursors will open in. Its EXPLAIN (analyse) also tells
// whether it is a DELETE on a killable table (statement.kill).
func (e *Engine) prepare(ctx context.Context, query string, args []any) *statement {
	e.funcs.setContext(ctx)
	st := &statement{ctx: ctx, probing: true}
	e.mu.Lock()
	e.current = st
	for _, s := range e.sessions {
		s.setStatement(nil) // no earlier statement's choices while planning the EXPLAIN
	}
	e.mu.Unlock()
	folded, streams := e.analyse(ctx, query, args)
	e.mu.Lock()
	defer e.mu.Unlock()
	st.folded, st.probing = folded, false
	if st.kill == nil && !e.noStream {
		st.streams = streams
	}
	for _, s := range e.sessions {
		s.setStatement(st)
	}
	return st
}

// foldingCollation finds, in an EXPLAIN listing's P4 column, a comparison
// or an IN list under a collation for which two different texts can be
// equal: "NOCASE-8" on a comparison opcode, "k(1,NOCASE)" on an IN list.
var foldingCollation = regexp.MustCompile(`(^|[(,-])(NOCASE|RTRIM)(-\d+$|[,)])`)

// analyse reads the statement's EXPLAIN listing, once, for what the
// engine must know before it runs: whether it may compare text under
// NOCASE or RTRIM (folded) and which tables it reads exactly
// once, whose rows may stream (streamingTables).
//
// folded reports whether the statement may compare text under NOCASE or
// RTRIM, where 'close_wait' equals 'CLOSE_WAIT' and is no typo. SQLite
// does not tell a virtual table a constraint's collation (modernc's
// IndexInfo has no sqlite3_vtab_collation), but the compiled program
// does: every constraint a table is given is re-checked by a comparison
// opcode that names its collation. When the listing cannot be had, the
// answer is yes: never an error for what may be a match, and no table
// streams. Only a single statement is explained: the driver would run the
// statements after the first one, and they would then run twice.
func (e *Engine) analyse(ctx context.Context, query string, args []any) (folded bool, streams map[string]bool) {
	if !singleStatement(query) {
		return true, nil
	}
	rows, err := e.db.QueryContext(ctx, "EXPLAIN "+query, args...)
	if err != nil {
		return true, nil
	}
	defer rows.Close()
	// EXPLAIN lists addr, opcode, p1, p2, p3, p4, p5, comment.
	var ops []vdbeOp
	var p4 sql.NullString
	var skip any
	for rows.Next() {
		var op vdbeOp
		if err := rows.Scan(&op.addr, &op.opcode, &op.p1, &op.p2, &op.p3, &p4, &skip, &skip); err != nil {
			return true, nil
		}
		op.p4 = p4.String
		ops = append(ops, op)
		if strings.HasPrefix(op.opcode, "String") {
			continue // a literal, not a collation
		}
		if foldingCollation.MatchString(op.p4) {
			folded = true
		}
	}
	if rows.Err() != nil {
		return true, nil
	}
	return folded, streamingTables(ops)
}

// Close releases the database, and the BPF fd iterator when the engine
// made its source (a source passed in Options is the caller's to close).
func (e *Engine) Close() error {
	err := e.db.Close()
	if e.ownSource {
		err = errors.Join(err, e.src.Close())
	}
	return err
}

// Schemas describes the engine's tables in registration order.
func (e *Engine) Schemas() []Schema {
	out := make([]Schema, len(e.tables))
	for i, d := range e.tables {
		out[i] = d.Schema()
	}
	return out
}

func (e *Engine) newSession() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.nextID++
	e.sessions[e.nextID] = &session{eng: e}
	return e.nextID
}

func (e *Engine) session(id int) *session {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.sessions[id]
}

func (e *Engine) dropSession(id int) {
	e.mu.Lock()
	delete(e.sessions, id)
	e.mu.Unlock()
}

// connector opens in-memory connections on the engine's own driver and
// creates every table in each one's temp schema (modernc has no eponymous
// virtual tables).
type connector struct {
	drv *sqlite.Driver
	eng *Engine
}

func (c *connector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(":memory:")
	if err != nil {
		return nil, fmt.Errorf("vtab: open connection: %w", err)
	}
	id := c.eng.newSession()
	exec, ok := conn.(driver.ExecerContext)
	if !ok {
		conn.Close()
		return nil, fmt.Errorf("vtab: connection cannot execute statements")
	}
	for _, def := range c.eng.tables {
		name := def.Schema().Name
		stmt := fmt.Sprintf("CREATE VIRTUAL TABLE temp.%s USING %s(%d)", name, name, id)
		if _, err := exec.ExecContext(ctx, stmt, nil); err != nil {
			conn.Close()
			c.eng.dropSession(id)
			return nil, fmt.Errorf("vtab: create %s: %w", name, err)
		}
	}
	if auth, ok := conn.(sqlite.AuthorizerRegisterer); ok {
		if err := auth.RegisterAuthorizer(c.eng.authorize); err != nil {
			conn.Close()
			c.eng.dropSession(id)
			return nil, fmt.Errorf("vtab: install authorizer: %w", err)
		}
	}
	return conn, nil
}

// authorize refuses, when a statement is prepared, any write to a live
// table and any DROP or ALTER of one (ALTER TABLE sockets RENAME TO s2
// would let a temp table named sockets answer in its place) (SQLite would run a DELETE that matches no
// row without asking the module, and DROP TABLE sockets would remove the
// table for the rest of the session). The refused table is remembered so
// the error can name it. The one exception is a DELETE on a table that
// declares a Killer (DELETE FROM sockets closes sockets), which
// authorizeKill allows once the user opted in.
func (e *Engine) authorize(action sqlite.AuthorizerActionCode, arg1, arg2, db, _ string) sqlite.AuthorizerReturnCode {
	switch action {
	case sqlite.AuthInsert, sqlite.AuthUpdate, sqlite.AuthDelete, sqlite.AuthDropVTable:
	case sqlite.AuthAlterTable:
		// ALTER TABLE names the database first, then the table.
		arg1, db = arg2, arg1
	default:
		return sqlite.AuthorizerOK
	}
	if db != "temp" {
		return sqlite.AuthorizerOK
	}
	for _, d := range e.tables {
		s := d.Schema()
		if s.Name != arg1 {
			continue
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		if action == sqlite.AuthDelete && s.Killable {
			why := e.authorizeKill(arg1)
			if why == "" {
				return sqlite.AuthorizerOK
			}
			e.refused, e.refusedWhy = arg1, why
			return sqlite.AuthorizerDeny
		}
		e.refused, e.refusedWhy = arg1, ""
		return sqlite.AuthorizerDeny
	}
	return sqlite.AuthorizerOK
}

// singleStatement reports whether query holds one SQL statement: no ';'
// outside literals, quoted names and comments is followed by anything but
// blanks and comments. When unsure it says no.
func singleStatement(query string) bool {
	ended := false
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			continue
		case c == '-' && strings.HasPrefix(query[i:], "--"):
			j := strings.IndexByte(query[i:], '\n')
			if j < 0 {
				return true
			}
			i += j
			continue
		case c == '/' && strings.HasPrefix(query[i:], "/*"):
			j := strings.Index(query[i+2:], "*/")
			if j < 0 {
				return false
			}
			i += j + 3
			continue
		}
		if ended {
			return false // text after a ';'
		}
		switch c {
		case ';':
			ended = true
		case '\'', '"', '`', '[':
			end := c
			if c == '[' {
				end = ']'
			}
			j := strings.IndexByte(query[i+1:], end)
			if j < 0 {
				return false
			}
			i += j + 1 // a doubled quote reopens at the next byte
		}
	}
	return true
}

// explain turns SQLite's bare "not authorized" for a refused write into
// an error naming the table.
func (e *Engine) explain(err error) error {
	e.mu.Lock()
	table, why := e.refused, e.refusedWhy
	e.refused, e.refusedWhy = "", ""
	e.mu.Unlock()
	if err != nil && table != "" && strings.Contains(err.Error(), "not authorized") {
		if why != "" {
			return errors.New(why)
		}
		return fmt.Errorf("%s is a read-only view of the kernel", table)
	}
	return err
}

func (c *connector) Driver() driver.Driver { return c.drv }
