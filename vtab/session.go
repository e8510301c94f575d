package vtab

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// maxReadsPerStatement bounds how many differently-filtered kernel reads
// one table makes in one statement (an IN list, or a join feeding pushed
// values). Past it the table reads everything once and filters in Go.
const maxReadsPerStatement = 4

// session is one connection's state: the context of the running statement
// and the snapshots its cursors share. A statement lasts while any cursor
// of the connection is open, so a nested-loop join or a correlated
// subquery reuses one snapshot instead of re-reading the kernel per row.
type session struct {
	eng *Engine

	mu sync.Mutex
	// pending is the context of the statement Engine.QueryContext is about
	// to run; the statement's first cursor claims it as ctx, and the last
	// cursor to close drops it, so a later statement run through DB()
	// directly never inherits a stale, cancelled context.
	pending context.Context
	ctx     context.Context
	open    int
	snaps   map[string][]*snapshot // by table name + pushed constraints
	reads   map[string]int         // kernel reads per table this statement
	ids     map[string]*rowIDs     // rowid assignment per table this statement
}

// snapshot is one read of one table plus the indexes built over it.
type snapshot struct {
	rows rowSet
	used uint64
	// rowids maps row numbers to the rowids SQLite sees; nil means the
	// row number is the rowid (the statement's first read of the table).
	rowids []int64
	index  map[int]map[any][]int32
	mu     sync.Mutex
}

// rowid returns the rowid of row number r.
func (s *snapshot) rowid(r int) int64 {
	if s.rowids == nil {
		return int64(r)
	}
	return s.rowids[r]
}

// rowIDs gives one table's rows the same rowid in every read of a
// statement, by identity (Table.Key). The first read's row numbers are its
// rowids; later reads look rows up by key and number new ones onwards.
type rowIDs struct {
	first *snapshot
	byKey map[string]int64
	next  int64
	reads int
}

// assign sets snap's rowids; snap is the table's reads-th read.
func (ids *rowIDs) assign(snap *snapshot) {
	ids.reads++
	if ids.first == nil {
		ids.first, ids.next = snap, int64(snap.rows.Len())
		return
	}
	if !snap.rows.Keyed() {
		// No identity: keep reads apart so rowids never collide.
		snap.rowids = make([]int64, snap.rows.Len())
		base := int64(ids.reads-1) << 32
		for r := range snap.rowids {
			snap.rowids[r] = base + int64(r)
		}
		return
	}
	if ids.byKey == nil {
		ids.byKey = make(map[string]int64, ids.first.rows.Len())
		for r := 0; r < ids.first.rows.Len(); r++ {
			ids.byKey[ids.first.rows.Key(r)] = int64(r)
		}
	}
	snap.rowids = make([]int64, snap.rows.Len())
	for r := range snap.rowids {
		k := snap.rows.Key(r)
		id, seen := ids.byKey[k]
		if !seen {
			id = ids.next
			ids.next++
			ids.byKey[k] = id
		}
		snap.rowids[r] = id
	}
}

func (s *session) acquire() {
	s.mu.Lock()
	if s.open == 0 {
		s.ctx, s.pending = s.pending, nil
	}
	s.open++
	s.mu.Unlock()
}

func (s *session) release() {
	s.mu.Lock()
	s.open--
	if s.open <= 0 {
		s.open = 0
		s.snaps = nil
		s.reads = nil
		s.ids = nil
		s.ctx = nil
	}
	s.mu.Unlock()
}

func (s *session) context() context.Context {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx == nil {
		return context.Background()
	}
	return s.ctx
}

func (s *session) setContext(ctx context.Context) {
	s.mu.Lock()
	s.pending = ctx
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

// snapshot returns the rows for q, reading the kernel only when no
// snapshot of this statement already covers q's columns and constraints.
func (s *session) snapshot(m *module, q *Query) (*snapshot, error) {
	ctx := s.context()
	name := m.schema.Name
	key := name + "\x02" + constraintKey(q.Constraints)

	s.mu.Lock()
	if s.snaps == nil {
		s.snaps = map[string][]*snapshot{}
		s.reads = map[string]int{}
		s.ids = map[string]*rowIDs{}
	}
	for _, snap := range s.snaps[key] {
		if snap.used&q.used == q.used {
			s.mu.Unlock()
			return snap, nil
		}
	}
	if len(q.Constraints) > 0 && s.reads[name] >= maxReadsPerStatement {
		// Too many distinct pushed reads: serve from one unfiltered read.
		s.mu.Unlock()
		return s.snapshot(m, &Query{schema: q.schema, used: q.used})
	}
	// Read with every column any earlier snapshot of this key needed, so
	// the cursors of a self-join end up sharing one read.
	for _, snap := range s.snaps[key] {
		q.used |= snap.used
	}
	s.reads[name]++
	s.mu.Unlock()

	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	rows, err := m.produce(ctx, m.eng.src, q)
	if err != nil {
		return nil, err
	}
	snap := &snapshot{rows: rows, used: q.used}
	s.mu.Lock()
	if s.snaps != nil {
		s.snaps[key] = append(s.snaps[key], snap)
		ids := s.ids[name]
		if ids == nil {
			ids = &rowIDs{}
			s.ids[name] = ids
		}
		ids.assign(snap)
	}
	s.mu.Unlock()
	return snap, nil
}

// lookup returns the ascending row numbers whose column col equals key,
// building that column's index on first use.
func (s *snapshot) lookup(col int, key any) []int32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.index == nil {
		s.index = map[int]map[any][]int32{}
	}
	idx, ok := s.index[col]
	if !ok {
		idx = map[any][]int32{}
		n := s.rows.Len()
		for r := 0; r < n; r++ {
			v := s.rows.Value(r, col)
			var k any
			switch x := v.(type) {
			case int64:
				k = float64(x)
			case float64:
				k = x
			case string:
				k = x
			default:
				continue // NULL and blobs never equal a normalised key
			}
			idx[k] = append(idx[k], int32(r))
		}
		s.index[col] = idx
	}
	return idx[key]
}
