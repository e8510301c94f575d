package vtab_test

// The README checks live in the external test package: the function
// reference includes queries/netstat's extension, which imports vtab.

import (
	"os"
	"strings"
	"testing"

	"github.com/netsql/netsql/queries/netstat"
	"github.com/netsql/netsql/vtab"
)

const (
	refBegin = "<!-- tables:begin -->\n"
	refEnd   = "<!-- tables:end -->"
)

const (
	indexBegin = "<!-- tables-index:begin -->\n"
	indexEnd   = "<!-- tables-index:end -->"
)

// updateREADME is the command that regenerates the table reference and
// the top README's table index; the test's failure message and
// vtab/README.md both show it.
const updateREADME = "NETSQL_UPDATE_README=1 go test ./vtab -run TestREADMETableReference"

// TestREADMETableReference keeps the table and function reference in
// vtab/README.md, and the list of tables in the top README, equal to the
// declarations. NETSQL_UPDATE_README=1 rewrites both.
func TestREADMETableReference(t *testing.T) {
	var schemas []vtab.Schema
	for _, d := range vtab.Tables() {
		schemas = append(schemas, d.Schema())
	}
	// The reference lists the engine's own functions, then those the
	// netstat extension adds (every netsql command opens engines with it).
	fns := append(vtab.Functions(), netstat.Extension().Docs()...)
	checkGenerated(t, "README.md", refBegin, refEnd, vtab.Reference(schemas)+vtab.FunctionReference(fns))
	checkGenerated(t, "../README.md", indexBegin, indexEnd, vtab.Index(schemas))
}

// checkGenerated compares the text between begin and end in the file at
// path with want, and rewrites it when NETSQL_UPDATE_README is set.
func checkGenerated(t *testing.T, path, begin, end, want string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	i, j := strings.Index(text, begin), strings.Index(text, end)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the %q ... %q markers", path, begin, end)
	}
	got := text[i+len(begin) : j]
	if got == want {
		return
	}
	if os.Getenv("NETSQL_UPDATE_README") != "" {
		text = text[:i+len(begin)] + want + text[j:]
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s: the text generated from the table declarations is out of date; regenerate it from the repository root with: %s", path, updateREADME)
}

// TestREADMEShowsHowToRegenerate: vtab/README.md tells whoever edits it
// the command that regenerates the reference.
func TestREADMEShowsHowToRegenerate(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), updateREADME) {
		t.Errorf("vtab/README.md does not show the regenerate command %q", updateREADME)
	}
}
