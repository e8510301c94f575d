package procnet

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/netsql/netsql/vtab/sock"
)

// StreamBatch is how many sockets Stream hands over at a time, at most.
const StreamBatch = 256

// Stream reads the sockets Sockets returns, in the same order, but hands
// them to yield in batches as the files are parsed instead of holding
// them all: memory stays flat however long the files are. A batch is
// valid only until yield returns; when yield returns false, Stream stops
// reading and returns nil. Errors are those of Sockets; sockets handed
// over before an error stay handed over.
func (r *Reader) Stream(ctx context.Context, req sock.Request, yield func([]sock.Socket) bool) error {
	mask := req.StateMask()
	netDir := filepath.Join(r.root, "net")
	out := make([]sock.Socket, 0, StreamBatch)
	// hand filters the sockets parsed so far and, once a batch is full
	// (or at the end of a file, with all), hands them over.
	hand := func(out []sock.Socket, all bool) ([]sock.Socket, bool) {
		if len(out) < StreamBatch && !all {
			return out, true
		}
		out = applyFilter(&req.Filter, out, 0)
		if len(out) > 0 && !yield(out) {
			return out[:0], false
		}
		return out[:0], true
	}
	flush := func(out []sock.Socket) ([]sock.Socket, bool) { return hand(out, false) }
	checked, anyFile := false, false
	for _, f := range netFiles {
		if !req.Wants(f.family, f.proto) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if !checked {
			if _, err := os.Stat(netDir); err != nil {
				return fmt.Errorf("procnet: %w", err)
			}
			checked = true
		}
		var err error
		var found, ok bool
		out, found, err = readFile(filepath.Join(netDir, f.name), f, mask, out, flush)
		if errors.Is(err, errStopped) {
			return nil
		}
		if err != nil {
			return err
		}
		anyFile = anyFile || found
		if out, ok = hand(out, true); !ok {
			return nil
		}
	}
	if checked && !anyFile && !hasSocketFile(netDir) {
		return fmt.Errorf("procnet: %s holds none of the socket files (%s): %w", netDir, netFileNames(), fs.ErrNotExist)
	}
	return nil
}
