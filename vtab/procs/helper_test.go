package procs

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The test binary doubles as a helper process, chosen by this variable:
//
//	hold N  open N socket fds (socketpairs), print "ready", wait for stdin EOF
//	holes   hold socket fds with short and long runs of closed fds
//	        between them, pipes, an O_PATH fd on a socket file and, in a
//	        thread with a table of its own, a socket /proc/PID/fd does not
//	        show; print "ready", wait for stdin EOF
//	scan    scan /proc, print the ScanResult summary as JSON
const helperEnv = "NETSQL_PROCS_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "hold":
		n, _ := strconv.Atoi(os.Getenv("NETSQL_PROCS_N"))
		for i := 0; i < n; i += 2 {
			if _, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0); err != nil {
				fmt.Fprintln(os.Stderr, "socketpair:", err)
				os.Exit(1)
			}
		}
		fmt.Println("ready")
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	case "holes":
		os.Exit(holdWithHoles())
	case "scan":
		res, err := ScanSocketOwners(context.Background(), "/proc", nil, ScanOptions{})
		out := struct {
			Owners, Denied int
			Err            string
		}{len(res.Owners), res.Denied, ""}
		if err != nil {
			out.Err = err.Error()
		}
		json.NewEncoder(os.Stdout).Encode(out)
		os.Exit(0)
	}
	os.Exit(2)
}

// churnHolders starts and kills short-lived socket holders, one after
// another, until stop is called or the test ends: scans then race
// processes coming and going. Each holder, between its fork and its exec,
// briefly holds copies of every fd of the test process: stop the churn
// before counting the owners of the test's own sockets.
func churnHolders(t *testing.T) (stop func()) {
	churn, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for churn.Err() == nil {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), helperEnv+"=hold", "NETSQL_PROCS_N=50")
			if cmd.Start() != nil {
				return
			}
			time.Sleep(time.Duration(cmd.Process.Pid%5) * time.Millisecond)
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	t.Cleanup(stop)
	return stop
}

// ownersOf returns the owners held by the processes pids.
func ownersOf(owners []Owner, pids []int) []Owner {
	var out []Owner
	for _, o := range owners {
		if slices.Contains(pids, o.PID) {
			out = append(out, o)
		}
	}
	return out
}

// startHolders starts procs helper processes that each hold n socket fds,
// and stops them when tb ends. It returns their pids.
func startHolders(tb testing.TB, procs, n int) []int {
	return startHelpers(tb, "hold", procs, n)
}

// startHelpers starts procs helper processes in mode (hold, holes) with
// NETSQL_PROCS_N=n, stopped when tb ends, and returns their pids.
func startHelpers(tb testing.TB, mode string, procs, n int) []int {
	tb.Helper()
	var pids []int
	for range procs {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), helperEnv+"="+mode, "NETSQL_PROCS_N="+strconv.Itoa(n))
		cmd.Stderr = os.Stderr
		stdin, err := cmd.StdinPipe()
		if err != nil {
			tb.Fatal(err)
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			tb.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() {
			stdin.Close()
			cmd.Wait()
		})
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err != nil || line != "ready\n" {
			tb.Skipf("socket holder did not start (%q, %v): fd limit too low?", line, err)
		}
		pids = append(pids, cmd.Process.Pid)
	}
	return pids
}

// holdWithHoles opens socket fds laid out with holes: every third of 30
// closed (holes of one), pipes among them (fds that are not sockets),
// and copies of a socket at fds 300, 301 and 4000 (holes far longer than
// maxProbeMisses). Two more are not the process's sockets, though a
// careless scan could take them for ones: an O_PATH fd on a bound unix
// socket's file (a socket inode, but on the file system, not sockfs),
// and a socket opened by a thread that unshared its fd table (the
// table /proc/PID/fd shows is the thread group leader's).
func holdWithHoles() int {
	dir, err := os.MkdirTemp("", "netsql-holes")
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkdir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	bound, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err == nil {
		err = unix.Bind(bound, &unix.SockaddrUnix{Name: dir + "/s"})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bind:", err)
		return 1
	}
	if _, err := unix.Open(dir+"/s", unix.O_PATH, 0); err != nil {
		fmt.Fprintln(os.Stderr, "open O_PATH:", err)
		return 1
	}
	unix.Close(bound)
	// The thread must not be the leader: its table is the one
	// /proc/PID/fd shows. A goroutine that lands on the leader parks
	// there, keeping it, and another one tries.
	errLeader := errors.New("on the leader thread")
	private := make(chan error)
	for {
		go func() {
			runtime.LockOSThread() // never unlocked: the thread keeps its own table
			if unix.Gettid() == unix.Getpid() {
				private <- errLeader
				select {}
			}
			err := unix.Unshare(unix.CLONE_FILES)
			if err == nil {
				_, err = unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM, 0)
			}
			private <- err
			select {}
		}()
		err := <-private
		if err == errLeader {
			continue
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "private fd table:", err)
			return 1
		}
		break
	}
	var fds []int
	for range 15 {
		p, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
		if err != nil {
			fmt.Fprintln(os.Stderr, "socketpair:", err)
			return 1
		}
		fds = append(fds, p[0], p[1])
		var pipe [2]int
		if err := unix.Pipe(pipe[:]); err != nil {
			fmt.Fprintln(os.Stderr, "pipe:", err)
			return 1
		}
	}
	for i, fd := range fds {
		if i%3 == 1 {
			unix.Close(fd)
		}
	}
	for _, high := range []int{300, 301, 4000} {
		if err := unix.Dup2(fds[0], high); err != nil {
			fmt.Fprintln(os.Stderr, "dup2:", err)
			return 1
		}
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	return 0
}
