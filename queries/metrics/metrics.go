// Package metrics turns netsql's metric queries into Prometheus metrics:
// a prometheus.Collector that evaluates the queries when gathered, an
// atomic writer for node_exporter's textfile collector, and an HTTP server
// for /metrics. The text format itself is client_golang's (expfmt,
// promhttp): nothing here formats metrics by hand.
//
// A metric query is a canned query whose header declares metrics (see
// queries.Metric). Besides its own metrics every query yields
//
//	netsql_query_success{query="NAME"}           1 or 0
//	netsql_query_duration_seconds{query="NAME"}  how long it ran
//
// so a query that fails (a syntax error in a user's file, a timeout) shows
// up as a metric instead of failing the whole scrape or export. A user
// query file that could not be loaded at all (a header typo) is counted in
//
//	netsql_query_file_errors  user query files skipped (0 when none)
package metrics

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/netsql/netsql/queries"
	"github.com/netsql/netsql/queries/result"
	"github.com/netsql/netsql/vtab"
)

// Names of the metrics every query yields about itself.
const (
	SuccessMetric  = "netsql_query_success"
	DurationMetric = "netsql_query_duration_seconds"
	// FileErrorsMetric counts the user query files that were skipped.
	FileErrorsMetric = "netsql_query_file_errors"
)

var (
	successDesc = prometheus.NewDesc(SuccessMetric,
		"1 when the netsql metric query ran and its rows became metrics, 0 when it failed (netsql logs why).",
		[]string{"query"}, nil)
	durationDesc = prometheus.NewDesc(DurationMetric,
		"How long the netsql metric query took to run, in seconds.",
		[]string{"query"}, nil)
	fileErrorsDesc = prometheus.NewDesc(FileErrorsMetric,
		"How many user query files netsql skipped because they could not be read or parsed (netsql logs which and why).",
		nil, nil)
)

// QueryError is a metric query that failed.
type QueryError struct {
	Query string
	Err   error
}

// Error names the query and what went wrong.
func (e *QueryError) Error() string { return fmt.Sprintf("query %s: %v", e.Query, e.Err) }

// Unwrap returns the query's own error.
func (e *QueryError) Unwrap() error { return e.Err }

// Set is the metric queries an export or a server evaluates on one engine.
// It is safe for concurrent use: evaluations take turns on the engine.
type Set struct {
	queries []queries.Query
	params  map[string]string
	// FileErrors is how many user query files were skipped when the
	// catalog was loaded; exported as netsql_query_file_errors.
	FileErrors int

	// StuckAfter is how long past its deadline an evaluation may still
	// run before the engine is given up to it (DefaultStuckAfter when 0).
	StuckAfter time.Duration
	// Reopen, when set, opens a fresh engine. An evaluation that is still
	// running StuckAfter past its own deadline is stuck where its context
	// does not reach (a read the kernel keeps blocked); the next
	// evaluation then abandons the engine to it and goes on with a fresh
	// one instead of failing every scrape from then on. Nil: wait for it.
	Reopen func() (*vtab.Engine, error)
	// Log receives a line when an engine is abandoned.
	Log func(msg string)

	// run runs a query (result.Run; tests replace it).
	run func(ctx context.Context, eng *vtab.Engine, sql string, params map[string]string) (*result.Set, error)

	mu  sync.Mutex
	eng *vtab.Engine
	// turn holds a token while an evaluation uses eng; a fresh engine
	// comes with a fresh turn.
	turn chan struct{}
	// held is when the holder of turn must be done (its deadline plus
	// StuckAfter); zero when the turn is free or has no deadline.
	held time.Time
}

// DefaultStuckAfter is how long past its deadline an evaluation may still
// run before the engine is given up to it (see Set.Reopen), unless
// Set.StuckAfter says otherwise.
const DefaultStuckAfter = 2 * time.Second

// NewSet returns a Set evaluating qs on eng. params override the queries'
// declared defaults (-p). Every query must declare at least one metric.
func NewSet(eng *vtab.Engine, qs []queries.Query, params map[string]string) (*Set, error) {
	if len(qs) == 0 {
		return nil, errors.New("no metric queries")
	}
	for _, q := range qs {
		if len(q.Metrics) == 0 {
			return nil, fmt.Errorf("query %s declares no metric (a metric query has -- metric:, -- type: and -- value: header lines)", q.Name)
		}
	}
	return &Set{eng: eng, queries: qs, params: params, turn: make(chan struct{}, 1), run: result.Run}, nil
}

// MetricQueries returns the queries of qs that declare metrics.
func MetricQueries(qs []queries.Query) []queries.Query {
	var out []queries.Query
	for _, q := range qs {
		if len(q.Metrics) > 0 {
			out = append(out, q)
		}
	}
	return out
}

// Gather evaluates every query under ctx and returns the metric families,
// sorted by name, and the queries that failed (their
// netsql_query_success is 0 in the families). err is set only when the
// families themselves are inconsistent (two queries declaring one metric
// name with different help or labels); what could be gathered is still
// returned.
func (s *Set) Gather(ctx context.Context) (mfs []*dto.MetricFamily, failed []*QueryError, err error) {
	reg := prometheus.NewRegistry()
	c := s.Collector(ctx)
	if err := reg.Register(c); err != nil {
		return nil, nil, fmt.Errorf("metrics: %w", err)
	}
	mfs, err = reg.Gather()
	if err != nil {
		err = fmt.Errorf("metrics: %w", err)
	}
	return mfs, c.Failed(), err
}

// Collector returns a prometheus.Collector that evaluates the set's
// queries under ctx each time it is collected. It is an unchecked
// collector (its metrics depend on the rows), so register it on a
// registry of its own.
func (s *Set) Collector(ctx context.Context) *Collector {
	return &Collector{set: s, ctx: ctx}
}

// Collector is a prometheus.Collector over a Set, bound to a context.
type Collector struct {
	set *Set
	ctx context.Context

	mu     sync.Mutex
	failed []*QueryError
}

// Describe sends nothing: the metrics depend on the rows (an unchecked
// collector).
func (c *Collector) Describe(chan<- *prometheus.Desc) {}

// Collect runs every query and sends its samples, then its success and
// duration.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	c.failed = nil
	c.mu.Unlock()
	eng, release, lockErr := c.set.acquire(c.ctx)
	handedOff := false
	defer func() {
		if lockErr == nil && !handedOff {
			release()
		}
	}()
	if lockErr == nil {
		// One /proc fd walk names the owners for every query of the
		// scrape (by program, by unit): one moment, and half the cost.
		releaseOwners := eng.HoldOwners()
		defer releaseOwners()
	}
	for _, q := range c.set.queries {
		start := time.Now()
		var samples []prometheus.Metric
		err := lockErr
		switch {
		case err == nil && handedOff:
			err = c.ctx.Err()
		case err == nil:
			samples, handedOff, err = c.set.evaluate(c.ctx, eng, q, release)
		}
		took := time.Since(start).Seconds()
		ok := 1.0
		if err != nil {
			ok = 0
			samples = nil
			c.mu.Lock()
			c.failed = append(c.failed, &QueryError{Query: q.Name, Err: err})
			c.mu.Unlock()
		}
		for _, m := range samples {
			ch <- m
		}
		ch <- prometheus.MustNewConstMetric(successDesc, prometheus.GaugeValue, ok, q.Name)
		ch <- prometheus.MustNewConstMetric(durationDesc, prometheus.GaugeValue, took, q.Name)
	}
	ch <- prometheus.MustNewConstMetric(fileErrorsDesc, prometheus.GaugeValue, float64(c.set.FileErrors))
}

// Failed returns the queries that failed during the last Collect.
func (c *Collector) Failed() []*QueryError {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*QueryError(nil), c.failed...)
}

// acquire waits for the engine's turn, or for ctx to end, and returns the
// engine to use. A holder stuck past its deadline (see Reopen) is left
// the old engine, which it closes when it returns.
func (s *Set) acquire(ctx context.Context) (eng *vtab.Engine, release func(), err error) {
	for {
		s.mu.Lock()
		turn, eng, held := s.turn, s.eng, s.held
		s.mu.Unlock()
		var stuck <-chan time.Time
		var timer *time.Timer
		if s.Reopen != nil && !held.IsZero() {
			timer = time.NewTimer(time.Until(held))
			stuck = timer.C
		}
		stop := func() {
			if timer != nil {
				timer.Stop()
			}
		}
		select {
		case turn <- struct{}{}:
			stop()
			s.mu.Lock()
			current := s.turn == turn
			if current {
				s.held = time.Time{}
				if dl, ok := ctx.Deadline(); ok {
					s.held = dl.Add(cmp.Or(s.StuckAfter, DefaultStuckAfter))
				}
			}
			s.mu.Unlock()
			if !current { // replaced meanwhile: it was the abandoned one
				<-turn
				continue
			}
			return eng, func() { s.release(turn, eng) }, nil
		case <-ctx.Done():
			stop()
			return nil, nil, fmt.Errorf("waiting for another evaluation: %w", ctx.Err())
		case <-stuck:
			if err := s.replace(turn); err != nil {
				return nil, nil, err
			}
		}
	}
}

// release ends a turn; an engine abandoned meanwhile is closed.
func (s *Set) release(turn chan struct{}, eng *vtab.Engine) {
	s.mu.Lock()
	abandoned := s.turn != turn
	if !abandoned {
		s.held = time.Time{}
	}
	s.mu.Unlock()
	<-turn
	if abandoned {
		eng.Close()
	}
}

// replace gives the engine whose turn is turn up to its stuck holder and
// opens a fresh one, unless that happened already.
func (s *Set) replace(turn chan struct{}) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.turn != turn {
		return nil
	}
	eng, err := s.Reopen()
	if err != nil {
		return fmt.Errorf("an evaluation is stuck and a fresh engine failed: %w", err)
	}
	if s.Log != nil {
		s.Log("metrics: an evaluation is stuck past its deadline (a read the kernel keeps blocked); going on with a fresh engine")
	}
	s.eng, s.turn, s.held = eng, make(chan struct{}, 1), time.Time{}
	return nil
}

// evaluate runs one query on eng and turns its rows into samples. The
// query runs aside: when ctx ends first, evaluate returns at once with
// handedOff set, and the running query keeps the engine's turn and calls
// release when it returns (if ever; see Reopen).
func (s *Set) evaluate(ctx context.Context, eng *vtab.Engine, q queries.Query, release func()) (_ []prometheus.Metric, handedOff bool, _ error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	type ran struct {
		set *result.Set
		err error
	}
	done := make(chan ran, 1)
	go func() {
		set, err := s.run(ctx, eng, q.SQL, q.Bind(s.params))
		done <- ran{set, err}
	}()
	var r ran
	select {
	case r = <-done:
	case <-ctx.Done():
		go func() {
			<-done
			release()
		}()
		return nil, true, ctx.Err()
	}
	if r.err != nil {
		if ctx.Err() != nil {
			return nil, false, ctx.Err()
		}
		return nil, false, r.err
	}
	var out []prometheus.Metric
	for _, m := range q.Metrics {
		ms, err := samples(m, r.set)
		if err != nil {
			return nil, false, fmt.Errorf("metric %s: %w", m.Name, err)
		}
		out = append(out, ms...)
	}
	return out, false, nil
}

// samples turns a result into one metric's samples.
func samples(m queries.Metric, set *result.Set) ([]prometheus.Metric, error) {
	vi := set.Index(m.Value)
	if vi < 0 {
		return nil, fmt.Errorf("the result has no value column %q (columns: %s)", m.Value, strings.Join(set.Columns, ", "))
	}
	li := make([]int, len(m.Labels))
	for i, l := range m.Labels {
		if li[i] = set.Index(l); li[i] < 0 {
			return nil, fmt.Errorf("the result has no label column %q (columns: %s)", l, strings.Join(set.Columns, ", "))
		}
	}
	typ := prometheus.GaugeValue
	if m.Type == "counter" {
		typ = prometheus.CounterValue
	}
	desc := prometheus.NewDesc(m.Name, m.Help, m.Labels, nil)
	seen := map[string]bool{}
	var out []prometheus.Metric
	for _, row := range set.Rows {
		if row[vi] == nil {
			continue
		}
		v, err := number(row[vi])
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", m.Value, err)
		}
		lv := make([]string, len(li))
		for i, j := range li {
			lv[i] = labelValue(row[j])
		}
		key := strings.Join(lv, "\xff")
		if seen[key] {
			return nil, fmt.Errorf("two rows have the same labels {%s}: group by every label column", labelText(m.Labels, lv))
		}
		seen[key] = true
		sample, err := prometheus.NewConstMetric(desc, typ, v, lv...)
		if err != nil {
			return nil, err
		}
		out = append(out, sample)
	}
	return out, nil
}

func labelText(names, values []string) string {
	parts := make([]string, len(names))
	for i := range names {
		parts[i] = fmt.Sprintf("%s=%q", names[i], values[i])
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// number converts a column value to a sample value.
func number(v any) (float64, error) {
	switch x := v.(type) {
	case int64:
		return float64(x), nil
	case float64:
		return x, nil
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	case string:
		return parseNumber(x)
	case []byte:
		return parseNumber(string(x))
	case time.Time:
		return float64(x.UnixNano()) / 1e9, nil
	}
	return 0, fmt.Errorf("value %v (%T) is not a number", v, v)
}

func parseNumber(s string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) && !strings.EqualFold(strings.TrimSpace(s), "nan") {
		return 0, fmt.Errorf("value %q is not a number", s)
	}
	return f, nil
}

// labelValue is a column value's label text: NULL is "" (no label);
// text is escaped by LabelText.
func labelValue(v any) string {
	var s string
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		s = x
	case []byte:
		s = string(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	default:
		s = fmt.Sprint(x)
	}
	return LabelText(s)
}

// LabelText makes text (a process name is bytes, not UTF-8) a valid label
// value without merging two texts into one. Valid UTF-8 without the two
// characters `\x` is kept as it is, which is every ordinary value.
// Anything else is escaped: each byte that is not part of valid UTF-8
// becomes \xHH (two lower-case hex digits) and each backslash \\, so
// "\xff" and "\xfe" (one byte each) stay two labels, `\xff` and `\xfe`,
// and the literal four characters \xff become `\\xff`. A text kept as it
// is never contains `\x`, and every escaped one does, so the mapping is
// reversible.
func LabelText(s string) string {
	if utf8.ValidString(s) && !strings.Contains(s, `\x`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\\':
			b.WriteString(`\\`)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}
