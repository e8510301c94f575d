package queries

import (
	"errors"
	"fmt"
	"strings"
)

// Field is one `-- key: value` line of a query's header comment.
type Field struct {
	Key   string // lower case: name, description, netstat, param, ...
	Value string // the text after the colon, spaces trimmed
}

// Param declares a :name parameter the query uses, from a header line
//
//	-- param: NAME=DEFAULT  what it means
//
// DEFAULT is one word; ” (two single quotes) is the empty string.
type Param struct {
	Name    string
	Default string
	Doc     string
}

// ErrHeader is wrapped by every header parsing error.
var ErrHeader = errors.New("query header")

// ParseHeader reads the header comment at the top of a .sql file: the
// leading comment lines that start with "--" (blank lines among them are
// skipped; the first SQL line ends it). Lines of the form
// `-- key: value`, where key is a letter followed by letters, digits, '-'
// or '_', become Fields in file order, keys lower-cased; repeated and
// unknown keys are kept, so later features (user query directories,
// Prometheus metric headers) can add keys without changing this parser.
// Other comment lines are free text and are ignored.
func ParseHeader(text string) ([]Field, error) {
	var fields []Field
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimRight(line, "\r")
		trimmed := strings.TrimSpace(line)
		if trimmed == "" {
			continue
		}
		body, ok := strings.CutPrefix(trimmed, "--")
		if !ok {
			break
		}
		key, value, ok := cutField(body)
		if !ok {
			continue
		}
		if value == "" {
			return nil, fmt.Errorf("%w: line %d: %q has no value", ErrHeader, n+1, key)
		}
		fields = append(fields, Field{Key: key, Value: value})
	}
	return fields, nil
}

// cutField splits " key: value" into its parts; ok is false for free text.
func cutField(body string) (key, value string, ok bool) {
	body = strings.TrimSpace(body)
	i := strings.IndexByte(body, ':')
	if i <= 0 {
		return "", "", false
	}
	key = body[:i]
	for j, c := range key {
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (j == 0 || !(c >= '0' && c <= '9' || c == '-' || c == '_')) {
			return "", "", false
		}
	}
	// "key:value" without a space is a field only when followed by a space
	// or the end: "see http://x" stays free text.
	rest := body[i+1:]
	if rest != "" && rest[0] != ' ' && rest[0] != '\t' {
		return "", "", false
	}
	return strings.ToLower(key), strings.TrimSpace(rest), true
}

// parseParam parses the value of a `param:` field.
func parseParam(v string) (Param, error) {
	word, doc, _ := strings.Cut(v, " ")
	name, def, ok := strings.Cut(word, "=")
	if !ok || !isIdent(name) {
		return Param{}, fmt.Errorf("%w: param %q: want NAME=DEFAULT description", ErrHeader, v)
	}
	if def == "''" {
		def = ""
	}
	return Param{Name: name, Default: def, Doc: strings.TrimSpace(doc)}, nil
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// firstFreeText returns the header's first comment line that is not a
// `key: value` field ("" when there is none): the description of a query
// file that starts with a plain comment.
func firstFreeText(text string) string {
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" {
			continue
		}
		body, ok := strings.CutPrefix(trimmed, "--")
		if !ok {
			return ""
		}
		if _, _, field := cutField(body); field {
			continue
		}
		if body = strings.TrimSpace(body); body != "" {
			return body
		}
	}
	return ""
}

// Panel declares a query as a panel of `netsql top`, from header lines:
//
//	-- panel: Interfaces
//	-- keys: interface, _netns
//	-- counters: rx_bytes, tx_bytes
//	-- show: tab
//	-- sort: rx_bytes desc
//	-- drill: top-interface-addresses
//	-- rank: 50
//
// panel (the title) makes the query a panel; the other keys mean nothing
// to panels before it. keys are the result columns that identify a row
// between two refreshes (none: the query returns one row); counters are
// columns holding ever-growing counters, which top shows as per-second
// rates by key. show says where the panel goes: tab (a panel Tab cycles
// through, the default), header (its one row shown as labelled values
// with their change and a sparkline) or drill (shown only by Enter on a
// row of a panel naming it in drill:, with that row's key columns bound
// as :parameters of the same names). sort is the initial sort column,
// optionally followed by asc or desc; rank orders the panels (lower
// first, then by name; default 100).
type Panel struct {
	Title    string
	Keys     []string
	Counters []string
	Show     string // "tab", "header" or "drill"
	Sort     string // "" keeps the query's own order
	SortDesc bool
	Drill    string
	Rank     int
}

// panelKeys are the header keys a panel declaration uses.
var panelKeys = map[string]bool{"panel": true, "keys": true, "counters": true, "show": true, "sort": true, "drill": true, "rank": true}

// parsePanel returns the query's panel declaration, nil when it has none.
func parsePanel(fields []Field) (*Panel, error) {
	var p *Panel
	seen := map[string]bool{}
	for _, f := range fields {
		if !panelKeys[f.Key] {
			continue
		}
		if f.Key == "panel" && p != nil {
			return nil, fmt.Errorf("%w: panel given twice", ErrHeader)
		}
		if f.Key == "panel" {
			p = &Panel{Title: f.Value, Show: "tab", Rank: 100}
			continue
		}
		if p == nil {
			continue // not a panel query: the key is someone else's
		}
		if seen[f.Key] {
			return nil, fmt.Errorf("%w: panel %s: %s given twice", ErrHeader, p.Title, f.Key)
		}
		seen[f.Key] = true
		var err error
		switch f.Key {
		case "keys":
			p.Keys, err = identList(p.Title, f.Key, f.Value)
		case "counters":
			p.Counters, err = identList(p.Title, f.Key, f.Value)
		case "show":
			if f.Value != "tab" && f.Value != "header" && f.Value != "drill" {
				err = fmt.Errorf("%w: panel %s: show %q (want tab, header or drill)", ErrHeader, p.Title, f.Value)
			}
			p.Show = f.Value
		case "sort":
			col, dir, _ := strings.Cut(f.Value, " ")
			dir = strings.ToLower(strings.TrimSpace(dir))
			if !isIdent(col) || dir != "" && dir != "asc" && dir != "desc" {
				err = fmt.Errorf("%w: panel %s: sort %q (want COLUMN [asc|desc])", ErrHeader, p.Title, f.Value)
			}
			p.Sort, p.SortDesc = col, dir == "desc"
		case "drill":
			p.Drill = f.Value
		case "rank":
			if _, serr := fmt.Sscanf(f.Value, "%d", &p.Rank); serr != nil || fmt.Sprint(p.Rank) != f.Value {
				err = fmt.Errorf("%w: panel %s: rank %q (want an integer)", ErrHeader, p.Title, f.Value)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	if p == nil {
		return nil, nil
	}
	for _, k := range p.Keys {
		for _, c := range p.Counters {
			if k == c {
				return nil, fmt.Errorf("%w: panel %s: column %s is both a key and a counter", ErrHeader, p.Title, k)
			}
		}
	}
	return p, nil
}

// identList parses a comma-separated list of distinct column names.
func identList(title, key, v string) ([]string, error) {
	var out []string
	for _, s := range strings.Split(v, ",") {
		s = strings.TrimSpace(s)
		if !isIdent(s) {
			return nil, fmt.Errorf("%w: panel %s: %s: %q is not a column name", ErrHeader, title, key, s)
		}
		for _, old := range out {
			if old == s {
				return nil, fmt.Errorf("%w: panel %s: %s: %s given twice", ErrHeader, title, key, s)
			}
		}
		out = append(out, s)
	}
	return out, nil
}
