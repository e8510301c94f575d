// Package nstest builds the network namespaces the live tests of vtab and
// its subpackages run in, and reads back what ip(8) reports inside them,
// so that a test can compare its own reads of the kernel with iproute2's.
//
// It is a test helper: on a setup error it fails (or, without root, skips)
// the testing.TB it is given; only Agree returns an error, for the caller
// to report in its own words. It must not import vtab or any of its
// subpackages, whose tests import it.
package nstest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// RunDir is where `ip netns add` keeps named namespaces.
const RunDir = "/run/netns"

// Pause is how long Agree waits between attempts.
const Pause = 250 * time.Millisecond

// Net is a pair of network namespaces joined by a veth pair, built by New.
// The root namespace is never touched, and no traffic leaves the two.
//
//	NS:   lo up; Link 10.9.0.2/24 fd00:9::2/64 (nodad), up
//	Peer: vpeer 10.9.0.1/24 fd00:9::1/64 (nodad), up
type Net struct {
	NS   string // the test's namespace
	Peer string // NS + "-p", holding the other end of the veth pair
	Link string // the veth end inside NS
}

// New creates the namespaces NS (prefix followed by random hex digits, so
// that no two test runs share it) and NS-p, both deleted when the test
// ends, and the veth pair between them, with link the name of its end in
// NS. It returns once link is UP (veth reports carrier asynchronously, and
// a route over a link that is not up yet is flagged linkdown). It skips the
// test when not run as root or when ip(8) is missing.
func New(t testing.TB, prefix, link string) *Net {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (CAP_NET_ADMIN) to create network namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip from iproute2")
	}
	var r [4]byte
	rand.Read(r[:])
	n := &Net{NS: prefix + hex.EncodeToString(r[:]), Link: link}
	n.Peer = n.NS + "-p"
	if out, err := exec.Command("ip", "netns", "add", n.NS).CombinedOutput(); err != nil {
		t.Skipf("needs root (CAP_NET_ADMIN) to create network namespaces: ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", n.NS).Run() })
	IP(t, "netns", "add", n.Peer)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", n.Peer).Run() })

	inPeer := func(args ...string) { IP(t, append([]string{"-n", n.Peer}, args...)...) }
	inPeer("link", "add", "vpeer", "type", "veth", "peer", "name", link)
	inPeer("link", "set", link, "netns", n.NS)
	inPeer("addr", "add", "10.9.0.1/24", "dev", "vpeer")
	inPeer("-6", "addr", "add", "fd00:9::1/64", "dev", "vpeer", "nodad")
	inPeer("link", "set", "vpeer", "up")
	n.IP(t, "link", "set", "lo", "up")
	n.IP(t, "addr", "add", "10.9.0.2/24", "dev", link)
	n.IP(t, "-6", "addr", "add", "fd00:9::2/64", "dev", link, "nodad")
	n.IP(t, "link", "set", link, "up")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(string(n.IP(t, "-br", "link", "show", link)), " UP ") {
		if time.Now().After(deadline) {
			t.Fatalf("%s in %s never came up", link, n.NS)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return n
}

// Path is the file that names NS, to open or enter it.
func (n *Net) Path() string { return filepath.Join(RunDir, n.NS) }

// IP runs ip(8) with args and returns its output, failing the test on error.
func IP(t testing.TB, args ...string) []byte {
	t.Helper()
	out, err := exec.Command("ip", args...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, ee.Stderr)
		}
		t.Fatalf("ip %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// IP runs ip -n NS with args, failing the test on error.
func (n *Net) IP(t testing.TB, args ...string) []byte {
	t.Helper()
	return IP(t, append([]string{"-n", n.NS}, args...)...)
}

// JSON runs ip -n NS -j with args and decodes the array of objects it
// prints (numbers as json.Number, so that Str gives them as ip wrote them).
func (n *Net) JSON(t testing.TB, args ...string) []map[string]any {
	t.Helper()
	out := n.IP(t, append([]string{"-j"}, args...)...)
	var v []map[string]any
	d := json.NewDecoder(bytes.NewReader(out))
	d.UseNumber()
	if len(bytes.TrimSpace(out)) > 0 {
		if err := d.Decode(&v); err != nil {
			t.Fatalf("ip -n %s -j %s: decode: %v: %s", n.NS, strings.Join(args, " "), err, out)
		}
	}
	return v
}

// Str is m[k] as text, "" when it is missing or null.
func Str(m map[string]any, k string) string {
	v, ok := m[k]
	if !ok || v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// Route is a route as ip -j -d route show prints it: one per next hop of a
// multipath route. Fields ip leaves out are "", but Metric, which is "0".
type Route struct {
	Dst, Gateway, Dev, Table, Protocol, Scope, Type, Metric, PrefSrc string
	// Weight is 0 for a route with one path, else the next hop's weight
	// (1 where ip leaves it out).
	Weight int
}

// Routes returns every route of both families in every table of NS, as
// ip -j -d route show table all prints them.
func (n *Net) Routes(t testing.TB) []Route {
	t.Helper()
	var routes []Route
	for _, fam := range []string{"-4", "-6"} {
		for _, m := range n.JSON(t, "-d", fam, "route", "show", "table", "all") {
			r := Route{Dst: Str(m, "dst"), Gateway: Str(m, "gateway"), Dev: Str(m, "dev"), Table: Str(m, "table"),
				Protocol: Str(m, "protocol"), Scope: Str(m, "scope"), Type: Str(m, "type"), Metric: Str(m, "metric"), PrefSrc: Str(m, "prefsrc")}
			if r.Metric == "" {
				r.Metric = "0"
			}
			hops, ok := m["nexthops"].([]any)
			if !ok {
				routes = append(routes, r)
				continue
			}
			for _, h := range hops {
				nh := h.(map[string]any)
				hop := r
				hop.Gateway, hop.Dev, hop.Weight = Str(nh, "gateway"), Str(nh, "dev"), 1
				fmt.Sscan(Str(nh, "weight"), &hop.Weight)
				routes = append(routes, hop)
			}
		}
	}
	return routes
}

// Neighbor is a neighbour entry as ip -j neigh show prints it.
type Neighbor struct {
	Dst, Dev, LLAddr string
	States           []string // NUD states, as ip names them
	Router           bool
}

// Neighbors returns every neighbour entry of NS, in any state, as
// ip -j neigh show nud all prints them.
func (n *Net) Neighbors(t testing.TB) []Neighbor {
	t.Helper()
	var out []Neighbor
	for _, m := range n.JSON(t, "neigh", "show", "nud", "all") {
		nb := Neighbor{Dst: Str(m, "dst"), Dev: Str(m, "dev"), LLAddr: Str(m, "lladdr")}
		if s, ok := m["state"].([]any); ok {
			for _, x := range s {
				nb.States = append(nb.States, fmt.Sprint(x))
			}
		}
		_, nb.Router = m["router"]
		out = append(out, nb)
	}
	return out
}

// Link is an interface as ip -j -s -s link show prints it.
type Link struct {
	Attrs  map[string]any // the object ip printed, for Str
	RX, TX Counters       // its stats64 rx and tx counters
}

// Counters are the counters of one direction of a link, by ip's names
// (packets, bytes, errors, dropped, fifo_errors, ...).
type Counters map[string]uint64

// Sum adds up the counters named keys; one ip does not print counts as 0.
func (c Counters) Sum(keys ...string) uint64 {
	var sum uint64
	for _, k := range keys {
		sum += c[k]
	}
	return sum
}

// Links returns every interface of NS with its counters, as
// ip -j -s -s link show prints them.
func (n *Net) Links(t testing.TB) []Link {
	t.Helper()
	var links []Link
	for _, m := range n.JSON(t, "-s", "-s", "link", "show") {
		st, _ := m["stats64"].(map[string]any)
		l := Link{Attrs: m, RX: Counters{}, TX: Counters{}}
		for dir, c := range map[string]Counters{"rx": l.RX, "tx": l.TX} {
			kv, _ := st[dir].(map[string]any)
			for k := range kv {
				c[k], _ = strconv.ParseUint(Str(kv, k), 10, 64)
			}
		}
		links = append(links, l)
	}
	return links
}

// Agree compares rows a test reads itself (ours) with the same state read
// another way (theirs, usually ip(8) or /proc), for state the kernel may
// still be changing under the test: a local route added when duplicate
// address detection ends, a counter bumped by an MLD report. Each attempt
// reads ours, then theirs, then ours again; it succeeds when the two reads
// of ours hold the same rows and theirs holds them too, in any order. A
// stable read of ours with fewer than minRows rows fails the test at once.
// Agree makes up to attempts attempts, Pause apart, and returns ours, sorted,
// or an error describing the last difference.
func Agree(t testing.TB, attempts, minRows int, ours, theirs func() []string) ([]string, error) {
	t.Helper()
	var diff string
	for attempt := 0; attempt < attempts; attempt++ {
		if attempt > 0 {
			time.Sleep(Pause)
		}
		got := sorted(ours())
		want := sorted(theirs())
		again := sorted(ours())
		if !slices.Equal(got, again) {
			diff = "ours kept changing:\n" + RowsDiff(got, again)
			continue
		}
		if len(got) < minRows {
			t.Fatalf("only %d rows, want at least %d:\n  %s", len(got), minRows, strings.Join(got, "\n  "))
		}
		if slices.Equal(got, want) {
			return got, nil
		}
		diff = RowsDiff(got, want)
	}
	return nil, fmt.Errorf("no agreement in %d attempts %v apart:\n%s", attempts, Pause, diff)
}

// RowsDiff shows two sets of rows, each sorted, for an error message.
func RowsDiff(got, want []string) string {
	return fmt.Sprintf(" got:\n  %s\nwant:\n  %s", strings.Join(sorted(got), "\n  "), strings.Join(sorted(want), "\n  "))
}

// sorted returns a sorted copy of rows.
func sorted(rows []string) []string {
	rows = slices.Clone(rows)
	slices.Sort(rows)
	return rows
}
