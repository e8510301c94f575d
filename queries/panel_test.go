package queries

import (
	"errors"
	"reflect"
	"testing"
)

func TestParsePanel(t *testing.T) {
	text := `-- name: demo
-- description: demo panel
-- keys: free text before the panel line is not a panel field
-- panel: Interfaces
-- keys: interface, _netns
-- counters: rx_bytes,tx_bytes
-- sort: rx_bytes DESC
-- drill: demo-addresses
-- rank: 7
SELECT 1`
	q, err := Parse("t.sql", text)
	if err != nil {
		t.Fatal(err)
	}
	want := &Panel{Title: "Interfaces", Keys: []string{"interface", "_netns"}, Counters: []string{"rx_bytes", "tx_bytes"},
		Show: "tab", Sort: "rx_bytes", SortDesc: true, Drill: "demo-addresses", Rank: 7}
	if !reflect.DeepEqual(q.Panel, want) {
		t.Errorf("panel = %+v\nwant %+v", q.Panel, want)
	}
	q, err = Parse("t.sql", "-- name: plain\n-- keys: x\nSELECT 1")
	if err != nil || q.Panel != nil {
		t.Errorf("a query without panel: gives %+v, %v; want no panel", q.Panel, err)
	}
	q, err = Parse("t.sql", "-- panel: Header\n-- show: header\nSELECT 1")
	if err != nil || q.Panel == nil || q.Panel.Show != "header" || q.Panel.Rank != 100 || q.Panel.Keys != nil {
		t.Errorf("header panel: %+v, %v", q.Panel, err)
	}
}

func TestParsePanelErrors(t *testing.T) {
	for _, h := range []string{
		"-- panel: A\n-- panel: B",
		"-- panel: A\n-- keys: a b",
		"-- panel: A\n-- keys: a, a",
		"-- panel: A\n-- keys: a\n-- keys: b",
		"-- panel: A\n-- counters: 1x",
		"-- panel: A\n-- show: sidebar",
		"-- panel: A\n-- sort: a sideways",
		"-- panel: A\n-- rank: first",
		"-- panel: A\n-- keys: a\n-- counters: a",
	} {
		if _, err := Parse("t.sql", h+"\nSELECT 1"); !errors.Is(err, ErrHeader) {
			t.Errorf("%q: err = %v, want a header error", h, err)
		}
	}
}
