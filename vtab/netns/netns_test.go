package netns

import (
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// newNamespace creates a named namespace for the test and deletes it after.
func newNamespace(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (CAP_SYS_ADMIN) to create network namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("ip (iproute2) is not installed")
	}
	name := fmt.Sprintf("netsql-ns-%d", rand.Intn(1<<30))
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	// An interface only that namespace has (a veth pair inside it).
	if out, err := exec.Command("ip", "-n", name, "link", "add", "nsdummy0", "type", "veth", "peer", "name", "nsdummy1").CombinedOutput(); err != nil {
		t.Fatalf("ip link add: %v\n%s", err, out)
	}
	return name
}

func TestListResolveAndInode(t *testing.T) {
	name := newNamespace(t)
	path := filepath.Join(RunDir, name)
	ino, err := Inode(path)
	if err != nil {
		t.Fatal(err)
	}
	self, err := Inode("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	if ino == self {
		t.Fatal("new namespace has our inode")
	}
	all, err := List("/proc", RunDir)
	if err != nil {
		t.Fatal(err)
	}
	var found, ours bool
	for _, n := range all {
		if n.Inode == ino {
			found = len(n.Names) > 0 && n.Name() == name && n.Path == path
		}
		if n.Inode == self {
			ours = len(n.PIDs) > 0
		}
	}
	if !found || !ours {
		t.Fatalf("List = %+v; want %s (inode %d) by name and our own namespace with pids", all, name, ino)
	}
	n, err := Resolve("/proc", RunDir, name)
	if err != nil || n.Inode != ino {
		t.Fatalf("Resolve(%s) = %+v, %v", name, n, err)
	}
	n, err = Resolve("/proc", RunDir, fmt.Sprintf("pid:%d", os.Getpid()))
	if err != nil || n.Inode != self {
		t.Fatalf("Resolve(pid:self) = %+v, %v; want inode %d", n, err, self)
	}
	for _, bad := range []string{"", "../etc", "pid:x", "pid:-1", "no-such-namespace"} {
		if _, err := Resolve("/proc", RunDir, bad); err == nil {
			t.Errorf("Resolve(%q) succeeded", bad)
		}
	}
}

func TestDoCreatesSocketsInsideAndReturns(t *testing.T) {
	name := newNamespace(t)
	path := filepath.Join(RunDir, name)
	want, _ := Inode(path)
	var inside uint64
	err := Do(path, func() error {
		var err error
		inside, err = Inode("/proc/thread-self/ns/net")
		return err
	})
	if err != nil || inside != want {
		t.Fatalf("inside Do: inode %d, err %v; want %d", inside, err, want)
	}
	self, _ := Inode("/proc/self/ns/net")
	for i := 0; i < 20; i++ { // every thread is back home
		if got, _ := Inode("/proc/thread-self/ns/net"); got != self {
			t.Fatalf("a thread stayed in the namespace")
		}
	}
	if err := Do("/nonexistent", func() error { return nil }); err == nil {
		t.Error("Do on a missing namespace succeeded")
	}
}

func TestAnchorShowsNamespaceProcNet(t *testing.T) {
	name := newNamespace(t)
	a, err := Enter(filepath.Join(RunDir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	dev, err := os.ReadFile(filepath.Join(a.ProcRoot(), "net", "dev"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(dev), "nsdummy0") {
		t.Errorf("anchored net/dev lacks the namespace's interface:\n%s", dev)
	}
	// /proc/self/net follows the thread group leader, which the anchor
	// itself may be; the reading thread's view is thread-self.
	own, _ := os.ReadFile("/proc/thread-self/net/dev")
	if strings.Contains(string(own), "nsdummy0") {
		t.Error("our own net/dev shows the namespace's interface")
	}
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(a.ProcRoot(), "ns", "net"), &st); err != nil {
		t.Fatal(err)
	}
	if want, _ := Inode(filepath.Join(RunDir, name)); st.Ino != want {
		t.Errorf("anchor thread in namespace %d, want %d", st.Ino, want)
	}
}
