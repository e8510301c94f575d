package top

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gdamore/tcell/v2"
)

// screenText returns the simulation screen's text, one line per row.
func screenText(s tcell.SimulationScreen) string {
	cells, w, h := s.GetContents()
	var b strings.Builder
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			r := cells[y*w+x].Runes
			if len(r) == 0 {
				b.WriteByte(' ')
				continue
			}
			b.WriteString(string(r))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// simRun starts Run on a simulation screen of w x h and returns the
// screen, a wait for Run's end, a function polling until the screen
// shows want, and the last frame drawn.
func simRun(t *testing.T, ctx context.Context, m *Model, w, h int) (tcell.SimulationScreen, func() error, func(string), func() string) {
	t.Helper()
	s := tcell.NewSimulationScreen("UTF-8")
	var mu sync.Mutex
	var shown string
	m.drawn = func() {
		text := screenText(s)
		mu.Lock()
		shown = text
		mu.Unlock()
	}
	errc := make(chan error, 1)
	go func() { errc <- Run(ctx, s, m, nil) }()
	wait := func() error {
		select {
		case err := <-errc:
			return err
		case <-time.After(20 * time.Second):
			t.Fatal("Run did not return")
			return nil
		}
	}
	waitFor := func(want string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			mu.Lock()
			text := shown
			mu.Unlock()
			if strings.Contains(text, want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("screen never showed %q:\n%s", want, text)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	screen := func() string {
		mu.Lock()
		defer mu.Unlock()
		return shown
	}
	// Init sets the simulation's own size: resize once Run has drawn.
	waitFor("netsql top")
	s.SetSize(w, h)
	s.PostEvent(tcell.NewEventResize(w, h))
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if len(strings.Split(screen(), "\n")) == h+1 {
			break // redrawn at the new size (or Run ended: the caller sees)
		}
	}
	return s, wait, waitFor, screen
}

// TestKeysOnScreen drives the terminal program through tcell's
// simulation screen: every key of the help line, then q.
func TestKeysOnScreen(t *testing.T) {
	m, src := fixedModel(t, 0)
	src.snaps = []*Snapshot{fixedSnapshot(0), fixedSnapshot(1), fixedSnapshot(2)}
	src.drill = set([]string{"state", "remote_port"}, []any{"ESTABLISHED", int64(51000)})
	m.Interval = 20 * time.Millisecond
	s, wait, waitFor, screen := simRun(t, context.Background(), m, 100, 24)
	key := func(k tcell.Key, r rune) { s.InjectKey(k, r, tcell.ModNone) }
	waitFor("retrans_segs/s 5.00") // a second refresh gave rates
	waitFor("[Programs]")

	key(tcell.KeyRune, 'p')
	waitFor("PAUSED")
	n, _ := src.state()
	time.Sleep(100 * time.Millisecond) // five intervals: no refresh may run
	if now, _ := src.state(); now != n {
		t.Errorf("paused, yet %d refreshes ran", now-n)
	}
	key(tcell.KeyRune, '+')
	waitFor("every 500ms")
	key(tcell.KeyRune, '+')
	waitFor("every 1s")
	key(tcell.KeyRune, '-')
	waitFor("every 500ms")
	key(tcell.KeyRune, 'p') // unpausing refreshes at once
	for now, _ := src.state(); now == n; now, _ = src.state() {
		time.Sleep(5 * time.Millisecond)
	}
	key(tcell.KeyRune, 'p')
	waitFor("PAUSED")

	key(tcell.KeyTab, 0)
	waitFor("[Remote hosts]")
	key(tcell.KeyBacktab, 0)
	waitFor("[Programs]")
	key(tcell.KeyRune, '>')
	waitFor("sort program asc")
	key(tcell.KeyRune, 'r')
	waitFor("sort program desc")

	key(tcell.KeyRune, '/')
	for _, r := range "ngi" {
		key(tcell.KeyRune, r)
	}
	waitFor("filter (Enter applies, Esc cancels): ngi_")
	key(tcell.KeyEnter, 0)
	waitFor(`filter "ngi"`)
	if strings.Contains(screen(), "postgres") {
		t.Errorf("the filter left other rows:\n%s", screen())
	}

	key(tcell.KeyEnter, 0)
	waitFor("Programs > Sockets of the program (program \"nginx\")")
	waitFor("51000")
	key(tcell.KeyEscape, 0)
	waitFor("[Programs]")

	key(tcell.KeyRune, 's')
	waitFor("-- builtin:top-programs.sql")
	key(tcell.KeyRune, 'x') // any key closes the SQL
	waitFor("[Programs]")

	key(tcell.KeyRune, 'n')
	waitFor("namespace (Enter picks, * all, Esc back):")
	key(tcell.KeyRune, '*')
	waitFor("netns * (all)")
	if _, ns := src.state(); ns != "*" {
		t.Errorf("picking * set the source's namespace to %q", ns)
	}

	s.SetSize(70, 15) // a resize redraws at the new size
	s.PostEvent(tcell.NewEventResize(70, 15))
	waitFor("[Programs]  Remote hosts   Listeners   Interfaces")

	key(tcell.KeyRune, 'q')
	if err := wait(); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// TestRunRestoresOnPanicAndCancel checks the ways out other than q: a
// panic inside a refresh is an error after the screen is finalized, and
// a cancelled context (SIGTERM, SIGINT) ends Run without one.
func TestRunRestoresOnPanicAndCancel(t *testing.T) {
	m, src := fixedModel(t, 0)
	src.snaps = []*Snapshot{fixedSnapshot(0)}
	src.panicOn = 2
	m.Interval = 10 * time.Millisecond
	s, wait, _, _ := simRun(t, context.Background(), m, 80, 20)
	err := wait()
	if err == nil || !strings.Contains(err.Error(), "refresh exploded") || strings.Contains(err.Error(), "\n") {
		t.Errorf("a panicking refresh: Run returned %v, want one line naming the panic", err)
	}
	assertFinalized(t, s)

	ctx, cancel := context.WithCancel(context.Background())
	m, _ = fixedModel(t, 0)
	s, wait, waitFor, _ := simRun(t, ctx, m, 80, 20)
	waitFor("[Programs]")
	cancel()
	if err := wait(); err != nil {
		t.Errorf("cancelled: Run returned %v", err)
	}
	assertFinalized(t, s)

	m, _ = fixedModel(t, 0)
	s, wait, waitFor, _ = simRun(t, context.Background(), m, 80, 20)
	waitFor("[Programs]")
	s.InjectKey(tcell.KeyCtrlC, 0, tcell.ModCtrl)
	if err := wait(); err != nil {
		t.Errorf("Ctrl-C: Run returned %v", err)
	}
	assertFinalized(t, s)
}

// assertFinalized checks that Fini ran: a finalized simulation screen
// drops injected events, so PollEvent has nothing more to give.
func assertFinalized(t *testing.T, s tcell.SimulationScreen) {
	t.Helper()
	done := make(chan tcell.Event, 1)
	go func() { done <- s.PollEvent() }()
	select {
	case ev := <-done:
		if ev != nil {
			t.Errorf("screen still delivers events (%T): Fini did not run", ev)
		}
	case <-time.After(5 * time.Second):
		t.Error("screen still waits for events: Fini did not run")
	}
}
