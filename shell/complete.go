package shell

import (
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/netsql/netsql/queries/format"
	"github.com/netsql/netsql/queries/run"
	"github.com/netsql/netsql/vtab"
)

// sqlKeywords are the keywords tab completion offers, upper case.
var sqlKeywords = []string{
	"ALL", "AND", "AS", "ASC", "BETWEEN", "BY", "CASE", "CAST", "COLLATE",
	"CREATE", "CROSS", "DESC", "DISTINCT", "DROP", "ELSE", "END", "ESCAPE",
	"EXCEPT", "EXISTS", "EXPLAIN", "FROM", "GLOB", "GROUP", "HAVING", "IN",
	"INNER", "INTERSECT", "IS", "JOIN", "LEFT", "LIKE", "LIMIT", "NATURAL",
	"NOCASE", "NOT", "NULL", "OFFSET", "ON", "OR", "ORDER", "OUTER", "PLAN",
	"PRAGMA", "QUERY", "RECURSIVE", "SELECT", "TABLE", "TEMP", "THEN",
	"UNION", "USING", "VALUES", "VIEW", "WHEN", "WHERE", "WITH",
}

// sqlFunctions are SQL functions tab completion offers, lower case.
var sqlFunctions = []string{
	"avg(", "coalesce(", "count(", "group_concat(", "ifnull(", "instr(",
	"length(", "lower(", "max(", "min(", "printf(", "replace(", "round(",
	"substr(", "sum(", "total(", "trim(", "upper(",
}

// Keywords after which a table name comes next.
var tableKeywords = map[string]bool{"FROM": true, "JOIN": true, "INTO": true, "UPDATE": true, "TABLE": true}

// Keywords after which column names make sense.
var columnKeywords = map[string]bool{
	"SELECT": true, "WHERE": true, "AND": true, "OR": true, "ON": true, "BY": true,
	"HAVING": true, "SET": true, "DISTINCT": true, "WHEN": true, "THEN": true,
	"ELSE": true, "NOT": true, "CASE": true, "USING": true,
}

// completer offers tab completions from the engine's table declarations,
// the dot-commands and the canned queries' names.
type completer struct {
	schemas []vtab.Schema
	dots    []string        // dot-command names without the dot
	queries func() []string // canned query names
	pending func() string   // the statement typed on earlier lines
}

// Do implements readline.AutoCompleter: the candidates' remaining text
// after the word being completed, and the word's length.
func (c *completer) Do(line []rune, pos int) ([][]rune, int) {
	pending := ""
	if c.pending != nil {
		pending = c.pending()
	}
	word, cands := c.completeAt(pending, string(line[:pos]), string(line[pos:]))
	out := make([][]rune, 0, len(cands))
	for _, cand := range cands {
		if !strings.HasPrefix(cand, word) {
			continue
		}
		out = append(out, []rune(cand[len(word):]))
	}
	return out, len([]rune(word))
}

// completeAt returns the word before the cursor and every candidate that
// starts with it, sorted. text is the current line up to the cursor and
// after the rest of it, where a statement's FROM clause may name the
// tables being completed; pending holds the earlier lines of an
// unfinished statement.
func (c *completer) completeAt(pending, text, after string) (word string, cands []string) {
	if pending == "" && strings.HasPrefix(strings.TrimLeft(text, " \t"), ".") {
		return c.completeDot(strings.TrimLeft(text, " \t"))
	}
	return c.completeSQL(pending+text, after)
}

func (c *completer) completeDot(text string) (string, []string) {
	name, rest, hasArgs := strings.Cut(text[1:], " ")
	if !hasArgs {
		return name, matching(name, c.dots)
	}
	args := strings.Fields(rest)
	word := ""
	if !strings.HasSuffix(rest, " ") && len(args) > 0 {
		word = args[len(args)-1]
		args = args[:len(args)-1]
	}
	if cmd, ok := findDot(name); ok {
		name = cmd.name
	}
	switch name {
	case "schema", "tables":
		if len(args) == 0 {
			return word, matching(word, c.tableNames())
		}
	case "run":
		if len(args) == 0 && c.queries != nil {
			return word, matching(word, c.queries())
		}
	case "mode":
		if len(args) == 0 {
			return word, matching(word, format.Formats)
		}
	case "headers", "timer", "fit":
		if len(args) == 0 {
			return word, matching(word, []string{"off", "on"})
		}
	case "parameter":
		if len(args) == 0 {
			return word, matching(word, []string{"clear", "list", "set", "unset"})
		}
	case "help":
		if len(args) == 0 {
			return word, matching(word, c.dots)
		}
	case "read", "output", "once":
		if len(args) == 0 {
			return word, files(word)
		}
	case "watch":
		// .watch SECONDS STATEMENT: complete the statement.
		if _, stmt, ok := strings.Cut(strings.TrimLeft(rest, " "), " "); ok {
			return c.completeAt("", strings.TrimLeft(stmt, " "), "")
		}
	}
	return word, nil
}

func (c *completer) completeSQL(text, after string) (string, []string) {
	// The statement being typed starts after the last complete one.
	if stmts, _ := run.Split(text); len(stmts) > 0 {
		if i := lastTerminator(text); i >= 0 {
			text = text[i+1:]
		}
	}
	if word, cands, ok := c.completeValue(text, after); ok {
		return word, cands
	}
	end := len(text)
	start := end
	for start > 0 && format.IdentByte(text[start-1]) {
		start--
	}
	word := text[start:end]
	toks := sqlTokens(text[:start])
	if i := strings.IndexByte(after, ';'); i >= 0 {
		after = after[:i]
	}
	aliases := tableAliases(sqlTokens(text+after), c.schemas)

	// table.col or alias.col
	if start > 0 && text[start-1] == '.' {
		q := start - 1
		qs := q
		for qs > 0 && format.IdentByte(text[qs-1]) {
			qs--
		}
		if s, ok := aliases[strings.ToLower(text[qs:q])]; ok {
			return word, matching(word, columnNames(s))
		}
		if s, ok := c.schema(text[qs:q]); ok {
			return word, matching(word, columnNames(s))
		}
		return word, nil
	}

	kwCase := strings.ToUpper
	if word != "" && word == strings.ToLower(word) {
		kwCase = strings.ToLower
	}
	var keywords []string
	for _, k := range sqlKeywords {
		keywords = append(keywords, kwCase(k))
	}

	last, kw := "", ""
	if len(toks) > 0 {
		last = strings.ToUpper(toks[len(toks)-1])
	}
	for i := len(toks) - 1; i >= 0; i-- {
		if u := strings.ToUpper(toks[i]); isKeyword(u) {
			kw = u
			break
		}
	}
	switch {
	case tableKeywords[last] || last == "," && kw == "FROM":
		return word, matching(word, c.tableNames())
	case columnKeywords[kw] || last == "(" || last == "=" || last == ",":
		var cols []string
		seen := map[string]bool{}
		for _, s := range referenced(aliases, c.schemas) {
			for _, col := range columnNames(s) {
				if !seen[col] {
					seen[col] = true
					cols = append(cols, col)
				}
			}
		}
		for a := range aliases {
			cols = append(cols, a)
		}
		cands := append(append(cols, sqlFunctions...), keywords...)
		return word, matching(word, cands)
	}
	return word, matching(word, append(keywords, c.tableNames()...))
}

// completeValue completes a string literal being typed against a column
// with a closed set of values (vtab.ColumnSchema.Values): `state = 'CL`,
// `state IN ('LISTEN', 'CL`, `state <> 'CL`. ok is false when the cursor
// is not in such a literal. Values match case-sensitively, as the engine
// compares them, and complete with the closing quote.
func (c *completer) completeValue(text, after string) (word string, cands []string, ok bool) {
	open, at := run.OpenQuote(text)
	if open != '\'' {
		return "", nil, false
	}
	word = text[at+1:]
	toks := sqlTokens(text[:at])
	j := len(toks) - 1
	at2 := func(k int, s string) bool { return k >= 0 && k < len(toks) && strings.EqualFold(toks[k], s) }
	col := ""
	switch {
	case at2(j, "=") || at2(j, ">") && at2(j-1, "<"):
		j--
		if at2(j, "=") || at2(j, "!") || at2(j, "<") {
			j--
		}
		if j >= 0 {
			col = toks[j]
		}
	case at2(j, "(") || at2(j, ","):
		for at2(j, ",") && at2(j-1, "''") {
			j -= 2
		}
		if at2(j, "(") && at2(j-1, "IN") {
			j -= 2
			if at2(j, "NOT") {
				j--
			}
			if j >= 0 {
				col = toks[j]
			}
		}
	}
	if col == "" {
		return word, nil, true
	}
	aliases := tableAliases(sqlTokens(text+after), c.schemas)
	var values []string
	for _, s := range referenced(aliases, c.schemas) {
		for _, cs := range s.Columns {
			if strings.EqualFold(cs.Name, col) {
				values = append(values, cs.Values...)
			}
		}
	}
	seen := map[string]bool{}
	for _, v := range values {
		if strings.HasPrefix(v, word) && !seen[v] {
			seen[v] = true
			cands = append(cands, v+"'")
		}
	}
	sort.Strings(cands)
	return word, cands, true
}

// lastTerminator is the index of the last statement-ending semicolon.
func lastTerminator(text string) int {
	for i := len(text) - 1; i >= 0; i-- {
		if text[i] == ';' {
			if stmts, rest := run.Split(text[:i+1]); len(stmts) > 0 && rest == "" {
				return i
			}
		}
	}
	return -1
}

func (c *completer) tableNames() []string {
	names := make([]string, len(c.schemas))
	for i, s := range c.schemas {
		names[i] = s.Name
	}
	return names
}

func (c *completer) schema(name string) (vtab.Schema, bool) {
	for _, s := range c.schemas {
		if strings.EqualFold(s.Name, name) {
			return s, true
		}
	}
	return vtab.Schema{}, false
}

func columnNames(s vtab.Schema) []string {
	var out []string
	for _, col := range s.Columns {
		out = append(out, col.Name)
	}
	return out
}

// referenced returns the tables a statement names, or every table when it
// names none yet (`SELECT loc` before FROM).
func referenced(aliases map[string]vtab.Schema, all []vtab.Schema) []vtab.Schema {
	var out []vtab.Schema
	seen := map[string]bool{}
	for _, s := range aliases {
		if !seen[s.Name] {
			seen[s.Name] = true
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return all
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// tableAliases maps each table name and alias in a statement's FROM and
// JOIN clauses (lower case) to the table's schema.
func tableAliases(toks []string, schemas []vtab.Schema) map[string]vtab.Schema {
	find := func(name string) (vtab.Schema, bool) {
		for _, s := range schemas {
			if strings.EqualFold(s.Name, name) {
				return s, true
			}
		}
		return vtab.Schema{}, false
	}
	out := map[string]vtab.Schema{}
	for i := 0; i < len(toks); i++ {
		u := strings.ToUpper(toks[i])
		if u != "FROM" && u != "JOIN" && !(u == "," && inFrom(toks[:i])) {
			continue
		}
		if i+1 >= len(toks) {
			break
		}
		s, ok := find(toks[i+1])
		if !ok {
			continue
		}
		out[strings.ToLower(s.Name)] = s
		j := i + 2
		if j < len(toks) && toks[j] == "(" { // table-valued function arguments
			for j < len(toks) && toks[j] != ")" {
				j++
			}
			j++
		}
		if j < len(toks) && strings.EqualFold(toks[j], "AS") {
			j++
		}
		if j < len(toks) && format.IdentByte(toks[j][0]) && !isKeyword(strings.ToUpper(toks[j])) {
			out[strings.ToLower(toks[j])] = s
		}
	}
	return out
}

// inFrom reports whether the tokens end inside a FROM clause.
func inFrom(toks []string) bool {
	for i := len(toks) - 1; i >= 0; i-- {
		if u := strings.ToUpper(toks[i]); isKeyword(u) {
			return u == "FROM"
		}
	}
	return false
}

func isKeyword(u string) bool {
	if tableKeywords[u] || columnKeywords[u] {
		return true
	}
	i := sort.SearchStrings(sqlKeywords, u)
	return i < len(sqlKeywords) && sqlKeywords[i] == u
}

// sqlTokens cuts SQL into identifiers, numbers and single punctuation
// characters, dropping string literals, comments and white space.
func sqlTokens(s string) []string {
	var toks []string
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == '\'':
			i = skipQuoted(s, i, c)
			toks = append(toks, "''")
		case c == '"' || c == '`':
			j := skipQuoted(s, i, c)
			toks = append(toks, strings.Trim(s[i:j], string(c)))
			i = j
		case c == '-' && i+1 < len(s) && s[i+1] == '-':
			if j := strings.IndexByte(s[i:], '\n'); j >= 0 {
				i += j + 1
			} else {
				i = len(s)
			}
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			if j := strings.Index(s[i+2:], "*/"); j >= 0 {
				i += j + 4
			} else {
				i = len(s)
			}
		case format.IdentByte(c):
			j := i
			for j < len(s) && format.IdentByte(s[j]) {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		default:
			toks = append(toks, s[i:i+1])
			i++
		}
	}
	return toks
}

// matching returns the candidates that start with word (ignoring case),
// sorted and without duplicates.
func matching(word string, cands []string) []string {
	var out []string
	seen := map[string]bool{}
	lw := strings.ToLower(word)
	for _, c := range cands {
		if seen[c] || !strings.HasPrefix(strings.ToLower(c), lw) {
			continue
		}
		seen[c] = true
		out = append(out, word+c[len(word):])
	}
	sort.Strings(out)
	return out
}

// files completes a file name.
func files(word string) []string {
	matches, _ := filepath.Glob(globEscape(word) + "*")
	var out []string
	for _, m := range matches {
		if strings.HasPrefix(word, "./") && !strings.HasPrefix(m, "./") {
			m = "./" + m
		}
		if fi, err := os.Stat(m); err == nil && fi.IsDir() {
			m += "/"
		}
		out = append(out, m)
	}
	return out
}

func globEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, "*", `\*`, "?", `\?`, "[", `\[`).Replace(s)
}

// skipQuoted returns the index after the quoted run that starts at s[i]
// (quote q; a doubled quote escapes itself), or len(s) when it is open.
func skipQuoted(s string, i int, q byte) int {
	i++
	for i < len(s) {
		if s[i] == q {
			if i+1 < len(s) && s[i+1] == q { // doubled quote escapes itself
				i += 2
				continue
			}
			return i + 1
		}
		i++
	}
	return len(s)
}
