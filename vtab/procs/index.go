package procs

import (
	"cmp"
	"iter"
	"slices"
)

// OwnerIndex answers, for any socket inode, the owner netstat -p names:
// the lowest PID holding the socket and, in it, the lowest FD. It is
// built from one exhaustive scan (ScanSocketOwners with want nil) and
// serves every lookup of a caller that reads sockets several times over
// the same moment (several namespaces, several statements of one top
// refresh) without walking /proc again.
type OwnerIndex struct {
	owners []Owner // one per inode, ascending by inode
	denied int
}

// NewOwnerIndex indexes an exhaustive scan's result. Owners in res are
// sorted by PID then FD (as ScanSocketOwners returns them), so the first
// owner met for an inode is the one netstat -p names.
func NewOwnerIndex(res ScanResult) *OwnerIndex {
	owners := slices.Clone(res.Owners)
	// Stable: among one inode's owners the (PID, FD) order is kept and
	// the first is netstat's.
	slices.SortStableFunc(owners, func(a, b Owner) int { return cmp.Compare(a.Inode, b.Inode) })
	owners = slices.CompactFunc(owners, func(a, b Owner) bool { return a.Inode == b.Inode })
	return &OwnerIndex{owners: slices.Clip(owners), denied: res.Denied}
}

// Lookup returns the owner of the socket with inode ino, and false when
// no process the scan could read holds it.
func (x *OwnerIndex) Lookup(ino uint64) (Owner, bool) {
	i, found := slices.BinarySearchFunc(x.owners, ino, func(o Owner, ino uint64) int { return cmp.Compare(o.Inode, ino) })
	if !found {
		return Owner{}, false
	}
	return x.owners[i], true
}

// Len is the number of sockets the index knows an owner of.
func (x *OwnerIndex) Len() int { return len(x.owners) }

// Denied is the scan's ScanResult.Denied: processes whose fds could not
// be read, so sockets only they hold have no owner in the index.
func (x *OwnerIndex) Denied() int { return x.denied }

// PIDs yields each process that owns a socket in the index, once, in no
// particular order.
func (x *OwnerIndex) PIDs() iter.Seq[int] {
	return func(yield func(int) bool) {
		seen := map[int]struct{}{}
		for _, o := range x.owners {
			if _, dup := seen[o.PID]; dup {
				continue
			}
			seen[o.PID] = struct{}{}
			if !yield(o.PID) {
				return
			}
		}
	}
}
