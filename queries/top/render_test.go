package top

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netsql/netsql/queries/result"
)

// frameText joins a frame's lines, marking each line's style in the
// first column: ' ' plain, '=' title, '#' heading, '>' selected, '_'
// status.
func frameText(lines []Line) string {
	marks := map[Style]string{Plain: " ", Title: "=", Heading: "#", Selected: ">", Status: "_"}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(marks[l.Style] + "|" + l.Text + "|\n")
	}
	return b.String()
}

// golden compares got with testdata/NAME.golden; NETSQL_UPDATE_GOLDEN=1
// rewrites the file instead.
func golden(t *testing.T, name, got string) {
	t.Helper()
	file := filepath.Join("testdata", name+".golden")
	if os.Getenv("NETSQL_UPDATE_GOLDEN") != "" {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (NETSQL_UPDATE_GOLDEN=1 go test ./queries/top writes it)", err)
	}
	if got != string(want) {
		t.Errorf("frame %s differs from %s:\n got:\n%s\nwant:\n%s", name, file, got, want)
	}
}

func TestGoldenFrames(t *testing.T) {
	keys := func(m *Model, ks ...Key) {
		for _, k := range ks {
			m.Key(k)
		}
	}
	r := func(c rune) Key { return Key{Rune: c} }
	named := func(n string) Key { return Key{Name: n} }
	for _, tc := range []struct {
		name      string
		refreshes int
		w, h      int
		setup     func(m *Model, src *fakeSource)
	}{
		{name: "first-refresh", refreshes: 1, w: 100, h: 24},
		{name: "programs", refreshes: 3, w: 100, h: 24},
		{name: "narrow", refreshes: 3, w: 60, h: 12},
		{name: "interfaces-sorted", refreshes: 2, w: 120, h: 20, setup: func(m *Model, _ *fakeSource) {
			keys(m, named("tab"), named("tab"), named("tab"), r('>'), r('>'), r('>'), r('>'))
		}},
		{name: "filtered-paused", refreshes: 2, w: 100, h: 20, setup: func(m *Model, _ *fakeSource) {
			keys(m, r('/'), r('g'), r('r'), r('e'), named("enter"), r('p'), r('+'))
		}},
		{name: "typing-filter", refreshes: 2, w: 100, h: 20, setup: func(m *Model, _ *fakeSource) {
			keys(m, r('/'), r('s'), r('s'))
		}},
		{name: "drill", refreshes: 2, w: 120, h: 20, setup: func(m *Model, src *fakeSource) {
			src.drill = set([]string{"proto", "local_address", "local_port", "remote_address", "remote_port", "state", "recv_q", "send_q", "rtt_ms", "cwnd", "retrans", "in_bps", "out_bps", "pid", "fd", "_cookie"},
				[]any{"tcp", "10.0.0.1", int64(443), "10.0.0.7", int64(51000), "ESTABLISHED", int64(0), int64(800), 0.25, int64(10), int64(2), 1.9e6, 5e4, int64(812), int64(17), int64(99)},
				[]any{"tcp", "10.0.0.1", int64(443), "10.0.0.7", int64(51002), "CLOSE_WAIT", int64(1), int64(0), nil, nil, nil, nil, nil, int64(812), int64(18), int64(100)})
			keys(m, named("enter"))
		}},
		{name: "sql", refreshes: 2, w: 100, h: 16, setup: func(m *Model, _ *fakeSource) {
			keys(m, named("tab"), named("tab"), r('s'))
		}},
		{name: "namespaces", refreshes: 2, w: 80, h: 14, setup: func(m *Model, _ *fakeSource) {
			keys(m, r('n'), named("down"), named("down"), named("down"))
		}},
		{name: "static", refreshes: 0, w: 100, h: 14, setup: func(m *Model, _ *fakeSource) {
			s := fixedSnapshot(0)
			s.Static = true
			m.Update(s)
			keys(m, named("tab"), named("tab"), named("tab"))
		}},
		{name: "panel-error", refreshes: 2, w: 80, h: 12, setup: func(m *Model, _ *fakeSource) {
			s := fixedSnapshot(2)
			delete(s.Sets, "top-programs")
			s.Errs["top-programs"] = errString("top-programs: no such column: bogus")
			m.Update(s)
			m.Notice("not all processes could be identified")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, src := fixedModel(t, tc.refreshes)
			if tc.setup != nil {
				tc.setup(m, src)
			}
			lines := m.Render(tc.w, tc.h)
			if len(lines) != tc.h {
				t.Fatalf("%d lines, want %d", len(lines), tc.h)
			}
			for i, l := range lines {
				if n := width(l.Text); n != tc.w {
					t.Errorf("line %d is %d cells wide, want %d: %q", i, n, tc.w, l.Text)
				}
			}
			golden(t, tc.name, frameText(lines))
		})
	}
}

type errString string

func (e errString) Error() string { return string(e) }

// TestDrillBindsRow checks that Enter runs the drill-down panel with the
// selected row's columns as parameters, after sorting moved the rows.
func TestDrillBindsRow(t *testing.T) {
	m, src := fixedModel(t, 2)
	src.drill = &result.Set{Columns: []string{"state"}}
	m.Key(Key{Name: "down"})
	m.Key(Key{Name: "enter"})
	if src.drillPanel != "top-program-sockets" || src.drillParams["program"] != "postgres" {
		t.Fatalf("drill ran %s with %v, want top-program-sockets with program=postgres", src.drillPanel, src.drillParams)
	}
	m.Key(Key{Name: "esc"})
	m.Key(Key{Rune: '<'}) // sort by the last column (out_bps), biggest first
	m.Key(Key{Name: "home"})
	m.Key(Key{Name: "enter"})
	if src.drillParams["program"] != "postgres" {
		t.Errorf("after sorting by out_bps, Enter on the top row drilled into %q, want postgres", src.drillParams["program"])
	}
	m.Key(Key{Name: "esc"})
	// The drill-down follows refreshes.
	before := src.drillPanel
	src.drillPanel = ""
	m.Key(Key{Name: "enter"})
	m.Update(fixedSnapshot(3))
	if src.drillPanel != before {
		t.Errorf("a refresh did not re-run the drill-down")
	}
}

// TestRenderAnySize draws every screen at every small size: exactly h
// lines of exactly w cells, never a panic, with a program whose name
// takes two cells a character.
func TestRenderAnySize(t *testing.T) {
	m, src := fixedModel(t, 3)
	wide := fixedSnapshot(3)
	wide.Sets["top-programs"].Rows[0][0] = "数据库服务"
	m.Update(wide)
	src.drill = set([]string{"state"}, []any{"ESTABLISHED"})
	screens := map[string]func(){
		"table": func() {},
		"drill": func() { m.Key(Key{Name: "enter"}) },
		"sql":   func() { m.Key(Key{Name: "esc"}); m.Key(Key{Rune: 's'}) },
		"ns":    func() { m.Key(Key{Rune: 'x'}); m.Key(Key{Rune: 'n'}) },
	}
	for _, name := range []string{"table", "drill", "sql", "ns"} {
		screens[name]()
		for w := 1; w <= 45; w += 4 {
			for h := 1; h <= 14; h++ {
				lines := m.Render(w, h)
				if len(lines) != h {
					t.Fatalf("%s %dx%d: %d lines", name, w, h, len(lines))
				}
				for i, l := range lines {
					if n := width(l.Text); n != w {
						t.Fatalf("%s %dx%d: line %d is %d wide: %q", name, w, h, i, n, l.Text)
					}
				}
			}
		}
	}
}
