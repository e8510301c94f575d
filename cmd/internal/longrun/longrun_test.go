package longrun

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// helperEnv makes the test binary a helper process: its value is the mode
// and the file it opens.
const helperEnv = "LONGRUN_TEST_HELPER"

func TestMain(m *testing.M) {
	if mode, file, ok := strings.Cut(os.Getenv(helperEnv), ":"); ok {
		helper(mode, file)
		return
	}
	os.Exit(m.Run())
}

// helper works as a long-running mode does, with file as what it opens:
//
//   - transient: like a snapshot, opens file three times, says "open" on
//     stdout, holds them 400 ms, closes them, pauses 100 ms, again;
//   - leak: opens file every 50 ms and never closes it, saying "open"
//     after the first.
//
// It runs until its stdin closes (the test ends).
func helper(mode, file string) {
	go func() {
		bufio.NewReader(os.Stdin).ReadByte()
		os.Exit(0)
	}()
	// The runtime's poller descriptors (epoll, eventfd) come with the
	// first os.Open: make them before the first "open", in every mode.
	if f, err := os.Open(file); err == nil {
		f.Close()
	}
	for i := 0; ; i++ {
		var fs []*os.File
		for range 3 {
			if mode == "leak" {
				// A raw descriptor: no finalizer closes it.
				if _, err := syscall.Open(file, syscall.O_RDONLY|syscall.O_CLOEXEC, 0); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
				break
			}
			f, err := os.Open(file)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			fs = append(fs, f)
		}
		if i == 0 || mode == "transient" {
			fmt.Println("open")
		}
		switch mode {
		case "transient":
			time.Sleep(400 * time.Millisecond)
			for _, f := range fs {
				f.Close()
			}
			time.Sleep(100 * time.Millisecond)
		case "leak":
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// startHelper runs the test binary as a helper in mode, opening a file of
// its own, and returns its pid and that file once it has opened it.
func startHelper(t *testing.T, mode string) (pid int, file string) {
	t.Helper()
	file = filepath.Join(t.TempDir(), mode+"-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode+":"+file)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "open\n" {
		t.Fatalf("helper said %q, %v", line, err)
	}
	// Drain "open" lines so the helper never blocks on a full pipe.
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
		}
	}()
	return cmd.Process.Pid, file
}

// holding counts the entries of fds whose target is file.
func holding(fds []string, file string) int {
	n := 0
	for _, f := range fds {
		if strings.HasSuffix(f, " -> "+file) {
			n++
		}
	}
	return n
}

// TestSteadyDescriptors: a sample counts the descriptors a process keeps,
// not those it holds for the moment of one iteration (the 12 -> 14 fds
// record showed at 80k sockets were a snapshot's netlink socket and fd-scan
// directories caught open), and it does count descriptors that leak.
func TestSteadyDescriptors(t *testing.T) {
	// One window spans three of the transient helper's 500 ms cycles.
	const window = 1500 * time.Millisecond

	t.Run("transient", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		pid, file := startHelper(t, "transient")
		// Right after the helper said it holds its three descriptors.
		for i := range 2 {
			s, err := steady(ctx, pid, window, idleFor)
			if err != nil {
				t.Fatal(err)
			}
			if n := holding(s.FDs, file); n != 0 {
				t.Errorf("sample %d counts %d descriptors the helper holds only during an iteration: %q", i, n, s.FDs)
			}
			if len(s.FDs) < 3 {
				t.Errorf("sample %d lost stdin, stdout or stderr: %q", i, s.FDs)
			}
		}
	})
	t.Run("leak", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		pid, file := startHelper(t, "leak")
		first, err := steady(ctx, pid, window, idleFor)
		if err != nil {
			t.Fatal(err)
		}
		second, err := steady(ctx, pid, window, idleFor)
		if err != nil {
			t.Fatal(err)
		}
		a, b := holding(first.FDs, file), holding(second.FDs, file)
		if a < 1 || b <= a {
			t.Errorf("a leaking helper holds %d then %d descriptors of its file by the samples, want a growing count:\n%q\n%q", a, b, first.FDs, second.FDs)
		}
		if len(second.FDs)-len(first.FDs) != b-a {
			t.Errorf("the samples differ by %d descriptors, the leak by %d:\n%q\n%q", len(second.FDs)-len(first.FDs), b-a, first.FDs, second.FDs)
		}
	})
}
