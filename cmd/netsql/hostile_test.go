package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// mkfifo makes a FIFO at path (in a test's temp dir).
func mkfifo(t *testing.T, path string) string {
	t.Helper()
	if err := unix.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// mkdev makes a character device node (major, minor) at path, or skips
// the test without the privilege to make one.
func mkdev(t *testing.T, path string, major, minor uint32) string {
	t.Helper()
	if err := unix.Mknod(path, unix.S_IFCHR|0o666, int(unix.Mkdev(major, minor))); err != nil {
		t.Skipf("making a device node needs CAP_MKNOD (running as uid %d): %v", os.Geteuid(), err)
	}
	return path
}

// runGuarded runs netsql in-process and fails the test (instead of hanging
// it) when the run does not return: the bug under test is a hang.
func runGuarded(t *testing.T, stdin io.Reader, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	type result struct {
		out, errs string
		code      int
	}
	done := make(chan result, 1)
	go func() {
		var out, errb bytes.Buffer
		code := run(context.Background(), args, stdin, &out, &errb)
		done <- result{out.String(), errb.String(), code}
	}()
	select {
	case r := <-done:
		return r.out, r.errs, r.code
	case <-time.After(time.Minute):
		t.Fatalf("netsql %s did not return in a minute: it blocks", strings.Join(args, " "))
	}
	return "", "", 0
}

// TestHostileFilesDoNotHang gives netsql a FIFO (which blocks a plain open
// or read forever), a device that never ends and a file past the cap
// wherever it reads a file: -f, the queries directory, a --proc tree. Each
// is one line naming the file, exit 1, at once.
func TestHostileFilesDoNotHang(t *testing.T) {
	type tc struct {
		name  string
		setup func(t *testing.T) (args []string, path string)
		want  string
	}
	cases := []tc{
		{"-f FIFO", func(t *testing.T) ([]string, string) {
			p := mkfifo(t, filepath.Join(t.TempDir(), "script.sql"))
			return []string{"-f", p}, p
		}, "not a regular file (a FIFO or pipe); pipe SQL to standard input instead"},
		{"-f symlink to FIFO", func(t *testing.T) ([]string, string) {
			dir := t.TempDir()
			p := mkfifo(t, filepath.Join(dir, "fifo"))
			link := filepath.Join(dir, "script.sql")
			os.Symlink(p, link)
			return []string{"-f", link}, link
		}, "not a regular file"},
		{"-f endless device", func(t *testing.T) ([]string, string) {
			p := mkdev(t, filepath.Join(t.TempDir(), "zero"), 1, 5)
			return []string{"-f", p}, p
		}, "not a regular file (a character device)"},
		{"-f past the cap", func(t *testing.T) ([]string, string) {
			p := filepath.Join(t.TempDir(), "huge.sql")
			f, err := os.Create(p)
			if err != nil {
				t.Fatal(err)
			}
			f.Truncate(16<<20 + 1) // sparse: costs no disk
			f.Close()
			return []string{"-f", p}, p
		}, "file too large: more than 16 MiB"},
	}
	for _, f := range []struct{ file, table string }{
		{"net/tcp", "sockets"},
		{"net/unix", "sockets"},
		{"net/snmp", "protocol_stats"},
		{"net/dev", "interfaces"},
	} {
		cases = append(cases, tc{"FIFO as --proc " + f.file, func(t *testing.T) ([]string, string) {
			root := filepath.Join(t.TempDir(), "proc")
			copyTree(t, netstatFixture, root)
			p := filepath.Join(root, f.file)
			os.Remove(p)
			mkfifo(t, p)
			return []string{"--proc", root, "SELECT count(*) FROM " + f.table}, p
		}, "not a regular file"})
	}
	cases = append(cases, tc{"FIFO as --proc PID/cmdline", func(t *testing.T) ([]string, string) {
		root := filepath.Join(t.TempDir(), "proc")
		copyTree(t, netstatFixture, root)
		pids, _ := filepath.Glob(filepath.Join(root, "[0-9]*", "cmdline"))
		if len(pids) == 0 {
			t.Fatal("the fixture has no PID/cmdline")
		}
		os.Remove(pids[0])
		mkfifo(t, pids[0])
		return []string{"--proc", root, "SELECT count(*) FROM processes"}, "cmdline"
	}, "not a regular file"})

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args, path := c.setup(t)
			out, errs, code := runGuarded(t, strings.NewReader(""), args...)
			if code != exitError {
				t.Fatalf("exit %d, want %d; stdout %q stderr %q", code, exitError, out, errs)
			}
			checkOneLine(t, c.name, out, errs, code)
			if !strings.Contains(errs, path) || !strings.Contains(errs, c.want) {
				t.Errorf("stderr %q does not name %s and say %q", errs, path, c.want)
			}
		})
	}
}

// TestFIFOInQueriesDirIsSkipped: a FIFO among the user's queries neither
// hangs netsql nor stops the rest: it is reported once, by name, and
// skipped (issue 12: one bad file must not stop monitoring).
func TestFIFOInQueriesDirIsSkipped(t *testing.T) {
	dir := t.TempDir()
	p := mkfifo(t, filepath.Join(dir, "stuck.sql"))
	out, errs, code := runGuarded(t, strings.NewReader(""), "--queries", dir, "-q")
	if code != exitOK {
		t.Fatalf("exit %d, want %d; stdout %q stderr %q", code, exitOK, out, errs)
	}
	if !strings.Contains(out, "sockets-by-state") {
		t.Errorf("the listing lacks the built-in queries: %q", out)
	}
	if strings.Count(errs, "\n") != 1 || !strings.Contains(errs, p) || !strings.Contains(errs, "skipped") || !strings.Contains(errs, "not a regular file") {
		t.Errorf("stderr %q: want one line naming %s as skipped, not a regular file", errs, p)
	}
}

// TestStdinCapped: standard input past the cap is an error, not a heap
// that grows until the machine swaps.
func TestStdinCapped(t *testing.T) {
	out, errs, code := runGuarded(t, io.LimitReader(zeros{}, 16<<20+1))
	if code != exitError || !strings.Contains(errs, "standard input: file too large: more than 16 MiB") {
		t.Fatalf("exit %d, stdout %q stderr %q", code, out, errs)
	}
	checkOneLine(t, "stdin past the cap", out, errs, code)
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestExportRefusesSpecialFiles: export --textfile over a FIFO, a device
// node (as /dev/null is) or a link to one refuses with one line and exit
// 1 and leaves the target as it was; over a link to a regular file it
// replaces that file and keeps the link.
func TestExportRefusesSpecialFiles(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, dir string) string
	}{
		{"FIFO", func(t *testing.T, dir string) string { return mkfifo(t, filepath.Join(dir, "x.prom")) }},
		{"null device", func(t *testing.T, dir string) string { return mkdev(t, filepath.Join(dir, "null"), 1, 3) }},
		{"symlink to a FIFO", func(t *testing.T, dir string) string {
			mkfifo(t, filepath.Join(dir, "fifo"))
			os.Symlink("fifo", filepath.Join(dir, "x.prom"))
			return filepath.Join(dir, "x.prom")
		}},
		{"symlink to a device", func(t *testing.T, dir string) string {
			mkdev(t, filepath.Join(dir, "null"), 1, 3)
			os.Symlink(filepath.Join(dir, "null"), filepath.Join(dir, "x.prom"))
			return filepath.Join(dir, "x.prom")
		}},
		{"dangling symlink", func(t *testing.T, dir string) string {
			os.Symlink(filepath.Join(dir, "nowhere", "x"), filepath.Join(dir, "x.prom"))
			return filepath.Join(dir, "x.prom")
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			target := c.setup(t, dir)
			before := dirState(t, dir)
			out, errs, code := runGuarded(t, strings.NewReader(""), "export", "--textfile", target, "-q", "metric-tcp")
			if code != exitError {
				t.Fatalf("exit %d, want 1; stderr %q", code, errs)
			}
			oneLineError(t, c.name, out, errs)
			if !strings.Contains(errs, target) {
				t.Errorf("the error does not name %s: %q", target, errs)
			}
			if after := dirState(t, dir); after != before {
				t.Errorf("the directory changed:\nbefore %s\nafter  %s", before, after)
			}
		})
	}

	t.Run("symlink to a regular file", func(t *testing.T) {
		dir := t.TempDir()
		real := filepath.Join(dir, "real.prom")
		os.WriteFile(real, []byte("# old\n"), 0o644)
		link := filepath.Join(dir, "x.prom")
		os.Symlink("real.prom", link)
		if _, errs, code := runGuarded(t, strings.NewReader(""), "export", "--textfile", link, "-q", "metric-tcp"); code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("the link was replaced: %v %v", fi, err)
		}
		if b, _ := os.ReadFile(real); !bytes.Contains(b, []byte("netsql_tcp_")) {
			t.Errorf("the link's file was not written: %q", b)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 2 {
			t.Errorf("export left files behind: %v", ents)
		}
	})
}

// dirState describes every entry of dir: name, type and, for regular
// files, content.
func dirState(t *testing.T, dir string) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range ents {
		fi, err := os.Lstat(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(e.Name() + ":" + fi.Mode().String())
		if fi.Mode().IsRegular() {
			c, _ := os.ReadFile(filepath.Join(dir, e.Name()))
			b.WriteString(":" + strconv.Quote(string(c)))
		}
		b.WriteString(" ")
	}
	return b.String()
}

// waitUntil polls cond about process pid until it holds, failing the
// test after a minute. The processes' signal handlers are installed first
// thing in main, so once pid is doing what cond sees, a signal is handled,
// not fatal. (A Go program catches every signal from its start, so
// SigCgt in /proc/PID/status cannot tell.)
func waitUntil(t *testing.T, pid int, what string, cond func(pid int) bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("pid %d never got to %s", pid, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// readingStdin reports whether a thread of pid is blocked in read(0, ...).
func readingStdin(pid int) bool {
	tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/syscall")
	for _, f := range tasks {
		if b, err := os.ReadFile(f); err == nil && strings.HasPrefix(string(b), "0 0x0 ") {
			return true
		}
	}
	return false
}

// busy reports whether pid has used half a second of CPU: a netsql that
// has got that far runs its query.
func busy(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	utime, _ := strconv.Atoi(f[11])
	stime, _ := strconv.Atoi(f[12])
	return utime+stime >= 50
}

// startBinary starts bin with args and stdin; wait returns its exit code
// and stderr, failing the test when it does not exit within a minute.
func startBinary(t *testing.T, bin string, stdin io.Reader, args ...string) (cmd *exec.Cmd, wait func() (int, string)) {
	t.Helper()
	cmd = exec.Command(bin, args...)
	cmd.Stdin = stdin
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/nonexistent", "NO_COLOR=1"}
	var errb lockedBuffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-done })
	return cmd, func() (int, string) {
		select {
		case <-done:
		case <-time.After(time.Minute):
			t.Fatalf("netsql %s did not exit within a minute of the signal; stderr %q", strings.Join(args, " "), errb.String())
		}
		return cmd.ProcessState.ExitCode(), errb.String()
	}
}

// TestSignalStopsBlockedStdin: netsql waiting for SQL on a pipe whose
// writer never finishes stops on SIGINT with one line and exit 1.
func TestSignalStopsBlockedStdin(t *testing.T) {
	bin := netsqlBinary(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	cmd, wait := startBinary(t, bin, r)
	r.Close()
	waitUntil(t, cmd.Process.Pid, "reading standard input", readingStdin)
	cmd.Process.Signal(syscall.SIGINT)
	code, errs := wait()
	if code != exitError || errs != "netsql: read standard input: interrupted\n" {
		t.Errorf("exit %d stderr %q", code, errs)
	}
}

// TestSecondSignalExitsAtOnce: the first signal only cancels (whatever
// runs may still be finishing); a second exits with 128 + its number.
// Ctrl-C in the shell never counts.
func TestSecondSignalExitsAtOnce(t *testing.T) {
	for _, c := range []struct {
		sig  os.Signal
		code int
	}{{os.Interrupt, 130}, {syscall.SIGTERM, 143}} {
		cancelled := false
		exited := -1
		var errb bytes.Buffer
		h := &signalHandler{cancel: func(error) { cancelled = true }, exit: func(c int) { exited = c }, stderr: &errb}
		h.handle(c.sig)
		if !cancelled || exited != -1 {
			t.Fatalf("%v once: cancelled %v, exit %d", c.sig, cancelled, exited)
		}
		h.handle(c.sig)
		if exited != c.code || errb.String() != "netsql: "+c.sig.String()+" again: exiting at once\n" {
			t.Errorf("%v twice: exit %d, stderr %q", c.sig, exited, errb.String())
		}
	}
	cancelled, exited := false, -1
	h := &signalHandler{cancel: func(error) { cancelled = true }, exit: func(c int) { exited = c }, stderr: io.Discard}
	h.leaveSIGINTToShell()
	h.handle(os.Interrupt)
	h.handle(os.Interrupt)
	if cancelled || exited != -1 {
		t.Errorf("Ctrl-C in the shell: cancelled %v, exit %d", cancelled, exited)
	}
}

// TestExportInterruptedKeepsPreviousFile: SIGTERM while export runs (its
// query would run forever) exits 1 and leaves the previous textfile as it
// was, not one where the interrupted query reads success 0.
func TestExportInterruptedKeepsPreviousFile(t *testing.T) {
	bin := netsqlBinary(t)
	qdir := t.TempDir()
	os.WriteFile(filepath.Join(qdir, "metric-forever.sql"), []byte(`-- description: never ends
-- metric: netsql_test_forever
-- type: gauge
-- help: never ends.
-- value: v
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) AS v FROM c;
`), 0o644)
	dir := t.TempDir()
	file := filepath.Join(dir, "netsql.prom")
	const previous = "# a good export\nnetsql_test_forever 1\n"
	os.WriteFile(file, []byte(previous), 0o644)
	cmd, wait := startBinary(t, bin, nil, "export", "--queries", qdir, "--textfile", file, "--timeout", "0", "-q", "metric-forever")
	waitUntil(t, cmd.Process.Pid, "running its query", busy)
	cmd.Process.Signal(syscall.SIGTERM)
	code, errs := wait()
	if code != exitError || !strings.Contains(errs, "interrupted; "+file+" left as it was") {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
	if b, _ := os.ReadFile(file); string(b) != previous {
		t.Errorf("the previous textfile was replaced by:\n%s", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("export left files behind: %v", ents)
	}
}

// holderEnv makes the test binary a helper process instead: it listens on
// a loopback port, prints the port and waits for its stdin to close.
const holderEnv = "NETSQL_TEST_HOLD_LISTENER"

func TestMain(m *testing.M) {
	if os.Getenv(holderEnv) == "1" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			os.Exit(1)
		}
		fmt.Println(ln.Addr().(*net.TCPAddr).Port)
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "netsql-cmd-test.")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// holdListener starts a process whose argv[0] is name holding a loopback
// listener, and returns its port; it ends with the test.
func holdListener(t *testing.T, name string) int {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := &exec.Cmd{Path: self, Args: []string{name}, Env: append(os.Environ(), holderEnv+"=1")}
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close(); cmd.Wait() })
	var port int
	if _, err := fmt.Fscan(out, &port); err != nil {
		t.Fatalf("helper %q: %v", name, err)
	}
	return port
}

// TestProgramLabelsStayDistinct: two processes whose argv[0] are the
// invalid UTF-8 bytes \xff and \xfe (any user can start them) each keep
// their own netsql_program_sockets series; they used to share one label
// value, which failed the whole metric query and hid every series.
func TestProgramLabelsStayDistinct(t *testing.T) {
	holdListener(t, "\xff")
	holdListener(t, "\xfe")
	holdListener(t, `\xff`) // the four characters: must not merge with the byte
	file := filepath.Join(t.TempDir(), "netsql.prom")
	_, errs, code := runCLI(t, "", "export", "--textfile", file, "-q", "metric-sockets-by-program")
	if code != 0 {
		t.Fatalf("export: exit %d: %s", code, errs)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	mfs := parseMetrics(t, string(b))
	for _, program := range []string{`\xff`, `\xfe`, `\\xff`} {
		if v, ok := sample(mfs["netsql_program_sockets"], map[string]string{"program": program, "state": "LISTEN"}); !ok || v != 1 {
			t.Errorf("netsql_program_sockets{program=%q,state=LISTEN} = %v, %v\n%s", program, v, ok, b)
		}
	}
}

// TestServeWarnsWhenExposed runs serve --listen on every interface
// (0.0.0.0 and ":P") inside a network namespace of its own, where nothing
// can reach it, and checks the one warning line; on loopback there is
// none (TestServe).
func TestServeWarnsWhenExposed(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("a network namespace of its own (unshare -n) needs root; this test runs as uid", os.Geteuid())
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("unshare (util-linux) is not installed")
	}
	bin := netsqlBinary(t)
	for _, listen := range []string{"0.0.0.0:0", ":0"} {
		cmd, wait := startBinary(t, unshare, nil, "-n", bin, "serve", "--listen", listen)
		stderr := cmd.Stderr.(*lockedBuffer)
		waitUntil(t, cmd.Process.Pid, "serving", func(int) bool { return strings.Contains(stderr.String(), "netsql: serving") })
		cmd.Process.Signal(syscall.SIGTERM)
		code, errs := wait()
		if code != 0 {
			t.Errorf("%s: exit %d: %s", listen, code, errs)
		}
		if n := strings.Count(errs, "warning: listening on"); n != 1 || !strings.Contains(errs, "not only on loopback") {
			t.Errorf("%s: want one warning, stderr %q", listen, errs)
		}
	}
}

// TestServeSurvivesFIFOInProcTree: a FIFO where --proc has net/tcp used
// to block the first scrape for ever and fail every later one; now the
// queries reading it fail (success 0, the reason logged once) and the
// others answer, scrape after scrape.
func TestServeSurvivesFIFOInProcTree(t *testing.T) {
	root := filepath.Join(t.TempDir(), "proc")
	copyTree(t, netstatFixture, root)
	fifo := filepath.Join(root, "net", "tcp")
	os.Remove(fifo)
	mkfifo(t, fifo)
	addr, stderr, stop := startServe(t, "--proc", root, "-q", "metric-sockets,metric-tcp", "--scrape-timeout", "5s")
	defer stop()
	client := &http.Client{Timeout: 30 * time.Second}
	for i := 0; i < 3; i++ {
		resp, err := client.Get("http://" + addr + "/metrics")
		if err != nil {
			t.Fatalf("scrape %d: %v", i+1, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		mfs := parseMetrics(t, string(b))
		for q, want := range map[string]float64{"metric-sockets": 0, "metric-tcp": 1} {
			if v, ok := sample(mfs["netsql_query_success"], map[string]string{"query": q}); !ok || v != want {
				t.Errorf("scrape %d: %s success %v %v, want %v", i+1, q, v, ok, want)
			}
		}
	}
	if n := strings.Count(stderr.String(), fifo+": not a regular file"); n != 1 {
		t.Errorf("want the FIFO named once in the log:\n%s", stderr)
	}
}
