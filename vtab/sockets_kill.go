package vtab

import (
	"context"
	"fmt"

	"github.com/netsql/netsql/vtab/sock"
	"github.com/netsql/netsql/vtab/sockdiag"
)

// socketKiller is what DELETE FROM sockets does: close each matched TCP,
// UDP or raw socket through sock_diag's SOCK_DESTROY, as `ss -K` does,
// from inside the socket's namespace. Unix sockets are never touched.
var socketKiller = &Killer[socketRecord]{
	Close:    closeSocket,
	Describe: describeSocket,
}

// closeSocket destroys r's socket in the namespace at nsPath ("" for
// netsql's own).
func closeSocket(ctx context.Context, src *Source, nsPath string, r *socketRecord) error {
	closer, err := src.socketCloser(nsPath)
	if err != nil {
		return err
	}
	if r.Protocol == sock.UNIX {
		return sockdiag.ErrNotInet
	}
	return closer.Destroy(ctx, r.Socket)
}

// describeSocket names a socket as ss lists it: proto, local and remote
// address, state, and the owning process when the statement read it.
func describeSocket(r *socketRecord) string {
	s := r.Socket
	var d string
	if s.Protocol == sock.UNIX {
		d = fmt.Sprintf("unix %s inode %d %s", nullText(nullIfEmpty(s.Path), "*"), s.Inode, stateName(s))
	} else {
		d = fmt.Sprintf("%s %s -> %s %s", protoWord(s), s.Local, s.Remote, stateName(s))
	}
	if o := r.owner; o != nil {
		d += fmt.Sprintf(" pid %d", o.pid)
		if p, ok := o.program.(string); ok {
			d += " " + p
		}
	}
	return d
}

// nullText is v as text, or null when v is NULL.
func nullText(v any, null string) string {
	if v == nil {
		return null
	}
	return fmt.Sprint(v)
}
