package vtab

import (
	"context"
	"fmt"

	sqlvtab "modernc.org/sqlite/vtab"
)

// Scan reads table as `SELECT cols FROM temp.TABLE` would, with `WHERE
// netns_name = netns` when netns is not "" (a PerNetNS table's selector:
// a name, pid:N or *), but hands the rows to row in Go instead of to
// SQLite: no statement, no value copied through the driver. The reads
// are a statement's: the same producers, only the costs cols need, the
// same namespaces (one '*' could not read is skipped with a notice) and
// the owners a HoldOwners keeps. row gets each row's values in the order
// of cols, in a slice it may keep only until it returns; an error from
// row stops the scan and is returned.
func (e *Engine) Scan(ctx context.Context, table string, cols []string, netns string, row func([]any) error) (err error) {
	m := e.modules[table]
	if m == nil {
		return fmt.Errorf("vtab: scan: no such table: %s", table)
	}
	defer recoverTo(table, &err)
	idx := make([]int, len(cols))
	var used colSet
	for i, c := range cols {
		if idx[i] = m.schema.ColumnIndex(c); idx[i] < 0 {
			return fmt.Errorf("vtab: scan %s: no such column: %s", table, c)
		}
		used = used.with(idx[i])
	}
	q := &Query{schema: &m.schema, used: used}
	targets := []nsTarget{{own: true}}
	if m.schema.PerNetNS {
		var sel []Constraint
		if netns != "" {
			sel = []Constraint{{Column: netnsNameColumn, Op: sqlvtab.OpEQ, Value: netns}}
		}
		if targets, err = selectNamespaces(e.src, q, sel); err != nil {
			return fmt.Errorf("%s: %w", table, err)
		}
	} else if netns != "" {
		return fmt.Errorf("vtab: scan %s: the table has no namespaces to select", table)
	}
	vals := make([]any, len(cols))
	for i := range targets {
		t := &targets[i]
		yielded := false
		var rowErr error
		emit := func(rows rowSet) bool {
			for r := range rows.Len() {
				yielded = true
				for k, c := range idx {
					switch c {
					case m.nameCol:
						vals[k] = t.name()
					case m.inoCol:
						vals[k] = nullIfZero(t.ns.Inode)
					default:
						vals[k] = rows.Value(r, c)
					}
				}
				if rowErr = row(vals); rowErr != nil {
					return false
				}
			}
			return true
		}
		var readErr error
		if m.def.streams() {
			readErr = m.streamIn(ctx, q, *t, emit)
		} else {
			var rows rowSet
			if rows, readErr = m.produce(ctx, q, *t); readErr == nil {
				emit(rows)
			}
		}
		switch {
		case rowErr != nil:
			return rowErr
		case readErr != nil && t.optional && !yielded:
			m.skipNamespace(t, readErr)
		case readErr != nil:
			return readErr
		}
	}
	return nil
}

// skipNamespace says that namespace t, which '*' chose, is left out of
// table m's answer because reading it failed with err.
func (m *module) skipNamespace(t *nsTarget, err error) {
	m.eng.src.Notice(Notice{NoticeSkippedNamespace, fmt.Sprintf("netsql: %s: skipped namespace %s: %v", m.schema.Name, t.ns.Name(), err)})
}
