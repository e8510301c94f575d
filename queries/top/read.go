package top

import (
	"context"
	"math"

	"github.com/netsql/netsql/vtab"
)

// prevRows is one read of a table, kept for the next read to compare
// its counters with.
type prevRows struct {
	held *vtab.Held
	// rows maps a key (rateKey) to its row; -1 when two rows had it.
	rows map[any]int32
	// counters are the columns of the rated counters (plan.rates order).
	counters []int
}

// read reads pl's table once, in namespace ns when the table has
// namespaces, into the rows the snapshot holds: the columns panels use,
// then a COUNTER_per_s column per rated counter (addRates).
func (pl *plan) read(ctx context.Context, eng *vtab.Engine, ns string, dt float64) (*vtab.Held, error) {
	if !pl.netns {
		ns = ""
	}
	cols := make([]vtab.HeldColumn, len(pl.cols))
	for i, c := range pl.cols {
		cols[i] = vtab.HeldColumn{Name: c, Type: pl.types[i]}
	}
	h := vtab.NewHeld(cols, pl.rows+pl.rows/8)
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
	next := &prevRows{held: h, rows: make(map[any]int32, h.Len())}
	for _, c := range pl.rates {
		next.counters = append(next.counters, pl.index(c))
	}
	prev := pl.prev
	if dt <= 0 {
		prev = nil
	}
	// matches[r] is the previous row of row r's key: -1 for a key two
	// previous rows had, -2 for one none had, -3 for no key.
	matches := make([]int32, h.Len())
	for r := range matches {
		k, ok := rateKey(h.Value(r, key))
		switch {
		case !ok:
			matches[r] = -3
			continue
		case prev == nil:
			matches[r] = -2
		default:
			p, found := prev.rows[k]
			if !found {
				p = -2
			}
			matches[r] = p
		}
		if _, dup := next.rows[k]; dup {
			next.rows[k] = -1
		} else {
			next.rows[k] = int32(r)
		}
	}
	for i, c := range pl.rates {
		col := next.counters[i]
		h.AddColumn(vtab.HeldColumn{Name: c + RateSuffix, Type: vtab.Real}, func(r int) any {
			if prev == nil {
				return nil
			}
			var before any
			switch p := matches[r]; {
			case p >= 0:
				before = prev.held.Value(int(p), prev.counters[i])
			case p == -2 && pl.rate.NewFromZero:
				before = int64(0)
			default:
				return nil
			}
			return perSecond(before, h.Value(r, col), dt)
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
