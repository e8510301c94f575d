package shell

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeQueries makes dir/queries holding files (name -> text).
func writeQueries(t *testing.T, dir string, files map[string]string) string {
	t.Helper()
	qdir := filepath.Join(dir, "queries")
	if err := os.MkdirAll(qdir, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(qdir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return qdir
}

// TestRunRawQuery: `.run` of a `format: raw` query prints its rows as the
// query lays them out, as `netsql -q` does, whatever the .mode: no header
// of SQL expressions, no table rules, NULL as nothing.
func TestRunRawQuery(t *testing.T) {
	cfgDir := t.TempDir()
	writeQueries(t, cfgDir, map[string]string{"view.sql": "-- name: view\n-- description: a laid-out view\n-- format: raw\n" +
		"SELECT printf('%-6s%5d', 'port', 8080), NULL UNION ALL SELECT printf('%-6s%5d', 'port', 22), 'x' ORDER BY 1;\n"})
	for _, mode := range []string{"", ".mode csv\n", ".mode json\n"} {
		out, errs := runScript(t, ShellConfig{ConfigDir: cfgDir}, mode+".run view\nSELECT 1 AS after;\n")
		if errs != "" {
			t.Fatalf("%q: errors %q", mode, errs)
		}
		want := "port     22 x\nport   8080 \n"
		if !strings.HasPrefix(out, want) {
			t.Errorf("%q: .run view printed\n%q\nwant it to start with\n%q", mode, out, want)
		}
		// The mode holds again for the next statement.
		if strings.Contains(out, "printf") || !strings.Contains(out, "after") {
			t.Errorf("%q: output %q", mode, out)
		}
	}
}

// TestShellCatalogIsTheCLIs: the shell reads user queries with the one
// catalog every mode uses: a file the CLI skips (a metric another query
// already declares) is skipped and named, not listed.
func TestShellCatalogIsTheCLIs(t *testing.T) {
	cfgDir := t.TempDir()
	metric := "-- metric: dup_total\n-- type: gauge\n-- help: n\n-- value: v\nSELECT 1 AS v;\n"
	qdir := writeQueries(t, cfgDir, map[string]string{
		"a.sql": "-- name: first\n-- description: first\n" + metric,
		"b.sql": "-- name: second\n-- description: second\n" + metric,
	})
	out, errs := runScript(t, ShellConfig{ConfigDir: cfgDir}, ".queries\n.run second\n")
	if !strings.Contains(out, "first") || strings.Contains(out, "second") {
		t.Errorf(".queries listed\n%s\nwant first and not second", out)
	}
	if !strings.Contains(errs, filepath.Join(qdir, "b.sql")) || !strings.Contains(errs, "metric dup_total is already declared by query first") {
		t.Errorf("errors = %q: want b.sql named as skipped", errs)
	}
}

// TestQueryDirHint: with --queries DIR the shell reads and points to DIR
// only, never the XDG directory.
func TestQueryDirHint(t *testing.T) {
	cfgDir, qdir := t.TempDir(), t.TempDir()
	writeQueries(t, cfgDir, map[string]string{"xdg.sql": "-- name: xdg\n-- description: from the XDG dir\nSELECT 1;\n"})
	out, _ := runScript(t, ShellConfig{ConfigDir: cfgDir, QueryDir: qdir}, ".queries\n")
	if want := "no canned queries (add your own as " + qdir + "/NAME.sql)\n"; out != want {
		t.Errorf(".queries = %q, want %q", out, want)
	}
}
