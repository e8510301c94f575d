// Package vtab declares netsql's tables and turns each declaration into a
// modernc.org/sqlite virtual table module that reads the kernel at query time.
//
// A table is data: a Table value naming its columns, a getter per column and
// a row producer. One generic adapter (module.go) serves every table, so
// pushdown, column pruning and per-statement snapshots work the same way
// everywhere, and the same declarations drive `.schema`, completion and the
// README's table reference.
//
// Tables never read the kernel themselves: a Source does, through one
// reader per kind of object (readers.go: links with their sysfs values,
// addresses, routes, neighbours, rules, conntrack, namespaces, the net/
// files no netlink family carries, /etc files; sockets through
// Source.Sockets). Each kind has a live implementation (rtnetlink, sysfs
// and ctnetlink inside the namespace read) and a /proc-tree one
// (procstat over a --proc DIR) returning the same types; NewSource picks
// them, and the engine binds live ones to each namespace a statement
// reads. The readers are packages below vtab (rtnl, sockdiag, procnet,
// procstat, procs, cgroup, conntrack, netns, fileread), all netlink
// through the core in vtab/netlink.
//
// Open returns an Engine: a *sql.DB whose connection has every table.
// Packages above vtab add SQL functions and collations through
// Options.Extensions (queries/netstat adds netstat's wording that way).
package vtab

import (
	"context"
	"fmt"
	"sort"
	"strings"

	sqlvtab "modernc.org/sqlite/vtab"
)

// Column types, as declared to SQLite.
const (
	Text    = "TEXT"
	Integer = "INTEGER"
	Real    = "REAL"
)

// Column declares one column of a table whose rows are records of type T.
type Column[T any] struct {
	Name string // snake_case
	Type string // Text, Integer or Real
	Doc  string // one line, shown by .schema and the README
	// Hidden columns do not appear in SELECT * and serve as table-function
	// arguments.
	Hidden bool
	// Push lists the constraint operators the producer applies itself to
	// make the kernel request smaller. SQLite still re-checks every row, so
	// a producer may return more rows than asked, never fewer.
	Push []sqlvtab.ConstraintOp
	// Exact says the producer applies a pushed equality exactly, for
	// every word of Values: it returns precisely the rows whose value
	// equals it. SQLite then does not re-check the constraint on every
	// row (a column read per row saved). Only for a closed set
	// (Values) whose every word the producer pushes.
	Exact bool
	// Values is the closed set of values the column can hold (states,
	// protocol words); empty means any value. The adapter rejects an
	// equality against a word outside it, and the shell completes from it.
	Values []string
	// ValuesHelp, when set, says which of Values apply where (unix and
	// TCP states differ); the error for a word outside Values shows it
	// instead of the bare list.
	ValuesHelp string
	// Cost is the work beyond the table's basic read that the column's
	// value needs; the producer asks Query.Needs and skips what no used
	// column costs.
	Cost Cost
	// Value returns the column's value for one record: nil, int64,
	// float64, string or []byte. It runs only for columns SQLite reads.
	// The netns column of a PerNetNS table has none: the adapter fills it
	// with the inode of the namespace it read, as it fills netns_name.
	Value func(*T) any
}

// Table declares a virtual table whose rows are records of type T.
type Table[T any] struct {
	Name string
	Doc  string
	// Example is a query worth showing in the README; tests run it.
	Example string
	// Examples are further queries, each shown after Example (one per
	// column worth its own example) and run by the tests like it.
	Examples []string
	// PerNetNS tables describe one network namespace and declare a netns
	// column without a Value: the adapter fills it with the namespace's
	// inode (NULL when unknown), adds the hidden netns_name column and answers
	// `netns = INODE` and `netns_name = 'NAME' | 'pid:N' | '*'` by calling
	// Rows once per selected namespace with a Source reading that one.
	PerNetNS bool
	Columns  []Column[T]
	// Rows reads the records a statement needs. q says which columns are
	// used (skip costly work for the others) and which constraints were
	// pushed down.
	Rows func(ctx context.Context, src *Source, q *Query) ([]T, error)
	// Stream, when set, reads the same records as Rows but hands them to
	// yield in batches as they are read, so a statement that scans the
	// table once never holds the whole table (see streamingTables). A
	// batch is valid only until yield returns: the producer reuses it.
	// When yield returns false the producer stops reading, releases what
	// it holds (netlink sockets, files) and returns nil.
	Stream func(ctx context.Context, src *Source, q *Query, yield func([]T) bool) error
	// Pack, when set, reads the same records as Rows for a statement
	// that needs the whole table at once (a self-join, an IN list, a
	// correlated subquery), but keeps them compact (Packed): the kernel's
	// bytes, decoded into a record when a row is read. It returns nil and
	// no error when it cannot (a /proc tree, netlink refused), and Rows
	// reads them.
	Pack func(ctx context.Context, src *Source, q *Query) (Packed[T], error)
	// Key identifies a record across the reads of one statement, from
	// fields that do not change between reads and that Rows always fills.
	// Tables that push constraints down need it: SQLite's OR optimization
	// reads such a table once per OR term and merges the rows by rowid, so
	// the same row must get the same rowid in every read.
	Key func(*T) string
	// Kill, when set, lets DELETE on the table act on the kernel object a
	// row describes (the sockets table closes sockets). The engine refuses
	// it unless Options.AllowKill or SetAllowKill opted in.
	Kill *Killer[T]
}

// Cost is work a column's value needs beyond the table's basic read,
// declared on the column so producers skip it when no used column needs
// it, without lists of column names.
type Cost uint32

// The costs a column can declare.
const (
	// CostOwners: the owning processes, from a /proc/*/fd scan.
	CostOwners Cost = 1 << iota
	// CostCgroup: the cgroup of a process, from /proc/PID/cgroup.
	CostCgroup
	// CostUserName: a uid's login name, from the passwd database.
	CostUserName
	// CostProgram: a process's program name, from /proc/PID.
	CostProgram
	// CostProcOnly: a value only a /proc file carries (routes' refcnt
	// and use are in net/route and net/ipv6_route, not rtnetlink).
	CostProcOnly
	// CostNetlinkOnly: a value only netlink carries.
	CostNetlinkOnly
	// CostSysfs: a value read from the namespace's sysfs.
	CostSysfs
	// CostLinkNames: interface names, from one more link dump (or the
	// /proc tree's own files).
	CostLinkNames
	// CostEtc: a name from an /etc file (rt_tables, protocols).
	CostEtc
)

// Def is a declared table of any record type: what the engine registers.
type Def interface {
	// Schema describes the table for SQLite, .schema and documentation.
	Schema() Schema
	produce(ctx context.Context, src *Source, q *Query) (rowSet, error)
	// streams reports whether the table has a streaming producer.
	streams() bool
	// stream reads the table as Table.Stream does, each batch handed to
	// yield as a rowSet valid until yield returns.
	stream(ctx context.Context, src *Source, q *Query, yield func(rowSet) bool) error
}

// Schema is the record-type-free description of a table.
type Schema struct {
	Name     string
	Doc      string
	Example  string
	Examples []string
	PerNetNS bool
	Columns  []ColumnSchema
	// Keyed reports whether rows have an identity (Table.Key).
	Keyed bool
	// Killable reports whether DELETE acts on the kernel (Table.Kill).
	Killable bool
	// noValue names a column declared without a Value getter that the
	// adapter does not fill; validate rejects it.
	noValue string
}

// ColumnSchema is the record-type-free description of a column.
type ColumnSchema struct {
	Name   string
	Type   string
	Doc    string
	Hidden bool
	Push   []sqlvtab.ConstraintOp
	// Exact says a pushed equality needs no re-check by SQLite.
	Exact bool
	// Values is the column's closed set of values; empty means any.
	Values []string
	// ValuesHelp says which of Values apply where; empty for a plain list.
	ValuesHelp string
	// Cost is the work beyond the table's read the column needs.
	Cost Cost
}

// Schema implements Def.
func (t *Table[T]) Schema() Schema {
	s := Schema{Name: t.Name, Doc: t.Doc, Example: t.Example, Examples: t.Examples, Keyed: t.Key != nil, PerNetNS: t.PerNetNS, Killable: t.Kill != nil}
	for _, c := range t.Columns {
		cs := ColumnSchema{Name: c.Name, Type: c.Type, Doc: c.Doc, Hidden: c.Hidden, Push: c.Push, Exact: c.Exact, Values: c.Values, ValuesHelp: c.ValuesHelp, Cost: c.Cost}
		if c.Value == nil && !(t.PerNetNS && c.Name == netnsColumn) && s.noValue == "" {
			s.noValue = c.Name
		}
		if t.PerNetNS && c.Name == netnsColumn {
			cs.Push = pushEQ // the adapter picks the namespaces
		}
		s.Columns = append(s.Columns, cs)
	}
	if t.PerNetNS {
		s.Columns = append(s.Columns, ColumnSchema{Name: netnsNameColumn, Type: Text, Hidden: true, Push: pushEQ,
			Doc: "namespace to read: a name under /run/netns, pid:N (that process's), or * (every namespace); rows show the namespace's name"})
	}
	return s
}

// Packed is a table's rows held compactly (Table.Pack).
type Packed[T any] interface {
	// Len is the number of rows.
	Len() int
	// Decode sets *into to row i. It may reuse what into points to
	// (a record decoded before into the same value), so a record stays
	// whole only until the next Decode into it.
	Decode(i int, into *T)
}

func (t *Table[T]) produce(ctx context.Context, src *Source, q *Query) (rowSet, error) {
	if t.Pack != nil {
		p, err := t.Pack(ctx, src, q)
		if err != nil {
			return nil, err
		}
		if p != nil {
			return newPackedRows(p, t), nil
		}
	}
	recs, err := t.Rows(ctx, src, q)
	if err != nil {
		return nil, err
	}
	return &records[T]{recs: recs, cols: t.Columns, key: t.Key, kill: t.Kill}, nil
}

func (t *Table[T]) streams() bool { return t.Stream != nil }

func (t *Table[T]) stream(ctx context.Context, src *Source, q *Query, yield func(rowSet) bool) error {
	batch := &records[T]{cols: t.Columns, key: t.Key, kill: t.Kill}
	return t.Stream(ctx, src, q, func(recs []T) bool {
		batch.recs = recs
		return yield(batch)
	})
}

// rowSet is a snapshot of one table's rows, read lazily by column.
type rowSet interface {
	Len() int
	Value(row, col int) any
	// Keyed reports whether rows have an identity (Table.Key).
	Keyed() bool
	// Key returns a row's identity; "" when the table has none.
	Key(row int) string
}

type records[T any] struct {
	recs []T
	cols []Column[T]
	key  func(*T) string
	kill *Killer[T]
}

func (r *records[T]) Keyed() bool { return r.key != nil }

func (r *records[T]) Key(row int) string {
	if r.key == nil {
		return ""
	}
	return r.key(&r.recs[row])
}

func (r *records[T]) Len() int { return len(r.recs) }

func (r *records[T]) Value(row, col int) any { return r.cols[col].Value(&r.recs[row]) }

// ColumnIndex returns the position of the named column, or -1.
func (s Schema) ColumnIndex(name string) int {
	for i, c := range s.Columns {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// CreateSQL is the CREATE TABLE statement declared to SQLite; .schema shows it.
func (s Schema) CreateSQL() string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE %q(", s.Name)
	for i, c := range s.Columns {
		if i > 0 {
			b.WriteString(", ")
		}
		// Quoted: routes.table, interfaces.index and
		// multicast_groups.group are SQL keywords.
		fmt.Fprintf(&b, "%q %s", c.Name, c.Type)
		if c.Hidden {
			b.WriteString(" HIDDEN")
		}
	}
	b.WriteString(")")
	return b.String()
}

// validate reports declaration mistakes when an engine opens.
func (s Schema) validate() error {
	if s.Name == "" || len(s.Columns) == 0 || s.Doc == "" {
		return fmt.Errorf("vtab: table %q: name, doc and columns are required", s.Name)
	}
	if s.noValue != "" {
		return fmt.Errorf("vtab: table %s column %s: no Value", s.Name, s.noValue)
	}
	if s.PerNetNS && s.ColumnIndex(netnsColumn) < 0 {
		return fmt.Errorf("vtab: table %s is PerNetNS but declares no %s column", s.Name, netnsColumn)
	}
	seen := map[string]bool{}
	for _, c := range s.Columns {
		if len(c.Push) > 0 && !s.Keyed && c.Name != netnsNameColumn && c.Name != netnsColumn {
			return fmt.Errorf("vtab: table %s pushes %s down but declares no Key", s.Name, c.Name)
		}
		switch c.Type {
		case Text, Integer, Real:
		default:
			return fmt.Errorf("vtab: table %s column %s: unknown type %q", s.Name, c.Name, c.Type)
		}
		if seen[c.Name] {
			return fmt.Errorf("vtab: table %s: column %s declared twice", s.Name, c.Name)
		}
		if c.Exact && (c.Type != Text || len(c.Values) == 0 || !c.pushes(sqlvtab.OpEQ)) {
			return fmt.Errorf("vtab: table %s column %s: Exact needs a TEXT column with Values that pushes =", s.Name, c.Name)
		}
		if c.Doc == "" {
			return fmt.Errorf("vtab: table %s column %s: missing doc", s.Name, c.Name)
		}
		seen[c.Name] = true
	}
	return nil
}

func (c ColumnSchema) pushes(op sqlvtab.ConstraintOp) bool {
	for _, p := range c.Push {
		if p == op {
			return true
		}
	}
	return false
}

// Constraint is one pushed-down condition: `Column Op Value`.
type Constraint struct {
	Column string
	Op     sqlvtab.ConstraintOp
	Value  any
}

// Query is what a producer knows about the statement it serves: which
// columns are used and which pushed-down constraints apply.
type Query struct {
	schema      *Schema
	used        colSet
	Constraints []Constraint
}

// Uses reports whether the statement reads any of the named columns.
// Producers skip costly work (an fd scan, a name lookup) for unused columns.
func (q *Query) Uses(names ...string) bool {
	for _, n := range names {
		if i := q.schema.ColumnIndex(n); i >= 0 && q.used.has(i) {
			return true
		}
	}
	return false
}

// Needs reports whether any column the statement reads declares one of
// the costs in c: producers skip the work (an fd scan, a cgroup read)
// otherwise.
func (q *Query) Needs(c Cost) bool {
	for i, col := range q.schema.Columns {
		if col.Cost&c != 0 && q.used.has(i) {
			return true
		}
	}
	return false
}

// Values returns the values of the constraints on column with operator op,
// in the order SQLite passed them.
func (q *Query) Values(column string, op sqlvtab.ConstraintOp) []any {
	var out []any
	for _, c := range q.Constraints {
		if c.Column == column && c.Op == op {
			out = append(out, c.Value)
		}
	}
	return out
}

// rowKey joins the fields that identify a row into a Table.Key.
func rowKey(parts ...any) string {
	var b strings.Builder
	for _, p := range parts {
		fmt.Fprint(&b, p)
		b.WriteByte(0)
	}
	return b.String()
}

// closedWord returns the word of col's closed set that s equals under
// some collation (see foldText): s itself when it is one, else the one
// word differing only in ASCII case or trailing spaces. ok is false when
// the column has no closed set or no word matches.
func closedWord(col ColumnSchema, s string) (string, bool) {
	if len(col.Values) == 0 {
		return "", false
	}
	f := foldText(s)
	word, n := "", 0
	for _, w := range col.Values {
		if w == s {
			return w, true
		}
		if foldText(w) == f {
			word, n = w, n+1
		}
	}
	return word, n == 1
}

// checkClosedSet rejects `col = v` when col has a closed set of values
// and v, as text, is none of them: a typo must not read as "no rows". A
// word equal to one of them but for ASCII case or trailing spaces is
// accepted when folded is true (the statement compares under NOCASE or
// RTRIM, or the engine could not tell) and is an error otherwise. NULL,
// REAL and BLOB values are left to SQLite.
func checkClosedSet(s *Schema, col ColumnSchema, v any, folded bool) error {
	if len(col.Values) == 0 {
		return nil
	}
	text, ok := affinity(Text, v).(string)
	if !ok {
		return nil
	}
	w, ok := closedWord(col, text)
	if ok && (w == text || folded) {
		return nil
	}
	hint := ""
	if ok {
		hint = fmt.Sprintf(" (did you mean '%s'?)", w)
	}
	valid := col.ValuesHelp
	if valid == "" {
		valid = strings.Join(col.Values, ", ")
	}
	return fmt.Errorf("%s.%s: no such value '%s'%s; valid values: %s", s.Name, col.Name, text, hint, valid)
}

// closedSet returns the distinct words f gives for each element of
// domain, sorted: a column's Values derived from the same table its
// values come from, so the two cannot drift.
func closedSet[D any](domain []D, f func(D) string) []string {
	seen := map[string]bool{}
	var out []string
	for _, d := range domain {
		if w := f(d); !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	sort.Strings(out)
	return out
}
