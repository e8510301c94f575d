package metrics

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Paths the server answers; everything else is 404.
const (
	MetricsPath = "/metrics"
	HealthPath  = "/healthz"
)

// Server serves a Set's metrics over HTTP, evaluating the queries at
// scrape time.
type Server struct {
	Set *Set
	// Addr is the address to listen on, e.g. "127.0.0.1:9464" (port 0
	// picks a free one).
	Addr string
	// ScrapeTimeout bounds one scrape's evaluation (default 10s); a
	// Prometheus X-Prometheus-Scrape-Timeout-Seconds header shortens it.
	// Queries still running when it ends fail and are exported as
	// netsql_query_success 0; the scrape itself still answers 200.
	ScrapeTimeout time.Duration
	// MaxInFlight is how many scrapes may be in progress at once (default
	// 3); more get 503 at once.
	MaxInFlight int
	// Ready is called with the listening address once the server accepts
	// connections.
	Ready func(addr net.Addr)
	// Log receives one-line messages: a query's failure (once until its
	// error changes), HTTP errors. Nil discards them.
	Log func(msg string)
	// Timeouts bound the server's connections and its shutdown; a zero
	// field takes its DefaultTimeouts value.
	Timeouts Timeouts

	mu       sync.Mutex
	lastErrs map[string]string
}

// Timeouts bound an HTTP server's connections (see net/http.Server) and
// how long Run waits for scrapes in progress when it stops.
type Timeouts struct {
	// ReadHeader and Read bound reading a request's header and all of it.
	ReadHeader, Read time.Duration
	// WriteExtra is added to the scrape timeout to bound writing a reply.
	WriteExtra time.Duration
	// Idle bounds a kept-alive connection waiting for its next request.
	Idle time.Duration
	// Shutdown is how long Run lets scrapes in progress (and clients that
	// never finish a request) keep it from returning once ctx ends; then
	// it closes every connection.
	Shutdown time.Duration
}

// DefaultTimeouts returns the server's timeouts where Server.Timeouts
// leaves them zero.
func DefaultTimeouts() Timeouts {
	return Timeouts{ReadHeader: 5 * time.Second, Read: 10 * time.Second, WriteExtra: 10 * time.Second, Idle: 60 * time.Second, Shutdown: 5 * time.Second}
}

// timeouts is s.Timeouts with each zero field set to its default.
func (s *Server) timeouts() Timeouts {
	t, d := s.Timeouts, DefaultTimeouts()
	return Timeouts{
		ReadHeader: cmp.Or(t.ReadHeader, d.ReadHeader),
		Read:       cmp.Or(t.Read, d.Read),
		WriteExtra: cmp.Or(t.WriteExtra, d.WriteExtra),
		Idle:       cmp.Or(t.Idle, d.Idle),
		Shutdown:   cmp.Or(t.Shutdown, d.Shutdown),
	}
}

func (s *Server) scrapeTimeout() time.Duration {
	if s.ScrapeTimeout > 0 {
		return s.ScrapeTimeout
	}
	return 10 * time.Second
}

func (s *Server) log(msg string) {
	if s.Log != nil {
		s.Log(msg)
	}
}

// Handler returns the server's routes: GET /metrics and GET /healthz
// (HEAD too); other paths are 404, other methods 405.
func (s *Server) Handler() http.Handler {
	max := s.MaxInFlight
	if max <= 0 {
		max = 3
	}
	inFlight := make(chan struct{}, max)
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+HealthPath, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET "+MetricsPath, func(w http.ResponseWriter, r *http.Request) {
		select {
		case inFlight <- struct{}{}:
			defer func() { <-inFlight }()
		default:
			http.Error(w, "too many concurrent scrapes", http.StatusServiceUnavailable)
			return
		}
		s.serveMetrics(w, r)
	})
	return mux
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	timeout := headerTimeout(r.Header.Get("X-Prometheus-Scrape-Timeout-Seconds"), s.scrapeTimeout())
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	c := s.Set.Collector(ctx)
	reg := prometheus.NewRegistry()
	if err := reg.Register(c); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorHandling: promhttp.ContinueOnError,
		ErrorLog:      logFunc(s.log),
	}).ServeHTTP(w, r)
	s.reportFailures(c.Failed())
}

// Loopback reports whether addr is reachable only from this host: a
// loopback IP. The unspecified address (0.0.0.0, ::, what ":9464" listens
// on) is every interface's.
func Loopback(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

// headerTimeout is the evaluation time left for a scrape whose
// X-Prometheus-Scrape-Timeout-Seconds header is header: nine tenths of it
// (Prometheus needs the rest to receive the answer), clamped to max. A
// header that is not a positive finite number of seconds (Inf, NaN, 0,
// junk) is ignored; one too large for a time.Duration (1e300) is max.
func headerTimeout(header string, max time.Duration) time.Duration {
	v, err := strconv.ParseFloat(strings.TrimSpace(header), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 {
		return max
	}
	if secs := v * 0.9; secs < max.Seconds() {
		if d := time.Duration(secs * float64(time.Second)); d > 0 {
			return d
		}
		return time.Nanosecond
	}
	return max
}

// reportFailures logs each failing query once until its error changes,
// and says when it recovers, so a scrape every 15s does not flood the log.
func (s *Server) reportFailures(failed []*QueryError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lastErrs == nil {
		s.lastErrs = map[string]string{}
	}
	now := map[string]string{}
	for _, f := range failed {
		now[f.Query] = f.Err.Error()
		if s.lastErrs[f.Query] != now[f.Query] {
			s.log(fmt.Sprintf("metrics: %v", f))
		}
	}
	for q := range s.lastErrs {
		if _, still := now[q]; !still {
			s.log(fmt.Sprintf("metrics: query %s: succeeds again", q))
		}
	}
	s.lastErrs = now
}

// logFunc adapts a one-line logger to promhttp's Println interface.
type logFunc func(string)

func (l logFunc) Println(v ...any) { l(fmt.Sprint(v...)) }

// Run listens on Addr and serves until ctx ends, then shuts down,
// letting scrapes in progress finish for a few seconds. A client that
// sends nothing, or reads nothing, is cut off by the server's timeouts.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return err
	}
	to := s.timeouts()
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: to.ReadHeader,
		ReadTimeout:       to.Read,
		WriteTimeout:      s.scrapeTimeout() + to.WriteExtra,
		IdleTimeout:       to.Idle,
		MaxHeaderBytes:    16 << 10,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ErrorLog:          log.New(logWriter(s.log), "", 0),
	}
	if !Loopback(ln.Addr()) {
		s.log(fmt.Sprintf("warning: listening on %s, not only on loopback: anyone who can reach it reads process names, ports and addresses (there is no authentication)", ln.Addr()))
	}
	if s.Ready != nil {
		s.Ready(ln.Addr())
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), to.Shutdown)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		srv.Close()
	}
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// logWriter adapts a one-line logger to an io.Writer for log.Logger.
type logWriter func(string)

func (l logWriter) Write(p []byte) (int, error) {
	msg := string(p)
	for len(msg) > 0 && msg[len(msg)-1] == '\n' {
		msg = msg[:len(msg)-1]
	}
	l(msg)
	return len(p), nil
}
