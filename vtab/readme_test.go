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

// TestREADMETableReference keeps the README's table and function
// reference equal to the declarations. NETSQL_UPDATE_README=1 rewrites it.
func TestREADMETableReference(t *testing.T) {
	const path = "../README.md"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	i, j := strings.Index(text, refBegin), strings.Index(text, refEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the %q ... %q markers", refBegin, refEnd)
	}
	var schemas []Schema
	for _, d := range Tables() {
		schemas = append(schemas, d.Schema())
	}
	want := Reference(schemas) + FunctionReference(Functions())
	got := text[i+len(refBegin) : j]
	if got == want {
		return
	}
	if os.Getenv("NETSQL_UPDATE_README") != "" {
		text = text[:i+len(refBegin)] + want + text[j:]
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README.md table reference is out of date; run NETSQL_UPDATE_README=1 go test ./vtab -run README")
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
