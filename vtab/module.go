package vtab

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	sqlvtab "modernc.org/sqlite/vtab"
)

// module adapts one declared table to modernc.org/sqlite/vtab. It is
// registered once per engine; each connection's CREATE VIRTUAL TABLE names
// its session as the module argument.
type module struct {
	def    Def
	schema Schema
	eng    *Engine
}

func (m *module) Create(ctx sqlvtab.Context, args []string) (sqlvtab.Table, error) {
	return m.Connect(ctx, args)
}

func (m *module) Connect(ctx sqlvtab.Context, args []string) (sqlvtab.Table, error) {
	if err := ctx.Declare(m.schema.CreateSQL()); err != nil {
		return nil, fmt.Errorf("vtab: declare %s: %w", m.schema.Name, err)
	}
	// argv is module, database, table name, then our one argument.
	if len(args) < 4 {
		return nil, fmt.Errorf("vtab: %s: missing session argument", m.schema.Name)
	}
	id, err := strconv.Atoi(strings.TrimSpace(args[len(args)-1]))
	if err != nil {
		return nil, fmt.Errorf("vtab: %s: bad session argument %q", m.schema.Name, args[len(args)-1])
	}
	sess := m.eng.session(id)
	if sess == nil {
		return nil, fmt.Errorf("vtab: %s: unknown session %d", m.schema.Name, id)
	}
	return &table{mod: m, sess: sess, plans: map[string]*plan{}}, nil
}

// table is one connection's instance of a declared table.
type table struct {
	mod   *module
	sess  *session
	plans map[string]*plan // parsed idxStr, by idxStr
}

// planTerm is one constraint the plan consumes: the column, the operator,
// and whether the producer (pushdown) or the adapter's index applies it.
type planTerm struct {
	col    int
	op     sqlvtab.ConstraintOp
	pushed bool
}

// plan is what BestIndex chose; it travels to Filter encoded in idxStr.
type plan struct {
	used  uint64
	terms []planTerm // in argv order
}

func (p *plan) encode() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%x", p.used)
	for _, t := range p.terms {
		kind := 'i'
		if t.pushed {
			kind = 'p'
		}
		fmt.Fprintf(&b, ";%d:%d:%c", t.col, t.op, kind)
	}
	return b.String()
}

func decodePlan(s string) (*plan, error) {
	parts := strings.Split(s, ";")
	used, err := strconv.ParseUint(parts[0], 16, 64)
	if err != nil {
		return nil, fmt.Errorf("vtab: bad plan %q", s)
	}
	p := &plan{used: used}
	for _, part := range parts[1:] {
		var t planTerm
		var kind rune
		if _, err := fmt.Sscanf(part, "%d:%d:%c", &t.col, &t.op, &kind); err != nil {
			return nil, fmt.Errorf("vtab: bad plan %q: %w", s, err)
		}
		t.pushed = kind == 'p'
		p.terms = append(p.terms, t)
	}
	return p, nil
}

// Planning costs: a kernel read is expensive; a constraint the producer
// narrows helps; an equality the adapter answers from its index makes the
// table cheap as the inner side of a join.
const (
	fullScanCost  = 1e6
	pushedFactor  = 4
	indexedFactor = 1000
)

func (t *table) BestIndex(info *sqlvtab.IndexInfo) error {
	cols := t.mod.schema.Columns
	used := info.ColUsed
	if used&(1<<63) != 0 {
		used = math.MaxUint64 // bit 63 means "column 63 or later"
	}
	// used == 0 is real: SELECT count(*) reads no column, so it costs
	// no fd scan, no name lookup, no tcp_info.
	p := &plan{used: used}
	cost, rows := fullScanCost, float64(100000)
	for i := range info.Constraints {
		c := &info.Constraints[i]
		if !c.Usable || c.Column < 0 || c.Column >= len(cols) {
			continue
		}
		col := cols[c.Column]
		switch {
		case col.pushes(c.Op):
			p.terms = append(p.terms, planTerm{col: c.Column, op: c.Op, pushed: true})
			cost /= pushedFactor
			rows /= pushedFactor
		case c.Op == sqlvtab.OpEQ || c.Op == sqlvtab.OpIS:
			p.terms = append(p.terms, planTerm{col: c.Column, op: sqlvtab.OpEQ})
			cost /= indexedFactor
			rows /= indexedFactor
		default:
			continue
		}
		c.ArgIndex = len(p.terms) - 1
		// SQLite re-checks every constraint: pushdown and the index may
		// return a superset, never miss a row. netns_name is the exception:
		// it selects namespaces ('*', 'pid:N'), rows show their own name.
		c.Omit = col.Name == netnsNameColumn
	}
	info.IdxStr = p.encode()
	info.EstimatedCost = cost
	info.EstimatedRows = int64(math.Max(rows, 1))
	return nil
}

func (t *table) plan(idxStr string) (*plan, error) {
	if p, ok := t.plans[idxStr]; ok {
		return p, nil
	}
	p, err := decodePlan(idxStr)
	if err != nil {
		return nil, err
	}
	t.plans[idxStr] = p
	return p, nil
}

func (t *table) Open() (sqlvtab.Cursor, error) {
	t.sess.acquire()
	return &cursor{table: t}, nil
}

func (t *table) Disconnect() error { return nil }
func (t *table) Destroy() error    { return nil }

// cursor walks the rows of one snapshot that survive the index terms.
type cursor struct {
	table *table
	snap  *snapshot
	rows  []int32 // selected row numbers; nil with all=true means every row
	all   bool
	pos   int
	open  bool
}

func (c *cursor) Filter(_ int, idxStr string, vals []sqlvtab.Value) error {
	p, err := c.table.plan(idxStr)
	if err != nil {
		return err
	}
	schema := &c.table.mod.schema
	q := &Query{schema: schema, used: p.used}
	var lookups []planTerm
	var lookupVals []any
	for i, term := range p.terms {
		if i >= len(vals) {
			break
		}
		if term.pushed {
			q.Constraints = append(q.Constraints, Constraint{Column: schema.Columns[term.col].Name, Op: term.op, Value: vals[i]})
			continue
		}
		lookups = append(lookups, term)
		lookupVals = append(lookupVals, vals[i])
	}
	snap, err := c.table.sess.snapshot(c.table.mod, q)
	if err != nil {
		return err
	}
	c.snap, c.pos, c.all, c.rows = snap, 0, true, nil
	for i, term := range lookups {
		key, ok := indexKey(schema.Columns[term.col].Type, lookupVals[i])
		if !ok {
			continue // SQLite will compare this one itself
		}
		hits := snap.lookup(term.col, key)
		if c.all {
			c.rows, c.all = hits, false
		} else {
			c.rows = intersect(c.rows, hits)
		}
	}
	return nil
}

func (c *cursor) Next() error { c.pos++; return nil }

func (c *cursor) Eof() bool {
	if c.snap == nil {
		return true
	}
	if c.all {
		return c.pos >= c.snap.rows.Len()
	}
	return c.pos >= len(c.rows)
}

func (c *cursor) row() int {
	if c.all {
		return c.pos
	}
	return int(c.rows[c.pos])
}

func (c *cursor) Column(col int) (sqlvtab.Value, error) {
	return c.snap.rows.Value(c.row(), col), nil
}

func (c *cursor) Rowid() (int64, error) { return c.snap.rowid(c.row()), nil }

func (c *cursor) Close() error {
	c.snap, c.rows = nil, nil
	c.table.sess.release()
	return nil
}

// indexKey normalises a constraint value the way SQLite's comparison with
// the column's type affinity would, so the index finds what `=` matches.
// ok is false when the value cannot be normalised with certainty; the
// adapter then leaves that constraint to SQLite.
func indexKey(colType string, v any) (any, bool) {
	switch colType {
	case Integer, Real:
		switch x := v.(type) {
		case int64:
			return float64(x), true
		case float64:
			return x, true
		case string:
			if f, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil {
				return f, true
			}
			return x, true // a non-numeric string equals no number
		}
	case Text:
		switch x := v.(type) {
		case string:
			return x, true
		case int64:
			return strconv.FormatInt(x, 10), true
		}
	}
	return nil, false
}

func intersect(a, b []int32) []int32 {
	out := a[:0:0]
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	return out
}
