package main

import (
	"bufio"
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// buildTools builds netsql, netsql-load and netsql-bench once per test.
func buildTools(t *testing.T) (bench, netsql, load string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds three binaries and holds loopback sockets")
	}
	dir := t.TempDir()
	for _, p := range []string{"netsql-bench", "netsql", "netsql-load"} {
		if out, err := exec.Command("go", "build", "-o", filepath.Join(dir, p), "../"+p).CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", p, err, out)
		}
	}
	return filepath.Join(dir, "netsql-bench"), filepath.Join(dir, "netsql"), filepath.Join(dir, "netsql-load")
}

var readyRE = regexp.MustCompile(`ready: (\d+) tcp sockets .*; pids ([\d ]+);`)

// pidsOf returns the worker pids of netsql-load's ready line in text.
func pidsOf(t *testing.T, text string) []int {
	t.Helper()
	m := readyRE.FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no ready line in:\n%s", text)
	}
	var pids []int
	for _, f := range strings.Fields(m[2]) {
		p, _ := strconv.Atoi(f)
		pids = append(pids, p)
	}
	return pids
}

// checkGone fails unless every pid has exited (no netsql-load left behind).
func checkGone(t *testing.T, pids []int) {
	t.Helper()
	for _, p := range pids {
		if alive(p) {
			t.Errorf("netsql-load worker %d is still running after netsql-bench ended", p)
			syscall.Kill(p, syscall.SIGKILL)
		}
	}
}

// TestTinyTable runs the benchmark at a tiny scale, with the long-running
// measurements on, and checks the tables' shape: one line per work of the
// issue's table, each with a time and an RSS for netsql and, where there is
// a reference, for it (or "not installed") and the ratios. The load
// generator's workers must be gone when it returns.
func TestTinyTable(t *testing.T) {
	bench, netsql, load := buildTools(t)
	cmd := exec.Command(bench, "-netsql", netsql, "-load", load, "-conns", "40", "-close-wait", "4", "-procs", "2", "-runs", "2",
		"-long", "-scrapes", "6", "-serve-warmup", "1ms", "-record-for", "2s", "-record-warmup", "1s", "-record-every", "100ms", "-sample-every", "10ms")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("netsql-bench: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	out := stdout.String()
	t.Log("\n" + out)
	pids := pidsOf(t, stderr.String())
	if len(pids) != 2 {
		t.Errorf("%d worker pids, want 2", len(pids))
	}
	checkGone(t, pids)
	if !strings.HasPrefix(out, "82 tcp sockets (72 ESTABLISHED, 4 CLOSE_WAIT, 4 FIN_WAIT2, 2 LISTEN) in 2 processes;") {
		t.Errorf("first line does not describe the load:\n%s", out)
	}
	// The host's count includes the load's 82 sockets.
	if m := regexp.MustCompile(`netsql counts (\d+) TCP`).FindStringSubmatch(out); m == nil {
		t.Errorf("no socket count in:\n%s", out)
	} else if n, _ := strconv.Atoi(m[1]); n < 82 {
		t.Errorf("netsql counted %d TCP sockets beside a load of 82", n)
	}

	// The main table, then the long-running one, each of 8 cells a row.
	var tables [][][]string
	in := false
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		l := sc.Text()
		if !strings.HasPrefix(l, "|") {
			in = false
			continue
		}
		if !in {
			tables = append(tables, nil)
			in = true
		}
		cells := strings.Split(strings.Trim(l, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if len(cells) != 8 {
			t.Errorf("row of %d cells: %q", len(cells), l)
		}
		tables[len(tables)-1] = append(tables[len(tables)-1], cells)
	}
	if len(tables) != 2 {
		t.Fatalf("%d tables, want the main one and the long-running one:\n%s", len(tables), out)
	}
	rows, long := tables[0], tables[1]
	if len(rows) != 2+len(table) {
		t.Fatalf("%d lines in the main table, want header, separator and %d", len(rows), len(table))
	}
	tm := regexp.MustCompile(`^\d+\.\d+ s$`)
	mem := regexp.MustCompile(`^\d+(\.\d)? MB$`)
	rat := regexp.MustCompile(`^\d+\.\d\d×$`)
	for i, w := range table {
		r := rows[2+i]
		if r[0] != w.name {
			t.Errorf("line %d is %q, want %q", i, r[0], w.name)
		}
		if !tm.MatchString(r[1]) || !mem.MatchString(r[2]) {
			t.Errorf("%s: netsql time %q, RSS %q", w.name, r[1], r[2])
		}
		switch {
		case w.ref == nil:
			if r[3] != "—" || r[6] != "—" {
				t.Errorf("%s has no reference but shows %q, ratio %q", w.name, r[3], r[6])
			}
		case strings.HasSuffix(r[3], "(not installed)"):
			if _, err := exec.LookPath(w.ref[0]); err == nil {
				t.Errorf("%s: %s is installed but reported missing", w.name, w.ref[0])
			}
		default:
			if r[3] != "`"+strings.Join(w.ref, " ")+"`" || !tm.MatchString(r[4]) || !mem.MatchString(r[5]) || !rat.MatchString(r[6]) || !rat.MatchString(r[7]) {
				t.Errorf("%s: reference cells %q", w.name, r[3:])
			}
		}
	}
	if len(long) != 4 {
		t.Fatalf("%d lines in the long-running table, want 4:\n%s", len(long), out)
	}
	window := regexp.MustCompile(`^\d+(\.\d)? MB \((\d+) samples over .+\)$`)
	for _, r := range long[2:] {
		if n, err := strconv.Atoi(r[1]); err != nil || n < 1 || !window.MatchString(r[2]) || !window.MatchString(r[3]) ||
			!regexp.MustCompile(`^[+-]\d+\.\d%$`).MatchString(r[4]) || !regexp.MustCompile(`^\d+(\.\d)? MB–\d+(\.\d)? MB$`).MatchString(r[5]) ||
			!mem.MatchString(r[6]) || !regexp.MustCompile(`^\d+→\d+→\d+$`).MatchString(r[7]) {
			t.Errorf("long-running line %q", r)
		}
		for _, c := range r[2:4] {
			if n, _ := strconv.Atoi(window.FindStringSubmatch(c)[2]); n < 2 {
				t.Errorf("long-running line %q: %d samples in a window", r, n)
			}
		}
	}
}

// TestInterrupted sends SIGINT (what Ctrl-C sends) once the load is up:
// netsql-bench must stop the load generator and its workers, and exit 130
// with one line saying it was interrupted.
func TestInterrupted(t *testing.T) {
	bench, netsql, load := buildTools(t)
	cmd := exec.Command(bench, "-netsql", netsql, "-load", load, "-conns", "40", "-close-wait", "4", "-procs", "2", "-runs", "100000")
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	sc := bufio.NewScanner(errPipe)
	for sc.Scan() {
		text.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), "run 1/") { // the load is up and measured
			break
		}
	}
	pids := pidsOf(t, text.String())
	for _, p := range pids {
		if !alive(p) {
			t.Fatalf("worker %d not running while the benchmark runs", p)
		}
	}
	cmd.Process.Signal(syscall.SIGINT)
	done := make(chan struct{})
	go func() {
		for sc.Scan() {
			text.WriteString(sc.Text() + "\n")
		}
		close(done)
	}()
	err = cmd.Wait()
	<-done
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Errorf("exit: %v, want status 130\n%s", err, text.String())
	}
	if !strings.Contains(text.String(), "interrupted") {
		t.Errorf("no word of the interruption:\n%s", text.String())
	}
	checkGone(t, pids)
}
