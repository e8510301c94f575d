package procs

import (
	"context"
	"maps"
	"os"
	"testing"
)

// TestOwnerIndex checks that the index of an exhaustive scan names, for
// every inode, the owner netstat -p names (lowest pid, then lowest fd),
// on the fixture tree where inode 42 is held by three processes and
// inode 99 is in the pre-2.2 form, and that an early-stopping scan for
// some inodes indexes the same owner for each of them.
func TestOwnerIndex(t *testing.T) {
	root := fixtureTree(t)
	ctx := context.Background()
	all, err := ScanSocketOwners(ctx, root, nil, ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := lowestOwners(all.Owners)
	if len(want) < 5 || want[42] != (Owner{42, 100, 3}) {
		t.Fatalf("fixture changed: lowest owners %v", want)
	}
	idx := NewOwnerIndex(all)
	got := map[uint64]Owner{}
	for ino := range want {
		o, ok := idx.Lookup(ino)
		if !ok {
			t.Errorf("inode %d: not found", ino)
			continue
		}
		got[ino] = o
	}
	if !maps.Equal(got, want) || idx.Len() != len(want) {
		t.Errorf("index: %v (len %d), want %v", got, idx.Len(), want)
	}
	for _, ino := range []uint64{0, 1, 12345, 1 << 63} {
		if o, ok := idx.Lookup(ino); ok {
			t.Errorf("inode %d: found %v in the index of %v", ino, o, all.Owners)
		}
	}
	if idx.Denied() != all.Denied {
		t.Errorf("Denied %d, want %d", idx.Denied(), all.Denied)
	}
	if os.Geteuid() != 0 && idx.Denied() == 0 {
		t.Error("as non-root the chmod 000 fd directory must count as denied")
	}

	set := map[uint64]struct{}{42: {}, 45: {}}
	for _, workers := range []int{1, 2, 8} {
		some, err := ScanSocketOwners(ctx, root, set, ScanOptions{Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		part := NewOwnerIndex(some)
		for ino := range set {
			if o, ok := part.Lookup(ino); !ok || o != want[ino] {
				t.Errorf("workers %d: inode %d: %v %v, want %v", workers, ino, o, ok, want[ino])
			}
		}
	}
}
