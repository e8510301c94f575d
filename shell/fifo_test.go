package shell

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestFIFOsDoNotHangTheShell: a FIFO as init.sql, as a user query file or
// given to .read (a plain open blocks forever on one) is an error naming
// it, and the shell goes on.
func TestFIFOsDoNotHangTheShell(t *testing.T) {
	cfgDir := t.TempDir()
	os.MkdirAll(filepath.Join(cfgDir, "queries"), 0o700)
	fifos := []string{filepath.Join(cfgDir, "init.sql"), filepath.Join(cfgDir, "queries", "stuck.sql"), filepath.Join(t.TempDir(), "script.sql")}
	for _, f := range fifos {
		if err := unix.Mkfifo(f, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	type result struct{ out, errs string }
	done := make(chan result, 1)
	go func() {
		out, errs := runScript(t, ShellConfig{ConfigDir: cfgDir, Queries: testQueries}, ".queries\n.read "+fifos[2]+"\nSELECT 'still here' AS s;\n")
		done <- result{out, errs}
	}()
	var r result
	select {
	case r = <-done:
	case <-time.After(time.Minute):
		t.Fatal("the shell did not finish in a minute: it blocks on a FIFO")
	}
	if !strings.Contains(r.out, "still here") || !strings.Contains(r.out, "listening") {
		t.Errorf("the shell did not go on:\n%s", r.out)
	}
	for _, f := range fifos {
		if !strings.Contains(r.errs, f+": not a regular file") {
			t.Errorf("errors do not name %s as not a regular file:\n%s", f, r.errs)
		}
	}
}
