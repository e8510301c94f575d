package shell

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/netsql/netsql/queries/format"
	"github.com/netsql/netsql/queries/run"
	"github.com/netsql/netsql/vtab/fileread"
)

// dotLine is a parsed dot-command: `.name arg "quoted arg"`.
type dotLine struct {
	Name string   // without the dot
	Args []string // words, with quotes removed
	Rest string   // everything after the name, as typed (trimmed)
}

// parseDot parses a dot-command line. Words are separated by blanks and
// may be quoted with '...' or "..." (a doubled quote inside is one quote).
func parseDot(line string) (dotLine, error) {
	line = strings.TrimSpace(line)
	if !strings.HasPrefix(line, ".") {
		return dotLine{}, fmt.Errorf("not a dot-command: %q", line)
	}
	name, rest, _ := strings.Cut(line[1:], " ")
	if i := strings.IndexAny(name, "\t"); i >= 0 {
		name, rest = name[:i], name[i+1:]+" "+rest
	}
	d := dotLine{Name: name, Rest: strings.TrimSpace(rest)}
	args, err := splitWords(d.Rest)
	if err != nil {
		return d, fmt.Errorf(".%s: %w", name, err)
	}
	d.Args = args
	return d, nil
}

// splitWords splits on blanks, honouring single and double quotes.
func splitWords(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	in := false // inside a word
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			if in {
				words = append(words, w.String())
				w.Reset()
				in = false
			}
		case c == '\'' || c == '"':
			in = true
			j := i + 1
			for {
				if j >= len(s) {
					return nil, fmt.Errorf("unterminated %c quote", c)
				}
				if s[j] == c {
					if j+1 < len(s) && s[j+1] == c {
						w.WriteByte(c)
						j += 2
						continue
					}
					break
				}
				w.WriteByte(s[j])
				j++
			}
			i = j
		default:
			in = true
			w.WriteByte(c)
		}
	}
	if in {
		words = append(words, w.String())
	}
	return words, nil
}

// dotCommand is one dot-command and its help.
type dotCommand struct {
	name  string
	usage string // arguments, for .help
	help  string
	run   func(s *session, ctx context.Context, d dotLine) error
}

// dotCommands lists the shell's dot-commands in the order .help shows them.
func dotCommands() []dotCommand {
	return []dotCommand{
		{"tables", "[PATTERN]", "list the tables (and your views) PATTERN matches (SQL LIKE) with what each holds", (*session).dotTables},
		{"schema", "[PATTERN]", "show the columns of the tables PATTERN matches (SQL LIKE), each with its description", (*session).dotSchema},
		{"mode", "[FORMAT] [TABLE]", "output format: " + strings.Join(format.Formats, ", ") + " (insert: INSERT INTO TABLE)", (*session).dotMode},
		{"headers", "on|off", "show column names", (*session).dotHeaders},
		{"width", "[N ...]", "column widths for column and box output; negative right-aligns, 0 fits (no N: all fit)", (*session).dotWidth},
		{"separator", "COL [ROW]", `separators for list output (default "|" and "\n"; \t, \n, \r, \\ are read)`, (*session).dotSeparator},
		{"show", "", "show the current settings", (*session).dotShow},
		{"timer", "on|off", "print each statement's wall time", (*session).dotTimer},
		{"fit", "on|off", "cut table lines to the terminal width, marking cuts with " + format.Ellipsis + " (default on)", (*session).dotFit},
		{"nullvalue", "TEXT", "how NULL shows in text output (default NULL)", (*session).dotNull},
		{"queries", "", "list the canned queries, built-in and yours", (*session).dotQueries},
		{"run", "NAME [name=value...]", "run a canned query, binding its parameters", (*session).dotRun},
		{"read", "FILE", "run the statements and dot-commands in FILE", (*session).dotRead},
		{"output", "[FILE]", "send results to FILE (no FILE: back to the terminal)", (*session).dotOutput},
		{"once", "FILE", "send the next command's results to FILE", (*session).dotOnce},
		{"parameter", "set NAME VALUE|unset NAME|list|clear", "bind :NAME (and @NAME, $NAME) in statements; numbers bind as numbers", (*session).dotParam},
		{"watch", "SECONDS STATEMENT", "re-run a statement (or dot-command) every SECONDS, redrawing, until Ctrl-C", (*session).dotWatch},
		{"netstat", "[FLAGS]", "print a netstat view, e.g. .netstat -tanp", (*session).dotNetstat},
		{"allow", "kill|none", "kill: DELETE FROM sockets WHERE ... closes the sockets it matches, as ss -K (on a terminal the first one lists them and asks); none: read-only again", (*session).dotAllow},
		{"help", "[COMMAND]", "show this help", (*session).dotHelp},
		{"quit", "", "leave the shell (so does Ctrl-D)", (*session).dotQuit},
	}
}

// dotNames are the dot-command names, for completion.
func dotNames() []string {
	var names []string
	for _, c := range dotCommands() {
		names = append(names, c.name)
	}
	return append(names, "exit")
}

// findDot returns the command a name means (see lookupDot).
func findDot(name string) (dotCommand, bool) {
	c, err := lookupDot(name)
	return c, err == nil
}

// sqlite3Prefers are the commands sqlite3 picks for a prefix that others
// share, because it tests them first: .h and .he are .headers (not
// .help), .q is .quit (not .queries).
var sqlite3Prefers = []string{"headers", "quit"}

// lookupDot returns the command a name means: its full name, "exit", or
// a prefix only one command has (or that sqlite3 gives to one of them).
// A prefix several commands share is an error that lists them.
func lookupDot(name string) (dotCommand, error) {
	if name == "exit" {
		name = "quit"
	}
	var cands []dotCommand
	for _, c := range dotCommands() {
		if c.name == name {
			return c, nil
		}
		if name != "" && strings.HasPrefix(c.name, name) {
			cands = append(cands, c)
		}
	}
	switch len(cands) {
	case 0:
		return dotCommand{}, fmt.Errorf("unknown command .%s (.help lists them)", name)
	case 1:
		return cands[0], nil
	}
	names := make([]string, len(cands))
	for i, c := range cands {
		for _, p := range sqlite3Prefers {
			if c.name == p {
				return c, nil
			}
		}
		names[i] = "." + c.name
	}
	return dotCommand{}, fmt.Errorf("ambiguous command .%s: %s", name, strings.Join(names, ", "))
}

// dot runs one dot-command line.
func (s *session) dot(ctx context.Context, line string) error {
	d, err := parseDot(line)
	if err != nil {
		return err
	}
	c, err := lookupDot(d.Name)
	if err != nil {
		return err
	}
	d.Name = c.name
	return c.run(s, ctx, d)
}

func usageError(name string) error {
	c, _ := findDot(name)
	return fmt.Errorf("usage: .%s %s", c.name, c.usage)
}

func (s *session) dotHelp(_ context.Context, d dotLine) error {
	cmds := dotCommands()
	if len(d.Args) > 0 {
		c, err := lookupDot(strings.TrimPrefix(d.Args[0], "."))
		if err != nil {
			return err
		}
		cmds = []dotCommand{c}
	}
	const width = 26 // longer usages put their help on the next line
	var b strings.Builder
	for _, c := range cmds {
		use := strings.TrimSpace(c.name + " " + c.usage)
		if utf8.RuneCountInString(use) > width {
			fmt.Fprintf(&b, ".%s\n %-*s  %s\n", use, width, "", c.help)
			continue
		}
		fmt.Fprintf(&b, ".%-*s  %s\n", width, use, c.help)
	}
	if len(d.Args) == 0 {
		b.WriteString("\nEnd SQL statements with \";\" (they may span lines). Commands may be shortened to a\nunique prefix (.sch, .h on). Tab completes; Ctrl-R searches history; Ctrl-C cancels\na running statement or the line being typed; Ctrl-D exits.\n")
	}
	return s.write(b.String())
}

// write sends command output to the current destination.
func (s *session) write(text string) error {
	if _, err := io.WriteString(s.dest(), text); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// fitLine cuts a line to the terminal width when output goes there.
func (s *session) fitLine(line string) string {
	if !s.toTerminal() || !s.fit {
		return line
	}
	return format.Fit(line, termWidth(s.outFD))
}

func (s *session) dotTables(ctx context.Context, d dotLine) error {
	if len(d.Args) > 1 {
		return usageError("tables")
	}
	type entry struct{ name, doc string }
	var list []entry
	for _, sc := range s.eng.Schemas() {
		list = append(list, entry{sc.Name, sc.Doc})
	}
	user, err := s.userObjects(ctx)
	if err != nil {
		return err
	}
	for _, u := range user {
		list = append(list, entry{u.name, "(your " + u.kind + ")"})
	}
	width := 0
	var shown []entry
	for _, e := range list {
		if len(d.Args) == 1 && !likeMatch(d.Args[0], e.name) {
			continue
		}
		shown = append(shown, e)
		width = max(width, utf8.RuneCountInString(e.name))
	}
	var b strings.Builder
	for _, e := range shown {
		b.WriteString(s.fitLine(fmt.Sprintf("%-*s  %s", width, e.name, e.doc)) + "\n")
	}
	return s.write(b.String())
}

// likeMatch matches a .tables or .schema pattern as sqlite3 does: SQL
// LIKE, "%" any run of characters, "_" any one, ASCII letters in either
// case; a plain word matches only that name.
func likeMatch(pattern, name string) bool {
	var match func(p, n string) bool
	match = func(p, n string) bool {
		for p != "" {
			switch p[0] {
			case '%':
				for i := 0; i <= len(n); i++ {
					if match(p[1:], n[i:]) {
						return true
					}
				}
				return false
			case '_':
				if n == "" {
					return false
				}
				_, size := utf8.DecodeRuneInString(n)
				p, n = p[1:], n[size:]
			default:
				if n == "" || !strings.EqualFold(p[:1], n[:1]) {
					return false
				}
				p, n = p[1:], n[1:]
			}
		}
		return n == ""
	}
	return match(pattern, name)
}

type userObject struct{ name, kind, sql string }

// userObjects lists the tables and views the user created in this session.
func (s *session) userObjects(ctx context.Context) ([]userObject, error) {
	rows, err := s.eng.QueryContext(ctx, `SELECT name, type, coalesce(sql, '') FROM sqlite_temp_master
		WHERE type IN ('table', 'view') AND coalesce(sql, '') NOT LIKE 'CREATE VIRTUAL TABLE%'
		UNION ALL SELECT name, type, coalesce(sql, '') FROM main.sqlite_master WHERE type IN ('table', 'view')
		ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("list your tables: %w", run.CleanError(err))
	}
	defer rows.Close()
	var out []userObject
	for rows.Next() {
		var o userObject
		if err := rows.Scan(&o.name, &o.kind, &o.sql); err != nil {
			return nil, fmt.Errorf("list your tables: %w", run.CleanError(err))
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list your tables: %w", run.CleanError(err))
	}
	return out, nil
}

func (s *session) dotSchema(ctx context.Context, d dotLine) error {
	if len(d.Args) > 1 {
		return usageError("schema")
	}
	var b strings.Builder
	found := false
	for _, sc := range s.eng.Schemas() {
		if len(d.Args) == 1 && !likeMatch(d.Args[0], sc.Name) {
			continue
		}
		found = true
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "-- %s\nCREATE TABLE %s(\n", sc.Doc, sc.Name)
		nameW, typeW := 0, 0
		for _, c := range sc.Columns {
			nameW = max(nameW, len(c.Name))
			typ := c.Type
			if c.Hidden {
				typ += " HIDDEN"
			}
			typeW = max(typeW, len(typ)+1)
		}
		for i, c := range sc.Columns {
			typ := c.Type
			if c.Hidden {
				typ += " HIDDEN"
			}
			if i < len(sc.Columns)-1 {
				typ += ","
			}
			doc := c.Doc
			if len(c.Push) > 0 {
				doc += " [filtered in the kernel]"
			}
			fmt.Fprintf(&b, "  %-*s %-*s -- %s\n", nameW, c.Name, typeW, typ, doc)
		}
		b.WriteString(");\n")
	}
	user, err := s.userObjects(ctx)
	if err != nil {
		return err
	}
	for _, u := range user {
		if len(d.Args) == 1 && !likeMatch(d.Args[0], u.name) {
			continue
		}
		found = true
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		b.WriteString(strings.TrimSuffix(u.sql, ";") + ";\n")
	}
	if !found {
		return fmt.Errorf("no such table: %s (.tables lists them)", d.Args[0])
	}
	return s.write(b.String())
}

func (s *session) dotMode(_ context.Context, d dotLine) error {
	switch {
	case len(d.Args) == 0:
		return s.write("current output mode: " + s.modeText() + "\n")
	case len(d.Args) == 2 && d.Args[0] != "insert", len(d.Args) > 2:
		return usageError("mode")
	}
	if err := format.Check(d.Args[0]); err != nil {
		return err
	}
	s.format = d.Args[0]
	if s.format == "insert" {
		s.opts.Table = ""
		if len(d.Args) == 2 {
			s.opts.Table = d.Args[1]
		}
	}
	return nil
}

// modeText is the output mode as .mode and .show print it.
func (s *session) modeText() string {
	if s.format == "insert" && s.opts.Table != "" {
		return s.format + " " + s.opts.Table
	}
	return s.format
}

func (s *session) dotWidth(_ context.Context, d dotLine) error {
	widths := make([]int, len(d.Args))
	for i, a := range d.Args {
		n, err := strconv.Atoi(a)
		if err != nil {
			return fmt.Errorf(".width: %q is not a number of characters", a)
		}
		widths[i] = n
	}
	s.opts.Widths = widths
	return nil
}

func (s *session) dotSeparator(_ context.Context, d dotLine) error {
	if len(d.Args) < 1 || len(d.Args) > 2 {
		return usageError("separator")
	}
	s.opts.Separator = resolveBackslashes(d.Args[0])
	if len(d.Args) == 2 {
		s.opts.RowSeparator = resolveBackslashes(d.Args[1])
	}
	return nil
}

// resolveBackslashes reads the escapes sqlite3 reads in .separator:
// \t, \n, \r, \\, \" and \'.
func resolveBackslashes(s string) string {
	return strings.NewReplacer(`\t`, "\t", `\n`, "\n", `\r`, "\r", `\\`, `\`, `\"`, `"`, `\'`, "'").Replace(s)
}

func (s *session) dotShow(_ context.Context, _ dotLine) error {
	onOff := map[bool]string{true: "on", false: "off"}
	col, row := s.opts.Separator, s.opts.RowSeparator
	if col == "" {
		col = "|"
	}
	if row == "" {
		row = "\n"
	}
	output := "stdout"
	if s.outputFile != nil {
		output = s.outputFile.Name()
	}
	var widths strings.Builder
	for _, w := range s.opts.Widths {
		fmt.Fprintf(&widths, "%d ", w)
	}
	var b strings.Builder
	for _, kv := range [][2]string{
		{"headers", onOff[s.opts.Headers]},
		{"mode", s.modeText()},
		{"nullvalue", strconv.Quote(s.opts.Null)},
		{"output", output},
		{"colseparator", strconv.Quote(col)},
		{"rowseparator", strconv.Quote(row)},
		{"width", widths.String()},
		{"timer", onOff[s.timer]},
		{"fit", onOff[s.fit]},
	} {
		fmt.Fprintf(&b, "%12s: %s\n", kv[0], kv[1])
	}
	return s.write(b.String())
}

// parseOnOff reads on|off (and yes/no, true/false, 1/0).
func parseOnOff(name string, args []string) (bool, error) {
	if len(args) == 1 {
		switch strings.ToLower(args[0]) {
		case "on", "yes", "true", "1":
			return true, nil
		case "off", "no", "false", "0":
			return false, nil
		}
	}
	return false, usageError(name)
}

func (s *session) dotHeaders(_ context.Context, d dotLine) (err error) {
	s.opts.Headers, err = onOff(d, s.opts.Headers)
	return err
}

func (s *session) dotTimer(_ context.Context, d dotLine) (err error) {
	s.timer, err = onOff(d, s.timer)
	return err
}

func (s *session) dotFit(_ context.Context, d dotLine) (err error) {
	s.fit, err = onOff(d, s.fit)
	return err
}

// onOff parses d's on|off argument, keeping cur on error.
func onOff(d dotLine, cur bool) (bool, error) {
	v, err := parseOnOff(d.Name, d.Args)
	if err != nil {
		return cur, err
	}
	return v, nil
}

func (s *session) dotNull(_ context.Context, d dotLine) error {
	if len(d.Args) != 1 {
		return usageError("nullvalue")
	}
	s.opts.Null = d.Args[0]
	return nil
}

func (s *session) dotQueries(_ context.Context, d dotLine) error {
	qs, err := s.queries()
	if err != nil {
		s.report("", err) // list what could be read
	}
	if len(qs) == 0 {
		return s.write("no canned queries (add your own as " + s.queryDirHint() + "/NAME.sql)\n")
	}
	width := 0
	for _, q := range qs {
		width = max(width, utf8.RuneCountInString(q.Name))
	}
	var b strings.Builder
	for _, q := range qs {
		desc := q.Description
		if q.User {
			desc = strings.TrimSpace(desc + " (" + origin(q) + ")")
		}
		b.WriteString(s.fitLine(fmt.Sprintf("%-*s  %s", width, q.Name, desc)) + "\n")
	}
	return s.write(b.String())
}

func (s *session) queryDirHint() string {
	if dir := s.userQueryDir(); dir != "" {
		return dir
	}
	return "$XDG_CONFIG_HOME/netsql/queries"
}

func (s *session) dotRun(ctx context.Context, d dotLine) error {
	if len(d.Args) == 0 {
		return usageError("run")
	}
	qs, err := s.queries()
	for _, q := range qs {
		if q.Name != d.Args[0] {
			continue
		}
		// Defaults, then .param, then name=value on the .run line.
		params := q.Defaults()
		maps.Copy(params, s.params)
		takes := run.ParamNames(q.SQL, slices.Sorted(maps.Keys(q.Defaults())))
		for _, a := range d.Args[1:] {
			name, value, ok := strings.Cut(a, "=")
			name = strings.TrimLeft(name, ":@$")
			if !ok || !run.ValidParamName(name) {
				return fmt.Errorf(".run %s: want name=value, got %q", q.Name, a)
			}
			if err := run.CheckParamNames(q.Name, []string{name}, takes); err != nil {
				return fmt.Errorf(".run %s: %w", q.Name, err)
			}
			params[name] = value
		}
		saved, savedFormat := s.params, s.format
		s.params = params
		if q.Format != "" {
			s.format = q.Format // a raw view prints as it lays itself out
		}
		defer func() { s.params, s.format = saved, savedFormat }()
		return s.runSQL(ctx, q.SQL)
	}
	if err != nil {
		return err
	}
	return fmt.Errorf("no canned query named %q (.queries lists them)", d.Args[0])
}

func (s *session) dotRead(ctx context.Context, d dotLine) error {
	if len(d.Args) != 1 {
		return usageError("read")
	}
	return s.readFile(ctx, d.Args[0])
}

// maxReadDepth bounds .read files that read each other.
const maxReadDepth = 16

// readFile runs a file of statements and dot-commands, as init.sql and
// .read do. Errors are reported with the file and line and the file goes
// on; Ctrl-C stops it.
func (s *session) readFile(ctx context.Context, path string) error {
	if s.depth >= maxReadDepth {
		return fmt.Errorf(".read %s: files nested more than %d deep", path, maxReadDepth)
	}
	b, err := fileread.ReadFile(path, fileread.MaxScript)
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	s.depth++
	defer func() { s.depth-- }()
	return s.runChunks(ctx, path+":", string(b), false)
}

// runChunks runs a script's dot-commands and statements in order. An
// error is reported with where (a file name and colon, or "line ") and the
// line, and the script goes on, unless stop is set: then the first error
// ends it and is returned. Ctrl-C and .quit end it.
func (s *session) runChunks(ctx context.Context, where, script string, stop bool) error {
	for _, c := range scriptChunks(script) {
		if ctx.Err() != nil {
			return errInterrupted
		}
		var err error
		if c.dot {
			err = s.dot(ctx, c.text)
		} else {
			err = s.runSQL(ctx, c.text)
		}
		if errors.Is(err, errInterrupted) {
			return err
		}
		if err != nil && stop {
			return fmt.Errorf("%s%d: %w", where, c.line, run.CleanError(err))
		}
		s.report(fmt.Sprintf("%s%d", where, c.line), err)
		if s.quit {
			return nil
		}
	}
	return nil
}

// scriptChunk is one dot-command line or one run of SQL lines that ends a
// statement (or the script) in a script.
type scriptChunk struct {
	line int // where it starts, from 1
	dot  bool
	text string
}

// scriptChunks cuts a script as the shell reads it: a line that starts
// with "." outside a statement is a dot-command; other lines gather until
// they end a statement. Trailing SQL without a semicolon is a last chunk.
func scriptChunks(script string) []scriptChunk {
	var out []scriptChunk
	var pending strings.Builder
	start := 0
	for i, line := range strings.Split(script, "\n") {
		if pending.Len() == 0 && strings.HasPrefix(strings.TrimSpace(line), ".") {
			out = append(out, scriptChunk{line: i + 1, dot: true, text: line})
			continue
		}
		if pending.Len() == 0 {
			if strings.TrimSpace(line) == "" {
				continue
			}
			start = i + 1
		}
		pending.WriteString(line + "\n")
		switch {
		case run.Complete(pending.String()):
			out = append(out, scriptChunk{line: start, text: pending.String()})
			pending.Reset()
		case run.OnlyComments(pending.String()):
			pending.Reset() // a comment line does not start a statement
		}
	}
	if !run.OnlyComments(pending.String()) {
		out = append(out, scriptChunk{line: start, text: pending.String()})
	}
	return out
}

// HasDotCommands reports whether a script holds dot-commands (lines that
// start with "." outside a statement), which RunScript runs.
func HasDotCommands(script string) bool {
	for _, c := range scriptChunks(script) {
		if c.dot {
			return true
		}
	}
	return false
}

// RunScript runs a script of statements and dot-commands the way the
// shell reads them from a file (netsql -f FILE, netsql < FILE, as sqlite3
// does), printing results to cfg.Out as they come. name says where the
// script comes from in errors ("" for standard input: "line N"). The
// first error stops the script and is returned with its line; last is the
// last statement's result.
func RunScript(ctx context.Context, cfg ShellConfig, name, script string) (last run.Result, err error) {
	if cfg.Engine == nil {
		return run.Result{}, errors.New("shell: no engine")
	}
	s := newSession(cfg)
	s.stream = true
	defer s.closeOutput()
	where := "line "
	if name != "" {
		where = name + ":"
	}
	err = s.runChunks(ctx, where, script, true)
	if errors.Is(err, errInterrupted) {
		err = errors.New("interrupted")
	}
	return s.last, err
}

func (s *session) dotOutput(_ context.Context, d dotLine) error {
	switch {
	case len(d.Args) == 0 || len(d.Args) == 1 && (d.Args[0] == "-" || d.Args[0] == "stdout"):
		s.closeOutput()
		return nil
	case len(d.Args) == 1:
		return s.openOutput(d.Args[0], false)
	}
	return usageError("output")
}

func (s *session) dotOnce(_ context.Context, d dotLine) error {
	if len(d.Args) != 1 {
		return usageError("once")
	}
	return s.openOutput(d.Args[0], true)
}

func (s *session) openOutput(path string, once bool) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("output: %w", err)
	}
	s.closeOutput()
	s.output, s.outputFile, s.once = f, f, once
	return nil
}

func (s *session) dotParam(_ context.Context, d dotLine) error {
	if len(d.Args) == 0 {
		return usageError("parameter")
	}
	switch d.Args[0] {
	case "set":
		if len(d.Args) < 3 {
			return usageError("parameter")
		}
		name := strings.TrimLeft(d.Args[1], ":@$")
		if !run.ValidParamName(name) {
			return fmt.Errorf(".parameter set: %q is not a parameter name", d.Args[1])
		}
		s.params[name] = strings.Join(d.Args[2:], " ")
	case "unset":
		if len(d.Args) != 2 {
			return usageError("parameter")
		}
		delete(s.params, strings.TrimLeft(d.Args[1], ":@$"))
	case "list":
		names := make([]string, 0, len(s.params))
		for k := range s.params {
			names = append(names, k)
		}
		sort.Strings(names)
		var b strings.Builder
		for _, k := range names {
			fmt.Fprintf(&b, ":%s = %s\n", k, sqlLiteral(run.ParamValue(s.params[k])))
		}
		return s.write(b.String())
	case "clear":
		clear(s.params)
	default:
		return usageError("parameter")
	}
	return nil
}

// sqlLiteral shows a parameter's value as SQL would read it.
func sqlLiteral(v any) string {
	if str, ok := v.(string); ok {
		return "'" + strings.ReplaceAll(str, "'", "''") + "'"
	}
	return format.Text(v, "NULL")
}

// Screen control for .watch.
const clearScreen = "\x1b[H\x1b[2J"

func (s *session) dotWatch(ctx context.Context, d dotLine) error {
	secText, stmt, _ := strings.Cut(d.Rest, " ")
	stmt = strings.TrimSpace(stmt)
	secs, err := strconv.ParseFloat(secText, 64)
	if err != nil || secs < 0.1 || secs > 86400 || stmt == "" {
		return fmt.Errorf("usage: .watch SECONDS STATEMENT (SECONDS from 0.1, e.g. .watch 2 SELECT state, count(*) FROM sockets GROUP BY 1)")
	}
	if s.watching {
		return errors.New(".watch cannot watch .watch")
	}
	s.watching = true
	defer func() { s.watching = false }()
	interval := time.Duration(secs * float64(time.Second))
	redraw := s.toTerminal()
	for round := 0; ; round++ {
		var buf bytes.Buffer
		s.capture = &buf
		if strings.HasPrefix(stmt, ".") {
			err = s.dot(ctx, stmt)
		} else {
			err = s.runSQL(ctx, stmt)
		}
		s.capture = nil
		if ctx.Err() != nil {
			return s.watchStopped()
		}
		if err != nil && round == 0 {
			return err // a mistake in the statement: no point repeating it
		}
		var screen bytes.Buffer
		if redraw {
			screen.WriteString(clearScreen)
		}
		screen.WriteString(s.fitLine(fmt.Sprintf("Every %gs: %s", secs, OneLine(stmt))) + "\n")
		screen.WriteString(time.Now().Format("2006-01-02 15:04:05") + "   (Ctrl-C stops)\n\n")
		screen.Write(buf.Bytes())
		if err != nil {
			fmt.Fprintf(&screen, "Error: %v\n", run.CleanError(err))
		}
		if _, err := s.dest().Write(screen.Bytes()); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		select {
		case <-ctx.Done():
			return s.watchStopped()
		case <-time.After(interval):
		}
	}
}

// watchStopped ends .watch after Ctrl-C: a fresh line under the "^C" the
// terminal echoed, and no error.
func (s *session) watchStopped() error {
	fmt.Fprintln(s.out)
	return nil
}

func (s *session) dotNetstat(ctx context.Context, d dotLine) error {
	if s.cfg.Netstat == nil {
		return errors.New(".netstat is not available in this build")
	}
	var buf bytes.Buffer
	if err := s.cfg.Netstat(ctx, d.Args, &buf); err != nil {
		if ctx.Err() != nil {
			return errInterrupted
		}
		return fmt.Errorf("netstat: %w", err)
	}
	return s.write(buf.String())
}

func (s *session) dotQuit(context.Context, dotLine) error {
	s.quit = true
	return nil
}

// dotAllow turns on (.allow kill) or off (.allow none) the one write
// netsql knows, closing sockets with DELETE FROM sockets.
func (s *session) dotAllow(_ context.Context, d dotLine) error {
	if len(d.Args) != 1 {
		return usageError("allow")
	}
	switch d.Args[0] {
	case "kill":
		s.eng.SetAllowKill(true)
		s.killAsk = s.ask != nil
		fmt.Fprintln(s.errw, "DELETE FROM sockets WHERE ... now closes the sockets it matches (.allow none: read-only again)")
	case "none":
		s.eng.SetAllowKill(false)
		s.killAsk = false
	default:
		return usageError("allow")
	}
	return nil
}

// confirmKill, before the first DELETE after .allow kill that would close
// sockets, lists the sockets it matches and asks; anything but y or yes
// runs nothing. The DELETE then reads the kernel again: it closes what
// matches when it runs.
func (s *session) confirmKill(ctx context.Context, st run.Statement) error {
	if !s.killAsk || s.ask == nil {
		return nil
	}
	args, err := run.Bind(st.Params, s.params)
	if err != nil {
		return nil // the statement's own run reports it
	}
	matched, isKill, err := s.eng.PreviewKill(ctx, st.SQL, args...)
	if err != nil {
		return run.CleanError(err)
	}
	if !isKill || len(matched) == 0 {
		return nil
	}
	for _, m := range matched {
		fmt.Fprintf(s.errw, "  %s\n", format.TerminalSafe(m))
	}
	answer, err := s.ask(fmt.Sprintf("close these %d sockets? [y/N] ", len(matched)))
	if err != nil {
		return errors.New("not confirmed: nothing was closed")
	}
	switch strings.ToLower(strings.TrimSpace(answer)) {
	case "y", "yes":
		s.killAsk = false
		return nil
	}
	return errors.New("not confirmed: nothing was closed")
}
