package top

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/netsql/netsql/queries/result"
)

// Source is what the screen reads: a Snapshotter, or fixed snapshots in
// tests.
type Source interface {
	// Refresh reads the kernel once and runs every panel.
	Refresh(ctx context.Context) (*Snapshot, error)
	// Drill runs a drill-down panel on the current snapshot.
	Drill(ctx context.Context, p *Panel, params map[string]string) (*result.Set, error)
	// Namespaces lists the namespaces that can be picked.
	Namespaces(ctx context.Context) ([]string, error)
	// SetNamespace picks the namespace the next refreshes read.
	SetNamespace(ns string)
}

// Intervals are the refresh intervals + and - step through.
var Intervals = []time.Duration{
	500 * time.Millisecond, time.Second, 2 * time.Second, 3 * time.Second, 5 * time.Second,
	10 * time.Second, 30 * time.Second, time.Minute,
}

// DefaultInterval is the refresh interval top starts with.
const DefaultInterval = 2 * time.Second

// historyWindow is how far back the header's sparklines reach.
const historyWindow = time.Minute

// Key is a key press: Name for a special key (up, down, pgup, pgdn,
// home, end, enter, esc, tab, backtab, backspace, ctrl-c, left, right),
// else Rune.
type Key struct {
	Name string
	Rune rune
}

// view is the state of one table on screen.
type view struct {
	sortCol  string
	sortDesc bool
	filter   string
	sel      int
	selKey   string
	top      int
}

// mode is what the keyboard is driving.
type mode int

const (
	modeTable  mode = iota
	modeFilter      // typing a filter
	modeSQL         // showing the panel's SQL
	modeNS          // picking a namespace
)

// point is one value of a header sparkline.
type point struct {
	t  time.Time
	v  float64
	ok bool
}

// drillView is a drill-down on screen.
type drillView struct {
	panel  *Panel
	from   string // what was drilled into, e.g. "program nginx"
	params map[string]string
	set    *result.Set
	err    error
	view   view
}

// Model is the state of the screen. It is driven by Update (a new
// snapshot) and Key, and drawn by Render; it never touches a terminal.
type Model struct {
	src     Source
	ctx     context.Context
	headers []*Panel
	tabs    []*Panel
	drills  map[string]*Panel

	// Host names the machine in the title line.
	Host string
	// Interval is the refresh interval.
	Interval time.Duration
	// Paused stops refreshes.
	Paused bool
	// Quit is set once the user asked to leave.
	Quit bool

	ns      string
	notices []string
	err     error

	snap     *Snapshot
	prevRaw  map[string]*result.Set
	prevTime time.Time
	rated    map[string]*result.Set
	history  map[string][]point
	changes  map[string]string

	focus int
	views map[string]*view
	drill *drillView

	mode    mode
	input   string
	nsList  []string
	nsSel   int
	refresh bool

	// drawn, when set, runs after every frame Run draws (tests read the
	// screen there, on Run\'s goroutine).
	drawn func()
}

// NewModel returns the screen's state for panels read from src.
func NewModel(ctx context.Context, src Source, panels []*Panel) *Model {
	m := &Model{src: src, ctx: ctx, drills: map[string]*Panel{}, Interval: DefaultInterval,
		prevRaw: map[string]*result.Set{}, rated: map[string]*result.Set{}, history: map[string][]point{},
		changes: map[string]string{}, views: map[string]*view{}}
	for _, p := range panels {
		switch p.Show {
		case "header":
			m.headers = append(m.headers, p)
		case "drill":
			m.drills[p.Name()] = p
		default:
			m.tabs = append(m.tabs, p)
			m.views[p.Name()] = &view{sortCol: p.Sort, sortDesc: p.SortDesc}
		}
	}
	return m
}

// Notice adds a one-line notice shown on the status line (once).
func (m *Model) Notice(msg string) {
	for _, n := range m.notices {
		if n == msg {
			return
		}
	}
	m.notices = append(m.notices, msg)
}

// SetError shows a refresh error on the status line (nil clears it).
func (m *Model) SetError(err error) { m.err = err }

// TakeRefresh reports (once) that a key asked for an immediate refresh:
// the namespace or the interval changed, or the user unpaused.
func (m *Model) TakeRefresh() bool {
	r := m.refresh
	m.refresh = false
	return r
}

// Namespace is the namespace shown: "" for netsql's own.
func (m *Model) Namespace() string { return m.ns }

// Update takes a new snapshot: counters become rates against the
// previous one, header values extend their sparklines.
func (m *Model) Update(s *Snapshot) {
	dt := 0.0
	if !m.prevTime.IsZero() && !s.Static {
		dt = s.Time.Sub(m.prevTime).Seconds()
	}
	for _, p := range append(append([]*Panel{}, m.headers...), m.tabs...) {
		name := p.Name()
		set, ok := s.Sets[name]
		if !ok {
			delete(m.rated, name)
			delete(m.prevRaw, name)
			continue
		}
		rated, err := set, error(nil)
		if !s.Static { // a /proc tree: one frame, the counters themselves
			rated, err = Rates(m.prevRaw[name], set, p.Keys, p.Counters, dt)
		}
		if err != nil {
			if s.Errs == nil {
				s.Errs = map[string]error{}
			}
			s.Errs[name] = fmt.Errorf("%s: %w", name, err)
			delete(m.rated, name)
			continue
		}
		if p.Show == "header" {
			m.record(p, m.rated[name], rated, s.Time, s.Static)
		}
		m.rated[name] = rated
		m.prevRaw[name] = set
	}
	m.prevTime = s.Time
	m.snap = s
	if d := m.drill; d != nil {
		d.set, d.err = m.src.Drill(m.ctx, d.panel, d.params)
	}
	for _, v := range m.views {
		m.reselect(v)
	}
}

// record extends the sparklines of a header panel and notes each gauge's
// change since the previous refresh.
func (m *Model) record(p *Panel, old, cur *result.Set, now time.Time, static bool) {
	if len(cur.Rows) == 0 {
		return
	}
	for i, col := range cur.Columns {
		id := p.Name() + "." + col
		v, ok := number(cur.Rows[0][i])
		h := append(m.history[id], point{t: now, v: v, ok: ok})
		for len(h) > 0 && now.Sub(h[0].t) > historyWindow {
			h = h[1:]
		}
		m.history[id] = h
		m.changes[id] = ""
		if isCounter(p, col) && !static || old == nil || len(old.Rows) == 0 || old.Index(col) < 0 {
			continue
		}
		if was, wok := number(old.Rows[0][old.Index(col)]); wok && ok {
			m.changes[id] = signed(v - was)
		}
	}
}

func signed(d float64) string {
	s := formatNumber(d, false)
	if d >= 0 {
		s = "+" + s
	}
	return s
}

// counters returns the panel's columns shown as rates: none for a
// static source.
func (m *Model) counters(p *Panel) []string {
	if m.snap != nil && m.snap.Static {
		return nil
	}
	return p.Counters
}

// isRate reports whether a column of p is shown as a rate.
func (m *Model) isRate(p *Panel, col string) bool {
	return isCounter(p, col) && !(m.snap != nil && m.snap.Static)
}

func isCounter(p *Panel, col string) bool {
	for _, c := range p.Counters {
		if c == col {
			return true
		}
	}
	return false
}

// current returns the table on screen: the drill-down or the focused
// panel, its result, its view and the error its last read gave.
func (m *Model) current() (p *Panel, set *result.Set, v *view, err error) {
	if m.drill != nil {
		return m.drill.panel, m.drill.set, &m.drill.view, m.drill.err
	}
	if len(m.tabs) == 0 {
		return nil, nil, &view{}, nil
	}
	p = m.tabs[m.focus]
	if m.snap != nil {
		err = m.snap.Errs[p.Name()]
	}
	return p, m.rated[p.Name()], m.views[p.Name()], err
}

// rows returns the result's rows as shown: filtered, then sorted.
func rows(set *result.Set, v *view) [][]any {
	if set == nil {
		return nil
	}
	vis := visible(set)
	var out [][]any
	f := strings.ToLower(v.filter)
	for _, r := range set.Rows {
		if f != "" {
			match := false
			for _, i := range vis {
				if strings.Contains(strings.ToLower(cellText(r[i])), f) {
					match = true
					break
				}
			}
			if !match {
				continue
			}
		}
		out = append(out, r)
	}
	if c := set.Index(v.sortCol); c >= 0 {
		sort.SliceStable(out, func(i, j int) bool {
			a, b := out[i][c], out[j][c]
			if a == nil || b == nil {
				return a != nil && b == nil // NULLs last either way
			}
			if v.sortDesc {
				return less(b, a)
			}
			return less(a, b)
		})
	}
	return out
}

func less(a, b any) bool {
	x, xok := number(a)
	y, yok := number(b)
	switch {
	case xok && yok:
		return x < y
	case xok != yok:
		return xok // numbers before text
	}
	return cellText(a) < cellText(b)
}

// visible returns the indexes of the columns shown: all but those whose
// name starts with "_".
func visible(set *result.Set) []int {
	var out []int
	for i, c := range set.Columns {
		if !strings.HasPrefix(c, "_") {
			out = append(out, i)
		}
	}
	return out
}

// reselect keeps the selection on the same row (by all its visible key
// text) after a refresh, or within bounds.
func (m *Model) reselect(v *view) {
	for name, vv := range m.views {
		if vv != v {
			continue
		}
		p := m.panelByName(name)
		set := m.rated[name]
		rs := rows(set, v)
		if v.selKey != "" && set != nil {
			idx, err := indexes(set, p.Keys)
			if err == nil && len(p.Keys) > 0 {
				for i, r := range rs {
					if rowKey(r, idx) == v.selKey {
						v.sel = i
						break
					}
				}
			}
		}
		v.sel = min(v.sel, max(len(rs)-1, 0))
		m.rememberSel(p, set, v, rs)
	}
}

func (m *Model) rememberSel(p *Panel, set *result.Set, v *view, rs [][]any) {
	v.selKey = ""
	if p == nil || set == nil || v.sel >= len(rs) {
		return
	}
	if idx, err := indexes(set, p.Keys); err == nil && len(p.Keys) > 0 {
		v.selKey = rowKey(rs[v.sel], idx)
	}
}

func (m *Model) panelByName(name string) *Panel {
	for _, p := range m.tabs {
		if p.Name() == name {
			return p
		}
	}
	return nil
}

// Key handles one key press.
func (m *Model) Key(k Key) {
	if k.Name == "ctrl-c" {
		m.Quit = true
		return
	}
	switch m.mode {
	case modeFilter:
		m.filterKey(k)
		return
	case modeSQL:
		m.mode = modeTable // any key closes it
		if k.Rune == 'q' {
			m.Quit = true
		}
		return
	case modeNS:
		m.nsKey(k)
		return
	}
	p, set, v, _ := m.current()
	rs := rows(set, v)
	page := 10
	switch {
	case k.Rune == 'q':
		m.Quit = true
	case k.Name == "tab" || k.Name == "backtab":
		if m.drill != nil || len(m.tabs) == 0 {
			return
		}
		step := 1
		if k.Name == "backtab" {
			step = len(m.tabs) - 1
		}
		m.focus = (m.focus + step) % len(m.tabs)
	case k.Name == "up" || k.Rune == 'k':
		v.sel = max(v.sel-1, 0)
	case k.Name == "down" || k.Rune == 'j':
		v.sel = max(min(v.sel+1, len(rs)-1), 0)
	case k.Name == "pgup":
		v.sel = max(v.sel-page, 0)
	case k.Name == "pgdn":
		v.sel = max(min(v.sel+page, len(rs)-1), 0)
	case k.Name == "home":
		v.sel = 0
	case k.Name == "end":
		v.sel = max(len(rs)-1, 0)
	case k.Rune == '<' || k.Rune == '>' || k.Name == "left" || k.Name == "right":
		if set == nil {
			return
		}
		vis := visible(set)
		if len(vis) == 0 {
			return
		}
		cur := -1
		for i, c := range vis {
			if set.Columns[c] == v.sortCol {
				cur = i
			}
		}
		if k.Rune == '<' || k.Name == "left" {
			if cur < 0 {
				cur = len(vis)
			}
			cur = (cur - 1 + len(vis)) % len(vis)
		} else {
			cur = (cur + 1) % len(vis)
		}
		v.sortCol = set.Columns[vis[cur]]
		v.sortDesc = isNumericColumn(set, vis[cur]) // numbers: biggest first
	case k.Rune == 'r':
		if v.sortCol != "" {
			v.sortDesc = !v.sortDesc
		}
	case k.Rune == '/':
		m.mode, m.input = modeFilter, v.filter
	case k.Rune == 'p':
		m.Paused = !m.Paused
		m.refresh = !m.Paused
	case k.Rune == '+' || k.Rune == '=':
		m.stepInterval(1)
	case k.Rune == '-':
		m.stepInterval(-1)
	case k.Rune == 's':
		if p != nil {
			m.mode = modeSQL
		}
	case k.Rune == 'n':
		list, err := m.src.Namespaces(m.ctx)
		if err != nil {
			m.err = err
			return
		}
		m.nsList = append([]string{"(netsql's own)", "*"}, list...)
		m.nsSel = 0
		for i, n := range m.nsList {
			if n == m.ns {
				m.nsSel = i
			}
		}
		m.mode = modeNS
	case k.Name == "enter":
		m.enter(p, set, rs, v)
	case k.Name == "esc" || k.Name == "backspace":
		if m.drill != nil {
			m.drill = nil
		} else if v.filter != "" {
			v.filter = ""
		}
	}
	if set != nil && p != nil {
		m.rememberSel(p, set, v, rows(set, v))
	}
}

func isNumericColumn(set *result.Set, c int) bool {
	for _, r := range set.Rows {
		if r[c] != nil {
			_, ok := number(r[c])
			return ok
		}
	}
	return false
}

// stepInterval moves to the next longer (step > 0) or shorter interval
// of Intervals, from wherever the interval is.
func (m *Model) stepInterval(step int) {
	if step > 0 {
		for _, d := range Intervals {
			if d > m.Interval {
				m.Interval = d
				return
			}
		}
		return
	}
	for i := len(Intervals) - 1; i >= 0; i-- {
		if Intervals[i] < m.Interval {
			m.Interval = Intervals[i]
			return
		}
	}
}

func (m *Model) filterKey(k Key) {
	_, _, v, _ := m.current()
	switch {
	case k.Name == "enter":
		v.filter, m.mode = m.input, modeTable
		v.sel, v.top = 0, 0
	case k.Name == "esc":
		m.mode = modeTable
	case k.Name == "backspace":
		if r := []rune(m.input); len(r) > 0 {
			m.input = string(r[:len(r)-1])
		}
	case k.Rune != 0:
		m.input += string(k.Rune)
	}
}

func (m *Model) nsKey(k Key) {
	switch {
	case k.Name == "up" || k.Rune == 'k':
		m.nsSel = max(m.nsSel-1, 0)
	case k.Name == "down" || k.Rune == 'j':
		m.nsSel = min(m.nsSel+1, len(m.nsList)-1)
	case k.Name == "esc" || k.Rune == 'q':
		m.mode = modeTable
	case k.Rune == '*':
		m.pickNS("*")
	case k.Name == "enter":
		ns := m.nsList[m.nsSel]
		if m.nsSel == 0 {
			ns = ""
		}
		m.pickNS(ns)
	}
}

func (m *Model) pickNS(ns string) {
	m.mode = modeTable
	if ns == m.ns {
		return
	}
	m.ns = ns
	m.src.SetNamespace(ns)
	m.drill = nil
	m.prevRaw = map[string]*result.Set{}
	m.prevTime = time.Time{}
	m.history = map[string][]point{}
	m.refresh = true
}

// enter drills into the selected row of a panel that declares drill:.
func (m *Model) enter(p *Panel, set *result.Set, rs [][]any, v *view) {
	if m.drill != nil || p == nil || p.Drill == "" || set == nil || v.sel >= len(rs) {
		return
	}
	d := m.drills[p.Drill]
	if d == nil {
		return
	}
	row := rs[v.sel]
	params := map[string]string{}
	var what []string
	for i, c := range set.Columns {
		params[c] = cellText(row[i])
	}
	for _, k := range p.Keys {
		if i := set.Index(k); i >= 0 && !strings.HasPrefix(k, "_") {
			what = append(what, k+" "+strconv.Quote(cellText(row[i])))
		}
	}
	ds, err := m.src.Drill(m.ctx, d, params)
	m.drill = &drillView{panel: d, from: strings.Join(what, ", "), params: params, set: ds, err: err,
		view: view{sortCol: d.Sort, sortDesc: d.SortDesc}}
}

// SetNamespace sets the namespace shown in the title ("" netsql's own,
// "*" all); the source reads it.
func (m *Model) SetNamespace(ns string) { m.ns = ns }
