package vtab

import (
	"fmt"
	"math"
	"sort"
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
	// nameCol and inoCol are the positions of a PerNetNS table's
	// netns_name and netns columns, -1 for other tables.
	nameCol, inoCol int
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
	// exact: a pushed equality SQLite does not re-check (Column.Exact).
	exact bool
}

// plan is what BestIndex chose; it travels to Filter encoded in idxStr.
// The encoding starts with the table's name, so that the engine can tell
// from an EXPLAIN listing (where idxStr is OP_VFilter's P4) which table
// each VFilter reads (see streamingTables).
type plan struct {
	table string
	used  colSet
	terms []planTerm // in argv order
}

func (p *plan) encode() string {
	var b strings.Builder
	b.WriteString(p.table)
	b.WriteByte(';')
	b.WriteString(p.used.encode())
	for _, t := range p.terms {
		kind := 'i'
		switch {
		case t.exact:
			kind = 'x'
		case t.pushed:
			kind = 'p'
		}
		fmt.Fprintf(&b, ";%d:%d:%c", t.col, t.op, kind)
	}
	return b.String()
}

func decodePlan(s string) (*plan, error) {
	parts := strings.Split(s, ";")
	if len(parts) < 2 {
		return nil, fmt.Errorf("vtab: bad plan %q", s)
	}
	used, err := decodeColSet(parts[1])
	if err != nil {
		return nil, fmt.Errorf("vtab: bad plan %q", s)
	}
	p := &plan{table: parts[0], used: used}
	for _, part := range parts[2:] {
		var t planTerm
		var kind rune
		if _, err := fmt.Sscanf(part, "%d:%d:%c", &t.col, &t.op, &kind); err != nil {
			return nil, fmt.Errorf("vtab: bad plan %q: %w", s, err)
		}
		t.pushed, t.exact = kind == 'p' || kind == 'x', kind == 'x'
		p.terms = append(p.terms, t)
	}
	return p, nil
}

// Planning costs: a kernel read is expensive; a constraint the producer
// narrows helps; an equality the adapter answers from its index makes the
// table cheap as the inner side of a join.
//
// A plan that selects namespaces (netns_name) is costed apart. It must
// win over every plan without the selector, which SQLite would otherwise
// answer from netsql's own namespace and then compare '*' or pid:N with
// the rows' names (the selector is omitted from SQLite's re-check). And
// SQLite must never answer an OR by merging sub-scans (a MULTI-INDEX OR),
// whose rows would be checked against the selector the same way. So a
// selecting plan costs at most selectorCost, below any other plan
// (minCost), and each further term lowers it only a little: two or more
// sub-scans always cost more than the single scan with the selector.
const (
	fullScanCost   = 1e6
	pushedFactor   = 4
	indexedFactor  = 1000
	minCost        = 10
	selectorCost   = 1
	selectorFactor = 0.97
)

func (t *table) BestIndex(info *sqlvtab.IndexInfo) error {
	cols := t.mod.schema.Columns
	// An empty set is real: SELECT count(*) reads no column, so it
	// costs no fd scan, no name lookup, no tcp_info.
	p := &plan{table: t.mod.schema.Name, used: fromColUsed(uint64(info.ColUsed), len(cols))}
	cost, rows := fullScanCost, float64(100000)
	selector, narrowed := false, 0
	exactOK := t.sess.exactAllowed()
	for i := range info.Constraints {
		c := &info.Constraints[i]
		if !c.Usable || c.Column < 0 || c.Column >= len(cols) {
			continue
		}
		col := cols[c.Column]
		switch {
		case col.pushes(c.Op):
			p.terms = append(p.terms, planTerm{col: c.Column, op: c.Op, pushed: true, exact: exactOK && col.Exact && c.Op == sqlvtab.OpEQ})
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
		// return a superset, never miss a row. The exceptions: netns_name
		// selects namespaces ('*', 'pid:N'), rows show their own name;
		// an exact pushed equality (Column.Exact) returns only matches.
		c.Omit = col.Name == netnsNameColumn || p.terms[len(p.terms)-1].exact
		if c.Omit {
			selector = true
		} else {
			narrowed++
		}
	}
	if selector {
		cost = selectorCost * math.Pow(selectorFactor, float64(narrowed))
		rows = 1000 * math.Pow(selectorFactor, float64(narrowed))
	} else {
		cost = math.Max(cost, minCost)
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
	t.sess.acquire(t.mod.schema.Name)
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
	// stream, when set, is the one scan of a table the statement reads
	// once: rows come from the producer as they are read, not from a
	// snapshot. filters counts this cursor's Filter calls: only the
	// first may stream. err is a read error met after Filter, reported by
	// Column (SQLite drops the message of an error from Next).
	stream  *rowStream
	filters int
	err     error
	// served remembers, per namespace and other constraint values, the
	// namespace selector that already returned those rows in this cursor:
	// SQLite runs Filter once per value of `netns_name IN ('A', 'pid:N')`
	// and would otherwise return a namespace two values name twice.
	served map[string]string
}

// lookupTerm is an equality the adapter answers from its index.
type lookupTerm struct {
	col int
	key any
}

// recoverTo turns a panic in a producer or a column getter of table into
// one error line naming the table: a Go stack trace must never escape
// through SQLite, and the engine stays usable.
func recoverTo(table string, err *error) {
	if r := recover(); r != nil {
		msg := strings.Join(strings.Fields(fmt.Sprint(r)), " ")
		*err = fmt.Errorf("%s: internal error: %s", table, msg)
	}
}

func (c *cursor) Filter(_ int, idxStr string, vals []sqlvtab.Value) (err error) {
	defer recoverTo(c.table.mod.schema.Name, &err)
	p, err := c.table.plan(idxStr)
	if err != nil {
		return err
	}
	schema := &c.table.mod.schema
	sess := c.table.sess
	q := &Query{schema: schema, used: p.used}
	var sel []Constraint
	var lookups []lookupTerm
	var ident []string // the values that are not namespace selectors
	for i, term := range p.terms {
		if i >= len(vals) {
			break
		}
		col := schema.Columns[term.col]
		v := vals[i]
		if schema.PerNetNS && (col.Name == netnsColumn || col.Name == netnsNameColumn) {
			sel = append(sel, Constraint{Column: col.Name, Op: sqlvtab.OpEQ, Value: affinity(col.Type, v)})
			continue
		}
		ident = append(ident, fmt.Sprintf("%d\x00%d\x00%T\x00%v", term.col, term.op, v, v))
		if term.op == sqlvtab.OpEQ {
			if err := checkClosedSet(schema, col, v, sess.folded()); err != nil {
				return err
			}
			if matchesNoNumber(col.Type, v) {
				c.closeStream()
				c.snap, c.pos, c.all, c.rows = nil, 0, false, nil
				return nil // no kernel read for `port = 'http'`
			}
		}
		if term.pushed {
			if pv, ok := pushable(col, term.op, v, sess.folded()); ok {
				q.Constraints = append(q.Constraints, Constraint{Column: col.Name, Op: term.op, Value: pv})
				continue
			}
			if term.exact {
				// Not a word of the closed set, and no error: NULL, a
				// REAL or a blob, which equal no word. SQLite does not
				// re-check this constraint: answer no rows here.
				c.closeStream()
				c.snap, c.pos, c.all, c.rows = nil, 0, false, nil
				return nil
			}
		}
		if term.op == sqlvtab.OpEQ {
			if key, ok := indexKey(col.Type, v); ok {
				lookups = append(lookups, lookupTerm{col: term.col, key: key})
			}
		}
	}
	c.closeStream()
	c.filters++
	if c.filters == 1 && c.table.mod.def.streams() && sess.mayStream(schema.Name) {
		targets, err := sess.resolve(c.table.mod, q, sel)
		if err != nil {
			return err
		}
		c.snap, c.pos, c.all, c.rows = nil, 0, false, nil
		c.stream, err = c.table.mod.openStream(sess.context(), q, targets)
		return err
	}
	snap, dropped, err := sess.snapshot(c.table.mod, q, sel)
	if err != nil {
		return err
	}
	for _, d := range dropped {
		if d.Op != sqlvtab.OpEQ {
			continue // SQLite re-checks ranges itself
		}
		ci := schema.ColumnIndex(d.Column)
		if key, ok := indexKey(schema.Columns[ci].Type, d.Value); ok {
			lookups = append(lookups, lookupTerm{col: ci, key: key})
		}
	}
	c.snap, c.pos, c.all, c.rows = snap, 0, true, nil
	for _, l := range lookups {
		hits := snap.lookup(l.col, l.key)
		if c.all {
			c.rows, c.all = hits, false
		} else {
			c.rows = intersect(c.rows, hits)
		}
	}
	c.dedupe(sel, strings.Join(ident, "\x01"))
	return nil
}

// dedupe drops from the cursor's rows the namespaces an earlier Filter of
// this cursor already returned for the same other values under a
// different selector value. A repeated selector value is a join's outer
// row coming back, whose rows must repeat.
func (c *cursor) dedupe(sel []Constraint, ident string) {
	if len(sel) == 0 {
		return
	}
	if c.served == nil {
		c.served = map[string]string{}
	}
	selKey := constraintKey(sel)
	parts := c.snap.rows.parts
	var skip map[int]bool
	for i, p := range parts {
		k := strconv.FormatUint(p.inode, 10) + "\x02" + ident
		prev, seen := c.served[k]
		if !seen {
			c.served[k] = selKey
			continue
		}
		if prev != selKey {
			if skip == nil {
				skip = map[int]bool{}
			}
			skip[i] = true
		}
	}
	if skip == nil {
		return
	}
	starts := c.snap.rows.starts
	keep := func(r int32) bool {
		i := sort.Search(len(starts), func(i int) bool { return starts[i] > int(r) }) - 1
		return !skip[i]
	}
	var out []int32
	if c.all {
		for r := 0; r < c.snap.rows.Len(); r++ {
			if keep(int32(r)) {
				out = append(out, int32(r))
			}
		}
	} else {
		for _, r := range c.rows {
			if keep(r) {
				out = append(out, r)
			}
		}
	}
	c.rows, c.all = out, false
	if c.rows == nil {
		c.rows = []int32{}
	}
}

func (c *cursor) Next() (err error) {
	if c.stream == nil {
		c.pos++
		return nil
	}
	defer recoverTo(c.table.mod.schema.Name, &err)
	if c.err != nil {
		return c.err
	}
	if err := c.stream.advance(); err != nil {
		// SQLite drops the message of an error from Next: keep a row
		// "current" instead, whose Column reports the error with its
		// message. A statement that reads no column gets it from the
		// next Next, without its message.
		c.err = err
	}
	return nil
}

// closeStream stops the cursor's producer, if any.
func (c *cursor) closeStream() {
	if c.stream != nil {
		c.stream.close()
		c.stream = nil
	}
	c.err = nil
}

func (c *cursor) Eof() bool {
	if c.stream != nil {
		return c.err == nil && c.stream.eof()
	}
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

func (c *cursor) Column(col int) (v sqlvtab.Value, err error) {
	defer recoverTo(c.table.mod.schema.Name, &err)
	if c.stream != nil {
		if c.err != nil {
			return nil, c.err
		}
		m := c.table.mod
		return c.stream.value(col, m.nameCol, m.inoCol), nil
	}
	return c.snap.rows.Value(c.row(), col), nil
}

func (c *cursor) Rowid() (int64, error) {
	if c.stream != nil {
		if c.err != nil {
			return 0, c.err
		}
		return c.stream.rowid, nil
	}
	return c.snap.rowid(c.row()), nil
}

func (c *cursor) Close() error {
	c.closeStream()
	c.snap, c.rows = nil, nil
	c.table.sess.release()
	return nil
}

// indexKey normalises an equality's value as SQLite's comparison with a
// column of type colType would see it (the column's affinity applied) and
// then folds it as valueKey does, so the index finds every row `=`
// matches under any collation netsql knows. ok is false when the value
// cannot be normalised with certainty; the adapter then leaves that
// constraint to SQLite.
func indexKey(colType string, v any) (any, bool) {
	switch x := affinity(colType, v).(type) {
	case int64, float64:
		return valueKey(x)
	case string:
		if colType != Text {
			return x, true // text that is no number equals no number
		}
		return valueKey(x)
	}
	return nil, false
}

// valueKey is the index key of a column value: numbers as float64 (an
// INTEGER equals a REAL of the same value), text folded as foldText does.
// Keys may join values that differ (large integers, case): SQLite
// re-checks every row the index returns, so a key must never part values
// that compare equal.
func valueKey(v any) (any, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case string:
		return foldText(x), true
	}
	return nil, false
}

// foldText maps a text to what it equals under every collation netsql
// offers: BINARY, NOCASE (ASCII case), RTRIM (trailing spaces) and
// netstat_if (equal only when BINARY is).
func foldText(s string) string {
	s = strings.TrimRight(s, " ")
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			return strings.Map(func(r rune) rune {
				if r >= 'A' && r <= 'Z' {
					return r + 'a' - 'A'
				}
				return r
			}, s)
		}
	}
	return s
}

// foldInvariant reports whether every collation compares s as BINARY does
// against the values a producer matches it with: no ASCII letter, no
// trailing space.
func foldInvariant(s string) bool {
	return foldText(s) == s && strings.IndexFunc(s, func(r rune) bool { return r >= 'a' && r <= 'z' }) < 0
}

// affinity applies a column's type affinity to a constraint value, as
// SQLite does before comparing them: numeric text becomes a number for an
// INTEGER or REAL column (by SQLite's rules, not Go's: no '1_000', 'inf'
// or hex), a number becomes text for a TEXT column; NaN is NULL.
func affinity(colType string, v any) any {
	switch colType {
	case Integer, Real:
		switch x := v.(type) {
		case string:
			if n, ok := sqliteNumber(x); ok {
				return n
			}
		case float64:
			if math.IsNaN(x) {
				return nil
			}
			if x == math.Trunc(x) && math.Abs(x) < 1<<63 {
				return int64(x)
			}
		}
	case Text:
		if x, ok := v.(int64); ok {
			return strconv.FormatInt(x, 10)
		}
	}
	return v
}

// matchesNoNumber reports whether `col = v` is false for every value a
// numeric column holds (numbers and NULL): v stays text or a blob after
// the column's affinity.
func matchesNoNumber(colType string, v any) bool {
	if colType != Integer && colType != Real {
		return false
	}
	switch affinity(colType, v).(type) {
	case string, []byte:
		return true
	}
	return false
}

// pushable returns the value a producer may apply for `col op v`, or ok
// false when the producer must not see it (SQLite then checks it alone):
// the value after the column's affinity must be one the producer compares
// exactly as SQLite would: a number within float64's exact integers for a
// numeric column; for a TEXT column one of its closed-set words (the value
// brought to that word: checkClosedSet let it through), or any string
// when the statement compares under BINARY only (folded false), else only
// a string no collation folds.
func pushable(col ColumnSchema, op sqlvtab.ConstraintOp, v any, folded bool) (any, bool) {
	v = affinity(col.Type, v)
	const exact = 1 << 53
	switch col.Type {
	case Integer, Real:
		switch x := v.(type) {
		case int64:
			return x, x >= -exact && x <= exact
		case float64:
			return x, !math.IsInf(x, 0) && math.Abs(x) <= exact
		}
	case Text:
		s, ok := v.(string)
		if !ok || op != sqlvtab.OpEQ {
			return nil, false
		}
		if w, ok := closedWord(col, s); ok {
			return w, true
		}
		return s, len(col.Values) == 0 && (!folded || foldInvariant(s))
	}
	return nil, false
}

// sqliteNumber reads text as SQLite's numeric affinity does: optional
// whitespace, sign, digits with an optional fraction and exponent (at
// least one digit), nothing else. An integer that fits int64 stays
// INTEGER; any other number is REAL, then INTEGER when it is a whole
// number int64 holds.
func sqliteNumber(s string) (any, bool) {
	t := strings.Trim(s, " \t\n\r\f\v")
	i := 0
	if i < len(t) && (t[i] == '+' || t[i] == '-') {
		i++
	}
	digits, real := 0, false
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i, digits = i+1, digits+1
	}
	if i < len(t) && t[i] == '.' {
		real = true
		i++
		for i < len(t) && t[i] >= '0' && t[i] <= '9' {
			i, digits = i+1, digits+1
		}
	}
	if digits == 0 {
		return nil, false
	}
	if i < len(t) && (t[i] == 'e' || t[i] == 'E') {
		real = true
		i++
		if i < len(t) && (t[i] == '+' || t[i] == '-') {
			i++
		}
		exp := 0
		for i < len(t) && t[i] >= '0' && t[i] <= '9' {
			i, exp = i+1, exp+1
		}
		if exp == 0 {
			return nil, false
		}
	}
	if i != len(t) {
		return nil, false
	}
	if !real {
		if n, err := strconv.ParseInt(t, 10, 64); err == nil {
			return n, true
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil && !math.IsInf(f, 0) {
		return nil, false
	}
	if f == math.Trunc(f) && math.Abs(f) < 1<<63 {
		return int64(f), true
	}
	return f, true
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
