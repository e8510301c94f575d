// Package top is the headless part of `netsql top`: it reads the kernel
// once per refresh into snapshot tables, runs every panel query against
// them, turns counters into per-second rates by key, keeps the screen's
// state (focus, sort, filter, selection, drill-down) and renders a frame
// at a fixed size as text. The terminal program (Run) only draws those
// frames and turns key presses into Keys; batch mode (Batch) prints each
// refresh as text or ndjson.
//
// A panel is a query whose header declares it (see queries.Panel); it
// reads the snapshot schema "snap": snap.sockets, snap.interfaces,
// snap.protocol_stats or any other netsql table, as of this refresh.
package top

import (
	"fmt"
	"sort"

	"github.com/netsql/netsql/queries"
)

// Panel is one panel of the screen: its query and declaration.
type Panel struct {
	Query queries.Query
	queries.Panel
}

// Name is the query's name, which identifies the panel.
func (p *Panel) Name() string { return p.Query.Name }

// Panels returns the panel queries of qs ordered by rank, then name. A
// drill: naming no drill panel of qs is an error.
func Panels(qs []queries.Query) ([]*Panel, error) {
	var out []*Panel
	for _, q := range qs {
		if q.Panel != nil {
			out = append(out, &Panel{Query: q, Panel: *q.Panel})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Rank != out[j].Rank {
			return out[i].Rank < out[j].Rank
		}
		return out[i].Name() < out[j].Name()
	})
	for _, p := range out {
		if p.Drill == "" {
			continue
		}
		d := find(out, p.Drill)
		if d == nil || d.Show != "drill" {
			return nil, fmt.Errorf("top: panel %s: drill %s: no panel with show: drill of that name", p.Name(), p.Drill)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("top: no panel queries")
	}
	return out, nil
}

func find(ps []*Panel, name string) *Panel {
	for _, p := range ps {
		if p.Name() == name {
			return p
		}
	}
	return nil
}
