package procs

import (
	"context"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the CPU (user + system) this process has used, every
// thread included.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkScanSocketOwners scans the live /proc, reporting the CPU a
// scan costs (cpu-s/op, user + system) beside the wall time. "host"
// measures the host as it is; "5x16k" first starts 5 helper processes
// holding 16,000 socket fds each (80k sockets, the load DESIGN.md's
// numbers were taken on).
func BenchmarkScanSocketOwners(b *testing.B) {
	ctx := context.Background()
	run := func(b *testing.B, want map[uint64]struct{}, opts ScanOptions) {
		b.ReportAllocs()
		var n int
		cpu := cpuTime(b)
		for b.Loop() {
			res, err := ScanSocketOwners(ctx, "/proc", want, opts)
			if err != nil {
				b.Fatal(err)
			}
			n = len(res.Owners)
		}
		b.ReportMetric((cpuTime(b)-cpu).Seconds()/float64(b.N), "cpu-s/op")
		b.ReportMetric(float64(n), "owners")
	}
	b.Run("host", func(b *testing.B) { run(b, nil, ScanOptions{}) })
	// The same, listing every fd directory instead of reading fds by
	// number (the scan before probeFDs).
	b.Run("host-list", func(b *testing.B) { run(b, nil, ScanOptions{listFDs: true}) })
	b.Run("5x16k", func(b *testing.B) {
		pids := startHolders(b, 5, 16000)
		res, err := ScanSocketOwners(ctx, "/proc", nil, ScanOptions{PIDs: pids[4:]})
		if err != nil || len(res.Owners) == 0 {
			b.Fatal(err, len(res.Owners))
		}
		last := map[uint64]struct{}{res.Owners[len(res.Owners)-1].Inode: {}}
		first := map[uint64]struct{}{}
		res, _ = ScanSocketOwners(ctx, "/proc", nil, ScanOptions{PIDs: pids[:1]})
		first[res.Owners[0].Inode] = struct{}{}
		b.ResetTimer()
		b.Run("all", func(b *testing.B) { run(b, nil, ScanOptions{}) })
		b.Run("all-1worker", func(b *testing.B) { run(b, nil, ScanOptions{Workers: 1}) })
		b.Run("want-first", func(b *testing.B) { run(b, first, ScanOptions{}) })
		b.Run("want-last", func(b *testing.B) { run(b, last, ScanOptions{}) })
		// The tools netsql replaces, on the same load in the same run:
		// `ss -xa` is the dump alone, `-p` adds their fd scan.
		for _, tool := range [][]string{{"ss", "-xa"}, {"ss", "-xap"}, {"netstat", "-xap"}} {
			b.Run(strings.Join(tool, " "), func(b *testing.B) {
				if _, err := exec.LookPath(tool[0]); err != nil {
					b.Skip(tool[0], "not installed")
				}
				for b.Loop() {
					cmd := exec.Command(tool[0], tool[1:]...)
					if err := cmd.Run(); err != nil {
						b.Fatal(tool, err)
					}
				}
			})
		}
	})
}
