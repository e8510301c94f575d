// Package queries holds netsql's canned queries: .sql files embedded in the
// binary, each starting with a header comment that names it and says what
// it is for:
//
//	-- name: netstat-inet
//	-- description: Internet connections, as netstat prints them
//	-- netstat: netstat [-tuw] [-a|-l] [-nWepo] [-A inet|inet6]
//	-- format: raw
//	-- param: all=0  show listening and connected sockets (-a)
//
// Known keys: name (required; the file's base name), description
// (required, one line), netstat (the netstat command it reproduces),
// format ("raw": print each row's columns as they are, one line per row,
// no header: the query lays out its own text with printf), and param
// (repeatable: a :name parameter with its default). A query that feeds
// Prometheus declares its metrics with metric, type, help, labels and
// value lines (see Metric); a panel of netsql top declares itself with
// panel, keys, counters, show, sort, drill and rank lines (see Panel).
// Unknown keys are kept in Query.Fields for
// later features.
//
// Besides the built-in queries, users keep their own .sql files in a
// directory (UserDir, or --queries DIR): LoadDir reads them and Merge lets
// a user query shadow the built-in one of the same name.
package queries

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

//go:embed *.sql
var builtinFS embed.FS

// Query is one canned query.
type Query struct {
	Name        string
	Description string
	// Netstat is the netstat command the query reproduces, "" when none.
	Netstat string
	// Format is the output format the query asks for: "raw" or "".
	Format string
	Params []Param
	// Fields is every header field in file order, known keys included.
	Fields []Field
	// SQL is the whole file, header included (comments are SQL too).
	SQL string
	// Source says where the query came from, e.g. "builtin:netstat-inet.sql"
	// or "user:/home/me/.config/netsql/queries/mine.sql".
	Source string
	// Metrics are the Prometheus metrics the query feeds; none for an
	// ordinary query.
	Metrics []Metric
	// Panel makes the query a panel of netsql top; nil for others.
	Panel *Panel
	// User is true for a query read from a user directory; Shadows is
	// true when it replaces a built-in query of the same name.
	User    bool
	Shadows bool
}

// Get returns the first value of a header key.
func (q *Query) Get(key string) (string, bool) {
	for _, f := range q.Fields {
		if f.Key == key {
			return f.Value, true
		}
	}
	return "", false
}

// All returns every value of a header key, in file order.
func (q *Query) All(key string) []string {
	var out []string
	for _, f := range q.Fields {
		if f.Key == key {
			out = append(out, f.Value)
		}
	}
	return out
}

// Defaults returns the declared parameters' default values by name.
func (q *Query) Defaults() map[string]string {
	m := make(map[string]string, len(q.Params))
	for _, p := range q.Params {
		m[p.Name] = p.Default
	}
	return m
}

// Bind returns the query's defaults overridden by params; names the query
// does not declare are passed through (the SQL may use them).
func (q *Query) Bind(params map[string]string) map[string]string {
	m := q.Defaults()
	for k, v := range params {
		m[k] = v
	}
	return m
}

// Parse reads a query file's text. source names it in errors. A missing
// name defaults to the file's base name without ".sql".
func Parse(source, text string) (Query, error) {
	fields, err := ParseHeader(text)
	if err != nil {
		return Query{}, fmt.Errorf("%s: %w", source, err)
	}
	q := Query{Fields: fields, SQL: text, Source: source}
	seen := map[string]bool{}
	for _, f := range fields {
		switch f.Key {
		case "name", "description", "netstat", "format":
			if seen[f.Key] {
				return Query{}, fmt.Errorf("%s: %w: %s given twice", source, ErrHeader, f.Key)
			}
			seen[f.Key] = true
		}
		switch f.Key {
		case "name":
			q.Name = f.Value
		case "description":
			q.Description = f.Value
		case "netstat":
			q.Netstat = f.Value
		case "format":
			if f.Value != "raw" {
				return Query{}, fmt.Errorf("%s: %w: format %q (want raw)", source, ErrHeader, f.Value)
			}
			q.Format = f.Value
		case "param":
			p, err := parseParam(f.Value)
			if err != nil {
				return Query{}, fmt.Errorf("%s: %w", source, err)
			}
			for _, old := range q.Params {
				if old.Name == p.Name {
					return Query{}, fmt.Errorf("%s: %w: param %s declared twice", source, ErrHeader, p.Name)
				}
			}
			q.Params = append(q.Params, p)
		}
	}
	if q.Name == "" {
		q.Name = strings.TrimSuffix(path.Base(source), ".sql")
	}
	if q.Metrics, err = parseMetrics(fields, q.Description); err != nil {
		return Query{}, fmt.Errorf("%s: %w", source, err)
	}
	if q.Panel, err = parsePanel(fields); err != nil {
		return Query{}, fmt.Errorf("%s: %w", source, err)
	}
	return q, nil
}

// Builtin returns the canned queries compiled into netsql, sorted by name.
func Builtin() []Query {
	qs, err := load(builtinFS)
	if err != nil {
		// The files are embedded and tested: this is a build defect.
		panic(err)
	}
	return qs
}

// Lookup returns the built-in query with the given name.
func Lookup(name string) (Query, bool) {
	for _, q := range Builtin() {
		if q.Name == name {
			return q, true
		}
	}
	return Query{}, false
}

// UserDir is the directory user queries are read from:
// $XDG_CONFIG_HOME/netsql/queries, else ~/.config/netsql/queries. getenv
// looks up environment variables (os.Getenv); "" when neither variable
// gives an absolute directory.
func UserDir(getenv func(string) string) string {
	base := getenv("XDG_CONFIG_HOME")
	if !filepath.IsAbs(base) {
		home := getenv("HOME")
		if !filepath.IsAbs(home) {
			return ""
		}
		base = filepath.Join(home, ".config")
	}
	return filepath.Join(base, "netsql", "queries")
}

// LoadDir reads every *.sql file in dir as a user query, sorted by name.
// A directory that does not exist holds no queries; a file whose header
// does not parse is an error naming the file.
func LoadDir(dir string) ([]Query, error) {
	if dir == "" {
		return nil, nil
	}
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("queries: %w", err)
	}
	var out []Query
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		file := filepath.Join(dir, e.Name())
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("queries: %w", err)
		}
		q, err := Parse("user:"+file, string(b))
		if err != nil {
			return nil, fmt.Errorf("queries: %w", err)
		}
		q.User = true
		out = append(out, q)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Merge returns the built-in and user queries sorted by name; a user query
// shadows (replaces) the built-in query of the same name and is marked so.
func Merge(builtin, user []Query) []Query {
	byName := map[string]int{}
	out := make([]Query, 0, len(builtin)+len(user))
	for _, q := range builtin {
		byName[q.Name] = len(out)
		out = append(out, q)
	}
	for _, q := range user {
		if i, ok := byName[q.Name]; ok {
			q.Shadows = !out[i].User
			out[i] = q
			continue
		}
		byName[q.Name] = len(out)
		out = append(out, q)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Find returns the query of qs with the given name.
func Find(qs []Query, name string) (Query, bool) {
	for _, q := range qs {
		if q.Name == name {
			return q, true
		}
	}
	return Query{}, false
}

// load parses every .sql file at the top of fsys.
func load(fsys fs.FS) ([]Query, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("queries: %w", err)
	}
	var out []Query
	for _, n := range names {
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, fmt.Errorf("queries: %w", err)
		}
		q, err := Parse("builtin:"+n, string(b))
		if err != nil {
			return nil, fmt.Errorf("queries: %w", err)
		}
		out = append(out, q)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
