package netstat

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/netsql/netsql/vtab"
)

// TestNotifierActsOnKind: netstat mode rewords the owners notice by its
// kind, whatever its wording, and passes every other notice through
// verbatim, even one whose words resemble the owners notice.
func TestNotifierActsOnKind(t *testing.T) {
	var out bytes.Buffer
	notify := Notifier(&out)
	notify(vtab.Notice{Kind: vtab.NoticeOwnersDenied, Msg: "owners: some fds unreadable"})
	notify(vtab.Notice{Kind: vtab.NoticeOwnersDenied, Msg: "owners: again"})
	other := "netsql: interfaces: sysfs could not be read inside namespace x"
	notify(vtab.Notice{Kind: vtab.NoticeIncomplete, Msg: other})
	got := out.String()
	if strings.Contains(got, "owners:") {
		t.Errorf("owners notice printed in netsql's words, want netstat's: %q", got)
	}
	sentence := "(Not all processes could be identified"
	if n := strings.Count(got, sentence); os.Geteuid() != 0 && n != 1 || os.Geteuid() == 0 && n != 0 {
		t.Errorf("netstat's sentence printed %d times (euid %d): %q", n, os.Geteuid(), got)
	}
	if !strings.Contains(got, other+"\n") {
		t.Errorf("a notice of another kind was not passed through: %q", got)
	}
}
