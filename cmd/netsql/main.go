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
	"maps"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/netsql/netsql/queries"
	"github.com/netsql/netsql/queries/format"
	"github.com/netsql/netsql/queries/netstat"
	"github.com/netsql/netsql/queries/record"
	sqlrun "github.com/netsql/netsql/queries/run"
	"github.com/netsql/netsql/shell"
	"github.com/netsql/netsql/vtab"
	"github.com/netsql/netsql/vtab/fileread"
)

// Exit codes, documented in README.md.
const (
	exitOK    = 0
	exitError = 1 // a query or runtime error
	exitUsage = 2 // bad flags or arguments
	exitRows  = 3 // --fail-on-rows and the last statement returned rows
)

func main() {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	h := &signalHandler{cancel: cancel, exit: os.Exit, stderr: os.Stderr}
	go h.watch(sigs)
	code := run(withSignals(ctx, h), os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	cancel(nil)
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
	// formatSet is true when --format was given.
	formatSet bool
	// layoutFlags are the flags given that shape rows (--format,
	// --header, --fail-on-rows) or add tables (--db): none applies to
	// netstat's text layout.
	layoutFlags []string
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
	// allowKill is --allow-kill: DELETE FROM sockets closes sockets.
	allowKill bool
	// noBPF is --no-bpf: owners are found by walking /proc/*/fd.
	noBPF bool
	// db is --db: a history file to query beside the live tables.
	db string
	// hostField and timeField name the fields ndjson output adds.
	hostField, timeField string
	// version is --version.
	version bool
}

// quietUsage describes --quiet, which every mode and sub-command takes.
const quietUsage = "print no notices (such as \"not all processes could be identified\"), only errors: for cron"

// notifier is where the engine's notices go: nowhere with --quiet,
// netstat's own wording in netstat mode, else a line on stderr.
func (c *config) notifier(stderr io.Writer) func(vtab.Notice) {
	switch {
	case c.quiet:
		return nil
	case c.netstat != nil:
		return netstat.Notifier(stderr)
	}
	return func(n vtab.Notice) { fmt.Fprintln(stderr, n.Msg) }
}

type paramFlag map[string]string

func (p paramFlag) String() string { return "" }

func (p paramFlag) Set(s string) error {
	name, value, ok := strings.Cut(s, "=")
	name = strings.TrimLeft(name, ":@$")
	if !ok {
		return fmt.Errorf("want name=value, got %q", s)
	}
	if !sqlrun.ValidParamName(name) {
		return fmt.Errorf("%q is not a parameter name (a letter, then letters, digits or _)", name)
	}
	p[name] = value
	return nil
}

// names returns the parameters' names, sorted.
func (p paramFlag) names() []string { return slices.Sorted(maps.Keys(p)) }

// checkParams says on stderr when a -p name is not one of the parameters
// takes (those of what, the query or SQL being run): a usage error.
func checkParams(params map[string]string, what string, takes []string, stderr io.Writer) int {
	given := paramFlag(params).names()
	if err := sqlrun.CheckParamNames(what, given, takes); err != nil {
		fmt.Fprintf(stderr, "netsql: -p: %v\n", err)
		return exitUsage
	}
	return exitOK
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
SQL on a terminal, opens the interactive shell (.help lists its commands,
.tables and .schema the tables); without SQL otherwise, runs the
statements read from standard input. netsql COMMAND -h describes a
sub-command's flags.

Exit status: 0 ok, 1 query or runtime error, 2 usage error, 3 rows with
--fail-on-rows.

flags:
`)
	fs.SetOutput(w)
	fs.PrintDefaults()
}

// noBPFUsage describes --no-bpf, which the sub-commands take too.
const noBPFUsage = "never load a BPF program: as root netsql finds the processes behind sockets through the kernel's fd iterator; with this it walks /proc/*/fd (slower with many sockets)"

// engineOptions are the engine options the flags ask for, notices going
// to notify.
func (cfg *config) engineOptions(notify func(vtab.Notice)) vtab.Options {
	return vtab.Options{ProcRoot: cfg.proc, Notify: notify, WalkFDs: cfg.noBPF}
}

// parseArgs parses flags anywhere on the command line; the remaining
// words are SQL. -h writes the usage to stdout.
func parseArgs(args []string, stdout io.Writer) (*config, error) {
	cfg := &config{params: map[string]string{}}
	fs := flag.NewFlagSet("netsql", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&cfg.format, "format", "table", "output format: "+strings.Join(format.Formats, ", "))
	fs.StringVar(&cfg.proc, "proc", "", "read a /proc tree on disk instead of the live kernel")
	fs.StringVar(&cfg.file, "f", "", "run the SQL in `FILE`")
	fs.DurationVar(&cfg.timeout, "timeout", 30*time.Second, "cancel a statement that runs longer (0: never)")
	fs.BoolVar(&cfg.headers, "header", true, "print column names (table, csv; a markdown table always has them)")
	fs.Var(paramFlag(cfg.params), "p", "bind `name=value` to :name (repeatable)")
	fs.StringVar(&cfg.query, "q", "", "run the canned or user query `NAME` (-q alone lists them)")
	fs.StringVar(&cfg.queriesDir, "queries", "", "read user queries from `DIR` (default $XDG_CONFIG_HOME/netsql/queries)")
	fs.BoolVar(&cfg.failOnRows, "fail-on-rows", false, "exit 3 when the last statement returns any row")
	fs.BoolVar(&cfg.quiet, "quiet", false, quietUsage)
	fs.BoolVar(&cfg.noBPF, "no-bpf", false, noBPFUsage)
	fs.BoolVar(&cfg.allowKill, "allow-kill", false, "let DELETE FROM sockets WHERE ... close the sockets it matches (as ss -K); netsql writes nothing without it")
	fs.StringVar(&cfg.db, "db", "", "query the history database `FILE` (from netsql record) beside the live tables")
	fs.StringVar(&cfg.hostField, "host-field", "", "ndjson: add the host name to every object as field `NAME`")
	fs.StringVar(&cfg.timeField, "timestamp-field", "", "ndjson: add the run's time (RFC 3339, UTC) to every object as field `NAME`")
	fs.BoolVar(&cfg.version, "version", false, "print netsql's version, VCS revision and Go version, and exit")
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
			if err := cfg.addSQL(args[0]); err != nil {
				return nil, err
			}
			args = args[1:]
			continue
		}
		n := 1
		for n < len(args) && !looksLikeSQL(args[n]) {
			n++
		}
		if err := fs.Parse(args[:n]); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				usage(stdout, fs)
			}
			return nil, err
		}
		rest := fs.Args()
		if len(rest) > 0 {
			if err := cfg.addSQL(rest[0]); err != nil {
				return nil, err
			}
			rest = rest[1:]
		}
		args = append(append([]string(nil), rest...), args[n:]...)
	}
	if cfg.version {
		return cfg, nil
	}
	timeoutSet := false
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "timeout":
			timeoutSet = true
		case "format", "header", "fail-on-rows", "db":
			if f.Name == "format" {
				cfg.formatSet = true
			}
			cfg.layoutFlags = append(cfg.layoutFlags, "--"+f.Name)
		}
	})
	if cfg.netstat != nil && !timeoutSet {
		// netstat has no time limit: `netsql netstat -tanp` on a host
		// holding hundreds of thousands of sockets must not stop at the
		// 30 s meant for ad-hoc SQL. --timeout still bounds it if given.
		cfg.timeout = 0
	}
	if cfg.netstat != nil && len(cfg.layoutFlags) > 0 {
		return nil, fmt.Errorf("%s does not apply to netstat, which prints netstat's own text layout; for rows as csv or json, query the tables (netsql -q lists the netstat-* queries behind each view)", cfg.layoutFlags[0])
	}
	if err := format.Check(cfg.format); err != nil {
		return nil, err
	}
	if (cfg.hostField != "" || cfg.timeField != "") && cfg.format != "ndjson" {
		return nil, errors.New("--host-field and --timestamp-field need --format ndjson")
	}
	if cfg.timeout < 0 {
		return nil, fmt.Errorf("--timeout %v: want a positive duration (0: never)", cfg.timeout)
	}
	if cfg.listQueries && len(cfg.params) > 0 {
		return nil, errors.New("-p needs a query to bind: give -q NAME")
	}
	if cfg.netstat != nil && len(cfg.params) > 0 {
		return nil, errors.New("-p does not apply to netstat (give netstat's own flags)")
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
		return nil, errors.New("give one of SQL, -f FILE, -q NAME or netstat ARGS")
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

// addSQL appends a word of SQL; the first must be able to start a
// statement (see notSQL), checked before the flags after it are parsed.
func (c *config) addSQL(word string) error {
	if len(c.sql) == 0 {
		if err := notSQL(word); err != nil {
			return err
		}
	}
	c.sql = append(c.sql, word)
	return nil
}

// sqlStarts are the words an SQLite statement can start with.
var sqlStarts = map[string]bool{
	"ALTER": true, "ANALYZE": true, "ATTACH": true, "BEGIN": true, "COMMIT": true,
	"CREATE": true, "DELETE": true, "DETACH": true, "DROP": true, "END": true,
	"EXPLAIN": true, "INSERT": true, "PRAGMA": true, "REINDEX": true, "RELEASE": true,
	"REPLACE": true, "ROLLBACK": true, "SAVEPOINT": true, "SELECT": true, "UPDATE": true,
	"VACUUM": true, "VALUES": true, "WITH": true,
}

// notSQL returns a usage error when first, the first word of the SQL
// arguments, cannot start a statement: a mistyped sub-command such as
// "netsat" would otherwise reach SQLite or the flag parser and get a
// confusing message.
func notSQL(first string) error {
	text := strings.TrimSpace(first)
	word := text
	if i := strings.IndexFunc(text, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}); i >= 0 {
		word = text[:i]
	}
	if word == "" || sqlStarts[strings.ToUpper(word)] {
		return nil // starts with a comment, '(' or ';', or a statement
	}
	if strings.ContainsAny(text, " \t\n") {
		return nil // SQL with a typo: SQLite says where
	}
	msg := fmt.Sprintf("unknown command %s", first)
	if c := closestCommand(first); c != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", c)
	} else {
		msg += " (commands: netstat, export, serve, record; or give SQL)"
	}
	return errors.New(msg)
}

// closestCommand returns the sub-command nearest to word when it is close
// enough to be a typo of it (at most 2 edits), else "".
func closestCommand(word string) string {
	best, bestDist := "", 3
	for _, c := range slices.Sorted(maps.Keys(commands)) {
		if d := editDistance(strings.ToLower(word), c); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Damerau-Levenshtein distance (optimal string
// alignment) between a and b: "netsat" is one edit from "netstat".
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

func looksLikeSQL(arg string) bool {
	return strings.HasPrefix(arg, "-") && strings.ContainsAny(arg, " \t\n")
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cfg, err := parseArgs(args, stdout)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintf(stderr, "netsql: %v\n", err)
		fmt.Fprintln(stderr, "usage: netsql [flags] [SQL]   (netsql -h for help)")
		return exitUsage
	}
	if cfg.version {
		info, _ := debug.ReadBuildInfo()
		printVersion(stdout, info)
		return exitOK
	}
	if cfg.command == "top" {
		return runTop(ctx, cfg, stdout, stderr)
	}
	if cfg.command != "" {
		return runCommand(ctx, cfg, stdout, stderr)
	}
	if code := checkQueriesDir(cfg, stderr); code != exitOK {
		return code
	}
	if cfg.listQueries {
		qs, _, code := catalog(cfg, stderr)
		if code != exitOK {
			return code
		}
		listQueries(stdout, qs)
		return exitOK
	}
	var canned *queries.Query
	if cfg.query != "" {
		qs, skipped, code := catalog(cfg, stderr)
		if code != exitOK {
			return code
		}
		q, code := findQuery(qs, skipped, cfg.query, stderr)
		if code != exitOK {
			return code
		}
		if q.Format == "raw" && len(cfg.layoutFlags) > 0 {
			fmt.Fprintf(stderr, "netsql: %s does not apply to %s, which prints netstat's own text layout; %s\n",
				cfg.layoutFlags[0], q.Name, rawAlternative(q.Name))
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
		b, err := fileread.ReadFile(cfg.file, fileread.MaxScript)
		if fi, serr := os.Stat(cfg.file); errors.Is(err, fileread.ErrNotRegular) && serr == nil && fi.Mode()&os.ModeNamedPipe != 0 {
			err = fmt.Errorf("%w; pipe SQL to standard input instead", err) // -f <(cmd)
		}
		if err != nil {
			fmt.Fprintf(stderr, "netsql: %v\n", err)
			return exitError
		}
		script, fromScript = string(b), true
	case script == "" && isTerminal(stdin):
		interactive = true
	case script == "":
		// A pipe whose writer never finishes must not outlast SIGINT.
		b, err := fileread.ReadContext(ctx, func() ([]byte, error) {
			return fileread.ReadAll(stdin, "standard input", fileread.MaxScript)
		})
		if ctx.Err() != nil {
			err = errors.New("interrupted")
		}
		if err != nil {
			fmt.Fprintf(stderr, "netsql: read standard input: %v\n", err)
			return exitError
		}
		script, fromScript = string(b), true
	}

	engOpts := cfg.engineOptions(cfg.notifier(stderr))
	engOpts.AllowKill = cfg.allowKill
	eng, err := netstat.Open(engOpts)
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
		if h := signalsFrom(ctx); h != nil {
			h.leaveSIGINTToShell()
		}
		return runInteractive(eng, cfg, stdin, stdout, stderr)
	}

	if cfg.netstat != nil {
		// --timeout bounds each listing: netstat -c runs until stopped.
		return netstat.CommandTimeout(ctx, eng, cfg.netstat, cfg.timeout, stdout, stderr)
	}
	if cfg.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.timeout)
		defer cancel()
	}
	if canned != nil {
		var declared []string
		for _, p := range canned.Params {
			declared = append(declared, p.Name)
		}
		if code := checkParams(cfg.params, canned.Name, sqlrun.ParamNames(canned.SQL, declared), stderr); code != exitOK {
			return code
		}
		params := canned.Bind(cfg.params)
		if canned.Format == "raw" {
			if err := netstat.RunRaw(ctx, eng, canned, params, stdout); err != nil {
				fmt.Fprintf(stderr, "netsql: %s: %v\n", canned.Name, err)
				return exitError
			}
			return exitOK
		}
		cfg.params, script = params, canned.SQL
	}
	if canned == nil {
		if code := checkParams(cfg.params, "the SQL", sqlrun.ParamNames(script, nil), stderr); code != exitOK {
			return code
		}
	}
	opts := format.DefaultOptions
	opts.Headers = cfg.headers
	if f, ok := stdout.(*os.File); ok {
		opts.Terminal = isTerminal(f) // no raw control characters on a terminal
	}
	opts.Fields, err = ndjsonFields(cfg.hostField, cfg.timeField, time.Now())
	if err != nil {
		fmt.Fprintf(stderr, "netsql: %v\n", err)
		return exitError
	}
	r := &sqlrun.Runner{Engine: eng, Out: stdout, Format: cfg.format, Opts: opts, Params: cfg.params}
	var last sqlrun.Result
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

// viewTables names, for each built-in netstat view, the table whose rows
// it lays out as text.
var viewTables = map[string]string{
	"netstat-inet": "sockets", "netstat-unix": "sockets",
	"netstat-route": "routes", "netstat-route6": "routes",
	"netstat-interfaces": "interfaces", "netstat-interfaces-long": "interfaces",
	"netstat-groups": "multicast_groups", "netstat-statistics": "protocol_stats",
}

// rawAlternative says where the rows behind a raw view are.
func rawAlternative(query string) string {
	if t, ok := viewTables[query]; ok {
		return fmt.Sprintf("for its rows as data, query the %s table (netsql --format csv 'SELECT * FROM %s')", t, t)
	}
	return "for rows, write the query without format: raw"
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

// printVersion writes what --version prints: the module version (a tag
// for `go install ...@v1.2.3`, "(devel)" for a local build), the VCS
// revision the binary was built from and the Go toolchain, from the build
// information Go embeds in every binary.
func printVersion(w io.Writer, info *debug.BuildInfo) {
	version, goVersion := "(unknown)", runtime.Version()
	settings := map[string]string{}
	if info != nil {
		version, goVersion = info.Main.Version, info.GoVersion
		if version == "" {
			version = "(unknown)"
		}
		for _, s := range info.Settings {
			settings[s.Key] = s.Value
		}
	}
	fmt.Fprintf(w, "netsql %s\n", version)
	if rev := settings["vcs.revision"]; rev != "" {
		extra := settings["vcs.time"]
		if settings["vcs.modified"] == "true" {
			extra = strings.TrimPrefix(extra+", modified", ", ")
		}
		if extra != "" {
			rev += " (" + extra + ")"
		}
		fmt.Fprintf(w, "revision %s\n", rev)
	} else {
		fmt.Fprintln(w, "revision unknown (built without VCS information)")
	}
	fmt.Fprintf(w, "%s %s/%s\n", goVersion, runtime.GOOS, runtime.GOARCH)
}
