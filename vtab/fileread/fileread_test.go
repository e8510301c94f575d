package fileread

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fifo makes a FIFO in a temp dir and returns its path.
func fifo(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fifo")
	if err := unix.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// zeroDevice makes a character device node like /dev/zero (1,5) in a temp
// dir; it skips without the privilege to make device nodes.
func zeroDevice(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "zero")
	if err := unix.Mknod(p, unix.S_IFCHR|0o600, int(unix.Mkdev(1, 5))); err != nil {
		t.Skipf("making a device node needs CAP_MKNOD (running as uid %d): %v", os.Geteuid(), err)
	}
	return p
}

// mustRefuse checks that err refuses path as not a regular file, naming it.
func mustRefuse(t *testing.T, what, path string, err error) {
	t.Helper()
	if !errors.Is(err, ErrNotRegular) {
		t.Fatalf("%s: err = %v, want ErrNotRegular", what, err)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("%s: error %q does not name %s", what, err, path)
	}
}

// TestRefusesFIFO opens a FIFO nobody writes to (a plain open blocks
// forever), one a writer holds open without writing (a plain read blocks
// forever), and a symlink to one: each is refused at once.
func TestRefusesFIFO(t *testing.T) {
	p := fifo(t)
	_, err := ReadFile(p, MaxScript)
	mustRefuse(t, "fifo without writer", p, err)

	// A writer holding the FIFO open: opened non-blocking from this side
	// so the test itself cannot hang.
	r, err := unix.Open(p, unix.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(r)
	w, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	_, err = ReadFile(p, MaxScript)
	mustRefuse(t, "fifo with a silent writer", p, err)

	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(p, link); err != nil {
		t.Fatal(err)
	}
	_, err = Open(link)
	mustRefuse(t, "symlink to a fifo", link, err)

	dir := t.TempDir()
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if _, err := Openat(fd, "missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Openat of a missing file: %v, want ErrNotExist", err)
	}
	if err := unix.Mkfifo(filepath.Join(dir, "f"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Openat(fd, "f"); !errors.Is(err, ErrNotRegular) {
		t.Errorf("Openat of a fifo: %v, want ErrNotRegular", err)
	}
}

// TestRefusesDevices refuses a character device that never ends (a
// /dev/zero made in a temp dir) and a directory.
func TestRefusesDevices(t *testing.T) {
	dir := t.TempDir()
	_, err := ReadFile(dir, MaxScript)
	mustRefuse(t, "directory", dir, err)

	z := zeroDevice(t)
	_, err = ReadFile(z, MaxScript)
	mustRefuse(t, "character device", z, err)
}

// TestCap reads a file at the cap whole and fails one byte past it, with
// an error naming the file and the cap.
func TestCap(t *testing.T) {
	dir := t.TempDir()
	at := filepath.Join(dir, "at")
	over := filepath.Join(dir, "over")
	want := bytes.Repeat([]byte("x"), 4096)
	os.WriteFile(at, want, 0o600)
	os.WriteFile(over, append(want, 'y'), 0o600)
	got, err := ReadFile(at, 4096)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("file at the cap: %d bytes, %v", len(got), err)
	}
	_, err = ReadFile(over, 4096)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), over) || !strings.Contains(err.Error(), "4 KiB") {
		t.Fatalf("file past the cap: %v", err)
	}
	if _, err := ReadFile(filepath.Join(dir, "missing"), 10); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v, want ErrNotExist", err)
	}
}

// TestReadContextAbandonsBlockedRead blocks a read on a pipe nobody
// writes to and checks that ReadContext returns once its context ends.
func TestReadContextAbandonsBlockedRead(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := ReadContext(ctx, func() ([]byte, error) {
			close(started)
			b := make([]byte, 1)
			n, err := r.Read(b)
			return b[:n], err
		})
		done <- err
	}()
	<-started
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("ReadContext did not return after its context ended")
	}
	w.Close() // lets the abandoned read end

	got, err := ReadContext(context.Background(), func() (string, error) { return "ok", nil })
	if got != "ok" || err != nil {
		t.Errorf("a read that returns: %q, %v", got, err)
	}
}

// Openat (kept for this test: no reader needs it) opens name relative to the directory dirfd as Open does and
// returns the raw descriptor, for readers that walk /proc with *at calls.
// The error is the errno of the open, or one wrapping ErrNotRegular.
func Openat(dirfd int, name string) (int, error) {
	fd, err := openNonblock(dirfd, name)
	if err != nil {
		return -1, err
	}
	if err := CheckFD(fd); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}
