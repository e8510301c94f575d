package top

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/netsql/netsql/queries"
	"github.com/netsql/netsql/queries/result"
)

// fakeSource hands out fixed snapshots, one per Refresh (the last one
// again when they run out), and records what the screen asked of it.
type fakeSource struct {
	mu          sync.Mutex
	snaps       []*Snapshot
	n           int
	drill       *result.Set
	drillPanel  string
	drillParams map[string]string
	namespaces  []string
	ns          string
	panicOn     int // Refresh number that panics; 0: none
}

func (f *fakeSource) Refresh(ctx context.Context) (*Snapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	if f.n == f.panicOn {
		panic("refresh exploded")
	}
	return f.snaps[min(f.n, len(f.snaps))-1], nil
}

func (f *fakeSource) Drill(_ context.Context, p *Panel, params map[string]string) (*result.Set, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.drillPanel, f.drillParams = p.Name(), params
	return f.drill, nil
}

func (f *fakeSource) Namespaces(context.Context) ([]string, error) { return f.namespaces, nil }

func (f *fakeSource) SetNamespace(ns string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ns = ns
}

// refreshes returns how many refreshes ran and the namespace last set.
func (f *fakeSource) state() (int, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n, f.ns
}

// t0 is the time of the first fixed snapshot.
var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// builtinPanels are the canned panels, as top loads them.
func builtinPanels(t testing.TB) []*Panel {
	t.Helper()
	ps, err := Panels(queries.Builtin())
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

// fixedSnapshot is refresh i (0, 1, ...) of a small host: two seconds
// apart, counters growing by known amounts.
func fixedSnapshot(i int) *Snapshot {
	n := int64(i)
	f := func(v float64) any {
		if i == 0 {
			return nil // per-socket rates are unknown on the first refresh
		}
		return v
	}
	return &Snapshot{
		Time: t0.Add(time.Duration(i) * 2 * time.Second),
		Sets: map[string]*result.Set{
			"top-sockets": set([]string{"established", "syn_sent", "syn_recv", "fin_wait1", "fin_wait2", "time_wait", "close_wait", "last_ack", "closing", "listen"},
				[]any{120 + 3*n, int64(0), int64(0), int64(0), int64(1), 40 - n, 7 + 2*n, int64(0), int64(0), int64(4)}),
			"top-tcp": set([]string{"retrans_segs", "listen_overflows", "listen_drops"},
				[]any{1000 + 10*n, int64(5), 5 + 4*n}),
			"top-programs": set([]string{"program", "conns", "listen", "close_wait", "recv_q", "send_q", "retrans_s", "in_bps", "out_bps"},
				[]any{"nginx", int64(80), int64(2), 5 + 2*n, int64(0), int64(1200), f(1.5), f(2.5e6), f(81234.0)},
				[]any{"postgres", int64(30), int64(1), int64(0), int64(10), int64(0), f(0), f(5300), f(1.2e5)},
				[]any{"(unknown)", int64(40), int64(0), int64(0), int64(0), int64(0), nil, nil, nil},
				[]any{"sshd", int64(1), int64(1), int64(0), int64(0), int64(36), f(0), f(120), f(900)}),
			"top-hosts": set([]string{"host", "conns", "close_wait", "recv_q", "send_q", "retrans_s", "in_bps", "out_bps"},
				[]any{"10.0.0.7", int64(60), int64(3), int64(0), int64(800), f(1.0), f(1.9e6), f(5e4)},
				[]any{"2001:db8::42", int64(20), int64(0), int64(10), int64(0), f(0.5), f(6e5), f(3e4)}),
			"top-listeners": set([]string{"proto", "address", "port", "program", "_pid", "queued", "backlog", "fill_pct"},
				[]any{"tcp", "0.0.0.0", int64(443), "nginx", int64(812), int64(96), int64(128), 75.0},
				[]any{"tcp6", "::", int64(5432), "postgres", int64(90), int64(0), int64(244), 0.0},
				[]any{"tcp", "0.0.0.0", int64(22), "sshd", int64(701), int64(0), int64(128), 0.0}),
			"top-interfaces": set([]string{"interface", "_netns", "state", "rx_bytes", "tx_bytes", "rx_packets", "tx_packets", "rx_errors", "tx_errors", "rx_dropped", "tx_dropped"},
				[]any{"eth0", int64(4026531840), "UP", 9e9 + float64(n)*5e6, 4e9 + n*2e6, 1e7 + n*4000, 8e6 + n*3000, int64(0), int64(0), 12 + 6*n, int64(0)},
				[]any{"lo", int64(4026531840), "UNKNOWN", 5e5 + n*2000, 5e5 + n*2000, 900 + n*10, 900 + n*10, int64(0), int64(0), int64(0), int64(0)}),
		},
		Errs: map[string]error{},
	}
}

// fixedModel is a model over fakeSource that has taken refreshes 0..n-1.
func fixedModel(t testing.TB, n int) (*Model, *fakeSource) {
	t.Helper()
	src := &fakeSource{namespaces: []string{"pid:1", "blue", "red"}}
	for i := 0; i < max(n, 1); i++ {
		src.snaps = append(src.snaps, fixedSnapshot(i))
	}
	m := NewModel(context.Background(), src, builtinPanels(t))
	m.Host = "web-1"
	for i := 0; i < n; i++ {
		s, err := src.Refresh(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		m.Update(s)
	}
	return m, src
}
