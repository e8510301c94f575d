package run

import "strings"

// Statement is one SQL statement cut from a script, with the names of the
// :name parameters it uses.
type Statement struct {
	SQL    string
	Params []string
}

// The statement splitter is a port of SQLite's sqlite3_complete (complete.c,
// the version modernc.org/sqlite links): the same tokens and the same state
// machine, so that netsql ends a statement exactly where SQLite would,
// including the semicolons inside CREATE TRIGGER ... BEGIN ...; END;.

// Tokens of the state machine.
const (
	tkSemi = iota
	tkWS
	tkOther
	tkExplain
	tkCreate
	tkTemp
	tkTrigger
	tkEnd
)

// States of the state machine.
const (
	stNothing = iota // no token seen yet
	stStart          // at the end of a statement
	stNormal         // inside a statement ended by one semicolon
	stExplain        // after a leading EXPLAIN
	stCreate         // after CREATE (and TEMP)
	stTrigger        // inside a trigger body, which ends with ;END;
	stSemi           // after a semicolon inside a trigger body
	stEnd            // after ;END inside a trigger body
)

// completeTrans is complete.c's trans[state][token].
var completeTrans = [8][8]uint8{
	//             SEMI  WS  OTHER EXPLAIN CREATE TEMP TRIGGER END
	stNothing: {stStart, stNothing, stNormal, stExplain, stCreate, stNormal, stNormal, stNormal},
	stStart:   {stStart, stStart, stNormal, stExplain, stCreate, stNormal, stNormal, stNormal},
	stNormal:  {stStart, stNormal, stNormal, stNormal, stNormal, stNormal, stNormal, stNormal},
	stExplain: {stStart, stExplain, stExplain, stNormal, stCreate, stNormal, stNormal, stNormal},
	stCreate:  {stStart, stCreate, stNormal, stNormal, stNormal, stCreate, stTrigger, stNormal},
	stTrigger: {stSemi, stTrigger, stTrigger, stTrigger, stTrigger, stTrigger, stTrigger, stTrigger},
	stSemi:    {stSemi, stSemi, stTrigger, stTrigger, stTrigger, stTrigger, stTrigger, stEnd},
	stEnd:     {stStart, stEnd, stTrigger, stTrigger, stTrigger, stTrigger, stTrigger, stTrigger},
}

// keywordTokens are the words the state machine tells apart.
var keywordTokens = map[string]int{
	"create": tkCreate, "temp": tkTemp, "temporary": tkTemp,
	"trigger": tkTrigger, "end": tkEnd, "explain": tkExplain,
}

// isIDChar is SQLite's IdChar: a byte that may appear in an unquoted
// identifier (ASCII letters, digits, '_', '$' and every byte of a
// multi-byte UTF-8 character).
func isIDChar(c byte) bool {
	return c >= 0x80 || c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// scanner walks a script token by token as sqlite3_complete does.
type scanner struct {
	s     string
	i     int   // start of the next token
	state uint8 // state after the tokens read so far
	// open is the structure left unterminated at the end of the input
	// (a quote, ']', '-' for a -- comment, '/' for a /* comment), or 0.
	open byte
}

// next reads one token, moves the state and returns the token and where
// it started; ok is false at the end of the input or inside an
// unterminated quote or comment, which then holds the rest of the input.
func (sc *scanner) next() (tok int, at int, ok bool) {
	s, i := sc.s, sc.i
	if i >= len(s) {
		return 0, i, false
	}
	at = i
	switch c := s[i]; {
	case c == ';':
		tok = tkSemi
	case c == ' ' || c == '\r' || c == '\t' || c == '\n' || c == '\f':
		tok = tkWS
	case c == '/' && i+1 < len(s) && s[i+1] == '*':
		j := strings.Index(s[i+2:], "*/")
		if j < 0 {
			sc.open, sc.i = '/', len(s)
			return 0, at, false
		}
		i += 2 + j + 1
		tok = tkWS
	case c == '-' && i+1 < len(s) && s[i+1] == '-':
		j := strings.IndexByte(s[i:], '\n')
		if j < 0 {
			sc.open, sc.i = '-', len(s)
			return 0, at, false
		}
		i += j
		tok = tkWS
	case c == '[' || c == '`' || c == '"' || c == '\'':
		end := c
		if c == '[' {
			end = ']'
		}
		j := strings.IndexByte(s[i+1:], end)
		if j < 0 {
			sc.open, sc.i = end, len(s)
			return 0, at, false
		}
		i += 1 + j
		tok = tkOther
	case isIDChar(c):
		j := i + 1
		for j < len(s) && isIDChar(s[j]) {
			j++
		}
		tok = tkOther
		if k, ok := keywordTokens[strings.ToLower(s[i:j])]; ok {
			tok = k
		}
		i = j - 1
	default:
		tok = tkOther
	}
	sc.state = completeTrans[sc.state][tok]
	sc.i = i + 1
	return tok, at, true
}

// Split cuts a script into statements where SQLite would end them: at
// semicolons outside quotes, identifiers and comments, except those
// inside a trigger body. rest is any trailing text that does not end a
// statement yet (the shell keeps reading; one-shot mode runs it as a last
// statement). Empty statements are dropped.
func Split(script string) (stmts []Statement, rest string) {
	start := 0
	for _, c := range cutPoints(script) {
		if sql := strings.TrimSpace(script[start:c.at]); sql != "" && !OnlyComments(sql) {
			stmts = append(stmts, Statement{SQL: sql, Params: c.params})
		}
		start = c.at + 1
	}
	rest = strings.TrimSpace(script[start:])
	if OnlyComments(rest) {
		rest = ""
	}
	return stmts, rest
}

// cut is a semicolon that ends a statement, with the parameters the
// statement before it uses.
type cut struct {
	at     int
	params []string
}

// cutPoints lists the semicolons of script that end a statement: those
// after which sqlite3_complete would call the text so far complete.
func cutPoints(script string) []cut {
	sc := scanner{s: script}
	var cuts []cut
	var params []string
	seen := map[string]bool{}
	addParam := func(name string) {
		if !seen[name] {
			seen[name] = true
			params = append(params, name)
		}
	}
	for {
		tok, at, ok := sc.next()
		if !ok {
			return cuts
		}
		switch c := script[at]; {
		case tok == tkSemi && sc.state == stStart:
			cuts = append(cuts, cut{at: at, params: params})
			params, seen = nil, map[string]bool{}
		case (c == ':' || c == '@') && !(c == ':' && at > 0 && script[at-1] == ':'):
			// The name is the identifier token that follows at once.
			j := at + 1
			for j < len(script) && isIDChar(script[j]) {
				j++
			}
			if j > at+1 {
				addParam(script[at+1 : j])
			}
		case c == '$' && sc.i > at+1:
			addParam(script[at+1 : sc.i])
		case c == '?':
			// A positional parameter, kept with its "?" so that Bind can
			// say it is not supported.
			j := at + 1
			for j < len(script) && script[j] >= '0' && script[j] <= '9' {
				j++
			}
			addParam(script[at:j])
		}
	}
}

// Statements is every statement of a script that is run whole (one-shot
// mode, -f, .read, canned queries): Split's statements, then the trailing
// text without a semicolon, if any, as the last.
func Statements(script string) []Statement {
	stmts, rest := Split(script)
	if rest != "" {
		// The newline ends a trailing -- comment before the semicolon.
		last, more := Split(rest + "\n;")
		if len(last) == 0 || more != "" {
			// An unterminated quote, /* or trigger body swallowed the
			// semicolon: run the text as it is, so that SQLite reports it.
			last = []Statement{{SQL: rest}}
		}
		stmts = append(stmts, last...)
	}
	return stmts
}

// Complete reports whether text ends with a complete statement, exactly
// as SQLite's sqlite3_complete does: the last token is the semicolon that
// ends a statement (for a trigger, the one after END), with nothing open
// after it (a quote, a comment, even a -- comment without its newline).
func Complete(text string) bool {
	sc := scanner{s: text}
	for {
		if _, _, ok := sc.next(); !ok {
			break
		}
	}
	return sc.state == stStart && sc.open == 0
}

// OnlyComments reports whether s holds nothing but comments and space:
// such text is no statement.
func OnlyComments(s string) bool {
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

// OpenQuote reports whether text ends inside an unterminated quote,
// bracketed identifier or comment, as sqlite3_complete reads it: open is
// the character that would close it (a quote, ']', '-' for a -- comment,
// '/' for a /* comment), or 0, and at is where that structure starts.
// The shell completes values inside an open string literal with it.
func OpenQuote(text string) (open byte, at int) {
	sc := scanner{s: text}
	for {
		_, a, more := sc.next()
		if !more {
			return sc.open, a
		}
	}
}
