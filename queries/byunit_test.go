package queries_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/netsql/netsql/queries"
	"github.com/netsql/netsql/queries/result"
	"github.com/netsql/netsql/vtab"
)

// runOnCgroupHost runs the named canned query over testdata/cgroups (a
// host with two services, a container and a login session) and returns
// its rows as "a|b|c" lines.
func runOnCgroupHost(t *testing.T, name string) []string {
	t.Helper()
	q, ok := queries.Lookup(name)
	if !ok {
		t.Fatalf("no canned query %s", name)
	}
	eng, err := vtab.Open(vtab.Options{ProcRoot: "testdata/cgroups/proc"})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	set, err := result.Run(context.Background(), eng, q.SQL, nil)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var out []string
	for _, row := range set.Rows {
		parts := make([]string, len(row))
		for i, v := range row {
			if v == nil {
				parts[i] = "NULL"
			} else {
				parts[i] = fmt.Sprint(v)
			}
		}
		out = append(out, strings.Join(parts, "|"))
	}
	return out
}

const dockerID = "3f4e9c2a7b1d0e8f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f"

func TestCloseWaitByUnit(t *testing.T) {
	got := runOnCgroupHost(t, "close-wait-by-unit")
	want := []string{
		"nginx.service|NULL|2|3",
		"docker-" + dockerID + ".scope|" + dockerID + "|1|2",
		"NULL|NULL|0|1",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("close-wait-by-unit:\n got %q\nwant %q", got, want)
	}
}

func TestMetricSocketsByUnit(t *testing.T) {
	got := runOnCgroupHost(t, "metric-sockets-by-unit")
	want := []string{
		"|CLOSE_WAIT|1",
		"docker-" + dockerID + ".scope|CLOSE_WAIT|2",
		"nginx.service|CLOSE_WAIT|3",
		"nginx.service|ESTABLISHED|1",
		"nginx.service|LISTEN|1",
		"session-3.scope|ESTABLISHED|1",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("metric-sockets-by-unit:\n got %q\nwant %q", got, want)
	}
	q, _ := queries.Lookup("metric-sockets-by-unit")
	if len(q.Metrics) != 1 || q.Metrics[0].Name != "netsql_unit_sockets" || !reflect.DeepEqual(q.Metrics[0].Labels, []string{"unit", "state"}) {
		t.Errorf("metric declaration: %+v", q.Metrics)
	}
}
