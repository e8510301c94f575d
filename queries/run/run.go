package run

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"modernc.org/sqlite"

	"github.com/netsql/netsql/queries/format"
	"github.com/netsql/netsql/vtab"
)

// Runner runs SQL scripts against an engine and prints each result.
type Runner struct {
	Engine *vtab.Engine
	Out    io.Writer
	Format string
	Opts   format.Options
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
	w, err := format.NewWriter(r.Format, r.Out, r.Opts)
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

// Bind turns a statement's parameter names into named arguments from
// params (values as ParamValue converts them). A name params lacks, a
// positional ? or ?N, or a name database/sql cannot bind (one that does
// not start with a letter, such as :1) is an error that says how to give
// a parameter on the command line.
func Bind(names []string, params map[string]string) ([]any, error) {
	var args []any
	for _, name := range names {
		if strings.HasPrefix(name, "?") {
			return nil, fmt.Errorf("positional parameter %s is not supported; use :name with -p name=VALUE", name)
		}
		if !ValidParamName(name) {
			return nil, fmt.Errorf("parameter :%s cannot be bound: a parameter name starts with a letter (:name, given with -p name=VALUE)", name)
		}
		v, ok := params[name]
		if !ok {
			return nil, fmt.Errorf("missing parameter :%s (give it with -p %s=VALUE)", name, name)
		}
		args = append(args, sql.Named(name, ParamValue(v)))
	}
	return args, nil
}

// ValidParamName reports whether name (without its ':', '@' or '$') is a
// parameter name netsql can bind: a letter, then letters, digits, '_',
// '$' or any other non-ASCII character, as SQLite's tokenizer reads a
// name (database/sql binds only names that start with a letter).
func ValidParamName(name string) bool {
	for i, r := range name {
		switch {
		case unicode.IsLetter(r):
		case i == 0 || r == utf8.RuneError:
			return false
		case r >= '0' && r <= '9' || r == '_' || r == '$' || r >= 0x80:
		default:
			return false
		}
	}
	return name != ""
}

// ParamNames returns the parameters a script takes: declared (a canned
// query's declared parameters) first, then each :name its statements use,
// in order of first use, without repeats.
func ParamNames(script string, declared []string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(n string) {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	for _, n := range declared {
		add(n)
	}
	for _, st := range Statements(script) {
		for _, n := range st.Params {
			if !strings.HasPrefix(n, "?") {
				add(n)
			}
		}
	}
	return out
}

// CheckParamNames returns an error naming the first of given that takes
// does not hold, and the parameters takes holds: a misspelt -p name would
// otherwise be ignored silently. what names the query in the message.
func CheckParamNames(what string, given, takes []string) error {
	for _, g := range given {
		if slices.Contains(takes, g) {
			continue
		}
		if len(takes) == 0 {
			return fmt.Errorf("no parameter :%s in %s, which takes none", g, what)
		}
		return fmt.Errorf("no parameter :%s in %s, which takes :%s", g, what, strings.Join(takes, ", :"))
	}
	return nil
}

// ParamValue converts a parameter's text to the SQL value it binds as,
// the way SQLite reads the same text as a numeric literal in SQL: an
// optionally signed run of decimal digits is an INTEGER (a REAL when it
// does not fit in 64 bits); digits with a decimal point and/or an
// exponent (1.5, .5, 2e3) are a REAL; anything else (1_000, 0x10, Inf,
// " 5", "") is TEXT. So `count(*) > :limit` compares numbers.
func ParamValue(v string) any {
	digits := strings.TrimLeft(v, "+-")
	if len(v)-len(digits) > 1 || !numericLiteral.MatchString(digits) {
		return v
	}
	if !strings.ContainsAny(digits, ".eE") {
		if i, err := strconv.ParseInt(v, 10, 64); err == nil {
			return i
		}
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return v
	}
	return f
}

// numericLiteral is SQLite's grammar for an unsigned decimal numeric
// literal.
var numericLiteral = regexp.MustCompile(`^([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$`)

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
