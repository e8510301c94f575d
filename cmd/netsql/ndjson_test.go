package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestNDJSONFieldBesideColumn: --host-field a beside a column a writes no
// duplicate key: the field keeps its name, the column becomes "a:1", and
// json output of SELECT 1 AS a, 2 AS a does the same.
func TestNDJSONFieldBesideColumn(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Skip(err)
	}
	out, errs, code := runCLI(t, "", "--proc", fixtureProc, "--format", "ndjson", "--host-field", "a", "SELECT 1 AS a, 2 AS b")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	want := `{"a":` + string(mustJSON(t, host)) + `,"a:1":1,"b":2}` + "\n"
	if out != want {
		t.Fatalf("ndjson = %q, want %q", out, want)
	}
	out, errs, code = runCLI(t, "", "--proc", fixtureProc, "--format", "json", "SELECT 1 AS a, 2 AS a")
	if code != 0 || strings.TrimSpace(out) != "[\n{\"a\":1,\"a:1\":2}\n]" {
		t.Fatalf("json: exit %d, %q %s", code, out, errs)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
