package vtab

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// netifFixture is a /proc and /sys tree captured from a namespace holding
// what a /proc tree tells badly (testdata/netif/capture.sh builds it):
// point-to-point addresses, an address on a down interface, lo's
// secondary, a local route in the main table, addresses with and without
// a broadcast, a bridge port and a macvlan lower device (PROMISC and
// ALLMULTI set by the kernel) and a device a user made promiscuous.
// ip-4-addr.txt and netstat-i.txt are what ip and netstat showed for it.
const netifFixture = "testdata/netif/proc"

// ipAddr4 is one "inet" line of `ip -4 addr`.
type ipAddr4 struct {
	iface, prefix, brd string
	peer, down         bool
}

func readIPAddr4(t *testing.T) map[string]ipAddr4 {
	t.Helper()
	f, err := os.Open("testdata/netif/ip-4-addr.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]ipAddr4{}
	down := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		switch {
		case len(fs) > 0 && !strings.HasPrefix(sc.Text(), " "):
			down = strings.Contains(sc.Text(), " state DOWN ")
		case len(fs) > 2 && fs[0] == "inet":
			a := ipAddr4{iface: fs[len(fs)-1], down: down}
			addr, prefix, _ := strings.Cut(fs[1], "/")
			for i := 2; i+1 < len(fs); i++ {
				switch fs[i] {
				case "peer":
					a.peer = true
					_, prefix, _ = strings.Cut(fs[i+1], "/")
				case "brd":
					a.brd = fs[i+1]
				}
			}
			a.prefix = prefix
			out[addr] = a
		}
	}
	if len(out) < 5 {
		t.Fatalf("ip-4-addr.txt holds %d addresses", len(out))
	}
	return out
}

// TestProcAddresses4MatchIP: the IPv4 addresses rebuilt from the tree are
// those ip showed, no more (a local route is no address) and no fewer
// (point-to-point addresses, a down interface's, lo's secondary), each on
// ip's interface with ip's prefix where the files place it, NULL where they
// do not; a broadcast only where ip shows that one, and notices saying
// what the files cannot tell.
func TestProcAddresses4MatchIP(t *testing.T) {
	var notices []string
	eng, err := Open(Options{ProcRoot: netifFixture, Notify: func(n Notice) { notices = append(notices, n.Msg) }})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	want := readIPAddr4(t)
	rows, err := eng.DB().Query("SELECT address, interface, prefix_len, broadcast FROM addresses WHERE family = 'inet'")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]bool{}
	placed, unplaced, bcast := 0, 0, 0
	for rows.Next() {
		var addr string
		var iface, prefix, brd any
		if err := rows.Scan(&addr, &iface, &prefix, &brd); err != nil {
			t.Fatal(err)
		}
		got[addr] = true
		w, ok := want[addr]
		if !ok {
			t.Errorf("%s is no address of ip's", addr)
			continue
		}
		if iface == nil {
			unplaced++
			if prefix != nil {
				t.Errorf("%s: prefix_len %v without an interface", addr, prefix)
			}
			if !w.peer && !w.down {
				t.Errorf("%s: not placed on %s, though it is no point-to-point address and %s is up", addr, w.iface, w.iface)
			}
		} else {
			placed++
			if sqlText(iface) != w.iface || sqlText(prefix) != w.prefix {
				t.Errorf("%s: on %v/%v, ip has it on %s/%s", addr, iface, prefix, w.iface, w.prefix)
			}
		}
		if brd != nil {
			bcast++
			if sqlText(brd) != w.brd {
				t.Errorf("%s: broadcast %v, ip shows %q", addr, brd, w.brd)
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for addr := range want {
		if !got[addr] {
			t.Errorf("%s (ip: %+v) is missing", addr, want[addr])
		}
	}
	if placed < 5 || unplaced == 0 || bcast == 0 {
		t.Errorf("placed %d, unplaced %d, with a broadcast %d: the fixture should exercise each", placed, unplaced, bcast)
	}
	joined := strings.Join(notices, "\n")
	if unplaced > 0 && !strings.Contains(joined, "interface and prefix_len are NULL") || !strings.Contains(joined, "broadcast is NULL") {
		t.Errorf("notices do not say what the tree cannot tell:\n%s", joined)
	}
}

// TestProcInterfaceFlagsMatchNetstat: flags from the tree's sysfs are
// netstat -i's (SIOCGIFFLAGS): no PROMISC/ALLMULTI a bridge or macvlan set
// on its lower devices, a user's PROMISC kept.
func TestProcInterfaceFlagsMatchNetstat(t *testing.T) {
	eng, err := Open(Options{ProcRoot: netifFixture})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	b, err := os.ReadFile("testdata/netif/netstat-i.txt")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n")[2:] {
		fs := strings.Fields(line)
		if len(fs) < 2 {
			continue
		}
		n++
		name, flg := fs[0], fs[len(fs)-1]
		if got := queryOne(t, eng, "SELECT flags FROM interfaces WHERE name = ?", name); got != flg {
			t.Errorf("%s: flags %v, netstat -i %s", name, got, flg)
		}
	}
	if n < 5 {
		t.Fatalf("netstat-i.txt lists %d interfaces", n)
	}
}
