package shell

import (
	"errors"
	"strings"

	"github.com/netsql/netsql/queries"
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

// ParseCannedQuery reads a canned query from a .sql file's text with the
// queries package's parser, the one every netsql mode uses: header lines
// `-- name: NAME`, `-- description: TEXT` and `-- param: NAME=DEFAULT what
// it means`; without them the name is the file name without .sql and the
// description the header's first line of free text. A header that does
// not parse is an error naming the file.
func ParseCannedQuery(fileName, text string) (CannedQuery, error) {
	q, err := queries.Parse(fileName, text)
	if err != nil {
		return CannedQuery{}, err
	}
	return fromQuery(q, fileName), nil
}

// fromQuery turns a catalog query into the shell's form.
func fromQuery(q queries.Query, origin string) CannedQuery {
	return CannedQuery{Name: q.Name, Description: q.Description, SQL: strings.TrimSpace(q.SQL), Params: q.Defaults(), Origin: origin}
}

// LoadQueryDir reads every *.sql file in dir as a canned query, sorted by
// name, as queries.LoadDir does. A missing directory holds no queries. A
// file that does not load is skipped: the error names each one, and the
// queries that loaded are returned beside it.
func LoadQueryDir(dir string) ([]CannedQuery, error) {
	qs, skipped, err := queries.LoadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []CannedQuery
	for _, q := range qs {
		out = append(out, fromQuery(q, strings.TrimPrefix(q.Source, "user:")))
	}
	errs := make([]error, len(skipped))
	for i, e := range skipped {
		errs[i] = e
	}
	return out, errors.Join(errs...)
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
