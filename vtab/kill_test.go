package vtab

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
)

// TestKillOnProcTree: with AllowKill, a DELETE over a /proc tree (a copy,
// not the live kernel) closes nothing and says so for every matched row,
// never an empty success; SetAllowKill(false) refuses it again.
func TestKillOnProcTree(t *testing.T) {
	eng, _ := openFixture(t)
	eng.SetAllowKill(true)
	if !eng.KillAllowed() {
		t.Fatal("SetAllowKill(true) did not allow")
	}
	want := query(t, eng, "SELECT count(*) FROM sockets WHERE proto = 'tcp'")[0]
	_, err := eng.ExecContext(context.Background(), "DELETE FROM sockets WHERE proto = 'tcp'")
	var ke *KillError
	if !errors.As(err, &ke) {
		t.Fatalf("err = %v, want a *KillError", err)
	}
	if ke.Closed != 0 || want == "0" || len(ke.Failed) == 0 || strings.TrimSpace(want) != strconv.Itoa(len(ke.Failed)) {
		t.Fatalf("report %+v for %s matching rows", ke, want)
	}
	for _, f := range ke.Failed {
		if f.Reason != "read from a /proc tree, not the live kernel" {
			t.Errorf("reason %q", f.Reason)
		}
	}
	if after := query(t, eng, "SELECT count(*) FROM sockets WHERE proto = 'tcp'")[0]; after != want {
		t.Errorf("rows after %s, before %s", after, want)
	}
	eng.SetAllowKill(false)
	if _, err := eng.ExecContext(context.Background(), "DELETE FROM sockets WHERE proto = 'tcp'"); err == nil || !strings.Contains(err.Error(), "--allow-kill") {
		t.Errorf("after SetAllowKill(false): %v", err)
	}
}
