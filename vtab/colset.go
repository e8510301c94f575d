package vtab

import (
	"fmt"
	"strconv"
	"strings"
)

// colSet is a set of column positions of any size: the columns a
// statement reads. The zero value is the empty set.
type colSet []uint64

// fromColUsed turns SQLite's ColUsed mask for a table of n columns into
// a colSet: bit i is column i for i < 63, and bit 63 means "column 63 or
// later", so it marks every column from 63 on.
func fromColUsed(mask uint64, n int) colSet {
	var s colSet
	for i := 0; i < 63 && i < n; i++ {
		if mask&(1<<uint(i)) != 0 {
			s = s.with(i)
		}
	}
	if mask&(1<<63) != 0 {
		for i := 63; i < n; i++ {
			s = s.with(i)
		}
	}
	return s
}

// has reports whether column i is in the set.
func (s colSet) has(i int) bool {
	w := i / 64
	return i >= 0 && w < len(s) && s[w]&(1<<uint(i%64)) != 0
}

// with returns s plus column i (s may be modified).
func (s colSet) with(i int) colSet {
	w := i / 64
	for len(s) <= w {
		s = append(s, 0)
	}
	s[w] |= 1 << uint(i%64)
	return s
}

// union returns a new set holding the columns of s and o.
func (s colSet) union(o colSet) colSet {
	n := max(len(s), len(o))
	out := make(colSet, n)
	copy(out, s)
	for i, w := range o {
		out[i] |= w
	}
	return out
}

// covers reports whether every column of o is in s.
func (s colSet) covers(o colSet) bool {
	for i, w := range o {
		var mine uint64
		if i < len(s) {
			mine = s[i]
		}
		if w&^mine != 0 {
			return false
		}
	}
	return true
}

// encode writes the set as comma-separated hex words, lowest first; the
// empty set is "0".
func (s colSet) encode() string {
	if len(s) == 0 {
		return "0"
	}
	parts := make([]string, len(s))
	for i, w := range s {
		parts[i] = strconv.FormatUint(w, 16)
	}
	return strings.Join(parts, ",")
}

// decodeColSet reads what encode wrote.
func decodeColSet(text string) (colSet, error) {
	var s colSet
	for _, part := range strings.Split(text, ",") {
		w, err := strconv.ParseUint(part, 16, 64)
		if err != nil {
			return nil, fmt.Errorf("vtab: bad column set %q", text)
		}
		s = append(s, w)
	}
	return s, nil
}
