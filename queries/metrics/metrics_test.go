package metrics

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/netsql/netsql/queries"
	"github.com/netsql/netsql/vtab"
)

func engine(t *testing.T) *vtab.Engine {
	t.Helper()
	eng, err := vtab.Open(vtab.Options{ProcRoot: "../../vtab/testdata/fixture/proc"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	return eng
}

func query(t *testing.T, name, text string) queries.Query {
	t.Helper()
	q, err := queries.Parse(name+".sql", text)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// endless never finishes on its own: only cancellation stops it.
const endless = "-- metric: netsql_slow\n-- type: gauge\n-- value: v\n" +
	"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) AS v FROM c;"

func families(mfs []*dto.MetricFamily) map[string]*dto.MetricFamily {
	m := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		m[mf.GetName()] = mf
	}
	return m
}

func value(mf *dto.MetricFamily, label, val string) (float64, bool) {
	for _, m := range mf.GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == label && l.GetValue() == val {
				if m.Gauge != nil {
					return m.GetGauge().GetValue(), true
				}
				return m.GetCounter().GetValue(), true
			}
		}
	}
	return 0, false
}

func TestGatherRowsToSamples(t *testing.T) {
	qs := []queries.Query{
		query(t, "good", "-- description: d\n-- metric: netsql_t\n-- type: counter\n-- labels: k\n-- value: v\n"+
			"SELECT 'a' AS k, 1 AS v UNION ALL SELECT NULL, 2.5 UNION ALL SELECT 'skipped', NULL UNION ALL SELECT 'c', '7';"),
		query(t, "dup", "-- metric: netsql_dup\n-- type: gauge\n-- labels: k\n-- value: v\nSELECT 'a' AS k, 1 AS v UNION ALL SELECT 'a', 2;"),
		query(t, "nan", "-- metric: netsql_nan\n-- type: gauge\n-- value: v\nSELECT 'many' AS v;"),
		query(t, "nocol", "-- metric: netsql_nocol\n-- type: gauge\n-- value: v\nSELECT 1 AS w;"),
		query(t, "param", "-- param: n=3 x\n-- metric: netsql_param\n-- type: gauge\n-- value: v\nSELECT :n AS v;"),
	}
	set, err := NewSet(engine(t), qs, map[string]string{"n": "4"})
	if err != nil {
		t.Fatal(err)
	}
	mfs, failed, err := set.Gather(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m := families(mfs)
	good := m["netsql_t"]
	if good.GetType() != dto.MetricType_COUNTER || good.GetHelp() != "d" || len(good.GetMetric()) != 3 {
		t.Errorf("netsql_t = %v", good)
	}
	if v, ok := value(good, "k", "c"); !ok || v != 7 {
		t.Errorf("text number: %v %v", v, ok)
	}
	if v, _ := value(m["netsql_param"], "", ""); len(m["netsql_param"].GetMetric()) != 1 || m["netsql_param"].GetMetric()[0].GetGauge().GetValue() != 4 {
		t.Errorf("-p did not override the default: %v %v", v, m["netsql_param"])
	}
	var names []string
	for _, f := range failed {
		names = append(names, f.Query+": "+f.Err.Error())
	}
	got := strings.Join(names, "\n")
	for _, want := range []string{"dup: metric netsql_dup: two rows have the same labels {k=\"a\"}", "nan: metric netsql_nan: column v: value \"many\" is not a number", "nocol: metric netsql_nocol: the result has no value column \"v\""} {
		if !strings.Contains(got, want) {
			t.Errorf("failures lack %q:\n%s", want, got)
		}
	}
	for q, want := range map[string]float64{"good": 1, "dup": 0, "nan": 0, "nocol": 0, "param": 1} {
		if v, ok := value(m[SuccessMetric], "query", q); !ok || v != want {
			t.Errorf("success{%s} = %v, %v", q, v, ok)
		}
	}
	if m["netsql_dup"] != nil {
		t.Error("a failed query exported part of its samples")
	}
	if _, err := NewSet(engine(t), []queries.Query{query(t, "plain", "SELECT 1;")}, nil); err == nil {
		t.Error("a query without metrics was accepted")
	}
}

func TestGatherTimeout(t *testing.T) {
	set, err := NewSet(engine(t), []queries.Query{
		query(t, "slow", endless),
		query(t, "after", "-- metric: netsql_after\n-- type: gauge\n-- value: v\nSELECT 1 AS v;"),
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	mfs, failed, err := set.Gather(ctx)
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("the timeout did not stop the query: %v", took)
	}
	if err != nil || len(failed) != 2 {
		t.Fatalf("failed = %v, err %v", failed, err)
	}
	if v, ok := value(families(mfs)[SuccessMetric], "query", "slow"); !ok || v != 0 {
		t.Errorf("slow: success %v %v", v, ok)
	}
}

func TestServerScrapeTimeoutStill200(t *testing.T) {
	set, err := NewSet(engine(t), []queries.Query{query(t, "slow", endless)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{Set: set, ScrapeTimeout: 5 * time.Second}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	req, _ := http.NewRequest("GET", ts.URL+MetricsPath, nil)
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "0.3")
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("Prometheus's scrape timeout header was not honoured: %v", took)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if resp.StatusCode != 200 || err != nil {
		t.Fatalf("status %d, %v", resp.StatusCode, err)
	}
	if v, ok := value(mfs[SuccessMetric], "query", "slow"); !ok || v != 0 {
		t.Errorf("slow: success %v %v", v, ok)
	}
}

func TestServerInFlightLimit(t *testing.T) {
	set, err := NewSet(engine(t), []queries.Query{query(t, "slow", endless)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The slow query holds the one slot until its scrape ends: the
	// scrape timeout (a minute: ample for the second scrape to arrive
	// while the first runs) or the client going away. The second scrape
	// starts once the first has reached the handler (not after a sleep
	// the first may outlast on a busy machine); once it is answered the
	// test hangs up on the first, whose status the server side records.
	srv := &Server{Set: set, ScrapeTimeout: time.Minute, MaxInFlight: 1}
	h := srv.Handler()
	entered := make(chan struct{}, 2)
	status := make(chan int, 2)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		rec := &statusRecorder{ResponseWriter: w, code: 200}
		h.ServeHTTP(rec, r)
		status <- rec.code
	}))
	defer ts.Close()
	ctx, hangUp := context.WithCancel(context.Background())
	defer hangUp()
	go func() {
		req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+MetricsPath, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	<-entered
	resp, err := http.Get(ts.URL + MetricsPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	second := <-status
	hangUp()
	first := <-status
	// The first normally takes the slot; should its goroutine stall between
	// entering the handler and taking it, the second takes it instead.
	// Either way exactly one of the two overlapping scrapes is refused.
	if second != resp.StatusCode {
		t.Errorf("the second scrape got %d, its handler wrote %d", resp.StatusCode, second)
	}
	if codes := [2]int{first, second}; codes != [2]int{200, 503} && codes != [2]int{503, 200} {
		t.Errorf("two concurrent scrapes with MaxInFlight 1: first %d, second %d; want one 200 and one 503", codes[0], codes[1])
	}
}

func TestWriteTextfileKeepsOldFileOnError(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "n.prom")
	os.WriteFile(file, []byte("old\n"), 0o644)
	// An invalid family makes the encoder fail midway.
	name := "netsql_ok"
	bad := "bad metric name"
	typ := dto.MetricType_GAUGE
	v := 1.0
	mfs := []*dto.MetricFamily{
		{Name: &name, Type: &typ, Metric: []*dto.Metric{{Gauge: &dto.Gauge{Value: &v}}}},
		{Name: &bad, Type: &typ, Metric: []*dto.Metric{{Gauge: &dto.Gauge{Value: &v}}, {}}},
	}
	err := WriteTextfile(file, mfs)
	if err == nil || !strings.Contains(err.Error(), file) {
		t.Fatalf("WriteTextfile of an invalid family = %v, want an error naming the file", err)
	}
	ents, _ := os.ReadDir(dir)
	if b, _ := os.ReadFile(file); len(ents) != 1 || string(b) != "old\n" {
		t.Errorf("a failed write left %v, file %q", ents, b)
	}
	if err := WriteTextfile(file, mfs[:1]); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(file)
	if string(b) != "# TYPE netsql_ok gauge\nnetsql_ok 1\n" {
		t.Errorf("textfile = %q", b)
	}
}

// statusRecorder records the status a handler writes.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}
