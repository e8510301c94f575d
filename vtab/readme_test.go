package vtab

import (
	"os"
	"strconv"
	"strings"
	"testing"
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
	var schemas []Schema
	for _, d := range Tables() {
		schemas = append(schemas, d.Schema())
	}
	checkGenerated(t, "README.md", refBegin, refEnd, Reference(schemas)+FunctionReference(Functions()))
	checkGenerated(t, "../README.md", indexBegin, indexEnd, Index(schemas))
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

// TestTableExamplesRun runs every declared example, so the README shows
// only queries that work.
func TestTableExamplesRun(t *testing.T) {
	eng, _ := openFake(t)
	for _, d := range Tables() {
		s := d.Schema()
		if s.Example == "" {
			t.Errorf("table %s has no example", s.Name)
			continue
		}
		query(t, eng, s.Example)
		for _, ex := range s.Examples {
			query(t, eng, ex)
		}
	}
}

// TestFunctionsAreRegistered: every documented function exists in the
// engine with the documented number of arguments, and the engine adds no
// function the reference leaves out.
func TestFunctionsAreRegistered(t *testing.T) {
	eng, _ := openFake(t)
	documented := map[string]bool{}
	for _, f := range Functions() {
		name, args, _ := strings.Cut(f.Name, "(")
		documented[name] = true
		nargs := strings.Count(args, ",") + 1
		if got := query(t, eng, "SELECT narg FROM pragma_function_list WHERE name = ?", name); len(got) != 1 || got[0] != strconv.Itoa(nargs) {
			t.Errorf("%s: registered with narg %v, documented with %d arguments", f.Name, got, nargs)
		}
	}
	for _, name := range query(t, eng, "SELECT name FROM pragma_function_list WHERE name LIKE 'netstat%' OR name IN ('user_name', 'service_name', 'host_name')") {
		if !documented[name] {
			t.Errorf("function %s is registered but not in Functions()", name)
		}
	}
}
