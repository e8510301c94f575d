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

// WriteTextfile writes mfs in the Prometheus text format to path for
// node_exporter's textfile collector, atomically: the text goes to a
// hidden temporary file in path's directory (a name the collector ignores,
// not ending in .prom), is synced, made world-readable and renamed over
// path. Readers see the old file or the new one, never a partial one; on
// any error the temporary file is removed and path is left as it was.
func WriteTextfile(path string, mfs []*dto.MetricFamily) (err error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("cannot write %s: is a directory", path)
	}
	dir, base := filepath.Split(path)
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
	if err := os.Rename(tmp, path); err != nil {
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
