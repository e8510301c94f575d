package netstat

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// FuzzParse feeds netstat's flag parser arbitrary command lines (words
// separated by NUL bytes, so a word may hold spaces), seeded with every
// command line the netstat captures were taken with. Parse must return
// flags or a *UsageError or *FamilyError, and PlanFor must take whatever
// Parse accepts without panicking.
func FuzzParse(f *testing.F) {
	ents, _ := os.ReadDir("testdata/captures")
	for _, e := range ents {
		// netstat_rn_A_inet6.txt was taken with "netstat -rn -A inet6".
		name := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(e.Name(), "extra_"), "netstat_"), ".txt")
		words := strings.Split(name, "_")
		for i, w := range words {
			if i == 0 || len(w) == 1 && w == strings.ToUpper(w) {
				words[i] = "-" + w
			}
		}
		f.Add(strings.Join(words, "\x00"))
	}
	for _, s := range []string{
		"-tanp\x00--wide\x00--numeric-users\x00-A\x00inet,inet6\x00--ip6x",
		"--in", "--inet6", "-A", "--protocol", "--protocol=inet", "-Ainet6,unix\x00-ee",
		"--", "-", "--=", "-:", "--route=x", "-c\x005", "nonoption\x00-x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cmdline string) {
		var args []string
		if cmdline != "" {
			args = strings.Split(cmdline, "\x00")
		}
		fl, err := Parse(args)
		if err != nil {
			var usage *UsageError
			var family *FamilyError
			if !errors.As(err, &usage) && !errors.As(err, &family) {
				t.Fatalf("Parse(%q): error of type %T: %v", args, err, err)
			}
			return
		}
		if fl.Extend < 1 || fl.Families == nil {
			t.Fatalf("Parse(%q) = %+v", args, fl)
		}
		n := 0
		for _, c := range fl.Families {
			n += c
		}
		if got := len(strings.Split(fl.AFName, ",")); fl.AFName != "" && got != n || fl.AFName == "" && n != 0 {
			t.Fatalf("Parse(%q): afname %q for families %v", args, fl.AFName, fl.Families)
		}
		_, _ = PlanFor(fl)
	})
}
