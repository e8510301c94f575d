package vtab

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	sqlvtab "modernc.org/sqlite/vtab"
)

// heldModule is the name of the module serving held tables (Engine.Hold).
const heldModule = "netsql_held"

// HeldColumn declares one column of a held table.
type HeldColumn struct {
	Name string
	Type string // Text, Integer or Real
}

// Held is a table whose rows a caller holds in memory: a snapshot taken
// once (netsql top reads the kernel once per refresh and holds what it
// read) that statements then read as a virtual table, without a copy
// into SQLite. Rows are added with Append, columns with AddColumn; a
// Held must not change once held (Engine.Hold).
//
// Values are kept by column, each in the smallest form that holds it
// exactly: integers as int64s, reals as float64s, text as an index into
// the column's distinct values (kept boxed: a state or a program name
// is one value however many rows show it, and reading it allocates
// nothing); a column mixing kinds keeps its values as they are.
type Held struct {
	Columns []HeldColumn
	n       int
	data    []heldData

	mu    sync.Mutex
	index map[int]*columnIndex       // equality indexes, built on first use
	texts map[int]map[string][]int32 // a text column's rows by valueKey
}

// heldKind is how a held column stores its values.
type heldKind uint8

const (
	heldNone  heldKind = iota // every value so far is NULL
	heldInt                   // ints
	heldFloat                 // floats
	heldText                  // texts, indexes into dict
	heldAny                   // anys, as given
)

// heldData is one column of a Held.
type heldData struct {
	kind   heldKind
	nulls  []uint64 // bit r: row r is NULL (typed kinds)
	ints   []int64
	floats []float64
	texts  []uint32
	dict   []any // the distinct texts, boxed
	dictOf map[string]uint32
	anys   []any
	room   int // rows to make room for when the kind is known
}

// NewHeld returns an empty Held with the given columns, with room for
// rows rows (a guess: the previous read's count; more may be appended).
func NewHeld(cols []HeldColumn, rows int) *Held {
	h := &Held{Columns: cols, data: make([]heldData, len(cols))}
	for i := range h.data {
		h.data[i].room = rows
	}
	return h
}

// Len is the number of rows.
func (h *Held) Len() int { return h.n }

// Append adds a row: one value per column, in the order of Columns:
// nil, int64, float64, string or []byte.
func (h *Held) Append(row []any) {
	for c := range h.data {
		h.data[c].add(h.n, row[c])
	}
	h.n++
}

// AddColumn adds a column whose value in row r is value(r).
func (h *Held) AddColumn(col HeldColumn, value func(r int) any) {
	d := heldData{room: h.n}
	for r := 0; r < h.n; r++ {
		d.add(r, value(r))
	}
	h.Columns = append(h.Columns, col)
	h.data = append(h.data, d)
}

// Value returns row r's value of column c.
func (h *Held) Value(r, c int) any { return h.data[c].value(r) }

// value returns row r's value.
func (d *heldData) value(r int) any {
	if d.kind == heldAny {
		return d.anys[r]
	}
	if d.kind == heldNone || d.nulls[r/64]&(1<<(r%64)) != 0 {
		return nil
	}
	switch d.kind {
	case heldInt:
		return d.ints[r]
	case heldFloat:
		return d.floats[r]
	}
	return d.dict[d.texts[r]]
}

// add stores v as row r, the next row.
func (d *heldData) add(r int, v any) {
	kind := heldAny
	switch v.(type) {
	case nil:
		kind = heldNone
	case int64:
		kind = heldInt
	case float64:
		kind = heldFloat
	case string:
		kind = heldText
	}
	if d.kind == heldNone && kind != heldNone {
		d.become(kind, r)
	} else if d.kind != heldAny && kind != heldNone && kind != d.kind {
		d.become(heldAny, r)
	}
	if d.kind == heldAny {
		d.anys = append(d.anys, v)
		return
	}
	if r/64 >= len(d.nulls) {
		if d.nulls == nil {
			d.nulls = make([]uint64, 0, d.room/64+1)
		}
		d.nulls = append(d.nulls, 0)
	}
	if kind == heldNone {
		d.nulls[r/64] |= 1 << (r % 64)
	}
	switch d.kind {
	case heldInt:
		x, _ := v.(int64)
		d.ints = append(d.ints, x)
	case heldFloat:
		x, _ := v.(float64)
		d.floats = append(d.floats, x)
	case heldText:
		var i uint32
		if s, ok := v.(string); ok {
			var seen bool
			if i, seen = d.dictOf[s]; !seen {
				if d.dictOf == nil {
					d.dictOf = map[string]uint32{}
				}
				i = uint32(len(d.dict))
				d.dictOf[s] = i
				d.dict = append(d.dict, v)
			}
		}
		d.texts = append(d.texts, i)
	}
}

// become changes how the column's first n rows are stored to kind.
func (d *heldData) become(kind heldKind, n int) {
	old := *d
	*d = heldData{kind: kind}
	room := max(old.room, n+1)
	if kind == heldAny {
		d.anys = make([]any, n, room)
		for r := range n {
			d.anys[r] = old.value(r)
		}
		return
	}
	// Every row so far is NULL (old.kind is heldNone).
	d.nulls = old.nulls
	for r := range n {
		if r/64 >= len(d.nulls) {
			d.nulls = append(d.nulls, 0)
		}
		d.nulls[r/64] |= 1 << (r % 64)
	}
	switch kind {
	case heldInt:
		d.ints = make([]int64, n, room)
	case heldFloat:
		d.floats = make([]float64, n, room)
	case heldText:
		d.texts = make([]uint32, n, room)
	}
}

// lookup returns the ascending rows whose column col equals key (a key
// made by indexKey), building that column's index on first use: for a
// text column, the rows of each distinct text's key, found in one pass.
func (h *Held) lookup(col int, key any) []int32 {
	h.mu.Lock()
	defer h.mu.Unlock()
	if d := &h.data[col]; d.kind == heldText {
		k, ok := key.(string)
		if !ok {
			return nil // a text equals no number
		}
		if h.texts == nil {
			h.texts = map[int]map[string][]int32{}
		}
		byKey, ok := h.texts[col]
		if !ok {
			keys := make([]string, len(d.dict))
			for i, v := range d.dict {
				kv, _ := valueKey(v)
				keys[i], _ = kv.(string)
			}
			byKey = map[string][]int32{}
			for r, i := range d.texts {
				if d.nulls[r/64]&(1<<(r%64)) == 0 {
					byKey[keys[i]] = append(byKey[keys[i]], int32(r))
				}
			}
			h.texts[col] = byKey
		}
		return byKey[k]
	}
	if h.index == nil {
		h.index = map[int]*columnIndex{}
	}
	idx, ok := h.index[col]
	if !ok {
		idx = newColumnIndex(h.n, func(r int) any { return h.Value(r, col) })
		h.index[col] = idx
	}
	return idx.find(key)
}

// heldTables is an engine's registry of held tables, by the id their
// CREATE VIRTUAL TABLE names.
type heldTables struct {
	mu     sync.Mutex
	byName map[string]int // "schema.table" -> id
	byID   map[int]*Held
	nextID int
}

func (r *heldTables) get(id int) *Held {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byID[id]
}

// Hold makes h the rows of the virtual table schema.name (an attached
// database's, e.g. netsql top's snap.sockets), creating the table on
// first use or when its columns change and replacing its rows otherwise.
// Statements read it as any table; nothing writes to it. A statement
// running while Hold replaces the rows keeps reading the ones its scan
// started with.
func (e *Engine) Hold(ctx context.Context, schema, name string, h *Held) error {
	if len(h.data) != len(h.Columns) || len(h.Columns) == 0 {
		return fmt.Errorf("vtab: hold %s.%s: %d columns declared, %d held", schema, name, len(h.Columns), len(h.data))
	}
	key := schema + "." + name
	r := &e.held
	r.mu.Lock()
	if id, ok := r.byName[key]; ok && slices.Equal(r.byID[id].Columns, h.Columns) {
		r.byID[id] = h
		r.mu.Unlock()
		return nil
	}
	if r.byName == nil {
		r.byName, r.byID = map[string]int{}, map[int]*Held{}
	}
	if old, ok := r.byName[key]; ok {
		delete(r.byID, old)
		delete(r.byName, key)
	}
	r.nextID++
	id := r.nextID
	r.byID[id] = h
	r.mu.Unlock()
	table := quoteIdent(schema) + "." + quoteIdent(name)
	for _, stmt := range []string{
		"DROP TABLE IF EXISTS " + table,
		fmt.Sprintf("CREATE VIRTUAL TABLE %s USING %s(%d)", table, heldModule, id),
	} {
		if _, err := e.db.ExecContext(ctx, stmt); err != nil {
			r.mu.Lock()
			delete(r.byID, id)
			r.mu.Unlock()
			return fmt.Errorf("vtab: hold %s: %w", key, err)
		}
	}
	r.mu.Lock()
	r.byName[key] = id
	r.mu.Unlock()
	return nil
}

func quoteIdent(id string) string { return `"` + strings.ReplaceAll(id, `"`, `""`) + `"` }

// heldMod is the module of held tables: its one argument is the id Hold
// gave the table.
type heldMod struct{ eng *Engine }

func (m *heldMod) Create(ctx sqlvtab.Context, args []string) (sqlvtab.Table, error) {
	return m.Connect(ctx, args)
}

func (m *heldMod) Connect(ctx sqlvtab.Context, args []string) (sqlvtab.Table, error) {
	if len(args) < 4 {
		return nil, fmt.Errorf("vtab: held table: missing id argument")
	}
	id, err := strconv.Atoi(strings.TrimSpace(args[len(args)-1]))
	if err != nil {
		return nil, fmt.Errorf("vtab: held table: bad id %q", args[len(args)-1])
	}
	h := m.eng.held.get(id)
	if h == nil {
		return nil, fmt.Errorf("vtab: held table %d: no such table", id)
	}
	var b strings.Builder
	b.WriteString("CREATE TABLE x(")
	for i, c := range h.Columns {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %s", quoteIdent(c.Name), c.Type)
	}
	b.WriteString(")")
	if err := ctx.Declare(b.String()); err != nil {
		return nil, fmt.Errorf("vtab: declare held table %d: %w", id, err)
	}
	return &heldTable{eng: m.eng, id: id, cols: h.Columns}, nil
}

// heldTable is one held table; its rows are whatever Hold last gave.
type heldTable struct {
	eng  *Engine
	id   int
	cols []HeldColumn
}

// BestIndex answers equalities from the held rows' indexes; SQLite
// re-checks every one (an index key may join values that differ, see
// valueKey), so the plan only narrows the rows.
//
// An equality on a column of few values (family, protocol) narrows
// little; it is left to SQLite when the statement wants an order: SQLite
// cannot keep the order of `family IN ('inet', 'inet6')`, whose Filter
// runs once per value, and would sort what both return.
//
// The cost is the rows a plan reads, from the rows held now: all of
// them for a scan, for an equality those of one of the column's distinct
// values (a text column's are known; a number column is taken to have
// many). SQLite weighs that against the sort a plan saves: reading every
// row in the order a GROUP BY needs beats looking up the two values of
// `family IN ('inet', 'inet6')` and sorting what they return.
func (t *heldTable) BestIndex(info *sqlvtab.IndexInfo) error {
	h := t.eng.held.get(t.id)
	rows := 1.0
	if h != nil {
		rows = float64(max(h.Len(), 1))
	}
	var cols []string
	for i := range info.Constraints {
		c := &info.Constraints[i]
		if !c.Usable || c.Column < 0 || c.Column >= len(t.cols) || (c.Op != sqlvtab.OpEQ && c.Op != sqlvtab.OpIS) {
			continue
		}
		d := h.distinct(c.Column)
		if len(info.OrderBy) > 0 && d < fewValues {
			continue
		}
		cols = append(cols, strconv.Itoa(c.Column))
		c.ArgIndex = len(cols) - 1
		rows /= d
	}
	rows = max(rows, 1)
	// The rows come in any order asked for (sorted in Filter, in Go):
	// a GROUP BY on columns of the table then needs no sorter. SQLite
	// passes no term it would order otherwise (a COLLATE other than
	// the column's, NULLS FIRST/LAST), and takes the order back when an
	// IN list runs Filter once per value.
	var order []string
	for _, o := range info.OrderBy {
		if o.Column < 0 || o.Column >= len(t.cols) {
			order = nil
			break
		}
		term := strconv.Itoa(o.Column)
		if o.Desc {
			term += "d"
		}
		order = append(order, term)
	}
	info.OrderByConsumed = len(order) > 0
	// The name leads, as in a live table's plan: streamingTables reads
	// it, and no live table has it.
	info.IdxStr = heldModule + ";" + strings.Join(cols, ",") + ";" + strings.Join(order, ",")
	info.EstimatedCost = rows
	info.EstimatedRows = int64(rows)
	return nil
}

// fewValues is the number of distinct values below which an equality
// narrows too little to give up an order for (see BestIndex).
const fewValues = 8

// distinct is how many distinct values column c holds, as BestIndex
// counts them: a text column's distinct texts (NULL one more), else a
// tenth of the rows.
func (h *Held) distinct(c int) float64 {
	if h == nil || c >= len(h.data) {
		return 10
	}
	if d := &h.data[c]; d.kind == heldText {
		return float64(len(d.dict) + 1)
	}
	return max(float64(h.Len())/10, 10)
}

func (t *heldTable) Open() (sqlvtab.Cursor, error) { return &heldCursor{table: t}, nil }
func (t *heldTable) Disconnect() error             { return nil }
func (t *heldTable) Destroy() error                { return nil }

// heldCursor walks the rows of the Held its Filter found.
type heldCursor struct {
	table *heldTable
	held  *Held
	rows  []int32 // nil with all: every row
	all   bool
	pos   int
}

func (c *heldCursor) Filter(_ int, idxStr string, vals []sqlvtab.Value) error {
	c.held, c.pos, c.all, c.rows = c.table.eng.held.get(c.table.id), 0, true, nil
	if c.held == nil {
		c.all, c.rows = false, []int32{}
		return nil
	}
	parts := strings.Split(idxStr, ";")
	if len(parts) != 3 {
		return fmt.Errorf("vtab: held table: bad plan %q", idxStr)
	}
	if err := c.lookups(parts[1], vals); err != nil {
		return fmt.Errorf("vtab: held table: bad plan %q", idxStr)
	}
	if parts[2] != "" {
		var order []heldOrder
		for _, f := range strings.Split(parts[2], ",") {
			desc := strings.HasSuffix(f, "d")
			col, err := strconv.Atoi(strings.TrimSuffix(f, "d"))
			if err != nil || col >= len(c.table.cols) {
				return fmt.Errorf("vtab: held table: bad plan %q", idxStr)
			}
			order = append(order, heldOrder{col, desc})
		}
		if c.all {
			c.rows, c.all = make([]int32, c.held.Len()), false
			for r := range c.rows {
				c.rows[r] = int32(r)
			}
		} else {
			c.rows = slices.Clone(c.rows)
		}
		c.held.sort(c.rows, order)
	}
	return nil
}

// lookups narrows the cursor's rows to those the equalities on the
// columns list names (comma-separated) may match, vals their values.
func (c *heldCursor) lookups(list string, vals []sqlvtab.Value) error {
	if list == "" {
		return nil
	}
	for i, f := range strings.Split(list, ",") {
		col, err := strconv.Atoi(f)
		if err != nil || i >= len(vals) || col >= len(c.table.cols) {
			return fmt.Errorf("bad column %q", f)
		}
		key, ok := indexKey(c.table.cols[col].Type, vals[i])
		if !ok {
			continue // SQLite checks it alone
		}
		hits := c.held.lookup(col, key)
		if c.all {
			c.rows, c.all = hits, false
		} else {
			c.rows = intersect(c.rows, hits)
		}
	}
	return nil
}

func (c *heldCursor) Next() error {
	c.pos++
	return nil
}

func (c *heldCursor) Eof() bool {
	if c.all {
		return c.held == nil || c.pos >= c.held.Len()
	}
	return c.pos >= len(c.rows)
}

func (c *heldCursor) row() int {
	if c.all {
		return c.pos
	}
	return int(c.rows[c.pos])
}

func (c *heldCursor) Column(col int) (sqlvtab.Value, error) {
	return c.held.Value(c.row(), col), nil
}

func (c *heldCursor) Rowid() (int64, error) { return int64(c.row()), nil }

func (c *heldCursor) Close() error {
	c.held, c.rows = nil, nil
	return nil
}

// heldOrder is one ORDER BY term: a column, descending or not.
type heldOrder struct {
	col  int
	desc bool
}

// sort orders rows (ascending row numbers) as SQLite's ORDER BY on the
// terms would, ties kept in row order: NULL first, then numbers by
// value, text by its bytes (BINARY), blobs by theirs; desc reverses a
// term.
func (h *Held) sort(rows []int32, order []heldOrder) {
	if len(order) == 1 && h.data[order[0].col].kind == heldText {
		h.data[order[0].col].countingSort(rows, order[0].desc)
		return
	}
	cmps := make([]func(a, b int32) int, len(order))
	for i, o := range order {
		c := h.data[o.col].comparer()
		if o.desc {
			asc := c
			c = func(a, b int32) int { return asc(b, a) }
		}
		cmps[i] = c
	}
	slices.SortStableFunc(rows, func(a, b int32) int {
		for _, cmp := range cmps {
			if c := cmp(a, b); c != 0 {
				return c
			}
		}
		return 0
	})
}

// countingSort orders rows by a text column in one pass: by each
// distinct text's rank, NULL first (last when desc).
func (d *heldData) countingSort(rows []int32, desc bool) {
	rank := d.ranks()
	n := len(d.dict) + 1
	key := func(r int32) int {
		k := 0
		if d.nulls[r/64]&(1<<(r%64)) == 0 {
			k = int(rank[d.texts[r]]) + 1
		}
		if desc {
			k = n - 1 - k
		}
		return k
	}
	start := make([]int, n+1)
	for _, r := range rows {
		start[key(r)+1]++
	}
	for i := 1; i <= n; i++ {
		start[i] += start[i-1]
	}
	out := make([]int32, len(rows))
	for _, r := range rows {
		k := key(r)
		out[start[k]] = r
		start[k]++
	}
	copy(rows, out)
}

// ranks returns, for each distinct text of a text column, its place in
// BINARY order.
func (d *heldData) ranks() []uint32 {
	byText := make([]uint32, len(d.dict))
	for i := range byText {
		byText[i] = uint32(i)
	}
	slices.SortFunc(byText, func(a, b uint32) int { return strings.Compare(d.dict[a].(string), d.dict[b].(string)) })
	rank := make([]uint32, len(d.dict))
	for r, i := range byText {
		rank[i] = uint32(r)
	}
	return rank
}

// comparer returns a comparison of two rows' values of the column in
// SQLite's order (see Held.sort).
func (d *heldData) comparer() func(a, b int32) int {
	null := func(r int32) bool { return d.nulls[r/64]&(1<<(r%64)) != 0 }
	both := func(a, b int32, cmp func() int) int {
		switch na, nb := null(a), null(b); {
		case na && nb:
			return 0
		case na:
			return -1
		case nb:
			return 1
		}
		return cmp()
	}
	switch d.kind {
	case heldNone:
		return func(a, b int32) int { return 0 }
	case heldInt:
		return func(a, b int32) int { return both(a, b, func() int { return cmp.Compare(d.ints[a], d.ints[b]) }) }
	case heldFloat:
		return func(a, b int32) int { return both(a, b, func() int { return cmp.Compare(d.floats[a], d.floats[b]) }) }
	case heldText:
		rank := d.ranks()
		return func(a, b int32) int {
			return both(a, b, func() int { return cmp.Compare(rank[d.texts[a]], rank[d.texts[b]]) })
		}
	}
	return func(a, b int32) int { return compareValues(d.anys[a], d.anys[b]) }
}

// compareValues compares two values as SQLite orders them under BINARY:
// NULL, then numbers by value, then text, then blobs.
func compareValues(a, b any) int {
	class := func(v any) int {
		switch v.(type) {
		case nil:
			return 0
		case int64, float64:
			return 1
		case string:
			return 2
		}
		return 3
	}
	if ca, cb := class(a), class(b); ca != cb {
		return cmp.Compare(ca, cb)
	}
	switch x := a.(type) {
	case int64:
		if y, ok := b.(int64); ok {
			return cmp.Compare(x, y)
		}
		return compareNumbers(float64(x), b)
	case float64:
		return compareNumbers(x, b)
	case string:
		return strings.Compare(x, b.(string))
	case []byte:
		y, _ := b.([]byte)
		return bytes.Compare(x, y)
	}
	return 0
}

// compareNumbers compares a REAL with a number.
func compareNumbers(x float64, b any) int {
	switch y := b.(type) {
	case int64:
		return cmp.Compare(x, float64(y))
	case float64:
		return cmp.Compare(x, y)
	}
	return 0
}
