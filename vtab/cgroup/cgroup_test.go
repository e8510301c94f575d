package cgroup

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Container ids and pod uids of the fixtures: any 64-hex id and any UUID
// serve; these are shaped like the real ones.
const (
	id1 = "3f4e9c2a7b1d0e8f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f"
	id2 = "9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f3f4e9c2a7b1d0e8f6a5b4c3d2e1f0a"
	uid = "0f4e5a1c-3b2d-4c1e-9f8a-7d6c5b4a3921"
	// The systemd driver escapes a pod uid's dashes as underscores.
	uidEsc = "0f4e5a1c_3b2d_4c1e_9f8a_7d6c5b4a3921"
	// A static pod's uid is the hash of its manifest.
	staticUID = "2ae5fe7d8b0a6f0ad40dc3a2b3d2c6f5"
)

// hybrid is a /proc/PID/cgroup of a hybrid systemd host (Ubuntu 20.04,
// Debian 10): twelve v1 controllers, name=systemd and the v2 mirror,
// with path in the controllers systemd manages and in both systemd trees.
func hybrid(path string) string {
	return "12:pids:" + path + "\n11:memory:" + path + "\n10:cpu,cpuacct:" + path +
		"\n9:devices:" + path + "\n8:blkio:" + path + "\n7:net_cls,net_prio:/\n6:freezer:/\n" +
		"5:perf_event:/\n4:hugetlb:/\n3:cpuset:/\n2:rdma:/\n1:name=systemd:" + path + "\n0::" + path + "\n"
}

// v1cgroupfs is what the cgroupfs driver leaves on a hybrid host: every
// v1 controller (and name=systemd) holds the container's directory, the
// v2 mirror the runtime's service the process was forked from.
func v1cgroupfs(path, v2 string) string {
	return "12:pids:" + path + "\n11:memory:" + path + "\n10:cpu,cpuacct:" + path +
		"\n9:devices:" + path + "\n8:blkio:" + path + "\n7:net_cls,net_prio:" + path +
		"\n6:freezer:" + path + "\n5:perf_event:" + path + "\n4:hugetlb:" + path +
		"\n3:cpuset:" + path + "\n2:rdma:/\n1:name=systemd:" + path + "\n0::" + v2 + "\n"
}

// cases is every layout the tests know, as /proc/PID/cgroup text: the
// parser's table and the vtab package's fixture trees.
var cases = []struct {
	Name, File string
	Want       Attribution
}{
	// systemd, cgroup v2.
	{"systemd service", "0::/system.slice/nginx.service\n",
		Attribution{Path: "/system.slice/nginx.service", Unit: "nginx.service"}},
	{"systemd service subgroup", "0::/system.slice/nginx.service/workers\n",
		Attribution{Path: "/system.slice/nginx.service/workers", Unit: "nginx.service"}},
	{"systemd template instance", "0::/system.slice/system-getty.slice/getty@tty1.service\n",
		Attribution{Path: "/system.slice/system-getty.slice/getty@tty1.service", Unit: "getty@tty1.service"}},
	{"systemd instance holding @", "0::/system.slice/system-foo.slice/foo@a@b.service\n",
		Attribution{Path: "/system.slice/system-foo.slice/foo@a@b.service", Unit: "foo@a@b.service"}},
	{"systemd session scope", "0::/user.slice/user-1000.slice/session-3.scope\n",
		Attribution{Path: "/user.slice/user-1000.slice/session-3.scope", Unit: "session-3.scope"}},
	{"systemd user manager", "0::/user.slice/user-1000.slice/user@1000.service/init.scope\n",
		Attribution{Path: "/user.slice/user-1000.slice/user@1000.service/init.scope", Unit: "user@1000.service"}},
	{"systemd user unit", "0::/user.slice/user-1000.slice/user@1000.service/app.slice/app-org.gnome.Terminal.slice/vte-spawn-5e0c.scope\n",
		Attribution{Path: "/user.slice/user-1000.slice/user@1000.service/app.slice/app-org.gnome.Terminal.slice/vte-spawn-5e0c.scope", Unit: "user@1000.service"}},
	{"systemd init", "0::/init.scope\n", Attribution{Path: "/init.scope", Unit: "init.scope"}},
	{"systemd escaped name", "0::/system.slice/_cpu.service\n",
		Attribution{Path: "/system.slice/_cpu.service", Unit: "cpu.service"}},
	{"systemd removed cgroup", "0::/system.slice/old.service (deleted)\n",
		Attribution{Path: "/system.slice/old.service (deleted)", Unit: "old.service"}},
	{"kernel thread", "0::/\n", Attribution{Path: "/"}},
	{"only slices", "0::/user.slice/user-1000.slice\n", Attribution{Path: "/user.slice/user-1000.slice"}},

	// systemd on cgroup v1 hosts.
	{"hybrid service", hybrid("/system.slice/ssh.service"),
		Attribution{Path: "/system.slice/ssh.service", Unit: "ssh.service"}},
	{"legacy v1 service", "11:cpuset:/\n10:memory:/system.slice/sshd.service\n9:devices:/system.slice/sshd.service\n" +
		"8:cpu,cpuacct:/system.slice/sshd.service\n7:freezer:/\n6:net_cls,net_prio:/\n5:pids:/system.slice/sshd.service\n" +
		"4:perf_event:/\n3:hugetlb:/\n2:blkio:/system.slice/sshd.service\n1:name=systemd:/system.slice/sshd.service\n",
		Attribution{Path: "/system.slice/sshd.service", Unit: "sshd.service"}},
	{"legacy v1 with unused v2", "3:cpu,cpuacct:/\n2:pids:/\n1:name=systemd:/user.slice/user-0.slice/session-1.scope\n0::/\n",
		Attribution{Path: "/user.slice/user-0.slice/session-1.scope", Unit: "session-1.scope"}},

	// Docker.
	{"docker systemd driver", "0::/system.slice/docker-" + id1 + ".scope\n",
		Attribution{Path: "/system.slice/docker-" + id1 + ".scope", Unit: "docker-" + id1 + ".scope", ContainerID: id1}},
	{"docker cgroupfs driver", "0::/docker/" + id1 + "\n",
		Attribution{Path: "/docker/" + id1, ContainerID: id1}},
	{"docker cgroupfs driver, hybrid host", v1cgroupfs("/docker/"+id1, "/system.slice/containerd.service"),
		Attribution{Path: "/docker/" + id1, ContainerID: id1}},
	{"docker systemd driver, hybrid host", hybrid("/system.slice/docker-" + id1 + ".scope"),
		Attribution{Path: "/system.slice/docker-" + id1 + ".scope", Unit: "docker-" + id1 + ".scope", ContainerID: id1}},
	{"docker in docker", "0::/docker/" + id1 + "/docker/" + id2 + "\n",
		Attribution{Path: "/docker/" + id1 + "/docker/" + id2, ContainerID: id2}},
	{"rootless docker", "0::/user.slice/user-1000.slice/user@1000.service/user.slice/docker-" + id1 + ".scope\n",
		Attribution{Path: "/user.slice/user-1000.slice/user@1000.service/user.slice/docker-" + id1 + ".scope", Unit: "user@1000.service", ContainerID: id1}},

	// Kubernetes with containerd, systemd driver.
	{"k8s containerd systemd burstable", "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uidEsc + ".slice/cri-containerd-" + id1 + ".scope\n",
		Attribution{Path: "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uidEsc + ".slice/cri-containerd-" + id1 + ".scope",
			Unit: "cri-containerd-" + id1 + ".scope", ContainerID: id1, PodUID: uid}},
	{"k8s containerd systemd besteffort", "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + uidEsc + ".slice/cri-containerd-" + id1 + ".scope\n",
		Attribution{Path: "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + uidEsc + ".slice/cri-containerd-" + id1 + ".scope",
			Unit: "cri-containerd-" + id1 + ".scope", ContainerID: id1, PodUID: uid}},
	{"k8s containerd systemd guaranteed", "0::/kubepods.slice/kubepods-pod" + uidEsc + ".slice/cri-containerd-" + id1 + ".scope\n",
		Attribution{Path: "/kubepods.slice/kubepods-pod" + uidEsc + ".slice/cri-containerd-" + id1 + ".scope",
			Unit: "cri-containerd-" + id1 + ".scope", ContainerID: id1, PodUID: uid}},
	{"k8s static pod", "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + staticUID + ".slice/cri-containerd-" + id1 + ".scope\n",
		Attribution{Path: "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + staticUID + ".slice/cri-containerd-" + id1 + ".scope",
			Unit: "cri-containerd-" + id1 + ".scope", ContainerID: id1, PodUID: staticUID}},
	{"kind node (kubelet cgroup root)", "0::/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod" + uidEsc + ".slice/cri-containerd-" + id1 + ".scope\n",
		Attribution{Path: "/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod" + uidEsc + ".slice/cri-containerd-" + id1 + ".scope",
			Unit: "cri-containerd-" + id1 + ".scope", ContainerID: id1, PodUID: uid}},

	// Kubernetes with containerd, cgroupfs driver.
	{"k8s containerd cgroupfs burstable", "0::/kubepods/burstable/pod" + uid + "/" + id1 + "\n",
		Attribution{Path: "/kubepods/burstable/pod" + uid + "/" + id1, ContainerID: id1, PodUID: uid}},
	{"k8s containerd cgroupfs besteffort", "0::/kubepods/besteffort/pod" + uid + "/" + id1 + "\n",
		Attribution{Path: "/kubepods/besteffort/pod" + uid + "/" + id1, ContainerID: id1, PodUID: uid}},
	{"k8s containerd cgroupfs guaranteed", "0::/kubepods/pod" + uid + "/" + id1 + "\n",
		Attribution{Path: "/kubepods/pod" + uid + "/" + id1, ContainerID: id1, PodUID: uid}},
	{"k8s cgroupfs, hybrid host", v1cgroupfs("/kubepods/burstable/pod"+uid+"/"+id1, "/system.slice/containerd.service"),
		Attribution{Path: "/kubepods/burstable/pod" + uid + "/" + id1, ContainerID: id1, PodUID: uid}},

	// CRI-O.
	{"cri-o systemd", "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uidEsc + ".slice/crio-" + id1 + ".scope\n",
		Attribution{Path: "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uidEsc + ".slice/crio-" + id1 + ".scope",
			Unit: "crio-" + id1 + ".scope", ContainerID: id1, PodUID: uid}},
	{"cri-o systemd, container subgroup", "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + uidEsc + ".slice/crio-" + id1 + ".scope/container\n",
		Attribution{Path: "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + uidEsc + ".slice/crio-" + id1 + ".scope/container",
			Unit: "crio-" + id1 + ".scope", ContainerID: id1, PodUID: uid}},
	{"cri-o conmon (not in the container)", "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uidEsc + ".slice/crio-conmon-" + id1 + ".scope\n",
		Attribution{Path: "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uidEsc + ".slice/crio-conmon-" + id1 + ".scope",
			Unit: "crio-conmon-" + id1 + ".scope", PodUID: uid}},
	{"cri-o cgroupfs", "0::/kubepods/burstable/pod" + uid + "/crio-" + id1 + "\n",
		Attribution{Path: "/kubepods/burstable/pod" + uid + "/crio-" + id1, ContainerID: id1, PodUID: uid}},

	// Podman.
	{"podman rootful", "0::/machine.slice/libpod-" + id1 + ".scope/container\n",
		Attribution{Path: "/machine.slice/libpod-" + id1 + ".scope/container", Unit: "libpod-" + id1 + ".scope", ContainerID: id1}},
	{"podman rootful pod", "0::/machine.slice/machine-libpod_pod_" + id2 + ".slice/libpod-" + id1 + ".scope/container\n",
		Attribution{Path: "/machine.slice/machine-libpod_pod_" + id2 + ".slice/libpod-" + id1 + ".scope/container", Unit: "libpod-" + id1 + ".scope", ContainerID: id1}},
	{"podman rootless", "0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + id1 + ".scope/container\n",
		Attribution{Path: "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + id1 + ".scope/container", Unit: "user@1000.service", ContainerID: id1}},
	{"podman conmon (not in the container)", "0::/machine.slice/libpod-conmon-" + id1 + ".scope\n",
		Attribution{Path: "/machine.slice/libpod-conmon-" + id1 + ".scope", Unit: "libpod-conmon-" + id1 + ".scope"}},
	{"podman cgroupfs", "0::/libpod_parent/libpod-" + id1 + "\n",
		Attribution{Path: "/libpod_parent/libpod-" + id1, ContainerID: id1}},
	{"podman cgroupfs pod", "0::/libpod_parent/" + id2 + "/libpod-" + id1 + "\n",
		Attribution{Path: "/libpod_parent/" + id2 + "/libpod-" + id1, ContainerID: id1}},
	{"podman cgroupfs conmon", "0::/libpod_parent/conmon\n", Attribution{Path: "/libpod_parent/conmon"}},
	{"nerdctl systemd", "0::/system.slice/nerdctl-" + id1 + ".scope\n",
		Attribution{Path: "/system.slice/nerdctl-" + id1 + ".scope", Unit: "nerdctl-" + id1 + ".scope", ContainerID: id1}},

	// Unknown layouts: NULL, never a guess.
	{"custom cgroup parent", "0::/actions_job/" + id1 + "\n", Attribution{Path: "/actions_job/" + id1}},
	{"64-hex unit name", "0::/system.slice/run-" + id1 + ".scope\n",
		Attribution{Path: "/system.slice/run-" + id1 + ".scope", Unit: "run-" + id1 + ".scope"}},
	{"short id", "0::/docker/" + id1[:63] + "\n", Attribution{Path: "/docker/" + id1[:63]}},
	{"long id", "0::/docker/" + id1 + "0\n", Attribution{Path: "/docker/" + id1 + "0"}},
	{"upper-case id", "0::/docker/" + strings.ToUpper(id1) + "\n", Attribution{Path: "/docker/" + strings.ToUpper(id1)}},
	{"pod outside kubepods", "0::/other/burstable/pod" + uid + "/" + id1 + "\n",
		Attribution{Path: "/other/burstable/pod" + uid + "/" + id1}},
	{"bad pod uid", "0::/kubepods/burstable/podnot-a-uid/" + id1 + "\n",
		Attribution{Path: "/kubepods/burstable/podnot-a-uid/" + id1}},
	{"pod slice in the wrong parent", "0::/kubepods.slice/kubepods-burstable-pod" + uidEsc + ".slice\n",
		Attribution{Path: "/kubepods.slice/kubepods-burstable-pod" + uidEsc + ".slice"}},
	{"lxc", "0::/lxc.payload.web01\n", Attribution{Path: "/lxc.payload.web01"}},
	{"outside the cgroup namespace", "0::/../../system.slice/nginx.service\n",
		Attribution{Path: "/../../system.slice/nginx.service"}},
	{"unit template without instance", "0::/system.slice/getty@.service\n", Attribution{Path: "/system.slice/getty@.service"}},
}

func TestParse(t *testing.T) {
	for _, c := range cases {
		got, ok := Parse([]byte(c.File))
		if !ok || got != c.Want {
			t.Errorf("%s:\n got %+v (ok %v)\nwant %+v", c.Name, got, ok, c.Want)
		}
	}
}

func TestParseNotACgroupFile(t *testing.T) {
	for _, in := range []string{"", "\n", "garbage", "x::/a", "1:cpu:relative", "0::"} {
		if a, ok := Parse([]byte(in)); ok || a != (Attribution{}) {
			t.Errorf("Parse(%q) = %+v, %v; want nothing", in, a, ok)
		}
	}
}

func TestRead(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "42"), 0o755)
	os.WriteFile(filepath.Join(dir, "42", "cgroup"), []byte("0::/system.slice/nginx.service\n"), 0o644)
	a, err := Read(dir, 42)
	if err != nil || a.Unit != "nginx.service" {
		t.Errorf("Read = %+v, %v", a, err)
	}
	if _, err := Read(dir, 43); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "pid 43") {
		t.Errorf("missing process: %v", err)
	}
	self, err := Read("/proc", os.Getpid())
	if err != nil || !strings.HasPrefix(self.Path, "/") {
		t.Errorf("own cgroup: %+v, %v", self, err)
	}
}

func FuzzParse(f *testing.F) {
	for _, c := range cases {
		f.Add(c.File)
	}
	f.Fuzz(func(t *testing.T, in string) {
		a, ok := Parse([]byte(in))
		if !ok {
			if a != (Attribution{}) {
				t.Fatalf("not ok but %+v", a)
			}
			return
		}
		found := false
		for _, line := range strings.Split(in, "\n") {
			if strings.HasSuffix(line, ":"+a.Path) {
				found = true
			}
		}
		if !found || !strings.HasPrefix(a.Path, "/") {
			t.Fatalf("path %q is no line's", a.Path)
		}
		if a != ParsePath(a.Path) {
			t.Fatalf("Parse %+v, ParsePath %+v", a, ParsePath(a.Path))
		}
		if a.ContainerID != "" && (!isID(a.ContainerID) || !strings.Contains(a.Path, a.ContainerID)) {
			t.Fatalf("container id %q from %q", a.ContainerID, a.Path)
		}
		if a.PodUID != "" && (!validPodUID(a.PodUID) ||
			!strings.Contains(a.Path, a.PodUID) && !strings.Contains(a.Path, strings.ReplaceAll(a.PodUID, "-", "_"))) {
			t.Fatalf("pod uid %q from %q", a.PodUID, a.Path)
		}
		if a.Unit != "" && (!validUnit(a.Unit) || strings.HasSuffix(a.Unit, ".slice") || !strings.Contains(a.Path, "/"+a.Unit) && !strings.Contains(a.Path, "/_"+a.Unit)) {
			t.Fatalf("unit %q from %q", a.Unit, a.Path)
		}
	})
}
