package top

import (
	"context"
	"math"

	"github.com/netsql/netsql/vtab"
)

// prevRows is what one read of a table leaves for the next to compare
// its counters with: each row's key and rated counters, compactly (the
// rows themselves are let go before the next read).
type prevRows struct {
	// ints and others map a key (rateKey) to its row; -1 when two rows
	// had it.
	ints   map[int64]int32
	others map[any]int32
	// counters holds each rated counter's values (plan.rates order).
	counters []prevCounter
}

// prevCounter is one counter's value in each row of a read.
type prevCounter struct {
	vals  []int64 // an integer, or a REAL's bits
	kinds []uint8 // 0 NULL, 1 integer, 2 REAL, 3 any other value (never a rate)
}

func (c *prevCounter) add(v any) {
	var x int64
	var k uint8 = 3
	switch v := v.(type) {
	case nil:
		k = 0
	case int64:
		x, k = v, 1
	case float64:
		x, k = int64(math.Float64bits(v)), 2
	}
	c.vals, c.kinds = append(c.vals, x), append(c.kinds, k)
}

func (c *prevCounter) value(r int32) any {
	switch c.kinds[r] {
	case 1:
		return c.vals[r]
	case 2:
		return math.Float64frombits(uint64(c.vals[r]))
	}
	return nil
}

// row returns the previous row of key k: -1 for a key two previous rows
// had, -2 for one none had.
func (p *prevRows) row(k any) int32 {
	var r int32
	var found bool
	if i, ok := k.(int64); ok {
		r, found = p.ints[i]
	} else {
		r, found = p.others[k]
	}
	if !found {
		return -2
	}
	return r
}

// see records row r's key k, marking a key seen before as ambiguous.
func (p *prevRows) see(k any, r int) {
	if i, ok := k.(int64); ok {
		if _, dup := p.ints[i]; dup {
			p.ints[i] = -1
		} else {
			p.ints[i] = int32(r)
		}
		return
	}
	if _, dup := p.others[k]; dup {
		p.others[k] = -1
	} else {
		p.others[k] = int32(r)
	}
}

// columns are the columns pl's snapshot table holds: those panels use,
// then a rate per rated counter.
func (pl *plan) columns() []vtab.HeldColumn {
	cols := make([]vtab.HeldColumn, 0, len(pl.cols)+len(pl.rates))
	for i, c := range pl.cols {
		cols = append(cols, vtab.HeldColumn{Name: c, Type: pl.types[i]})
	}
	for _, c := range pl.rates {
		cols = append(cols, vtab.HeldColumn{Name: c + RateSuffix, Type: vtab.Real})
	}
	return cols
}

// read reads pl's table once, in namespace ns when the table has
// namespaces, into the rows the snapshot holds: the columns panels use,
// then a COUNTER_per_s column per rated counter (addRates).
func (pl *plan) read(ctx context.Context, eng *vtab.Engine, ns string, dt float64) (*vtab.Held, error) {
	if !pl.netns {
		ns = ""
	}
	h := vtab.NewHeld(pl.columns()[:len(pl.cols)], pl.rows+pl.rows/8)
	err := eng.Scan(ctx, pl.table, pl.cols, ns, func(row []any) error {
		h.Append(row)
		return nil
	})
	if err != nil {
		return nil, err
	}
	pl.rows = h.Len()
	pl.addRates(h, dt)
	return h, nil
}

// addRates adds to h, which holds pl.cols as read, a COUNTER_per_s
// column per rated counter, computed from pl's previous read when
// dt > 0 (else NULL), and keeps h for the next read to compare with.
func (pl *plan) addRates(h *vtab.Held, dt float64) {
	if len(pl.rates) == 0 {
		return
	}
	key := pl.index(pl.rate.Key)
	n := h.Len()
	next := &prevRows{ints: make(map[int64]int32, n), others: map[any]int32{}, counters: make([]prevCounter, len(pl.rates))}
	cols := make([]int, len(pl.rates))
	for i, c := range pl.rates {
		cols[i] = pl.index(c)
		next.counters[i] = prevCounter{vals: make([]int64, 0, n), kinds: make([]uint8, 0, n)}
	}
	prev := pl.prev
	if dt <= 0 {
		prev = nil
	}
	// matches[r] is the previous row of row r's key (prevRows.row), -3
	// for a row without a key.
	matches := make([]int32, n)
	for r := range matches {
		for i, c := range cols {
			next.counters[i].add(h.Value(r, c))
		}
		k, ok := rateKey(h.Value(r, key))
		switch {
		case !ok:
			matches[r] = -3
			continue
		case prev == nil:
			matches[r] = -2
		default:
			matches[r] = prev.row(k)
		}
		next.see(k, r)
	}
	for i, c := range pl.rates {
		h.AddColumn(vtab.HeldColumn{Name: c + RateSuffix, Type: vtab.Real}, func(r int) any {
			if prev == nil {
				return nil
			}
			var before any
			switch p := matches[r]; {
			case p >= 0:
				before = prev.counters[i].value(p)
			case p == -2 && pl.rate.NewFromZero:
				before = int64(0)
			default:
				return nil
			}
			return perSecond(before, next.counters[i].value(int32(r)), dt)
		})
	}
	pl.prev = next
}

// index returns the position of column c in pl.cols (planTables puts
// the key and every rated counter there).
func (pl *plan) index(c string) int {
	for i, x := range pl.cols {
		if x == c {
			return i
		}
	}
	panic("top: plan of " + pl.table + " does not read " + c)
}

// perSecond is (b - a) / dt for two counter values, nil when either is
// not a number or b < a (a counter that went down was reset).
func perSecond(a, b any, dt float64) any {
	if x, ok := a.(int64); ok {
		if y, ok := b.(int64); ok {
			if y < x {
				return nil
			}
			return float64(y-x) / dt
		}
	}
	x, xok := number(a)
	y, yok := number(b)
	if !xok || !yok || y < x {
		return nil
	}
	return (y - x) / dt
}

// blobKey is a BLOB key: never equal to a TEXT one.
type blobKey string

// rateKey returns the map key under which a key value matches the
// values SQL's = matches it with: numbers by value (1 = 1.0), text and
// blobs by their bytes. ok is false for NULL, which matches nothing.
func rateKey(v any) (any, bool) {
	switch x := v.(type) {
	case int64, string:
		return x, true
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<63 {
			return int64(x), true
		}
		return x, !math.IsNaN(x)
	case []byte:
		return blobKey(x), true
	}
	return nil, false
}
