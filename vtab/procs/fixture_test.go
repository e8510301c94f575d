package procs

import (
	"context"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// fakeProc describes one process directory of a fixture proc tree.
type fakeProc struct {
	pid     int
	comm    string
	ppid    int
	cmdline string            // raw, NULs included
	uids    string            // "Uid:" value of status; "" writes no status
	netns   string            // ns/net link target; "" writes no link
	fds     map[string]string // fd name -> link target; nil writes no fd dir
	denied  bool              // chmod 000 the fd dir (unreadable but to root)
}

// writeProcTree builds a fake proc tree under a temporary directory.
func writeProcTree(t *testing.T, procs []fakeProc) string {
	t.Helper()
	root := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range procs {
		dir := filepath.Join(root, strconv.Itoa(p.pid))
		must(os.MkdirAll(filepath.Join(dir, "ns"), 0o755))
		stat := strconv.Itoa(p.pid) + " (" + p.comm + ") S " + strconv.Itoa(p.ppid) + " 1 1 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 5 1000 100\n"
		must(os.WriteFile(filepath.Join(dir, "stat"), []byte(stat), 0o444))
		must(os.WriteFile(filepath.Join(dir, "cmdline"), []byte(p.cmdline), 0o444))
		if p.uids != "" {
			status := "Name:\t" + p.comm + "\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t" + strconv.Itoa(p.pid) +
				"\nPPid:\t" + strconv.Itoa(p.ppid) + "\nUid:\t" + p.uids + "\nGid:\t0\t0\t0\t0\n"
			must(os.WriteFile(filepath.Join(dir, "status"), []byte(status), 0o444))
		}
		if p.netns != "" {
			must(os.Symlink(p.netns, filepath.Join(dir, "ns", "net")))
		}
		if p.fds != nil {
			fdDir := filepath.Join(dir, "fd")
			must(os.Mkdir(fdDir, 0o755))
			for name, target := range p.fds {
				must(os.Symlink(target, filepath.Join(fdDir, name)))
			}
			if p.denied {
				must(os.Chmod(fdDir, 0o000))
				t.Cleanup(func() { os.Chmod(fdDir, 0o755) })
			}
		}
	}
	// Entries a real /proc has beside the pid directories.
	must(os.Symlink(strconv.Itoa(procs[0].pid), filepath.Join(root, "self")))
	must(os.MkdirAll(filepath.Join(root, "net"), 0o755))
	must(os.WriteFile(filepath.Join(root, "uptime"), []byte("1.00 1.00\n"), 0o444))
	return root
}

func fixtureTree(t *testing.T) string {
	return writeProcTree(t, []fakeProc{
		{pid: 100, comm: "sshd", ppid: 1, cmdline: "/usr/sbin/sshd\x00-D\x00", uids: "0\t0\t0\t0", netns: "net:[4026531840]",
			fds: map[string]string{
				"0":  "/dev/null",
				"3":  "socket:[42]",
				"4":  "socket:[43]",
				"5":  "pipe:[77]",
				"7":  "[0000]:99", // the pre-2.2 form netstat also accepts
				"8":  "socket:[]",
				"9":  "socket:[12x]",
				"11": "anon_inode:[eventfd]",
				"12": "/very/long/path/" + strings.Repeat("x", 200),
			}},
		{pid: 200, comm: "kworker/0:1 (x)", ppid: 2, cmdline: "", uids: "1000\t1001\t1000\t1001",
			fds: map[string]string{"3": "socket:[42]", "20": "socket:[45]"}},
		{pid: 300, comm: "server", ppid: 100, cmdline: "./server\x00--port\x008080\x00", uids: "1000\t1000\t1000\t1000", netns: "net:[4026532000]",
			fds: map[string]string{"10": "socket:[44]", "2": "socket:[42]"}},
		{pid: 400, comm: "secret", ppid: 1, cmdline: "secret\x00", uids: "0\t0\t0\t0",
			fds: map[string]string{"3": "socket:[46]"}, denied: true},
		{pid: 500, comm: "zombie", ppid: 1, cmdline: "", uids: "0\t0\t0\t0"}, // no fd dir: exited
	})
}

func TestFixtureScan(t *testing.T) {
	root := fixtureTree(t)
	ctx := context.Background()
	isRoot := os.Geteuid() == 0

	res, err := ScanSocketOwners(ctx, root, nil, ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []Owner{
		{42, 100, 3}, {43, 100, 4}, {99, 100, 7},
		{42, 200, 3}, {45, 200, 20},
		{42, 300, 2}, {44, 300, 10},
	}
	wantDenied := 1
	if isRoot { // root reads the chmod 000 directory anyway
		want = append(want, Owner{46, 400, 3})
		wantDenied = 0
	}
	if !slices.Equal(res.Owners, want) {
		t.Errorf("owners:\n got %v\nwant %v", res.Owners, want)
	}
	if res.Denied != wantDenied || res.Stopped {
		t.Errorf("Denied=%d Stopped=%v, want %d false", res.Denied, res.Stopped, wantDenied)
	}

	// Workers=1 and many workers give the same, sorted answer.
	for _, w := range []int{1, 3, 16} {
		r, err := ScanSocketOwners(ctx, root, nil, ScanOptions{Workers: w})
		if err != nil || !slices.Equal(r.Owners, want) {
			t.Errorf("Workers=%d: %v %v", w, r.Owners, err)
		}
	}

	// PIDs restricts the scan; unknown pids are ignored.
	r, err := ScanSocketOwners(ctx, root, nil, ScanOptions{PIDs: []int{300, 999, 300}})
	if err != nil || !slices.Equal(r.Owners, []Owner{{42, 300, 2}, {44, 300, 10}}) {
		t.Errorf("PIDs=[300 999]: %v %v", r.Owners, err)
	}
	r, err = ScanSocketOwners(ctx, root, nil, ScanOptions{PIDs: []int{}})
	if err != nil || len(r.Owners) != 0 {
		t.Errorf("PIDs=[]: %v %v", r.Owners, err)
	}

	// want: only wanted inodes, lowest-pid owner always present.
	for _, tc := range []struct {
		want    []uint64
		stopped bool
		lowest  map[uint64]Owner
	}{
		{[]uint64{42}, true, map[uint64]Owner{42: {42, 100, 3}}},
		{[]uint64{44}, true, map[uint64]Owner{44: {44, 300, 10}}},
		{[]uint64{45, 43}, true, map[uint64]Owner{43: {43, 100, 4}, 45: {45, 200, 20}}},
		{[]uint64{12345}, false, map[uint64]Owner{}},
		{[]uint64{}, true, map[uint64]Owner{}},
	} {
		for _, workers := range []int{1, 2, 8} {
			set := map[uint64]struct{}{}
			for _, ino := range tc.want {
				set[ino] = struct{}{}
			}
			r, err := ScanSocketOwners(ctx, root, set, ScanOptions{Workers: workers})
			if err != nil {
				t.Fatal(err)
			}
			if r.Stopped != tc.stopped {
				t.Errorf("want %v workers %d: Stopped=%v", tc.want, workers, r.Stopped)
			}
			if got := lowestOwners(r.Owners); !maps.Equal(got, tc.lowest) {
				t.Errorf("want %v workers %d: lowest owners %v, want %v (all %v)", tc.want, workers, got, tc.lowest, r.Owners)
			}
			for _, o := range r.Owners {
				if _, ok := set[o.Inode]; !ok {
					t.Errorf("want %v: unwanted owner %v", tc.want, o)
				}
			}
		}
	}

	// want 42 with one worker stops after pid 100: later holders of 42 are
	// not read.
	r, err = ScanSocketOwners(ctx, root, map[uint64]struct{}{42: {}}, ScanOptions{Workers: 1})
	if err != nil || !slices.Equal(r.Owners, []Owner{{42, 100, 3}}) || !r.Stopped {
		t.Errorf("early stop with one worker: %v stopped=%v %v", r.Owners, r.Stopped, err)
	}
}

func TestFixtureDenied(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads chmod 000 directories; TestLiveDeniedAsNobody covers EACCES as root")
	}
	root := writeProcTree(t, []fakeProc{
		{pid: 7, comm: "a", cmdline: "a\x00", uids: "0\t0\t0\t0", fds: map[string]string{"3": "socket:[1]"}, denied: true},
		{pid: 8, comm: "b", cmdline: "b\x00", uids: "0\t0\t0\t0", fds: map[string]string{"3": "socket:[2]"}, denied: true},
		{pid: 9, comm: "c", cmdline: "c\x00", uids: "0\t0\t0\t0", fds: map[string]string{"3": "socket:[3]"}},
	})
	r, err := ScanSocketOwners(context.Background(), root, nil, ScanOptions{})
	if err != nil || r.Denied != 2 || !slices.Equal(r.Owners, []Owner{{3, 9, 3}}) {
		t.Errorf("got %+v, %v; want Denied 2 and pid 9's socket", r, err)
	}
}

func TestFixtureErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := ScanSocketOwners(ctx, filepath.Join(t.TempDir(), "nope"), nil, ScanOptions{}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing proc root: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := ScanSocketOwners(cctx, fixtureTree(t), nil, ScanOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
	if _, err := ListProcesses(cctx, fixtureTree(t)); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
}

func TestFixtureReadProcess(t *testing.T) {
	root := fixtureTree(t)
	for _, want := range []Process{
		{PID: 100, PPID: 1, Name: "sshd", Program: "sshd", Cmdline: "/usr/sbin/sshd -D", NetNS: 4026531840},
		// empty cmdline: netstat prints "200/", comm stays in Name
		{PID: 200, PPID: 2, Name: "kworker/0:1 (x)", Program: "", Cmdline: "", UID: 1000, EUID: 1001},
		// a relative argv[0] is not cut at '/'
		{PID: 300, PPID: 100, Name: "server", Program: "./server", Cmdline: "./server --port 8080", UID: 1000, EUID: 1000, NetNS: 4026532000},
	} {
		got, err := ReadProcess(root, want.PID)
		if err != nil || got != want {
			t.Errorf("ReadProcess(%d) = %+v, %v\nwant %+v", want.PID, got, err, want)
		}
	}
	if _, err := ReadProcess(root, 4242); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing pid: %v, want fs.ErrNotExist", err)
	}

	ps, err := ListProcesses(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, p := range ps {
		pids = append(pids, p.PID)
	}
	if !slices.Equal(pids, []int{100, 200, 300, 400, 500}) {
		t.Errorf("ListProcesses pids %v", pids)
	}
	if ps[0].Program != "sshd" || ps[1].Name != "kworker/0:1 (x)" {
		t.Errorf("ListProcesses: %+v", ps[:2])
	}

	ns, err := SelfNetNS(root)
	if err != nil || ns != 4026531840 {
		t.Errorf("SelfNetNS = %d, %v", ns, err)
	}
	if _, err := SelfNetNS(t.TempDir()); err == nil {
		t.Error("SelfNetNS on an empty tree: no error")
	}
}

func TestNetstatProgram(t *testing.T) {
	long := "/opt/" + strings.Repeat("d", 510) + "/tool\x00arg\x00"
	for _, tc := range []struct{ cmdline, want string }{
		{"/usr/sbin/sshd\x00-D\x00", "sshd"},
		{"python3\x00/srv/app.py\x00", "python3"},
		{"./bin/server\x00", "./bin/server"},
		{"bin/server\x00", "bin/server"},
		{"", ""},
		{"\x00", ""},
		{"/\x00", ""},
		{"nginx: worker process\x00\x00\x00", "nginx: worker process"},
		{"sshd: root@pts/0", "sshd: root@pts/0"},
		// setproctitle without NULs: the last '/' of the whole text wins
		{"/usr/bin/python3 /srv/app.py --x", "app.py --x"},
		// netstat reads only 511 bytes: the last '/' before the cut wins
		{long, strings.Repeat("d", 511-len("/opt/"))},
		{"/opt/x/" + strings.Repeat("y", 600), strings.Repeat("y", 511-len("/opt/x/"))},
	} {
		if got := NetstatProgram([]byte(tc.cmdline)); got != tc.want {
			t.Errorf("NetstatProgram(%.40q) = %.40q, want %.40q", tc.cmdline, got, tc.want)
		}
	}
}

func TestNetstatPIDProgram(t *testing.T) {
	for _, tc := range []struct {
		pid  int
		prog string
		want string
	}{
		{9058, "python3", "9058/python3"},
		{1, "", "1/"},
		{12345, "systemd-resolved", "12345/systemd-resol"}, // 19 bytes
		{4194304, "containerd-shim-runc-v2", "4194304/containerd-"},
		{123456789, "a", "123456789/a"},
	} {
		got := NetstatPIDProgram(tc.pid, tc.prog)
		if got != tc.want || len(got) > 19 {
			t.Errorf("NetstatPIDProgram(%d, %q) = %q, want %q", tc.pid, tc.prog, got, tc.want)
		}
	}
}

func TestParsers(t *testing.T) {
	for _, tc := range []struct {
		link string
		ino  uint64
		ok   bool
	}{
		{"socket:[42]", 42, true},
		{"socket:[18446744073709551615]", 18446744073709551615, true},
		{"socket:[18446744073709551616]", 0, false},
		{"socket:[]", 0, false},
		{"socket:[4x]", 0, false},
		{"socket:[42", 0, false},
		{"socket:42]", 0, false},
		{"[0000]:99", 99, true},
		{"[0000]:", 0, false},
		{"pipe:[42]", 0, false},
		{"/dev/null", 0, false},
		{"", 0, false},
	} {
		ino, ok := parseSocketLink([]byte(tc.link))
		if ino != tc.ino || ok != tc.ok {
			t.Errorf("parseSocketLink(%q) = %d %v", tc.link, ino, ok)
		}
	}
	for _, tc := range []struct {
		name string
		n    int
		ok   bool
	}{
		{"0\x00", 0, true}, {"17\x00\x00\x00", 17, true}, {"2147483647", 2147483647, true},
		{"2147483648", 0, false}, {"12345678901", 0, false},
		{".\x00", 0, false}, {"..\x00", 0, false}, {"\x00", 0, false}, {"1a\x00", 0, false}, {"self", 0, false},
	} {
		n, ok := parseFD([]byte(tc.name))
		if n != tc.n || ok != tc.ok {
			t.Errorf("parseFD(%q) = %d %v", tc.name, n, ok)
		}
	}
	comm, ppid, ok := parseStat([]byte("77 (a) b) (c) R 5 77 77 0 -1\n"))
	if comm != "a) b) (c" || ppid != 5 || !ok {
		t.Errorf("parseStat: %q %d %v", comm, ppid, ok)
	}
	if _, _, ok := parseStat([]byte("77 (a) R\n")); ok {
		t.Error("parseStat accepted a stat without ppid")
	}
	if ns, ok := parseNSLink([]byte("net:[4026531840]"), "net"); ns != 4026531840 || !ok {
		t.Errorf("parseNSLink: %d %v", ns, ok)
	}
	if _, ok := parseNSLink([]byte("mnt:[4026531840]"), "net"); ok {
		t.Error("parseNSLink accepted mnt")
	}
}

func lowestOwners(owners []Owner) map[uint64]Owner {
	m := map[uint64]Owner{}
	for _, o := range owners {
		if cur, ok := m[o.Inode]; !ok || o.PID < cur.PID || o.PID == cur.PID && o.FD < cur.FD {
			m[o.Inode] = o
		}
	}
	return m
}
