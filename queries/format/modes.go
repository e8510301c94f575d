package format

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// TerminalSafe returns s as it may be shown on a terminal: every byte of
// a control character (C0, DEL, C1), of a Unicode bidirectional control
// and of an invalid UTF-8 sequence is written as \xHH, so that no value
// can move the cursor, forge a line, set the title or reorder what
// follows it. Everything else, a backslash included, is left as it is.
// table, column, box, line and markdown output always apply it; csv,
// list, tabs, quote and insert when they write to a terminal; json and
// ndjson escape control characters in their own way (appendJSONString).
func TerminalSafe(s string) string {
	i := 0
	for i < len(s) {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if unsafeRune(r, size) {
			break
		}
		i += size
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.WriteString(s[:i])
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if unsafeRune(r, size) {
			for _, c := range []byte(s[i : i+size]) {
				fmt.Fprintf(&b, `\x%02x`, c)
			}
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// unsafeRune reports whether a decoded rune must not reach a terminal.
func unsafeRune(r rune, size int) bool {
	switch {
	case r == utf8.RuneError && size <= 1: // invalid UTF-8
		return true
	case r < 0x20 || r >= 0x7f && r <= 0x9f: // C0, DEL, C1
		return true
	case r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 || r == 0x200e || r == 0x200f || r == 0x061c:
		return true // bidirectional controls
	}
	return false
}

// appendJSONString appends s as a JSON string. Control characters are
// escaped (\n, \t, ..., \u001b), and each byte of invalid UTF-8 becomes
// the lone surrogate \udcHH (Python's "surrogateescape"), so that two
// different byte strings never encode to the same JSON text and valid
// text never encodes to a lone surrogate.
func appendJSONString(dst []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x80 && c != '"' && c != '\\' {
			dst = append(dst, c)
			i++
			continue
		}
		if c < 0x80 {
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, '\\', 'u', 'd', 'c', hexDigits[c>>4], hexDigits[c&0xf])
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, `\u202`...)
			dst = append(dst, hexDigits[r&0xf])
		default:
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}

// UniqueNames makes names unique the way SQLite names the columns of
// CREATE TABLE ... AS SELECT: the first of a name keeps it, a later one
// becomes "name:N" with the smallest N not taken. json and ndjson use it
// for their keys, so `SELECT 1 AS a, 2 AS a` gives {"a":1,"a:1":2}.
func UniqueNames(names []string) []string {
	out := make([]string, len(names))
	taken := make(map[string]bool, len(names))
	for _, n := range names {
		taken[n] = true
	}
	first := make(map[string]bool, len(names))
	for i, n := range names {
		if !first[n] {
			first[n] = true
			out[i] = n
			continue
		}
		for k := 1; ; k++ {
			c := n + ":" + strconv.Itoa(k)
			if !taken[c] {
				taken[c] = true
				out[i] = c
				break
			}
		}
	}
	return out
}

// columnWrap is the width past which column and box output wrap a value
// onto more lines, as sqlite3's default --wrap 60 does.
const columnWrap = 60

// columnWriter prints sqlite3's column and box modes. It needs every row
// to size the columns, so it holds the whole result.
type columnWriter struct {
	w    io.Writer
	opts Options
	box  bool
	cols []string
	rows [][]string
}

func (c *columnWriter) Begin(columns []string) error {
	c.cols = make([]string, len(columns))
	for i, col := range columns {
		c.cols[i] = TerminalSafe(col)
	}
	return nil
}

func (c *columnWriter) Row(values []any) error {
	row := make([]string, len(values))
	for i, v := range values {
		row[i] = TerminalSafe(Text(v, c.opts.Null))
	}
	c.rows = append(c.rows, row)
	return nil
}

func (c *columnWriter) End() error {
	if len(c.cols) == 0 {
		return nil
	}
	n := len(c.cols)
	widths := make([]int, n)
	right := make([]bool, n)
	for i := range n {
		w := 0
		if i < len(c.opts.Widths) {
			w = c.opts.Widths[i]
		}
		if w < 0 {
			w, right[i] = -w, true
		}
		if w == 0 {
			w = utf8.RuneCountInString(c.cols[i])
			for _, r := range c.rows {
				w = max(w, min(utf8.RuneCountInString(r[i]), columnWrap))
			}
		}
		widths[i] = w
	}
	bw := bufio.NewWriter(c.w)
	rule := func(left, mid, end string) {
		bw.WriteString(left)
		for i, w := range widths {
			if i > 0 {
				bw.WriteString(mid)
			}
			bw.WriteString(strings.Repeat("─", w+2))
		}
		bw.WriteString(end + "\n")
	}
	// A row wrapped onto more lines makes sqlite3 separate every row from
	// the next: a rule in box mode, an empty line in column mode.
	multi := false
	for _, r := range c.rows {
		for i, cell := range r {
			multi = multi || utf8.RuneCountInString(cell) > widths[i]
		}
	}
	// line prints one row, wrapping cells longer than their width onto
	// more lines; a header is cut to the width instead, as in sqlite3.
	line := func(cells []string, header bool) {
		center := header && c.box
		parts := make([][]string, n)
		lines := 1
		for i, cell := range cells {
			parts[i] = wrapCell(cell, widths[i])
			if header {
				parts[i] = parts[i][:1]
			}
			lines = max(lines, len(parts[i]))
		}
		for l := range lines {
			if c.box {
				bw.WriteString("│ ")
			}
			for i := range n {
				if i > 0 {
					if c.box {
						bw.WriteString(" │ ")
					} else {
						bw.WriteString("  ")
					}
				}
				text := ""
				if l < len(parts[i]) {
					text = parts[i][l]
				}
				pad := max(0, widths[i]-utf8.RuneCountInString(text))
				switch {
				case center:
					bw.WriteString(strings.Repeat(" ", pad/2) + text + strings.Repeat(" ", pad-pad/2))
				case right[i]:
					bw.WriteString(strings.Repeat(" ", pad) + text)
				default:
					bw.WriteString(text + strings.Repeat(" ", pad))
				}
			}
			if c.box {
				bw.WriteString(" │")
			}
			bw.WriteString("\n")
		}
	}
	switch {
	case c.box:
		rule("┌", "┬", "┐")
		line(c.cols, true)
		rule("├", "┼", "┤")
	case c.opts.Headers:
		line(c.cols, true)
		for i, w := range widths {
			if i > 0 {
				bw.WriteString("  ")
			}
			bw.WriteString(strings.Repeat("-", w))
		}
		bw.WriteString("\n")
	}
	for k, r := range c.rows {
		if k > 0 && multi {
			if c.box {
				rule("├", "┼", "┤")
			} else {
				bw.WriteString("\n")
			}
		}
		line(r, false)
	}
	if c.box {
		rule("└", "┴", "┘")
	}
	c.rows = nil
	return bw.Flush()
}

// wrapCell cuts text into lines of at most width characters.
func wrapCell(text string, width int) []string {
	if width <= 0 || utf8.RuneCountInString(text) <= width {
		return []string{text}
	}
	var out []string
	r := []rune(text)
	for len(r) > width {
		out = append(out, string(r[:width]))
		r = r[width:]
	}
	return append(out, string(r))
}

// listWriter prints sqlite3's list, tabs, quote and insert modes, one
// line per row.
type listWriter struct {
	w    *bufio.Writer
	opts Options
	mode string
	cols []string
	into string // insert: `INSERT INTO t(cols) VALUES(`
}

func (l *listWriter) sep() (col, row string) {
	col, row = l.opts.Separator, l.opts.RowSeparator
	if col == "" {
		col = "|"
	}
	if row == "" {
		row = "\n"
	}
	switch l.mode {
	case "tabs":
		col = "\t"
	case "quote":
		col, row = ",", "\n"
	case "insert":
		row = "\n"
	}
	return col, row
}

func (l *listWriter) safe(s string) string {
	if l.opts.Terminal {
		return TerminalSafe(s)
	}
	return s
}

func (l *listWriter) Begin(columns []string) error {
	l.cols = columns
	col, row := l.sep()
	switch {
	case l.mode == "insert":
		table := l.opts.Table
		if table == "" {
			table = "table"
		}
		l.into = "INSERT INTO " + quoteIdent(table)
		if l.opts.Headers {
			q := make([]string, len(columns))
			for i, c := range columns {
				q[i] = quoteIdent(c)
			}
			l.into += "(" + strings.Join(q, ",") + ")"
		}
		l.into = l.safe(l.into) + " VALUES("
	case l.opts.Headers && len(columns) > 0:
		q := make([]string, len(columns))
		for i, c := range columns {
			if l.mode == "quote" {
				c = sqlQuote(c)
			}
			q[i] = l.safe(c)
		}
		l.w.WriteString(strings.Join(q, col) + row)
	}
	return nil
}

func (l *listWriter) Row(values []any) error {
	col, row := l.sep()
	if l.mode == "insert" {
		l.w.WriteString(l.into)
		col, row = ",", ");\n"
	}
	for i, v := range values {
		if i > 0 {
			l.w.WriteString(col)
		}
		var text string
		switch l.mode {
		case "quote", "insert":
			text = sqlValue(v, l.mode == "insert")
		default:
			text = Text(v, l.opts.Null)
		}
		l.w.WriteString(l.safe(text))
	}
	l.w.WriteString(row)
	return nil
}

func (l *listWriter) End() error { return l.w.Flush() }

// sqlQuote quotes text as an SQL string literal.
func sqlQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// sqlValue writes a value as SQL, as sqlite3's quote and insert modes do.
// In insert mode a text with newlines or carriage returns is written with
// replace(...) and char(10)/char(13), so that each INSERT stays one line.
func sqlValue(v any, insert bool) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case int64:
		return strconv.FormatInt(x, 10)
	case bool:
		if x {
			return "1"
		}
		return "0"
	case float64:
		switch {
		case math.IsInf(x, 1):
			return "9.0e+999"
		case math.IsInf(x, -1):
			return "-9.0e+999"
		case math.IsNaN(x):
			return "NULL"
		case x == math.Trunc(x) && math.Abs(x) < 1<<63:
			return strconv.FormatInt(int64(x), 10) + ".0"
		}
		return bangFloat(strconv.FormatFloat(x, 'g', 20, 64))
	case []byte:
		return "X'" + hex.EncodeToString(x) + "'"
	}
	s := Text(v, "")
	if !insert || !strings.ContainsAny(s, "\r\n") {
		return sqlQuote(s)
	}
	var nl, cr string
	var b strings.Builder
	if strings.Contains(s, "\n") {
		b.WriteString("replace(")
		nl = unusedMarker(s, `\n`, `\012`)
	}
	if strings.Contains(s, "\r") {
		b.WriteString("replace(")
		cr = unusedMarker(s, `\r`, `\015`)
	}
	body := strings.NewReplacer("'", "''", "\n", nl, "\r", cr).Replace(s)
	b.WriteString("'" + body + "'")
	if cr != "" {
		b.WriteString(",'" + cr + "',char(13))")
	}
	if nl != "" {
		b.WriteString(",'" + nl + "',char(10))")
	}
	return b.String()
}

// unusedMarker picks a marker for a character that does not occur in s,
// as sqlite3's unused_string does.
func unusedMarker(s, a, b string) string {
	if !strings.Contains(s, a) {
		return a
	}
	if !strings.Contains(s, b) {
		return b
	}
	for i := 0; ; i++ {
		m := "(" + strconv.Itoa(i) + ")"
		if !strings.Contains(s, m) {
			return m
		}
	}
}

// bangFloat adds ".0" to a mantissa without a decimal point, as SQLite's
// "%!g" does: 1e+300 becomes 1.0e+300.
func bangFloat(s string) string {
	if strings.ContainsAny(s, ".nN") {
		return s
	}
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		return s[:i] + ".0" + s[i:]
	}
	return s + ".0"
}

// quoteIdent quotes an identifier for insert output when SQLite needs it
// quoted: it is not a plain word or it is a keyword.
func quoteIdent(name string) string {
	plain := name != "" && !(name[0] >= '0' && name[0] <= '9') && !sqliteKeywords[strings.ToUpper(name)]
	for i := 0; i < len(name) && plain; i++ {
		plain = IdentByte(name[i])
	}
	if plain {
		return name
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// sqliteKeywords are SQLite's keywords (sqlite3_keyword_name).
var sqliteKeywords = func() map[string]bool {
	m := map[string]bool{}
	for _, k := range strings.Fields(`ABORT ACTION ADD AFTER ALL ALTER ALWAYS ANALYZE AND AS ASC ATTACH
		AUTOINCREMENT BEFORE BEGIN BETWEEN BY CASCADE CASE CAST CHECK COLLATE COLUMN COMMIT CONFLICT
		CONSTRAINT CREATE CROSS CURRENT CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP DATABASE DEFAULT
		DEFERRABLE DEFERRED DELETE DESC DETACH DISTINCT DO DROP EACH ELSE END ESCAPE EXCEPT EXCLUDE
		EXCLUSIVE EXISTS EXPLAIN FAIL FILTER FIRST FOLLOWING FOR FOREIGN FROM FULL GENERATED GLOB
		GROUP GROUPS HAVING IF IGNORE IMMEDIATE IN INDEX INDEXED INITIALLY INNER INSERT INSTEAD
		INTERSECT INTO IS ISNULL JOIN KEY LAST LEFT LIKE LIMIT MATCH MATERIALIZED NATURAL NO NOT
		NOTHING NOTNULL NULL NULLS OF OFFSET ON OR ORDER OTHERS OUTER OVER PARTITION PLAN PRAGMA
		PRECEDING PRIMARY QUERY RAISE RANGE RECURSIVE REFERENCES REGEXP REINDEX RELEASE RENAME
		REPLACE RESTRICT RETURNING RIGHT ROLLBACK ROW ROWS SAVEPOINT SELECT SET TABLE TEMP TEMPORARY
		THEN TIES TO TRANSACTION TRIGGER UNBOUNDED UNION UNIQUE UPDATE USING VACUUM VALUES VIEW
		VIRTUAL WHEN WHERE WINDOW WITH WITHOUT`) {
		m[k] = true
	}
	return m
}()

// IdentByte reports whether c may appear in an identifier that SQL needs
// not quote: an ASCII letter, digit or '_' (insert output quotes any
// other name; the shell's completion reads words with it).
func IdentByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
