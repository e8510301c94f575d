package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netsql/netsql/vtab"
)

// nobody is the unprivileged account the tests run netsql as.
const nobody = 65534

// worldDir makes a directory every user can enter and read, removed when
// the test ends (t.TempDir's is private to root).
func worldDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "netsql-world-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// nobodyBinary builds netsql where nobody can run it. It skips the test
// unless it runs as root (only root can start a process as nobody).
func nobodyBinary(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("running netsql as nobody needs root to switch users; this test runs as uid", os.Geteuid())
	}
	return copyBinary(t, worldDir(t))
}

// runBinary runs bin with args as uid (root when uid is 0) and returns
// what it printed and its exit code.
func runBinary(t *testing.T, bin string, uid uint32, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = filepath.Dir(bin)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/nonexistent", "NO_COLOR=1"}
	if uid != 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid, Groups: []uint32{}}}
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.ExitCode()
	default:
		t.Fatalf("run %s: %v", bin, err)
	}
	return out.String(), errb.String(), code
}

// TestUnprivilegedOwnersAreNull runs netsql as nobody while the test (as
// root) holds a listener: the socket is listed with its port and state,
// its owner columns are NULL, one stderr line says why, and the exit is
// 0. Run as root, the same query names the test's process.
func TestUnprivilegedOwnersAreNull(t *testing.T) {
	bin := nobodyBinary(t)
	ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	// By address too: sockets on other addresses ([::1], 127.0.0.10 of a
	// netsql-load client, in any state) may use the same port number.
	q := fmt.Sprintf("SELECT local_port, state, pid IS NULL, program IS NULL, fd IS NULL, pid FROM sockets WHERE protocol = 'tcp' AND local_address = '127.0.0.1' AND local_port = %d", port)

	out, errs, code := runBinary(t, bin, nobody, "--format", "csv", "--header=false", q)
	if code != 0 {
		t.Fatalf("as nobody: exit %d, stderr %q", code, errs)
	}
	if want := fmt.Sprintf("%d,LISTEN,1,1,1,\n", port); out != want {
		t.Errorf("as nobody: rows %q, want %q", out, want)
	}
	lines := strings.Split(strings.TrimSuffix(errs, "\n"), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "netsql: not all processes could be identified") {
		t.Errorf("as nobody: stderr %q, want one line like netstat's \"Not all processes could be identified\"", errs)
	}

	// --quiet (for cron) drops the notice and nothing else.
	quietOut, quietErrs, code := runBinary(t, bin, nobody, "--quiet", "--format", "csv", "--header=false", q)
	if code != 0 || quietOut != out || quietErrs != "" {
		t.Errorf("as nobody with --quiet: exit %d, rows %q, stderr %q; want exit 0, rows %q, no stderr", code, quietOut, quietErrs, out)
	}
	dbDir := worldDir(t)
	if err := os.Chmod(dbDir, 0o777); err != nil { // nobody creates the history file here
		t.Fatal(err)
	}
	_, quietErrs, code = runBinary(t, bin, nobody, "record", "--quiet", "--db", filepath.Join(dbDir, "h.db"), "-q", "sockets-by-program")
	if code != 0 || quietErrs != "" {
		t.Errorf("record --quiet as nobody: exit %d, stderr %q; want exit 0 and no stderr", code, quietErrs)
	}

	out, errs, code = runBinary(t, bin, 0, "--format", "csv", "--header=false", q)
	if want := fmt.Sprintf("%d,LISTEN,0,0,0,%d\n", port, os.Getpid()); code != 0 || out != want || errs != "" {
		t.Errorf("as root: exit %d, rows %q, stderr %q; want %q and no notice", code, out, errs, want)
	}
}

// TestUnprivilegedTablesAnswer: every table answers for nobody, exit 0.
func TestUnprivilegedTablesAnswer(t *testing.T) {
	bin := nobodyBinary(t)
	queries := []string{
		"SELECT count(*) > 0 FROM interfaces",
		"SELECT count(*) > 0 FROM addresses",
		"SELECT count(*) > 0 FROM processes",
		"SELECT count(*) >= 0 FROM sockets WHERE state = 'LISTEN'",
	}
	// Every other table answers too (the README promises it), but
	// conntrack: the kernel lists tracked flows only to CAP_NET_ADMIN.
	for _, d := range vtab.Tables() {
		if name := d.Schema().Name; name != "conntrack" {
			queries = append(queries, "SELECT count(*) >= 0 FROM "+name)
		}
	}
	out, errs, code := runBinary(t, bin, nobody, "SELECT count(*) FROM conntrack")
	if code != exitError || out != "" || strings.Count(errs, "\n") != 1 || !strings.HasPrefix(errs, "netsql: ") {
		t.Errorf("as nobody, conntrack: exit %d, stdout %q, stderr %q; want one error line, exit 1", code, out, errs)
	}
	for _, q := range queries {
		out, errs, code := runBinary(t, bin, nobody, "--format", "csv", "--header=false", q)
		if code != 0 || out != "1\n" {
			t.Errorf("as nobody, %s: exit %d, stdout %q, stderr %q", q, code, out, errs)
		}
		if n := strings.Count(errs, "\n"); n > 1 || strings.Contains(errs, "goroutine") {
			t.Errorf("as nobody, %s: stderr %q, want at most one notice", q, errs)
		}
	}
}
