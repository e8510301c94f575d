package vtab

import (
	"context"
	"fmt"
	"iter"
	"strings"

	"github.com/netsql/netsql/vtab/netns"
)

// A statement that reads a table once streams it: the cursor pulls the
// rows batch by batch from the table's producer (Table.Stream) instead of
// reading the whole table into a snapshot first, so memory does not grow
// with the table. Whether a table is read once is decided from the
// statement's compiled program (streamingTables), before it runs.

// vdbeOp is one line of an EXPLAIN listing.
type vdbeOp struct {
	addr       int
	opcode     string
	p1, p2, p3 int
	p4         string
}

// jumpOpcodes are the opcodes whose P2 is a jump target (SQLite's
// mkopcodeh "jump" opcodes). Jump's P1 and P3 are targets too; Return's
// P2, when set, names the first opcode of the subroutine it ends.
var jumpOpcodes = map[string]bool{
	"Goto": true, "Gosub": true, "InitCoroutine": true, "Yield": true, "Once": true,
	"If": true, "IfNot": true, "IsNull": true, "IsType": true, "NotNull": true, "IfNullRow": true,
	"Eq": true, "Ne": true, "Lt": true, "Le": true, "Gt": true, "Ge": true, "ElseEq": true,
	"Jump": true, "IfPos": true, "IfNotZero": true, "DecrJumpZero": true, "MustBeInt": true,
	"Rewind": true, "Last": true, "Next": true, "Prev": true, "SorterNext": true, "SorterSort": true,
	"Sort": true, "SeekLT": true, "SeekLE": true, "SeekGE": true, "SeekGT": true, "SeekScan": true,
	"SeekRowid": true, "NotExists": true, "NoConflict": true, "NotFound": true, "Found": true,
	"IfNoHope": true, "IdxLE": true, "IdxGT": true, "IdxLT": true, "IdxGE": true,
	"RowSetRead": true, "RowSetTest": true, "Program": true, "FkIfZero": true,
	"IfSizeBetween": true, "IfEmpty": true, "VFilter": true, "VNext": true, "Filter": true,
	"IfNotOpen": true, "SorterCompare": true, "SequenceTest": true, "IncrVacuum": true,
	"Init": true, "Return": true,
}

// streamingTables returns the tables a compiled statement reads exactly
// once, from its EXPLAIN listing: the tables whose rows may stream. A
// table qualifies when exactly one OP_VFilter reads it (the table's name
// starts the plan in P4, see plan.encode) on a cursor opened once, and
// that VFilter runs at most once per execution: no backward jump crosses
// it (it is in no loop: the inner side of a join, an IN list, a
// correlated subquery re-run per row), it is inside no subroutine
// (Gosub target to its Return, BeginSubrtn to its Return), and inside
// no coroutine body that can run again (one whose InitCoroutine is in a
// loop, or which a second InitCoroutine restarts; a body started once,
// as CREATE TABLE ... AS SELECT and compound arms run, runs once).
// Self-joins and OR merges (several VFilters on one table) never
// qualify. When in doubt the answer is no: the snapshot path is always
// correct.
func streamingTables(ops []vdbeOp) map[string]bool {
	filters := map[string][]vdbeOp{} // VFilters by table
	opens := map[int]int{}           // VOpen count by cursor
	for _, op := range ops {
		switch op.opcode {
		case "VFilter":
			name, _, _ := strings.Cut(op.p4, ";")
			filters[name] = append(filters[name], op)
		case "VOpen":
			opens[op.p1]++
		}
	}
	if len(filters) == 0 {
		return nil
	}
	// The prologue Init jumps to (transaction, constants) ends with a
	// Goto back to the start of the program: that jump runs once.
	prologue := len(ops) + 1
	if len(ops) > 0 && ops[0].opcode == "Init" && ops[0].p2 > 0 {
		prologue = ops[0].p2
	}
	type region struct{ from, to int } // addresses, inclusive
	var loops []region
	// A coroutine's body (a subquery in FROM, CREATE TABLE ... AS SELECT,
	// an arm of a compound) runs from its start once per InitCoroutine:
	// the consumer's Yields resume it where it stopped. So the body is a
	// loop only when its InitCoroutine is in one.
	type coroutine struct {
		init, reg int // InitCoroutine's address and register
		body      region
	}
	var bodies []coroutine
	// returnOf is the first Return on register r at or after address a.
	returnOf := func(r, a int) int {
		for _, op := range ops {
			if op.addr >= a && op.opcode == "Return" && op.p1 == r {
				return op.addr
			}
		}
		return len(ops) // no Return found: to the end
	}
	for _, op := range ops {
		switch op.opcode {
		case "Gosub":
			loops = append(loops, region{op.p2, returnOf(op.p1, op.p2)})
		case "BeginSubrtn":
			loops = append(loops, region{op.addr, returnOf(op.p2, op.addr)})
		case "InitCoroutine":
			if op.p3 > 0 {
				end := len(ops)
				for _, e := range ops {
					if e.addr > op.p3 && e.opcode == "EndCoroutine" && e.p1 == op.p1 {
						end = e.addr
						break
					}
				}
				bodies = append(bodies, coroutine{init: op.addr, reg: op.p1, body: region{op.p3, end}})
			}
		}
		if !jumpOpcodes[op.opcode] {
			continue
		}
		targets := []int{op.p2}
		if op.opcode == "Jump" {
			targets = append(targets, op.p1, op.p3)
		}
		for _, t := range targets {
			if (op.opcode == "Return" || op.opcode == "Yield") && t == 0 {
				continue // P2 unset: Return ends a subroutine, Yield hands a row over
			}
			if op.addr >= prologue && op.opcode == "Goto" && t == 1 {
				continue // the prologue's jump to the start
			}
			if t <= op.addr {
				loops = append(loops, region{t, op.addr})
			}
		}
	}
	inLoop := func(a int) bool {
		for _, r := range loops {
			if r.from <= a && a <= r.to {
				return true
			}
		}
		return false
	}
	// In address order: a coroutine started inside another's body runs
	// once per run of that body.
	inits := map[int]int{} // InitCoroutines by register: a second one restarts a body
	for _, op := range ops {
		if op.opcode == "InitCoroutine" {
			inits[op.p1]++
		}
	}
	for _, c := range bodies {
		if inLoop(c.init) || inits[c.reg] > 1 {
			loops = append(loops, c.body)
		}
	}
	out := map[string]bool{}
	for name, fs := range filters {
		if len(fs) != 1 || opens[fs[0].p1] != 1 {
			continue
		}
		a := fs[0].addr
		once := true
		for _, r := range loops {
			if r.from <= a && a <= r.to {
				once = false
				break
			}
		}
		if once {
			out[name] = true
		}
	}
	return out
}

// rowStream is a streaming cursor's source: the batches of the table's
// producer, pulled one at a time, namespace after namespace.
type rowStream struct {
	next  func() (streamBatch, error, bool)
	stop  func()
	batch streamBatch
	i     int
	rowid int64
	done  bool
}

// streamBatch is one batch of rows and the namespace they were read in.
type streamBatch struct {
	rows rowSet
	t    *nsTarget
}

// openStream starts reading table m in the namespaces targets, as one
// statement's single scan of it. The first batch is read here, so the
// errors of opening the read (a refused netlink socket, a namespace that
// cannot be entered) are Filter's, with their message.
func (m *module) openStream(ctx context.Context, q *Query, targets []nsTarget) (*rowStream, error) {
	seq := func(yield func(streamBatch, error) bool) {
		for i := range targets {
			t := &targets[i]
			yielded, stopped := false, false
			err := m.streamIn(ctx, q, *t, func(rows rowSet) bool {
				if rows.Len() == 0 {
					return true
				}
				yielded = true
				if !yield(streamBatch{rows: rows, t: t}, nil) {
					stopped = true
					return false
				}
				return true
			})
			if stopped {
				return
			}
			if err != nil {
				if t.optional && !yielded {
					m.skipNamespace(t, err)
					continue
				}
				yield(streamBatch{}, err)
				return
			}
		}
	}
	m.eng.streamed.Add(1)
	next, stop := iter.Pull2(seq)
	s := &rowStream{next: next, stop: stop}
	if err := s.advance(); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// streamIn streams table m in namespace t: netsql's own with the
// engine's source, another one with a source reading inside it.
func (m *module) streamIn(ctx context.Context, q *Query, t nsTarget, yield func(rowSet) bool) error {
	src := m.eng.src
	if t.own {
		return m.def.stream(ctx, src, q, yield)
	}
	anchor, err := netns.Enter(t.ns.Path)
	if err != nil {
		return fmt.Errorf("%s: %w", m.schema.Name, err)
	}
	defer anchor.Close()
	return m.def.stream(ctx, src.inNamespace(t.ns, anchor), q, yield)
}

// advance moves to the next row, pulling the next batch when the current
// one is used up.
func (s *rowStream) advance() error {
	if s.done {
		return nil
	}
	s.i++
	for s.batch.rows == nil || s.i >= s.batch.rows.Len() {
		b, err, ok := s.next()
		if err != nil {
			s.done = true
			return err
		}
		if !ok {
			s.done = true
			s.batch = streamBatch{}
			return nil
		}
		s.batch, s.i = b, 0
	}
	s.rowid++
	return nil
}

func (s *rowStream) eof() bool { return s.done }

// value returns column col of the current row; nameCol and inoCol are
// the table's netns_name and netns columns (-1 when it has none).
func (s *rowStream) value(col, nameCol, inoCol int) any {
	switch col {
	case nameCol:
		return s.batch.t.name()
	case inoCol:
		return nullIfZero(s.batch.t.ns.Inode)
	}
	return s.batch.rows.Value(s.i, col)
}

// close stops the producer: it returns, releasing its netlink socket or
// file, whatever point it had reached.
func (s *rowStream) close() {
	if s.stop != nil {
		s.stop()
		s.stop = nil
	}
	s.batch = streamBatch{}
	s.done = true
}
