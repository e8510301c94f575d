package vtab

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// queryErr runs q to its end and returns the error it reports.
func queryErr(eng *Engine, q string) error {
	rows, err := eng.QueryContext(context.Background(), q)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
	}
	return rows.Err()
}

// fixtureLacks reports an error saying the fixture's /proc tree cannot
// hold the rows asked for (IPv4 addresses without fib_trie).
func fixtureLacks(err error) bool {
	return err != nil && strings.Contains(err.Error(), "not in a /proc tree")
}

// TestClosedSetColumns holds every column that declares a closed set of
// values: a word outside it is an error naming the column and listing
// the valid words, alone or in an IN list, pushed down or not; a word in
// another case is an error under BINARY and a match under NOCASE or
// RTRIM; and every value the fixture's rows hold is in the set.
func TestClosedSetColumns(t *testing.T) {
	eng, _ := openFixture(t)
	n := 0
	for _, def := range Tables() {
		s := def.Schema()
		for _, c := range s.Columns {
			if len(c.Values) == 0 {
				continue
			}
			n++
			col := fmt.Sprintf("%s.%s", s.Name, c.Name)
			for _, q := range []string{
				fmt.Sprintf(`SELECT * FROM %s WHERE %q = 'no_such_word'`, s.Name, c.Name),
				fmt.Sprintf(`SELECT * FROM %s WHERE %q IN ('%s', '0_no_such_word')`, s.Name, c.Name, c.Values[0]),
				fmt.Sprintf(`SELECT * FROM %s WHERE %q = 42`, s.Name, c.Name),
				fmt.Sprintf(`SELECT count(*) FROM %s WHERE %q = 'no_such_word' COLLATE NOCASE`, s.Name, c.Name),
			} {
				err := queryErr(eng, q)
				if err == nil || !strings.Contains(err.Error(), col+": no such value") {
					t.Errorf("%s: err = %v, want %s: no such value", q, err, col)
					continue
				}
				for _, w := range c.Values {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("%s: error %q does not list %q", q, err, w)
					}
				}
			}
			for _, w := range c.Values {
				other := strings.ToLower(w)
				if other == w {
					other = strings.ToUpper(w)
				}
				if err := queryErr(eng, fmt.Sprintf(`SELECT * FROM %s WHERE %q = '%s'`, s.Name, c.Name, w)); err != nil && !fixtureLacks(err) {
					t.Errorf("%s = '%s': %v", col, w, err)
				}
				err := queryErr(eng, fmt.Sprintf(`SELECT * FROM %s WHERE %q = '%s'`, s.Name, c.Name, other))
				if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("did you mean '%s'?", w)) {
					t.Errorf("%s = '%s' under BINARY: err = %v, want a hint at '%s'", col, other, err, w)
				}
				// Under NOCASE and RTRIM the variants match what the word matches.
				want, err := tryQuery(eng, fmt.Sprintf(`SELECT count(*) FROM %s WHERE %q = '%s'`, s.Name, c.Name, w))
				if fixtureLacks(err) {
					continue
				}
				for _, q := range []string{
					fmt.Sprintf(`SELECT count(*) FROM %s WHERE %q = '%s' COLLATE NOCASE`, s.Name, c.Name, other),
					fmt.Sprintf(`SELECT count(*) FROM %s WHERE %q COLLATE NOCASE IN ('%s')`, s.Name, c.Name, other),
					fmt.Sprintf(`SELECT count(*) FROM %s WHERE %q = '%s ' COLLATE RTRIM`, s.Name, c.Name, w),
				} {
					if got, err := tryQuery(eng, q); err != nil || !slices.Equal(got, want) {
						t.Errorf("%s: %v, %v; want %v", q, got, err, want)
					}
				}
			}
			for _, v := range query(t, eng, fmt.Sprintf(`SELECT DISTINCT %q FROM %s WHERE %q IS NOT NULL`, c.Name, s.Name, c.Name)) {
				if !slices.Contains(c.Values, v) {
					t.Errorf("%s holds %q, missing from its Values %v", col, v, c.Values)
				}
			}
		}
	}
	if n < 8 {
		t.Errorf("only %d columns declare a closed set", n)
	}
	// sockets.state says which words apply to which transport.
	err := queryErr(eng, "SELECT * FROM sockets WHERE state = 'CLOSEWAIT'")
	if err == nil || !strings.Contains(err.Error(), "tcp: CLOSE, CLOSE_WAIT,") || !strings.Contains(err.Error(), "; unix: CONNECTED, CONNECTING, DISCONNECTING, LISTENING, UNCONN") {
		t.Errorf("state error %v: want the words grouped by transport", err)
	}
}
