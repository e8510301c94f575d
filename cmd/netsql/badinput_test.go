package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// usageHint is the second stderr line of every usage error (exit 2).
const usageHint = "usage: netsql [flags] [SQL]   (netsql -h for help)"

// checkOneLine fails unless a failed run printed nothing on stdout and one
// "netsql: " line on stderr (plus the usage hint for exit 2), with no
// stack trace and no Go-internal error text.
func checkOneLine(t *testing.T, what, stdout, stderr string, code int) {
	t.Helper()
	if stdout != "" {
		t.Errorf("%s: failed run printed to stdout: %q", what, stdout)
	}
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	if code == exitUsage && len(lines) == 2 && lines[1] == usageHint {
		lines = lines[:1]
	}
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "netsql: ") || !strings.HasSuffix(stderr, "\n") {
		t.Errorf("%s: stderr must be one \"netsql: \" line, got %q", what, stderr)
	}
	for _, leak := range []string{"goroutine ", "panic", ".go:", "runtime error", "%!", "<nil>", "SQL logic error"} {
		if strings.Contains(stderr, leak) {
			t.Errorf("%s: stderr leaks %q: %q", what, leak, stderr)
		}
	}
}

// copyTree copies a fixture tree to dst, keeping the file modes.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		to := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(to, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(target, to)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(to, b, info.Mode().Perm()|0o444)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// truncateLastLine cuts the last non-blank line of file in the middle
// (as a copy taken while the kernel was writing would be) and returns that
// line's number.
func truncateLastLine(t *testing.T, file string) int {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	body := bytes.TrimRight(b, " \t\n")
	last := body[bytes.LastIndexByte(body, '\n')+1:]
	last = bytes.TrimRight(last, " ")
	cut := body[:len(body)-len(last)/2]
	if err := os.WriteFile(file, cut, 0o644); err != nil {
		t.Fatal(err)
	}
	return bytes.Count(cut, []byte("\n")) + 1
}

// TestBadInputCatalogue extends TestErrorsAndExitCodes: each bad input
// gives its documented exit code, one clear stderr line and no output.
func TestBadInputCatalogue(t *testing.T) {
	file := filepath.Join(t.TempDir(), "plain-file")
	if err := os.WriteFile(file, []byte("not a tree\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	noNet := t.TempDir()
	if err := os.Mkdir(filepath.Join(noNet, "self"), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		code int
		// stderr must match this (the whole first line).
		stderr string
	}{
		{"update a live table", []string{"--proc", fixtureProc, "UPDATE sockets SET pid = 1"}, exitError,
			`^netsql: sockets is a read-only view of the kernel$`},
		{"insert into a live table", []string{"--proc", fixtureProc, "INSERT INTO routes (destination) VALUES ('10.0.0.0')"}, exitError,
			`^netsql: routes is a read-only view of the kernel$`},
		{"delete from another live table", []string{"--proc", netstatFixture, "DELETE FROM interfaces WHERE name = 'lo'"}, exitError,
			`^netsql: interfaces is a read-only view of the kernel$`},
		{"malformed SQL (unterminated string)", []string{"SELECT 'abc"}, exitError, `^netsql: unrecognized token: "'abc"$`},
		{"malformed SQL (incomplete)", []string{"SELECT * FROM"}, exitError, `^netsql: .*(syntax error|incomplete input)`},
		{"unknown column in WHERE", []string{"--proc", fixtureProc, "SELECT 1 FROM sockets WHERE colour = 'red'"}, exitError,
			`^netsql: no such column: colour$`},
		{"too many table arguments", []string{"--proc", fixtureProc, "SELECT 1 FROM sockets(1, 2, 3)"}, exitError, `^netsql: .*sockets`},
		{"--proc at a file", []string{"--proc", file, "SELECT 1"}, exitError,
			`^netsql: --proc ` + regexp.QuoteMeta(file) + `: not a directory$`},
		{"--proc at a dir without net/", []string{"--proc", noNet, "SELECT 1"}, exitError,
			`^netsql: --proc ` + regexp.QuoteMeta(noNet) + `: no net/ directory: not a /proc tree$`},
		{"unknown --format", []string{"--format", "yaml", "SELECT 1"}, exitUsage, `^netsql: unknown format "yaml"`},
		{"bad --timeout", []string{"--timeout", "soon", "SELECT 1"}, exitUsage, `^netsql: invalid value "soon" for flag -timeout`},
		{"-p without =", []string{"-p", "limit", "SELECT :limit"}, exitUsage, `^netsql: .*want name=value`},
		{"missing :param in a file", []string{"-f", writeSQL(t, "SELECT * FROM sockets WHERE local_port = :port;")}, exitError,
			`^netsql: missing parameter :port \(give it with -p port=VALUE\)$`},
		{"missing -f file", []string{"-f", "/nonexistent/q.sql"}, exitError, `^netsql: open /nonexistent/q.sql: no such file or directory$`},
		{"unknown canned query", []string{"-q", "no-such-query"}, exitUsage, `^netsql: no canned query "no-such-query"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, errs, code := runCLI(t, "", c.args...)
			if code != c.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, c.code, errs)
			}
			checkOneLine(t, c.name, out, errs, code)
			first, _, _ := strings.Cut(errs, "\n")
			if !regexp.MustCompile(c.stderr).MatchString(first) {
				t.Errorf("stderr %q does not match %s", first, c.stderr)
			}
		})
	}
}

func writeSQL(t *testing.T, sql string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "q.sql")
	if err := os.WriteFile(f, []byte(sql), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestTruncatedProcFiles: a /proc file cut mid-line (a copy taken while
// the kernel wrote it) is an error naming the file and the line, not a
// silently shorter table.
func TestTruncatedProcFiles(t *testing.T) {
	for _, c := range []struct{ file, table string }{
		{"net/tcp", "sockets"},
		{"net/tcp6", "sockets"},
		{"net/udp", "sockets"},
		{"net/unix", "sockets"},
		{"net/route", "routes"},
		{"net/ipv6_route", "routes"},
		{"net/dev", "interfaces"},
		{"net/snmp", "protocol_stats"},
		{"net/arp", "neighbors"},
		{"net/sockstat", "socket_summary"},
	} {
		t.Run(c.file, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "proc")
			copyTree(t, netstatFixture, root)
			path := filepath.Join(root, c.file)
			line := truncateLastLine(t, path)
			out, errs, code := runCLI(t, "", "--proc", root, "SELECT count(*) FROM "+c.table)
			if code != exitError {
				t.Fatalf("exit %d, want %d; stdout %q stderr %q", code, exitError, out, errs)
			}
			checkOneLine(t, c.file, out, errs, code)
			if want := fmt.Sprintf("%s line %d: ", path, line); !strings.Contains(errs, want) {
				t.Errorf("stderr %q does not name %q", errs, want)
			}
		})
	}
}

// TestRunawayStatementTimesOut: --timeout stops a statement that would
// never end, with exit 1 and one clear line.
func TestRunawayStatementTimesOut(t *testing.T) {
	type result struct {
		out, errs string
		code      int
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		out, errs, code := runCLI(t, "", "--timeout", "200ms",
			"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c")
		done <- result{out, errs, code}
	}()
	select {
	case r := <-done:
		if r.code != exitError {
			t.Errorf("exit %d, want %d (stderr %q)", r.code, exitError, r.errs)
		}
		checkOneLine(t, "runaway statement", r.out, r.errs, r.code)
		if want := "netsql: statement cancelled after --timeout 200ms\n"; r.errs != want {
			t.Errorf("stderr %q, want %q", r.errs, want)
		}
		t.Logf("returned after %v", time.Since(start).Round(time.Millisecond))
	case <-time.After(30 * time.Second):
		t.Fatal("--timeout 200ms did not stop the runaway statement within 30s")
	}
}

// TestUnreadableProcTree runs netsql as nobody over trees it may not
// read: a file without read permission, a net/ it cannot list, a root it
// cannot enter. Each is one line naming the path and the permission, not
// "not a /proc tree" nor a silently empty table.
func TestUnreadableProcTree(t *testing.T) {
	bin := nobodyBinary(t)
	cases := []struct {
		name string
		// chmod is applied to the copied tree's path before the run.
		path string
		mode os.FileMode
		want string // regexp for stderr's line; ROOT stands for the tree
	}{
		{"unreadable net/tcp6", "net/tcp6", 0, `^netsql: sockets: .*ROOT/net/tcp6: permission denied$`},
		{"unlistable net/", "net", 0o700, `^netsql: sockets: .*ROOT/net/tcp: permission denied$`},
		{"unenterable root", ".", 0o700, `^netsql: --proc ROOT: permission denied$`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := filepath.Join(worldDir(t), "proc")
			copyTree(t, netstatFixture, root)
			if err := os.Chmod(filepath.Join(root, c.path), c.mode); err != nil {
				t.Fatal(err)
			}
			out, errs, code := runBinary(t, bin, nobody, "--proc", root, "SELECT count(*) FROM sockets")
			if code != exitError {
				t.Fatalf("exit %d, want %d; stdout %q stderr %q", code, exitError, out, errs)
			}
			checkOneLine(t, c.name, out, errs, code)
			want := strings.ReplaceAll(c.want, "ROOT", regexp.QuoteMeta(root))
			if !regexp.MustCompile(want).MatchString(strings.TrimSuffix(errs, "\n")) {
				t.Errorf("stderr %q does not match %s", errs, want)
			}
		})
	}
}
