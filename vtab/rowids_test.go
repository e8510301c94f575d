package vtab

import (
	"fmt"
	"math/rand/v2"
	"testing"

	sqlvtab "modernc.org/sqlite/vtab"
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
				// Overlapping parts; one read holds a socket once.
				var rows keyRows
				for _, k := range rng.Perm(400)[:50+rng.IntN(200)] {
					rows = append(rows, fmt.Sprintf("sock%d", k))
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
					} else if first != id {
						t.Fatalf("part %d row %d (%s): rowid %d, the identity took %d before", pi, r, ident, id, first)
					}
				}
			}
		})
	}
}

// TestRowIDsSkipIndexForDisjointReads: reads that cannot share a row
// (another namespace, another word of an exactly matched column, as the
// arms of family IN ('inet', 'inet6')) build no index; a read that may
// overlap them indexes them and finds their rows.
func TestRowIDsSkipIndexForDisjointReads(t *testing.T) {
	fam := func(w string) []Constraint { return []Constraint{{Column: "family", Op: sqlvtab.OpEQ, Value: w}} }
	inet := &part{rows: keyRows{"inet:a", "inet:b"}, inode: 1, exact: fam("inet")}
	inet6 := &part{rows: keyRows{"inet6:a", "inet6:b", "inet6:c"}, inode: 1, exact: fam("inet6")}
	other := &part{rows: keyRows{"inet:a"}, inode: 2, exact: fam("inet")}
	ids := &rowIDs{}
	for _, p := range []*part{inet, inet6, other} {
		ids.assign(p)
	}
	if ids.byHash != nil {
		t.Fatal("disjoint reads built an index")
	}
	if got := fmt.Sprint(inet.rowids, inet6.rowids, other.rowids); got != "[0 1] [2 3 4] [5]" {
		t.Fatalf("rowids %s", got)
	}
	all := &part{rows: keyRows{"inet6:c", "inet:a", "inet:z"}, inode: 1}
	ids.assign(all)
	if got := fmt.Sprint(all.rowids); got != "[4 0 6]" {
		t.Fatalf("an unfiltered read after them: rowids %s, want [4 0 6]", got)
	}
}
