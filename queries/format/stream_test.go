package format

import (
	"bytes"
	"strings"
	"testing"
)

// TestTableStreamsLargeResults: a table holds at most tableBufferRows
// rows; the rest stream at the widths the first rows set.
func TestTableStreamsLargeResults(t *testing.T) {
	var out bytes.Buffer
	w, err := NewWriter("table", &out, DefaultOptions)
	if err != nil {
		t.Fatal(err)
	}
	tw := w.(*tableWriter)
	w.Begin([]string{"n", "s"})
	const total = 3*tableBufferRows + 7
	for i := 0; i < total; i++ {
		s := "x"
		if i == total-1 {
			s = "a much longer cell than any before"
		}
		if err := w.Row([]any{int64(i), s}); err != nil {
			t.Fatal(err)
		}
		if len(tw.rows) > tableBufferRows {
			t.Fatalf("table holds %d rows after %d, want at most %d", len(tw.rows), i+1, tableBufferRows)
		}
	}
	if err := w.End(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != total+2 {
		t.Fatalf("%d lines, want %d", len(lines), total+2)
	}
	if lines[0] != "n     s" || lines[2] != "   0  x" {
		t.Errorf("head = %q, %q", lines[0], lines[2])
	}
	if last := lines[len(lines)-1]; last != "30006  a much longer cell than any before" {
		t.Errorf("last line = %q", last)
	}
}
