// Package fileread opens the files netsql reads on a user's or a /proc
// tree's say (-f FILE, query directories, init.sql, .read, --proc trees,
// live /proc) so that a hostile path cannot hang or exhaust it.
//
// A FIFO where a file is expected would block the open (no writer) or the
// read (a writer that never writes) in the kernel, where no context or
// signal reaches; a device node such as /dev/zero never ends. So every
// open here is non-blocking, the opened descriptor is checked with fstat
// (not a stat before the open, which a rename could race) and anything but
// a regular file is refused; what is read is capped, and going past the
// cap is an error, never a silently shortened file. Reads that may block
// inside the kernel even on a regular file (/proc/PID/cmdline waits for
// the process's mmap lock) run under a context with ReadContext.
//
// The package imports nothing of netsql: commands, the shell, the query
// catalog and the kernel readers may all use it.
package fileread

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// Caps on what is read from one file.
const (
	// MaxScript bounds a file of SQL: -f FILE, a query file, init.sql,
	// .read FILE, standard input.
	MaxScript = 16 << 20
	// MaxProcFile bounds one file of a /proc tree (live or on disk):
	// /proc/net/tcp of a million sockets is 150 MB, a full BGP table in
	// fib_trie a few hundred.
	MaxProcFile = 1 << 30
)

// ErrNotRegular is what an open of anything but a regular file fails with
// (wrapped in a *fs.PathError naming the path and the kind of file).
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is what a read past its cap fails with.
var ErrTooLarge = errors.New("file too large")

// Open opens path for reading without blocking and returns it only when
// it is a regular file (symbolic links are followed). Errors are
// *fs.PathError, so errors.Is(err, fs.ErrNotExist) and
// errors.Is(err, ErrNotRegular) work.
func Open(path string) (*os.File, error) {
	fd, err := openNonblock(unix.AT_FDCWD, path)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	if err := CheckFD(fd); err != nil {
		unix.Close(fd)
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

func openNonblock(dirfd int, path string) (int, error) {
	for {
		// O_NONBLOCK: opening a FIFO without a writer, or a device that
		// waits for a carrier, returns at once. O_NOCTTY: opening a
		// terminal never makes it netsql's controlling terminal.
		fd, err := unix.Openat(dirfd, path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
		if err == unix.EINTR {
			continue
		}
		return fd, err
	}
}

// CheckFD returns nil when fd is a regular file, else an error wrapping
// ErrNotRegular that says what it is.
func CheckFD(fd int) error {
	var st unix.Stat_t
	for {
		err := unix.Fstat(fd, &st)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		break
	}
	if st.Mode&unix.S_IFMT == unix.S_IFREG {
		return nil
	}
	return fmt.Errorf("%w (%s)", ErrNotRegular, kind(st.Mode))
}

// kind names a file type for an error message.
func kind(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFIFO:
		return "a FIFO or pipe"
	case unix.S_IFCHR:
		return "a character device"
	case unix.S_IFBLK:
		return "a block device"
	case unix.S_IFSOCK:
		return "a socket"
	case unix.S_IFDIR:
		return "a directory"
	}
	return fmt.Sprintf("file type %#o", mode&unix.S_IFMT)
}

// ReadFile reads the regular file at path whole, failing when it holds
// more than max bytes.
func ReadFile(path string, max int64) ([]byte, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadAll(f, path, max)
}

// ReadAll reads r to its end, failing with an error naming name when it
// holds more than max bytes.
func ReadAll(r io.Reader, name string, max int64) ([]byte, error) {
	b, err := io.ReadAll(Limit(r, name, max))
	if err != nil {
		return nil, err
	}
	return b, nil
}

// Limit returns a reader that reads r and fails with an error naming name
// (wrapping ErrTooLarge) once more than max bytes have come.
func Limit(r io.Reader, name string, max int64) io.Reader {
	return &limited{r: r, name: name, max: max, left: max}
}

type limited struct {
	r         io.Reader
	name      string
	max, left int64
}

func (l *limited) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, l.err()
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n + int(l.left), l.err()
	}
	return n, err
}

func (l *limited) err() error {
	return &fs.PathError{Op: "read", Path: l.name, Err: fmt.Errorf("%w: more than %s", ErrTooLarge, size(l.max))}
}

// size writes a byte count the way a user would say it.
func size(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// ReadContext runs read, which may block in the kernel where no context
// reaches (a /proc/PID/cmdline read waits for the process's mmap lock),
// and returns its result, or ctx's error as soon as ctx ends. A read still
// blocked then is abandoned: its goroutine ends, and its result is
// dropped, whenever the kernel lets it return; read must own everything it
// touches (its own descriptor and buffer).
func ReadContext[T any](ctx context.Context, read func() (T, error)) (T, error) {
	if err := ctx.Err(); err != nil {
		var zero T
		return zero, err
	}
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := read()
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}
