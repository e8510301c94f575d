package queries

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseHeader(t *testing.T) {
	text := `
-- name: demo
-- Description: a demo query
-- free text: with a colon but spaces in the key, so not a field
-- see http://example.com/x (no space after the colon: free text)
-- param: port=22 the port to look at
-- owner: team-sre
-- param: empty='' an empty default

-- still the header after a blank line
SELECT 1; -- name: not a header line
`
	fields, err := ParseHeader(text)
	if err != nil {
		t.Fatal(err)
	}
	want := []Field{
		{"name", "demo"}, {"description", "a demo query"},
		{"param", "port=22 the port to look at"}, {"owner", "team-sre"},
		{"param", "empty='' an empty default"},
	}
	if !reflect.DeepEqual(fields, want) {
		t.Errorf("fields = %q\nwant %q", fields, want)
	}
	q, err := Parse("user:demo.sql", text)
	if err != nil {
		t.Fatal(err)
	}
	if q.Name != "demo" || q.Description != "a demo query" || q.Format != "" {
		t.Errorf("query = %+v", q)
	}
	if v, ok := q.Get("owner"); !ok || v != "team-sre" {
		t.Errorf("unknown key owner not kept: %q %v", v, ok)
	}
	if got := q.Defaults(); !reflect.DeepEqual(got, map[string]string{"port": "22", "empty": ""}) {
		t.Errorf("defaults = %v", got)
	}
	if got := q.Bind(map[string]string{"port": "80", "x": "1"}); !reflect.DeepEqual(got, map[string]string{"port": "80", "empty": "", "x": "1"}) {
		t.Errorf("bind = %v", got)
	}
}

func TestParseErrors(t *testing.T) {
	for _, text := range []string{
		"-- name:\nSELECT 1",
		"-- name: a\n-- name: b\nSELECT 1",
		"-- format: yaml\nSELECT 1",
		"-- param: 1x=2\nSELECT 1",
		"-- param: nodefault\nSELECT 1",
		"-- param: a=1\n-- param: a=2\nSELECT 1",
	} {
		if _, err := Parse("t.sql", text); !errors.Is(err, ErrHeader) {
			t.Errorf("Parse(%q) = %v, want an ErrHeader", text, err)
		}
	}
	q, err := Parse("dir/noname.sql", "SELECT 1")
	if err != nil || q.Name != "noname" {
		t.Errorf("a file without a header is named after the file: %+v, %v", q, err)
	}
}

// TestBuiltin checks every canned query: named after its file, described,
// naming the netstat command it reproduces, and printing its own layout.
func TestBuiltin(t *testing.T) {
	qs := Builtin()
	if len(qs) == 0 {
		t.Fatal("no built-in queries")
	}
	for _, q := range qs {
		if "builtin:"+q.Name+".sql" != q.Source {
			t.Errorf("%s: name does not match its file %s", q.Name, q.Source)
		}
		if q.Description == "" || strings.Contains(q.Description, "\n") {
			t.Errorf("%s: want a one-line description", q.Name)
		}
		if strings.HasPrefix(q.Name, "netstat-") && (q.Netstat == "" || q.Format != "raw") {
			t.Errorf("%s: a netstat view needs a netstat: line and format: raw", q.Name)
		}
		if got, ok := Lookup(q.Name); !ok || got.SQL != q.SQL {
			t.Errorf("Lookup(%s) failed", q.Name)
		}
	}
	if _, ok := Lookup("no-such-query"); ok {
		t.Error("Lookup found a query that does not exist")
	}
}

func FuzzParse(f *testing.F) {
	for _, q := range Builtin() {
		f.Add(q.SQL)
	}
	f.Add("-- a: b\n--c:d\n-- param: x='' y\n")
	f.Add("--\n-- :\n-- -x: y\r\n-- k: v")
	f.Fuzz(func(t *testing.T, text string) {
		q, err := Parse("fuzz.sql", text)
		if err != nil {
			if !errors.Is(err, ErrHeader) {
				t.Fatalf("error does not wrap ErrHeader: %v", err)
			}
			return
		}
		if q.Name == "" {
			t.Fatal("empty name")
		}
		for _, f := range q.Fields {
			if f.Key == "" || f.Value == "" || f.Key != strings.ToLower(f.Key) || strings.TrimSpace(f.Value) != f.Value {
				t.Fatalf("bad field %q", f)
			}
		}
		for _, p := range q.Params {
			if !isIdent(p.Name) {
				t.Fatalf("bad param name %q", p.Name)
			}
		}
	})
}

// TestParseUserFile: a user file parses with or without header lines
// (moved from the shell, which now loads user files with this package).
func TestParseUserFile(t *testing.T) {
	q, err := Parse("/c/queries/leaks.sql", "-- name: close-wait\n-- description: who leaks half-closed connections\nSELECT 1;\n")
	if err != nil || q.Name != "close-wait" || q.Description != "who leaks half-closed connections" || q.SQL == "" {
		t.Errorf("with headers: %+v %v", q, err)
	}
	q, err = Parse("/c/queries/leaks.sql", "-- Who leaks half-closed connections\nSELECT 1;\n")
	if err != nil || q.Name != "leaks" || q.Description != "Who leaks half-closed connections" {
		t.Errorf("without headers: %+v %v", q, err)
	}
	// A user file's header is read strictly: a typo is an
	// error naming the file, not a query run with half its header.
	if _, err := Parse("/c/queries/m.sql", "-- metric: m\n-- type: gaug\n-- value: v\nSELECT 1 AS v;\n"); err == nil || !strings.Contains(err.Error(), "/c/queries/m.sql") {
		t.Errorf("bad header: %v", err)
	}
}
