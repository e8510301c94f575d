package vtab

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// The test binary doubles as a process with an odd argv: with
// NETSQL_ARGV_HELPER set it listens on a loopback TCP port, prints the
// port and waits for its standard input to close. It runs from init, so
// it works whatever its arguments are (an empty or all-empty argv).
func init() {
	if os.Getenv("NETSQL_ARGV_HELPER") == "" {
		return
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	bufio.NewReader(os.Stdin).ReadString('\n')
	os.Exit(0)
}

// startArgvHelper runs the helper with the given argv and returns its pid
// and port.
func startArgvHelper(t *testing.T, argv []string) (int, int) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Args = argv
	cmd.Env = append(os.Environ(), "NETSQL_ARGV_HELPER=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	var port int
	if _, err := fmt.Fscan(stdout, &port); err != nil {
		t.Fatalf("argv helper %q: %v", argv, err)
	}
	return cmd.Process.Pid, port
}

// TestLiveProgramOfEmptyArgv0: for a process whose argv[0] is empty
// (exec -a "") or whose argv is all NUL bytes, netstat -p prints "PID/":
// every program column holds the empty string (not comm), and processes.name keeps comm.
func TestLiveProgramOfEmptyArgv0(t *testing.T) {
	eng := liveEngine(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	comm := []byte(self[strings.LastIndexByte(self, '/')+1:])
	if len(comm) > 15 {
		comm = comm[:15]
	}
	for _, argv := range [][]string{{"", "x"}, {"", "", ""}} {
		t.Run(fmt.Sprintf("%q", argv), func(t *testing.T) {
			pid, port := startArgvHelper(t, argv)
			want := []string{fmt.Sprintf("%d||", pid)}
			got := query(t, eng, "SELECT pid, program, typeof(program) = 'null' FROM sockets WHERE local_port = ? AND state = 'LISTEN'", port)
			if fmt.Sprint(got) != fmt.Sprint([]string{fmt.Sprintf("%d||0", pid)}) {
				t.Errorf("sockets: got %q, want pid %d and program ''", got, pid)
			}
			got = query(t, eng, "SELECT DISTINCT o.pid, o.program, '' FROM socket_owners o JOIN sockets s ON s.inode = o.inode WHERE s.local_port = ? AND s.state = 'LISTEN'", port)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("socket_owners: got %q, want %q", got, want)
			}
			got = query(t, eng, "SELECT program, name FROM processes WHERE pid = ?", pid)
			if fmt.Sprint(got) != fmt.Sprint([]string{"|" + string(comm)}) {
				t.Errorf("processes: got %q, want program '' and name %q", got, comm)
			}
			if _, err := exec.LookPath("netstat"); err != nil {
				return
			}
			out, err := exec.Command("netstat", "-tlnp").Output()
			if err != nil {
				t.Fatalf("netstat -tlnp: %v", err)
			}
			line := regexp.MustCompile(fmt.Sprintf(`(?m)^tcp .*127\.0\.0\.1:%d .* (\S+)\s*$`, port)).FindSubmatch(out)
			if line == nil || string(line[1]) != fmt.Sprintf("%d/", pid) {
				t.Errorf("netstat -tlnp shows %q for the helper, want %d/ (the view this test relies on)", line, pid)
			}
		})
	}
}
