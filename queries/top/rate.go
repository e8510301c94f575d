package top

import (
	"fmt"
	"strings"

	"github.com/netsql/netsql/queries/result"
)

// Rates returns cur with every counter column replaced by its change per
// second since prev, matching rows by the key columns (no keys: the one
// row of each). dt is the seconds between the two results. A rate is
// NULL (nil) where it cannot be known: no previous result or dt <= 0, a
// key new since prev, a key that is not unique in either result, a NULL
// or non-numeric value, or a counter that went down (reset or, for a sum
// over sockets, sockets that closed). Keys that vanished are simply gone.
// cur is not modified; with no counters it is the result, as it is.
func Rates(prev, cur *result.Set, keys, counters []string, dt float64) (*result.Set, error) {
	keyIdx, err := indexes(cur, keys)
	if err != nil {
		return nil, err
	}
	if len(counters) == 0 {
		// Nothing to rate: no copy of the rows and no key per row (a
		// panel of remote hosts can have a row per socket).
		return cur, nil
	}
	ctrIdx, err := indexes(cur, counters)
	if err != nil {
		return nil, err
	}
	out := &result.Set{Columns: cur.Columns, Types: cur.Types, Rows: make([][]any, len(cur.Rows))}
	var before map[string][]any
	if prev != nil && dt > 0 {
		pk, perr := indexes(prev, keys)
		pc, cerr := indexes(prev, counters)
		if perr == nil && cerr == nil {
			before = map[string][]any{}
			for _, r := range prev.Rows {
				k := rowKey(r, pk)
				if _, dup := before[k]; dup {
					before[k] = nil // ambiguous
					continue
				}
				vals := make([]any, len(pc))
				for i, c := range pc {
					vals[i] = r[c]
				}
				before[k] = vals
			}
		}
	}
	seen := map[string]int{}
	for _, r := range cur.Rows {
		seen[rowKey(r, keyIdx)]++
	}
	for n, r := range cur.Rows {
		row := append([]any(nil), r...)
		k := rowKey(r, keyIdx)
		old, ok := before[k]
		for i, c := range ctrIdx {
			row[c] = nil
			if !ok || old == nil || seen[k] > 1 {
				continue
			}
			row[c] = perSecond(old[i], r[c], dt)
		}
		out.Rows[n] = row
	}
	return out, nil
}

func indexes(s *result.Set, cols []string) ([]int, error) {
	out := make([]int, len(cols))
	for i, c := range cols {
		if out[i] = s.Index(c); out[i] < 0 {
			return nil, fmt.Errorf("column %s is not in the result (have %s)", c, strings.Join(s.Columns, ", "))
		}
	}
	return out, nil
}

// rowKey encodes a row's key columns, their types included (1 and '1'
// are different keys).
func rowKey(r []any, idx []int) string {
	var b strings.Builder
	for _, i := range idx {
		fmt.Fprintf(&b, "%T:%v\x00", r[i], r[i])
	}
	return b.String()
}

// number returns a numeric value as float64.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}
