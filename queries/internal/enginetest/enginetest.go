// Package enginetest opens engines for the tests of the queries
// packages.
package enginetest

import (
	"testing"

	"github.com/netsql/netsql/vtab"
)

// Open returns an engine reading procRoot ("" for the live kernel),
// closed when t ends, and its source, whose counters (OwnerScans) tests
// read.
func Open(t testing.TB, procRoot string) (*vtab.Engine, *vtab.Source) {
	t.Helper()
	src, err := vtab.NewSource(procRoot, nil)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := vtab.Open(vtab.Options{Source: src})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	return eng, src
}
