package format

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Formats lists the output formats by name, in the order help shows them.
// column, box, list, tabs, quote and insert are sqlite3's modes of the
// same names and print what sqlite3 prints for the same rows.
var Formats = []string{"table", "csv", "json", "ndjson", "line", "markdown", "column", "box", "list", "tabs", "quote", "insert"}

// Raw is the format of canned queries with `format: raw` (netstat's
// views): no header, each row one line of its columns' text (Text, NULL as
// nothing) joined by single spaces, nothing escaped, because the query
// itself lays out the text. It is not one of Formats: a user picks it by
// running such a query, not with --format or .mode.
const Raw = "raw"

// Options adjust how a Writer prints.
type Options struct {
	Headers bool   // print the header row (table, csv, markdown)
	Null    string // how table, line and markdown show NULL
	// Color styles table and line output with ANSI escapes: bold column
	// names, dim NULL. Set it only when writing to a terminal.
	Color bool
	// MaxWidth cuts table lines wider than this many cells, ending each cut
	// line with Ellipsis (0: never cut).
	MaxWidth int
	// Widths are sqlite3's .width for column and box output: a column's
	// width in characters, negative to right-align, 0 (or missing) to fit
	// the column's values.
	Widths []int
	// Separator and RowSeparator are sqlite3's .separator for list output
	// ("" means "|" and "\n").
	Separator, RowSeparator string
	// Table names the table of insert output ("" means "table", as in
	// sqlite3).
	Table string
	// Terminal says the output goes to a terminal: then csv, list, tabs,
	// quote and insert escape control characters too (see TerminalSafe),
	// which otherwise keep the bytes for the program that reads them.
	Terminal bool
	// Fields are name/value pairs that json and ndjson put before the
	// columns in every object (--host-field, --timestamp-field).
	Fields []Field
}

// Field is one extra string field of json and ndjson objects.
type Field struct{ Name, Value string }

// Ellipsis marks a table line cut at Options.MaxWidth.
const Ellipsis = "…"

// ANSI styles used when Options.Color is set.
const (
	styleBold  = "\x1b[1m"
	styleDim   = "\x1b[2m"
	styleReset = "\x1b[0m"
)

// DefaultOptions are one-shot mode's defaults.
var DefaultOptions = Options{Headers: true, Null: "NULL"}

// Writer prints one result set: Begin with the column names, Row for each
// row, End once. Formats that need every row to lay out (table, markdown)
// buffer; the others stream.
type Writer interface {
	Begin(columns []string) error
	Row(values []any) error
	End() error
}

// NewWriter returns the writer for a format name, or an error naming the
// formats that exist.
func NewWriter(format string, w io.Writer, opts Options) (Writer, error) {
	switch format {
	case "table":
		return &tableWriter{w: w, opts: opts}, nil
	case "markdown":
		return &tableWriter{w: w, opts: opts, markdown: true}, nil
	case "column":
		return &columnWriter{w: w, opts: opts}, nil
	case "box":
		return &columnWriter{w: w, opts: opts, box: true}, nil
	case "csv":
		return &csvWriter{w: csv.NewWriter(w), opts: opts}, nil
	case "json":
		return &jsonWriter{w: bufio.NewWriter(w), array: true, fields: opts.Fields}, nil
	case "ndjson":
		return &jsonWriter{w: bufio.NewWriter(w), fields: opts.Fields}, nil
	case "line":
		return &lineWriter{w: bufio.NewWriter(w), opts: opts}, nil
	case "list", "tabs", "quote", "insert":
		return &listWriter{w: bufio.NewWriter(w), opts: opts, mode: format}, nil
	case Raw:
		return &rawWriter{w: bufio.NewWriter(w)}, nil
	}
	return nil, Check(format)
}

// Check returns nil when name is one of Formats (what --format and .mode
// accept), else the error naming the formats that exist.
func Check(name string) error {
	if slices.Contains(Formats, name) {
		return nil
	}
	return fmt.Errorf("unknown format %q (want one of %s)", name, strings.Join(Formats, ", "))
}

// Text renders a value as text for table, csv and line output.
func Text(v any, null string) string {
	switch x := v.(type) {
	case nil:
		return null
	case string:
		return x
	case []byte:
		if utf8.Valid(x) {
			return string(x)
		}
		return "x'" + fmt.Sprintf("%x", x) + "'"
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return formatFloat(x)
	case bool:
		if x {
			return "1"
		}
		return "0"
	}
	return fmt.Sprint(v)
}

// formatFloat prints a REAL the way sqlite3 does: shortest form that
// round-trips, always with a decimal point or exponent.
func formatFloat(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return bangFloat(strconv.FormatFloat(f, 'g', 15, 64))
}

// tableBufferRows is how many rows a table holds to size its columns.
// Past it the table prints what it has and streams the rest at those
// widths (a longer cell widens only its own line), so a query of millions
// of rows never sits in memory.
const tableBufferRows = 10000

type tableWriter struct {
	w        io.Writer
	opts     Options
	markdown bool
	cols     []string
	rows     [][]string
	nulls    [][]bool
	numeric  []bool // every value so far is a number or NULL
	number   []bool // some value is a number
	widths   []int
	bw       *bufio.Writer
	started  bool // header and first rows printed; now streaming
}

func (t *tableWriter) Begin(columns []string) error {
	t.cols = make([]string, len(columns))
	for i, c := range columns {
		t.cols[i] = TerminalSafe(c)
	}
	t.numeric = make([]bool, len(columns))
	t.number = make([]bool, len(columns))
	for i := range t.numeric {
		t.numeric[i] = true
	}
	t.bw = bufio.NewWriter(t.w)
	return nil
}

func (t *tableWriter) Row(values []any) error {
	row := make([]string, len(values))
	nulls := make([]bool, len(values))
	for i, v := range values {
		nulls[i] = v == nil
		row[i] = TerminalSafe(Text(v, t.opts.Null))
		if t.markdown {
			row[i] = markdownEscape(row[i])
		}
		if t.started {
			continue
		}
		switch v.(type) {
		case nil:
		case int64, float64:
			t.number[i] = true
		default:
			t.numeric[i] = false
		}
	}
	t.rows = append(t.rows, row)
	t.nulls = append(t.nulls, nulls)
	if !t.started && len(t.rows) < tableBufferRows {
		return nil
	}
	return t.flush()
}

func (t *tableWriter) End() error {
	if len(t.cols) == 0 {
		return nil
	}
	if err := t.flush(); err != nil {
		return err
	}
	return t.bw.Flush()
}

// flush sizes the columns on first use, prints the header, and prints
// and forgets the buffered rows.
func (t *tableWriter) flush() error {
	if !t.started {
		t.started = true
		t.widths = make([]int, len(t.cols))
		for i, c := range t.cols {
			if t.markdown {
				c = markdownEscape(c)
			}
			if t.opts.Headers || t.markdown {
				t.widths[i] = utf8.RuneCountInString(c)
			}
			if t.markdown && t.widths[i] < 3 {
				t.widths[i] = 3
			}
		}
		for _, r := range t.rows {
			for i, v := range r {
				t.widths[i] = max(t.widths[i], utf8.RuneCountInString(v))
			}
		}
		if t.opts.Headers || t.markdown {
			cols := t.cols
			if t.markdown {
				cols = make([]string, len(t.cols))
				for i, c := range t.cols {
					cols[i] = markdownEscape(c)
				}
			}
			t.line(cols, false, func(int) string { return styleBold })
			rule := make([]string, len(t.cols))
			for i := range rule {
				rule[i] = strings.Repeat("-", t.widths[i])
				if t.markdown && t.right(i) {
					rule[i] = strings.Repeat("-", t.widths[i]-1) + ":"
				}
			}
			t.line(rule, false, nil)
		}
	}
	for r, row := range t.rows {
		nulls := t.nulls[r]
		t.line(row, true, func(i int) string {
			if nulls[i] {
				return styleDim
			}
			return ""
		})
	}
	t.rows, t.nulls = t.rows[:0], t.nulls[:0]
	return nil
}

// right reports whether column i is right-aligned: it holds numbers and
// nothing else but NULL. A column of NULLs only is text, left-aligned.
func (t *tableWriter) right(i int) bool { return t.numeric[i] && t.number[i] }

// markdownEscape makes a cell safe inside a markdown table row: a pipe is
// escaped, and so is a backslash that would otherwise escape the
// punctuation after it, so that neither can end the cell and the cell
// renders as the value. (A backslash before a letter, as in \x0a, is
// shown as it is by markdown and left alone.)
func markdownEscape(s string) string {
	if !strings.ContainsAny(s, `\|`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '|':
			b.WriteString(`\|`)
		case c == '\\' && (i+1 == len(s) || isASCIIPunct(s[i+1])):
			b.WriteString(`\\`)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// isASCIIPunct reports whether markdown lets a backslash escape c.
func isASCIIPunct(c byte) bool {
	return c > ' ' && c < 0x7f && !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z')
}

// line prints one row of cells padded to the column widths.
func (t *tableWriter) line(cells []string, align bool, style func(i int) string) {
	color := t.opts.Color && !t.markdown
	var l styledLine
	if t.markdown {
		l.add("| ", "")
	}
	for i, c := range cells {
		if i > 0 {
			if t.markdown {
				l.add(" | ", "")
			} else {
				l.add("  ", "")
			}
		}
		st := ""
		if color && style != nil {
			st = style(i)
		}
		pad := strings.Repeat(" ", max(0, t.widths[i]-utf8.RuneCountInString(c)))
		last := i == len(cells)-1 && !t.markdown
		switch {
		case align && t.right(i):
			l.add(pad, "")
			l.add(c, st)
		case last:
			l.add(c, st) // no trailing spaces at the end of a line
		default:
			l.add(c, st)
			l.add(pad, "")
		}
	}
	if t.markdown {
		l.add(" |", "")
	}
	t.bw.WriteString(l.render(t.opts.MaxWidth))
	t.bw.WriteString("\n")
}

// Fit cuts line to width cells (0: no limit), marking a cut with
// Ellipsis, as table output cuts its lines at Options.MaxWidth.
func Fit(line string, width int) string {
	var l styledLine
	l.add(line, "")
	return l.render(width)
}

// styledLine is one output line as runs of text, each with an optional
// ANSI style, so that a line can be cut to a width without counting the
// escapes.
type styledLine struct {
	runs   []string
	styles []string
}

func (l *styledLine) add(s, style string) {
	l.runs = append(l.runs, s)
	l.styles = append(l.styles, style)
}

// render joins the runs, cutting the line to max cells (0: no limit) and
// marking a cut with Ellipsis.
func (l *styledLine) render(max int) string {
	total := 0
	for _, r := range l.runs {
		total += utf8.RuneCountInString(r)
	}
	cut := max > 0 && total > max
	room := total
	if cut {
		room = max - utf8.RuneCountInString(Ellipsis)
	}
	var b strings.Builder
	for i, r := range l.runs {
		if room <= 0 {
			break
		}
		if n := utf8.RuneCountInString(r); n > room {
			r = string([]rune(r)[:room])
		}
		room -= utf8.RuneCountInString(r)
		if l.styles[i] != "" && r != "" {
			b.WriteString(l.styles[i] + r + styleReset)
		} else {
			b.WriteString(r)
		}
	}
	if cut {
		b.WriteString(Ellipsis)
	}
	return b.String()
}

// rawWriter writes Raw output.
type rawWriter struct{ w *bufio.Writer }

func (r *rawWriter) Begin([]string) error { return nil }

func (r *rawWriter) Row(values []any) error {
	for i, v := range values {
		if i > 0 {
			r.w.WriteByte(' ')
		}
		r.w.WriteString(Text(v, ""))
	}
	return r.w.WriteByte('\n')
}

func (r *rawWriter) End() error { return r.w.Flush() }

type csvWriter struct {
	w    *csv.Writer
	opts Options
}

func (c *csvWriter) Begin(columns []string) error {
	if c.opts.Headers {
		rec := make([]string, len(columns))
		for i, col := range columns {
			rec[i] = c.safe(col)
		}
		return c.w.Write(rec)
	}
	return nil
}

func (c *csvWriter) Row(values []any) error {
	rec := make([]string, len(values))
	for i, v := range values {
		rec[i] = c.safe(Text(v, ""))
	}
	return c.w.Write(rec)
}

// safe escapes control characters when the output is a terminal.
func (c *csvWriter) safe(s string) string {
	if c.opts.Terminal {
		return TerminalSafe(s)
	}
	return s
}

func (c *csvWriter) End() error {
	c.w.Flush()
	return c.w.Error()
}

// jsonWriter writes objects with keys in column order and SQL types kept:
// INTEGER and REAL as numbers, NULL as null, BLOB as base64 text. Keys
// are unique (see UniqueNames); text is escaped as appendJSONString does.
type jsonWriter struct {
	w      *bufio.Writer
	array  bool
	fields []Field
	prefix []byte   // the fields, encoded, each followed by a comma
	cols   [][]byte // column names, JSON-encoded
	n      int
}

func (j *jsonWriter) Begin(columns []string) error {
	names := make([]string, 0, len(j.fields)+len(columns))
	for _, f := range j.fields {
		names = append(names, f.Name)
	}
	names = UniqueNames(append(names, columns...))
	j.prefix = nil
	for i, f := range j.fields {
		j.prefix = append(appendJSONString(j.prefix, names[i]), ':')
		j.prefix = append(appendJSONString(j.prefix, f.Value), ',')
	}
	j.cols = make([][]byte, len(columns))
	for i := range columns {
		j.cols[i] = appendJSONString(nil, names[len(j.fields)+i])
	}
	if j.array {
		j.w.WriteString("[")
	}
	return nil
}

func (j *jsonWriter) Row(values []any) error {
	if j.array {
		if j.n > 0 {
			j.w.WriteString(",")
		}
		j.w.WriteString("\n")
	}
	j.n++
	j.w.WriteString("{")
	if len(values) == 0 {
		j.w.Write(bytes.TrimSuffix(j.prefix, []byte(",")))
	} else {
		j.w.Write(j.prefix)
	}
	for i, v := range values {
		if i > 0 {
			j.w.WriteString(",")
		}
		j.w.Write(j.cols[i])
		j.w.WriteString(":")
		if err := writeJSONValue(j.w, v); err != nil {
			return err
		}
	}
	j.w.WriteString("}")
	if !j.array {
		j.w.WriteString("\n")
	}
	return nil
}

func (j *jsonWriter) End() error {
	if j.array {
		if j.n > 0 {
			j.w.WriteString("\n")
		}
		j.w.WriteString("]\n")
	}
	return j.w.Flush()
}

func writeJSONValue(w *bufio.Writer, v any) error {
	switch x := v.(type) {
	case nil:
		w.WriteString("null")
	case int64:
		w.WriteString(strconv.FormatInt(x, 10))
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			w.WriteString("null")
		} else {
			w.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
		}
	case bool:
		w.WriteString(strconv.FormatBool(x))
	case []byte:
		b, _ := json.Marshal(base64.StdEncoding.EncodeToString(x))
		w.Write(b)
	default:
		w.Write(appendJSONString(nil, Text(x, "")))
	}
	return nil
}

type lineWriter struct {
	w     *bufio.Writer
	opts  Options
	cols  []string
	width int
	n     int
}

func (l *lineWriter) Begin(columns []string) error {
	l.cols = make([]string, len(columns))
	for i, c := range columns {
		l.cols[i] = TerminalSafe(c)
		l.width = max(l.width, utf8.RuneCountInString(l.cols[i]))
	}
	return nil
}

func (l *lineWriter) Row(values []any) error {
	if l.n > 0 {
		l.w.WriteString("\n")
	}
	l.n++
	for i, v := range values {
		text := TerminalSafe(Text(v, l.opts.Null))
		if v == nil && l.opts.Color {
			text = styleDim + text + styleReset
		}
		fmt.Fprintf(l.w, "%*s = %s\n", l.width, l.cols[i], text)
	}
	return nil
}

func (l *lineWriter) End() error { return l.w.Flush() }
