package vtab

import (
	"strconv"
	"strings"
	"testing"
)

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
