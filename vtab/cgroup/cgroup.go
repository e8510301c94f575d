// Package cgroup attributes a process to the systemd unit, container and
// Kubernetes pod its control group names, reading /proc/PID/cgroup.
//
// The parsing is pure (Parse, ParsePath) and knows the layouts systemd,
// Docker, containerd, CRI-O, Podman, nerdctl and the kubelet create, with
// both the systemd and the cgroupfs cgroup drivers. A path in any other
// layout gives empty fields: an unknown layout is never guessed at.
package cgroup

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/netsql/netsql/vtab/fileread"
)

// Attribution is what a cgroup path says about the processes in it.
// Empty fields are unknown.
type Attribution struct {
	// Path is the cgroup path the other fields come from, as the kernel
	// prints it (relative to the reader's cgroup namespace). See Parse
	// for which hierarchy's path it is.
	Path string
	// Unit is the systemd unit the path belongs to, as sd_pid_get_unit
	// and `ps -o unit` name it: the first component after the leading
	// slices (nginx.service, session-3.scope, user@1000.service,
	// docker-ID.scope).
	Unit string
	// ContainerID is the 64-hex id of the container, by the layouts of
	// Docker, containerd (Kubernetes and nerdctl), CRI-O and Podman. The
	// runtimes' monitor processes (conmon) are not in their container.
	ContainerID string
	// PodUID is the Kubernetes pod's uid, from kubepods-*-pod<uid>.slice
	// (underscores turned back into dashes) or .../kubepods/QOS/pod<uid>.
	PodUID string
}

// rank says how much an attribution tells: Parse prefers the hierarchy
// whose path tells the most.
func (a Attribution) rank() int {
	switch {
	case a.ContainerID != "" || a.PodUID != "":
		return 3
	case a.Unit != "":
		return 2
	case a.Path != "/":
		return 1
	}
	return 0
}

// deletedSuffix is what the kernel appends to a v2 path whose cgroup was
// removed while the process (a zombie) still points at it.
const deletedSuffix = " (deleted)"

// Parse reads the text of /proc/PID/cgroup: one "ID:CONTROLLERS:PATH"
// line per hierarchy, "0::PATH" for the v2 (unified) one. On a pure v2
// host that one path is the answer. Where v1 hierarchies are mounted
// (hybrid and legacy hosts) the lines are ranked, and the first of the
// best wins: a path naming a container or pod, then one naming a unit,
// then any path but the root; ties go to the v2 line, then name=systemd,
// then the v1 lines in the kernel's order. So a process systemd manages
// is attributed from the v2 mirror, and a Docker container the cgroupfs
// driver put in /docker/ID of the v1 controllers is found there even
// though its v2 path is its runtime's service. ok is false when no line
// has that shape.
func Parse(b []byte) (a Attribution, ok bool) {
	var best Attribution
	bestRank, bestPrio := -1, 0
	order := 0
	for line := range bytes.SplitSeq(b, []byte{'\n'}) {
		id, rest, found := bytes.Cut(line, []byte{':'})
		if !found || !isDigits(id) {
			continue
		}
		ctrl, path, found := bytes.Cut(rest, []byte{':'})
		if !found || len(path) == 0 || path[0] != '/' {
			continue
		}
		order++
		var prio int
		switch {
		case string(id) == "0" && len(ctrl) == 0:
			prio = 0
		case string(ctrl) == "name=systemd":
			prio = 1
		default:
			prio = 1 + order
		}
		cand := ParsePath(string(path))
		if r := cand.rank(); r > bestRank || r == bestRank && prio < bestPrio {
			best, bestRank, bestPrio = cand, r, prio
		}
	}
	return best, bestRank >= 0
}

func isDigits(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// ParsePath attributes one cgroup path ("/system.slice/nginx.service").
// Path is p unchanged; a trailing " (deleted)" is ignored for the rest.
func ParsePath(p string) Attribution {
	a := Attribution{Path: p}
	comps := strings.Split(strings.Trim(strings.TrimSuffix(p, deletedSuffix), "/"), "/")
	if len(comps) == 1 && comps[0] == "" {
		return a // the root
	}
	a.Unit = unitOf(comps)
	podAt := -1
	for i := range comps {
		if uid, ok := podUID(comps, i); ok {
			a.PodUID, podAt = uid, i
		}
		if id, ok := containerID(comps, i, podAt); ok {
			a.ContainerID = id // the innermost wins (Docker in Docker)
		}
	}
	return a
}

// unitOf is systemd's cg_path_get_unit: skip the leading slices; the next
// component, unescaped, must be a valid unit name.
func unitOf(comps []string) string {
	for _, c := range comps {
		name := unescape(c)
		if strings.HasSuffix(name, ".slice") && validUnit(name) {
			continue
		}
		if validUnit(name) {
			return name
		}
		return ""
	}
	return ""
}

// unescape undoes systemd's cg_escape: a leading underscore was added to
// names that start with '_' or '.' or clash with cgroup file names.
func unescape(c string) string {
	return strings.TrimPrefix(c, "_")
}

// unitMax is systemd's UNIT_NAME_MAX less its NUL.
const unitMax = 255

// unitTypes are the suffixes of systemd unit names (unit_type_table).
var unitTypes = []string{"service", "mount", "swap", "socket", "target", "device", "automount", "timer", "path", "slice", "scope"}

// validUnit is systemd's unit_name_is_valid for plain and instance names:
// "prefix.type" or "prefix@instance.type", of [A-Za-z0-9:_.\-], the
// instance also of '@'; a name starting with '@' or a template with an
// empty instance ("getty@.service") is no unit a process can run in.
func validUnit(n string) bool {
	if n == "" || len(n) > unitMax {
		return false
	}
	dot := strings.LastIndexByte(n, '.')
	if dot <= 0 || !slices.Contains(unitTypes, n[dot+1:]) {
		return false
	}
	stem := n[:dot]
	at := strings.IndexByte(stem, '@')
	if at == 0 || at == len(stem)-1 {
		return false
	}
	for i := 0; i < len(stem); i++ {
		c := stem[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(":-_.\\@", c) >= 0) {
			return false
		}
	}
	return true
}

// scopeRuntimes are the prefixes of the systemd scopes container
// runtimes create with the systemd cgroup driver: PREFIX-ID.scope.
// Their conmon scopes (crio-conmon-ID, libpod-conmon-ID) hold the
// monitor, which is not in the container, and do not match.
var scopeRuntimes = []string{
	"docker",         // dockerd (and cri-dockerd)
	"cri-containerd", // containerd's CRI plugin (Kubernetes)
	"crio",           // CRI-O
	"libpod",         // Podman, rootful and rootless
	"nerdctl",        // nerdctl on containerd
}

// cgroupfsParents are the cgroupfs-driver layouts: the directory a
// runtime puts its containers' directories in (their parent, or for
// Podman pods, /libpod_parent/POD, an ancestor), and the prefix before the
// id in their names.
var cgroupfsParents = []struct {
	parent, prefix string
	ancestor       bool
}{
	{"docker", "", false},              // /docker/ID
	{"libpod_parent", "libpod-", true}, // Podman: /libpod_parent[/POD]/libpod-ID
}

// podChildPrefixes are the names the runtimes give a container's
// directory inside a cgroupfs pod directory: /kubepods/QOS/podUID/NAME.
var podChildPrefixes = []string{
	"",      // containerd and dockershim: the bare id
	"crio-", // CRI-O
}

// containerID reports the container id component i names, if any; podAt
// is the index of the pod component before it (-1 for none).
func containerID(comps []string, i, podAt int) (string, bool) {
	c := comps[i]
	if stem, ok := strings.CutSuffix(c, ".scope"); ok && len(stem) > 65 {
		prefix, id := stem[:len(stem)-65], stem[len(stem)-64:]
		if stem[len(stem)-65] == '-' && slices.Contains(scopeRuntimes, prefix) && isID(id) {
			return id, true
		}
	}
	if i == 0 {
		return "", false
	}
	for _, l := range cgroupfsParents {
		if comps[i-1] == l.parent || l.ancestor && slices.Contains(comps[:i], l.parent) {
			if id, ok := strings.CutPrefix(c, l.prefix); ok && isID(id) {
				return id, true
			}
		}
	}
	if podAt == i-1 && isCgroupfsPod(comps, podAt) {
		for _, prefix := range podChildPrefixes {
			if id, ok := strings.CutPrefix(c, prefix); ok && isID(id) {
				return id, true
			}
		}
	}
	return "", false
}

// isID reports whether s is a runtime's container id: 64 lowercase hex.
func isID(s string) bool {
	return len(s) == 64 && isHex(s)
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// podQOS are the kubelet's quality-of-service classes below kubepods;
// guaranteed pods sit directly in kubepods.
var podQOS = []string{"burstable", "besteffort"}

// podUID reports the pod uid component i names, in either kubelet layout.
func podUID(comps []string, i int) (string, bool) {
	c := comps[i]
	if uid, ok := strings.CutPrefix(c, "pod"); ok && isCgroupfsPod(comps, i) {
		return uid, validPodUID(uid)
	}
	// systemd driver: PARENT-pod<uid>.slice inside PARENT.slice, where
	// PARENT is kubepods or kubepods-QOS (after the kubelet's cgroup root
	// prefix, as in kubelet-kubepods-besteffort.slice).
	name, ok := strings.CutSuffix(c, ".slice")
	if !ok || i == 0 {
		return "", false
	}
	dash := strings.LastIndex(name, "-pod")
	if dash < 0 || comps[i-1] != name[:dash]+".slice" {
		return "", false
	}
	parent := name[:dash]
	for _, q := range podQOS {
		parent = strings.TrimSuffix(parent, "-"+q)
	}
	if parent != "kubepods" && !strings.HasSuffix(parent, "-kubepods") {
		return "", false
	}
	uid := strings.ReplaceAll(name[dash+len("-pod"):], "_", "-")
	return uid, validPodUID(uid)
}

// isCgroupfsPod reports whether component i sits where the cgroupfs
// driver puts pods: /kubepods/pod<uid> (guaranteed) or
// /kubepods/QOS/pod<uid>.
func isCgroupfsPod(comps []string, i int) bool {
	if !strings.HasPrefix(comps[i], "pod") {
		return false
	}
	switch {
	case i >= 1 && comps[i-1] == "kubepods":
		return true
	case i >= 2 && comps[i-2] == "kubepods" && slices.Contains(podQOS, comps[i-1]):
		return true
	}
	return false
}

// validPodUID reports whether s is a pod uid: a UUID (8-4-4-4-12 lowercase
// hex) for API pods, or the 32-hex hash the kubelet gives static pods.
func validPodUID(s string) bool {
	switch len(s) {
	case 32:
		return isHex(s)
	case 36:
		for i, part := range strings.Split(s, "-") {
			if len(part) != []int{8, 4, 4, 4, 12}[i] || !isHex(part) {
				return false
			}
			if i == 4 {
				return true
			}
		}
	}
	return false
}

// maxFile bounds how much of a cgroup file is read: a handful of lines of
// at most PATH_MAX each on any real kernel.
const maxFile = 1 << 20

// Read reads procRoot/PID/cgroup and parses it. A process that does not
// exist (or exited) gives an error satisfying errors.Is(err,
// fs.ErrNotExist); a file with no cgroup line gives an empty Attribution
// and no error.
func Read(procRoot string, pid int) (Attribution, error) {
	// fileread: a FIFO planted in a copied tree must not hang a query,
	// nor a huge file fill memory.
	b, err := fileread.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "cgroup"), maxFile)
	if err == nil {
		a, _ := Parse(b)
		return a, nil
	}
	if errors.Is(err, syscall.ESRCH) {
		err = fmt.Errorf("%w (%w)", fs.ErrNotExist, err)
	}
	return Attribution{}, fmt.Errorf("cgroup: pid %d: %w", pid, err)
}
