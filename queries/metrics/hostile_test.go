package metrics

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/netsql/netsql/queries"
	"github.com/netsql/netsql/queries/result"
	"github.com/netsql/netsql/vtab"
)

// TestLabelTextIsInjective: texts that differ give labels that differ,
// ordinary ones are kept as they are, and every label is valid UTF-8.
func TestLabelTextIsInjective(t *testing.T) {
	inputs := []string{
		"", "sshd", "nginx: worker", `C:\path`, "é", "\uFFFD", // kept
		"\xff", "\xfe", `\xff`, `\\xff`, "\\\xff", "a\xffb", "a\xc3",
		"\xed\xa0\x80", // a surrogate: invalid UTF-8
	}
	seen := map[string]string{}
	for _, in := range inputs {
		out := LabelText(in)
		if !model.LabelValue(out).IsValid() {
			t.Errorf("LabelText(%q) = %q: not valid UTF-8", in, out)
		}
		if prev, dup := seen[out]; dup {
			t.Errorf("LabelText(%q) = LabelText(%q) = %q", in, prev, out)
		}
		seen[out] = in
	}
	for in, want := range map[string]string{
		"sshd": "sshd", `C:\path`: `C:\path`, "\xff": `\xff`, "\xfe": `\xfe`,
		`\xff`: `\\xff`, "a\xffb": `a\xffb`, "\uFFFD": "\uFFFD",
	} {
		if got := LabelText(in); got != want {
			t.Errorf("LabelText(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestInvalidUTF8LabelsStayDistinct: rows whose label column holds
// different invalid UTF-8 bytes are different samples, not a duplicate
// that fails the whole query.
func TestInvalidUTF8LabelsStayDistinct(t *testing.T) {
	q := query(t, "programs", "-- metric: netsql_p\n-- type: gauge\n-- labels: program\n-- value: v\n"+
		"SELECT CAST(X'ff' AS TEXT) AS program, 1 AS v UNION ALL SELECT CAST(X'fe' AS TEXT), 2 UNION ALL SELECT '\\xff', 3;")
	set, err := NewSet(engine(t), []queries.Query{q}, nil)
	if err != nil {
		t.Fatal(err)
	}
	mfs, failed, err := set.Gather(context.Background())
	if err != nil || len(failed) > 0 {
		t.Fatalf("gather: %v %v", failed, err)
	}
	fam := families(mfs)
	for label, want := range map[string]float64{`\xff`: 1, `\xfe`: 2, `\\xff`: 3} {
		if v, ok := value(fam["netsql_p"], "program", label); !ok || v != want {
			t.Errorf("program=%q: %v %v", label, v, ok)
		}
	}
}

// TestScrapeTimeoutHeaderClamped: a scrape timeout header of Inf, 1e300,
// NaN or junk does not make the scrape's queries fail at once.
func TestScrapeTimeoutHeaderClamped(t *testing.T) {
	q := query(t, "quick", "-- metric: netsql_q\n-- type: gauge\n-- value: v\nSELECT 1 AS v;")
	set, err := NewSet(engine(t), []queries.Query{q}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{Set: set, ScrapeTimeout: time.Minute}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	for _, h := range []string{"Inf", "+Inf", "1e300", "9.3e18", "NaN", "-1", "0", "junk", "10"} {
		req, _ := http.NewRequest("GET", ts.URL+MetricsPath, nil)
		req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", h)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		p := expfmt.NewTextParser(model.UTF8Validation)
		mfs, err := p.TextToMetricFamilies(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := value(mfs[SuccessMetric], "query", "quick"); !ok || v != 1 {
			t.Errorf("header %q: success %v %v", h, v, ok)
		}
	}
	for h, want := range map[string]time.Duration{"Inf": time.Minute, "1e300": time.Minute, "10": 9 * time.Second, "1e-12": time.Nanosecond} {
		if got := headerTimeout(h, time.Minute); got != want {
			t.Errorf("headerTimeout(%q) = %v, want %v", h, got, want)
		}
	}
}

// TestHead: HEAD /metrics and /healthz answer 200 with no body; other
// methods are refused.
func TestHead(t *testing.T) {
	q := query(t, "quick", "-- metric: netsql_q\n-- type: gauge\n-- value: v\nSELECT 1 AS v;")
	set, err := NewSet(engine(t), []queries.Query{q}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer((&Server{Set: set}).Handler())
	defer ts.Close()
	for _, path := range []string{MetricsPath, HealthPath} {
		resp, err := http.Head(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
			t.Errorf("HEAD %s: %d %q", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		req, _ := http.NewRequest("POST", ts.URL+path, nil)
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("POST %s: %d", path, resp.StatusCode)
		}
	}
}

func TestLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:9464": true, "127.3.2.1:1": true, "[::1]:9464": true,
		"0.0.0.0:9464": false, "[::]:9464": false, "192.0.2.1:9464": false, "[2001:db8::1]:1": false,
	} {
		a, err := net.ResolveTCPAddr("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := Loopback(a); got != want {
			t.Errorf("Loopback(%s) = %v, want %v", addr, got, want)
		}
	}
}

// TestStuckEvaluationDoesNotBlockLaterScrapes: a query stuck where its
// context does not reach (a read the kernel keeps blocked) fails its own
// scrape at the deadline, and the next scrape goes on with a fresh engine
// instead of failing for ever.
func TestStuckEvaluationDoesNotBlockLaterScrapes(t *testing.T) {
	q := query(t, "quick", "-- metric: netsql_q\n-- type: gauge\n-- value: v\nSELECT 1 AS v;")
	set, err := NewSet(engine(t), []queries.Query{q}, nil)
	if err != nil {
		t.Fatal(err)
	}
	unblock := make(chan struct{})
	defer close(unblock)
	var started atomic.Bool
	run := set.run
	set.run = func(ctx context.Context, eng *vtab.Engine, sql string, params map[string]string) (*result.Set, error) {
		if started.CompareAndSwap(false, true) { // only the first evaluation
			<-unblock // ignores ctx, as a blocked read(2) does
		}
		return run(ctx, eng, sql, params)
	}
	reopened := 0
	set.Reopen = func() (*vtab.Engine, error) {
		reopened++
		return vtab.Open(vtab.Options{ProcRoot: "../../vtab/testdata/fixture/proc"})
	}
	var logged []string
	set.Log = func(msg string) { logged = append(logged, msg) }
	set.StuckAfter = 20 * time.Millisecond

	scrape := func(timeout time.Duration) (float64, bool) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		mfs, _, err := set.Gather(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return value(families(mfs)[SuccessMetric], "query", "quick")
	}
	if v, ok := scrape(100 * time.Millisecond); !ok || v != 0 {
		t.Fatalf("the stuck scrape: success %v %v, want 0 at its deadline", v, ok)
	}
	for i := 0; i < 2; i++ {
		if v, ok := scrape(time.Minute); !ok || v != 1 {
			t.Fatalf("scrape %d after the stuck one: success %v %v", i+2, v, ok)
		}
	}
	if reopened != 1 || len(logged) != 1 {
		t.Errorf("engines reopened %d, logged %q; want once", reopened, logged)
	}
}
