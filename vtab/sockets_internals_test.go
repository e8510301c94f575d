package vtab

import (
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/netsql/netsql/vtab/sock"
)

// synSentFixture holds, on loopback and without privileges, a LISTEN
// socket whose accept queue is full (listen backlog 0, one connection not
// accepted) and a socket in SYN_SENT: its SYNs to that listener are
// dropped while the queue stays full. It returns the listener's and the
// SYN_SENT socket's local ports.
func synSentFixture(t *testing.T) (listenPort, synPort int) {
	t.Helper()
	sock := func() int {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(fd) })
		return fd
	}
	port := func(fd int) int {
		sa, err := unix.Getsockname(fd)
		if err != nil {
			t.Fatal(err)
		}
		return sa.(*unix.SockaddrInet4).Port
	}
	lo := [4]byte{127, 0, 0, 1}
	ln := sock()
	if err := unix.Bind(ln, &unix.SockaddrInet4{Addr: lo}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(ln, 0); err != nil {
		t.Fatal(err)
	}
	to := &unix.SockaddrInet4{Addr: lo, Port: port(ln)}
	first := sock()
	if err := unix.Connect(first, to); err != nil && !errors.Is(err, unix.EINPROGRESS) {
		t.Fatal(err)
	}
	// The first connection completes into the accept queue (loopback
	// answers at once); wait until it has, then the next SYN is dropped.
	eventually(t, func() string {
		if _, err := unix.Getpeername(first); err != nil {
			return "first connection not established: " + err.Error()
		}
		return ""
	})
	syn := sock()
	if err := unix.Connect(syn, to); err != nil && !errors.Is(err, unix.EINPROGRESS) {
		t.Fatal(err)
	}
	return port(ln), port(syn)
}

// ssInfo returns the tcp_info fields ss -tin prints for the TCP socket on
// 127.0.0.1:port in state (ss's word), as name -> value text.
func ssInfo(t *testing.T, state string, port int) (map[string]string, bool) {
	t.Helper()
	out, err := exec.Command("ss", "-tinH", "state", state, fmt.Sprintf("( sport = :%d )", port)).Output()
	if err != nil {
		t.Fatalf("ss -tin: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], fmt.Sprintf("127.0.0.1:%d", port)) {
		return nil, false
	}
	// "cubic wscale:7,7 rto:1000 ... pacing_rate 1.2Mbps ... app_limited"
	info := map[string]string{}
	fields := strings.Fields(lines[1])
	for i := 0; i < len(fields); i++ {
		name, value, found := strings.Cut(fields[i], ":")
		if !found && (name == "pacing_rate" || name == "delivery_rate" || name == "send") && i+1 < len(fields) {
			i++
			value = fields[i]
		}
		info[name] = value
	}
	return info, true
}

// TestLiveTCPInfoNoValueMarkers: on a SYN_SENT and a LISTEN socket the
// kernel fills tcp_info fields with "no value" markers (min_rtt ~0, the
// initial rttvar, an unlimited pacing rate, ssthresh 0 or infinite).
// Each tcp_info column is NULL exactly where ss -ti prints nothing, and
// equal to ss where it prints a value.
func TestLiveTCPInfoNoValueMarkers(t *testing.T) {
	if _, err := exec.LookPath("ss"); err != nil {
		t.Skip("ss (iproute2) is not installed")
	}
	listenPort, synPort := synSentFixture(t)
	eng := liveEngine(t)
	// column -> ss's name for it, and how ss prints the value (rates in
	// bits per second, so only presence is compared for them).
	cols := []struct{ col, ss string }{
		{"rtt_ms", "rtt"}, {"min_rtt_ms", "minrtt"}, {"cwnd", "cwnd"},
		{"ssthresh", "ssthresh"}, {"mss", "mss"}, {"pacing_rate", "pacing_rate"},
		{"delivery_rate", "delivery_rate"},
	}
	var names []string
	for _, c := range cols {
		names = append(names, c.col)
	}
	for _, tc := range []struct {
		state, ssState string
		port           int
	}{{"SYN_SENT", "syn-sent", synPort}, {"LISTEN", "listening", listenPort}} {
		t.Run(tc.state, func(t *testing.T) {
			eventually(t, func() string {
				ss, ok := ssInfo(t, tc.ssState, tc.port)
				if !ok {
					return fmt.Sprintf("ss shows no %s socket on port %d", tc.ssState, tc.port)
				}
				got := query(t, eng, "SELECT "+strings.Join(names, ", ")+", rttvar_ms FROM sockets WHERE local_address = '127.0.0.1' AND local_port = ? AND state = ?", tc.port, tc.state)
				if len(got) != 1 {
					return fmt.Sprintf("%d rows for the %s socket", len(got), tc.state)
				}
				vals := strings.Split(got[0], "|")
				for i, c := range cols {
					want, printed := ss[c.ss]
					if c.ss == "rtt" && printed {
						want, _, _ = strings.Cut(want, "/")
					}
					switch {
					case printed != (vals[i] != "NULL"):
						return fmt.Sprintf("%s = %s; ss -ti prints %s %q (printed %v)", c.col, vals[i], c.ss, want, printed)
					case printed && c.ss != "pacing_rate" && c.ss != "delivery_rate":
						a, _ := strconv.ParseFloat(want, 64)
						b, _ := strconv.ParseFloat(vals[i], 64)
						if a != b {
							return fmt.Sprintf("%s = %s, ss -ti %s", c.col, vals[i], want)
						}
					}
				}
				// rttvar goes with rtt: ss prints rtt:RTT/RTTVAR or neither.
				if rttvar := vals[len(vals)-1]; (rttvar == "NULL") != (vals[0] == "NULL") {
					return fmt.Sprintf("rttvar_ms %s with rtt_ms %s", rttvar, vals[0])
				}
				return ""
			})
		})
	}
}

// TestTCPInfoMarkersAreNull feeds the tcp_info columns the kernel's "no
// value" markers and real values, whatever kernel runs the test.
func TestTCPInfoMarkersAreNull(t *testing.T) {
	value := func(col string, ti sock.TCPInfo) any {
		ti.Len = sock.TCPInfoLenTotalRTO
		r := &socketRecord{Socket: &sock.Socket{Protocol: sock.TCP, Extra: &sock.Extra{Have: sock.ExtraTCPInfo, TCP: ti}}}
		for _, c := range internals {
			if c.Name == col {
				return c.Value(r)
			}
		}
		t.Fatalf("no column %s", col)
		return nil
	}
	for _, tc := range []struct {
		col  string
		ti   sock.TCPInfo
		want any
	}{
		{"rtt_ms", sock.TCPInfo{}, nil},
		{"rtt_ms", sock.TCPInfo{RTTUs: 1500}, 1.5},
		{"rttvar_ms", sock.TCPInfo{RTTVarUs: 250000}, nil}, // SYN_SENT: no sample yet
		{"rttvar_ms", sock.TCPInfo{RTTUs: 1, RTTVarUs: 250}, 0.25},
		{"min_rtt_ms", sock.TCPInfo{MinRTTUs: ^uint32(0)}, nil},
		{"min_rtt_ms", sock.TCPInfo{}, nil},
		{"min_rtt_ms", sock.TCPInfo{MinRTTUs: 42}, 0.042},
		{"ssthresh", sock.TCPInfo{}, nil},
		{"ssthresh", sock.TCPInfo{SndSsthresh: sock.InfiniteSsthresh}, nil},
		{"ssthresh", sock.TCPInfo{SndSsthresh: 0xFFFF}, nil},
		{"ssthresh", sock.TCPInfo{SndSsthresh: 7}, int64(7)},
		{"pacing_rate", sock.TCPInfo{PacingRate: ^uint64(0)}, nil},
		{"pacing_rate", sock.TCPInfo{}, nil},
		{"pacing_rate", sock.TCPInfo{PacingRate: 1 << 40}, int64(1 << 40)},
		{"delivery_rate", sock.TCPInfo{}, nil},
		{"cwnd", sock.TCPInfo{}, nil},
		{"mss", sock.TCPInfo{}, nil},
		{"total_retrans", sock.TCPInfo{}, int64(0)}, // a count: 0 is 0
		{"bytes_acked", sock.TCPInfo{}, int64(0)},
	} {
		if got := value(tc.col, tc.ti); got != tc.want {
			t.Errorf("%s of %+v = %v, want %v", tc.col, tc.ti, got, tc.want)
		}
	}
}
