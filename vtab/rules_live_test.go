package vtab

import (
	"strconv"
	"strings"
	"testing"

	"github.com/netsql/netsql/vtab/internal/nstest"
)

// ruleCols are the rules columns ip -d -j rule show (iproute2 6.1) also
// prints, in the order ipRuleRow spells them.
const ruleCols = "family, priority, invert, source, source_len, destination, destination_len, tos, fwmark, fwmask, " +
	"iif, oif, uid_start, uid_end, ip_proto, sport_start, sport_end, dport_start, dport_end, l3mdev, " +
	"action, \"table\", goto_priority, suppress_prefixlength, suppress_ifgroup, protocol, flags"

// TestLiveRulesMatchIPRule adds rules of every kind in a namespace the
// test creates and compares the rules table, read there through
// netns_name, field by field with ip -d -j rule show and ip -6 -d -j rule
// show in that namespace.
func TestLiveRulesMatchIPRule(t *testing.T) {
	n := nstest.New(t, "netsql-rules-", "vrl")
	add := func(args ...string) { n.IP(t, append([]string{"rule", "add"}, args...)...) }
	add6 := func(args ...string) { n.IP(t, append([]string{"-6", "rule", "add"}, args...)...) }
	add("pref", "100", "from", "10.1.0.0/16", "to", "10.2.3.4", "table", "100")
	add("pref", "110", "not", "from", "10.3.0.0/16", "iif", "lo", "oif", "vrl", "lookup", "main")
	add("pref", "120", "fwmark", "0x10/0xff", "table", "200")
	add("pref", "121", "fwmark", "7", "table", "201")
	add("pref", "122", "fwmark", "0/0xf", "table", "202")
	add("pref", "130", "uidrange", "1000-2000", "ipproto", "tcp", "sport", "1000-2000", "dport", "443", "table", "300")
	add("pref", "131", "ipproto", "udp", "sport", "53", "dport", "5000-5100", "table", "301")
	add("pref", "140", "tos", "0x10", "goto", "150")
	add("pref", "141", "from", "10.9.9.9", "tos", "0x08", "goto", "9999") // to no rule: unresolved
	add("pref", "150", "nop")
	add("pref", "160", "from", "10.4.0.0/24", "blackhole")
	add("pref", "170", "to", "10.5.0.0/24", "prohibit")
	add("pref", "175", "iif", "vrl", "unreachable")
	add("pref", "180", "table", "main", "suppress_prefixlength", "0")
	add("pref", "185", "table", "main", "suppress_ifgroup", "5")
	add("pref", "190", "ipproto", "99", "table", "5", "proto", "static")
	add("pref", "196", "iif", "nosuchdev", "table", "7") // iif_detached
	add("pref", "197", "l3mdev")
	add6("pref", "100", "from", "fd00::/8", "to", "fd01::1", "ipproto", "udp", "dport", "53", "table", "400")
	add6("pref", "101", "not", "to", "fd02::/64", "prohibit")
	add6("pref", "102", "from", "fd03::1", "fwmark", "0x20/0x30", "uidrange", "0-0", "goto", "104")
	add6("pref", "103", "oif", "vrl", "sport", "1-1024", "blackhole")
	add6("pref", "104", "table", "main", "suppress_prefixlength", "64", "proto", "bird")

	var want []string
	for _, fam := range []string{"-4", "-6"} {
		for _, o := range n.JSON(t, fam, "-d", "rule", "show") {
			want = append(want, ipRuleRow(t, fam, o))
		}
	}
	eng := liveEngine(t)
	got := query(t, eng, "SELECT "+ruleCols+" FROM rules WHERE netns_name = ? ORDER BY family, priority", n.NS)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rules differ from ip -d -j rule show:\n%s", nstest.RowsDiff(got, want))
	}
	if len(got) < 25 {
		t.Errorf("read %d rules, want the 3+2 default ones and the 23 the test added", len(got))
	}

	// The family goes into the request; each answer holds that family only.
	for _, fam := range []string{"inet", "inet6"} {
		rows := query(t, eng, "SELECT "+ruleCols+" FROM rules WHERE netns_name = ? AND family = ? ORDER BY priority", n.NS, fam)
		var wantFam []string
		for _, w := range want {
			if strings.HasPrefix(w, fam+"|") {
				wantFam = append(wantFam, w)
			}
		}
		if strings.Join(rows, "\n") != strings.Join(wantFam, "\n") {
			t.Errorf("family = %s:\n%s", fam, nstest.RowsDiff(rows, wantFam))
		}
	}
	// The documented example runs and sees the test's rules.
	ex := query(t, eng, strings.Replace(Rules.Example, "FROM rules", "FROM rules('"+n.NS+"')", 1))
	if len(ex) != len(want) {
		t.Errorf("example: %d rows, want %d", len(ex), len(want))
	}
	// The same rule read twice gets the same rowid: an OR of two
	// selectors does not duplicate or lose rows.
	or := query(t, eng, "SELECT count(*) FROM rules WHERE netns_name = ? AND (priority = 100 OR family = 'inet6')", n.NS)
	if or[0] != "8" { // inet 100, and inet6's 0, 100..104, 32766
		t.Errorf("OR query counted %v rules, want 8", or)
	}
}

// ipRuleRow spells one rule of ip -d -j rule show (fam "-4" or "-6") as
// query prints ruleCols.
func ipRuleRow(t *testing.T, fam string, o map[string]any) string {
	t.Helper()
	str := func(k string) string {
		if s := nstest.Str(o, k); s != "" {
			return s
		}
		return "NULL"
	}
	has := func(k string) bool { _, ok := o[k]; return ok }
	num := func(k string) string { // a hex or decimal number, or NULL
		s := nstest.Str(o, k)
		if s == "" {
			return "NULL"
		}
		v, err := strconv.ParseUint(s, 0, 64)
		if err != nil {
			t.Fatalf("ip rule: %s = %q: %v", k, s, err)
		}
		return strconv.FormatUint(v, 10)
	}
	flag := func(k string) string {
		if has(k) {
			return "1"
		}
		return "0"
	}
	family, hostLen := "inet", "32"
	if fam == "-6" {
		family, hostLen = "inet6", "128"
	}
	prefix := func(addrKey, lenKey string) (string, string) {
		a := nstest.Str(o, addrKey)
		switch a {
		case "", "all":
			return "NULL", "0"
		}
		if l := nstest.Str(o, lenKey); l != "" {
			return a, l
		}
		return a, hostLen
	}
	src, srcLen := prefix("src", "srclen")
	dst, dstLen := prefix("dst", "dstlen")
	fwmark, fwmask := num("fwmark"), num("fwmask")
	if fwmark != "NULL" && fwmask == "NULL" {
		fwmask = "4294967295" // ip leaves out an exact mask
	}
	ports := func(k string) (string, string) {
		if has(k) {
			return num(k), num(k)
		}
		return num(k + "_start"), num(k + "_end")
	}
	sportStart, sportEnd := ports("sport")
	dportStart, dportEnd := ports("dport")
	proto := str("ipproto")
	proto = strings.TrimPrefix(proto, "ipproto-") // ip's name for a number /etc/protocols lacks
	action := "lookup"
	switch {
	case has("goto"):
		action = "goto"
	case has("nop"):
		action = "nop"
	case has("action"):
		action = str("action")
	}
	var flags []string
	if has("not") {
		flags = append(flags, "invert")
	}
	for _, k := range []string{"unresolved", "iif_detached", "oif_detached"} {
		if has(k) {
			flags = append(flags, k)
		}
	}
	return strings.Join([]string{
		family, str("priority"), flag("not"), src, srcLen, dst, dstLen, num("tos"), fwmark, fwmask,
		str("iif"), str("oif"), num("uid_start"), num("uid_end"), proto, sportStart, sportEnd, dportStart, dportEnd, flag("l3mdev"),
		action, str("table"), num("goto"), num("suppress_prefixlen"), num("suppress_ifgroup"), str("protocol"), strings.Join(flags, ","),
	}, "|")
}

// TestRulesFromProcTreeIsEmptyWithNotice: a /proc tree has no rules; the
// table answers no rows and says why, rather than an unexplained empty
// answer.
func TestRulesFromProcTreeIsEmptyWithNotice(t *testing.T) {
	var notes []string
	eng, err := Open(Options{ProcRoot: fixtureProc, Notify: func(n Notice) { notes = append(notes, n.Msg) }})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	wantRows(t, eng, "SELECT count(*) FROM rules", "0")
	if len(notes) != 1 || !strings.Contains(notes[0], "rules") || !strings.Contains(notes[0], "--proc") {
		t.Errorf("notices %q: want one saying a /proc tree holds no rules", notes)
	}
}
