// Command netsql answers SQL questions about the live Linux network stack.
//
//	netsql [flags] [SQL]
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
	if _, err := shell.NewWriter(cfg.format, io.Discard, shell.DefaultOptions); err != nil {
		return nil, err
	}
	if cfg.file != "" && len(cfg.sql) > 0 {
		return nil, errors.New("give SQL either with -f or as an argument, not both")
	}
	return cfg, nil
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
	script := strings.Join(cfg.sql, " ")
	switch {
	case cfg.file != "":
		b, err := os.ReadFile(cfg.file)
		if err != nil {
			fmt.Fprintf(stderr, "netsql: %v\n", err)
			return exitError
		}
		script = string(b)
	case script == "" && isTerminal(stdin):
		fmt.Fprintln(stderr, "netsql: no SQL given (the interactive shell is not built yet); try: netsql \"SELECT * FROM sockets\"")
		return exitUsage
	case script == "":
		b, err := io.ReadAll(stdin)
		if err != nil {
			fmt.Fprintf(stderr, "netsql: read standard input: %v\n", err)
			return exitError
		}
		script = string(b)
	}

	eng, err := vtab.Open(vtab.Options{
		ProcRoot: cfg.proc,
		Notify:   func(msg string) { fmt.Fprintln(stderr, msg) },
	})
	if err != nil {
		fmt.Fprintf(stderr, "netsql: %v\n", err)
		return exitError
	}
	defer eng.Close()

	if cfg.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.timeout)
		defer cancel()
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

func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
