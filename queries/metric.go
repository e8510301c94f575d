package queries

import (
	"fmt"
	"strings"
)

// Metric declares how a query's rows become one Prometheus metric, from
// header lines in the spirit of sql_exporter's collector files:
//
//	-- metric: netsql_sockets
//	-- type: gauge
//	-- help: Sockets by protocol and state.
//	-- labels: proto, state
//	-- value: sockets
//
// A `metric:` line starts a declaration; the type, help, labels and value
// lines after it belong to it. A query may declare several metrics: each
// reads the same result rows, usually with a different value column.
// Before the first metric line these keys mean nothing to metrics.
// Every row gives one sample: the label columns' text become the labels
// (NULL is the empty string, i.e. no label), the value column its value
// (a NULL value skips the row). Columns that are neither are ignored.
type Metric struct {
	Name string
	// Type is "gauge" or "counter".
	Type string
	// Help defaults to the query's description.
	Help string
	// Labels are result columns whose values become label values; the
	// label is named after the column.
	Labels []string
	// Value is the result column holding the sample's value.
	Value string
}

// metricKeys are the header keys a metric declaration uses.
var metricKeys = map[string]bool{"metric": true, "type": true, "help": true, "labels": true, "value": true}

// parseMetrics collects the metric declarations of a header.
func parseMetrics(fields []Field, description string) ([]Metric, error) {
	var out []Metric
	seen := map[string]bool{}
	for _, f := range fields {
		if !metricKeys[f.Key] {
			continue
		}
		if f.Key == "metric" {
			if !isMetricName(f.Value) {
				return nil, fmt.Errorf("%w: metric %q: want a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)", ErrHeader, f.Value)
			}
			if seen[f.Value] {
				return nil, fmt.Errorf("%w: metric %s declared twice", ErrHeader, f.Value)
			}
			seen[f.Value] = true
			out = append(out, Metric{Name: f.Value})
			continue
		}
		if len(out) == 0 {
			continue // not a metric query: the key is someone else's
		}
		m := &out[len(out)-1]
		dup := false
		switch f.Key {
		case "type":
			dup = m.Type != ""
			if f.Value != "gauge" && f.Value != "counter" {
				return nil, fmt.Errorf("%w: metric %s: type %q (want gauge or counter)", ErrHeader, m.Name, f.Value)
			}
			m.Type = f.Value
		case "help":
			dup = m.Help != ""
			m.Help = f.Value
		case "labels":
			dup = m.Labels != nil
			m.Labels = []string{}
			for _, l := range strings.Split(f.Value, ",") {
				l = strings.TrimSpace(l)
				if !isIdent(l) || strings.HasPrefix(l, "__") {
					return nil, fmt.Errorf("%w: metric %s: label %q: want a column name usable as a label", ErrHeader, m.Name, l)
				}
				for _, old := range m.Labels {
					if old == l {
						return nil, fmt.Errorf("%w: metric %s: label %s given twice", ErrHeader, m.Name, l)
					}
				}
				m.Labels = append(m.Labels, l)
			}
		case "value":
			dup = m.Value != ""
			if !isIdent(f.Value) {
				return nil, fmt.Errorf("%w: metric %s: value %q: want one column name", ErrHeader, m.Name, f.Value)
			}
			m.Value = f.Value
		}
		if dup {
			return nil, fmt.Errorf("%w: metric %s: %s given twice", ErrHeader, m.Name, f.Key)
		}
	}
	for i := range out {
		m := &out[i]
		if m.Type == "" || m.Value == "" {
			return nil, fmt.Errorf("%w: metric %s: needs a type: and a value: line", ErrHeader, m.Name)
		}
		for _, l := range m.Labels {
			if l == m.Value {
				return nil, fmt.Errorf("%w: metric %s: column %s is both a label and the value", ErrHeader, m.Name, l)
			}
		}
		if m.Help == "" {
			m.Help = description
		}
	}
	return out, nil
}

func isMetricName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !(c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
