package main

import (
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// readmes are the documentation files a user follows: the top README and
// the package READMEs it links to. Their examples are tested like the
// top README's.
var readmes = []string{"../../README.md", "../../vtab/README.md", "../../queries/README.md"}

// fencedBlocks returns the bodies of the ``` blocks of Markdown text
// whose info string is lang.
func fencedBlocks(text, lang string) []string {
	var blocks []string
	var cur []string
	in, want := false, false
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "```") {
			if in {
				if want {
					blocks = append(blocks, strings.Join(cur, "\n")+"\n")
				}
				in, cur = false, nil
				continue
			}
			in, want = true, strings.TrimSpace(strings.TrimPrefix(line, "```")) == lang
			continue
		}
		if in {
			cur = append(cur, line)
		}
	}
	return blocks
}

// sameBytesRE matches a README shell line that claims a netsql command
// prints what a netstat command prints.
var sameBytesRE = regexp.MustCompile(`^netsql (.*?)\s+# same bytes as netstat (.*)$`)

// netstatClaim is one such README line.
type netstatClaim struct {
	line    string
	netsql  []string // netsql's arguments
	netstat []string // netstat's arguments
}

// readmeNetstatClaims returns every "# same bytes as netstat FLAGS" line
// of the top README's sh blocks. A line running a netstat view by name
// (`netsql -q netstat-...`) must make such a claim: the README says which
// netstat command each example reproduces.
func readmeNetstatClaims(t *testing.T) []netstatClaim {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var claims []netstatClaim
	for _, blk := range fencedBlocks(string(b), "sh") {
		for _, line := range strings.Split(blk, "\n") {
			m := sameBytesRE.FindStringSubmatch(line)
			if m == nil {
				if strings.HasPrefix(line, "netsql -q netstat-") {
					t.Errorf("README line %q runs a netstat view without naming the netstat command it equals (\"# same bytes as netstat FLAGS\")", line)
				}
				continue
			}
			if strings.ContainsAny(line, `"'`) {
				t.Fatalf("README line %q: quoted arguments are not supported here", line)
			}
			claims = append(claims, netstatClaim{line, strings.Fields(m[1]), strings.Fields(m[2])})
		}
	}
	if len(claims) == 0 {
		t.Fatal(`README has no "# same bytes as netstat" example`)
	}
	return claims
}

// TestREADMENetstatEquivalents holds the README's "same bytes as netstat
// FLAGS" lines to their word over the fixture host: the netsql command
// prints what `netsql netstat FLAGS` prints, which the golden tests hold
// to netstat's captures.
func TestREADMENetstatEquivalents(t *testing.T) {
	for _, c := range readmeNetstatClaims(t) {
		got, errs, code := runCLI(t, "", append([]string{"--proc", netstatFixture}, c.netsql...)...)
		if code != 0 {
			t.Errorf("%s: exit %d: %s", c.line, code, errs)
			continue
		}
		want, errs, code := runCLI(t, "", append([]string{"--proc", netstatFixture, "netstat"}, c.netstat...)...)
		if code != 0 {
			t.Errorf("netsql netstat %s: exit %d: %s", strings.Join(c.netstat, " "), code, errs)
			continue
		}
		if got != want {
			t.Errorf("README claims %q, but over the fixture the two differ:\nnetsql %s:\n%s\nnetsql netstat %s:\n%s",
				c.line, strings.Join(c.netsql, " "), got, strings.Join(c.netstat, " "), want)
		}
	}
}

// TestREADMENetstatEquivalentsLive compares each README claim with the
// real netstat on the live kernel, on the lines of sockets this test
// opens (TCP listeners and bound UDP sockets, IPv4 and IPv6 on loopback).
func TestREADMENetstatEquivalentsLive(t *testing.T) {
	claims := readmeNetstatClaims(t)
	netstat, err := exec.LookPath("netstat")
	if err != nil {
		t.Skip("netstat (net-tools) is not installed: apt-get install net-tools")
	}
	var locals []string // "proto local-address" of this test's sockets
	listen := func(network, addr, proto string) {
		var a net.Addr
		var c io.Closer
		var err error
		if strings.HasPrefix(network, "tcp") {
			var l net.Listener
			if l, err = net.Listen(network, addr); err == nil {
				a, c = l.Addr(), l
			}
		} else {
			var p net.PacketConn
			if p, err = net.ListenPacket(network, addr); err == nil {
				a, c = p.LocalAddr(), p
			}
		}
		if err != nil {
			if strings.HasSuffix(network, "6") {
				t.Logf("no IPv6 on loopback, comparing IPv4 only: %v", err)
				return
			}
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		host, port, _ := net.SplitHostPort(a.String())
		locals = append(locals, proto+" "+host+":"+port)
	}
	listen("tcp4", "127.0.0.1:0", "tcp")
	listen("udp4", "127.0.0.1:0", "udp")
	listen("tcp6", "[::1]:0", "tcp6")
	listen("udp6", "[::1]:0", "udp6")
	// ours keeps the output lines of this test's sockets: unconnected,
	// so their foreign address is the wildcard.
	ours := func(out string) []string {
		var keep []string
		for _, line := range strings.Split(out, "\n") {
			f := strings.Fields(line)
			if len(f) > 4 && slices.Contains(locals, f[0]+" "+f[3]) && (f[4] == "0.0.0.0:*" || f[4] == ":::*") {
				keep = append(keep, line)
			}
		}
		slices.Sort(keep)
		return keep
	}
	for _, c := range claims {
		out, err := exec.Command(netstat, c.netstat...).Output()
		if err != nil {
			t.Errorf("netstat %s: %v", strings.Join(c.netstat, " "), err)
			continue
		}
		want := ours(string(out))
		if len(want) == 0 {
			t.Logf("%s: no line of this test's sockets to compare", c.line)
		}
		got, errs, code := runCLI(t, "", c.netsql...)
		if code != 0 {
			t.Errorf("%s: exit %d: %s", c.line, code, errs)
			continue
		}
		if !slices.Equal(ours(got), want) {
			t.Errorf("README claims %q; on this test's sockets netsql printed\n%s\nand netstat %s printed\n%s",
				c.line, strings.Join(ours(got), "\n"), strings.Join(c.netstat, " "), strings.Join(want, "\n"))
		}
	}
}

// unknownFlagRE matches the README's sentence about an unknown netstat
// flag (line breaks and indentation folded to single spaces).
var unknownFlagRE = regexp.MustCompile("`netsql netstat` then exits (\\d+), netsql's usage-error status, where netstat exits (\\d+)")

// TestREADMENetstatUnknownFlagExit holds the README's exit statuses for
// an unknown netstat flag to what netsql and the real netstat do.
func TestREADMENetstatUnknownFlagExit(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := unknownFlagRE.FindStringSubmatch(strings.Join(strings.Fields(string(b)), " "))
	if m == nil {
		t.Fatalf("README does not state the exit statuses of an unknown netstat flag (want a sentence matching %s)", unknownFlagRE)
	}
	if _, _, code := runCLI(t, "", "netstat", "--bogus"); strconv.Itoa(code) != m[1] {
		t.Errorf("README says netsql netstat exits %s on an unknown flag; it exits %d", m[1], code)
	}
	netstat, err := exec.LookPath("netstat")
	if err != nil {
		t.Skip("netstat (net-tools) is not installed: apt-get install net-tools")
	}
	err = exec.Command(netstat, "--bogus").Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("netstat --bogus: %v", err)
	}
	if strconv.Itoa(exit.ExitCode()) != m[2] {
		t.Errorf("README says netstat exits %s on an unknown flag; it exits %d", m[2], exit.ExitCode())
	}
}

// TestREADMESQLExamplesRunEverywhere runs the sql blocks of the package
// READMEs the top README links to (TestREADMESQLExamplesRun runs the top
// README's).
func TestREADMESQLExamplesRunEverywhere(t *testing.T) {
	for _, path := range readmes[1:] {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, sql := range fencedBlocks(string(b), "sql") {
			if _, errs, code := runCLI(t, "", "--proc", fixtureProc, sql); code != 0 {
				t.Errorf("%s example failed (exit %d): %s\n%s", path, code, errs, sql)
			}
		}
	}
}

// headingRE matches a Markdown ATX heading.
var headingRE = regexp.MustCompile(`^(#{1,6}) (.+)$`)

// anchors returns the GitHub anchors of the headings of Markdown text,
// outside fenced blocks, with their levels.
func anchors(text string) map[string]int {
	out := map[string]int{}
	in := false
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "```") {
			in = !in
			continue
		}
		if m := headingRE.FindStringSubmatch(line); m != nil && !in {
			out[slug(m[2])] = len(m[1])
		}
	}
	return out
}

// slug is GitHub's anchor for a heading: lower case, punctuation other
// than '-' and '_' dropped, spaces turned into '-'.
func slug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}

// linkRE matches an inline Markdown link's target.
var linkRE = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// TestREADMELinks: every relative link of the READMEs names a file that
// exists and, with #anchor, a heading in it; and every section of the top
// README is listed in its table of contents, so a new section cannot be
// left out of it.
func TestREADMELinks(t *testing.T) {
	for _, path := range readmes {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		for _, m := range linkRE.FindAllStringSubmatch(text, -1) {
			target := m[1]
			if strings.Contains(target, "://") {
				continue
			}
			file, anchor, _ := strings.Cut(target, "#")
			dest := path
			if file != "" {
				dest = filepath.Join(filepath.Dir(path), file)
			}
			fi, err := os.Stat(dest)
			if err != nil {
				t.Errorf("%s: link %s: %v", path, target, err)
				continue
			}
			if anchor == "" {
				continue
			}
			if fi.IsDir() {
				t.Errorf("%s: link %s: an anchor in a directory", path, target)
				continue
			}
			db, err := os.ReadFile(dest)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := anchors(string(db))[anchor]; !ok {
				t.Errorf("%s: link %s: %s has no heading with anchor #%s", path, target, dest, anchor)
			}
		}
	}

	b, err := os.ReadFile(readmes[0])
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	i := strings.Index(text, "\n## Contents\n")
	if i < 0 {
		t.Fatal("README.md has no ## Contents section")
	}
	toc, _, _ := strings.Cut(text[i+1:], "\n## ")
	for a, level := range anchors(text) {
		if level == 2 && a != "contents" && !strings.Contains(toc, "(#"+a+")") {
			t.Errorf("README.md section #%s is not in its table of contents", a)
		}
	}
}

// testNameRE matches a Go test, fuzz target or benchmark named in prose.
var testNameRE = regexp.MustCompile(`\b(?:Test|Fuzz|Benchmark)[A-Z][A-Za-z0-9_]*`)

// TestREADMENamesExistingTests: every test the READMEs name (the tests
// behind the guarantees, the benchmarks) exists, so renaming one cannot
// leave the README pointing at nothing.
func TestREADMENamesExistingTests(t *testing.T) {
	defined := map[string]bool{}
	funcRE := regexp.MustCompile(`(?m)^func ((?:Test|Fuzz|Benchmark)\w*)\(`)
	err := filepath.WalkDir("../..", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range funcRE.FindAllStringSubmatch(string(b), -1) {
			defined[m[1]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range readmes {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range testNameRE.FindAllString(string(b), -1) {
			if !defined[name] {
				t.Errorf("%s names %s, which no _test.go file defines", path, name)
			}
		}
	}
}

// quickStartRE matches the README's first command: go run with one SQL
// argument in double quotes.
var quickStartRE = regexp.MustCompile(`(?m)^go run \./cmd/netsql "([^"]+)"$`)

// readmeQuickStartSQL returns the SQL of the README's quick-start command,
// the one TestREADMEQueryRunsAsCommand runs.
func readmeQuickStartSQL(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, blk := range fencedBlocks(string(b), "sh") {
		if m := quickStartRE.FindStringSubmatch(blk); m != nil {
			return m[1]
		}
	}
	t.Fatal(`README has no quick-start command (go run ./cmd/netsql "SQL")`)
	return ""
}
