// Command netsql answers SQL questions about the live Linux network stack.
//
//	netsql [flags] [SQL]
//	netsql [flags] -q NAME         run a canned or user query (-q alone lists them)
//	netsql [flags] netstat [netstat flags]
//	netsql [flags] export --textfile FILE [-q NAME ...]
//	netsql [flags] serve [--listen 127.0.0.1:9464] [-q NAME ...]
//	netsql [flags] record --db FILE [-q NAME ...] [--every DURATION] [--keep AGE]
//	netsql [flags] top [--batch [-n N]] [--interval 2s] [--netns NAME|*]
//
// See README.md for the tables and examples.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/netsql/netsql/queries"
	"github.com/netsql/netsql/queries/netstat"
	"github.com/netsql/netsql/queries/record"
	"github.com/netsql/netsql/shell"
	"github.com/netsql/netsql/vtab"
)

// Exit codes, documented in README.md.
const (
	exitOK    = 0
	exitError = 1 // a query or runtime error
	exitUsage = 2 // bad flags or arguments
	exitRows  = 3 // --fail-on-rows and the last statement returned rows
)

func main() {
	if os.Getenv("GOGC") == "" {
		// A statement reads a whole kernel table into memory at once (80k
		// sockets grow the heap from 4 to 60 MB in one go): collecting at
		// 3x the live heap instead of 2x halves the collections and cuts
		// such a query by a third, for a few MB more.
		debug.SetGCPercent(200)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// config is what the command line asked for.
type config struct {
	format  string
	proc    string
	file    string
	timeout time.Duration
	headers bool
	params  map[string]string
	sql     []string
	// query is -q NAME; listQueries is -q without a name.
	query       string
	listQueries bool
	// formatSet is true when --format was given (a raw canned query
	// then prints as a table instead of its own layout).
	formatSet bool
	// netstat holds the arguments after the netstat sub-command; nil
	// when it was not given.
	netstat []string
	// command is the sub-command (export, serve, record) and args the
	// words after it; "" when none was given.
	command string
	args    []string
	// queriesDir is --queries: where user queries live.
	queriesDir string
	// failOnRows is --fail-on-rows.
	failOnRows bool
	// quiet is --quiet: no notices (errors still print).
	quiet bool
	// db is --db: a history file to query beside the live tables.
	db string
	// hostField and timeField name the fields ndjson output adds.
	hostField, timeField string
}

// quietUsage describes --quiet, which every mode and sub-command takes.
const quietUsage = "print no notices (such as \"not all processes could be identified\"), only errors: for cron"

// notifier is where the engine's notices go: nowhere with --quiet,
// netstat's own wording in netstat mode, else a line on stderr.
func (c *config) notifier(stderr io.Writer) func(string) {
	switch {
	case c.quiet:
		return nil
	case c.netstat != nil:
		return netstat.Notifier(stderr)
	}
	return func(msg string) { fmt.Fprintln(stderr, msg) }
}

type paramFlag map[string]string

func (p paramFlag) String() string { return "" }

func (p paramFlag) Set(s string) error {
	name, value, ok := strings.Cut(s, "=")
	name = strings.TrimLeft(name, ":@$")
	if !ok || name == "" {
		return fmt.Errorf("want name=value, got %q", s)
	}
	p[name] = value
	return nil
}

func usage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, `usage: netsql [flags] [SQL]
       netsql [flags] -q NAME          (netsql -q lists the queries)
       netsql [flags] netstat [netstat flags]
       netsql [flags] export --textfile FILE [-q NAME ...]
       netsql [flags] serve [--listen ADDR] [-q NAME ...]
       netsql [flags] record --db FILE [-q NAME ...] [--every DURATION] [--keep AGE]
       netsql [flags] top [--batch [-n N]] [--interval 2s] [--netns NAME|*]

Runs SQL against the live network stack and prints each result. Without
SQL, reads statements from standard input. netsql COMMAND -h describes a
sub-command's flags.

Exit status: 0 ok, 1 query or runtime error, 2 usage error, 3 rows with
--fail-on-rows.

flags:
`)
	fs.SetOutput(w)
	fs.PrintDefaults()
}

// parseArgs parses flags anywhere on the command line; the remaining
// words are SQL.
func parseArgs(args []string, stderr io.Writer) (*config, error) {
	cfg := &config{params: map[string]string{}}
	fs := flag.NewFlagSet("netsql", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&cfg.format, "format", "table", "output format: "+strings.Join(shell.Formats, ", "))
	fs.StringVar(&cfg.proc, "proc", "", "read a /proc tree on disk instead of the live kernel")
	fs.StringVar(&cfg.file, "f", "", "run the SQL in `FILE`")
	fs.DurationVar(&cfg.timeout, "timeout", 30*time.Second, "cancel a statement that runs longer (0: never)")
	fs.BoolVar(&cfg.headers, "header", true, "print column names (table, csv, markdown)")
	fs.Var(paramFlag(cfg.params), "p", "bind `name=value` to :name (repeatable)")
	fs.StringVar(&cfg.query, "q", "", "run the canned or user query `NAME` (-q alone lists them)")
	fs.StringVar(&cfg.queriesDir, "queries", "", "read user queries from `DIR` (default $XDG_CONFIG_HOME/netsql/queries)")
	fs.BoolVar(&cfg.failOnRows, "fail-on-rows", false, "exit 3 when the last statement returns any row")
	fs.BoolVar(&cfg.quiet, "quiet", false, quietUsage)
	fs.StringVar(&cfg.db, "db", "", "query the history database `FILE` (from netsql record) beside the live tables")
	fs.StringVar(&cfg.hostField, "host-field", "", "ndjson: add the host name to every object as field `NAME`")
	fs.StringVar(&cfg.timeField, "timestamp-field", "", "ndjson: add the run's time (RFC 3339, UTC) to every object as field `NAME`")
	var sub string
	var subArgs []string
	args, sub, subArgs = splitCommand(args)
	switch sub {
	case "netstat":
		cfg.netstat = subArgs
	case "":
	default:
		cfg.command, cfg.args = sub, subArgs
	}
	if n := len(args); n > 0 && (args[n-1] == "-q" || args[n-1] == "--q") {
		cfg.listQueries = true
		args = args[:n-1]
	}
	for len(args) > 0 {
		// A word with spaces is SQL even when it starts with "-" (a
		// leading "-- comment"): flag parsing stops before it.
		if looksLikeSQL(args[0]) {
			cfg.sql = append(cfg.sql, args[0])
			args = args[1:]
			continue
		}
		n := 1
		for n < len(args) && !looksLikeSQL(args[n]) {
			n++
		}
		if err := fs.Parse(args[:n]); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				usage(stderr, fs)
			}
			return nil, err
		}
		rest := fs.Args()
		if len(rest) > 0 {
			cfg.sql = append(cfg.sql, rest[0])
			rest = rest[1:]
		}
		args = append(append([]string(nil), rest...), args[n:]...)
	}
	fs.Visit(func(f *flag.Flag) { cfg.formatSet = cfg.formatSet || f.Name == "format" })
	if _, err := shell.NewWriter(cfg.format, io.Discard, shell.DefaultOptions); err != nil {
		return nil, err
	}
	if (cfg.hostField != "" || cfg.timeField != "") && cfg.format != "ndjson" {
		return nil, errors.New("--host-field and --timestamp-field need --format ndjson")
	}
	if cfg.command != "" {
		if cfg.file != "" || len(cfg.sql) > 0 || cfg.query != "" || cfg.listQueries || cfg.failOnRows || cfg.db != "" {
			return nil, fmt.Errorf("give -q and the %s flags after %q", cfg.command, cfg.command)
		}
		return cfg, nil
	}
	modes := 0
	for _, set := range []bool{cfg.file != "", len(cfg.sql) > 0, cfg.query != "" || cfg.listQueries, cfg.netstat != nil} {
		if set {
			modes++
		}
	}
	if modes > 1 {
		return nil, errors.New("give one of SQL, -f FILE, -q NAME or netstat ...")
	}
	if cfg.file != "" && len(cfg.sql) > 0 {
		return nil, errors.New("give SQL either with -f or as an argument, not both")
	}
	return cfg, nil
}

// commands are the sub-commands; a word that is one of them (and not a
// flag's value) starts it, and every word after it is its own.
var commands = map[string]bool{"netstat": true, "export": true, "serve": true, "record": true, "top": true}

// splitCommand finds the sub-command: the first word that names one and
// is not a flag's value. own are the words before it.
func splitCommand(args []string) (own []string, command string, rest []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if commands[a] {
			return args[:i], a, append([]string{}, args[i+1:]...)
		}
		if !strings.HasPrefix(a, "-") || strings.Contains(a, "=") {
			if !strings.HasPrefix(a, "-") {
				return args, "", nil // SQL: no sub-command
			}
			continue
		}
		switch strings.TrimLeft(a, "-") {
		case "format", "proc", "f", "timeout", "p", "q", "queries", "db", "host-field", "timestamp-field":
			i++ // the flag's value
		}
	}
	return args, "", nil
}

func looksLikeSQL(arg string) bool {
	return strings.HasPrefix(arg, "-") && strings.ContainsAny(arg, " \t\n")
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cfg, err := parseArgs(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintf(stderr, "netsql: %v\n", err)
		fmt.Fprintln(stderr, "usage: netsql [flags] [SQL]   (netsql -h for help)")
		return exitUsage
	}
	if cfg.command == "top" {
		return runTop(ctx, cfg, stdout, stderr)
	}
	if cfg.command != "" {
		return runCommand(ctx, cfg, stdout, stderr)
	}
	if cfg.listQueries {
		qs, err := catalog(cfg.queriesDir)
		if err != nil {
			fmt.Fprintf(stderr, "netsql: %v\n", err)
			return exitError
		}
		listQueries(stdout, qs)
		return exitOK
	}
	var canned *queries.Query
	if cfg.query != "" {
		qs, err := catalog(cfg.queriesDir)
		if err != nil {
			fmt.Fprintf(stderr, "netsql: %v\n", err)
			return exitError
		}
		q, ok := queries.Find(qs, cfg.query)
		if !ok {
			fmt.Fprintf(stderr, "netsql: no canned query %q (netsql -q lists them)\n", cfg.query)
			return exitUsage
		}
		if cfg.failOnRows && q.Format == "raw" && !cfg.formatSet {
			fmt.Fprintf(stderr, "netsql: --fail-on-rows needs rows: %s prints its own layout; add --format table\n", q.Name)
			return exitUsage
		}
		canned = &q
	}
	script := strings.Join(cfg.sql, " ")
	interactive := false
	fromScript := false // -f FILE or piped: may hold dot-commands, as for sqlite3
	switch {
	case cfg.netstat != nil || canned != nil:
		script = ""
	case cfg.file != "":
		b, err := os.ReadFile(cfg.file)
		if err != nil {
			fmt.Fprintf(stderr, "netsql: %v\n", err)
			return exitError
		}
		script, fromScript = string(b), true
	case script == "" && isTerminal(stdin):
		interactive = true
	case script == "":
		b, err := io.ReadAll(stdin)
		if err != nil {
			fmt.Fprintf(stderr, "netsql: read standard input: %v\n", err)
			return exitError
		}
		script, fromScript = string(b), true
	}

	eng, err := vtab.Open(vtab.Options{ProcRoot: cfg.proc, Notify: cfg.notifier(stderr)})
	if err != nil {
		fmt.Fprintf(stderr, "netsql: %v\n", err)
		return exitError
	}
	defer eng.Close()
	if cfg.db != "" {
		if err := record.Attach(ctx, eng, cfg.db); err != nil {
			fmt.Fprintf(stderr, "netsql: %v\n", err)
			return exitError
		}
	}
	if interactive {
		return runInteractive(eng, cfg, stdin, stdout, stderr)
	}

	if cfg.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.timeout)
		defer cancel()
	}
	if cfg.netstat != nil {
		return netstat.Command(ctx, eng, cfg.netstat, stdout, stderr)
	}
	if canned != nil {
		params := canned.Bind(cfg.params)
		if canned.Format == "raw" && !cfg.formatSet {
			if err := netstat.RunRaw(ctx, eng, canned, params, stdout); err != nil {
				fmt.Fprintf(stderr, "netsql: %s: %v\n", canned.Name, err)
				return exitError
			}
			return exitOK
		}
		cfg.params, script = params, canned.SQL
	}
	opts := shell.DefaultOptions
	opts.Headers = cfg.headers
	if f, ok := stdout.(*os.File); ok {
		opts.Terminal = isTerminal(f) // no raw control characters on a terminal
	}
	opts.Fields, err = ndjsonFields(cfg.hostField, cfg.timeField, time.Now())
	if err != nil {
		fmt.Fprintf(stderr, "netsql: %v\n", err)
		return exitError
	}
	r := &shell.Runner{Engine: eng, Out: stdout, Format: cfg.format, Opts: opts, Params: cfg.params}
	var last shell.Result
	if fromScript && shell.HasDotCommands(script) {
		last, err = shell.RunScript(ctx, shellConfig(eng, cfg, opts, stdout, stderr), cfg.file, script)
	} else {
		last, err = r.Run(ctx, script)
	}
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("statement cancelled after --timeout %v", cfg.timeout)
		} else if ctx.Err() != nil {
			err = errors.New("interrupted")
		}
		fmt.Fprintf(stderr, "netsql: %v\n", err)
		return exitError
	}
	if cfg.failOnRows && last.Rows > 0 {
		return exitRows
	}
	return exitOK
}

// listQueries prints every query's name and description; a user query's
// description starts with [user] ([user, shadows built-in] when it
// replaces a built-in query of the same name).
func listQueries(w io.Writer, qs []queries.Query) {
	width := 0
	for _, q := range qs {
		width = max(width, len(q.Name))
	}
	for _, q := range qs {
		mark := ""
		switch {
		case q.Shadows:
			mark = "[user, shadows built-in] "
		case q.User:
			mark = "[user] "
		}
		fmt.Fprintf(w, "%-*s  %s%s\n", width, q.Name, mark, q.Description)
	}
}

func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
