package top

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/netsql/netsql/queries/result"
	"github.com/netsql/netsql/vtab"
)

// Schema is the name of the attached database holding the snapshot
// tables panels read (snap.sockets, snap.interfaces, ...).
const Schema = "snap"

// RateSuffix ends the name of a snapshot column holding a per-row rate:
// snap.sockets.bytes_received_per_s is the socket's bytes_received change
// since the previous refresh, per second.
const RateSuffix = "_per_s"

// tableRate declares, for a live table, the column identifying a row
// between two refreshes and the counter columns (INTEGER ones) the
// snapshot also offers as per-row rates (COUNTER_per_s). Rows new since the previous refresh
// count from zero when NewFromZero (a socket's counters start at zero
// when it is created); a counter that went down is NULL.
type tableRate struct {
	Table       string
	Key         string
	Counters    []string
	NewFromZero bool
}

// tableRates are the per-row rates the snapshot tables offer.
var tableRates = []tableRate{
	{Table: "sockets", Key: "cookie", NewFromZero: true,
		Counters: []string{"bytes_received", "bytes_sent", "bytes_acked", "total_retrans"}},
}

// Snapshot is one refresh: every panel's result (counters still raw) at
// the time the kernel was read.
type Snapshot struct {
	Time time.Time
	// Sets holds each panel's result by panel name (drill panels none).
	Sets map[string]*result.Set
	// Errs holds the error of each panel whose query failed.
	Errs map[string]error
	// Static is true when the data cannot change (a /proc tree on disk):
	// there is one frame and no rates.
	Static bool
}

// plan is how one live table is read into the snapshot schema.
type plan struct {
	table string
	cols  []string // the columns panels use
	types []string // their SQLite types
	netns bool     // the table takes netns_name
	rate  *tableRate
	rates []string // counters whose _per_s column panels use
	// prev is what the previous refresh read of the key and the rated
	// counters; nil when there is nothing to compare with.
	prev *prevRows
	rows int // how many rows the last read had
}

// Snapshotter reads the live tables panels use, once per refresh each,
// holds what it read as the tables of the snapshot schema (vtab.Held:
// no copy into SQLite), then runs the panels against them. It is the
// Source of the screen and of batch mode.
type Snapshotter struct {
	mu     sync.Mutex // the screen drills down while a refresh runs
	eng    *vtab.Engine
	panels []*Panel
	plans  []*plan
	static bool
	ns     string
	prev   time.Time
}

// NewSnapshotter attaches the snapshot schema to eng and plans the copy
// of every table the panels read. static says the engine reads a /proc
// tree on disk.
func NewSnapshotter(ctx context.Context, eng *vtab.Engine, panels []*Panel, static bool) (*Snapshotter, error) {
	if _, err := eng.ExecContext(ctx, "ATTACH DATABASE ':memory:' AS "+Schema); err != nil {
		return nil, fmt.Errorf("top: attach snapshot schema: %w", err)
	}
	s := &Snapshotter{eng: eng, panels: panels, static: static}
	s.plans = planTables(eng.Schemas(), panels)
	return s, nil
}

// SetNamespace makes the next refreshes read namespace ns: "" for the
// one netsql runs in, a name, pid:N, or * for every namespace. Rates
// start again: the previous rows were another namespace's.
func (s *Snapshotter) SetNamespace(ns string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ns = ns
	s.prev = time.Time{}
	for _, p := range s.plans {
		p.prev = nil
	}
}

// Namespace returns what SetNamespace set.
func (s *Snapshotter) Namespace() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ns
}

var (
	wordRE = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*`)
	// aliasRE is a name an AS gives (a result column, a table, a CAST
	// type): a name defined there, not a column read.
	aliasRE = regexp.MustCompile(`(?i)\bAS\s+(?:"[^"]*"|[A-Za-z_][A-Za-z0-9_]*)`)
)

// sqlWords returns the identifiers of a query's SQL, comments, string
// literals and the names AS gives left out: `total_retrans AS retrans`
// reads total_retrans, not a column named retrans.
func sqlWords(text string) map[string]bool {
	var b strings.Builder
	for i := 0; i < len(text); i++ {
		switch {
		case strings.HasPrefix(text[i:], "--"):
			for i < len(text) && text[i] != '\n' {
				i++
			}
		case strings.HasPrefix(text[i:], "/*"):
			end := strings.Index(text[i+2:], "*/")
			if end < 0 {
				i = len(text)
			} else {
				i += end + 3
			}
		case text[i] == '\'':
			for i++; i < len(text) && text[i] != '\''; i++ {
			}
		default:
			b.WriteByte(text[i])
			continue
		}
		b.WriteByte(' ')
	}
	words := map[string]bool{}
	for _, w := range wordRE.FindAllString(strings.ToLower(aliasRE.ReplaceAllString(b.String(), " ")), -1) {
		words[w] = true
	}
	return words
}

// planTables finds, for every table panels read as snap.TABLE, the
// columns any of those panels names (a word of its SQL equal to a column
// name); only those are read from the kernel.
func planTables(schemas []vtab.Schema, panels []*Panel) []*plan {
	var plans []*plan
	for _, sc := range schemas {
		ref := regexp.MustCompile(`(?i)\b` + Schema + `\s*\.\s*"?` + regexp.QuoteMeta(sc.Name) + `\b`)
		words := map[string]bool{}
		used := false
		for _, p := range panels {
			if !ref.MatchString(stripComments(p.Query.SQL)) {
				continue
			}
			used = true
			for w := range sqlWords(p.Query.SQL) {
				words[w] = true
			}
		}
		if !used {
			continue
		}
		pl := &plan{table: sc.Name, netns: sc.PerNetNS}
		for i := range tableRates {
			if tableRates[i].Table == sc.Name {
				pl.rate = &tableRates[i]
			}
		}
		need := map[string]bool{}
		if pl.rate != nil {
			for _, c := range pl.rate.Counters {
				if words[c+RateSuffix] && integerColumn(sc, c) {
					pl.rates = append(pl.rates, c)
					need[c], need[pl.rate.Key] = true, true
				}
			}
		}
		for _, c := range sc.Columns {
			if words[c.Name] || need[c.Name] {
				pl.cols, pl.types = append(pl.cols, c.Name), append(pl.types, c.Type)
			}
		}
		if len(pl.cols) == 0 && len(sc.Columns) > 0 {
			pl.cols, pl.types = []string{sc.Columns[0].Name}, []string{sc.Columns[0].Type} // count(*) alone
		}
		plans = append(plans, pl)
	}
	sort.Slice(plans, func(i, j int) bool { return plans[i].table < plans[j].table })
	return plans
}

// integerColumn reports whether sc has an INTEGER column named name:
// only those are counters statements computes rates of.
func integerColumn(sc vtab.Schema, name string) bool {
	for _, c := range sc.Columns {
		if c.Name == name {
			return c.Type == vtab.Integer
		}
	}
	return false
}

func stripComments(text string) string {
	var b strings.Builder
	for _, line := range strings.Split(text, "\n") {
		if i := strings.Index(line, "--"); i >= 0 {
			line = line[:i]
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String()
}

// Refresh reads the kernel once for all panels (one read per live
// table they use) and runs every panel that is not a drill-down.
func (s *Snapshotter) Refresh(ctx context.Context) (*Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	dt := 0.0
	if !s.prev.IsZero() && !s.static {
		dt = now.Sub(s.prev).Seconds()
	}
	// Every table is read at one moment: one /proc fd walk serves the
	// owner columns of every read (and namespace) of the refresh.
	release := s.eng.HoldOwners()
	defer release()
	for _, pl := range s.plans {
		// The previous rows go before the read: what rates need of them
		// is in pl.prev, and two reads of 80k sockets at once would
		// double the memory a refresh needs.
		if err := s.eng.Hold(ctx, Schema, pl.table, vtab.NewHeld(pl.columns(), 0)); err != nil {
			return nil, fmt.Errorf("top: read %s: %w", pl.table, err)
		}
		h, err := pl.read(ctx, s.eng, s.ns, dt)
		if err == nil {
			err = s.eng.Hold(ctx, Schema, pl.table, h)
		}
		if err != nil {
			pl.prev = nil // the next refresh has nothing to compare with
			return nil, fmt.Errorf("top: read %s: %w", pl.table, err)
		}
	}
	release()
	s.prev = now
	snap := &Snapshot{Time: now, Sets: map[string]*result.Set{}, Errs: map[string]error{}, Static: s.static}
	for _, p := range s.panels {
		if p.Show == "drill" {
			continue
		}
		set, err := result.Run(ctx, s.eng, p.Query.SQL, p.Query.Bind(nil))
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			snap.Errs[p.Name()] = fmt.Errorf("%s: %w", p.Name(), err)
			continue
		}
		snap.Sets[p.Name()] = set
	}
	return snap, nil
}

// Drill runs the drill-down panel p against the current snapshot with
// params bound (the chosen row's columns by name).
func (s *Snapshotter) Drill(ctx context.Context, p *Panel, params map[string]string) (*result.Set, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	set, err := result.Run(ctx, s.eng, p.Query.SQL, p.Query.Bind(params))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.Name(), err)
	}
	return set, nil
}

// Namespaces lists the namespaces top can show, by the names netns_name
// accepts.
func (s *Snapshotter) Namespaces(ctx context.Context) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	set, err := result.Run(ctx, s.eng, "SELECT name FROM namespaces ORDER BY current DESC, name", nil)
	if err != nil {
		return nil, fmt.Errorf("top: namespaces: %w", err)
	}
	var out []string
	for _, r := range set.Rows {
		if name, ok := r[0].(string); ok {
			out = append(out, name)
		}
	}
	return out, nil
}
