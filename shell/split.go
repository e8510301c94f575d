// Package shell is netsql's interactive shell and the output formats it
// shares with one-shot mode.
package shell

import "strings"

// Statement is one SQL statement cut from a script, with the names of the
// :name parameters it uses.
type Statement struct {
	SQL    string
	Params []string
}

// Split cuts a script into statements at semicolons that are outside
// quotes, identifiers and comments. rest is any trailing text that has no
// terminating semicolon yet (the shell keeps reading; one-shot mode runs
// it as a last statement). Empty statements are dropped.
func Split(script string) (stmts []Statement, rest string) {
	start := 0
	var params []string
	seen := map[string]bool{}
	i := 0
	for i < len(script) {
		c := script[i]
		switch {
		case c == '\'' || c == '"' || c == '`':
			i = skipQuoted(script, i, c)
		case c == '[':
			if j := strings.IndexByte(script[i:], ']'); j >= 0 {
				i += j + 1
			} else {
				i = len(script)
			}
		case c == '-' && i+1 < len(script) && script[i+1] == '-':
			if j := strings.IndexByte(script[i:], '\n'); j >= 0 {
				i += j + 1
			} else {
				i = len(script)
			}
		case c == '/' && i+1 < len(script) && script[i+1] == '*':
			if j := strings.Index(script[i+2:], "*/"); j >= 0 {
				i += j + 4
			} else {
				i = len(script)
			}
		case c == '?':
			// A positional parameter: kept with its "?" so that Bind can
			// say it is not supported.
			j := i + 1
			for j < len(script) && script[j] >= '0' && script[j] <= '9' {
				j++
			}
			if name := script[i:j]; !seen[name] {
				seen[name] = true
				params = append(params, name)
			}
			i = j
		case c == ':' || c == '@' || c == '$':
			j := i + 1
			for j < len(script) && isIdChar(script[j]) {
				j++
			}
			if j > i+1 && !(c == ':' && i > 0 && script[i-1] == ':') {
				name := script[i+1 : j]
				if !seen[name] {
					seen[name] = true
					params = append(params, name)
				}
			}
			i = j
		case c == ';':
			if sql := strings.TrimSpace(script[start:i]); sql != "" && !onlyComments(sql) {
				stmts = append(stmts, Statement{SQL: sql, Params: params})
			}
			params, seen = nil, map[string]bool{}
			i++
			start = i
		default:
			i++
		}
	}
	rest = strings.TrimSpace(script[start:])
	if onlyComments(rest) {
		rest = ""
	}
	return stmts, rest
}

// Statements is every statement of a script that is run whole (one-shot
// mode, -f, .read, canned queries): Split's statements, then the trailing
// text without a semicolon, if any, as the last.
func Statements(script string) []Statement {
	stmts, rest := Split(script)
	if rest != "" {
		// The newline ends a trailing -- comment before the semicolon.
		last, _ := Split(rest + "\n;")
		if len(last) == 0 {
			// An unterminated quote or /* swallowed the semicolon: run the
			// text as it is, so that SQLite reports it.
			last = []Statement{{SQL: rest}}
		}
		stmts = append(stmts, last...)
	}
	return stmts
}

// Complete reports whether text ends a statement: a semicolon outside
// quotes and comments, as sqlite3_complete does.
func Complete(text string) bool {
	stmts, rest := Split(text)
	return len(stmts) > 0 && rest == ""
}

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

func isIdentByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// isIdChar reports whether c continues a parameter name, as SQLite's
// tokenizer decides (IdChar): letters, digits, '_', '$' and every byte of
// a multi-byte UTF-8 character, so :é and :a$b are single names.
func isIdChar(c byte) bool {
	return isIdentByte(c) || c == '$' || c >= 0x80
}

// onlyComments reports whether s holds nothing but comments and space.
func onlyComments(s string) bool {
	for {
		s = strings.TrimSpace(s)
		switch {
		case s == "":
			return true
		case strings.HasPrefix(s, "--"):
			j := strings.IndexByte(s, '\n')
			if j < 0 {
				return true
			}
			s = s[j+1:]
		case strings.HasPrefix(s, "/*"):
			j := strings.Index(s, "*/")
			if j < 0 {
				return true
			}
			s = s[j+2:]
		default:
			return false
		}
	}
}
