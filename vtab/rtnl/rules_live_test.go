package rtnl

import (
	"context"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/netsql/netsql/vtab/internal/nstest"
)

// TestLiveRuleDumpFamily: the kernel answers ruleRequest(family) with that
// family's rules only (the family is in the request, not just filtered
// here), and Rules reads both families.
func TestLiveRuleDumpFamily(t *testing.T) {
	n := nstest.New(t, "netsql-rrule-", "vrr")
	c, err := DialNetNS(n.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	n.IP(t, "rule", "add", "pref", "5", "from", "10.5.0.0/16", "table", "5")
	n.IP(t, "-6", "rule", "add", "pref", "6", "from", "fd06::/16", "table", "6")
	ctx := context.Background()
	for _, fam := range []int{unix.AF_INET, unix.AF_INET6} {
		var fams []int
		err := c.dump(ctx, "rules", unix.RTM_GETRULE, ruleRequest(fam), func() { fams = fams[:0] }, func(m message) error {
			if m.Type == unix.RTM_NEWRULE {
				fams = append(fams, int(m.Payload[0]))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(fams) < 3 { // the kernel's default rules and the test's
			t.Errorf("family %d: %d rules", fam, len(fams))
		}
		for _, f := range fams {
			if f != fam {
				t.Errorf("dump of family %d sent a rule of family %d", fam, f)
			}
		}
	}
	rules, err := c.Rules(ctx, RuleFilter{})
	if err != nil {
		t.Fatal(err)
	}
	found := map[int]uint32{}
	for _, r := range rules {
		if r.Priority == 5 || r.Priority == 6 {
			found[r.Family] = r.Table
		}
	}
	if found[unix.AF_INET] != 5 || found[unix.AF_INET6] != 6 || len(found) != 2 {
		t.Errorf("Rules: the test's rules by family: %v", found)
	}
}
