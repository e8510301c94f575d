package vtab

import "context"

// packedRows is the rowSet of a table read into a compact snapshot
// (Table.Pack): rows decode when they are read. The last two rows decoded
// are kept, so a cursor reading a row column by column, or two cursors of
// a self-join taking turns, decode each row once.
type packedRows[T any] struct {
	packed Packed[T]
	cols   []Column[T]
	key    func(*T) string
	kill   *Killer[T]
	recent [2]decodedRow[T]
	evict  int // which of recent the next decode replaces
}

// decodedRow is a row of packedRows decoded: row -1 when none.
type decodedRow[T any] struct {
	row int
	rec T
}

func newPackedRows[T any](p Packed[T], t *Table[T]) *packedRows[T] {
	r := &packedRows[T]{packed: p, cols: t.Columns, key: t.Key, kill: t.Kill}
	for i := range r.recent {
		r.recent[i].row = -1
	}
	return r
}

// at returns row's record, decoding it unless it is one of the last two.
func (r *packedRows[T]) at(row int) *T {
	for i := range r.recent {
		if r.recent[i].row == row {
			return &r.recent[i].rec
		}
	}
	d := &r.recent[r.evict]
	r.evict ^= 1
	d.row = row
	r.packed.Decode(row, &d.rec)
	return &d.rec
}

func (r *packedRows[T]) Len() int { return r.packed.Len() }

func (r *packedRows[T]) Value(row, col int) any { return r.cols[col].Value(r.at(row)) }

func (r *packedRows[T]) Keyed() bool { return r.key != nil }

func (r *packedRows[T]) Key(row int) string {
	if r.key == nil {
		return ""
	}
	return r.key(r.at(row))
}

// A kill acts on a record of its own, which no later decode changes.

func (r *packedRows[T]) describeRow(row int) string {
	var rec T
	r.packed.Decode(row, &rec)
	return r.kill.Describe(&rec)
}

func (r *packedRows[T]) killRow(ctx context.Context, src *Source, nsPath string, row int) error {
	var rec T
	r.packed.Decode(row, &rec)
	return r.kill.Close(ctx, src, nsPath, &rec)
}
