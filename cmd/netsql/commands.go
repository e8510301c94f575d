package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/netsql/netsql/queries"
	"github.com/netsql/netsql/queries/metrics"
	"github.com/netsql/netsql/queries/netstat"
	"github.com/netsql/netsql/queries/record"
	sqlrun "github.com/netsql/netsql/queries/run"
	"github.com/netsql/netsql/vtab"
)

// catalog returns the built-in queries merged with the user's: those in
// dir (--queries), else in queries.UserDir. Each user file that was
// skipped is reported once, by name, on stderr and returned in skipped;
// the rest of the catalog is usable. An explicit dir that does not exist
// is a usage error (exit 2); an unreadable default directory (root's HOME
// seen by another user) is a notice and leaves the built-in queries.
func catalog(cfg *config, stderr io.Writer) (qs []queries.Query, skipped []*queries.FileError, code int) {
	if code := checkQueriesDir(cfg, stderr); code != exitOK {
		return nil, nil, code
	}
	dir := cfg.queriesDir
	if dir == "" {
		dir = queries.UserDir(os.Getenv)
	}
	qs, skipped, err := queries.Catalog(dir)
	switch {
	case err != nil && cfg.queriesDir != "":
		fmt.Fprintf(stderr, "netsql: --queries %s: %v\n", dir, err)
		return nil, nil, exitError
	case err != nil:
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		if notify := cfg.notifier(stderr); notify != nil {
			notify(vtab.Notice{Kind: vtab.NoticeInfo, Msg: fmt.Sprintf("netsql: user queries in %s not read: %v", dir, err)})
		}
	}
	for _, e := range skipped {
		fmt.Fprintf(stderr, "netsql: %v\n", e)
	}
	return qs, skipped, exitOK
}

// checkQueriesDir says on stderr when --queries names no directory: a
// usage error, in every mode.
func checkQueriesDir(cfg *config, stderr io.Writer) int {
	if cfg.queriesDir == "" {
		return exitOK
	}
	if fi, err := os.Stat(cfg.queriesDir); err != nil || !fi.IsDir() {
		fmt.Fprintf(stderr, "netsql: --queries %s: no such directory\n", cfg.queriesDir)
		return exitUsage
	}
	return exitOK
}

// findQuery returns the query called name, or says on stderr why there is
// none: a user file of that name that was skipped (exit 1), or no such
// query (exit 2).
func findQuery(qs []queries.Query, skipped []*queries.FileError, name string, stderr io.Writer) (queries.Query, int) {
	if q, ok := queries.Find(qs, name); ok {
		return q, exitOK
	}
	if e, ok := queries.Skipped(skipped, name); ok {
		fmt.Fprintf(stderr, "netsql: query %s: its file %s was skipped (see above)\n", name, e.File)
		return queries.Query{}, exitError
	}
	fmt.Fprintf(stderr, "netsql: no canned query %q (netsql -q lists them)\n", name)
	return queries.Query{}, exitUsage
}

// nameList is a repeatable -q NAME flag.
type nameList []string

func (n *nameList) String() string { return strings.Join(*n, ",") }

func (n *nameList) Set(s string) error {
	for _, name := range strings.Split(s, ",") {
		if name = strings.TrimSpace(name); name != "" {
			*n = append(*n, name)
		}
	}
	return nil
}

// subConfig is what a sub-command's own flags asked for.
type subConfig struct {
	names    nameList
	textfile string
	listen   string
	scrape   time.Duration
	db       string
	every    time.Duration
	keep     keepFlag
}

// keepFlag is record's --keep: a Go duration (36h, 90m) or whole days
// (30d), positive.
type keepFlag time.Duration

func (k *keepFlag) String() string { return time.Duration(*k).String() }

func (k *keepFlag) Set(s string) error {
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 || n > 100*365 {
			return fmt.Errorf("want a positive number of days like 30d, got %q", s)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil || d <= 0 {
			return fmt.Errorf("want a positive duration like 30d or 12h, got %q", s)
		}
	}
	*k = keepFlag(d)
	return nil
}

// parseCommand parses a sub-command's flags (its own plus -q, -p,
// --proc, --queries and --timeout, which may also come before it).
func parseCommand(cfg *config, stdout io.Writer) (*subConfig, error) {
	sc := &subConfig{}
	fs := flag.NewFlagSet("netsql "+cfg.command, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Var(&sc.names, "q", "evaluate the query `NAME` (repeatable, or comma-separated)")
	fs.Var(paramFlag(cfg.params), "p", "bind `name=value` to :name (repeatable)")
	fs.StringVar(&cfg.proc, "proc", cfg.proc, "read a /proc tree on disk instead of the live kernel")
	fs.StringVar(&cfg.queriesDir, "queries", cfg.queriesDir, "read user queries from `DIR`")
	fs.BoolVar(&cfg.quiet, "quiet", cfg.quiet, quietUsage)
	fs.BoolVar(&cfg.noBPF, "no-bpf", cfg.noBPF, noBPFUsage)
	var what string
	switch cfg.command {
	case "export":
		what = "export --textfile FILE [-q NAME ...]\n\nWrites the metric queries' results (all of them without -q) in the\nPrometheus text format to FILE, atomically, for node_exporter's textfile\ncollector."
		fs.StringVar(&sc.textfile, "textfile", "", "write the metrics to `FILE` (atomically: temp file and rename)")
		fs.DurationVar(&cfg.timeout, "timeout", cfg.timeout, "give up on queries still running after this long (0: never)")
	case "serve":
		what = "serve [--listen ADDR] [-q NAME ...]\n\nServes the metric queries' results (all of them without -q) on\nhttp://ADDR/metrics, evaluated at each scrape; GET /healthz answers ok."
		fs.StringVar(&sc.listen, "listen", "127.0.0.1:9464", "listen on `ADDR` (host:port; loopback by default)")
		fs.DurationVar(&sc.scrape, "scrape-timeout", 10*time.Second, "give up on a scrape's queries after this long")
	case "record":
		what = "record --db FILE [-q NAME ...] [--every DURATION] [--keep AGE]\n\nAppends each query's rows, stamped with captured_at, to a table of the\nSQLite database FILE (one table per query, one transaction per\nsnapshot). Without -q it records " + strings.Join(record.Defaults(), ", ") + ".\nWith --keep, each snapshot also deletes what was captured more than AGE\nbefore it."
		fs.StringVar(&sc.db, "db", "", "append to the SQLite database `FILE` (created if missing)")
		fs.DurationVar(&sc.every, "every", 0, "take a snapshot every `DURATION` until interrupted (0: once)")
		fs.Var(&sc.keep, "keep", "delete snapshots older than `AGE` (30d, 12h; default: keep everything)")
		fs.DurationVar(&cfg.timeout, "timeout", cfg.timeout, "give up on a snapshot still running after this long (0: never)")
	}
	if err := fs.Parse(cfg.args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stdout, "usage: netsql [flags] %s\n\nflags:\n", what)
			fs.SetOutput(stdout)
			fs.PrintDefaults()
		}
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("%s: unexpected argument %q", cfg.command, fs.Arg(0))
	}
	switch {
	case cfg.command == "export" && sc.textfile == "":
		return nil, errors.New("export: give --textfile FILE")
	case cfg.command == "record" && sc.db == "":
		return nil, errors.New("record: give --db FILE")
	case sc.every < 0 || sc.scrape < 0 || cfg.timeout < 0:
		return nil, fmt.Errorf("%s: durations must be positive", cfg.command)
	}
	return sc, nil
}

// pick returns the named queries of qs, or def when names is empty. A
// name whose user file was skipped (already reported) is left out and
// counted in missing; an unknown name is an error.
func pick(qs []queries.Query, skipped []*queries.FileError, names []string, def func() []queries.Query) (out []queries.Query, missing int, err error) {
	if len(names) == 0 {
		return def(), 0, nil
	}
	for _, n := range names {
		q, ok := queries.Find(qs, n)
		if !ok {
			if _, ok := queries.Skipped(skipped, n); ok {
				missing++
				continue
			}
			return nil, 0, fmt.Errorf("no canned query %q (netsql -q lists them)", n)
		}
		out = append(out, q)
	}
	return out, missing, nil
}

// runCommand runs export, serve or record.
func runCommand(ctx context.Context, cfg *config, stdout, stderr io.Writer) int {
	sc, err := parseCommand(cfg, stdout)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintf(stderr, "netsql: %v\n", err)
		fmt.Fprintf(stderr, "usage: netsql %s ...   (netsql %s -h for help)\n", cfg.command, cfg.command)
		return exitUsage
	}
	all, skipped, code := catalog(cfg, stderr)
	if code != exitOK {
		return code
	}
	var qs []queries.Query
	var missing int
	if cfg.command == "record" {
		qs, missing, err = pick(all, skipped, sc.names, func() []queries.Query {
			out, _, _ := pick(all, nil, record.Defaults(), nil)
			return out
		})
	} else {
		qs, missing, err = pick(all, skipped, sc.names, func() []queries.Query { return metrics.MetricQueries(all) })
	}
	if err != nil {
		fmt.Fprintf(stderr, "netsql: %s: %v\n", cfg.command, err)
		return exitUsage
	}
	if len(qs) == 0 && missing > 0 {
		fmt.Fprintf(stderr, "netsql: %s: no query left to run\n", cfg.command)
		return exitError
	}
	var takes []string
	for _, q := range qs {
		var declared []string
		for _, p := range q.Params {
			declared = append(declared, p.Name)
		}
		takes = sqlrun.ParamNames(q.SQL, append(takes, declared...))
	}
	if code := checkParams(cfg.params, "the queries run", takes, stderr); code != exitOK {
		return code
	}
	// A run that left out a query the user named ends with status 1 once
	// the rest has run; so does an export missing a skipped file's metrics.
	incomplete := missing > 0 || cfg.command == "export" && len(skipped) > 0
	eng, err := netstat.Open(cfg.engineOptions(cfg.notifier(stderr)))
	if err != nil {
		fmt.Fprintf(stderr, "netsql: %v\n", err)
		return exitError
	}
	defer eng.Close()

	if cfg.command == "record" {
		return worst(runRecord(ctx, cfg, sc, eng, qs, stderr), incomplete)
	}
	set, err := metrics.NewSet(eng, qs, cfg.params)
	if err != nil {
		fmt.Fprintf(stderr, "netsql: %s: %v\n", cfg.command, err)
		return exitUsage
	}
	set.FileErrors = len(skipped)
	if cfg.command == "serve" {
		logf := func(msg string) { fmt.Fprintf(stderr, "netsql: %s\n", msg) }
		// A scrape stuck in the kernel past its deadline leaves its
		// engine behind; later scrapes go on with a fresh one.
		set.Reopen = func() (*vtab.Engine, error) {
			return netstat.Open(cfg.engineOptions(cfg.notifier(stderr)))
		}
		set.Log = logf
		srv := &metrics.Server{Set: set, Addr: sc.listen, ScrapeTimeout: sc.scrape, Log: logf}
		if !cfg.quiet {
			srv.Ready = func(a net.Addr) { fmt.Fprintf(stderr, "netsql: serving http://%s%s\n", a, metrics.MetricsPath) }
		}
		if err := srv.Run(ctx); err != nil {
			fmt.Fprintf(stderr, "netsql: serve: %v\n", err)
			return exitError
		}
		return exitOK
	}
	return worst(runExport(ctx, cfg, sc, set, stderr), incomplete)
}

// worst is code, or exitError when code is exitOK but the run was
// incomplete.
func worst(code int, incomplete bool) int {
	if code == exitOK && incomplete {
		return exitError
	}
	return code
}

func runExport(ctx context.Context, cfg *config, sc *subConfig, set *metrics.Set, stderr io.Writer) int {
	// Refuse /dev/null, a FIFO or a device before running anything.
	if _, err := metrics.CheckTextfile(sc.textfile); err != nil {
		fmt.Fprintf(stderr, "netsql: export: %v\n", err)
		return exitError
	}
	stopped := ctx
	if cfg.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.timeout)
		defer cancel()
	}
	mfs, failed, err := set.Gather(ctx)
	if stopped.Err() != nil {
		// Interrupted (SIGINT, SIGTERM): the queries it cut short would
		// read success 0; the previous file is the better answer.
		fmt.Fprintf(stderr, "netsql: export: interrupted; %s left as it was\n", sc.textfile)
		return exitError
	}
	if werr := metrics.WriteTextfile(sc.textfile, mfs); werr != nil {
		fmt.Fprintf(stderr, "netsql: export: %v\n", werr)
		return exitError
	}
	code := exitOK
	for _, f := range failed {
		fmt.Fprintf(stderr, "netsql: export: %v\n", f)
		code = exitError
	}
	if err != nil {
		fmt.Fprintf(stderr, "netsql: export: %v\n", err)
		code = exitError
	}
	return code
}

func runRecord(ctx context.Context, cfg *config, sc *subConfig, eng *vtab.Engine, qs []queries.Query, stderr io.Writer) int {
	rec, err := record.Open(ctx, sc.db, eng, qs, cfg.params)
	if err != nil {
		fmt.Fprintf(stderr, "netsql: %v\n", err)
		return exitError
	}
	defer rec.Close()
	rec.Timeout = cfg.timeout
	rec.Keep = time.Duration(sc.keep)
	report := func(s record.Snapshot) {
		if sc.every > 0 {
			for _, f := range s.Failed {
				fmt.Fprintf(stderr, "netsql: record %s: %v\n", s.CapturedAt, f)
			}
		}
	}
	if err := rec.Run(ctx, sc.every, report); err != nil {
		fmt.Fprintf(stderr, "netsql: %v\n", err)
		return exitError
	}
	return exitOK
}
