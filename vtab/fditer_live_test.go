package vtab

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/netsql/netsql/vtab/procs"
	"golang.org/x/sys/unix"
)

// TestLiveOwnersThroughFDIterator: the owner columns of sockets and the
// socket_owners table give the same rows whether the engine reads fds
// through the kernel's fd iterator (a held scan, as netsql top makes, and
// socket_owners' exhaustive one) or walks /proc; closing the engine
// unloads the iterator.
func TestLiveOwnersThroughFDIterator(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the fd iterator loads a BPF program: needs root")
	}
	it, err := procs.OpenFDIterator(t.Context())
	if errors.Is(err, procs.ErrNoFDIterator) || errors.Is(err, unix.EPERM) {
		t.Skip("this machine offers no fd iterator:", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	it.Close()

	fx := newCloseWaitFixture(t, 40, 10)
	iter, err := Open(Options{})
	if err != nil {
		t.Fatal(err)
	}
	walk, err := Open(Options{WalkFDs: true})
	if err != nil {
		t.Fatal(err)
	}
	defer walk.Close()

	// The listener and 40 connections; the 10 clients closed have no
	// owner (sockets shows them with pid NULL, socket_owners not at all).
	stmts := map[string]int{
		fmt.Sprintf("SELECT inode, pid, fd, program, state FROM sockets WHERE local_port = %[1]d OR remote_port = %[1]d", fx.port):                                           2*40 + 1,
		fmt.Sprintf("SELECT o.inode, o.pid, o.fd, o.program FROM socket_owners o JOIN sockets s USING (inode) WHERE s.local_port = %[1]d OR s.remote_port = %[1]d", fx.port): 2*40 + 1 - 10,
	}
	for q, rows := range stmts {
		want := agree(t, func() []string { return sorted(query(t, walk, q)) })
		got := agree(t, func() []string {
			release := iter.HoldOwners()
			defer release()
			return sorted(query(t, iter, q))
		})
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s:\nthrough the iterator %v\nwalking /proc %v", q, got, want)
		}
		if len(want) != rows {
			t.Errorf("%s: %d rows, want %d: %v", q, len(want), rows, want)
		}
	}
	if iter.src.root().fdIter.it == nil {
		t.Errorf("the held scan did not use the fd iterator: %v", iter.src.root().fdIter.err)
	}
	if f := &walk.src.root().fdIter; f.it != nil || f.err != nil {
		t.Error("WalkFDs: the engine opened the fd iterator")
	}
	if err := iter.Close(); err != nil {
		t.Fatal(err)
	}
	if iter.src.root().fdIter.it != nil {
		t.Error("Close left the fd iterator loaded")
	}
}
