// Package perrow reports a benchmark's heap allocations per row, for the
// benchmarks of the socket read path (issue 15: the streaming path must
// allocate O(1) per row).
package perrow

import (
	"runtime"
	"testing"
)

// Report runs run under b.Loop, with b.ReportAllocs, and adds the metrics
// allocs/row and B/row: heap allocations and bytes over all iterations
// divided by b.N*rows, where each call of run handles rows rows.
func Report(b *testing.B, rows int, run func()) {
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for b.Loop() {
		run()
	}
	runtime.ReadMemStats(&after)
	n := float64(b.N) * float64(rows)
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/n, "allocs/row")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/n, "B/row")
}
