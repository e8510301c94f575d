package main

import (
	"fmt"
	"os"
	"time"

	"github.com/netsql/netsql/queries/format"
)

// ndjsonFields returns the fields --host-field and --timestamp-field add
// at the front of every ndjson object: "HOST_FIELD":"<host name>" and
// "TIME_FIELD":"<at, RFC 3339 UTC>", for log shippers that want them on
// each record. A column of the same name keeps its value under a key made
// unique the way SQLite does ("name:1"), never a duplicate key.
func ndjsonFields(hostField, timeField string, at time.Time) ([]format.Field, error) {
	var fields []format.Field
	if hostField != "" {
		host, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("--host-field: %w", err)
		}
		fields = append(fields, format.Field{Name: hostField, Value: host})
	}
	if timeField != "" {
		fields = append(fields, format.Field{Name: timeField, Value: at.UTC().Format(time.RFC3339Nano)})
	}
	return fields, nil
}
