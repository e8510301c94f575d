package queries

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
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
	user, err := LoadDir(dir)
	if err != nil || len(user) != 2 || !user[0].User || user[0].Name != "extra" {
		t.Fatalf("LoadDir = %+v, %v", user, err)
	}
	all := Merge(Builtin(), user)
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
	if qs, err := LoadDir(filepath.Join(dir, "missing")); err != nil || qs != nil {
		t.Errorf("missing dir: %v %v", qs, err)
	}
	os.WriteFile(filepath.Join(dir, "bad.sql"), []byte("-- name: a\n-- name: b\nSELECT 1"), 0o644)
	if _, err := LoadDir(dir); !errors.Is(err, ErrHeader) || !strings.Contains(err.Error(), "bad.sql") {
		t.Errorf("bad user query: %v", err)
	}
}
