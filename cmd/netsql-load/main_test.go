package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binDir holds the binary built once for all tests.
var binDir string

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "netsql-load-test")
	if err != nil {
		panic(err)
	}
	binDir = d
	code := m.Run()
	os.RemoveAll(d)
	os.Exit(code)
}

var (
	buildOnce sync.Once
	buildErr  error
)

// buildLoad builds the command (once) and returns the binary's path.
func buildLoad(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("ss"); err != nil {
		t.Skip("ss (iproute2) is not installed; it is needed to count sockets independently")
	}
	bin := filepath.Join(binDir, progName)
	buildOnce.Do(func() {
		out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return bin
}

// started is a running generator and what its ready line announced.
type started struct {
	cmd    *exec.Cmd
	stderr *bytes.Buffer
	line   string
	pids   []int
	ports  []string
}

// startLoad runs bin with args and waits for its ready line.
func startLoad(t *testing.T, bin string, args ...string) *started {
	t.Helper()
	readyFile := filepath.Join(t.TempDir(), "ready")
	cmd := exec.Command(bin, append(args, "-ready-file", readyFile)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &started{cmd: cmd, stderr: new(bytes.Buffer)}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	lines := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- strings.TrimSpace(l)
	}()
	select {
	case s.line = <-lines:
	case <-time.After(60 * time.Second):
		t.Fatalf("no ready line within 60s; stderr: %s", s.stderr)
	}
	if !strings.HasPrefix(s.line, "ready: ") {
		t.Fatalf("unexpected first line %q; stderr: %s", s.line, s.stderr)
	}
	if b, err := os.ReadFile(readyFile); err != nil || strings.TrimSpace(string(b)) != s.line {
		t.Errorf("ready file = %q, %v; want %q", b, err, s.line)
	}
	_, pids, _ := strings.Cut(s.line, "; pids ")
	pids, ports, _ := strings.Cut(pids, "; ports ")
	for _, f := range strings.Fields(pids) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("bad pid %q in %q", f, s.line)
		}
		s.pids = append(s.pids, pid)
	}
	s.ports = strings.Fields(ports)
	return s
}

// countSS counts sockets in state with a listener's address (127.0.0.1
// and one of ports) at either end. Not by port alone: other addresses
// ([::1], 127.0.0.2) may use the same port numbers at the same time.
func countSS(t *testing.T, state string, ports []string) int {
	t.Helper()
	args := []string{"-Htan", "state", state, "("}
	for i, p := range ports {
		if i > 0 {
			args = append(args, "or")
		}
		args = append(args, "src", "127.0.0.1:"+p, "or", "dst", "127.0.0.1:"+p)
	}
	args = append(args, ")")
	out, err := exec.Command("ss", args...).Output()
	if err != nil {
		t.Fatalf("ss %v: %v", args, err)
	}
	n := 0
	for _, l := range strings.Split(string(out), "\n") {
		if strings.TrimSpace(l) != "" {
			n++
		}
	}
	return n
}

// alive reports whether pid exists and is not a zombie (an orphaned zombie
// may linger if this container's init does not reap).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	_, rest, _ := bytes.Cut(b, []byte(") "))
	return len(rest) > 0 && rest[0] != 'Z'
}

func TestLoadStates(t *testing.T) {
	bin := buildLoad(t)
	const conns, closeWait, procs = 200, 20, 2
	s := startLoad(t, bin, "-conns", strconv.Itoa(conns), "-close-wait", strconv.Itoa(closeWait), "-procs", strconv.Itoa(procs))
	t.Log(s.line)

	if len(s.pids) != procs || len(s.ports) != procs {
		t.Fatalf("want %d pids and %d ports in %q", procs, procs, s.line)
	}
	wantLine := "ready: 402 tcp sockets (360 ESTABLISHED, 20 CLOSE_WAIT, 20 FIN_WAIT2, 2 LISTEN) in 2 processes"
	if !strings.HasPrefix(s.line, wantLine+";") {
		t.Errorf("ready line %q does not start with %q", s.line, wantLine)
	}
	for _, pid := range s.pids {
		cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
		if argv0, _, _ := bytes.Cut(cmdline, []byte{0}); string(argv0) != progName {
			t.Errorf("pid %d argv[0] = %q, want %q", pid, argv0, progName)
		}
		comm, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
		if strings.TrimSpace(string(comm)) != progName {
			t.Errorf("pid %d comm = %q, want %q", pid, comm, progName)
		}
	}

	for _, c := range []struct {
		state string
		want  int
	}{
		{"established", 2 * (conns - closeWait)},
		{"close-wait", closeWait},
		{"fin-wait-2", closeWait},
		{"listening", procs},
	} {
		if got := countSS(t, c.state, s.ports); got != c.want {
			t.Errorf("ss state %s on ports %v: %d sockets, want %d", c.state, s.ports, got, c.want)
		}
	}

	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Wait(); err != nil {
		t.Errorf("after SIGTERM: %v; stderr: %s", err, s.stderr)
	}
	for _, pid := range s.pids {
		if alive(pid) {
			t.Errorf("worker %d still alive after the parent exited", pid)
		}
	}
	if got := countSS(t, "established", s.ports); got != 0 {
		t.Errorf("%d ESTABLISHED sockets left on %v", got, s.ports)
	}
}

// TestWorkerDeath checks that losing a worker stops everything with an error.
func TestWorkerDeath(t *testing.T) {
	bin := buildLoad(t)
	s := startLoad(t, bin, "-conns", "20", "-close-wait", "2", "-procs", "3")
	if err := syscall.Kill(s.pids[1], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := s.cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("parent exit = %v, want exit status 1", err)
	}
	if msg := s.stderr.String(); !strings.Contains(msg, "worker 1") || strings.Count(strings.TrimSpace(msg), "\n") != 0 {
		t.Errorf("stderr = %q, want one line naming worker 1", msg)
	}
	for _, pid := range s.pids {
		if alive(pid) {
			t.Errorf("worker %d still alive", pid)
		}
	}
}

// TestParentDeath checks that workers die with a SIGKILLed parent.
func TestParentDeath(t *testing.T) {
	bin := buildLoad(t)
	// Become the orphaned workers' reaper so that no zombies are left
	// behind (best effort; alive ignores zombies anyway).
	const prSetChildSubreaper = 36 // PR_SET_CHILD_SUBREAPER
	syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0)
	s := startLoad(t, bin, "-conns", "10", "-close-wait", "0", "-procs", "2")
	s.cmd.Process.Kill()
	s.cmd.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for _, pid := range s.pids {
		for alive(pid) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if alive(pid) {
			t.Errorf("worker %d survived its parent", pid)
			syscall.Kill(pid, syscall.SIGKILL)
		}
		var ws syscall.WaitStatus
		syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
	}
}

func TestFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-conns", "-1"},
		{"-conns", "10", "-close-wait", "11"},
		{"-procs", "0"},
		{"extra"},
	} {
		if _, err := parseFlags(args); err == nil {
			t.Errorf("parseFlags(%q) succeeded, want error", args)
		}
	}
}

func TestSplit(t *testing.T) {
	sum := 0
	for i := range 7 {
		n := split(40003, 7, i)
		if n < 40003/7 || n > 40003/7+1 {
			t.Errorf("split share %d = %d", i, n)
		}
		sum += n
		if cw := split(2000, 7, i); cw > n {
			t.Errorf("close-wait share %d > conns share %d", cw, n)
		}
	}
	if sum != 40003 {
		t.Errorf("shares sum to %d", sum)
	}
}
