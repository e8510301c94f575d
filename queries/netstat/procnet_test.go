package netstat

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/netsql/netsql/vtab"
)

// TestInetReadsProcNetOnlyForTimers checks that netstat -tan(p) does not
// read /proc/net/tcp: only -o's probes column comes from that file, and
// reading it (the kernel formats every socket as text) cost -tanp a
// fifth of its time at 80k sockets. The source's net files are pointed
// at an empty directory: a listing that read them would fail.
func TestInetReadsProcNetOnlyForTimers(t *testing.T) {
	src, err := vtab.NewSource("", nil)
	if err != nil {
		t.Fatal(err)
	}
	src.NetRoot = t.TempDir() // no net/tcp here
	eng, err := Open(vtab.Options{Source: src})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ours := fmt.Sprintf("127.0.0.1:%d ", ln.Addr().(*net.TCPAddr).Port)
	for _, args := range [][]string{{"-tln"}, {"-tlnp"}, {"-tlnpe"}} {
		var out, errs strings.Builder
		if code := Command(context.Background(), eng, args, &out, &errs); code != 0 || errs.Len() > 0 {
			t.Errorf("netstat %v read /proc/net: exit %d: %s", args, code, errs.String())
			continue
		}
		if !strings.Contains(out.String(), ours) {
			t.Errorf("netstat %v does not list our listener %s:\n%s", args, ours, out.String())
		}
	}
	// -o needs the file: the listing fails, which shows the test can see
	// a read of it.
	var out, errs strings.Builder
	if code := Command(context.Background(), eng, []string{"-tlno"}, &out, &errs); code == 0 || !strings.Contains(errs.String(), "procnet") {
		t.Errorf("netstat -tlno without /proc/net/tcp: exit %d, stderr %q; want the error of reading it", code, errs.String())
	}
}
