package vtab

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestZeroSourceNeverPanics: a Source a library user builds by hand
// (&Source{}, nothing set) answers every table with rows or with one
// error line; no Go panic, no stack trace escapes through SQLite.
func TestZeroSourceNeverPanics(t *testing.T) {
	for _, def := range Tables() {
		s := def.Schema()
		for _, stmt := range []string{"SELECT * FROM " + s.Name, "SELECT count(*) FROM " + s.Name} {
			func() {
				// A fresh engine per statement: a panic must not leave
				// the next statement waiting for a lost connection.
				eng, err := Open(Options{Source: &Source{}})
				if err != nil {
					t.Fatal(err)
				}
				defer eng.Close()
				defer func() {
					if r := recover(); r != nil {
						t.Errorf("%s: panic: %v", stmt, r)
					}
				}()
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				rows, err := eng.DB().QueryContext(ctx, stmt)
				if err == nil {
					for rows.Next() {
					}
					err = rows.Err()
					rows.Close()
				}
				if err != nil && (strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), "panic") || strings.Contains(err.Error(), "goroutine")) {
					t.Errorf("%s: error is not one plain line: %q", stmt, err)
				}
			}()
		}
	}
}

// TestProducerPanicIsOneErrorLine: a producer that panics (a bug, a
// reader handed a nil) fails its statement with one line naming the
// table, and the engine keeps working.
func TestProducerPanicIsOneErrorLine(t *testing.T) {
	type rec struct{ n int64 }
	var nilMap map[string]int
	boom := &Table[rec]{
		Name: "boom", Doc: "panics",
		Columns: []Column[rec]{{Name: "n", Type: Integer, Doc: "n", Value: func(r *rec) any { return r.n }}},
		Rows: func(ctx context.Context, src *Source, q *Query) ([]rec, error) {
			nilMap["x"] = 1
			return nil, nil
		},
	}
	boomValue := &Table[rec]{
		Name: "boom_value", Doc: "panics reading a column",
		Columns: []Column[rec]{{Name: "n", Type: Integer, Doc: "n", Value: func(r *rec) any { panic(errors.New("bad record")) }}},
		Rows: func(ctx context.Context, src *Source, q *Query) ([]rec, error) {
			return []rec{{1}}, nil
		},
	}
	eng, err := Open(Options{Tables: []Def{boom, boomValue, Services}})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	for _, tc := range []struct{ stmt, table string }{
		{"SELECT n FROM boom", "boom"},
		{"SELECT n FROM boom_value", "boom_value"},
	} {
		var n int64
		err := eng.DB().QueryRow(tc.stmt).Scan(&n)
		if err == nil {
			t.Fatalf("%s: no error", tc.stmt)
		}
		msg := err.Error()
		if strings.Contains(msg, "\n") || strings.Contains(msg, "goroutine") || !strings.Contains(msg, tc.table+":") {
			t.Errorf("%s: want one line naming %s, got %q", tc.stmt, tc.table, msg)
		}
	}
	var n int64
	if err := eng.DB().QueryRow("SELECT count(*) FROM services").Scan(&n); err != nil {
		t.Errorf("engine unusable after a producer panic: %v", err)
	}
}
