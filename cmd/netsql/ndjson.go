package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"
)

// ndjsonFields returns w, or, when a field name is given, a writer that
// adds `"HOST_FIELD":"<host name>"` and `"TIME_FIELD":"<at, RFC 3339 UTC>"`
// at the front of every ndjson object written through it (every line that
// starts with "{"), for log shippers that want them on each record.
func ndjsonFields(w io.Writer, hostField, timeField string, at time.Time) (io.Writer, error) {
	if hostField == "" && timeField == "" {
		return w, nil
	}
	var prefix []byte
	add := func(k, v string) {
		kb, _ := json.Marshal(k)
		vb, _ := json.Marshal(v)
		prefix = append(append(append(append(prefix, kb...), ':'), vb...), ',')
	}
	if hostField != "" {
		host, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("--host-field: %w", err)
		}
		add(hostField, host)
	}
	if timeField != "" {
		add(timeField, at.UTC().Format(time.RFC3339Nano))
	}
	return &fieldWriter{w: w, prefix: prefix, lineStart: true}, nil
}

// fieldWriter inserts prefix after the "{" that opens each line.
type fieldWriter struct {
	w         io.Writer
	prefix    []byte
	lineStart bool
}

func (f *fieldWriter) Write(p []byte) (int, error) {
	out := make([]byte, 0, len(p)+len(f.prefix))
	for _, c := range p {
		out = append(out, c)
		if f.lineStart && c == '{' {
			out = append(out, f.prefix...)
		}
		f.lineStart = c == '\n'
	}
	if _, err := f.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}
