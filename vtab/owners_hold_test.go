package vtab

import "testing"

// TestHeldOwnersReadTheDumpOnce: a streamed read narrowed by the kernel
// lists its sockets' inodes first so that the fd scan can stop early;
// while Engine.HoldOwners holds a walk of every owner that first dump is
// wasted work, so the table is dumped once.
func TestHeldOwnersReadTheDumpOnce(t *testing.T) {
	eng, fake := openFake(t)
	eng.src.Live = true // the streaming path over the fake reader
	release := eng.HoldOwners()
	defer release()
	q := "SELECT inode, pid FROM sockets WHERE state = 'LISTEN'"
	before := len(fake.reqs)
	if rows := query(t, eng, q); len(rows) == 0 {
		t.Fatalf("%s: no rows", q)
	}
	if n := len(fake.reqs) - before; n != 1 {
		t.Errorf("%s with owners held: %d dumps, want 1", q, n)
	}
}
