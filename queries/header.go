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
