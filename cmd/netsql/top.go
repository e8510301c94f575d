package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"os/signal"

	"github.com/gdamore/tcell/v2"

	"github.com/netsql/netsql/queries/netstat"
	"github.com/netsql/netsql/queries/top"
	"github.com/netsql/netsql/vtab"
)

const topUsage = `top [--batch [-n N]] [--interval 2s] [--netns NAME|*] [--format text|ndjson]

A live picture of the host's sockets, programs, remote hosts, listeners and
interfaces, every panel a query (netsql -q lists them: top-*). Counters
become per-second rates between refreshes. Keys: Tab panel, arrows move,
</> sort column, r reverse, / filter, Enter drill down, Esc back, p pause,
+/- interval, n namespace, s the panel's SQL, q quit. A .sql file with a
"-- panel:" header in the queries directory adds a panel.
--batch prints each refresh as text (or ndjson rates) instead.`

// runTop runs the top sub-command.
func runTop(ctx context.Context, cfg *config, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("netsql top", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	batch := fs.Bool("batch", false, "print refreshes as text instead of a full-screen view")
	count := fs.Int("n", 0, "with --batch: stop after `N` refreshes (0: until interrupted)")
	interval := fs.Duration("interval", top.DefaultInterval, "time between refreshes")
	fs.DurationVar(interval, "d", top.DefaultInterval, "short for --interval")
	netns := fs.String("netns", "", "read namespace `NAME` (a /run/netns name, pid:N, or * for all)")
	format := cfg.format
	if !cfg.formatSet {
		format = "text"
	}
	fs.StringVar(&format, "format", format, "with --batch: text or ndjson (counters as per-second rates)")
	fs.StringVar(&cfg.proc, "proc", cfg.proc, "read a /proc tree on disk instead of the live kernel (one frame)")
	fs.StringVar(&cfg.queriesDir, "queries", cfg.queriesDir, "read user queries and panels from `DIR`")
	fs.BoolVar(&cfg.quiet, "quiet", cfg.quiet, quietUsage)
	fs.BoolVar(&cfg.noBPF, "no-bpf", cfg.noBPF, noBPFUsage)
	usageErr := func(err error) int {
		fmt.Fprintf(stderr, "netsql: top: %v\n", err)
		fmt.Fprintln(stderr, "usage: netsql top ...   (netsql top -h for help)")
		return exitUsage
	}
	if err := fs.Parse(cfg.args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "usage: netsql [flags] %s\n\nflags:\n", topUsage)
			fs.SetOutput(stderr)
			fs.PrintDefaults()
			return exitOK
		}
		return usageErr(err)
	}
	switch {
	case fs.NArg() > 0:
		return usageErr(fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	case format == "table":
		format = "text"
	case format != "text" && format != "ndjson":
		return usageErr(fmt.Errorf("--format %s: top prints text or ndjson", format))
	case *interval <= 0:
		return usageErr(errors.New("--interval must be positive"))
	case *count < 0:
		return usageErr(errors.New("-n must be positive"))
	case !*batch && (*count > 0 || format != "text"):
		return usageErr(errors.New("-n and --format are for --batch"))
	}
	if !*batch && !isTerminal(os.Stdout) || !*batch && !isTerminal(os.Stdin) {
		fmt.Fprintln(stderr, "netsql: top: not a terminal: use --batch (e.g. netsql top --batch -n 1)")
		return exitUsage
	}
	all, _, code := catalog(cfg, stderr)
	if code != exitOK {
		return code
	}
	panels, err := top.Panels(all)
	if err != nil {
		fmt.Fprintf(stderr, "netsql: %v\n", err)
		return exitError
	}
	notes := &noticeLog{}
	var notify func(vtab.Notice)
	if !cfg.quiet {
		notify = func(n vtab.Notice) { notes.add(n.Msg) }
	}
	// netstat.Open: a user panel may call any function a query can.
	eng, err := netstat.Open(cfg.engineOptions(notify))
	if err != nil {
		fmt.Fprintf(stderr, "netsql: %v\n", err)
		return exitError
	}
	defer eng.Close()
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGHUP, syscall.SIGTERM, os.Interrupt)
	defer stop()
	src, err := top.NewSnapshotter(ctx, eng, panels, cfg.proc != "")
	if err != nil {
		fmt.Fprintf(stderr, "netsql: %v\n", err)
		return exitError
	}
	src.SetNamespace(*netns)
	m := top.NewModel(ctx, src, panels)
	m.Interval, m.Host = *interval, hostName(cfg.proc)
	m.SetNamespace(*netns)
	if *batch {
		err = top.Batch(ctx, m, *count, format, stdout)
		for _, n := range notes.take() {
			fmt.Fprintln(stderr, n)
		}
		if err == nil && cfg.proc != "" && *count > 1 && !cfg.quiet {
			fmt.Fprintln(stderr, "netsql: top: --proc: one frame, rates unavailable")
		}
	} else {
		var screen tcell.Screen
		if screen, err = tcell.NewScreen(); err == nil {
			err = top.Run(ctx, screen, m, notes.take)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "netsql: %v\n", err)
		return exitError
	}
	return exitOK
}

// noticeLog collects the engine's notices, each once: refreshes repeat
// them, the user needs them once.
type noticeLog struct {
	mu   sync.Mutex
	seen map[string]bool
	new  []string
}

func (l *noticeLog) add(msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen == nil {
		l.seen = map[string]bool{}
	}
	if !l.seen[msg] {
		l.seen[msg] = true
		l.new = append(l.new, msg)
	}
}

func (l *noticeLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.new
	l.new = nil
	return out
}

// hostName names the machine shown: the live host's name, or the one
// recorded in the /proc tree (sys/kernel/hostname), else the tree's path.
func hostName(proc string) string {
	if proc == "" {
		h, _ := os.Hostname()
		return h
	}
	if b, err := os.ReadFile(filepath.Join(proc, "sys", "kernel", "hostname")); err == nil {
		return strings.TrimSpace(string(b))
	}
	return "--proc " + proc
}
