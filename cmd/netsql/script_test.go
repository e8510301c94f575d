package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestScriptDotCommands: dot-commands work in -f FILE and piped input, as
// in sqlite3 < script; the first error stops the script with its line.
func TestScriptDotCommands(t *testing.T) {
	script := "-- states\n.headers off\n.mode csv\nSELECT 'x' AS a, 1 AS b;\n.mode list\n.separator ;\nSELECT 'y', 2;\n"
	file := filepath.Join(t.TempDir(), "report.sql")
	if err := os.WriteFile(file, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"--proc", fixtureProc, "-f", file}, {"--proc", fixtureProc}} {
		stdin := ""
		if len(args) == 2 {
			stdin = script
		}
		out, errs, code := runCLI(t, stdin, args...)
		if code != 0 || out != "x,1\ny;2\n" || errs != "" {
			t.Errorf("netsql %q: exit %d, out %q, errors %q", args, code, out, errs)
		}
	}
	out, errs, code := runCLI(t, ".mode csv\nSELECT 1;\nSELEC 2;\nSELECT 3;\n", "--proc", fixtureProc)
	if code != exitError || out != "1\n1\n" || !strings.Contains(errs, `line 3: near "SELEC": syntax error`) {
		t.Errorf("error in a piped script: exit %d, out %q, errors %q", code, out, errs)
	}
	// --fail-on-rows looks at the last statement, as without dot-commands.
	if _, errs, code := runCLI(t, ".mode csv\nSELECT 1;\n", "--proc", fixtureProc, "--fail-on-rows"); code != exitRows {
		t.Errorf("--fail-on-rows: exit %d (%s)", code, errs)
	}
}
