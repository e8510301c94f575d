package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/signal"
	"syscall"

	"github.com/netsql/netsql/queries"
	"github.com/netsql/netsql/queries/format"
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
	opts := format.DefaultOptions
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
func shellConfig(eng *vtab.Engine, cfg *config, opts format.Options, stdout, stderr io.Writer) shell.ShellConfig {
	return shell.ShellConfig{
		Engine: eng, Out: stdout, Err: stderr,
		Format: cfg.format, Opts: opts, Params: cfg.params,
		Queries: queries.Builtin, QueryDir: cfg.queriesDir,
		Netstat: func(ctx context.Context, args []string, out io.Writer) error {
			if netstat.Command(ctx, eng, args, out, stderr) != exitOK {
				return errors.New("netstat failed")
			}
			return nil
		},
	}
}
