package main

import (
	"os"
	"path/filepath"
	"regexp"
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
