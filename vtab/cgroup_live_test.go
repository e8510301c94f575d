package vtab

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// cgroupMount is a mounted cgroup hierarchy: where it is mounted and
// which cgroup path its mount root is (not "/" inside some containers).
type cgroupMount struct {
	dir, root string
}

// cgroupMounts finds the v2 hierarchy, a v1 one (pids preferred) and the
// v1 name=systemd one in /proc/self/mountinfo; a zero value for each that
// is not mounted.
func cgroupMounts(t *testing.T) (v2, v1, systemd cgroupMount) {
	t.Helper()
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		a, b := strings.Fields(pre), strings.Fields(post)
		if !ok || len(a) < 5 || len(b) < 3 {
			continue
		}
		m := cgroupMount{dir: unescapeMount(a[4]), root: unescapeMount(a[3])}
		switch b[0] {
		case "cgroup2":
			if v2.dir == "" {
				v2 = m
			}
		case "cgroup":
			opts := strings.Split(b[2], ",")
			if slices.Contains(opts, "name=systemd") {
				systemd = m
			} else if v1.dir == "" || slices.Contains(opts, "pids") {
				v1 = m
			}
		}
	}
	return v2, v1, systemd
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	return strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`).Replace(s)
}

// makeCgroup creates rel (a/b/c) under the hierarchy m and returns the
// directory and the cgroup path /proc/PID/cgroup will show. Cleanup moves
// any process left in it back to the mount root and removes what it made.
// It skips the test when the hierarchy is not writable.
func makeCgroup(t *testing.T, m cgroupMount, rel string) (dir, cgPath string) {
	t.Helper()
	comps := strings.Split(rel, "/")
	made := []string{}
	t.Cleanup(func() {
		for i := len(made) - 1; i >= 0; i-- {
			if pids, err := os.ReadFile(filepath.Join(made[i], "cgroup.procs")); err == nil {
				for _, pid := range strings.Fields(string(pids)) {
					os.WriteFile(filepath.Join(m.dir, "cgroup.procs"), []byte(pid), 0)
				}
			}
			if err := os.Remove(made[i]); err != nil {
				t.Errorf("remove test cgroup: %v", err)
			}
		}
	})
	dir = m.dir
	for _, c := range comps {
		dir = filepath.Join(dir, c)
		if err := os.Mkdir(dir, 0o755); err != nil {
			if len(made) == 0 && (errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS)) {
				t.Skipf("cgroup hierarchy %s is not writable: %v", m.dir, err)
			}
			t.Fatal(err)
		}
		made = append(made, dir)
	}
	return dir, path.Join(m.root, rel)
}

// moveTo puts pid into the cgroup directory dir. It skips the test when
// the hierarchy refuses the move (a container's read-only or delegated
// cgroup tree, v2's rule against processes in inner cgroups).
func moveTo(t *testing.T, dir string, pid int) {
	t.Helper()
	err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(fmt.Sprint(pid)), 0)
	for _, refused := range []error{fs.ErrPermission, syscall.EROFS, syscall.EBUSY, syscall.EOPNOTSUPP} {
		if errors.Is(err, refused) {
			t.Skipf("cgroup hierarchy refuses to move pid %d into %s: %v", pid, dir, err)
		}
	}
	if err != nil {
		t.Fatalf("move pid %d into %s: %v", pid, dir, err)
	}
}

func randHex(t *testing.T, n int) string {
	b := make([]byte, n/2)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// TestLiveCgroupUnit moves a process holding a listening socket into a
// cgroup the test creates in the v2 hierarchy, named like a systemd
// service under a slice, and finds the unit through the socket.
func TestLiveCgroupUnit(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create cgroups and move processes into them")
	}
	v2, _, systemd := cgroupMounts(t)
	if v2.dir == "" {
		t.Skip("no cgroup v2 hierarchy mounted")
	}
	tag := randHex(t, 8)
	unit := "netsql-test-" + tag + ".service"
	rel := "netsql-test-" + tag + ".slice/" + unit
	dir, cg := makeCgroup(t, v2, rel)
	pid, port := startArgvHelper(t, []string{"netsql-cgroup-helper"})
	moveTo(t, dir, pid)

	eng := liveEngine(t)
	wantRows(t, eng, fmt.Sprintf("SELECT pid, unit, container_id FROM sockets WHERE local_port = %d AND state = 'LISTEN'", port),
		fmt.Sprintf("%d|%s|NULL", pid, unit))
	wantRows(t, eng, fmt.Sprintf("SELECT cgroup, unit, container_id, pod_uid FROM processes WHERE pid = %d", pid),
		cg+"|"+unit+"|NULL|NULL")
	wantRows(t, eng, fmt.Sprintf("SELECT p.cgroup FROM sockets s JOIN processes p ON p.pid = s.pid WHERE s.local_port = %d AND s.state = 'LISTEN'", port), cg)
	// The kernel's own view of the same process.
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid)); err != nil || !strings.Contains(string(b), "0::"+cg+"\n") {
		t.Errorf("/proc/%d/cgroup = %q, %v; want the line 0::%s", pid, b, err, cg)
	}

	// ps -o unit (procps through libsystemd) names the same unit. On a
	// hybrid host libsystemd may read name=systemd instead of the v2
	// mirror: put the process there too, as systemd itself would.
	if systemd.dir != "" {
		sdir, _ := makeCgroup(t, systemd, rel)
		moveTo(t, sdir, pid)
	}
	out, err := exec.Command("ps", "-o", "unit=", "-p", fmt.Sprint(pid)).Output()
	if ps := strings.TrimSpace(string(out)); err != nil || ps == "-" || ps == "" {
		t.Logf("ps -o unit unavailable (%q, %v): no cross-check", out, err)
	} else if ps != unit {
		t.Errorf("ps -o unit= says %q, netsql %q", ps, unit)
	}
	wantRows(t, eng, fmt.Sprintf("SELECT unit FROM sockets WHERE local_port = %d AND state = 'LISTEN'", port), unit)
}

// TestLiveCgroupContainer puts a listening process and a process alone
// in a network namespace where container runtimes put containers, and
// finds the container through the socket, the process and the namespace:
// Docker's systemd driver (a docker-ID.scope in the v2 hierarchy), and
// its cgroupfs driver on a v1 or hybrid host (/docker/ID in a v1
// hierarchy, the v2 path left where it was, as on such hosts).
func TestLiveCgroupContainer(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create cgroups, network namespaces and move processes")
	}
	v2, v1, _ := cgroupMounts(t)
	t.Run("systemd driver", func(t *testing.T) {
		if v2.dir == "" {
			t.Skip("no cgroup v2 hierarchy mounted")
		}
		id := randHex(t, 64)
		liveContainer(t, v2, "netsql-test-"+id[:8]+".slice/docker-"+id+".scope", id, "docker-"+id+".scope")
	})
	t.Run("cgroupfs driver", func(t *testing.T) {
		if v1.dir == "" {
			t.Skip("no cgroup v1 hierarchy mounted: a pure v2 host has no v1 layout")
		}
		id := randHex(t, 64)
		liveContainer(t, v1, "netsql-test-"+id[:8]+"/docker/"+id, id, "NULL")
	})
}

// liveContainer runs TestLiveCgroupContainer's processes in the cgroup
// rel of m, and expects container id and unit.
func liveContainer(t *testing.T, m cgroupMount, rel, id, unit string) {
	dir, cg := makeCgroup(t, m, rel)
	pid, port := startArgvHelper(t, []string{"netsql-cgroup-helper"})
	moveTo(t, dir, pid)
	sleeper := exec.Command("sleep", "600")
	sleeper.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sleeper.Process.Kill(); sleeper.Wait() })
	moveTo(t, dir, sleeper.Process.Pid)

	eng := liveEngine(t)
	wantRows(t, eng, fmt.Sprintf("SELECT pid, unit, container_id FROM sockets WHERE local_port = %d AND state = 'LISTEN'", port),
		fmt.Sprintf("%d|%s|%s", pid, unit, id))
	wantRows(t, eng, fmt.Sprintf("SELECT cgroup, unit, container_id, pod_uid FROM processes WHERE pid = %d", pid), cg+"|"+unit+"|"+id+"|NULL")
	wantRows(t, eng, fmt.Sprintf("SELECT cgroup, container_id FROM namespaces WHERE pid = %d", sleeper.Process.Pid), cg+"|"+id)
}
