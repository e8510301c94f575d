package shell

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// DefaultHistoryLimit bounds the history file and the in-memory history.
const DefaultHistoryLimit = 1000

// history is the shell's de-duplicated, bounded list of entries, oldest
// first, persisted one entry per line. Each new entry is appended to the
// file (so shells running side by side do not lose each other's lines);
// the file is rewritten without duplicates when it opens and whenever it
// grows to twice the limit.
type history struct {
	path      string
	limit     int
	entries   []string
	fileLines int
}

// openHistory loads the history at path (empty: in memory only), creating
// its directory. A missing file is an empty history.
func openHistory(path string, limit int) (*history, error) {
	if limit <= 0 {
		limit = DefaultHistoryLimit
	}
	h := &history{path: path, limit: limit}
	if path == "" {
		return h, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return h, fmt.Errorf("history: %w", err)
	}
	lines, err := readLines(path)
	if errors.Is(err, fs.ErrNotExist) {
		return h, nil
	}
	if err != nil {
		return h, fmt.Errorf("history: %w", err)
	}
	h.entries = dedupe(lines, limit)
	h.fileLines = len(lines)
	if len(h.entries) != len(lines) {
		if err := h.rewrite(); err != nil {
			return h, err
		}
	}
	return h, nil
}

// dedupe keeps the last occurrence of each line, and the last limit lines.
func dedupe(lines []string, limit int) []string {
	seen := map[string]bool{}
	var rev []string
	for i := len(lines) - 1; i >= 0 && len(rev) < limit; i-- {
		if !seen[lines[i]] {
			seen[lines[i]] = true
			rev = append(rev, lines[i])
		}
	}
	out := make([]string, len(rev))
	for i, l := range rev {
		out[len(rev)-1-i] = l
	}
	return out
}

// add records an entry as the newest. changed reports that entries other
// than the newest changed (an older copy dropped, the oldest cut, lines
// from other shells merged), so a line editor's copy must be rebuilt.
func (h *history) add(entry string) (changed bool, err error) {
	entry = strings.TrimSpace(entry)
	if entry == "" || strings.ContainsAny(entry, "\n\r") {
		return false, nil
	}
	if n := len(h.entries); n > 0 && h.entries[n-1] == entry {
		return false, nil
	}
	dup := slices.Contains(h.entries, entry)
	if !dup && len(h.entries) < h.limit && h.fileLines+1 < 2*h.limit {
		h.entries = append(h.entries, entry)
		return false, h.appendLine(entry)
	}
	// Rewrite the file without the older copy, keeping what other shells
	// appended since it was read.
	lines := h.entries
	if h.path != "" {
		if onDisk, err := readLines(h.path); err == nil {
			lines = onDisk
		}
	}
	h.entries = dedupe(append(slices.Clone(lines), entry), h.limit)
	if h.path == "" {
		return true, nil
	}
	return true, h.rewrite()
}

// appendLine adds one line to the history file.
func (h *history) appendLine(entry string) error {
	if h.path == "" {
		return nil
	}
	f, err := os.OpenFile(h.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	_, err = f.WriteString(entry + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("history: write %s: %w", h.path, err)
	}
	h.fileLines++
	return nil
}

// readLines reads a history file's non-empty lines.
func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			lines = append(lines, l)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("history: read %s: %w", path, err)
	}
	return lines, nil
}

// rewrite replaces the file with the current entries, atomically.
func (h *history) rewrite() error {
	tmp, err := os.CreateTemp(filepath.Dir(h.path), ".history-*")
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	w := bufio.NewWriter(tmp)
	for _, e := range h.entries {
		w.WriteString(e + "\n")
	}
	err = w.Flush()
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o600)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), h.path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("history: rewrite %s: %w", h.path, err)
	}
	h.fileLines = len(h.entries)
	return nil
}

// OneLine folds a multi-line statement into one history line: runs of
// white space outside quotes become one space and `-- comments` become
// `/* comments */`, so recalling the line runs the same statement.
func OneLine(text string) string {
	var b strings.Builder
	space := false // white space seen and not yet written
	put := func(s string) {
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteString(s)
	}
	flat := strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ")
	i := 0
	for i < len(text) {
		c := text[i]
		switch {
		case c == '\'' || c == '"' || c == '`':
			j := skipQuoted(text, i, c)
			put(flat.Replace(text[i:j]))
			i = j
		case c == '-' && i+1 < len(text) && text[i+1] == '-':
			j := strings.IndexByte(text[i:], '\n')
			if j < 0 {
				j = len(text) - i
			}
			if comment := strings.TrimSpace(text[i+2 : i+j]); comment != "" && !strings.Contains(comment, "*/") {
				put("/* " + comment + " */")
			}
			space = true
			i += j
		case c == '/' && i+1 < len(text) && text[i+1] == '*':
			end := len(text)
			if j := strings.Index(text[i+2:], "*/"); j >= 0 {
				end = i + 2 + j + 2
			}
			put(flat.Replace(text[i:end]))
			i = end
		case c == ' ' || c == '\n' || c == '\r' || c == '\t':
			space = true
			i++
		default:
			put(text[i : i+1])
			i++
		}
	}
	return b.String()
}
