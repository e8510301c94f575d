package queries

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
)

func TestParseMetrics(t *testing.T) {
	text := `-- name: demo
-- description: demo sockets
-- type: free text before any metric is not a metric field
-- metric: netsql_demo
-- type: gauge
-- labels: proto , state
-- value: n
-- metric: netsql_demo_bytes_total
-- type: counter
-- help: Bytes.
-- value: bytes
SELECT 1`
	q, err := Parse("t.sql", text)
	if err != nil {
		t.Fatal(err)
	}
	want := []Metric{
		{Name: "netsql_demo", Type: "gauge", Help: "demo sockets", Labels: []string{"proto", "state"}, Value: "n"},
		{Name: "netsql_demo_bytes_total", Type: "counter", Help: "Bytes.", Value: "bytes"},
	}
	if !reflect.DeepEqual(q.Metrics, want) {
		t.Errorf("metrics = %+v\nwant %+v", q.Metrics, want)
	}
}

func TestParseMetricErrors(t *testing.T) {
	for _, h := range []string{
		"-- metric: 1bad\n-- type: gauge\n-- value: v",
		"-- metric: m\n-- value: v",
		"-- metric: m\n-- type: gauge",
		"-- metric: m\n-- type: histogram\n-- value: v",
		"-- metric: m\n-- type: gauge\n-- type: counter\n-- value: v",
		"-- metric: m\n-- type: gauge\n-- value: v\n-- labels: a, v",
		"-- metric: m\n-- type: gauge\n-- value: v\n-- labels: a, a",
		"-- metric: m\n-- type: gauge\n-- value: v\n-- labels: __name",
		"-- metric: m\n-- type: gauge\n-- value: count(*)",
		"-- metric: m\n-- type: gauge\n-- value: v\n-- metric: m\n-- type: gauge\n-- value: v",
	} {
		if _, err := Parse("t.sql", h+"\nSELECT 1"); !errors.Is(err, ErrHeader) {
			t.Errorf("Parse(%q) = %v, want an ErrHeader", h, err)
		}
	}
}

// TestBuiltinMetrics checks that every shipped metric query declares
// columns its SQL selects (by name: the SQL text mentions them).
func TestBuiltinMetrics(t *testing.T) {
	n := 0
	for _, q := range Builtin() {
		for _, m := range q.Metrics {
			n++
			if !strings.HasPrefix(m.Name, "netsql_") || m.Help == "" {
				t.Errorf("%s: metric %s: want a netsql_ name and help", q.Name, m.Name)
			}
			if m.Type == "counter" && !strings.HasSuffix(m.Name, "_total") {
				t.Errorf("%s: counter %s should end in _total", q.Name, m.Name)
			}
			for _, c := range append([]string{m.Value}, m.Labels...) {
				if !strings.Contains(q.SQL, c) {
					t.Errorf("%s: metric %s uses column %s the SQL does not mention", q.Name, m.Name, c)
				}
			}
		}
	}
	if n < 5 {
		t.Errorf("only %d built-in metrics", n)
	}
}

func TestUserDirLoadMerge(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if got := UserDir(env(map[string]string{"XDG_CONFIG_HOME": "/cfg", "HOME": "/home/me"})); got != "/cfg/netsql/queries" {
		t.Errorf("UserDir with XDG_CONFIG_HOME = %q", got)
	}
	if got := UserDir(env(map[string]string{"XDG_CONFIG_HOME": "rel", "HOME": "/home/me"})); got != "/home/me/.config/netsql/queries" {
		t.Errorf("UserDir default = %q", got)
	}
	if got := UserDir(env(nil)); got != "" {
		t.Errorf("UserDir without HOME = %q", got)
	}

	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "listening.sql"), []byte("-- description: mine\nSELECT 1;\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "extra.sql"), []byte("SELECT 2;\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a query"), 0o644)
	user, skipped, err := LoadDir(dir)
	if err != nil || len(skipped) != 0 || len(user) != 2 || !user[0].User || user[0].Name != "extra" {
		t.Fatalf("LoadDir = %+v, %v, %v", user, skipped, err)
	}
	all, skipped := Merge(Builtin(), user)
	if len(skipped) != 0 {
		t.Errorf("Merge skipped %v", skipped)
	}
	l, ok := Find(all, "listening")
	if !ok || !l.User || !l.Shadows || l.Description != "mine" {
		t.Errorf("user listening does not shadow the built-in: %+v", l)
	}
	if e, ok := Find(all, "extra"); !ok || e.Shadows {
		t.Errorf("extra = %+v", e)
	}
	if b, ok := Find(all, "sockets-by-state"); !ok || b.User {
		t.Errorf("built-in lost: %+v", b)
	}
	if qs, skipped, err := LoadDir(filepath.Join(dir, "missing")); err != nil || qs != nil || skipped != nil {
		t.Errorf("missing dir: %v %v %v", qs, skipped, err)
	}
}

// TestLoadDirSkipsBadFiles: one bad user file is reported by name and
// skipped; every other query loads.
func TestLoadDirSkipsBadFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("good.sql", "-- description: fine\nSELECT 1;\n")
	write("typo.sql", "-- name: my-metric\n-- metric: my_metric\n-- type: gaug\n-- value: v\nSELECT 1 AS v;\n")
	write("twice.sql", "-- name: a\n-- name: b\nSELECT 1;\n")
	write("a-dup.sql", "-- name: dup\nSELECT 'first';\n")
	write("b-dup.sql", "-- name: dup\nSELECT 'second';\n")
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.sql"), 0o644); err != nil {
		t.Fatal(err)
	}
	qs, skipped, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, q := range qs {
		names = append(names, q.Name)
	}
	if strings.Join(names, ",") != "dup,good" {
		t.Errorf("loaded %v, want dup and good", names)
	}
	if d, _ := Find(qs, "dup"); !strings.Contains(d.SQL, "first") {
		t.Errorf("dup is not the first file's: %q", d.SQL)
	}
	want := map[string]string{ // file -> what its error says
		"typo.sql":  `type "gaug"`,
		"twice.sql": "name given twice",
		"b-dup.sql": "query name dup is already taken by " + filepath.Join(dir, "a-dup.sql"),
		"fifo.sql":  "not a regular file",
	}
	for _, e := range skipped {
		base := filepath.Base(e.File)
		if w, ok := want[base]; !ok || !strings.Contains(e.Error(), w) || !strings.Contains(e.Error(), e.File) {
			t.Errorf("skipped %s: %v (want it to name the file and say %q)", base, e, w)
		}
		delete(want, base)
	}
	for f := range want {
		t.Errorf("%s was not reported", f)
	}
	if e, ok := Skipped(skipped, "my-metric"); !ok || filepath.Base(e.File) != "typo.sql" {
		t.Errorf("Skipped(my-metric) = %v, %v", e, ok)
	}
}

// TestMergeMetricCollisions: a user query that declares a built-in
// metric's name is reported, not allowed to drop the built-in series,
// unless it replaces that built-in query by name.
func TestMergeMetricCollisions(t *testing.T) {
	user := func(name, metric string) Query {
		q, err := Parse("user:/q/"+name+".sql", "-- name: "+name+"\n-- metric: "+metric+"\n-- type: gauge\n-- value: v\nSELECT 1 AS v;\n")
		if err != nil {
			t.Fatal(err)
		}
		q.User = true
		return q
	}
	all, skipped := Merge(Builtin(), []Query{user("mine", "netsql_sockets"), user("other", "my_gauge"), user("zz", "my_gauge")})
	if len(skipped) != 2 {
		t.Fatalf("skipped %v, want mine and zz", skipped)
	}
	if e := skipped[0]; e.Name != "mine" || e.File != "/q/mine.sql" || !strings.Contains(e.Error(), "metric netsql_sockets is already declared by query metric-sockets") {
		t.Errorf("mine: %v", e)
	}
	if e := skipped[1]; e.Name != "zz" || !strings.Contains(e.Error(), "metric my_gauge is already declared by query other") {
		t.Errorf("zz: %v", e)
	}
	if q, ok := Find(all, "metric-sockets"); !ok || q.User {
		t.Errorf("built-in metric-sockets lost: %+v", q)
	}
	if _, ok := Find(all, "mine"); ok {
		t.Error("mine is in the catalog")
	}
	// Shadowing the built-in query by name replaces its metrics: fine.
	all, skipped = Merge(Builtin(), []Query{user("metric-sockets", "netsql_sockets")})
	if q, ok := Find(all, "metric-sockets"); len(skipped) != 0 || !ok || !q.Shadows {
		t.Errorf("shadowing metric-sockets: %+v %v", q, skipped)
	}
}
