package shell

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/netsql/netsql/queries/format"
	"github.com/netsql/netsql/queries/run"
	"github.com/netsql/netsql/vtab"
)

// Prompts the interactive shell shows.
const (
	Prompt         = "netsql> "
	ContinuePrompt = "   ...> "
)

// NetstatFunc prints a netstat view for net-tools flags such as "-tan".
type NetstatFunc func(ctx context.Context, args []string, out io.Writer) error

// ShellConfig is what RunShell needs. Only Engine is required.
type ShellConfig struct {
	Engine *vtab.Engine
	// In, Out and Err are the shell's streams (os.Stdin, os.Stdout and
	// os.Stderr when nil). When In is a terminal the shell edits lines with
	// readline, keeps history and completes on Tab; otherwise it reads
	// lines silently, as a script.
	In       io.Reader
	Out, Err io.Writer
	// Format, Opts and Params start the shell as one-shot mode's flags
	// say; .mode, .headers and .param change them. An empty Format is
	// "table"; a zero Opts is DefaultOptions.
	Format string
	Opts   format.Options
	Params map[string]string
	// Timeout cancels a statement that runs longer (0: never).
	Timeout time.Duration
	// Queries lists the built-in canned queries for .run and .queries
	// (nil: only the user's own).
	Queries QueryList
	// Netstat prints the netstat views for .netstat (nil: unavailable).
	Netstat NetstatFunc
	// Env reads the environment (os.Getenv when nil): NO_COLOR,
	// NETSQL_HISTORY, XDG_STATE_HOME, XDG_CONFIG_HOME, HOME.
	Env Env
	// HistoryFile overrides HistoryPath(Env); "-" keeps no history file.
	HistoryFile string
	// ConfigDir overrides ConfigDir(Env), where init.sql and queries/ live;
	// "-" reads neither.
	ConfigDir string
	// QueryDir overrides where the user's own queries are read from
	// (ConfigDir/queries when empty): netsql's --queries DIR.
	QueryDir string
	// HistoryLimit bounds the history (DefaultHistoryLimit when 0).
	HistoryLimit int
	// Interrupts delivers Ctrl-C while a statement runs (the terminal is
	// not in raw mode then, so Ctrl-C is a SIGINT). Nil: the shell listens
	// for os.Interrupt itself for as long as it runs.
	Interrupts <-chan os.Signal
}

// RunShell runs the interactive shell until Ctrl-D, .quit, the end of
// input or ctx ends. Errors in statements and dot-commands are printed
// and the shell goes on; the returned error is for failures of the shell
// itself (the terminal, the engine missing).
//
// ctx must not be cancelled by SIGINT: the shell takes Ctrl-C to cancel
// the running statement or the line being typed.
func RunShell(ctx context.Context, cfg ShellConfig) error {
	if cfg.Engine == nil {
		return errors.New("shell: no engine")
	}
	s := newSession(cfg)
	defer s.closeOutput()

	interrupts := cfg.Interrupts
	if interrupts == nil {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, os.Interrupt)
		defer signal.Stop(ch)
		interrupts = ch
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case <-interrupts:
				s.intr.interrupt()
			case <-done:
				return
			}
		}
	}()

	inFile, _ := s.in.(*os.File)
	inFD, interactive := terminalFD(inFile)
	var lr lineReader
	if interactive {
		echo, echoFD := s.out, s.outFD
		if !s.outTTY {
			echo, echoFD = s.errw, -1
		}
		comp := &completer{
			schemas: s.eng.Schemas(),
			dots:    dotNames(),
			queries: s.queryNames,
			pending: func() string { return s.pending.String() },
		}
		rl, err := newReadline(inFile, inFD, echo, echoFD, s.histLimit, comp)
		if err != nil {
			return fmt.Errorf("shell: %w", err)
		}
		lr = rl
		s.openHistory(lr)
		s.ask = rl.ReadLine
	} else {
		lr = &plainReader{r: bufio.NewReader(s.in)}
	}
	defer lr.Close()
	go func() { // SIGTERM and the like end the shell even at the prompt
		select {
		case <-ctx.Done():
			lr.Close()
		case <-done:
		}
	}()

	if interactive {
		fmt.Fprintf(s.errw, "netsql shell: end statements with \";\", .help lists commands, Ctrl-D exits.\n")
	}
	s.runInit(ctx)
	return s.loop(ctx, lr, interactive)
}

// loop reads and runs lines until the input ends.
func (s *session) loop(ctx context.Context, lr lineReader, interactive bool) error {
	for !s.quit {
		if ctx.Err() != nil {
			return nil
		}
		prompt := Prompt
		if s.pending.Len() > 0 {
			prompt = ContinuePrompt
		}
		if !interactive {
			prompt = ""
		}
		line, err := lr.ReadLine(prompt)
		switch {
		case errors.Is(err, errInterrupt):
			s.pending.Reset() // Ctrl-C drops the statement being typed
			s.eofWarned = false
			continue
		case errors.Is(err, io.EOF):
			if interactive && !s.eofWarned && !run.OnlyComments(s.pending.String()) {
				// Never drop a statement silently: say so, keep it, and
				// leave on a second Ctrl-D.
				s.eofWarned = true
				fmt.Fprintf(s.errw, "netsql: unfinished statement not run: %s\n(end it with \";\" to run it, Ctrl-C drops it, Ctrl-D again leaves)\n", OneLine(s.pending.String()))
				continue
			}
			return s.endOfInput(ctx, interactive)
		case err != nil:
			return fmt.Errorf("shell: read input: %w", err)
		}
		s.eofWarned = false
		entry, isDot := "", false
		if s.pending.Len() == 0 && strings.HasPrefix(strings.TrimSpace(line), ".") {
			entry, isDot = strings.TrimSpace(line), true
		} else {
			s.pending.WriteString(line + "\n")
			if !run.Complete(s.pending.String()) {
				if run.OnlyComments(s.pending.String()) {
					s.pending.Reset()
				}
				continue
			}
			entry = OneLine(s.pending.String())
		}
		if interactive {
			s.remember(lr, entry)
		}
		cctx, end := s.intr.begin(ctx)
		if isDot {
			err = s.dot(cctx, line)
		} else {
			script := s.pending.String()
			s.pending.Reset()
			err = s.runSQL(cctx, script)
		}
		end()
		s.report("", err)
		if s.onceUsed {
			s.endOnce() // .once applies to the next command that prints
		}
	}
	return nil
}

// endOfInput ends the shell at a second Ctrl-D or the end of piped input.
// From a pipe an unfinished last statement runs, as in sqlite3 and in
// one-shot mode, rather than being dropped.
func (s *session) endOfInput(ctx context.Context, interactive bool) error {
	if interactive || run.OnlyComments(s.pending.String()) {
		return nil
	}
	script := s.pending.String()
	s.pending.Reset()
	cctx, end := s.intr.begin(ctx)
	defer end()
	s.report("", s.runSQL(cctx, script))
	return nil
}

// session is one shell's state.
type session struct {
	eng       *vtab.Engine
	cfg       ShellConfig
	in        io.Reader
	out       io.Writer // the terminal (or Out)
	outFD     int
	outTTY    bool
	errw      io.Writer
	color     bool
	format    string
	opts      format.Options
	params    map[string]string
	timer     bool
	fit       bool
	quit      bool
	depth     int // nesting of .read
	watching  bool
	stream    bool       // RunScript: results go out as they come, not held
	last      run.Result // the last statement's result
	eofWarned bool       // Ctrl-D warned about an unfinished statement

	pending strings.Builder // lines of an unfinished statement
	intr    interrupter

	output     io.Writer // .output / .once destination; nil: out
	outputFile *os.File
	once       bool
	onceUsed   bool      // the .once file got output
	capture    io.Writer // .watch collects a round's output here

	hist      *history
	histLimit int

	// ask reads the answer to a question on the terminal; nil when the
	// shell reads a script. killAsk is true until the first DELETE that
	// closes sockets after .allow kill was confirmed (see confirmKill).
	ask     func(prompt string) (string, error)
	killAsk bool
}

func newSession(cfg ShellConfig) *session {
	s := &session{eng: cfg.Engine, cfg: cfg, in: cfg.In, out: cfg.Out, errw: cfg.Err,
		format: cfg.Format, opts: cfg.Opts, params: map[string]string{}, fit: true,
		histLimit: cfg.HistoryLimit}
	if s.in == nil {
		s.in = os.Stdin
	}
	if s.out == nil {
		s.out = os.Stdout
	}
	if s.errw == nil {
		s.errw = os.Stderr
	}
	if s.format == "" {
		s.format = "table"
	}
	if reflect.ValueOf(s.opts).IsZero() {
		s.opts = format.DefaultOptions
	}
	if s.histLimit <= 0 {
		s.histLimit = DefaultHistoryLimit
	}
	for k, v := range cfg.Params {
		s.params[k] = v
	}
	s.outFD, s.outTTY = terminalFD(s.out)
	s.color = s.outTTY && cfg.Env.get("NO_COLOR") == "" && cfg.Env.get("TERM") != "dumb"
	return s
}

// openHistory loads the history file into the line editor.
func (s *session) openHistory(lr lineReader) {
	path := s.cfg.HistoryFile
	if path == "" {
		path = HistoryPath(s.cfg.Env)
	}
	if path == "-" {
		path = ""
	}
	h, err := openHistory(path, s.histLimit)
	if err != nil {
		fmt.Fprintf(s.errw, "netsql: %v (history is not saved)\n", err)
		h.path = ""
	}
	s.hist = h
	lr.SetHistory(h.entries)
}

// remember adds an entry to the history.
func (s *session) remember(lr lineReader, entry string) {
	if s.hist == nil {
		return
	}
	moved, err := s.hist.add(entry)
	if err != nil {
		fmt.Fprintf(s.errw, "netsql: %v (history is not saved)\n", err)
		s.hist.path = ""
	}
	if moved {
		lr.SetHistory(s.hist.entries)
	} else {
		lr.AddHistory(entry)
	}
}

// configDir is where init.sql and queries/ live, or "".
func (s *session) configDir() string {
	switch s.cfg.ConfigDir {
	case "-":
		return ""
	case "":
		return ConfigDir(s.cfg.Env)
	}
	return s.cfg.ConfigDir
}

// runInit runs init.sql from the configuration directory when it exists.
func (s *session) runInit(ctx context.Context) {
	dir := s.configDir()
	if dir == "" {
		return
	}
	path := filepath.Join(dir, "init.sql")
	if _, err := os.Stat(path); err != nil {
		return
	}
	cctx, end := s.intr.begin(ctx)
	defer end()
	s.report("", s.readFile(cctx, path))
}

func (s *session) queryNames() []string {
	qs, _ := s.queries()
	names := make([]string, len(qs))
	for i, q := range qs {
		names[i] = q.Name
	}
	return names
}

// dest is where results go: a round of .watch, the .output file, or out.
func (s *session) dest() io.Writer {
	switch {
	case s.capture != nil:
		return s.capture
	case s.output != nil:
		s.onceUsed = s.once
		return s.output
	}
	return s.out
}

// toTerminal reports whether results go to the terminal, where they are
// coloured and fitted to its width.
func (s *session) toTerminal() bool {
	return s.outTTY && s.output == nil
}

// runSQL runs every statement of script, stopping at the first error.
func (s *session) runSQL(ctx context.Context, script string) error {
	for _, st := range run.Statements(script) {
		if err := s.runStatement(ctx, st); err != nil {
			return err
		}
	}
	return nil
}

// runStatement runs one statement. Its output is held until it completes,
// so an interrupted or failed statement prints nothing.
func (s *session) runStatement(ctx context.Context, st run.Statement) error {
	for _, p := range st.Params {
		if _, ok := s.params[p]; !ok && run.ValidParamName(p) {
			return fmt.Errorf("missing parameter :%s (set it with .param set %s VALUE)", p, p)
		}
	}
	opts := s.opts
	if s.toTerminal() {
		opts.Terminal = true
		opts.Color = s.color
		if s.fit {
			opts.MaxWidth = termWidth(s.outFD)
		}
	}
	var buf bytes.Buffer
	var out io.Writer = &buf
	if s.stream {
		out = s.dest()
	}
	r := &run.Runner{Engine: s.eng, Out: out, Format: s.format, Opts: opts, Params: s.params}
	if s.cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.cfg.Timeout)
		defer cancel()
	}
	if err := s.confirmKill(ctx, st); err != nil {
		return err
	}
	start := time.Now()
	res, err := r.RunStatement(ctx, st)
	elapsed := time.Since(start)
	s.last = res
	if err != nil {
		switch {
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			return fmt.Errorf("statement cancelled after %v", s.cfg.Timeout)
		case ctx.Err() != nil:
			return errInterrupted
		}
		return err
	}
	w := s.dest()
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	if s.timer {
		// The time is for the person at the terminal, not part of the
		// result a .once or .output file collects.
		tw := s.out
		if s.capture != nil {
			tw = s.capture
		}
		fmt.Fprintf(tw, "Run Time: %.3fs\n", elapsed.Seconds())
	}
	return nil
}

// errInterrupted reports a statement cancelled with Ctrl-C.
var errInterrupted = errors.New("interrupted")

// report prints an error as one line.
func (s *session) report(where string, err error) {
	if err == nil {
		return
	}
	// An error may quote kernel data (a /proc line, a socket name): it
	// gets the same escaping as results on a terminal.
	msg := format.TerminalSafe(strings.ReplaceAll(run.CleanError(err).Error(), "\n", " "))
	if where != "" {
		msg = where + ": " + msg
	}
	label := "Error:"
	if s.color {
		label = "\x1b[1;31mError:\x1b[0m"
	}
	fmt.Fprintf(s.errw, "%s %s\n", label, msg)
}

// endOnce ends a .once redirection after the command it applied to.
func (s *session) endOnce() {
	if s.once {
		s.closeOutput()
	}
}

func (s *session) closeOutput() {
	if s.outputFile != nil {
		if err := s.outputFile.Close(); err != nil {
			s.report("", fmt.Errorf("close %s: %w", s.outputFile.Name(), err))
		}
	}
	s.output, s.outputFile, s.once, s.onceUsed = nil, nil, false, false
}

// interrupter cancels the command that is running when Ctrl-C arrives.
type interrupter struct {
	mu     sync.Mutex
	cancel context.CancelFunc
}

// begin starts a command: Ctrl-C cancels ctx until end is called.
func (i *interrupter) begin(parent context.Context) (ctx context.Context, end func()) {
	ctx, cancel := context.WithCancel(parent)
	i.mu.Lock()
	i.cancel = cancel
	i.mu.Unlock()
	return ctx, func() {
		i.mu.Lock()
		i.cancel = nil
		i.mu.Unlock()
		cancel()
	}
}

func (i *interrupter) interrupt() {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.cancel != nil {
		i.cancel()
	}
}
