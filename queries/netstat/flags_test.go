package netstat

import (
	"reflect"
	"sort"
	"strings"
	"testing"
)

func TestParseFlags(t *testing.T) {
	f, err := Parse(strings.Fields("-tanp --wide --numeric-users -A inet,inet6 --ip6x --time"))
	if err == nil {
		t.Fatalf("unknown family alias ip6x accepted: %+v", f)
	}
	f, err = Parse(strings.Fields("-tanp --wide --numeric-users -Ainet6 --unix --time -ee"))
	if err != nil {
		t.Fatal(err)
	}
	if f.TCP != 1 || f.All != 1 || !f.NumericHosts || f.Programs != 1 || f.Wide != 1 || f.Timers != 1 || f.Extend != 3 {
		t.Errorf("flags = %+v", f)
	}
	if got := f.families(); !reflect.DeepEqual(got, []string{"inet6", "unix"}) || f.AFName != "inet6,unix" {
		t.Errorf("families = %v, afname %q", got, f.AFName)
	}
	// A unique prefix of same-action options is not ambiguous (--in*
	// families), but --in also matches --interfaces.
	if _, err := Parse([]string{"--in"}); err == nil {
		t.Error("--in accepted")
	}
	if f, err := Parse([]string{"--inet6"}); err != nil || f.Families["inet6"] != 1 {
		t.Errorf("--inet6: %+v %v", f, err)
	}
}

func TestPlan(t *testing.T) {
	for _, c := range []struct {
		args  string
		steps []string
	}{
		{"", []string{"netstat-inet", "netstat-unix"}},
		{"-tan", []string{"netstat-inet"}},
		{"-x", []string{"netstat-unix"}},
		{"-g", []string{"netstat-groups"}},
		{"-tg", []string{"netstat-inet", "netstat-groups"}},
		{"-r -A inet,inet6", []string{"netstat-route", "netstat-route6"}},
		{"-s", []string{"netstat-statistics"}},
		{"-s -6", []string{"netstat-statistics"}},
		{"-ia", []string{"netstat-interfaces"}},
	} {
		f, err := Parse(strings.Fields(c.args))
		if err != nil {
			t.Fatal(err)
		}
		p, err := PlanFor(f)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, s := range p.Steps {
			got = append(got, s.Query)
		}
		if !reflect.DeepEqual(got, c.steps) {
			t.Errorf("netstat %s runs %v, want %v", c.args, got, c.steps)
		}
	}
	f, _ := Parse([]string{"-apA", "inet"})
	p, _ := PlanFor(f)
	if got := p.Steps[0].Params; got["inet6"] != "0" || got["tcp"] != "1" || got["raw"] != "1" || got["programs"] != "1" {
		t.Errorf("-apA inet params = %v", got)
	}
}

// families returns the canonical family names given, sorted (for tests).
func (f *Flags) families() []string {
	var out []string
	for k := range f.Families {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
