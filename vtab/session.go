package vtab

import (
	"cmp"
	"context"
	"fmt"
	"hash/maphash"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	sqlvtab "modernc.org/sqlite/vtab"
)

// maxReadsPerStatement bounds how many differently-filtered kernel reads
// one table makes in one statement (an IN list, or a join feeding pushed
// values). Past it the table reads each selected namespace once, unfiltered,
// and the adapter's equality index answers the remaining lookups.
const maxReadsPerStatement = 4

// session is one connection's state: the context of the running statement
// and the snapshots its cursors share. A statement lasts while any cursor
// of the connection is open, so a nested-loop join or a correlated
// subquery reuses one snapshot instead of re-reading the kernel per row.
type session struct {
	eng *Engine

	mu sync.Mutex
	// pending is the statement Engine.QueryContext is about to run; the
	// statement's first cursor claims it as stmt, and the last cursor to
	// close drops it, so a later statement run through DB() directly never
	// inherits a stale, cancelled context.
	pending *statement
	stmt    *statement
	open    int
	// The statement's reads, dropped when its last cursor closes.
	parts   map[string][]*part     // one namespace's read, by table, inode and pushed constraints
	snaps   map[string][]*snapshot // what a Filter sees, by table, namespaces and pushed constraints
	targets map[string][]nsTarget  // resolved namespace selectors, by table and selector values
	reads   map[string]map[string]bool
	ids     map[string]*rowIDs // rowid assignment per table
	// opened counts the statement's cursors per table: a table streams
	// only through the one cursor its statement opens on it.
	opened map[string]int
}

// statement is what the engine knows about the statement it runs.
type statement struct {
	ctx context.Context
	// folded is true when the statement may compare text under a
	// collation other than BINARY (NOCASE, RTRIM), or when the engine
	// could not tell: a value differing from a closed-set word only in
	// case or trailing spaces then matches it instead of being an error.
	folded bool
	// probing is true while the engine EXPLAINs the statement: a DELETE
	// on a killable table the authorizer sees then makes it a kill.
	probing bool
	// kill, for a DELETE on a killable table, keeps what it read and did.
	kill *killLog
	// streams names the tables the statement reads exactly once, whose
	// rows may stream (streamingTables); nil when the engine did not
	// analyse the statement, which then reads every table into a snapshot.
	streams map[string]bool
}

// part is one read of one table in one namespace.
type part struct {
	rows  rowSet
	used  colSet
	inode uint64
	name  any // the namespace's name, what netns_name shows
	// rowids maps row numbers to the rowids SQLite sees, the same in every
	// snapshot that holds this part.
	rowids []int64
	// exact are the read's equalities on columns the producer matches
	// exactly (Column.Exact): two reads that differ on one hold no row
	// in common.
	exact []Constraint
}

// disjoint reports whether parts p and o can hold no row of the same
// identity: they are of other namespaces, or read with different values
// of one exactly matched column.
func (p *part) disjoint(o *part) bool {
	if p.inode != o.inode {
		return true
	}
	for _, a := range p.exact {
		for _, b := range o.exact {
			if a.Column == b.Column && a.Value != b.Value {
				return true
			}
		}
	}
	return false
}

// exactEqualities returns q's pushed equalities on columns the producer
// matches exactly whose value is one of the column's closed-set words
// itself (not one equal to it only under a collation): two different
// words select different rows.
func exactEqualities(q *Query) []Constraint {
	var eq []Constraint
	for _, c := range q.Constraints {
		word, text := c.Value.(string)
		i := q.schema.ColumnIndex(c.Column)
		if !text || c.Op != sqlvtab.OpEQ || i < 0 {
			continue
		}
		if col := q.schema.Columns[i]; col.Exact && slices.Contains(col.Values, word) {
			eq = append(eq, c)
		}
	}
	return eq
}

// snapshot is what one Filter reads: the parts of the selected namespaces,
// plus the equality indexes built over them.
type snapshot struct {
	rows  *nsRows
	used  colSet
	index map[int]*columnIndex
	mu    sync.Mutex
}

// rowid returns the rowid of row number r.
func (s *snapshot) rowid(r int) int64 {
	p, local := s.rows.part(r)
	return p.rowids[local]
}

// rowIDs gives one table's rows the same rowid in every read of a
// statement: by identity (Table.Key plus namespace) when the table has
// one, else by the part they come from, which the session shares between
// every Filter that selects the same namespace with the same constraints.
//
// Identities cost memory only when they are needed: a keyed part that
// can share no row with the parts before it (the first, or one of
// another namespace or another value of an exactly matched column: the
// arms of family IN ('inet', 'inet6')) takes rowids in order without
// looking at its keys; a part that may share rows makes the earlier ones
// indexed. The index holds a 64-bit hash of
// each identity and where its row is, not the identity: a hash seen
// before is checked against that row's key, and the rare different key
// behind an equal hash is kept apart in exact, so rowids stay exact.
type rowIDs struct {
	next  int64
	parts int64
	// keyed are the keyed parts assigned so far; the first indexed of
	// them are in byHash, and those after took rowids in order.
	keyed   []*part
	indexed int
	seed    maphash.Seed
	sum     func(key string) uint64 // the hash, when a test sets one
	byHash  map[uint64]int64
	where   []rowLoc // by rowid: the first row that took it
	exact   map[string]int64
}

// rowLoc is a row of one of rowIDs.keyed.
type rowLoc struct{ part, row int32 }

// assign sets p's rowids.
func (ids *rowIDs) assign(p *part) {
	n := p.rows.Len()
	p.rowids = make([]int64, n)
	if !p.rows.Keyed() {
		// No identity: keep parts apart so rowids never collide.
		base := ids.parts << 32
		ids.parts++
		for r := range p.rowids {
			p.rowids[r] = base + int64(r)
		}
		return
	}
	disjoint := true
	for _, o := range ids.keyed {
		disjoint = disjoint && p.disjoint(o)
	}
	ids.keyed = append(ids.keyed, p)
	if disjoint {
		// Every row is new.
		for r := range p.rowids {
			p.rowids[r] = ids.next
			ids.next++
		}
		return
	}
	if ids.byHash == nil {
		ids.seed = maphash.MakeSeed()
		ids.byHash = make(map[uint64]int64, n)
		ids.where = make([]rowLoc, 0, ids.next+int64(n))
	}
	for int64(len(ids.where)) < ids.next {
		ids.where = append(ids.where, rowLoc{}) // set below
	}
	last := len(ids.keyed) - 1
	for ; ids.indexed < last; ids.indexed++ {
		// Rows that took rowids in order keep them.
		kp := ids.keyed[ids.indexed]
		for r, id := range kp.rowids {
			ids.where[id] = rowLoc{int32(ids.indexed), int32(r)}
			ids.index(ids.indexed, r, id)
		}
	}
	for r := range p.rowids {
		p.rowids[r] = ids.idFor(last, r)
	}
	ids.indexed++
}

// hash is the index's hash of row r of keyed part p, whose key is key.
func (ids *rowIDs) hash(p *part, key string) uint64 {
	if ids.sum != nil {
		return ids.sum(key) ^ p.inode*0x9e3779b97f4a7c15
	}
	return maphash.String(ids.seed, key) ^ p.inode*0x9e3779b97f4a7c15
}

// exactKey is the identity kept in rowIDs.exact.
func exactKey(p *part, key string) string {
	return key + "\x00" + strconv.FormatUint(p.inode, 10)
}

// index records that row r of keyed part pi has rowid id.
func (ids *rowIDs) index(pi, r int, id int64) {
	p := ids.keyed[pi]
	key := p.rows.Key(r)
	h := ids.hash(p, key)
	first, seen := ids.byHash[h]
	if !seen {
		ids.byHash[h] = id
		return
	}
	if ids.sameRow(first, p, key) {
		return // the same identity twice in one read: the first answers
	}
	if ids.exact == nil {
		ids.exact = map[string]int64{}
	}
	if _, ok := ids.exact[exactKey(p, key)]; !ok {
		ids.exact[exactKey(p, key)] = id
	}
}

// sameRow reports whether the row that took rowid id has the identity
// key in p's namespace.
func (ids *rowIDs) sameRow(id int64, p *part, key string) bool {
	at := ids.where[id]
	q := ids.keyed[at.part]
	return q.inode == p.inode && q.rows.Key(int(at.row)) == key
}

// idFor returns the rowid of row r of keyed part pi, taking the next one
// when its identity is new.
func (ids *rowIDs) idFor(pi, r int) int64 {
	p := ids.keyed[pi]
	key := p.rows.Key(r)
	h := ids.hash(p, key)
	id, seen := ids.byHash[h]
	if !seen {
		id = ids.newID(pi, r)
		ids.byHash[h] = id
		return id
	}
	if ids.sameRow(id, p, key) {
		return id
	}
	// Another identity with the same hash: match it exactly.
	k := exactKey(p, key)
	if id, ok := ids.exact[k]; ok {
		return id
	}
	if ids.exact == nil {
		ids.exact = map[string]int64{}
	}
	id = ids.newID(pi, r)
	ids.exact[k] = id
	return id
}

// newID takes the next rowid for row r of keyed part pi.
func (ids *rowIDs) newID(pi, r int) int64 {
	id := ids.next
	ids.next++
	ids.where = append(ids.where, rowLoc{int32(pi), int32(r)})
	return id
}

func (s *session) acquire(table string) {
	s.mu.Lock()
	if s.open == 0 {
		s.stmt, s.pending = s.pending, nil
		s.opened = map[string]int{}
	}
	s.open++
	s.opened[table]++
	s.mu.Unlock()
}

// exactAllowed reports whether BestIndex may leave an exact pushed
// equality (Column.Exact) unchecked by SQLite for the statement being
// planned: one the engine analysed, that compares closed-set words under
// BINARY only (not folded), so that a value passing checkClosedSet is a
// word itself, which the producer matches exactly; and not while the
// engine EXPLAINs it, whose listing must show every comparison's
// collation. The statement is the one its cursors will claim (pending),
// or the running one.
func (s *session) exactAllowed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.pending
	if s.open > 0 {
		st = s.stmt
	}
	return st != nil && !st.folded && !st.probing
}

// mayStream reports whether the running statement's cursor on table may
// stream its rows: the engine found the statement reads the table once
// (statement.streams), and it is the only cursor the statement opened
// on the table so far (a guard against a statement the engine did not
// analyse inheriting another's decision). The statement must not be a
// kill, which keeps what it read.
func (s *session) mayStream(table string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stmt != nil && s.stmt.kill == nil && s.stmt.streams[table] && s.opened[table] == 1
}

func (s *session) release() {
	s.mu.Lock()
	s.open--
	if s.open <= 0 {
		s.open = 0
		s.parts, s.snaps, s.targets, s.reads, s.ids, s.opened = nil, nil, nil, nil, nil, nil
		s.stmt = nil
	}
	s.mu.Unlock()
}

func (s *session) context() context.Context {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stmt == nil || s.stmt.ctx == nil {
		return context.Background()
	}
	return s.stmt.ctx
}

// folded reports whether closed-set words may match case-insensitively
// in the running statement (see statement.folded). A statement the
// engine did not see being prepared may.
func (s *session) folded() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stmt == nil || s.stmt.folded
}

func (s *session) setStatement(st *statement) {
	s.mu.Lock()
	s.pending = st
	s.mu.Unlock()
}

func constraintKey(cs []Constraint) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = fmt.Sprintf("%s\x00%d\x00%T\x00%v", c.Column, c.Op, c.Value, c.Value)
	}
	sort.Strings(parts)
	return strings.Join(parts, "\x01")
}

// snapshot returns the rows for q in the namespaces sel selects, reading
// the kernel only for what no read of this statement already covers.
// Past maxReadsPerStatement distinct filtered reads of a table, the
// namespaces are read unfiltered instead, and dropped returns the pushed
// constraints the read did not apply, for the caller to answer from the
// snapshot's index (SQLite re-checks them all in any case).
func (s *session) snapshot(m *module, q *Query, sel []Constraint) (snap *snapshot, dropped []Constraint, err error) {
	ctx := s.context()
	name := m.schema.Name
	s.mu.Lock()
	if s.snaps == nil {
		s.parts = map[string][]*part{}
		s.snaps = map[string][]*snapshot{}
		s.targets = map[string][]nsTarget{}
		s.reads = map[string]map[string]bool{}
		s.ids = map[string]*rowIDs{}
	}
	s.mu.Unlock()

	targets, err := s.resolve(m, q, sel)
	if err != nil {
		return nil, nil, err
	}
	ckey := constraintKey(q.Constraints)
	s.mu.Lock()
	if len(q.Constraints) > 0 && !s.reads[name][ckey] {
		if len(s.reads[name]) >= maxReadsPerStatement {
			// Too many distinct filtered reads: serve every later
			// lookup from one unfiltered read per namespace.
			dropped = q.Constraints
			q = &Query{schema: q.schema, used: q.used}
			ckey = ""
		} else {
			if s.reads[name] == nil {
				s.reads[name] = map[string]bool{}
			}
			s.reads[name][ckey] = true
		}
	}
	inodes := make([]string, len(targets))
	for i, t := range targets {
		inodes[i] = strconv.FormatUint(t.ns.Inode, 10)
	}
	skey := name + "\x02" + strings.Join(inodes, ",") + "\x02" + ckey
	for _, snap := range s.snaps[skey] {
		if snap.used.covers(q.used) {
			s.mu.Unlock()
			return snap, dropped, nil
		}
	}
	// Read with every column an earlier snapshot of this key needed, so
	// the cursors of a self-join end up sharing one read.
	for _, snap := range s.snaps[skey] {
		q.used = q.used.union(snap.used)
	}
	s.mu.Unlock()

	rows := &nsRows{nameCol: -1, inoCol: -1}
	if m.schema.PerNetNS {
		rows.nameCol = m.schema.ColumnIndex(netnsNameColumn)
		rows.inoCol = m.schema.ColumnIndex(netnsColumn)
	}
	for _, t := range targets {
		p, err := s.part(ctx, m, q, ckey, t)
		if err != nil {
			return nil, nil, err
		}
		if p != nil {
			rows.add(p)
		}
	}
	snap = &snapshot{rows: rows, used: q.used}
	s.mu.Lock()
	if s.snaps != nil {
		s.snaps[skey] = append(s.snaps[skey], snap)
	}
	s.mu.Unlock()
	return snap, dropped, nil
}

// resolve returns the namespaces sel selects for table m, once per
// statement for each distinct selector.
func (s *session) resolve(m *module, q *Query, sel []Constraint) ([]nsTarget, error) {
	if !m.schema.PerNetNS {
		return []nsTarget{{own: true}}, nil
	}
	key := m.schema.Name + "\x02" + constraintKey(sel)
	if len(sel) == 0 && q.Uses(netnsNameColumn) {
		key += "\x02named"
	}
	s.mu.Lock()
	t, ok := s.targets[key]
	s.mu.Unlock()
	if ok {
		return t, nil
	}
	t, err := selectNamespaces(m.eng.src, q, sel)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", m.schema.Name, err)
	}
	s.mu.Lock()
	if s.targets != nil {
		s.targets[key] = t
	}
	s.mu.Unlock()
	return t, nil
}

// part returns table m's rows in namespace t under q's pushed constraints
// (whose key is ckey), reading them unless this statement already has. It
// returns nil for a namespace '*' chose that could not be read (noticed).
func (s *session) part(ctx context.Context, m *module, q *Query, ckey string, t nsTarget) (*part, error) {
	name := m.schema.Name
	pkey := name + "\x02" + strconv.FormatUint(t.ns.Inode, 10) + "\x02" + ckey
	s.mu.Lock()
	for _, p := range s.parts[pkey] {
		if p.used.covers(q.used) {
			s.mu.Unlock()
			return p, nil
		}
	}
	s.mu.Unlock()

	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	rows, err := m.produce(ctx, q, t)
	if err != nil {
		if t.optional {
			m.skipNamespace(&t, err)
			return nil, nil
		}
		return nil, err
	}
	p := &part{rows: rows, used: q.used, inode: t.ns.Inode, name: t.name(), exact: exactEqualities(q)}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.parts == nil { // the statement ended meanwhile
		(&rowIDs{}).assign(p)
		return p, nil
	}
	ids := s.ids[name]
	if ids == nil {
		ids = &rowIDs{}
		s.ids[name] = ids
	}
	ids.assign(p)
	s.parts[pkey] = append(s.parts[pkey], p)
	if s.stmt != nil && s.stmt.kill != nil && m.schema.Killable {
		s.stmt.kill.add(p, t)
	}
	return p, nil
}

// lookup returns the ascending row numbers whose column col equals key
// (a key made by indexKey), building that column's index on first use.
func (s *snapshot) lookup(col int, key any) []int32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.index == nil {
		s.index = map[int]*columnIndex{}
	}
	idx, ok := s.index[col]
	if !ok {
		idx = newColumnIndex(s.rows.Len(), func(r int) any { return s.rows.Value(r, col) })
		s.index[col] = idx
	}
	return idx.find(key)
}

// newColumnIndex indexes the n values value returns.
func newColumnIndex(n int, value func(r int) any) *columnIndex {
	idx := &columnIndex{}
	for r := 0; r < n; r++ {
		switch k, _ := valueKey(value(r)); k := k.(type) {
		case float64:
			idx.nums.add(k, r)
		case string:
			idx.texts.add(k, r)
		} // NULL and blobs never equal a key
	}
	idx.nums.sort()
	idx.texts.sort()
	return idx
}

// find returns the ascending rows whose key (a key made by indexKey) is key.
func (idx *columnIndex) find(key any) []int32 {
	switch k := key.(type) {
	case float64:
		return idx.nums.find(k)
	case string:
		return idx.texts.find(k)
	}
	return nil
}

// columnIndex answers equalities on one column of a snapshot: its rows'
// keys (valueKey) in two sorted arrays, a dozen bytes a row for numbers,
// instead of a map entry and a slice per distinct value.
type columnIndex struct {
	nums  sortedKeys[float64]
	texts sortedKeys[string]
}

// sortedKeys are row numbers ordered by (key, row): the rows of one key
// are a run of rows, ascending.
type sortedKeys[K cmp.Ordered] struct {
	keys []K
	rows []int32
}

func (x *sortedKeys[K]) add(k K, r int) {
	x.keys = append(x.keys, k)
	x.rows = append(x.rows, int32(r))
}

// sort orders the pairs by key, then row.
func (x *sortedKeys[K]) sort() {
	sort.Sort(x)
	x.keys, x.rows = slices.Clip(x.keys), slices.Clip(x.rows)
}

func (x *sortedKeys[K]) Len() int { return len(x.keys) }
func (x *sortedKeys[K]) Less(i, j int) bool {
	if c := cmp.Compare(x.keys[i], x.keys[j]); c != 0 {
		return c < 0
	}
	return x.rows[i] < x.rows[j]
}
func (x *sortedKeys[K]) Swap(i, j int) {
	x.keys[i], x.keys[j] = x.keys[j], x.keys[i]
	x.rows[i], x.rows[j] = x.rows[j], x.rows[i]
}

// find returns the rows whose key is k, ascending.
func (x *sortedKeys[K]) find(k K) []int32 {
	i, found := slices.BinarySearch(x.keys, k)
	if !found {
		return nil
	}
	j := i + 1
	for j < len(x.keys) && x.keys[j] == k {
		j++
	}
	return x.rows[i:j:j]
}
