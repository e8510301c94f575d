package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
)

// signalHandler turns SIGINT and SIGTERM into a cancelled context, and a
// second one into an immediate exit.
//
// The first signal cancels the run's context: a statement stops with
// "interrupted" (exit 1), serve and record --every finish what they were
// doing and exit 0, export keeps the previous textfile. Something that
// does not watch the context (a read the kernel keeps blocked) would
// ignore that, so a second signal exits at once, with 130 after SIGINT
// and 143 after SIGTERM (128 + the signal's number, as a shell reports a
// process killed by it).
type signalHandler struct {
	cancel context.CancelCauseFunc
	exit   func(code int)
	stderr io.Writer

	mu    sync.Mutex
	seen  bool
	shell bool // the interactive shell takes SIGINT itself
}

// watch handles the signals arriving on ch until ch is closed.
func (h *signalHandler) watch(ch <-chan os.Signal) {
	for sig := range ch {
		h.handle(sig)
	}
}

// handle reacts to one signal.
func (h *signalHandler) handle(sig os.Signal) {
	h.mu.Lock()
	if h.shell && sig == os.Interrupt {
		h.mu.Unlock()
		return // Ctrl-C in the shell cancels a statement, not netsql
	}
	first := !h.seen
	h.seen = true
	h.mu.Unlock()
	cause := signalCause{sig: syscall.SIGINT}
	if s, ok := sig.(syscall.Signal); ok {
		cause.sig = s
	}
	if first {
		h.cancel(cause)
		return
	}
	fmt.Fprintf(h.stderr, "netsql: %v again: exiting at once\n", sig)
	h.exit(cause.ExitCode())
}

// signalCause is the cause of a context a signal cancelled: what ran
// under it can ask for the exit status a shell reports for a process that
// signal killed (netstat -c dies of Ctrl-C: 130).
type signalCause struct{ sig syscall.Signal }

func (c signalCause) Error() string { return c.sig.String() + " signal received" }

// ExitCode is 128 + the signal's number.
func (c signalCause) ExitCode() int { return 128 + int(c.sig) }

// leaveSIGINTToShell stops SIGINT from counting: the interactive shell
// handles Ctrl-C itself.
func (h *signalHandler) leaveSIGINTToShell() {
	h.mu.Lock()
	h.shell = true
	h.mu.Unlock()
}

type signalsKey struct{}

// withSignals returns ctx carrying h, so that the shell can take SIGINT
// from it.
func withSignals(ctx context.Context, h *signalHandler) context.Context {
	return context.WithValue(ctx, signalsKey{}, h)
}

// signalsFrom returns the handler ctx carries, or nil (in tests).
func signalsFrom(ctx context.Context) *signalHandler {
	h, _ := ctx.Value(signalsKey{}).(*signalHandler)
	return h
}
