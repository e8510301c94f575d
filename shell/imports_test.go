package shell

import (
	"os/exec"
	"strings"
	"testing"
)

// module is netsql's module path.
const module = "github.com/netsql/netsql"

// layers says, for packages under a prefix, which netsql packages they
// must not depend on (directly or not): imports point down only, cmd ->
// shell | queries/* -> queries/run, queries/format -> vtab -> readers
// (rtnl, sockdiag, procnet, procstat, procs, cgroup, conntrack, netns,
// fileread) -> vtab/netlink.
var layers = []struct {
	pkg    string   // a package, or every package under it with "/..."
	forbid []string // the same form
}{
	{"queries/...", []string{"shell", "cmd/..."}},
	{"queries/format", []string{"queries/...", "vtab/..."}},
	{"queries/run", []string{"queries/record", "queries/result", "queries/metrics", "queries/netstat", "queries/top"}},
	{"queries/result", []string{"queries/record", "queries/metrics", "queries/netstat", "queries/top"}},
	{"vtab/...", []string{"shell", "cmd/...", "queries/..."}},
	// The netlink core knows no netlink family and no /proc file; the
	// /proc readers need no netlink; the leaf helpers need no reader.
	// (A reader importing vtab itself would be an import cycle.)
	{"vtab/netlink/...", []string{"vtab/rtnl/...", "vtab/sockdiag/...", "vtab/conntrack/...", "vtab/procnet/...", "vtab/procstat/...", "vtab/procs/...", "vtab/cgroup/..."}},
	{"vtab/procstat/...", []string{"vtab/netlink/...", "vtab/rtnl/...", "vtab/sockdiag/..."}},
	{"vtab/procs/...", []string{"vtab/netlink/...", "vtab/rtnl/...", "vtab/sockdiag/..."}},
	{"vtab/cgroup/...", []string{"vtab/netlink/...", "vtab/rtnl/...", "vtab/sockdiag/..."}},
	{"vtab/procnet/...", []string{"vtab/netlink/...", "vtab/rtnl/...", "vtab/sockdiag/..."}},
	{"vtab/netns/...", []string{"vtab/rtnl/...", "vtab/sockdiag/...", "vtab/conntrack/...", "vtab/procnet/...", "vtab/procstat/...", "vtab/procs/...", "vtab/cgroup/..."}},
	{"vtab/fileread/...", []string{"vtab/netlink/...", "vtab/rtnl/...", "vtab/sockdiag/...", "vtab/conntrack/...", "vtab/procnet/...", "vtab/procstat/...", "vtab/procs/...", "vtab/cgroup/..."}},
}

// under reports whether the package path p (relative to the module)
// matches pattern.
func under(p, pattern string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "/..."); ok {
		return p == prefix || strings.HasPrefix(p, prefix+"/")
	}
	return p == pattern
}

// TestImportGraph: no package below the shell imports it, and each layer
// depends only on the layers beneath it, as `go list -deps` sees the
// build (test files excluded: a test may reach up).
func TestImportGraph(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Deps " "}}`, module+"/...").Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Skipf("go list cannot run here: %v", err)
	}
	seen := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg, ok := strings.CutPrefix(fields[0], module+"/")
		if !ok {
			continue
		}
		for _, l := range layers {
			if !under(pkg, l.pkg) {
				continue
			}
			seen++
			for _, dep := range fields[1:] {
				d, ok := strings.CutPrefix(dep, module+"/")
				if !ok {
					continue
				}
				for _, f := range l.forbid {
					if under(d, f) {
						t.Errorf("%s depends on %s: imports point down only (cmd -> shell | queries/* -> queries/run, queries/format -> vtab -> readers -> vtab/netlink)", pkg, d)
					}
				}
			}
		}
	}
	if seen == 0 {
		t.Fatalf("go list listed none of netsql's packages:\n%s", out)
	}
}
