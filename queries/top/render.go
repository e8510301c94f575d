package top

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/rivo/uniseg"

	"github.com/netsql/netsql/queries/result"
)

// Style is how the terminal program draws a line.
type Style int

// The line styles of a frame.
const (
	Plain    Style = iota
	Title          // the title line and the panel tabs
	Heading        // a table's column names
	Selected       // the selected row
	Status         // the bottom line
)

// Line is one line of a frame: exactly the frame's width in terminal
// cells (a wide character takes two).
type Line struct {
	Text  string
	Style Style
}

// sparkRunes draw a sparkline from low to high.
var sparkRunes = []rune("▁▂▃▄▅▆▇█")

// sparkWidth is how many refreshes a header sparkline shows.
const sparkWidth = 8

// Render draws the screen at w columns and h lines.
func (m *Model) Render(w, h int) []Line {
	if w < 1 || h < 1 {
		return nil
	}
	var lines []Line
	add := func(s string, st Style) { lines = append(lines, Line{Text: s, Style: st}) }
	add(m.titleText(), Title)
	hls := m.headerLines(w)
	if limit := max(1, (h-4)/3); len(hls) > limit {
		hls = hls[:limit] // the focused table needs the room more
	}
	for _, hl := range hls {
		add(hl, Plain)
	}
	p, set, v, err := m.current()
	add(m.tabText(p, v), Title)
	body := h - len(lines) - 1
	switch {
	case body < 1:
	case m.mode == modeSQL && p != nil:
		sqlLines := strings.Split(strings.TrimRight(p.Query.SQL, "\n"), "\n")
		sqlLines = append([]string{"-- " + p.Query.Source + "  (any key: back)"}, sqlLines...)
		for i := 0; i < body && i < len(sqlLines); i++ {
			add(strings.ReplaceAll(sqlLines[i], "\t", "    "), Plain)
		}
	case m.mode == modeNS:
		add("namespace (Enter picks, * all, Esc back):", Heading)
		start := max(0, m.nsSel-(body-2))
		for i := start; i < len(m.nsList) && len(lines) < h-1; i++ {
			st := Plain
			if i == m.nsSel {
				st = Selected
			}
			add("  "+m.nsList[i], st)
		}
	case err != nil:
		add("error: "+err.Error(), Plain)
	case set == nil:
		add("waiting for the first refresh...", Plain)
	default:
		rs := rows(set, v)
		if body > 1 {
			if v.sel < v.top {
				v.top = v.sel
			}
			if v.sel >= v.top+body-1 {
				v.top = v.sel - body + 2
			}
			v.top = max(0, min(v.top, max(len(rs)-(body-1), 0)))
		}
		var counters []string
		if p != nil && m.drill == nil {
			counters = m.counters(p)
		}
		tl := tableLines(set, rs, counters, v.sortCol, v.sortDesc)
		add(tl[0], Heading)
		for i := v.top; i < len(rs) && len(lines) < h-1; i++ {
			st := Plain
			if i == v.sel {
				st = Selected
			}
			add(tl[i+1], st)
		}
		if len(rs) == 0 {
			add("(no rows)", Plain)
		}
	}
	for len(lines) < h-1 {
		add("", Plain)
	}
	lines = lines[:h-1]
	add(m.statusText(), Status)
	for i := range lines {
		lines[i].Text = fit(lines[i].Text, w)
	}
	return lines
}

func (m *Model) titleText() string {
	ns := m.ns
	switch ns {
	case "":
		ns = "own"
	case "*":
		ns = "* (all)"
	}
	parts := []string{"netsql top", m.Host, "netns " + ns}
	if m.snap != nil && m.snap.Static {
		parts = append(parts, "one frame from a /proc tree")
	} else {
		parts = append(parts, "every "+m.Interval.String())
	}
	if m.snap != nil {
		parts = append(parts, m.snap.Time.Format(time.TimeOnly))
	}
	if m.Paused {
		parts = append(parts, "PAUSED")
	}
	return strings.Join(parts, " - ")
}

// headerLines lays out the header panels' values: "label value change
// sparkline", wrapped at w.
func (m *Model) headerLines(w int) []string {
	var out []string
	for _, p := range m.headers {
		line := p.Title + ":"
		if m.snap != nil && m.snap.Errs[p.Name()] != nil {
			out = append(out, line+" error: "+m.snap.Errs[p.Name()].Error())
			continue
		}
		set := m.rated[p.Name()]
		if set == nil || len(set.Rows) == 0 {
			out = append(out, line+" -")
			continue
		}
		for i, col := range set.Columns {
			if strings.HasPrefix(col, "_") {
				continue
			}
			item := headerItem(m.isRate(p, col), col, set.Rows[0][i], m.changes[p.Name()+"."+col], m.history[p.Name()+"."+col])
			if width(line)+2+width(item) > w {
				out = append(out, line)
				line = " "
			}
			line += "  " + item
		}
		out = append(out, line)
	}
	return out
}

func headerItem(rate bool, col string, v any, change string, hist []point) string {
	label := col
	val := "-"
	if v != nil {
		val = cellText(v)
	}
	if rate {
		label += "/s"
	}
	s := label + " " + val
	if change != "" && change != "+0" {
		s += " (" + change + ")"
	}
	return s + " " + sparkline(hist, sparkWidth)
}

// sparkline draws the last n points scaled between their minimum and
// maximum; unknown points are blank.
func sparkline(hist []point, n int) string {
	if len(hist) > n {
		hist = hist[len(hist)-n:]
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range hist {
		if p.ok {
			lo, hi = math.Min(lo, p.v), math.Max(hi, p.v)
		}
	}
	var b strings.Builder
	for _, p := range hist {
		switch {
		case !p.ok:
			b.WriteRune(' ')
		case hi == lo:
			if hi == 0 {
				b.WriteRune(sparkRunes[0])
			} else {
				b.WriteRune(sparkRunes[len(sparkRunes)/2])
			}
		default:
			i := int((p.v - lo) / (hi - lo) * float64(len(sparkRunes)-1))
			b.WriteRune(sparkRunes[i])
		}
	}
	return b.String()
}

func (m *Model) tabText(p *Panel, v *view) string {
	var b strings.Builder
	if m.drill != nil {
		b.WriteString(m.tabs[m.focus].Title + " > " + m.drill.panel.Title)
		if m.drill.from != "" {
			b.WriteString(" (" + m.drill.from + ")")
		}
		b.WriteString("  [Esc back]")
	} else {
		for i, t := range m.tabs {
			if i == m.focus {
				b.WriteString("[" + t.Title + "]")
			} else {
				b.WriteString(" " + t.Title + " ")
			}
			b.WriteString(" ")
		}
	}
	if v.sortCol != "" {
		dir := "asc"
		if v.sortDesc {
			dir = "desc"
		}
		b.WriteString(" sort " + v.sortCol + " " + dir)
	}
	if v.filter != "" {
		b.WriteString(" filter " + strconv.Quote(v.filter))
	}
	return b.String()
}

func (m *Model) statusText() string {
	switch {
	case m.mode == modeFilter:
		return "filter (Enter applies, Esc cancels): " + m.input + "_"
	case m.err != nil:
		return "error: " + m.err.Error()
	case m.snap != nil && m.snap.Static:
		return "--proc: one frame, rates unavailable (they need two reads of a live kernel)  q quit"
	}
	help := "q quit  Tab panel  </> sort  r reverse  / filter  Enter drill  p pause  +/- interval  n netns  s SQL"
	if len(m.notices) > 0 {
		return m.notices[len(m.notices)-1] + "  |  " + help
	}
	return help
}

// tableLines lays out a table: the heading, then one line per row.
// Counter columns are headed NAME/S; the sort column is marked.
func tableLines(set *result.Set, rs [][]any, counters []string, sortCol string, desc bool) []string {
	vis := visible(set)
	heads := make([]string, len(vis))
	widths := make([]int, len(vis))
	right := make([]bool, len(vis))
	cells := make([][]string, len(rs))
	for j, c := range vis {
		h := strings.ToUpper(set.Columns[c])
		for _, ctr := range counters {
			if ctr == set.Columns[c] {
				h += "/S"
			}
		}
		if set.Columns[c] == sortCol {
			if desc {
				h += "▼"
			} else {
				h += "▲"
			}
		}
		heads[j] = h
		widths[j] = width(h)
		right[j] = isNumericColumn(set, c)
	}
	for i, r := range rs {
		cells[i] = make([]string, len(vis))
		for j, c := range vis {
			s := cellText(r[c])
			cells[i][j] = s
			widths[j] = max(widths[j], min(width(s), 40))
		}
	}
	line := func(vals []string) string {
		var b strings.Builder
		for j, s := range vals {
			if j > 0 {
				b.WriteString(" ")
			}
			s = fit(s, widths[j])
			if right[j] {
				s = strings.TrimRight(s, " ")
				s = strings.Repeat(" ", widths[j]-width(s)) + s
			}
			b.WriteString(s)
		}
		return b.String()
	}
	out := []string{line(heads)}
	for _, c := range cells {
		out = append(out, line(c))
	}
	return out
}

// width is how many terminal cells s takes.
func width(s string) int { return uniseg.StringWidth(s) }

// fit pads or cuts s to exactly w cells; a wide character that would
// straddle the edge becomes a space.
func fit(s string, w int) string {
	n := width(s)
	if n == w {
		return s
	}
	if n < w {
		return s + strings.Repeat(" ", w-n)
	}
	var b strings.Builder
	used := 0
	g := uniseg.NewGraphemes(s)
	for g.Next() {
		gw := g.Width()
		if used+gw > w {
			break
		}
		b.WriteString(g.Str())
		used += gw
	}
	return b.String() + strings.Repeat(" ", w-used)
}

// cellText is how a value reads on screen: NULL blank, integers in full,
// other numbers with one decimal below 1000 and k, M, G, T above.
func cellText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return formatNumber(x, true)
	case string:
		return strings.Map(printable, x)
	case []byte:
		return strings.Map(printable, string(x))
	case time.Time:
		return x.Format(time.RFC3339)
	}
	return fmt.Sprint(v)
}

func printable(r rune) rune {
	if r < ' ' || r == 0x7f {
		return '?'
	}
	return r
}

// formatNumber formats a float: two decimals below 10, one below 1000
// (none when it is whole and !frac), k, M, G, T above.
func formatNumber(f float64, frac bool) string {
	a := math.Abs(f)
	switch {
	case f == 0 || !frac && f == math.Trunc(f) && a < 1000:
		return strconv.FormatFloat(f, 'f', 0, 64)
	case a < 10 && f != 0:
		return strconv.FormatFloat(f, 'f', 2, 64)
	case a < 1000:
		return strconv.FormatFloat(f, 'f', 1, 64)
	}
	for _, u := range []string{"k", "M", "G", "T"} {
		f /= 1000
		if math.Abs(f) < 1000 || u == "T" {
			return strconv.FormatFloat(f, 'f', 1, 64) + u
		}
	}
	return ""
}
