package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestDBAttachedReadOnly: --db attaches the history read-only, so a
// DROP TABLE or DELETE on it fails and leaves it whole.
func TestDBAttachedReadOnly(t *testing.T) {
	file := filepath.Join(t.TempDir(), "history.db")
	if _, errs, code := runCLI(t, "", "--proc", netstatFixture, "record", "--db", file, "-q", "sockets-by-state"); code != 0 {
		t.Fatalf("record: exit %d: %s", code, errs)
	}
	for _, stmt := range []string{"DROP TABLE sockets_by_state", "DELETE FROM history.sockets_by_state", "CREATE TABLE history.x(a)"} {
		out, errs, code := runCLI(t, "", "--proc", netstatFixture, "--db", file, stmt)
		if code != exitError || !strings.Contains(errs, "readonly") {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", stmt, code, out, errs)
		}
	}
	// A FIFO as --db would block SQLite's open for ever.
	fifo := mkfifo(t, filepath.Join(t.TempDir(), "fifo.db"))
	out, errs, code := runGuarded(t, strings.NewReader(""), "--proc", netstatFixture, "--db", fifo, "SELECT 1")
	if code != exitError || !strings.Contains(errs, fifo+" is not a regular file") {
		t.Errorf("--db FIFO: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	out, errs, code = runGuarded(t, strings.NewReader(""), "--proc", netstatFixture, "record", "--db", fifo)
	if code != exitError || !strings.Contains(errs, fifo+": not a regular file") {
		t.Errorf("record --db FIFO: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	out, errs, code = runCLI(t, "", "--proc", netstatFixture, "--db", file, "--format", "csv", "--header=false",
		"SELECT count(*) > 0 FROM sockets_by_state")
	if code != 0 || out != "1\n" {
		t.Errorf("history after the refused writes: exit %d %q %s", code, out, errs)
	}
}

// TestHistoryReadableByOthers: a history root recorded (from cron) is
// readable by another user, with netsql --db and with sqlite3, although
// that user may not write the file or its directory.
func TestHistoryReadableByOthers(t *testing.T) {
	bin := nobodyBinary(t)
	dir := worldDir(t)
	file := filepath.Join(dir, "history.db")
	if _, errs, code := runBinary(t, bin, 0, "record", "--db", file, "-q", "sockets-by-state"); code != 0 {
		t.Fatalf("record as root: exit %d: %s", code, errs)
	}
	os.Chmod(file, 0o644)
	out, errs, code := runBinary(t, bin, nobody, "--db", file, "--format", "csv", "--header=false",
		"SELECT count(*) FROM netsql_snapshots")
	if code != 0 || out != "1\n" {
		t.Errorf("netsql --db as nobody: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if sqlite3, err := exec.LookPath("sqlite3"); err == nil {
		out, errs, code := runBinary(t, sqlite3, nobody, file, "SELECT count(*) FROM netsql_snapshots")
		if code != 0 || out != "1\n" {
			t.Errorf("sqlite3 as nobody: exit %d, stdout %q, stderr %q", code, out, errs)
		}
	}
	if got := entries(t, dir); got != "history.db" {
		t.Errorf("files beside the history: %s", got)
	}
}

// TestFailedRecordLeavesNoFiles: another user's record into root's
// history in a directory anyone may write (/tmp-like) fails with one line
// and leaves no -wal or -shm file behind for root to trip over.
func TestFailedRecordLeavesNoFiles(t *testing.T) {
	bin := nobodyBinary(t)
	dir := worldDir(t)
	if err := os.Chmod(dir, 0o1777); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "history.db")
	if _, errs, code := runBinary(t, bin, 0, "record", "--db", file, "-q", "sockets-by-state"); code != 0 {
		t.Fatalf("record as root: exit %d: %s", code, errs)
	}
	os.Chmod(file, 0o644)
	before := entries(t, dir)
	out, errs, code := runBinary(t, bin, nobody, "record", "--db", file, "-q", "sockets-by-state")
	if code != exitError {
		t.Errorf("record as nobody: exit %d, want 1; stderr %q", code, errs)
	}
	checkOneLine(t, "record as nobody", out, errs, code)
	if !strings.Contains(errs, file) || !strings.Contains(errs, "permission denied") {
		t.Errorf("stderr %q does not name %s and the reason", errs, file)
	}
	if after := entries(t, dir); after != before {
		t.Errorf("files before %q, after %q", before, after)
	}
	// And root's next record still works.
	if _, errs, code := runBinary(t, bin, 0, "record", "--db", file, "-q", "sockets-by-state"); code != 0 {
		t.Errorf("root's record after the failed one: exit %d: %s", code, errs)
	}
}

// entries lists dir's file names, sorted, space-separated.
func entries(t *testing.T, dir string) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return strings.Join(names, " ")
}
