package sockdiag

import (
	"context"
	"net"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/netsql/netsql/vtab/sock"
)

// captureDump returns up to max reply payloads of a real dump of req, or
// none when the kernel refuses sock_diag here.
func captureDump(req []byte, max int) [][]byte {
	c, err := dial(context.Background(), nil, nil)
	if err != nil {
		return nil
	}
	defer c.close()
	var out [][]byte
	_, _ = c.dump(context.Background(), req, func(p []byte) error {
		if len(out) < max {
			out = append(out, append([]byte(nil), p...))
		}
		return nil
	})
	return out
}

// FuzzParseExtras fuzzes inet_diag and unix_diag replies with every extra
// asked for (tcp_info, meminfo, congestion, shutdown, cgroup), which
// FuzzParse leaves out. Seeds are replies the kernel sent for a loopback
// connection and a unix socket pair this test opens, plus built ones.
func FuzzParseExtras(f *testing.F) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err == nil {
		defer ln.Close()
		if c, err := net.Dial("tcp4", ln.Addr().String()); err == nil {
			defer c.Close()
			c.Write(make([]byte, 100))
		}
	}
	if fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0); err == nil {
		defer unix.Close(fds[0])
		defer unix.Close(fds[1])
	}
	for _, p := range captureDump(inetRequest(unix.AF_INET, unix.IPPROTO_TCP, sock.AllStates, idiagExt(sock.AllExtras), nil), 8) {
		f.Add(p, false)
	}
	for _, p := range captureDump(unixRequest(sock.AllStates, sock.AllExtras), 8) {
		f.Add(p, true)
	}
	f.Add(inetMsg(inetFields{family: unix.AF_INET, state: sock.StateEstablished},
		append(commonInetAttrs(),
			nlattr(inetDiagInfo, make([]byte, 232)),
			nlattr(inetDiagSkMemInfo, make([]byte, 36)),
			nlattr(inetDiagCong, []byte("cubic\x00")))...), false)
	f.Add(inetMsg(inetFields{family: unix.AF_INET6}, nlattr(inetDiagInfo, []byte{1}), nlattr(inetDiagCong, []byte("bbr"))), false)
	f.Add(unixMsg(1, 1, 1, 1, nlattr(unixDiagMemInfo, make([]byte, 20)), nlattr(unixDiagShutdown, []byte{3})), true)
	f.Fuzz(func(t *testing.T, b []byte, isUnix bool) {
		var arena extraArena
		var socks []sock.Socket
		if isUnix {
			if s, err := parseUnixMessage(b, sock.AllExtras, &arena); err == nil {
				socks = append(socks, s)
			}
		} else if len(b) > 0 {
			for _, fam := range []uint8{unix.AF_INET, unix.AF_INET6} {
				c := append([]byte(nil), b...)
				c[0] = fam
				for _, proto := range []sock.Proto{sock.TCP, sock.UDP, sock.RAW} {
					if s, err := parseInetMessage(c, fam, proto, sock.AllExtras, &arena); err == nil {
						socks = append(socks, s)
					}
				}
			}
		}
		for _, s := range socks {
			if s.Extra == nil {
				continue
			}
			if s.Extra.Have&^sock.AllExtras != 0 {
				t.Fatalf("extras %b beyond those asked for", s.Extra.Have)
			}
			if s.Extra.Have&sock.ExtraTCPInfo != 0 && s.Protocol != sock.TCP {
				t.Fatalf("tcp_info on a %v socket", s.Protocol)
			}
		}
	})
}
