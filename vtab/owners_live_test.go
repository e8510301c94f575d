package vtab

import (
	"context"
	"net"
	"os"
	"testing"
)

// TestHoldOwners checks the lifetime of the owner walk Engine.HoldOwners
// shares: while held, statements reuse the walk the first one made (a
// socket opened after it has no owner yet, and /proc is walked once);
// after release, a one-shot statement walks /proc again and sees the
// owner of a socket the held walk never saw. Without a hold, every
// statement that needs owners walks /proc.
func TestHoldOwners(t *testing.T) {
	ctx := context.Background()
	src, err := NewSource("", nil)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := Open(Options{Source: src})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	listen := func() uint64 {
		t.Helper()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		return inodeOf(t, ln.(*net.TCPListener))
	}
	// pidOf runs one statement and says which pid holds the socket.
	pidOf := func(ino uint64) any {
		t.Helper()
		var pid any
		err := eng.DB().QueryRowContext(ctx, "SELECT pid FROM sockets WHERE proto = 'tcp' AND state = 'LISTEN' AND inode = ?", int64(ino)).Scan(&pid)
		if err != nil {
			t.Fatalf("inode %d: %v", ino, err)
		}
		return pid
	}
	me := int64(os.Getpid())
	walks := func() int64 { return src.OwnerScans() }

	a := listen()
	w := walks()
	if got := pidOf(a); got != me {
		t.Fatalf("without a hold: inode %d has pid %v, want %d", a, got, me)
	}
	if got := pidOf(a); got != me || walks() != w+2 {
		t.Fatalf("without a hold: pid %v after %d walks for two statements, want %d after 2", got, walks()-w, me)
	}

	release := eng.HoldOwners()
	w = walks()
	if got := pidOf(a); got != me {
		t.Fatalf("held: inode %d has pid %v, want %d", a, got, me)
	}
	b := listen() // after the held walk
	if got := pidOf(b); got != nil {
		t.Errorf("held: a socket opened after the held walk has pid %v; the walk cannot have seen it", got)
	}
	if got := pidOf(a); got != me {
		t.Errorf("held: inode %d has pid %v in a later statement, want %d", a, got, me)
	}
	if n := walks() - w; n != 1 {
		t.Errorf("held: three statements walked /proc %d times, want 1", n)
	}
	release()
	release() // idempotent: must not end a hold it does not own

	w = walks()
	if got := pidOf(b); got != me {
		t.Errorf("after release: inode %d has pid %v, want %d: a one-shot statement saw the stale walk", b, got, me)
	}
	if n := walks() - w; n != 1 {
		t.Errorf("after release: one statement walked /proc %d times, want 1", n)
	}

	// Holds nest: the walk lives until the last release.
	outer, inner := eng.HoldOwners(), eng.HoldOwners()
	w = walks()
	pidOf(a)
	inner()
	c := listen()
	if got := pidOf(c); got != nil || walks()-w != 1 {
		t.Errorf("nested hold: after the inner release, pid %v and %d walks; want NULL and 1", got, walks()-w)
	}
	outer()
	if got := pidOf(c); got != me {
		t.Errorf("after the outer release: pid %v, want %d", got, me)
	}
}
