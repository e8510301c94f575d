package top

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/uniseg"
)

// Why tcell: it is the long-maintained terminal layer under most Go
// terminal programs (tview, micro, k9s's views), reads terminfo, has no
// dependency beyond golang.org/x, and ships a simulation screen that is
// its own test driver. top needs cells and keys, not a widget framework:
// layout and state live in Model, which renders text at a fixed size.

// keyNames maps tcell's special keys to Key names.
var keyNames = map[tcell.Key]string{
	tcell.KeyUp: "up", tcell.KeyDown: "down", tcell.KeyLeft: "left", tcell.KeyRight: "right",
	tcell.KeyPgUp: "pgup", tcell.KeyPgDn: "pgdn", tcell.KeyHome: "home", tcell.KeyEnd: "end",
	tcell.KeyEnter: "enter", tcell.KeyEscape: "esc", tcell.KeyTab: "tab", tcell.KeyBacktab: "backtab",
	tcell.KeyBackspace: "backspace", tcell.KeyBackspace2: "backspace", tcell.KeyCtrlC: "ctrl-c",
}

// styles are how each kind of line is drawn: attributes only, so the
// terminal's own colours (and NO_COLOR) are respected.
var styles = map[Style]tcell.Style{
	Plain:    tcell.StyleDefault,
	Title:    tcell.StyleDefault.Bold(true),
	Heading:  tcell.StyleDefault.Reverse(true),
	Selected: tcell.StyleDefault.Reverse(true).Bold(true),
	Status:   tcell.StyleDefault.Reverse(true),
}

// Run shows m on screen until the user quits or ctx ends (SIGTERM,
// SIGINT), refreshing from the model's source every m.Interval (once
// when a refresh says the source is static). The terminal is restored
// on every way out, a panic included, which comes back as an error.
// notices, when not nil, returns notices collected since its last call.
func Run(ctx context.Context, screen tcell.Screen, m *Model, notices func() []string) (err error) {
	if err := screen.Init(); err != nil {
		return fmt.Errorf("top: terminal: %w", err)
	}
	defer func() {
		r := recover()
		screen.Fini()
		if r != nil {
			err = fmt.Errorf("top: internal error: %v", r)
		}
	}()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events := make(chan tcell.Event, 16)
	go func() {
		for {
			ev := screen.PollEvent()
			if ev == nil {
				return
			}
			select {
			case events <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	type outcome struct {
		snap  *Snapshot
		err   error
		panic any
	}
	done := make(chan outcome, 1)
	inflight, static := false, false
	start := func() {
		if inflight || static {
			return
		}
		inflight = true
		go func() {
			var o outcome
			defer func() {
				if r := recover(); r != nil {
					o = outcome{panic: r}
				}
				done <- o
			}()
			o.snap, o.err = m.src.Refresh(ctx)
		}()
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	draw := func() {
		if notices != nil {
			for _, n := range notices() {
				m.Notice(strings.TrimPrefix(n, "netsql: "))
			}
		}
		w, h := screen.Size()
		screen.Clear()
		for y, l := range m.Render(w, h) {
			st := styles[l.Style]
			x := 0
			g := uniseg.NewGraphemes(l.Text)
			for g.Next() {
				r := g.Runes()
				screen.SetContent(x, y, r[0], r[1:], st)
				x += max(g.Width(), 1)
			}
		}
		screen.Show()
		if m.drawn != nil {
			m.drawn()
		}
	}
	start()
	draw()
	for {
		select {
		case <-ctx.Done():
			return nil
		case o := <-done:
			inflight = false
			if o.panic != nil {
				panic(o.panic)
			}
			if o.err != nil && ctx.Err() != nil {
				return nil
			}
			m.SetError(o.err)
			if o.snap != nil {
				m.Update(o.snap)
				static = o.snap.Static
			}
			if !m.Paused && !static {
				timer.Reset(m.Interval)
			}
		case <-timer.C:
			if !m.Paused {
				start()
			}
		case ev := <-events:
			switch ev := ev.(type) {
			case *tcell.EventResize:
				screen.Sync()
			case *tcell.EventKey:
				k := Key{Name: keyNames[ev.Key()]}
				if ev.Key() == tcell.KeyRune {
					k = Key{Rune: ev.Rune()}
				}
				m.Key(k)
				if m.Quit {
					return nil
				}
				if m.TakeRefresh() {
					timer.Stop()
					start()
				}
			}
		}
		draw()
	}
}
