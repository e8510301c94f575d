// Package longrun measures whether netsql's long-running modes (serve and
// record --every) grow: it runs the netsql binary, drives it, and samples
// the process's resident memory (VmRSS) and open descriptors from /proc
// after a warm-up and at the end. The benchmark command reports it at
// full scale; cmd/netsql's tests assert it at a small scale.
package longrun

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Result is what one long run measured. Memory is in kB, as /proc reports it.
type Result struct {
	Mode       string // "serve" or "record"
	Iterations int    // scrapes answered, or snapshots taken (estimated from the period)
	Elapsed    time.Duration
	WarmRSS    int64 // VmRSS after the warm-up
	EndRSS     int64 // VmRSS at the end, before the process is stopped
	PeakRSS    int64 // VmHWM at the end: the highest RSS the process ever had
	WarmFDs    int   // open descriptors after the warm-up
	EndFDs     int   // open descriptors at the end
	WarmThread int   // threads after the warm-up
	EndThread  int   // threads at the end
}

// Growth is the end RSS relative to the warm RSS: 0.05 means 5% more.
func (r Result) Growth() float64 {
	if r.WarmRSS == 0 {
		return 0
	}
	return float64(r.EndRSS-r.WarmRSS) / float64(r.WarmRSS)
}

// String is a one-line summary.
func (r Result) String() string {
	return fmt.Sprintf("%s: %d iterations in %v; RSS %.1f MB after warm-up, %.1f MB at the end (%+.1f%%), peak %.1f MB; fds %d -> %d; threads %d -> %d",
		r.Mode, r.Iterations, r.Elapsed.Round(time.Second), mb(r.WarmRSS), mb(r.EndRSS), 100*r.Growth(), mb(r.PeakRSS),
		r.WarmFDs, r.EndFDs, r.WarmThread, r.EndThread)
}

func mb(kb int64) float64 { return float64(kb) / 1024 }

// sample is one reading of a process's /proc entries.
type sample struct {
	rss, hwm int64
	threads  int
	fds      int
}

// read samples process pid.
func read(pid int) (sample, error) {
	var s sample
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, fmt.Errorf("longrun: read status of pid %d: %w", pid, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			s.rss = n
		case "VmHWM":
			s.hwm = n
		case "Threads":
			s.threads = int(n)
		}
	}
	if err := sc.Err(); err != nil {
		return s, fmt.Errorf("longrun: read status of pid %d: %w", pid, err)
	}
	if s.rss == 0 {
		return s, fmt.Errorf("longrun: pid %d has no VmRSS (exited?)", pid)
	}
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return s, fmt.Errorf("longrun: list fds of pid %d: %w", pid, err)
	}
	s.fds = len(ents)
	return s, nil
}

// start runs bin with args, its stderr to a pipe whose first line is
// returned (serve prints its address there) unless wantLine is false.
func start(ctx context.Context, bin string, args []string, wantLine bool) (*exec.Cmd, string, *lockedBuf, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = 5 * time.Second
	pr, err := cmd.StderrPipe()
	if err != nil {
		return nil, "", nil, fmt.Errorf("longrun: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, "", nil, fmt.Errorf("longrun: start %s: %w", bin, err)
	}
	rest := &lockedBuf{}
	br := bufio.NewReader(pr)
	line := ""
	if wantLine {
		line, _ = br.ReadString('\n')
	}
	go io.Copy(rest, br) // keeps the pipe drained
	return cmd, strings.TrimSpace(line), rest, nil
}

// stop ends cmd with SIGINT, as a user would, and reports how it ended.
func stop(cmd *exec.Cmd, stderr *lockedBuf) error {
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 130 {
		err = nil // died of the SIGINT it was sent, as netsql does
	}
	if err != nil {
		return fmt.Errorf("longrun: %s ended with %v: %s", filepath.Base(cmd.Path), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// lockedBuf collects a child's stderr while the child runs.
type lockedBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Serve runs `bin [global...] serve` on a free loopback port, scrapes
// /metrics scrapes times one after another, and samples the server after
// warmup scrapes and after the last one.
func Serve(ctx context.Context, bin string, global []string, scrapes, warmup int) (Result, error) {
	r := Result{Mode: "serve"}
	if warmup < 1 || warmup >= scrapes {
		return r, fmt.Errorf("longrun: serve: warm-up %d must be between 1 and the %d scrapes", warmup, scrapes)
	}
	args := append(slices.Clip(global), "serve", "--listen", "127.0.0.1:0")
	cmd, line, rest, err := start(ctx, bin, args, true)
	if err != nil {
		return r, err
	}
	defer cmd.Process.Kill() // no-op once stopped
	_, url, ok := strings.Cut(line, "serving ")
	if !ok {
		cmd.Process.Kill()
		cmd.Wait()
		return r, fmt.Errorf("longrun: serve did not report its address: %q %s", line, rest.String())
	}
	client := &http.Client{Timeout: 5 * time.Minute}
	began := time.Now()
	for i := 1; i <= scrapes; i++ {
		if err := scrape(ctx, client, url); err != nil {
			return r, fmt.Errorf("longrun: scrape %d of %d: %w", i, scrapes, err)
		}
		r.Iterations = i
		if i == warmup {
			s, err := steady(ctx, cmd.Process.Pid)
			if err != nil {
				return r, err
			}
			r.WarmRSS, r.WarmFDs, r.WarmThread = s.rss, s.fds, s.threads
		}
	}
	client.CloseIdleConnections()
	s, err := steady(ctx, cmd.Process.Pid)
	if err != nil {
		return r, err
	}
	r.EndRSS, r.PeakRSS, r.EndFDs, r.EndThread = s.rss, s.hwm, s.fds, s.threads
	r.Elapsed = time.Since(began)
	return r, stop(cmd, rest)
}

// steady samples pid a few times over about 200 ms and keeps the fewest
// descriptors and threads seen, so that a connection still being torn down
// or a database journal open during one snapshot does not count as a leak;
// memory is the last reading.
func steady(ctx context.Context, pid int) (sample, error) {
	var best sample
	for i := range 8 {
		s, err := read(pid)
		if err != nil {
			return s, err
		}
		if i == 0 {
			best = s
		}
		best.rss, best.hwm = s.rss, s.hwm
		best.fds, best.threads = min(best.fds, s.fds), min(best.threads, s.threads)
		select {
		case <-ctx.Done():
			return best, ctx.Err()
		case <-time.After(25 * time.Millisecond):
		}
	}
	return best, nil
}

func scrape(ctx context.Context, c *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

// Record runs `bin [global...] record --db FILE --every every` for total,
// sampling it after warm and at the end. FILE is db, which must not exist
// yet.
func Record(ctx context.Context, bin string, global []string, db string, every, warm, total time.Duration) (Result, error) {
	r := Result{Mode: "record"}
	if warm <= 0 || warm >= total || every <= 0 {
		return r, fmt.Errorf("longrun: record: need 0 < warm-up (%v) < duration (%v) and a period (%v)", warm, total, every)
	}
	args := append(slices.Clip(global), "record", "--db", db, "--every", every.String())
	cmd, _, rest, err := start(ctx, bin, args, false)
	if err != nil {
		return r, err
	}
	defer cmd.Process.Kill()
	began := time.Now()
	wait := func(until time.Duration) error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Until(began.Add(until))):
			return nil
		}
	}
	if err := wait(warm); err != nil {
		return r, err
	}
	s, err := steady(ctx, cmd.Process.Pid)
	if err != nil {
		return r, fmt.Errorf("%w: %s", err, rest.String())
	}
	r.WarmRSS, r.WarmFDs, r.WarmThread = s.rss, s.fds, s.threads
	if err := wait(total); err != nil {
		return r, err
	}
	if s, err = steady(ctx, cmd.Process.Pid); err != nil {
		return r, fmt.Errorf("%w: %s", err, rest.String())
	}
	r.EndRSS, r.PeakRSS, r.EndFDs, r.EndThread = s.rss, s.hwm, s.fds, s.threads
	r.Elapsed = time.Since(began)
	r.Iterations = int(r.Elapsed / every)
	return r, stop(cmd, rest)
}
