// Command netsql-bench reruns the benchmark table of issue 15 in one go:
// it builds netsql and netsql-load from this checkout, starts netsql-load
// at the chosen scale (loopback only), runs each of the table's netsql
// commands beside the ss or netstat command that answers the same
// question, interleaved in the same run, and prints a markdown table of
// the median wall time and the peak RSS (ru_maxrss from wait4) of each,
// with the ratios. With -long it also measures whether serve and
// record --every grow: both run side by side beside the load, their RSS
// is read every 500 ms and growth is the median over the last minute
// against the median over the minute after the first, and their open
// descriptors are read at the start, after the first minute and at the
// end. Whatever happens (an error, Ctrl-C, SIGTERM) it
// stops the load generator and waits until its workers are gone.
//
//	go run ./cmd/netsql-bench                     # 80k sockets
//	go run ./cmd/netsql-bench -conns 200000 -close-wait 5000 -procs 25 -runs 1   # 400k
//	go run ./cmd/netsql-bench -long               # also serve x2000, record 10 min
//	go run ./cmd/netsql-bench -long -table=false  # only those
//
// Run it as root on an otherwise idle machine: the fd-walking commands
// (ss -p, netstat -p, netsql's owner columns) see only the processes the
// user may read.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/netsql/netsql/cmd/internal/longrun"
)

const progName = "netsql-bench"

// work is one line of the table: a netsql invocation and the reference
// command that answers the same question (none for some).
type work struct {
	name   string   // as the table names it
	netsql []string // netsql's arguments
	ref    []string // reference command and arguments; nil: none
}

// table is the benchmark table, line for line.
var table = []work{
	{"`SELECT count(*) FROM sockets WHERE proto='tcp'`",
		[]string{"--format", "csv", "--header=false", "SELECT count(*) FROM sockets WHERE proto='tcp'"},
		[]string{"ss", "-tan"}},
	{"`SELECT * FROM sockets` (csv)",
		[]string{"--format", "csv", "SELECT * FROM sockets"},
		[]string{"ss", "-tanp"}},
	{"used-by query (CLOSE_WAIT per program: `-q close-wait-by-program`)",
		[]string{"-q", "close-wait-by-program"},
		[]string{"ss", "-tanp", "state", "close-wait"}},
	{"`netsql netstat -tanp`",
		[]string{"netstat", "-tanp"},
		[]string{"netstat", "-tanp"}},
	{"`SELECT program, state, count(*) FROM sockets GROUP BY 1, 2`",
		[]string{"SELECT program, state, count(*) FROM sockets GROUP BY 1, 2"},
		nil},
}

type options struct {
	conns, closeWait, procs int
	runs                    int
	lines                   string
	only                    map[int]bool // parsed -lines; nil: all
	timeout                 time.Duration
	netsqlBin, loadBin      string
	table                   bool
	long                    bool
	scrapes                 int
	serveWarmup, serveFor   time.Duration
	recordFor, recordWarmup time.Duration
	recordEvery             time.Duration
	sampleEvery             time.Duration
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet(progName, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.conns, "conns", 40000, "netsql-load -conns: loopback TCP connections (2 sockets each)")
	fs.IntVar(&o.closeWait, "close-wait", 2000, "netsql-load -close-wait: half-closed connections")
	fs.IntVar(&o.procs, "procs", 5, "netsql-load -procs: processes holding the sockets")
	fs.IntVar(&o.runs, "runs", 3, "runs of each command (the median time is reported)")
	fs.StringVar(&o.lines, "lines", "", "run only these lines of the table (comma-separated numbers from 1; default all)")
	fs.DurationVar(&o.timeout, "timeout", 20*time.Minute, "give up on one command after this long")
	fs.StringVar(&o.netsqlBin, "netsql", "", "use this netsql binary instead of building ./cmd/netsql")
	fs.StringVar(&o.loadBin, "load", "", "use this netsql-load binary instead of building ./cmd/netsql-load")
	fs.BoolVar(&o.table, "table", true, "run the benchmark table (-table=false with -long: only the long-running modes)")
	fs.BoolVar(&o.long, "long", false, "also measure whether serve and record --every grow (beside the load, side by side)")
	fs.IntVar(&o.scrapes, "scrapes", 2000, "-long: scrapes of serve's /metrics, one after another")
	fs.DurationVar(&o.serveWarmup, "serve-warmup", time.Minute, "-long: time scraping before serve's warm-up RSS sample")
	fs.DurationVar(&o.serveFor, "serve-for", 0, "-long: stop scraping after this long even if fewer than -scrapes were done (0: no limit)")
	fs.DurationVar(&o.recordFor, "record-for", 10*time.Minute, "-long: how long record --every runs")
	fs.DurationVar(&o.recordWarmup, "record-warmup", time.Minute, "-long: time before record's first RSS sample")
	fs.DurationVar(&o.recordEvery, "record-every", time.Second, "-long: record's --every")
	fs.DurationVar(&o.sampleEvery, "sample-every", longrun.DefaultSampleEvery, "-long: how often serve's and record's RSS is read (each gap drawn from ±50% of it)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: %s [flags]\n\nReruns the netsql benchmark table against ss and netstat beside netsql-load.\n\n", progName)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.lines != "" {
		o.only = map[int]bool{}
		for _, f := range strings.Split(o.lines, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 || n > len(table) {
				return o, fmt.Errorf("-lines: %q is not a line number from 1 to %d", f, len(table))
			}
			o.only[n] = true
		}
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected arguments: %q", fs.Args())
	case o.runs < 1:
		return o, errors.New("-runs must be at least 1")
	case o.conns < 0 || o.closeWait < 0 || o.closeWait > o.conns || o.procs < 1:
		return o, errors.New("need -conns >= 0, 0 <= -close-wait <= -conns and -procs >= 1")
	case !o.table && !o.long:
		return o, errors.New("-table=false leaves nothing to run without -long")
	case o.long && (o.serveWarmup <= 0 || o.scrapes < 2 || o.serveFor < 0 || o.serveFor > 0 && o.serveFor <= o.serveWarmup):
		return o, errors.New("need -serve-warmup > 0, -scrapes >= 2 and -serve-for 0 or longer than -serve-warmup")
	case o.long && (o.recordWarmup <= 0 || o.recordWarmup >= o.recordFor || o.recordEvery <= 0 || o.sampleEvery <= 0):
		return o, errors.New("need 0 < -record-warmup < -record-for, -record-every > 0 and -sample-every > 0")
	}
	return o, nil
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "%s: %v\n", progName, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	if err := bench(ctx, o, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "%s: %s\n", progName, oneLine(err.Error()))
		if ctx.Err() != nil {
			return 130
		}
		return 1
	}
	return 0
}

func bench(ctx context.Context, o options, stdout, stderr io.Writer) (err error) {
	logf := func(format string, a ...any) { fmt.Fprintf(stderr, progName+": "+format+"\n", a...) }
	dir, err := os.MkdirTemp("", progName)
	if err != nil {
		return fmt.Errorf("temporary directory: %w", err)
	}
	defer os.RemoveAll(dir)
	if o.netsqlBin == "" || o.loadBin == "" {
		logf("building netsql and netsql-load")
		if o.netsqlBin == "" {
			if o.netsqlBin, err = build(ctx, "./cmd/netsql", dir); err != nil {
				return err
			}
		}
		if o.loadBin == "" {
			if o.loadBin, err = build(ctx, "./cmd/netsql-load", dir); err != nil {
				return err
			}
		}
	}
	for _, w := range limits(o) {
		logf("warning: %s", w)
	}

	logf("starting netsql-load -conns %d -close-wait %d -procs %d", o.conns, o.closeWait, o.procs)
	load, err := startLoad(ctx, o)
	if err != nil {
		return err
	}
	defer func() {
		if serr := load.stop(); serr != nil && err == nil {
			err = serr
		}
		logf("netsql-load stopped; workers gone: pids %s", strings.Join(load.pids, " "))
	}()
	logf("%s", load.ready)

	if o.table {
		err = runTable(ctx, o, load, stdout, logf)
		if ctx.Err() != nil {
			return err
		}
	}
	if o.long {
		if o.table {
			fmt.Fprintln(stdout)
		}
		if lerr := runLong(ctx, o, load, dir, stdout, logf); lerr != nil {
			return lerr
		}
	}
	return err
}

// runTable runs every line of the table (o.runs times, netsql and its
// reference alternating) and prints the result.
func runTable(ctx context.Context, o options, load *loadGen, stdout io.Writer, logf func(string, ...any)) (err error) {
	// Linux starts a child's ru_maxrss at the RSS of the process it was
	// vforked from (ours), so no command can show less than this floor.
	floor, err := measureCmd(ctx, o.timeout, "true")
	if err != nil {
		return fmt.Errorf("true: %w", err)
	}

	// A command that fails (or passes -timeout) is reported in its cell
	// and the others still run; the exit status says something failed.
	results := make([][2][]measure, len(table))
	failures := make([][2]string, len(table))
	failed := 0
	one := func(r, i, side int, name string, args []string) error {
		cmdline := strings.Join(append([]string{name}, args...), " ")
		if side == 0 {
			cmdline = "netsql " + strings.Join(args[2:], " ")
		}
		m, err := measureCmd(ctx, o.timeout, name, args...)
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted: %w", ctx.Err())
		}
		if err != nil {
			logf("run %d/%d: %s: %v", r+1, o.runs, cmdline, err)
			if failures[i][side] == "" {
				failed++
			}
			failures[i][side] = oneLine(err.Error())
			return nil
		}
		results[i][side] = append(results[i][side], m)
		logf("run %d/%d: %s: %.2f s, %s", r+1, o.runs, cmdline, m.wall.Seconds(), mbs(m.maxRSS))
		return nil
	}
	for r := 0; r < o.runs; r++ {
		for i, w := range table {
			if o.only != nil && !o.only[i+1] {
				continue
			}
			// netsql's own statement timeout (30 s) would cut the
			// largest scales short; -timeout bounds every command.
			if err := one(r, i, 0, o.netsqlBin, append([]string{"--timeout", "0"}, w.netsql...)); err != nil {
				return err
			}
			if w.ref == nil {
				continue
			}
			if _, lerr := exec.LookPath(w.ref[0]); lerr != nil {
				continue // reported as not installed
			}
			if err := one(r, i, 1, w.ref[0], w.ref[1:]); err != nil {
				return err
			}
		}
	}

	fmt.Fprintf(stdout, "%s; %d run(s) each, median time, peak RSS (ru_maxrss)\n\n", strings.TrimPrefix(load.ready, "ready: "), o.runs)
	count := "?"
	if len(results[0][0]) > 0 {
		count = strings.TrimSpace(string(results[0][0][0].stdout))
	}
	fmt.Fprintf(stdout, "netsql counts %s TCP (IPv4) sockets; host: %d CPUs, load average %s at the start; RSS floor (`true`): %s\n\n",
		count, runtime.NumCPU(), load.loadavg, mbs(floor.maxRSS))
	writeTable(stdout, o, results, failures)
	if failed > 0 {
		err = fmt.Errorf("%d command(s) failed; see the table", failed)
	}
	return err
}

// runLong runs serve (scraped o.scrapes times) and record --every (for
// o.recordFor) side by side beside the load, and prints what they measured.
func runLong(ctx context.Context, o options, load *loadGen, dir string, stdout io.Writer, logf func(string, ...any)) error {
	logf("serve: %d scrapes, warm-up %v; record --every %v for %v, warm-up %v; side by side",
		o.scrapes, o.serveWarmup, o.recordEvery, o.recordFor, o.recordWarmup)
	log := func(msg string) { logf("%s", msg) }
	done := func(x longrun.Result) { // as soon as one ends
		logf("%s", x)
		logf("%s: descriptors open at the end: %s", x.Mode, strings.Join(x.End.FDs, ", "))
	}
	var (
		s, r       longrun.Result
		serr, rerr error
		wg         sync.WaitGroup
	)
	// One failing stops the other.
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Add(2)
	go func() {
		defer wg.Done()
		s, serr = longrun.Serve(lctx, o.netsqlBin, longrun.ServePlan{Scrapes: o.scrapes, WarmScrapes: 1, WarmFor: o.serveWarmup, For: o.serveFor, SampleEvery: o.sampleEvery, Log: log})
		if serr != nil {
			cancel()
			return
		}
		done(s)
	}()
	go func() {
		defer wg.Done()
		r, rerr = longrun.Record(lctx, o.netsqlBin, longrun.RecordPlan{DB: filepath.Join(dir, "history.db"),
			Every: o.recordEvery, Warm: o.recordWarmup, For: o.recordFor, SampleEvery: o.sampleEvery, Log: log})
		if rerr != nil {
			cancel()
			return
		}
		done(r)
	}()
	wg.Wait()
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted during serve and record: %w", ctx.Err())
	}
	for _, err := range []error{serr, rerr} {
		if err != nil && !errors.Is(err, context.Canceled) { // not the other's stop
			return err
		}
	}
	if err := errors.Join(serr, rerr); err != nil {
		return err
	}
	writeLong(stdout, o, load, s, r)
	return nil
}

// build compiles pkg (relative to the module root of the working
// directory) into dir.
func build(ctx context.Context, pkg, dir string) (string, error) {
	bin := filepath.Join(dir, filepath.Base(pkg))
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	if err != nil || root == "." || filepath.Base(strings.TrimSpace(string(gomod))) != "go.mod" {
		return "", fmt.Errorf("cannot build %s: not inside the netsql checkout (go env GOMOD: %q, %v); pass -netsql and -load", pkg, gomod, err)
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, pkg)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build %s (run from the netsql checkout, or pass -netsql and -load): %v: %s", pkg, err, out)
	}
	return bin, nil
}

// limits lists what on this machine may stop netsql-load at the scale
// asked for: descriptors per worker, ephemeral ports, memory.
func limits(o options) []string {
	var warn []string
	perWorker := 2*((o.conns+o.procs-1)/o.procs) + 64
	if b, err := os.ReadFile("/proc/sys/fs/nr_open"); err == nil {
		if n, _ := strconv.Atoi(strings.TrimSpace(string(b))); n > 0 && perWorker > n {
			warn = append(warn, fmt.Sprintf("each worker needs %d descriptors but fs.nr_open is %d: use more -procs", perWorker, n))
		}
	}
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil && uint64(perWorker) > lim.Max && os.Geteuid() != 0 {
		warn = append(warn, fmt.Sprintf("each worker needs %d descriptors but the hard limit is %d (ulimit -Hn): use more -procs or run as root", perWorker, lim.Max))
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "MemAvailable:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				// About 4 kB of kernel and Go memory per socket held.
				if need := int64(2*o.conns) * 4; kb > 0 && need > kb {
					warn = append(warn, fmt.Sprintf("%d sockets need about %d MB; %d MB available", 2*o.conns, need>>10, kb>>10))
				}
			}
		}
	}
	return warn
}

// loadGen is a running netsql-load.
type loadGen struct {
	cmd     *exec.Cmd
	ready   string   // its ready line
	pids    []string // its workers
	loadavg string
	exited  chan struct{}
}

func startLoad(ctx context.Context, o options) (*loadGen, error) {
	cmd := exec.Command(o.loadBin, "-conns", strconv.Itoa(o.conns), "-close-wait", strconv.Itoa(o.closeWait),
		"-procs", strconv.Itoa(o.procs), "-timeout", "10m")
	// Its own process group, so that a terminal's Ctrl-C reaches only us
	// and we stop it in order; killed with us if we die.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("netsql-load: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start netsql-load: %w", err)
	}
	l := &loadGen{cmd: cmd, exited: make(chan struct{})}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "ready: ") {
				lines <- sc.Text()
			}
		}
		close(lines)
		io.Copy(io.Discard, out)
	}()
	go func() {
		cmd.Wait()
		close(l.exited)
	}()
	select {
	case line, ok := <-lines:
		if !ok {
			<-l.exited
			return nil, fmt.Errorf("netsql-load failed: %v", cmd.ProcessState)
		}
		l.ready = line
	case <-ctx.Done():
		l.stop()
		return nil, fmt.Errorf("interrupted while netsql-load was starting: %w", ctx.Err())
	}
	if _, p, ok := strings.Cut(l.ready, "; pids "); ok {
		p, _, _ = strings.Cut(p, ";")
		l.pids = strings.Fields(p)
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		l.loadavg = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	return l, nil
}

// stop ends netsql-load with SIGTERM (it then stops its workers), SIGKILL
// after 30 s, and waits until every worker has gone.
func (l *loadGen) stop() error {
	l.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-l.exited:
	case <-time.After(30 * time.Second):
		l.cmd.Process.Kill()
		<-l.exited
	}
	for _, p := range l.pids {
		pid, _ := strconv.Atoi(p)
		for i := 0; pid > 0 && alive(pid); i++ {
			if i == 100 { // 10 s after its parent: kill it ourselves
				syscall.Kill(pid, syscall.SIGKILL)
			}
			if i > 300 {
				return fmt.Errorf("netsql-load worker %d is still running", pid)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return nil
}

// alive reports whether pid is a netsql-load process that has not exited.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return strings.Contains(s[:max(i, 0)], "(netsql-load") && i+2 < len(s) && s[i+2] != 'Z'
}

// measure is one run of one command.
type measure struct {
	wall   time.Duration
	maxRSS int64 // kB
	stdout []byte
}

// measureCmd runs name with args, its output read and counted but not
// kept (beyond a small head), and returns its wall time and peak RSS.
func measureCmd(ctx context.Context, timeout time.Duration, name string, args ...string) (measure, error) {
	var m measure
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	head := &headWriter{max: 4096}
	var errBuf headWriter
	errBuf.max = 4096
	cmd.Stdout = head
	cmd.Stderr = &errBuf
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	began := time.Now()
	err := cmd.Run()
	m.wall = time.Since(began)
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			m.maxRSS = ru.Maxrss
		}
	}
	m.stdout = head.buf.Bytes()
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return m, fmt.Errorf("stopped after %v (-timeout)", m.wall.Round(time.Millisecond))
		}
		if ctx.Err() != nil {
			return m, fmt.Errorf("interrupted: %w", ctx.Err())
		}
		return m, fmt.Errorf("%v: %s", err, strings.TrimSpace(errBuf.buf.String()))
	}
	return m, nil
}

// headWriter keeps the first max bytes written to it and discards the rest.
type headWriter struct {
	buf bytes.Buffer
	max int
}

func (h *headWriter) Write(p []byte) (int, error) {
	if room := h.max - h.buf.Len(); room > 0 {
		h.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

func median(ms []measure) time.Duration {
	d := make([]time.Duration, len(ms))
	for i, m := range ms {
		d[i] = m.wall
	}
	slices.Sort(d)
	if n := len(d); n%2 == 0 {
		return (d[n/2-1] + d[n/2]) / 2
	}
	return d[len(d)/2]
}

func peak(ms []measure) int64 {
	var p int64
	for _, m := range ms {
		p = max(p, m.maxRSS)
	}
	return p
}

func secs(d time.Duration) string {
	if d < 100*time.Millisecond {
		return fmt.Sprintf("%.3f s", d.Seconds())
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

func mbs(kb int64) string {
	if kb < 10<<10 {
		return fmt.Sprintf("%.1f MB", float64(kb)/1024)
	}
	return fmt.Sprintf("%.0f MB", float64(kb)/1024)
}

func ratio(a, b float64) string {
	if b == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

// writeTable prints the results as the table, one line per work
// that ran; a command that failed shows its error in place of its time.
func writeTable(w io.Writer, o options, results [][2][]measure, failures [][2]string) {
	fmt.Fprintln(w, "| work | netsql time | netsql peak RSS | reference | reference time | reference peak RSS | time ratio | RSS ratio |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	for i, wk := range table {
		if o.only != nil && !o.only[i+1] {
			continue
		}
		ns, refs := results[i][0], results[i][1]
		nt, nr := "—", "—"
		if len(ns) > 0 {
			nt, nr = secs(median(ns)), mbs(peak(ns))
		}
		if f := failures[i][0]; f != "" {
			nt = "failed: " + strings.ReplaceAll(f, "|", "/")
		}
		ref, rt, rr, tr, mr := "—", "—", "—", "—", "—"
		if wk.ref != nil {
			ref = "`" + strings.Join(wk.ref, " ") + "`"
			switch {
			case failures[i][1] != "":
				rt = "failed: " + strings.ReplaceAll(failures[i][1], "|", "/")
			case len(refs) > 0:
				rt, rr = secs(median(refs)), mbs(peak(refs))
			default:
				ref += " (not installed)"
			}
			if len(ns) > 0 && len(refs) > 0 {
				tr = ratio(median(ns).Seconds(), median(refs).Seconds())
				mr = ratio(float64(peak(ns)), float64(peak(refs)))
			}
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", wk.name, nt, nr, ref, rt, rr, tr, mr)
	}
}

// writeLong prints the long-running measurements as a table, then as
// the sentence the README's Benchmarks section quotes.
func writeLong(w io.Writer, o options, load *loadGen, s, r longrun.Result) {
	fmt.Fprintln(w, "| long-running mode | iterations | median RSS, first window after warm-up | median RSS, last window | growth | RSS min–max | peak RSS | fds start → warm-up → end |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	row := func(name string, x longrun.Result) {
		m := x.Memory
		fmt.Fprintf(w, "| %s | %d | %s (%d samples over %s) | %s (%d samples over %s) | %+.1f%% | %s–%s | %s | %s |\n", name, x.Iterations,
			mbs(m.First.Median), m.First.N, span(m.First.To-m.First.From), mbs(m.Last.Median), m.Last.N, span(m.Last.To-m.Last.From),
			100*x.Growth(), mbs(m.Min), mbs(m.Max), mbs(x.End.HWM), fdCounts(x))
	}
	served := fmt.Sprintf("%d scrapes", o.scrapes)
	if s.Iterations < o.scrapes {
		served = fmt.Sprintf("%d of %d scrapes (-serve-for %v)", s.Iterations, o.scrapes, o.serveFor)
	}
	row(fmt.Sprintf("`netsql serve`, %s in %v (warm-up: %v, %d scrapes)", served, s.Elapsed.Round(time.Second), o.serveWarmup, s.WarmIterations), s)
	row(fmt.Sprintf("`netsql record --every %v` for %v (warm-up: %v, %d snapshots)", o.recordEvery, o.recordFor, o.recordWarmup, r.WarmIterations), r)
	sockets := "?"
	if f := strings.Fields(strings.TrimPrefix(load.ready, "ready: ")); len(f) > 0 {
		sockets = thousands(f[0])
	}
	fmt.Fprintf(w, "\n`serve` scraped %s times and `record --every %v` for %s at %s TCP sockets: median RSS over the last %s %+.1f%% and %+.1f%% of the median over the %s after the first %s (serve %s → %s, record %s → %s; RSS read every %v); fds %s and %s (start → after warm-up → end).\n",
		thousands(strconv.Itoa(s.Iterations)), o.recordEvery, words(o.recordFor), sockets,
		strings.TrimPrefix(span(s.Memory.Last.To-s.Memory.Last.From), "1 "), 100*s.Growth(), 100*r.Growth(),
		strings.TrimPrefix(span(s.Memory.First.To-s.Memory.First.From), "1 "), strings.TrimPrefix(words(o.serveWarmup), "1 "),
		mbs(s.Memory.First.Median), mbs(s.Memory.Last.Median), mbs(r.Memory.First.Median), mbs(r.Memory.Last.Median), o.sampleEvery,
		fdCounts(s), fdCounts(r))
	if o.serveWarmup != o.recordWarmup {
		fmt.Fprintf(w, "(serve's warm-up: %s; record's: %s.)\n", words(o.serveWarmup), words(o.recordWarmup))
	}
}

// fdCounts is "start→warm→end" of x's open descriptors.
func fdCounts(x longrun.Result) string {
	return fmt.Sprintf("%d→%d→%d", len(x.Start.FDs), len(x.Warm.FDs), len(x.End.FDs))
}

// words writes d as a sentence would: "1 minute", "10 minutes", "30 s".
func words(d time.Duration) string {
	switch {
	case d == time.Minute:
		return "1 minute"
	case d == time.Second:
		return "1 second"
	case d%time.Minute == 0:
		return fmt.Sprintf("%d minutes", d/time.Minute)
	case d%time.Second == 0:
		return fmt.Sprintf("%d s", d/time.Second)
	}
	return d.String()
}

// span writes a window's length: in words from a second on (rounded to
// the second), else in milliseconds.
func span(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return words(d.Round(time.Second))
}

// thousands groups the digits of a decimal number: 80005 -> 80,005.
func thousands(n string) string {
	if len(n) <= 3 || strings.Trim(n, "0123456789") != "" {
		return n
	}
	return thousands(n[:len(n)-3]) + "," + n[len(n)-3:]
}

// oneLine flattens a message onto a single line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
