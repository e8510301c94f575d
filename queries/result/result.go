// Package result runs SQL against a netsql engine and hands back the last
// statement's rows as values, for the consumers that store or export rows
// instead of printing them (Prometheus metrics, history snapshots).
package result

import (
	"context"
	"fmt"

	"github.com/netsql/netsql/queries/run"
	"github.com/netsql/netsql/vtab"
)

// Set is a statement's result: column names, their declared SQLite types
// ("" for expressions) and every row. Values are what the driver returns:
// nil, int64, float64, string, []byte or time.Time.
type Set struct {
	Columns []string
	Types   []string
	Rows    [][]any
}

// Run runs every statement of script in order with params binding :name,
// and returns the last statement's result. A statement using a :name that
// params lacks is an error, as in one-shot mode.
func Run(ctx context.Context, eng *vtab.Engine, script string, params map[string]string) (*Set, error) {
	stmts := run.Statements(script)
	if len(stmts) == 0 {
		return nil, fmt.Errorf("no SQL statement")
	}
	var set *Set
	for _, st := range stmts {
		args, err := run.Bind(st.Params, params)
		if err != nil {
			return nil, err
		}
		if set, err = query(ctx, eng, st.SQL, args); err != nil {
			return nil, err
		}
	}
	return set, nil
}

func query(ctx context.Context, eng *vtab.Engine, stmt string, args []any) (*Set, error) {
	rows, err := eng.QueryContext(ctx, stmt, args...)
	if err != nil {
		return nil, run.CleanError(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, run.CleanError(err)
	}
	set := &Set{Columns: cols, Types: make([]string, len(cols))}
	if cts, err := rows.ColumnTypes(); err == nil {
		for i, ct := range cts {
			set.Types[i] = ct.DatabaseTypeName()
		}
	}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, run.CleanError(err)
		}
		set.Rows = append(set.Rows, vals)
	}
	if err := rows.Err(); err != nil {
		return nil, run.CleanError(err)
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return set, nil
}

// Index returns the position of the named column, or -1.
func (s *Set) Index(column string) int {
	for i, c := range s.Columns {
		if c == column {
			return i
		}
	}
	return -1
}
