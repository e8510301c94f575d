package shell

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"modernc.org/sqlite"

	"github.com/netsql/netsql/vtab"
)

// Runner runs SQL scripts against an engine and prints each result.
type Runner struct {
	Engine *vtab.Engine
	Out    io.Writer
	Format string
	Opts   Options
	// Params binds :name (and @name, $name) by name.
	Params map[string]string
}

// Result summarises one statement's run.
type Result struct {
	Columns []string
	Rows    int
}

// Run runs every statement of script in order and prints each result
// set. It stops at the first error. last is the last statement's result.
func (r *Runner) Run(ctx context.Context, script string) (last Result, err error) {
	for _, st := range Statements(script) {
		if last, err = r.RunStatement(ctx, st); err != nil {
			return last, err
		}
	}
	return last, nil
}

// RunStatement runs one statement and prints its result set, if any.
func (r *Runner) RunStatement(ctx context.Context, st Statement) (Result, error) {
	args, err := Bind(st.Params, r.Params)
	if err != nil {
		return Result{}, err
	}
	rows, err := r.Engine.QueryContext(ctx, st.SQL, args...)
	if err != nil {
		return Result{}, CleanError(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return Result{}, CleanError(err)
	}
	res := Result{Columns: cols}
	if len(cols) == 0 {
		for rows.Next() {
		}
		return res, CleanError(rows.Err())
	}
	w, err := NewWriter(r.Format, r.Out, r.Opts)
	if err != nil {
		return res, err
	}
	if err := w.Begin(cols); err != nil {
		return res, err
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return res, CleanError(err)
		}
		if err := w.Row(vals); err != nil {
			return res, err
		}
		res.Rows++
	}
	if err := rows.Err(); err != nil {
		// Print what arrived before the error only for streaming formats;
		// a buffered table is dropped rather than shown half-made.
		return res, CleanError(err)
	}
	return res, w.End()
}

// bind turns the statement's parameter names into named arguments. A
// value that reads as an integer or a real binds as a number so that
// `count(*) > :limit` compares numbers.
// Bind turns a statement's parameter names into named arguments from
// params (values as ParamValue converts them). A name params lacks, or a
// positional ?N, is an error that says how to give it on the command line.
func Bind(names []string, params map[string]string) ([]any, error) {
	var args []any
	for _, name := range names {
		if _, err := strconv.Atoi(name); err == nil {
			return nil, fmt.Errorf("positional parameter ?%s is not supported; use :name with -p name=VALUE", name)
		}
		v, ok := params[name]
		if !ok {
			return nil, fmt.Errorf("missing parameter :%s (give it with -p %s=VALUE)", name, name)
		}
		args = append(args, sql.Named(name, ParamValue(v)))
	}
	return args, nil
}

// ParamValue converts a parameter's text to the SQL value it binds as.
func ParamValue(v string) any {
	if i, err := strconv.ParseInt(v, 10, 64); err == nil {
		return i
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil && !strings.ContainsAny(v, "xXnN") {
		return f
	}
	return v
}

var sqliteCodeSuffix = regexp.MustCompile(`\s*\(\d+\)$`)

// sqliteCodeTexts are sqlite3_errstr texts the driver puts before the real
// message ("SQL logic error: no such table: x (1)").
var sqliteCodeTexts = []string{
	"SQL logic error", "constraint failed", "datatype mismatch", "interrupted",
	"bad parameter or other API misuse", "out of memory", "database is locked",
	"attempt to write a readonly database", "unable to open database file",
}

// CleanError turns a driver error into the one line a user should read:
// SQLite's own message without the generic result-code text around it.
func CleanError(err error) error {
	if err == nil {
		return nil
	}
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	msg := se.Error()
	for _, t := range sqliteCodeTexts {
		if rest, ok := strings.CutPrefix(msg, t+": "); ok {
			msg = rest
			break
		}
	}
	msg = sqliteCodeSuffix.ReplaceAllString(msg, "")
	return errors.New(strings.ReplaceAll(msg, "\n", " "))
}
