package procs

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// fuzzFixture is a process of the shared fixture /proc tree.
const fuzzFixture = "../testdata/fixture/proc/9058"

// addProcSeeds adds the fixture's copy of name and the live process's own.
func addProcSeeds(f *testing.F, name string) {
	for _, dir := range []string{fuzzFixture, "/proc/self"} {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
			f.Add(b)
			f.Add(b[:len(b)/2])
		}
	}
}

// FuzzParseStat: /proc/PID/stat, whose comm may hold anything.
func FuzzParseStat(f *testing.F) {
	addProcSeeds(f, "stat")
	f.Add([]byte("1 (a) b) (c) S 7 1"))
	f.Add([]byte("1 () S 0"))
	f.Add([]byte(")("))
	f.Fuzz(func(t *testing.T, b []byte) {
		comm, ppid, ok := parseStat(b)
		if !ok {
			return
		}
		if !bytes.Contains(b, []byte("("+comm+")")) {
			t.Fatalf("comm %q is not between parentheses of %q", comm, b)
		}
		if ppid < 0 || !bytes.Contains(b, []byte(strconv.Itoa(ppid))) && ppid != 0 {
			t.Fatalf("ppid %d not in %q", ppid, b)
		}
	})
}

// FuzzParseStatusUIDs: the Uid: line of /proc/PID/status.
func FuzzParseStatusUIDs(f *testing.F) {
	addProcSeeds(f, "status")
	f.Add([]byte("Uid:\t4294967295\t0\t0\t0\n"))
	f.Add([]byte("Uid:"))
	f.Fuzz(func(t *testing.T, b []byte) {
		uid, euid, ok := parseStatusUIDs(b)
		if ok && !bytes.Contains(b, []byte(strconv.FormatUint(uint64(uid), 10))) {
			t.Fatalf("uid %d (euid %d) not in %q", uid, euid, b)
		}
	})
}

// FuzzNetstatProgram: /proc/PID/cmdline as netstat -p names it.
func FuzzNetstatProgram(f *testing.F) {
	addProcSeeds(f, "cmdline")
	f.Add([]byte("/usr/sbin/nginx: worker process"))
	f.Add([]byte("/\x00/x"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p := NetstatProgram(b)
		if strings.IndexByte(p, 0) >= 0 || len(p) > netstatCmdlineMax || !bytes.Contains(b, []byte(p)) {
			t.Fatalf("program %q from %q", p, b)
		}
		if len(b) > 0 && b[0] == '/' && strings.Contains(p, "/") {
			t.Fatalf("absolute argv[0] %q kept a directory: %q", b, p)
		}
		_ = joinCmdline(b)
		pp := NetstatPIDProgram(1<<22, p)
		if len(pp) > netstatNameWidth-1 {
			t.Fatalf("PID/Program %q longer than netstat's buffer", pp)
		}
	})
}

// FuzzParseLinks: fd link targets ("socket:[N]"), namespace links
// ("net:[N]") and fd directory entry names, checked against strconv.
func FuzzParseLinks(f *testing.F) {
	ents, _ := os.ReadDir(filepath.Join(fuzzFixture, "fd"))
	for _, e := range ents {
		target, _ := os.Readlink(filepath.Join(fuzzFixture, "fd", e.Name()))
		f.Add([]byte(target))
		f.Add([]byte(e.Name() + "\x00"))
	}
	if target, err := os.Readlink(filepath.Join(fuzzFixture, "ns/net")); err == nil {
		f.Add([]byte(target))
	}
	f.Add([]byte("[0000]:12345"))
	f.Add([]byte("socket:[18446744073709551615]"))
	f.Add([]byte("socket:[18446744073709551616]"))
	f.Add([]byte("2147483648\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if ino, ok := parseSocketLink(b); ok {
			digits := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(string(b), "socket:["), "[0000]:"), "]")
			if want, err := strconv.ParseUint(digits, 10, 64); err != nil || want != ino {
				t.Fatalf("parseSocketLink(%q) = %d; strconv says %d, %v", b, ino, want, err)
			}
		}
		if ino, ok := parseNSLink(b, "net"); ok {
			want, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(string(b), "net:["), "]"), 10, 64)
			if err != nil || want != ino {
				t.Fatalf("parseNSLink(%q) = %d; strconv says %d, %v", b, ino, want, err)
			}
		}
		fd, ok := parseFD(b)
		name, _, _ := bytes.Cut(b, []byte{0})
		want, err := strconv.Atoi(string(name))
		if ok && (err != nil || want != fd || fd < 0) {
			t.Fatalf("parseFD(%q) = %d; strconv says %d, %v", b, fd, want, err)
		}
	})
}

// FuzzNextDirent walks a getdents64 buffer, seeded with real ones read
// from the fixture's and this process's fd directories.
func FuzzNextDirent(f *testing.F) {
	for _, dir := range []string{filepath.Join(fuzzFixture, "fd"), "/proc/self/fd", "/proc"} {
		fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
		if err != nil {
			continue
		}
		buf := make([]byte, 4096)
		if n, err := unix.Getdents(fd, buf); err == nil {
			f.Add(buf[:n])
		}
		unix.Close(fd)
	}
	f.Fuzz(func(t *testing.T, buf []byte) {
		for off := 0; ; {
			name, next, more := nextDirent(buf, off)
			if !more {
				return
			}
			if next <= off || next > len(buf) || len(name) > next-off {
				t.Fatalf("entry at %d: next %d, name %d bytes, buffer %d", off, next, len(name), len(buf))
			}
			parseFD(name)
			off = next
		}
	})
}
