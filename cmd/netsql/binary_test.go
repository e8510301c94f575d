package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// binDir holds the netsql binary the tests run; TestMain makes it and
// removes it after the run.
var binDir string

// builtBinary builds netsql once per package run, as a user would (with
// VCS stamping when the source is a git checkout); every test that runs
// the binary shares it.
var builtBinary = sync.OnceValues(func() (string, error) {
	if binDir == "" {
		return "", fmt.Errorf("no binary directory (TestMain makes it)")
	}
	bin := filepath.Join(binDir, "netsql")
	vcs := "-buildvcs=auto"
	if _, err := exec.LookPath("git"); err != nil {
		vcs = "-buildvcs=false"
	}
	build := exec.Command("go", "build", vcs, "-o", bin, ".")
	build.Env = append(os.Environ(), "GOFLAGS=")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", vcs, err, out)
	}
	return bin, nil
})

// netsqlBinary returns the netsql binary built for this run.
func netsqlBinary(t *testing.T) string {
	t.Helper()
	bin, err := builtBinary()
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	return bin
}

// copyBinary copies the built binary to dir/netsql, mode 0755, for a test
// that needs it somewhere else (where another user can run it).
func copyBinary(t *testing.T, dir string) string {
	t.Helper()
	src, err := os.Open(netsqlBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	bin := filepath.Join(dir, "netsql")
	dst, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return bin
}
