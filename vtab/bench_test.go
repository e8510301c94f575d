package vtab

import (
	"context"
	"os/exec"
	"testing"
)

// The benchmarks measure the README's questions on whatever the host
// holds (start cmd/netsql-load first for the 80k-socket case), each beside
// the ss command that answers the same question, timed in the same run.

func benchQuery(b *testing.B, q string) {
	eng, err := Open(Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer eng.Close()
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rows, err := eng.QueryContext(ctx, q)
		if err != nil {
			b.Fatal(err)
		}
		for rows.Next() {
		}
		if err := rows.Err(); err != nil {
			b.Fatal(err)
		}
		rows.Close()
	}
}

func benchCommand(b *testing.B, name string, args ...string) {
	if _, err := exec.LookPath(name); err != nil {
		b.Skipf("%s not installed", name)
	}
	for i := 0; i < b.N; i++ {
		if err := exec.Command(name, args...).Run(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUsedByCloseWait(b *testing.B) {
	b.Run("netsql", func(b *testing.B) {
		benchQuery(b, "SELECT program, count(*) FROM sockets WHERE state='CLOSE_WAIT' GROUP BY 1")
	})
	b.Run("ss-tanp", func(b *testing.B) { benchCommand(b, "ss", "-tanp", "state", "close-wait") })
}

func BenchmarkCountCloseWait(b *testing.B) {
	b.Run("netsql", func(b *testing.B) {
		benchQuery(b, "SELECT count(*) FROM sockets WHERE state='CLOSE_WAIT'")
	})
	b.Run("ss-tan", func(b *testing.B) { benchCommand(b, "ss", "-tan", "state", "close-wait") })
}

func BenchmarkAllTCPWithPrograms(b *testing.B) {
	b.Run("netsql", func(b *testing.B) {
		benchQuery(b, "SELECT local_address, local_port, remote_address, remote_port, state, pid, program FROM sockets WHERE protocol='tcp'")
	})
	b.Run("ss-tanp", func(b *testing.B) { benchCommand(b, "ss", "-tanp") })
}
