package shell

import (
	"bytes"
	"strings"
	"testing"
)

func render(t *testing.T, format string, opts Options, cols []string, rows ...[]any) string {
	t.Helper()
	var b bytes.Buffer
	w, err := NewWriter(format, &b, opts)
	if err != nil {
		t.Fatal(err)
	}
	w.Begin(cols)
	for _, r := range rows {
		w.Row(r)
	}
	if err := w.End(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestTableColorAndWidth(t *testing.T) {
	cols := []string{"proto", "path"}
	rows := [][]any{{"unix", "/run/systemd/journal/stdout"}, {"tcp", nil}}

	plain := render(t, "table", DefaultOptions, cols, rows...)
	if strings.Contains(plain, "\x1b") {
		t.Fatalf("colour without Options.Color:\n%q", plain)
	}

	opts := DefaultOptions
	opts.Color = true
	got := render(t, "table", opts, cols, rows...)
	want := "\x1b[1mproto\x1b[0m  \x1b[1mpath\x1b[0m\n" +
		"-----  ---------------------------\n" +
		"unix   /run/systemd/journal/stdout\n" +
		"tcp    \x1b[2mNULL\x1b[0m\n"
	if got != want {
		t.Fatalf("coloured table:\n%q\nwant\n%q", got, want)
	}
	if md := render(t, "markdown", opts, cols, rows...); strings.Contains(md, "\x1b") {
		t.Fatalf("markdown is for pasting: no colour\n%q", md)
	}
	if line := render(t, "line", opts, cols, rows...); !strings.Contains(line, "path = \x1b[2mNULL\x1b[0m") {
		t.Fatalf("line mode dims NULL:\n%q", line)
	}

	opts = DefaultOptions
	opts.MaxWidth = 20
	got = render(t, "table", opts, cols, rows...)
	want = "proto  path\n" +
		"-----  ------------" + Ellipsis + "\n" +
		"unix   /run/systemd" + Ellipsis + "\n" +
		"tcp    NULL\n"
	if got != want {
		t.Fatalf("fitted table:\n%s\nwant\n%s", got, want)
	}
	opts.Color = true
	for _, l := range strings.Split(strings.TrimSpace(render(t, "table", opts, cols, rows...)), "\n") {
		if n := len([]rune(stripANSI(l))); n > 20 {
			t.Errorf("line %q is %d cells wide, want at most 20", l, n)
		}
	}
}

func stripANSI(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b {
			for i < len(s) && s[i] != 'm' {
				i++
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
