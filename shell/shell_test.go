package shell

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe to read while the shell writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runScript runs the shell on input (not a terminal) and returns what it
// printed to Out and Err.
func runScript(t *testing.T, cfg ShellConfig, input string) (stdout, stderr string) {
	t.Helper()
	var out, errw syncBuffer
	if cfg.Engine == nil {
		cfg.Engine = openFixture(t)
	}
	cfg.In, cfg.Out, cfg.Err = strings.NewReader(input), &out, &errw
	if cfg.ConfigDir == "" {
		cfg.ConfigDir = "-"
	}
	if cfg.Interrupts == nil {
		cfg.Interrupts = make(chan os.Signal)
	}
	if err := RunShell(context.Background(), cfg); err != nil {
		t.Fatalf("RunShell: %v", err)
	}
	return out.String(), errw.String()
}

func TestShellScript(t *testing.T) {
	dir := t.TempDir()
	once := filepath.Join(dir, "once.csv")
	output := filepath.Join(dir, "output.txt")
	readme := filepath.Join(dir, "script.sql")
	os.WriteFile(readme, []byte("-- a script\nSELECT 'from file' AS f;\nSELEC broken;\n.mode line\nSELECT 7 AS seven;\n"), 0o600)

	out, errs := runScript(t, ShellConfig{}, strings.Join([]string{
		".tables",
		".schema socket_owners",
		"SELECT proto, count(*) AS n",
		"  FROM sockets GROUP BY 1 ORDER BY 1;",
		"SELEC 1;",
		".nope",
		".mode csv",
		".headers off",
		"SELECT 'csv', 1;",
		".headers on",
		".mode table",
		".param set port 8080",
		".param set label 'two words'",
		".param list",
		"SELECT count(*) AS c, :label AS l FROM sockets WHERE local_port = :port;",
		"SELECT :missing;",
		".param clear",
		".param list",
		".once " + once,
		".mode csv",
		"SELECT 'once only' AS x;",
		"SELECT 'back on screen' AS y;",
		".mode table",
		".output " + output,
		"SELECT 'to file' AS z;",
		".output",
		"SELECT NULL AS n;",
		".read " + readme,
		".netstat -tan",
		".quit",
		"SELECT 'after quit';",
	}, "\n"))

	for _, want := range []string{
		"sockets ", "socket_owners ", "processes ", // .tables
		"CREATE TABLE socket_owners(", "-- socket inode (join to sockets.inode)", // .schema
		"tcp    5\n", "unix   7\n", // the multi-line statement
		"csv,1\n",
		":label = 'two words'\n:port = 8080\n",
		"c  l\n-  ---------\n2  two words\n",
		"back on screen",
		"n\n----\nNULL\n",
		"f\n---------\nfrom file\n", "seven = 7\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, not := range []string{"once only", "to file", "after quit", "\x1b["} {
		if strings.Contains(out, not) {
			t.Errorf("output should not contain %q:\n%s", not, out)
		}
	}
	for _, want := range []string{
		"Error: near \"SELEC\": syntax error\n",
		"Error: unknown command .nope (.help lists them)\n",
		"Error: missing parameter :missing (set it with .param set missing VALUE)\n",
		"Error: " + readme + ":3: near \"SELEC\": syntax error\n",
		"Error: .netstat is not available in this build\n",
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("errors lack %q:\n%s", want, errs)
		}
	}
	if n := strings.Count(errs, "\n"); n != 5 {
		t.Errorf("want 5 one-line errors, got %d:\n%s", n, errs)
	}
	if b, _ := os.ReadFile(once); string(b) != "x\nonce only\n" {
		t.Errorf(".once file holds %q", b)
	}
	if b, _ := os.ReadFile(output); !strings.Contains(string(b), "to file") {
		t.Errorf(".output file holds %q", b)
	}
}

func TestShellInitAndUserQueries(t *testing.T) {
	cfgDir := t.TempDir()
	os.MkdirAll(filepath.Join(cfgDir, "queries"), 0o700)
	os.WriteFile(filepath.Join(cfgDir, "init.sql"), []byte(".mode csv\nCREATE TEMP VIEW listeners AS SELECT proto, local_port FROM sockets WHERE state = 'LISTEN';\n"), 0o600)
	os.WriteFile(filepath.Join(cfgDir, "queries", "tcp6.sql"), []byte("-- name: tcp6-count\n-- description: how many tcp6 sockets\nSELECT count(*) AS tcp6 FROM sockets WHERE proto = 'tcp6';\n"), 0o600)
	os.WriteFile(filepath.Join(cfgDir, "queries", "plain.sql"), []byte("SELECT 'plain' AS p;\n"), 0o600)
	os.WriteFile(filepath.Join(cfgDir, "queries", "port.sql"), []byte("-- Sockets on one local port\n-- param: port=8080 the port\nSELECT count(*) AS on_port FROM sockets WHERE local_port = :port;\n"), 0o600)

	var got []string
	netstat := func(_ context.Context, args []string, out io.Writer) error {
		got = append(got, strings.Join(args, " "))
		_, err := io.WriteString(out, "Active Internet connections\n")
		return err
	}
	out, errs := runScript(t, ShellConfig{ConfigDir: cfgDir, Queries: testQueries, Netstat: netstat},
		".queries\n.run tcp6-count\n.run plain\n.run listening\n.run nope\n.run port\n.run port port=2024\n.param set port 5432\n.run port\nSELECT count(*) AS n FROM listeners;\n.tables listen%\n.netstat -t -a -n\n")
	for _, want := range []string{
		"listening   sockets waiting for connections\n",
		"tcp6-count  how many tcp6 sockets (" + filepath.Join(cfgDir, "queries", "tcp6.sql") + ")\n",
		"plain ", // named after its file
		"tcp6\n4\n", "p\nplain\n",
		"proto,local_port\ntcp,2024\n", // init.sql chose csv
		"n\n5\n",                       // and made the view
		"listeners  (your view)\n",
		"port        Sockets on one local port (",
		"on_port\n2\non_port\n1\non_port\n1\n", // the default, .run port=2024, .param set port
		"Active Internet connections\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if want := "Error: no canned query named \"nope\" (.queries lists them)\n"; errs != want {
		t.Errorf("errors = %q, want %q", errs, want)
	}
	if len(got) != 1 || got[0] != "-t -a -n" {
		t.Errorf("netstat got args %q", got)
	}
}

// interruptWhen sends Ctrl-C once the output shows want.
func interruptWhen(t *testing.T, out *syncBuffer, want string, count int) chan os.Signal {
	ch := make(chan os.Signal)
	go func() {
		deadline := time.Now().Add(10 * time.Second)
		for strings.Count(out.String(), want) < count {
			if time.Now().After(deadline) {
				t.Errorf("output never showed %q %d times:\n%s", want, count, out.String())
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		ch <- os.Interrupt
	}()
	return ch
}

func TestShellWatchInterrupt(t *testing.T) {
	var out, errw syncBuffer
	cfg := ShellConfig{Engine: openFixture(t), In: strings.NewReader(".watch 0.1 SELECT count(*) AS total FROM sockets\nSELECT 'next' AS after;\n"),
		Out: &out, Err: &errw, ConfigDir: "-"}
	cfg.Interrupts = interruptWhen(t, &out, "Every 0.1s", 3)
	if err := RunShell(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if !strings.Contains(got, "total\n-----\n   21\n") || !strings.Contains(got, "after\n-----\nnext\n") {
		t.Errorf("output:\n%s", got)
	}
	if strings.Contains(got, clearScreen) {
		t.Errorf(".watch cleared a screen that is not a terminal")
	}
	if errw.String() != "" {
		t.Errorf("Ctrl-C ends .watch without an error; got %q", errw.String())
	}
}

func TestShellInterruptStatement(t *testing.T) {
	var out, errw syncBuffer
	// The endless statement streams rows only through a buffered table:
	// the interrupt must leave no part of it on the screen.
	endless := "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x AS partial FROM c;\n"
	in := &gatedInput{first: endless, rest: "SELECT 'alive' AS a;\n", asked: make(chan struct{}), resume: make(chan struct{})}
	cfg := ShellConfig{Engine: openFixture(t), In: in, Out: &out, Err: &errw, ConfigDir: "-"}
	ch := make(chan os.Signal)
	cfg.Interrupts = ch
	// Ctrl-C cancels the statement that is running; one that comes before
	// the statement begins is dropped, as at a prompt, and a busy machine
	// may take longer than any fixed sleep to begin it. So Ctrl-C is sent
	// again until the shell, done with the endless statement, asks for its
	// next line, which it gets only then.
	go func() {
		defer close(in.resume)
		for {
			select {
			case <-in.asked:
				return
			case <-time.After(100 * time.Millisecond):
			}
			select {
			case ch <- os.Interrupt:
			case <-in.asked:
				return
			}
		}
	}()
	if err := RunShell(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "a\n-----\nalive\n" {
		t.Errorf("output = %q, want only the statement after the interrupted one", got)
	}
	if errw.String() != "Error: interrupted\n" {
		t.Errorf("errors = %q", errw.String())
	}
}

// gatedInput is a shell's input: first, then rest once the shell has
// asked for more (closing asked) and resume is closed.
type gatedInput struct {
	first, rest   string
	reads         int
	asked, resume chan struct{}
}

func (g *gatedInput) Read(p []byte) (int, error) {
	g.reads++
	switch g.reads {
	case 1:
		return copy(p, g.first), nil
	case 2:
		close(g.asked)
		<-g.resume
		return copy(p, g.rest), nil
	}
	return 0, io.EOF
}

func TestShellStatementTimeout(t *testing.T) {
	_, errs := runScript(t, ShellConfig{Timeout: 100 * time.Millisecond},
		"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c;\n")
	if errs != "Error: statement cancelled after 100ms\n" {
		t.Errorf("errors = %q", errs)
	}
}

// TestTimerStaysOnTerminal: with .once or .output, the result goes to the
// file and the "Run Time" line to the terminal, not into the file.
func TestTimerStaysOnTerminal(t *testing.T) {
	dir := t.TempDir()
	once, output := filepath.Join(dir, "once.txt"), filepath.Join(dir, "output.txt")
	out, errs := runScript(t, ShellConfig{}, ".timer on\n.headers off\n.mode csv\n.once "+once+"\nSELECT 'to once';\n.output "+output+"\nSELECT 'to output';\n.output\nSELECT 'here';\n")
	if errs != "" {
		t.Fatalf("errors: %s", errs)
	}
	for file, want := range map[string]string{once: "to once\n", output: "to output\n"} {
		if b, err := os.ReadFile(file); err != nil || string(b) != want {
			t.Errorf("%s = %q (%v), want %q", file, b, err, want)
		}
	}
	if n := strings.Count(out, "Run Time: "); n != 3 || !strings.Contains(out, "here\nRun Time: ") {
		t.Errorf("terminal got %d Run Time lines:\n%s", n, out)
	}
}

// TestPipedUnfinishedStatementRuns: piped input that ends inside a
// statement runs it, as sqlite3 does, instead of dropping it.
func TestPipedUnfinishedStatementRuns(t *testing.T) {
	out, errs := runScript(t, ShellConfig{}, ".mode csv\nSELECT 1 AS one;\nSELECT 'last' AS l")
	if out != "one\n1\nl\nlast\n" || errs != "" {
		t.Fatalf("out %q, errors %q", out, errs)
	}
	_, errs = runScript(t, ShellConfig{}, "SELECT 'open")
	if !strings.Contains(errs, "unrecognized token") {
		t.Fatalf("an unterminated quote at the end must be reported, got %q", errs)
	}
}

// TestRunScript: -f FILE and piped scripts run dot-commands as sqlite3
// does; the first error stops the script, named by its line.
func TestRunScript(t *testing.T) {
	var out bytes.Buffer
	script := "-- a report\n.headers off\n.mode csv\nSELECT 'a' AS x;\n.sch sock%\n.mode list\nSELECT 1,\n  2;\nSELEC 3;\nSELECT 'not reached';\n"
	_, err := RunScript(context.Background(), ShellConfig{Engine: openFixture(t), Out: &out, Err: io.Discard, ConfigDir: "-"}, "report.sql", script)
	if err == nil || err.Error() != `report.sql:9: near "SELEC": syntax error` {
		t.Fatalf("error = %v", err)
	}
	got := out.String()
	if !strings.HasPrefix(got, "a\n-- ") || !strings.Contains(got, "CREATE TABLE sockets(") || !strings.HasSuffix(got, ");\n1|2\n") {
		t.Fatalf("output:\n%s", got)
	}
	out.Reset()
	last, err := RunScript(context.Background(), ShellConfig{Engine: openFixture(t), Out: &out, Err: io.Discard, ConfigDir: "-"}, "ok.sql", ".mode csv\nSELECT 1 UNION SELECT 2;\n")
	if err != nil || last.Rows != 2 || out.String() != "1\n1\n2\n" {
		t.Errorf("last result = %+v, %v, output %q", last, err, out.String())
	}
	out.Reset()
	if _, err := RunScript(context.Background(), ShellConfig{Engine: openFixture(t), Out: &out, Err: io.Discard, ConfigDir: "-"}, "", ".nope\nSELECT 1;"); err == nil || err.Error() != "line 1: unknown command .nope (.help lists them)" || out.Len() != 0 {
		t.Fatalf("error = %v, output %q", err, out.String())
	}
	if !HasDotCommands("SELECT 1;\n.mode csv\n") || HasDotCommands("SELECT '\n.mode csv';\n") || HasDotCommands("SELECT 1\n  .5;") {
		t.Error("HasDotCommands must see dot-commands only outside statements")
	}
}

// TestErrorsAreTerminalSafe: an error quoting hostile text cannot drive
// the terminal either.
func TestErrorsAreTerminalSafe(t *testing.T) {
	_, errs := runScript(t, ShellConfig{}, "SELECT * FROM \"x\x1b[2J\";\n")
	if strings.Contains(errs, "\x1b") || !strings.Contains(errs, `no such table: x\x1b[2J`) {
		t.Fatalf("errors = %q", errs)
	}
}
