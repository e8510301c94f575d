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

	"github.com/netsql/netsql/vtab/fileread"
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
// name defaults to the file's base name without ".sql"; a missing
// description to the header's first line of free text.
func Parse(source, text string) (Query, error) {
	q, err := parse(source, text)
	if err != nil {
		return Query{}, fmt.Errorf("%s: %w", source, err)
	}
	return q, nil
}

// parse is Parse with errors that do not name the source.
func parse(source, text string) (Query, error) {
	fields, err := ParseHeader(text)
	if err != nil {
		return Query{}, err
	}
	q := Query{Fields: fields, SQL: text, Source: source}
	seen := map[string]bool{}
	for _, f := range fields {
		switch f.Key {
		case "name", "description", "netstat", "format":
			if seen[f.Key] {
				return Query{}, fmt.Errorf("%w: %s given twice", ErrHeader, f.Key)
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
				return Query{}, fmt.Errorf("%w: format %q (want raw)", ErrHeader, f.Value)
			}
			q.Format = f.Value
		case "param":
			p, err := parseParam(f.Value)
			if err != nil {
				return Query{}, err
			}
			for _, old := range q.Params {
				if old.Name == p.Name {
					return Query{}, fmt.Errorf("%w: param %s declared twice", ErrHeader, p.Name)
				}
			}
			q.Params = append(q.Params, p)
		}
	}
	if q.Name == "" {
		q.Name = strings.TrimSuffix(path.Base(source), ".sql")
	}
	if q.Description == "" {
		q.Description = firstFreeText(text)
	}
	if q.Metrics, err = parseMetrics(fields, q.Description); err != nil {
		return Query{}, err
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

// maxFileSize bounds a user query file: anything larger is not a query
// someone wrote (a log, /dev/zero behind a symlink) and is skipped.
const maxFileSize = 1 << 20

// FileError is a user query file that was skipped, and why. One bad file
// never stops the rest: callers report each FileError once and go on with
// the queries that loaded.
type FileError struct {
	// File is the file's path.
	File string
	// Name is the query's name when it was worked out (a parse error
	// still knows the file's base name), so that asking for the query by
	// name can say why it is missing.
	Name string
	Err  error
}

// Error names the file and says it was skipped.
func (e *FileError) Error() string {
	return fmt.Sprintf("query file %s skipped: %v", e.File, e.Err)
}

// Unwrap returns why the file was skipped.
func (e *FileError) Unwrap() error { return e.Err }

// LoadDir reads every *.sql file in dir as a user query, sorted by name.
// A directory that does not exist holds no queries. A file that cannot
// be read or parsed, or that names a query another file of dir already
// named (files are taken in name order), is skipped and returned in
// skipped. err is set only when dir exists but cannot be listed.
func LoadDir(dir string) (qs []Query, skipped []*FileError, err error) {
	if dir == "" {
		return nil, nil, nil
	}
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("queries: %w", err)
	}
	byName := map[string]string{}
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		file := filepath.Join(dir, e.Name())
		base := strings.TrimSuffix(e.Name(), ".sql")
		b, err := fileread.ReadFile(file, maxFileSize)
		text := string(b)
		if err != nil {
			skipped = append(skipped, &FileError{File: file, Name: base, Err: err})
			continue
		}
		q, err := parse("user:"+file, text)
		if err != nil {
			if name, ok := headerName(text); ok {
				base = name
			}
			skipped = append(skipped, &FileError{File: file, Name: base, Err: err})
			continue
		}
		if other, dup := byName[q.Name]; dup {
			skipped = append(skipped, &FileError{File: file, Name: q.Name,
				Err: fmt.Errorf("query name %s is already taken by %s", q.Name, other)})
			continue
		}
		byName[q.Name] = file
		q.User = true
		qs = append(qs, q)
	}
	sort.Slice(qs, func(i, j int) bool { return qs[i].Name < qs[j].Name })
	return qs, skipped, nil
}

// headerName returns the value of a header's name: line, when it has one.
func headerName(text string) (string, bool) {
	fields, _ := ParseHeader(text)
	for _, f := range fields {
		if f.Key == "name" {
			return f.Value, true
		}
	}
	return "", false
}

// Merge returns the built-in and user queries sorted by name; a user query
// shadows (replaces) the built-in query of the same name and is marked so.
// A user query declaring a metric another query of the result already
// declares (a built-in one it does not shadow, or a user query earlier in
// name order) would silently replace or merge that metric's series: it is
// skipped and returned in skipped.
func Merge(builtin, user []Query) (qs []Query, skipped []*FileError) {
	byName := map[string]int{}
	out := make([]Query, 0, len(builtin)+len(user))
	for _, q := range builtin {
		byName[q.Name] = len(out)
		out = append(out, q)
	}
	shadowed := map[string]bool{}
	for _, q := range user {
		shadowed[q.Name] = true
	}
	// owner is the query declaring each metric name.
	owner := map[string]string{}
	for _, q := range builtin {
		if shadowed[q.Name] {
			continue
		}
		for _, m := range q.Metrics {
			owner[m.Name] = q.Name
		}
	}
	for _, q := range user {
		if err := claimMetrics(owner, q); err != nil {
			skipped = append(skipped, &FileError{File: strings.TrimPrefix(q.Source, "user:"), Name: q.Name, Err: err})
			continue
		}
		if i, ok := byName[q.Name]; ok {
			q.Shadows = !out[i].User
			out[i] = q
			continue
		}
		byName[q.Name] = len(out)
		out = append(out, q)
	}
	// A shadowed built-in whose user query was skipped stays built-in.
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, skipped
}

// claimMetrics records q as the owner of its metric names, unless one is
// already owned by another query.
func claimMetrics(owner map[string]string, q Query) error {
	for _, m := range q.Metrics {
		if other, ok := owner[m.Name]; ok && other != q.Name {
			return fmt.Errorf("metric %s is already declared by query %s (rename the metric, or name this query %s to replace that one)", m.Name, other, other)
		}
	}
	for _, m := range q.Metrics {
		owner[m.Name] = q.Name
	}
	return nil
}

// Catalog returns the built-in queries merged with the user queries of
// dir (see LoadDir and Merge) and the user files that were skipped. err
// is set only when dir exists and cannot be listed.
func Catalog(dir string) (qs []Query, skipped []*FileError, err error) {
	return MergeDir(Builtin(), dir)
}

// MergeDir returns builtin merged with the user queries of dir (see
// LoadDir and Merge) and the user files that were skipped; Catalog is
// MergeDir of the built-in queries. err is set only when dir exists and
// cannot be listed: builtin is returned beside it.
func MergeDir(builtin []Query, dir string) (qs []Query, skipped []*FileError, err error) {
	user, skipped, err := LoadDir(dir)
	if err != nil {
		return builtin, nil, err
	}
	qs, more := Merge(builtin, user)
	return qs, append(skipped, more...), nil
}

// Skipped returns the FileError among skipped for the query name, if any:
// why a query asked for by name is not in the catalog.
func Skipped(skipped []*FileError, name string) (*FileError, bool) {
	for _, e := range skipped {
		if e.Name == name {
			return e, true
		}
	}
	return nil, false
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
