package shell

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestHistoryPath(t *testing.T) {
	env := func(kv ...string) Env {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	tests := []struct {
		env  Env
		want string
	}{
		{env("HOME", "/home/u"), "/home/u/.local/state/netsql/history"},
		{env("HOME", "/home/u", "XDG_STATE_HOME", "/x/state"), "/x/state/netsql/history"},
		{env("HOME", "/home/u", "XDG_STATE_HOME", "relative"), "/home/u/.local/state/netsql/history"},
		{env("HOME", "/home/u", "XDG_STATE_HOME", "/x", "NETSQL_HISTORY", "/tmp/h"), "/tmp/h"},
		{env(), ""},
	}
	for _, tt := range tests {
		if got := HistoryPath(tt.env); got != tt.want {
			t.Errorf("HistoryPath = %q, want %q", got, tt.want)
		}
	}
	if got := ConfigDir(env("HOME", "/home/u")); got != "/home/u/.config/netsql" {
		t.Errorf("ConfigDir = %q", got)
	}
	if got := ConfigDir(env("HOME", "/home/u", "XDG_CONFIG_HOME", "/c")); got != "/c/netsql" {
		t.Errorf("ConfigDir = %q", got)
	}
}

func TestHistoryDedupAndBound(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "netsql", "history")
	h, err := openHistory(path, 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []string{"a", "b", "a", "a", "c"} {
		if _, err := h.add(e); err != nil {
			t.Fatal(err)
		}
	}
	if want := []string{"b", "a", "c"}; !reflect.DeepEqual(h.entries, want) {
		t.Fatalf("entries = %q, want %q", h.entries, want)
	}
	changed, err := h.add("d") // the bound drops the oldest
	if err != nil || !changed {
		t.Fatalf("add past the limit: changed=%v err=%v", changed, err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "a\nc\nd\n" {
		t.Fatalf("file = %q", b)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("history file mode %v, %v: want 0600", fi.Mode(), err)
	}

	// A file with repeats (another shell appended) loads de-duplicated and
	// is rewritten so.
	os.WriteFile(path, []byte("x\ny\nx\n\nz\ny\n"), 0o600)
	h, err = openHistory(path, 10)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"x", "z", "y"}; !reflect.DeepEqual(h.entries, want) {
		t.Fatalf("entries = %q, want %q", h.entries, want)
	}
	if b, _ := os.ReadFile(path); string(b) != "x\nz\ny\n" {
		t.Fatalf("file after load = %q", b)
	}
}

func TestOneLine(t *testing.T) {
	tests := []struct{ in, want string }{
		{"SELECT a,\n  b\nFROM t;", "SELECT a, b FROM t;"},
		{"SELECT 'a\n  b' -- why\nFROM t;", "SELECT 'a   b' /* why */ FROM t;"},
		{"SELECT 1 -- */ odd\n;", "SELECT 1 ;"},
		{"SELECT /* x\ny */ 1;", "SELECT /* x y */ 1;"},
		{"SELECT 'two  spaces';", "SELECT 'two  spaces';"},
	}
	for _, tt := range tests {
		if got := OneLine(tt.in); got != tt.want {
			t.Errorf("OneLine(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if strings.Contains(OneLine(tt.in), "\n") {
			t.Errorf("OneLine(%q) kept a newline", tt.in)
		}
	}
}
