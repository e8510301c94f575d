package shell

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/netsql/netsql/queries"
	"github.com/netsql/netsql/vtab"
)

// fixtureProc is a /proc tree whose sockets the tests know.
const fixtureProc = "../vtab/procnet/testdata/proc"

// TestMain doubles as the shell's binary for the terminal tests: with
// NETSQL_TEST_SHELL set, the test binary runs RunShell on its own
// standard streams over the fixture tree instead of running tests.
func TestMain(m *testing.M) {
	if os.Getenv("NETSQL_TEST_SHELL") == "1" {
		os.Exit(testShellMain())
	}
	os.Exit(m.Run())
}

func testShellMain() int {
	eng, err := vtab.Open(vtab.Options{ProcRoot: os.Getenv("NETSQL_TEST_PROC")})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer eng.Close()
	err = RunShell(context.Background(), ShellConfig{
		Engine:  eng,
		Queries: testQueries,
		Netstat: func(ctx context.Context, args []string, out io.Writer) error {
			_, err := fmt.Fprintf(out, "netstat view for %s\n", strings.Join(args, " "))
			return err
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// testQueries stands in for the queries package.
func testQueries() []queries.Query {
	return []queries.Query{
		{Name: "listening", Description: "sockets waiting for connections", SQL: "SELECT proto, local_port FROM sockets WHERE state IN ('LISTEN', 'LISTENING') ORDER BY 1, 2;"},
		{Name: "states", Description: "sockets per state", SQL: "SELECT state, count(*) AS n FROM sockets GROUP BY 1 ORDER BY 1;"},
	}
}

func openFixture(t testing.TB) *vtab.Engine {
	t.Helper()
	eng, err := vtab.Open(vtab.Options{ProcRoot: fixtureProc})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	return eng
}
