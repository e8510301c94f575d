package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/signal"
	"syscall"

	"github.com/netsql/netsql/queries"
	"github.com/netsql/netsql/queries/netstat"
	"github.com/netsql/netsql/shell"
	"github.com/netsql/netsql/vtab"
)

// runInteractive opens the shell on a terminal. The shell handles Ctrl-C
// itself (it cancels the running statement), so its context ends only on
// SIGTERM or SIGHUP.
func runInteractive(eng *vtab.Engine, cfg *config, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	opts := shell.DefaultOptions
	opts.Headers = cfg.headers
	sc := shellConfig(eng, cfg, opts, stdout, stderr)
	sc.In = stdin
	err := shell.RunShell(ctx, sc)
	if err != nil {
		fmt.Fprintf(stderr, "netsql: %v\n", err)
		return exitError
	}
	return exitOK
}

// shellConfig is what the shell, and a script with dot-commands, needs.
func shellConfig(eng *vtab.Engine, cfg *config, opts shell.Options, stdout, stderr io.Writer) shell.ShellConfig {
	return shell.ShellConfig{
		Engine: eng, Out: stdout, Err: stderr,
		Format: cfg.format, Opts: opts, Params: cfg.params,
		Queries: cannedQueries, QueryDir: cfg.queriesDir,
		Netstat: func(ctx context.Context, args []string, out io.Writer) error {
			if netstat.Command(ctx, eng, args, out, stderr) != exitOK {
				return errors.New("netstat failed")
			}
			return nil
		},
	}
}

// cannedQueries lists the built-in queries for .queries and .run; the
// shell adds the user's own from --queries DIR (ShellConfig.QueryDir) or
// the XDG directory, with the same loader.
func cannedQueries() []shell.CannedQuery {
	var out []shell.CannedQuery
	for _, q := range queries.Builtin() {
		out = append(out, shell.CannedQuery{Name: q.Name, Description: q.Description, SQL: q.SQL, Params: q.Defaults(), Origin: "built-in"})
	}
	return out
}
