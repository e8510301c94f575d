package vtab

import (
	"context"
	"strings"

	"github.com/netsql/netsql/vtab/procnet"
	"github.com/netsql/netsql/vtab/sock"
)

// procNetColumns are sockets columns only the /proc/net files carry. A
// statement that uses one reads that protocol's sockets from /proc/net
// (what netstat reads) instead of netlink, so the netstat views see
// exactly netstat's numbers and order.
var procNetColumns = []struct {
	column string
	proto  sock.Proto
}{
	{"probes", sock.TCP},
	{"refcnt", sock.UNIX},
	{"flags", sock.UNIX},
}

// readSocketList reads the sockets req asks for from src, taking the
// protocols whose /proc/net-only columns q uses from /proc/net.
func readSocketList(ctx context.Context, src *Source, q *Query, req sock.Request) ([]sock.Socket, error) {
	if !src.Live {
		return src.Sockets.Sockets(ctx, req) // already /proc/net
	}
	all := req.Protocols
	if len(all) == 0 {
		all = sock.Protos
	}
	var viaProc, viaSource []sock.Proto
	for _, p := range all {
		proc := false
		for _, c := range procNetColumns {
			proc = proc || c.proto == p && q.Uses(c.column)
		}
		if proc {
			viaProc = append(viaProc, p)
		} else {
			viaSource = append(viaSource, p)
		}
	}
	if len(viaProc) == 0 {
		return src.Sockets.Sockets(ctx, req)
	}
	var out []sock.Socket
	if len(viaSource) > 0 {
		r := req
		r.Protocols = viaSource
		socks, err := src.Sockets.Sockets(ctx, r)
		if err != nil {
			return nil, err
		}
		out = socks
	}
	r := req
	r.Protocols = viaProc
	socks, err := procnet.New(src.NetRoot).Sockets(ctx, r)
	if err != nil {
		return nil, err
	}
	return append(out, socks...), nil
}

// Flag bits of /proc/net/unix's Flags column that netstat names.
const (
	soAcceptCon = 1 << 16 // a listener: ACC
	soWaitData  = 1 << 17 // W (no current kernel sets it)
	soNoSpace   = 1 << 18 // N (no current kernel sets it)
)

// unixFlagWords returns netstat's words for unix socket flags, space
// separated ("ACC"), "" for none.
func unixFlagWords(flags uint32) string {
	var words []string
	for _, f := range []struct {
		bit  uint32
		word string
	}{{soAcceptCon, "ACC"}, {soWaitData, "W"}, {soNoSpace, "N"}} {
		if flags&f.bit != 0 {
			words = append(words, f.word)
		}
	}
	return strings.Join(words, " ")
}
