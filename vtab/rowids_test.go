package vtab

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// keyRows is a rowSet of keys only.
type keyRows []string

func (k keyRows) Len() int               { return len(k) }
func (k keyRows) Value(row, col int) any { return k[row] }
func (k keyRows) Keyed() bool            { return true }
func (k keyRows) Key(row int) string     { return k[row] }

// TestRowIDsExactUnderHashCollisions: rows of one identity (key and
// namespace) get one rowid in every part, rows of different identities
// different rowids, whatever the hash does: with the real hash, with
// one that puts every key in eight buckets, and with one that gives
// every key the same hash.
func TestRowIDsExactUnderHashCollisions(t *testing.T) {
	for _, c := range []struct {
		name string
		sum  func(string) uint64
	}{
		{"maphash", nil},
		{"eight buckets", func(k string) uint64 { return uint64(len(k) % 8) }},
		{"one bucket", func(string) uint64 { return 42 }},
	} {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			ids := &rowIDs{sum: c.sum}
			want := map[string]int64{} // identity -> rowid, from the first row seen
			var parts []*part
			for pi := range 6 {
				n := 50 + rng.IntN(200)
				rows := make(keyRows, n)
				for r := range rows {
					rows[r] = fmt.Sprintf("sock%d", rng.IntN(400)) // overlapping parts
				}
				p := &part{rows: rows, inode: uint64(1 + pi%2)} // two namespaces
				ids.assign(p)
				parts = append(parts, p)
			}
			seen := map[int64]string{}
			for pi, p := range parts {
				for r, id := range p.rowids {
					ident := fmt.Sprintf("%s@%d", p.rows.Key(r), p.inode)
					if pi == 0 {
						// The first read takes rowids in order, one per row.
						if id != int64(r) {
							t.Fatalf("first part: row %d has rowid %d", r, id)
						}
					}
					if other, ok := seen[id]; ok && other != ident {
						t.Fatalf("rowid %d is both %s and %s", id, other, ident)
					}
					seen[id] = ident
					if first, ok := want[ident]; !ok {
						want[ident] = id
					} else if first != id && pi > 0 {
						t.Fatalf("part %d row %d (%s): rowid %d, the identity took %d before", pi, r, ident, id, first)
					}
				}
			}
		})
	}
}
