package top

import (
	"context"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/netsql/netsql/vtab"
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

// BenchmarkRefresh measures one refresh of the built-in panels on the
// live kernel (every socket with its owner and tcp_info, interfaces,
// protocol counters, then every panel), reporting the CPU it costs as
// cpu-s/op beside the wall time, the sockets it saw and the test
// process's peak RSS. The budget is 0.5 s of CPU per refresh at
// 80k sockets; run it as root beside
//
//	go run ./cmd/netsql-load -conns 40000 -procs 5
//
// both in a network namespace of their own (vtab/README.md#benchmarks
// has the command). Each iteration compares with the previous one, as
// on screen (the first, untimed, has nothing to compare with). top
// names programs through the kernel's fd iterator where it can (root,
// the initial pid namespace), top-walkfds walks /proc/*/fd; ss -tanpi,
// which reads the same (owners, tcp_info) for TCP only, is timed in the
// same run.
func BenchmarkRefresh(b *testing.B) {
	b.Run("top", func(b *testing.B) { benchmarkRefresh(b, false) })
	b.Run("top-walkfds", func(b *testing.B) { benchmarkRefresh(b, true) })
	b.Run("ss-tanpi", func(b *testing.B) {
		if _, err := exec.LookPath("ss"); err != nil {
			b.Skip("ss is not installed")
		}
		var cpu time.Duration
		for i := 0; i < b.N; i++ {
			cmd := exec.Command("ss", "-tanpi")
			if err := cmd.Run(); err != nil {
				b.Fatal(err)
			}
			cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		}
		b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
	})
}

// benchmarkRefresh times refreshes of the built-in panels on one engine,
// walking /proc/*/fd for owners when walkFDs.
func benchmarkRefresh(b *testing.B, walkFDs bool) {
	ctx := context.Background()
	eng, err := vtab.Open(vtab.Options{WalkFDs: walkFDs})
	if err != nil {
		b.Fatal(err)
	}
	defer eng.Close()
	s, err := NewSnapshotter(ctx, eng, builtinPanels(b), false)
	if err != nil {
		b.Fatal(err)
	}
	snap, err := s.Refresh(ctx)
	if err != nil {
		b.Fatal(err)
	}
	sockets := 0.0
	if set := snap.Sets["top-programs"]; set != nil {
		for _, r := range set.Rows {
			n, _ := number(r[set.Index("conns")])
			l, _ := number(r[set.Index("listen")])
			sockets += n + l
		}
	}
	b.ResetTimer()
	cpu := cpuTime(b)
	for i := 0; i < b.N; i++ {
		if _, err := s.Refresh(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric((cpuTime(b)-cpu).Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(sockets, "inet-sockets")
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(ru.Maxrss)/1024, "peak-rss-MB") // the process's, every refresh so far
}
