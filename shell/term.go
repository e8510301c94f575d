package shell

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/chzyer/readline"
)

// errInterrupt is what a lineReader returns when the user pressed Ctrl-C
// at the prompt.
var errInterrupt = errors.New("interrupt")

// lineReader reads the user's lines: readline on a terminal, plain lines
// otherwise.
type lineReader interface {
	// ReadLine shows prompt and returns one line without its newline,
	// errInterrupt on Ctrl-C, io.EOF at the end of input (Ctrl-D).
	ReadLine(prompt string) (string, error)
	// SetHistory replaces the entries Up-arrow and Ctrl-R walk through.
	SetHistory(entries []string)
	// AddHistory appends one entry.
	AddHistory(entry string)
	Close() error
}

// terminalFD returns the descriptor of f when it is a terminal.
func terminalFD(f any) (int, bool) {
	file, ok := f.(*os.File)
	if !ok || file == nil {
		return -1, false
	}
	fd := int(file.Fd())
	return fd, readline.IsTerminal(fd)
}

// termWidth is the width of the terminal on fd, or 0 when unknown.
func termWidth(fd int) int {
	w, _, err := readline.GetSize(fd)
	if err != nil || w <= 0 {
		return 0
	}
	return w
}

// rawMode puts one terminal into raw mode for readline and back.
type rawMode struct {
	fd    int
	mu    sync.Mutex
	saved *readline.State
}

func (r *rawMode) enter() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	st, err := readline.MakeRaw(r.fd)
	if err != nil {
		return fmt.Errorf("terminal raw mode: %w", err)
	}
	if r.saved == nil {
		r.saved = st
	}
	return nil
}

func (r *rawMode) exit() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.saved == nil {
		return nil
	}
	err := readline.Restore(r.fd, r.saved)
	r.saved = nil
	if err != nil {
		return fmt.Errorf("terminal restore: %w", err)
	}
	return nil
}

// readlineReader is the interactive lineReader.
type readlineReader struct {
	rl *readline.Instance
}

// newReadline edits lines on the terminal in (descriptor inFD), echoing to
// out (descriptor outFD, or -1 when out is not a terminal).
func newReadline(in *os.File, inFD int, out io.Writer, outFD int, limit int, ac readline.AutoCompleter) (*readlineReader, error) {
	raw := &rawMode{fd: inFD}
	widthFD := outFD
	if widthFD < 0 {
		widthFD = inFD
	}
	rl, err := readline.NewEx(&readline.Config{
		Prompt:                 "",
		HistoryLimit:           limit,
		DisableAutoSaveHistory: true,
		HistorySearchFold:      true,
		AutoComplete:           ac,
		InterruptPrompt:        "^C",
		EOFPrompt:              "\n",
		Stdin:                  readline.NewCancelableStdin(in),
		Stdout:                 out,
		Stderr:                 out,
		FuncIsTerminal:         func() bool { return true },
		FuncMakeRaw:            raw.enter,
		FuncExitRaw:            raw.exit,
		FuncGetWidth: func() int {
			if w := termWidth(widthFD); w > 0 {
				return w
			}
			return 80
		},
	})
	if err != nil {
		return nil, fmt.Errorf("line editor: %w", err)
	}
	return &readlineReader{rl: rl}, nil
}

func (r *readlineReader) ReadLine(prompt string) (string, error) {
	r.rl.SetPrompt(prompt)
	line, err := r.rl.Readline()
	if errors.Is(err, readline.ErrInterrupt) {
		return line, errInterrupt
	}
	return line, err
}

func (r *readlineReader) SetHistory(entries []string) {
	r.rl.ResetHistory()
	for _, e := range entries {
		r.rl.SaveHistory(e)
	}
}

func (r *readlineReader) AddHistory(entry string) { r.rl.SaveHistory(entry) }

func (r *readlineReader) Close() error { return r.rl.Close() }

// plainReader reads lines from a pipe or file: no prompt, no editing.
type plainReader struct {
	r *bufio.Reader
}

func (p *plainReader) ReadLine(string) (string, error) {
	line, err := p.r.ReadString('\n')
	if err == io.EOF && line != "" {
		err = nil
	}
	return strings.TrimRight(line, "\r\n"), err
}

func (p *plainReader) SetHistory([]string) {}
func (p *plainReader) AddHistory(string)   {}
func (p *plainReader) Close() error        { return nil }
