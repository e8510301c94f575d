package top

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// Batch prints n refreshes (0: until ctx ends) of every header and tab
// panel to w, interval apart, like top -b: as text tables, or with
// format "ndjson" as one JSON object per row in which counters are
// per-second rates named COUNTER_per_s. A static source gives one
// refresh.
func Batch(ctx context.Context, m *Model, n int, format string, w io.Writer) error {
	for i := 0; n <= 0 || i < n; i++ {
		if i > 0 {
			t := time.NewTimer(m.Interval)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
		}
		snap, err := m.src.Refresh(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		m.Update(snap)
		if format == "ndjson" {
			err = m.WriteNDJSON(w)
		} else {
			_, err = io.WriteString(w, m.Text())
		}
		if err != nil {
			return fmt.Errorf("top: write: %w", err)
		}
		if snap.Static {
			return nil
		}
	}
	return nil
}

// Text renders the last refresh for batch mode: the title, the header
// panels, then every tab panel with all its rows, and a blank line.
func (m *Model) Text() string {
	var b strings.Builder
	b.WriteString(m.titleText() + "\n")
	for _, l := range m.headerLines(1 << 20) {
		b.WriteString(strings.TrimRight(l, " ") + "\n")
	}
	if m.snap != nil && m.snap.Static {
		b.WriteString("--proc: one frame, rates unavailable (they need two reads of a live kernel)\n")
	}
	for _, p := range m.tabs {
		b.WriteString("\n" + p.Title + "\n")
		v := m.views[p.Name()]
		set := m.rated[p.Name()]
		if err := m.snap.Errs[p.Name()]; err != nil {
			b.WriteString("error: " + err.Error() + "\n")
			continue
		}
		if set == nil {
			continue
		}
		rs := rows(set, v)
		for _, l := range tableLines(set, rs, m.counters(p), v.sortCol, v.sortDesc) {
			b.WriteString(strings.TrimRight(l, " ") + "\n")
		}
	}
	b.WriteString("\n")
	return b.String()
}

// WriteNDJSON writes the last refresh as one JSON object per row:
// {"time": RFC 3339, "panel": name, column: value...}, counters as
// COUNTER_per_s rates (null when unknown; from a /proc tree the raw
// counters under their own names), columns starting with "_" left out.
func (m *Model) WriteNDJSON(w io.Writer) error {
	if m.snap == nil {
		return nil
	}
	ts := m.snap.Time.UTC().Format(time.RFC3339Nano)
	for _, p := range append(append([]*Panel{}, m.headers...), m.tabs...) {
		if err := m.snap.Errs[p.Name()]; err != nil {
			return err
		}
		set := m.rated[p.Name()]
		if set == nil {
			continue
		}
		for _, r := range set.Rows {
			var b strings.Builder
			b.WriteString(`{"time":` + jsonValue(ts) + `,"panel":` + jsonValue(p.Name()))
			if m.ns != "" {
				b.WriteString(`,"netns":` + jsonValue(m.ns))
			}
			for i, c := range set.Columns {
				if strings.HasPrefix(c, "_") {
					continue
				}
				if m.isRate(p, c) {
					c += RateSuffix
				}
				b.WriteString("," + jsonValue(c) + ":" + jsonValue(r[i]))
			}
			b.WriteString("}\n")
			if _, err := io.WriteString(w, b.String()); err != nil {
				return fmt.Errorf("top: write: %w", err)
			}
		}
	}
	return nil
}

func jsonValue(v any) string {
	switch x := v.(type) {
	case []byte:
		v = string(x)
	case time.Time:
		v = x.UTC().Format(time.RFC3339Nano)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "null" // NaN or Inf: no JSON number
	}
	return string(b)
}
