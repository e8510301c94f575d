package shell

import (
	"errors"
	"path/filepath"
	"strings"

	"github.com/netsql/netsql/queries"
)

// QueryList returns the built-in canned queries (queries.Builtin in
// netsql); the shell merges the user's own into them with the queries
// package's loader, as every other mode does.
type QueryList func() []queries.Query

// userQueryDir is where the user's own queries are read from: QueryDir
// (--queries DIR) when set, else the configuration directory's queries/
// (queries.UserDir unless ConfigDir overrides it), "" for none.
func (s *session) userQueryDir() string {
	if s.cfg.QueryDir != "" {
		return s.cfg.QueryDir
	}
	if s.cfg.ConfigDir == "" {
		return queries.UserDir(s.cfg.Env.get)
	}
	if dir := s.configDir(); dir != "" {
		return filepath.Join(dir, "queries")
	}
	return ""
}

// queries returns the catalog: the built-in queries merged with the
// user's (queries.MergeDir). err names every user file that was skipped
// (the rest are returned) or says the directory could not be listed.
func (s *session) queries() ([]queries.Query, error) {
	var builtin []queries.Query
	if s.cfg.Queries != nil {
		builtin = s.cfg.Queries()
	}
	qs, skipped, err := queries.MergeDir(builtin, s.userQueryDir())
	errs := []error{err}
	for _, e := range skipped {
		errs = append(errs, e)
	}
	return qs, errors.Join(errs...)
}

// origin says where a query came from, as .queries shows it: "built-in",
// or the path of the user's file.
func origin(q queries.Query) string {
	if !q.User {
		return "built-in"
	}
	return strings.TrimPrefix(q.Source, "user:")
}
