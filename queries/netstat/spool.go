package netstat

import (
	"bytes"
	"fmt"
	"io"
	"os"
)

// spoolMemory is how much of a step's output a spool holds in memory
// before it moves to a temporary file.
const spoolMemory = 1 << 20

// spool holds a step's output until the step has succeeded, so that a
// failed step writes nothing: in memory up to spoolMemory bytes, past it
// in an unlinked temporary file, so that a listing of 400,000 sockets
// costs no more memory than one of 4,000. When no temporary file can be
// made it keeps everything in memory: output is never lost.
type spool struct {
	mem  bytes.Buffer
	file *os.File
	dir  string // where the file goes; "" for os.TempDir
}

func (s *spool) Write(p []byte) (int, error) {
	if s.file == nil && s.mem.Len()+len(p) > spoolMemory {
		s.toFile()
	}
	if s.file != nil {
		n, err := s.file.Write(p)
		if err != nil {
			return n, fmt.Errorf("netstat: spool output: %w", err)
		}
		return n, nil
	}
	return s.mem.Write(p)
}

// toFile moves what is held in memory to a temporary file, removed from
// its directory at once; it leaves the spool in memory when none can
// be made.
func (s *spool) toFile() {
	f, err := os.CreateTemp(s.dir, "netsql-netstat-*")
	if err != nil {
		return
	}
	os.Remove(f.Name())
	if _, err := f.Write(s.mem.Bytes()); err != nil {
		f.Close()
		return
	}
	s.file = f
	s.mem = bytes.Buffer{}
}

// WriteTo writes everything the spool holds to w.
func (s *spool) WriteTo(w io.Writer) (int64, error) {
	if s.file == nil {
		return s.mem.WriteTo(w)
	}
	if _, err := s.file.Seek(0, io.SeekStart); err != nil {
		return 0, fmt.Errorf("netstat: spool output: %w", err)
	}
	return io.Copy(w, s.file)
}

// Close releases the temporary file.
func (s *spool) Close() error {
	if s.file == nil {
		return nil
	}
	return s.file.Close()
}
