// Command netsql answers SQL questions about the live Linux network stack.
//
//	netsql [flags] [SQL]
//	netsql [flags] -q NAME         run a canned query (-q alone lists them)
//	netsql [flags] netstat [netstat flags]
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
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/netsql/netsql/queries"
	"github.com/netsql/netsql/queries/netstat"
	"github.com/netsql/netsql/shell"
	"github.com/netsql/netsql/vtab"
)

// Exit codes, documented in README.md.
const (
	exitOK    = 0
	exitError = 1 // a query or runtime error
	exitUsage = 2 // bad flags or arguments
)

func main() {
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

Runs SQL against the live network stack and prints each result. Without
SQL, reads statements from standard input.

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
	fs.StringVar(&cfg.query, "q", "", "run the canned query `NAME` (-q alone lists them)")
	args, cfg.netstat = splitNetstat(args)
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

// splitNetstat finds the netstat sub-command: the first word that is
// "netstat" and is not a flag's value. Everything after it is netstat's.
func splitNetstat(args []string) (own, netstatArgs []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "netstat" {
			return args[:i], append([]string{}, args[i+1:]...)
		}
		if !strings.HasPrefix(a, "-") || strings.Contains(a, "=") {
			if !strings.HasPrefix(a, "-") {
				return args, nil // SQL: no sub-command
			}
			continue
		}
		switch strings.TrimLeft(a, "-") {
		case "format", "proc", "f", "timeout", "p", "q":
			i++ // the flag's value
		}
	}
	return args, nil
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
	if cfg.listQueries {
		listQueries(stdout)
		return exitOK
	}
	var canned *queries.Query
	if cfg.query != "" {
		q, ok := queries.Lookup(cfg.query)
		if !ok {
			fmt.Fprintf(stderr, "netsql: no canned query %q (netsql -q lists them)\n", cfg.query)
			return exitUsage
		}
		canned = &q
	}
	script := strings.Join(cfg.sql, " ")
	interactive := false
	switch {
	case cfg.netstat != nil || canned != nil:
		script = ""
	case cfg.file != "":
		b, err := os.ReadFile(cfg.file)
		if err != nil {
			fmt.Fprintf(stderr, "netsql: %v\n", err)
			return exitError
		}
		script = string(b)
	case script == "" && isTerminal(stdin):
		interactive = true
	case script == "":
		b, err := io.ReadAll(stdin)
		if err != nil {
			fmt.Fprintf(stderr, "netsql: read standard input: %v\n", err)
			return exitError
		}
		script = string(b)
	}

	notify := func(msg string) { fmt.Fprintln(stderr, msg) }
	if cfg.netstat != nil {
		notify = netstat.Notifier(stderr)
	}
	eng, err := vtab.Open(vtab.Options{ProcRoot: cfg.proc, Notify: notify})
	if err != nil {
		fmt.Fprintf(stderr, "netsql: %v\n", err)
		return exitError
	}
	defer eng.Close()
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
	r := &shell.Runner{Engine: eng, Out: stdout, Format: cfg.format, Opts: opts, Params: cfg.params}
	if _, err := r.Run(ctx, script); err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("statement cancelled after --timeout %v", cfg.timeout)
		} else if ctx.Err() != nil {
			err = errors.New("interrupted")
		}
		fmt.Fprintf(stderr, "netsql: %v\n", err)
		return exitError
	}
	return exitOK
}

// listQueries prints every canned query's name and description.
func listQueries(w io.Writer) {
	qs := queries.Builtin()
	width := 0
	for _, q := range qs {
		width = max(width, len(q.Name))
	}
	for _, q := range qs {
		fmt.Fprintf(w, "%-*s  %s\n", width, q.Name, q.Description)
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
