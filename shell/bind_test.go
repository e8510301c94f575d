package shell

import (
	"strings"
	"testing"

	"github.com/netsql/netsql/queries"
)

// TestRunRejectsUnknownParameter: `.run q foo=1` names the parameters q
// takes instead of ignoring foo.
func TestRunRejectsUnknownParameter(t *testing.T) {
	qs := func() []queries.Query {
		return []queries.Query{{Name: "port", SQL: "SELECT count(*) AS n FROM sockets WHERE local_port = :port AND proto = :proto;",
			Params: []queries.Param{{Name: "port", Default: "8080"}}}}
	}
	out, errs := runScript(t, ShellConfig{Queries: qs}, ".run port prto=tcp\n.run port proto=tcp port=2024\n.run port a.b=1\n")
	if want := "Error: .run port: no parameter :prto in port, which takes :port, :proto\n"; !strings.HasPrefix(errs, want) {
		t.Errorf("errors = %q, want first %q", errs, want)
	}
	if !strings.Contains(errs, `.run port: want name=value, got "a.b=1"`) {
		t.Errorf("errors = %q: a.b accepted", errs)
	}
	if !strings.Contains(out, "n\n") {
		t.Errorf("the good .run did not run: %q", out)
	}
}
