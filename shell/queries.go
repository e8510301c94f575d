package shell

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/netsql/netsql/vtab/fileread"
)

// CannedQuery is a named query the shell runs with `.run NAME` and lists
// with `.queries`.
type CannedQuery struct {
	Name        string
	Description string
	SQL         string
	// Params are defaults for the :NAME parameters the query uses; values
	// from .param and from `.run NAME name=value` win over them.
	Params map[string]string
	// Origin says where the query came from: "built-in", or the path of a
	// user's .sql file.
	Origin string
}

// QueryList returns the built-in canned queries (the queries package);
// the shell adds the user's own from $XDG_CONFIG_HOME/netsql/queries.
type QueryList func() []CannedQuery

// ParseCannedQuery reads a canned query from a .sql file's text. Header
// comment lines `-- name: NAME` and `-- description: TEXT` name and describe
// it; without them the name is the file name without .sql and the
// description the first other header comment line. `-- param: NAME=DEFAULT
// what it means` lines give parameter defaults, as in the built-in queries.
func ParseCannedQuery(fileName, text string) CannedQuery {
	q := CannedQuery{Name: strings.TrimSuffix(filepath.Base(fileName), ".sql"), SQL: strings.TrimSpace(text), Origin: fileName}
	var firstComment string
	described := false
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		c, ok := strings.CutPrefix(line, "--")
		if !ok {
			break // the header ends at the first SQL line
		}
		c = strings.TrimSpace(c)
		key, val, found := strings.Cut(c, ":")
		val = strings.TrimSpace(val)
		switch k := strings.ToLower(strings.TrimSpace(key)); {
		case found && k == "name" && val != "":
			q.Name = val
		case found && k == "description" && val != "":
			q.Description, described = val, true
		case found && k == "param" && val != "":
			word, _, _ := strings.Cut(val, " ")
			if name, def, ok := strings.Cut(word, "="); ok && name != "" {
				if def == "''" {
					def = ""
				}
				if q.Params == nil {
					q.Params = map[string]string{}
				}
				q.Params[name] = def
			}
		case firstComment == "" && !(found && !strings.Contains(k, " ")):
			firstComment = c
		}
	}
	if !described {
		q.Description = firstComment
	}
	return q
}

// LoadQueryDir reads every *.sql file in dir as a canned query, sorted by
// name. A missing directory holds no queries.
func LoadQueryDir(dir string) ([]CannedQuery, error) {
	if dir == "" {
		return nil, nil
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.sql"))
	if err != nil {
		return nil, fmt.Errorf("list queries in %s: %w", dir, err)
	}
	var out []CannedQuery
	for _, f := range files {
		b, err := fileread.ReadFile(f, fileread.MaxScript)
		if err != nil {
			return out, fmt.Errorf("read query: %w", err)
		}
		out = append(out, ParseCannedQuery(f, string(b)))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// allQueries merges built-in and user queries; a user query replaces a
// built-in one of the same name.
func allQueries(builtin, user []CannedQuery) []CannedQuery {
	seen := map[string]int{}
	var out []CannedQuery
	for _, q := range builtin {
		if q.Origin == "" {
			q.Origin = "built-in"
		}
		seen[q.Name] = len(out)
		out = append(out, q)
	}
	for _, q := range user {
		if i, ok := seen[q.Name]; ok {
			out[i] = q
			continue
		}
		seen[q.Name] = len(out)
		out = append(out, q)
	}
	return out
}
