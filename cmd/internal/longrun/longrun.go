// Package longrun measures whether netsql's long-running modes (serve and
// record --every) grow: it runs the netsql binary, drives it, and samples
// the process's threads and open descriptors from /proc at the start, after
// a warm-up and at the end, and its resident memory (VmRSS) throughout:
// growth is the median RSS over the last window of the run against the
// median over the first window after the warm-up (see Memory). The
// benchmark command reports it at full scale; cmd/netsql's tests assert it
// at a small scale.
//
// Descriptors are counted as the ones that stay open through a sampling
// window (same number, same target), not as a count at one instant: a
// snapshot or scrape in progress holds a netlink socket, /proc and a
// /proc/PID/fd directory per fd-scan worker and SQLite's temporary files
// for a moment, and a count that happens to see them is not a leak. A
// leaked descriptor stays open and is counted.
package longrun

import (
	"bufio"
	"bytes"
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

// Sample is one reading of a process.
type Sample struct {
	RSS, HWM int64 // VmRSS and VmHWM (the highest RSS so far), in kB
	Threads  int   // the fewest threads seen over the window
	// FDs are the descriptors open through the whole window, as
	// "N -> target" in descriptor order.
	FDs []string
}

// Result is what one long run measured.
type Result struct {
	Mode       string // "serve" or "record"
	Iterations int    // scrapes answered, or snapshots stored
	// WarmIterations is how many had been done when the warm-up ended.
	WarmIterations int
	Elapsed        time.Duration
	// Start is read as soon as the process is up (serve: listening;
	// record: its database open, its first snapshot under way), Warm after the warm-up and
	// End after the last iteration, before the process is stopped.
	Start, Warm, End Sample
	// Series is the VmRSS read throughout the run, from its beginning
	// (serve: the first scrape; record: the start) to the End sample;
	// WarmAt is when the warm-up ended.
	Series []Point
	WarmAt time.Duration
	// Memory is Series measured with windows as long as the planned
	// warm-up (serve: WarmFor, or the scrapes' time if 0; record: Warm),
	// at least 20 readings and at most a third of the run after it.
	Memory Memory
}

// Growth is the median RSS over the run's last window relative to the
// median over its first window after the warm-up: 0.05 means 5% more.
func (r Result) Growth() float64 { return r.Memory.Growth() }

// String is a one-line summary.
func (r Result) String() string {
	m := r.Memory
	return fmt.Sprintf("%s: %d iterations in %v (warm-up: %d, %v); RSS median %.1f MB over %v after the warm-up (%d samples), %.1f MB over the last %v (%d samples): %+.1f%%; RSS %.1f to %.1f MB after the warm-up (%d samples), peak %.1f MB; fds %d -> %d -> %d; threads %d -> %d -> %d",
		r.Mode, r.Iterations, r.Elapsed.Round(time.Second), r.WarmIterations, r.WarmAt.Round(time.Second),
		mb(m.First.Median), roundSpan(m.First.To-m.First.From), m.First.N,
		mb(m.Last.Median), roundSpan(m.Last.To-m.Last.From), m.Last.N, 100*r.Growth(),
		mb(m.Min), mb(m.Max), m.Samples, mb(r.End.HWM),
		len(r.Start.FDs), len(r.Warm.FDs), len(r.End.FDs), r.Start.Threads, r.Warm.Threads, r.End.Threads)
}

// measure stops rs, keeps its readings in r and measures them with
// windows as long as warmup, the planned warm-up, within bounds (see
// windowFor).
func (r *Result) measure(rs *rssSampler, warmup time.Duration) error {
	series, err := rs.Stop()
	r.Series = series
	if err != nil {
		return fmt.Errorf("longrun: %s: %w", r.Mode, err)
	}
	if len(series) == 0 {
		return fmt.Errorf("longrun: %s: no RSS readings", r.Mode)
	}
	if r.Memory, err = Measure(series, r.WarmAt, windowFor(warmup, rs.every, r.WarmAt, series[len(series)-1].At)); err != nil {
		return fmt.Errorf("longrun: %s: %w", r.Mode, err)
	}
	return nil
}

func mb(kb int64) float64 { return float64(kb) / 1024 }

// roundSpan rounds a window's length for a summary: to the second from
// 10 s on, else to 10 ms.
func roundSpan(d time.Duration) time.Duration {
	if d >= 10*time.Second {
		return d.Round(time.Second)
	}
	return d.Round(10 * time.Millisecond)
}

// reading is one instant's view of a process.
type reading struct {
	rss, hwm int64
	threads  int
	cpu      int64          // utime+stime, in clock ticks
	busy     bool           // a thread is running, waiting for a CPU or in disk I/O
	fds      map[int]string // descriptor -> link target
}

// read reads process pid's /proc entries once.
func read(pid int) (reading, error) {
	var s reading
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
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, fmt.Errorf("longrun: read stat of pid %d: %w", pid, err)
	}
	// Fields after the ")" that ends comm: state is the 1st, utime the
	// 12th and stime the 13th.
	if i := strings.LastIndexByte(string(stat), ')'); i >= 0 {
		if f := strings.Fields(string(stat[i+1:])); len(f) > 12 {
			u, _ := strconv.ParseInt(f[11], 10, 64)
			k, _ := strconv.ParseInt(f[12], 10, 64)
			s.cpu = u + k
		}
	}
	// A thread that waits for a CPU gains no CPU time either: on a loaded
	// machine only the threads' states tell idle from starved.
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return s, fmt.Errorf("longrun: list threads of pid %d: %w", pid, err)
	}
	for _, task := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", pid, task.Name()))
		if i := bytes.LastIndexByte(b, ')'); err == nil && i >= 0 && i+2 < len(b) && (b[i+2] == 'R' || b[i+2] == 'D') {
			s.busy = true
		}
	}
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return s, fmt.Errorf("longrun: list fds of pid %d: %w", pid, err)
	}
	s.fds = make(map[int]string, len(ents))
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		target, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			continue // closed since the listing: not open through the window
		}
		s.fds[n] = target
	}
	return s, nil
}

// Sampling of one window.
const (
	sampleEvery = 10 * time.Millisecond
	// idleFor is how long the process must stay idle (no thread running
	// or runnable, its CPU time unchanged) for the window to count as
	// having seen it idle, unless its pauses are shorter.
	idleFor = 50 * time.Millisecond
	// maxWindow ends a window that never sees the process idle.
	maxWindow = 2 * time.Minute
)

// steady samples pid every 10 ms for at least window and then until the
// process has been seen idle (no thread running or runnable and its CPU
// time unchanged for idle: between two scrapes or snapshots), at most 2
// minutes. The descriptors are those
// open, with the same target, in every reading; threads the fewest seen;
// memory the last reading. Choose window longer than one iteration of
// the process's work plus its pause, so that at least one reading falls
// between two iterations.
func steady(ctx context.Context, pid int, window, idle time.Duration) (Sample, error) {
	var (
		out       Sample
		fds       map[int]string
		began     = time.Now()
		idleSince time.Time
		lastCPU   int64 = -1
		idleSeen  bool
	)
	for i := 0; ; i++ {
		r, err := read(pid)
		if err != nil {
			return out, err
		}
		now := time.Now()
		if i == 0 {
			fds, out.Threads = r.fds, r.threads
		} else {
			for n, target := range fds {
				if r.fds[n] != target {
					delete(fds, n)
				}
			}
			out.Threads = min(out.Threads, r.threads)
		}
		out.RSS, out.HWM = r.rss, r.hwm
		if r.cpu != lastCPU || r.busy {
			lastCPU, idleSince = r.cpu, now
		} else if now.Sub(idleSince) >= idle {
			idleSeen = true
		}
		if elapsed := now.Sub(began); elapsed >= window && idleSeen || elapsed >= maxWindow {
			break
		}
		select {
		case <-ctx.Done():
			return out, ctx.Err()
		case <-time.After(sampleEvery):
		}
	}
	nums := make([]int, 0, len(fds))
	for n := range fds {
		nums = append(nums, n)
	}
	slices.Sort(nums)
	for _, n := range nums {
		out.FDs = append(out.FDs, fmt.Sprintf("%d -> %s", n, fds[n]))
	}
	return out, nil
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

// ServePlan is how Serve drives the server.
type ServePlan struct {
	// Global are netsql's global flags, before "serve" (--proc DIR).
	Global []string
	// Scrapes is how many times /metrics is scraped, one after another.
	Scrapes int
	// The warm-up ends after the first scrape by which both WarmScrapes
	// scrapes were done and WarmFor has passed since the first began.
	WarmScrapes int
	WarmFor     time.Duration
	// For, when positive, ends the scraping early: after the first scrape
	// past it since the first began (and past the warm-up), with fewer
	// than Scrapes done; Result.Iterations says how many.
	For time.Duration
	// SampleEvery is how often RSS is read (DefaultSampleEvery if 0).
	SampleEvery time.Duration
	// Log, when set, receives a progress line about once a minute.
	Log func(msg string)
}

// Serve runs `bin [Global...] serve` on a free loopback port, scrapes its
// /metrics as p says, samples the server at the start, after the
// warm-up and after the last scrape, and reads its RSS throughout.
func Serve(ctx context.Context, bin string, p ServePlan) (Result, error) {
	r := Result{Mode: "serve"}
	if p.WarmScrapes < 0 || p.WarmFor < 0 || p.Scrapes < 2 || p.WarmScrapes >= p.Scrapes {
		return r, fmt.Errorf("longrun: serve: need at least 2 scrapes and a warm-up (%d scrapes) of fewer", p.WarmScrapes)
	}
	args := append(slices.Clip(p.Global), "serve", "--listen", "127.0.0.1:0")
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
	// Between scrapes the server is idle: a short window sees that.
	const window, idle = 300 * time.Millisecond, idleFor
	if r.Start, err = steady(ctx, cmd.Process.Pid, window, idle); err != nil {
		return r, err
	}
	client := &http.Client{Timeout: 5 * time.Minute}
	// sample reads the server with no connection of ours open.
	sample := func() (Sample, error) {
		client.CloseIdleConnections()
		return steady(ctx, cmd.Process.Pid, window, idle)
	}
	began := time.Now()
	rs := sampleRSS(ctx, cmd.Process.Pid, began, p.SampleEvery)
	defer rs.Stop() // no-op once stopped
	lastLog := began
	for i := 1; i <= p.Scrapes; i++ {
		if err := scrape(ctx, client, url); err != nil {
			return r, fmt.Errorf("longrun: scrape %d of %d: %w", i, p.Scrapes, err)
		}
		r.Iterations = i
		if r.WarmIterations == 0 && i >= p.WarmScrapes && time.Since(began) >= p.WarmFor {
			if i == p.Scrapes {
				return r, fmt.Errorf("longrun: serve: the warm-up (%d scrapes, %v) did not end before the last of %d scrapes", p.WarmScrapes, p.WarmFor, p.Scrapes)
			}
			r.WarmAt = time.Since(began)
			if r.Warm, err = sample(); err != nil {
				return r, err
			}
			r.WarmIterations = i
		}
		if p.For > 0 && r.WarmIterations > 0 && i > r.WarmIterations && time.Since(began) >= p.For {
			break
		}
		if p.Log != nil && time.Since(lastLog) >= time.Minute {
			lastLog = time.Now()
			p.Log(fmt.Sprintf("serve: %d/%d scrapes in %v", i, p.Scrapes, time.Since(began).Round(time.Second)))
		}
	}
	if r.End, err = sample(); err != nil {
		return r, err
	}
	r.Elapsed = time.Since(began)
	warmup := p.WarmFor
	if warmup == 0 { // a warm-up of scrapes only
		warmup = r.WarmAt
	}
	if err := r.measure(rs, warmup); err != nil {
		return r, err
	}
	return r, stop(cmd, rest)
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

// RecordPlan is how Record runs record --every.
type RecordPlan struct {
	// Global are netsql's global flags, before "record" (--proc DIR).
	Global []string
	// DB is the database file; it must not exist yet.
	DB string
	// Every is record's --every; the warm-up lasts Warm and the whole
	// run For, both from the start.
	Every, Warm, For time.Duration
	// SampleEvery is how often RSS is read (DefaultSampleEvery if 0).
	SampleEvery time.Duration
	// Log, when set, receives a progress line about once a minute.
	Log func(msg string)
}

// Record runs `bin [Global...] record --db DB --every Every` for p.For,
// sampling it at the start, after p.Warm and at the end and reading its
// RSS throughout, and counts the snapshots it stored.
func Record(ctx context.Context, bin string, p RecordPlan) (Result, error) {
	r := Result{Mode: "record"}
	if p.Warm <= 0 || p.Warm >= p.For || p.Every <= 0 {
		return r, fmt.Errorf("longrun: record: need 0 < warm-up (%v) < duration (%v) and a period (%v)", p.Warm, p.For, p.Every)
	}
	args := append(slices.Clip(p.Global), "record", "--db", p.DB, "--every", p.Every.String())
	cmd, _, rest, err := start(ctx, bin, args, false)
	if err != nil {
		return r, err
	}
	defer cmd.Process.Kill()
	began := time.Now()
	rs := sampleRSS(ctx, cmd.Process.Pid, began, p.SampleEvery)
	defer rs.Stop()
	// A window of two periods holds at least one pause between two
	// snapshots; steady waits on until it has seen one.
	window, idle := max(2*p.Every, 300*time.Millisecond), min(idleFor, p.Every/2)
	wait := func(until time.Duration) error {
		for {
			left := time.Until(began.Add(until))
			if left <= 0 {
				return nil
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(min(left, time.Minute)):
			}
			if p.Log != nil && time.Until(began.Add(until)) > 0 {
				p.Log(fmt.Sprintf("record: %v of %v", time.Since(began).Round(time.Second), p.For))
			}
		}
	}
	// Start: once the database and its WAL are open.
	for {
		if _, err := os.Stat(p.DB + "-wal"); err == nil {
			break
		}
		if time.Since(began) > p.Warm {
			return r, fmt.Errorf("longrun: record did not open %s: %s", p.DB, rest.String())
		}
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(sampleEvery):
		}
	}
	if r.Start, err = steady(ctx, cmd.Process.Pid, window, idle); err != nil {
		return r, fmt.Errorf("%w: %s", err, rest.String())
	}
	if err := wait(p.Warm); err != nil {
		return r, err
	}
	r.WarmAt = time.Since(began)
	if r.Warm, err = steady(ctx, cmd.Process.Pid, window, idle); err != nil {
		return r, fmt.Errorf("%w: %s", err, rest.String())
	}
	warmAt := time.Now().UTC().Format("2006-01-02 15:04:05.000000") // record's captured_at
	if err := wait(p.For); err != nil {
		return r, err
	}
	if r.End, err = steady(ctx, cmd.Process.Pid, window, idle); err != nil {
		return r, fmt.Errorf("%w: %s", err, rest.String())
	}
	r.Elapsed = time.Since(began)
	if err := r.measure(rs, p.Warm); err != nil {
		return r, err
	}
	if err := stop(cmd, rest); err != nil {
		return r, err
	}
	// What it stored, read back as a user would.
	out, err := exec.CommandContext(ctx, bin, "--db", p.DB, "--format", "csv", "--header=false", "-p", "warm="+warmAt,
		"SELECT count(DISTINCT captured_at), count(DISTINCT captured_at) FILTER (WHERE captured_at <= :warm) FROM netsql_snapshots").Output()
	if err != nil {
		return r, fmt.Errorf("longrun: count the snapshots in %s: %w", p.DB, err)
	}
	if _, err := fmt.Sscanf(strings.TrimSpace(string(out)), "%d,%d", &r.Iterations, &r.WarmIterations); err != nil {
		return r, fmt.Errorf("longrun: count the snapshots in %s: %q: %w", p.DB, out, err)
	}
	return r, nil
}
