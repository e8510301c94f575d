package vtab

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeBundle writes a support bundle: proc/net/tcp with one listener per
// uid in uids, and etc/passwd when passwd is not empty. It returns the
// bundle's proc directory.
func writeBundle(t *testing.T, uids []int, passwd string) string {
	t.Helper()
	dir := t.TempDir()
	tcp := "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	for i, uid := range uids {
		tcp += fmt.Sprintf("%4d: 0100007F:%04X 00000000:0000 0A 00000000:00000000 00:00000000 00000000 %5d        0 %d 1 0000000000000000 100 0 0 10 0\n", i, 7000+i, uid, 5000+i)
	}
	for name, content := range map[string]string{"proc/net/tcp": tcp, "etc/passwd": passwd} {
		if name == "etc/passwd" && passwd == "" {
			if err := os.MkdirAll(filepath.Join(dir, "etc"), 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "proc")
}

// TestBundlePasswd: a --proc bundle with its own etc/ names uids from its
// etc/passwd, in sockets.user and user_name(), never from the host's.
func TestBundlePasswd(t *testing.T) {
	proc := writeBundle(t, []int{0, 4242, 4243}, strings.Join([]string{
		"bundleadmin:x:0:0:root:/root:/bin/bash",
		"+nisuser::4243:4243:::",
		"webapp:x:4242:4242::/srv:/bin/sh",
		"shadow-of-webapp:x:4242:4242::/srv:/bin/sh",
		"broken line",
		"",
	}, "\n"))
	eng, err := Open(Options{ProcRoot: proc})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	got := query(t, eng, "SELECT uid, user, user_name(uid) FROM sockets ORDER BY uid")
	want := []string{"0|bundleadmin|bundleadmin", "4242|webapp|webapp", "4243|4243|4243"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestBundleWithoutPasswd: a bundle whose etc/ has no passwd keeps every
// uid numeric rather than borrowing the host's names.
func TestBundleWithoutPasswd(t *testing.T) {
	eng, err := Open(Options{ProcRoot: writeBundle(t, []int{0}, "")})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	if got := query(t, eng, "SELECT user FROM sockets"); fmt.Sprint(got) != "[0]" {
		t.Errorf("got %q, want the number 0", got)
	}
}
