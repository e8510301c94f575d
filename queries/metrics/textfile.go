package metrics

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// CheckTextfile returns the file a textfile export to path replaces: path
// itself, or the regular file a symbolic link at path leads to. It fails
// when path names anything but a regular file or nothing: renaming over
// /dev/null, a FIFO, a device node or a directory (or a link to one)
// would destroy it.
func CheckTextfile(path string) (string, error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return path, nil
	}
	if err != nil {
		return "", fmt.Errorf("cannot write %s: %w", path, pathErr(err))
	}
	target := path
	if fi.Mode()&fs.ModeSymlink != 0 {
		if target, err = filepath.EvalSymlinks(path); err != nil {
			return "", fmt.Errorf("cannot write %s: a symbolic link that leads nowhere (%w)", path, pathErr(err))
		}
		if fi, err = os.Stat(target); err != nil {
			return "", fmt.Errorf("cannot write %s: %w", path, pathErr(err))
		}
	}
	if !fi.Mode().IsRegular() {
		what := fileKind(fi.Mode())
		if target != path {
			what = "a symbolic link to " + what + " (" + target + ")"
		}
		return "", fmt.Errorf("cannot write %s: it is %s, not a regular file; left untouched", path, what)
	}
	return target, nil
}

// fileKind names what a non-regular file is.
func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "a special file"
}

// WriteTextfile writes mfs in the Prometheus text format to path for
// node_exporter's textfile collector, atomically: the text goes to a
// hidden temporary file in the directory of the file it replaces (a name
// the collector ignores, not ending in .prom), is synced, made
// world-readable and renamed over it. Readers see the old file or the new
// one, never a partial one; on any error the temporary file is removed and
// path is left as it was. Only a regular file (or a symbolic link to one,
// which is kept) or a missing path is replaced; anything else is refused
// (see CheckTextfile).
func WriteTextfile(path string, mfs []*dto.MetricFamily) (err error) {
	target, err := CheckTextfile(path)
	if err != nil {
		return err
	}
	dir, base := filepath.Split(target)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, pathErr(err))
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	enc := expfmt.NewEncoder(f, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return fmt.Errorf("write %s: %w", path, pathErr(err))
		}
	}
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, pathErr(err))
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, pathErr(err))
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, pathErr(err))
	}
	// Checked again just before the rename, which replaces whatever the
	// name holds by then.
	if again, err := CheckTextfile(path); err != nil {
		return err
	} else if again != target {
		return fmt.Errorf("cannot write %s: it changed while the metrics were written; left untouched", path)
	}
	if err := os.Rename(tmp, target); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, pathErr(err))
	}
	return nil
}

// pathErr drops the temporary file's name from an error: the user named
// the target, not the temporary file.
func pathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}
