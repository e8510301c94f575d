package vtab

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Ids of the cgroup fixture's containers and pods, shaped like real ones.
const (
	fxID   = "3f4e9c2a7b1d0e8f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f"
	fxUID  = "0f4e5a1c-3b2d-4c1e-9f8a-7d6c5b4a3921"
	fxUIDs = "0f4e5a1c_3b2d_4c1e_9f8a_7d6c5b4a3921" // as the systemd driver escapes it
)

// v1Lines is /proc/PID/cgroup on a cgroup v1 host: the controllers and
// name=systemd hold path, the v2 line (when v2 is not "") holds v2.
func v1Lines(path, v2 string) string {
	s := "12:pids:" + path + "\n11:memory:" + path + "\n10:cpu,cpuacct:" + path + "\n9:devices:" + path +
		"\n8:blkio:" + path + "\n7:net_cls,net_prio:" + path + "\n6:freezer:" + path + "\n5:perf_event:/\n" +
		"4:hugetlb:/\n3:cpuset:" + path + "\n2:rdma:/\n1:name=systemd:" + path + "\n"
	if v2 != "" {
		s += "0::" + v2 + "\n"
	}
	return s
}

// cgroupHosts are the fixture's processes: one per runtime layout, each
// holding one listening socket, with the /proc/PID/cgroup the runtime
// leaves and the row processes must show (cgroup|unit|container_id|pod_uid).
var cgroupHosts = []struct {
	what, file, want string
}{
	{"systemd service", "0::/system.slice/nginx.service\n",
		"/system.slice/nginx.service|nginx.service|NULL|NULL"},
	{"login session", "0::/user.slice/user-1000.slice/session-3.scope\n",
		"/user.slice/user-1000.slice/session-3.scope|session-3.scope|NULL|NULL"},
	{"user service manager", "0::/user.slice/user-1000.slice/user@1000.service/app.slice/dbus.service\n",
		"/user.slice/user-1000.slice/user@1000.service/app.slice/dbus.service|user@1000.service|NULL|NULL"},
	{"docker, systemd driver", "0::/system.slice/docker-" + fxID + ".scope\n",
		"/system.slice/docker-" + fxID + ".scope|docker-" + fxID + ".scope|" + fxID + "|NULL"},
	{"docker, cgroupfs driver, v1 hybrid host", v1Lines("/docker/"+fxID, "/system.slice/containerd.service"),
		"/docker/" + fxID + "|NULL|" + fxID + "|NULL"},
	{"kubernetes containerd, systemd, burstable", "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + fxUIDs + ".slice/cri-containerd-" + fxID + ".scope\n",
		"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + fxUIDs + ".slice/cri-containerd-" + fxID + ".scope|cri-containerd-" + fxID + ".scope|" + fxID + "|" + fxUID},
	{"kubernetes containerd, systemd, besteffort", "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + fxUIDs + ".slice/cri-containerd-" + fxID + ".scope\n",
		"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + fxUIDs + ".slice/cri-containerd-" + fxID + ".scope|cri-containerd-" + fxID + ".scope|" + fxID + "|" + fxUID},
	{"kubernetes containerd, systemd, guaranteed", "0::/kubepods.slice/kubepods-pod" + fxUIDs + ".slice/cri-containerd-" + fxID + ".scope\n",
		"/kubepods.slice/kubepods-pod" + fxUIDs + ".slice/cri-containerd-" + fxID + ".scope|cri-containerd-" + fxID + ".scope|" + fxID + "|" + fxUID},
	{"kubernetes containerd, cgroupfs, burstable", "0::/kubepods/burstable/pod" + fxUID + "/" + fxID + "\n",
		"/kubepods/burstable/pod" + fxUID + "/" + fxID + "|NULL|" + fxID + "|" + fxUID},
	{"kubernetes containerd, cgroupfs, besteffort, v1 host", v1Lines("/kubepods/besteffort/pod"+fxUID+"/"+fxID, ""),
		"/kubepods/besteffort/pod" + fxUID + "/" + fxID + "|NULL|" + fxID + "|" + fxUID},
	{"kubernetes containerd, cgroupfs, guaranteed", "0::/kubepods/pod" + fxUID + "/" + fxID + "\n",
		"/kubepods/pod" + fxUID + "/" + fxID + "|NULL|" + fxID + "|" + fxUID},
	{"cri-o, systemd", "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + fxUIDs + ".slice/crio-" + fxID + ".scope\n",
		"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + fxUIDs + ".slice/crio-" + fxID + ".scope|crio-" + fxID + ".scope|" + fxID + "|" + fxUID},
	{"cri-o, cgroupfs", "0::/kubepods/burstable/pod" + fxUID + "/crio-" + fxID + "\n",
		"/kubepods/burstable/pod" + fxUID + "/crio-" + fxID + "|NULL|" + fxID + "|" + fxUID},
	{"podman rootful", "0::/machine.slice/libpod-" + fxID + ".scope/container\n",
		"/machine.slice/libpod-" + fxID + ".scope/container|libpod-" + fxID + ".scope|" + fxID + "|NULL"},
	{"podman rootless", "0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + fxID + ".scope/container\n",
		"/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + fxID + ".scope/container|user@1000.service|" + fxID + "|NULL"},
	{"systemd on a v1 hybrid host", v1Lines("/system.slice/ssh.service", "/system.slice/ssh.service"),
		"/system.slice/ssh.service|ssh.service|NULL|NULL"},
	{"unknown layout", "0::/actions_job/" + fxID + "\n",
		"/actions_job/" + fxID + "|NULL|NULL|NULL"},
	{"kernel thread", "0::/\n", "/|NULL|NULL|NULL"},
}

// cgroupFixture writes a /proc tree holding the cgroupHosts processes
// (pid 1001, 1002, ...), process i listening on port 8001+i with socket
// inode 5001+i, plus pid 2000 whose cgroup file is missing (an old
// support bundle).
func cgroupFixture(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	write := func(rel, text string) {
		t.Helper()
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var tcp strings.Builder
	tcp.WriteString("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n")
	proc := func(pid int, cgroupFile string, inode int) {
		dir := fmt.Sprint(pid)
		write(dir+"/stat", fmt.Sprintf("%d (server) S 1 %d %d 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 100 0 0\n", pid, pid, pid))
		write(dir+"/status", "Name:\tserver\nUid:\t0\t0\t0\t0\n")
		write(dir+"/cmdline", "/usr/sbin/server\x00-d\x00")
		if cgroupFile != "" {
			write(dir+"/cgroup", cgroupFile)
		}
		os.MkdirAll(filepath.Join(root, dir, "fd"), 0o755)
		if err := os.Symlink(fmt.Sprintf("socket:[%d]", inode), filepath.Join(root, dir, "fd", "3")); err != nil {
			t.Fatal(err)
		}
	}
	for i, h := range cgroupHosts {
		proc(1001+i, h.file, 5001+i)
		fmt.Fprintf(&tcp, "%4d: 0100007F:%04X 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 %d 1 0000000000000000 100 0 0 10 0\n",
			i, 8001+i, 5001+i)
	}
	proc(2000, "", 6000)
	fmt.Fprintf(&tcp, "%4d: 0100007F:%04X 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 %d 1 0000000000000000 100 0 0 10 0\n",
		len(cgroupHosts), 9000, 6000)
	write("net/tcp", tcp.String())
	return root
}

// TestFixtureCgroupAttribution reads the fixture's processes and sockets:
// every layout gives its unit, container and pod; unknown layouts and a
// missing cgroup file give NULL.
func TestFixtureCgroupAttribution(t *testing.T) {
	eng, err := Open(Options{ProcRoot: cgroupFixture(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	var wantProcs, wantSocks []string
	for i, h := range cgroupHosts {
		wantProcs = append(wantProcs, fmt.Sprintf("%d|%s", 1001+i, h.want))
		f := strings.Split(h.want, "|")
		wantSocks = append(wantSocks, fmt.Sprintf("%d|%d|%s|%s", 8001+i, 1001+i, f[1], f[2]))
	}
	wantProcs = append(wantProcs, "2000|NULL|NULL|NULL|NULL")
	wantSocks = append(wantSocks, "9000|2000|NULL|NULL")
	wantRows(t, eng, "SELECT pid, cgroup, unit, container_id, pod_uid FROM processes ORDER BY pid", wantProcs...)
	wantRows(t, eng, "SELECT local_port, pid, unit, container_id FROM sockets WHERE proto = 'tcp' ORDER BY local_port", wantSocks...)
	// Without pid, program or fd in the statement: the same values.
	wantRows(t, eng, "SELECT unit FROM sockets WHERE local_port = 8001", "nginx.service")
	wantRows(t, eng, "SELECT container_id FROM sockets WHERE local_port = 8004", fxID)
	// The question the columns are for.
	wantRows(t, eng, "SELECT unit, count(*) FROM sockets WHERE state = 'LISTEN' AND unit LIKE '%.service' GROUP BY 1 ORDER BY 1",
		"nginx.service|1", "ssh.service|1", "user@1000.service|2")
	wantRows(t, eng, "SELECT pod_uid, count(*) FROM processes WHERE pod_uid IS NOT NULL GROUP BY 1", fxUID+"|8")
}

// TestCgroupUnreadableAndOwnerScan: an unreadable cgroup file gives NULL,
// not an error; the fd scan runs for unit and container_id as it does for
// program, and not for a statement without owner columns.
func TestCgroupUnreadableAndOwnerScan(t *testing.T) {
	root := cgroupFixture(t)
	src, err := NewSource(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := Open(Options{Source: src})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	// Make every cgroup file unreadable by replacing it with a directory:
	// a statement that reads it sees NULL, one that does not is unaffected.
	for i := range cgroupHosts {
		p := filepath.Join(root, fmt.Sprint(1001+i), "cgroup")
		os.Remove(p)
		os.Mkdir(p, 0o755)
	}
	wantRows(t, eng, "SELECT count(*) FROM processes WHERE unit IS NULL", fmt.Sprint(len(cgroupHosts)+1))
	before := src.OwnerScans()
	wantRows(t, eng, "SELECT count(*) FROM sockets WHERE proto = 'tcp'", fmt.Sprint(len(cgroupHosts)+1))
	if src.OwnerScans() != before {
		t.Errorf("a statement without owner columns scanned fds")
	}
	wantRows(t, eng, "SELECT count(*) FROM sockets WHERE proto = 'tcp' AND container_id IS NULL", fmt.Sprint(len(cgroupHosts)+1))
	if src.OwnerScans() != before+1 {
		t.Errorf("container_id did not run the fd scan once: %d scans", src.OwnerScans()-before)
	}
}
