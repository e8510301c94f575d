package vtab

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"net/netip"
	"slices"

	"github.com/netsql/netsql/vtab/cgroup"
	"github.com/netsql/netsql/vtab/procs"
	"github.com/netsql/netsql/vtab/sock"
	"github.com/netsql/netsql/vtab/sockdiag"
)

// socketStreamer is a socket reader that can hand sockets over in
// batches as it reads them (sockdiag.Reader.Stream), instead of
// returning them all.
type socketStreamer interface {
	Stream(ctx context.Context, req sock.Request, yield func([]sock.Socket) bool) error
}

// streamBatchSize is how many records a streaming producer hands over at
// a time when its reader returns whole tables.
const streamBatchSize = sockdiag.StreamBatch

// streamSockets is the sockets table's streaming producer: the rows
// readSockets returns, handed over batch by batch as sock_diag replies
// arrive. The owner columns come from one fd scan made before the dump,
// kept as a compact index by inode (as ss -p does it).
func streamSockets(ctx context.Context, src *Source, q *Query, yield func([]socketRecord) bool) error {
	if !src.socketsFromNetlink() {
		// A /proc tree (a support bundle) is read whole: see
		// socketsFromNetlink.
		recs, err := readSockets(ctx, src, q)
		if err != nil {
			return err
		}
		yieldBatches(recs, yield)
		return nil
	}
	req, ok := socketRequest(q)
	if !ok {
		return nil // the constraints exclude every socket
	}
	var want map[uint64]struct{}
	if q.Needs(CostOwners) && (narrowed(req) || src.netnsPath != "") && !ownersHeld(src) {
		// When the kernel filters, or in another namespace (a few
		// sockets, while the scan walks every process of the host),
		// read the inodes first and look for their owners only, as the
		// snapshot path does: a short scan that stops once all are
		// found. Otherwise, past maxWanted sockets, or while a hold
		// shares one walk of every owner, index every owner.
		var err error
		if want, err = socketInodes(ctx, src, req); err != nil {
			return fmt.Errorf("sockets: %w", err)
		}
	}
	a, err := newSocketAttach(ctx, src, q, req, want)
	if err != nil {
		return err
	}
	withIf := q.Uses("bound_interface")
	var ifErr error
	recs := make([]socketRecord, 0, streamBatchSize)
	var infos []ownerInfo // the batch's owners, reused
	unowned := false
	err = streamSocketList(ctx, src, req, func(socks []sock.Socket) bool {
		recs = recs[:0]
		if cap(infos) < len(socks) {
			infos = make([]ownerInfo, 0, len(socks)) // r.owner points into it
		}
		infos = infos[:0]
		for i := range socks {
			if withIf && socks[i].BoundIf != 0 && a.ifnames == nil {
				if a.ifnames, ifErr = boundInterfaceNames(ctx, src); ifErr != nil {
					return false
				}
			}
			r, none := a.record(&socks[i], func() *ownerInfo {
				infos = append(infos, ownerInfo{})
				return &infos[len(infos)-1]
			})
			unowned = unowned || none
			recs = append(recs, r)
		}
		return yield(recs)
	})
	if err == nil {
		err = ifErr
	}
	if err != nil {
		return fmt.Errorf("sockets: %w", err)
	}
	a.noticeUnowned(unowned)
	return nil
}

// socketAttach is what a read of the sockets table adds to the kernel's
// fields of every socket, shared by its rows: the /proc/net-only columns,
// the owner index, user names and interface names. The streaming and the
// compact snapshot paths make rows with it alike.
type socketAttach struct {
	src      *Source
	procNet  *procNetIndex // nil unless a /proc/net-only column is used
	owners   *streamOwners // nil unless an owner column is used
	withUser bool
	ifnames  map[int]string // set by the caller once some socket is bound
}

// newSocketAttach reads what q's columns need beside req's sockets: the
// /proc/net files of the protocols whose /proc/net-only columns it uses,
// and the owners of the sockets whose inodes are in want (nil: every
// socket).
func newSocketAttach(ctx context.Context, src *Source, q *Query, req sock.Request, want map[uint64]struct{}) (*socketAttach, error) {
	a := &socketAttach{src: src, withUser: q.Needs(CostUserName)}
	var err error
	if join := procNetJoins(q, req); len(join) > 0 {
		if a.procNet, err = readProcNetIndex(ctx, src, req, join); err != nil {
			return nil, fmt.Errorf("sockets: %w", err)
		}
	}
	if q.Needs(CostOwners) {
		if a.owners, err = scanOwners(ctx, src, want, q.Needs(CostCgroup)); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// record makes socket s's row, joining its /proc/net-only columns into
// it. Its owner, when it has a visible one, goes where slot says;
// unowned reports a socket with an inode and no visible owner.
func (a *socketAttach) record(s *sock.Socket, slot func() *ownerInfo) (r socketRecord, unowned bool) {
	if a.procNet != nil {
		a.procNet.join(s)
	}
	r = socketRecord{Socket: s, ifnames: a.ifnames}
	if a.withUser {
		r.user = a.src.UserName(s.UID)
	}
	if a.owners != nil && s.Inode != 0 {
		o, ok := a.owners.lookup(s.Inode)
		if !ok {
			return r, true
		}
		r.owner = slot()
		*r.owner = o
	}
	return r, false
}

// noticeUnowned says once that some owners are hidden, when a socket had
// no visible owner and the fd scan was denied some processes.
func (a *socketAttach) noticeUnowned(unowned bool) {
	if unowned && a.owners != nil && a.owners.idx.Denied() > 0 {
		a.src.Notice(deniedNotice(a.owners.idx.Denied()))
	}
}

// yieldBatches hands recs to yield in batches of streamBatchSize.
func yieldBatches[T any](recs []T, yield func([]T) bool) {
	for len(recs) > 0 {
		n := min(len(recs), streamBatchSize)
		if !yield(recs[:n]) {
			return
		}
		recs = recs[n:]
	}
}

// procNetJoins lists the protocols req reads whose /proc/net-only
// columns q uses.
func procNetJoins(q *Query, req sock.Request) []sock.Proto {
	var join []sock.Proto
	for _, c := range procNetColumns {
		if q.Uses(c.column) && wantsProto(req, c.proto) && !slices.Contains(join, c.proto) {
			join = append(join, c.proto)
		}
	}
	return join
}

// procNetIndex holds the /proc/net-only columns (Probes, RefCount,
// UnixFlags) of the sockets one read of /proc/net showed, by a 128-bit
// hash of each socket's identity (procNetKey's fields): 32 bytes a
// socket, however long its path, where a map of records would hold
// whole sockets.
type procNetIndex struct {
	seeds   [2]maphash.Seed
	entries []procNetEntry // sorted by key
}

type procNetEntry struct {
	key                   [2]uint64
	refcnt, flags, probes uint32
}

// readProcNetIndex reads the /proc/net files of the protocols join that
// req covers, in every state (the join is by identity, not state).
func readProcNetIndex(ctx context.Context, src *Source, req sock.Request, join []sock.Proto) (*procNetIndex, error) {
	r := req
	r.Protocols, r.Extras, r.States = join, 0, 0
	x := &procNetIndex{seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}}
	err := src.procNetSockets().Stream(ctx, r, func(b []sock.Socket) bool {
		for i := range b {
			s := &b[i]
			x.entries = append(x.entries, procNetEntry{key: x.key(s), refcnt: s.RefCount, flags: s.UnixFlags, probes: s.Probes})
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(x.entries, func(a, b procNetEntry) int { return cmpKey(a.key, b.key) })
	return x, nil
}

func cmpKey(a, b [2]uint64) int {
	return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1]))
}

// key hashes what procNetKey joins on: family, protocol and inode, and
// for inet sockets the addresses and ports.
func (x *procNetIndex) key(s *sock.Socket) [2]uint64 {
	var b [2 + 2*18 + 8]byte
	b[0], b[1] = s.Family, uint8(s.Protocol)
	n := 2
	if s.Protocol != sock.UNIX {
		for _, ap := range []netip.AddrPort{s.Local, s.Remote} {
			a := ap.Addr().As16()
			n += copy(b[n:], a[:])
			binary.BigEndian.PutUint16(b[n:], ap.Port())
			n += 2
		}
	}
	binary.NativeEndian.PutUint64(b[n:], s.Inode)
	n += 8
	return [2]uint64{maphash.Bytes(x.seeds[0], b[:n]), maphash.Bytes(x.seeds[1], b[:n])}
}

// join copies the /proc/net-only columns into s when /proc/net showed
// it, as joinProcNet does.
func (x *procNetIndex) join(s *sock.Socket) {
	if s.ProcNet {
		return // read from /proc/net already
	}
	k := x.key(s)
	i, found := slices.BinarySearchFunc(x.entries, k, func(e procNetEntry, k [2]uint64) int { return cmpKey(e.key, k) })
	if found {
		e := &x.entries[i]
		s.RefCount, s.UnixFlags, s.Probes, s.ProcNet = e.refcnt, e.flags, e.probes, true
	}
}

// boundInterfaceNames reads the interface names of src's namespace.
func boundInterfaceNames(ctx context.Context, src *Source) (map[int]string, error) {
	c, err := dialRoute(src, "sockets: bound_interface")
	if err != nil {
		return nil, err
	}
	defer c.Close()
	names, err := linkNames(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("bound_interface: %w", err)
	}
	return names, nil
}

// streamSocketList hands the sockets req asks for from src's reader to
// yield, batch by batch when the reader streams.
func streamSocketList(ctx context.Context, src *Source, req sock.Request, yield func([]sock.Socket) bool) error {
	return streamFrom(ctx, src.sockets(), req, yield)
}

// streamFrom streams r's sockets when r can, else reads them whole and
// hands them over in batches. It returns nil when yield stopped it.
func streamFrom(ctx context.Context, r sock.Reader, req sock.Request, yield func([]sock.Socket) bool) error {
	if s, ok := r.(socketStreamer); ok {
		return s.Stream(ctx, req, yield)
	}
	socks, err := r.Sockets(ctx, req)
	if err != nil {
		return err
	}
	yieldBatches(socks, yield)
	return nil
}

// Stream is Sockets for a streaming cursor: netlink batch by batch, and
// /proc/net when netlink is refused (said once) or lacks a dump's
// handler. A refusal after sockets were handed over is an error: the
// fallback would hand them over again.
func (f *fallbackReader) Stream(ctx context.Context, req sock.Request, yield func([]sock.Socket) bool) error {
	f.mu.Lock()
	refused := f.refused
	f.mu.Unlock()
	if refused {
		return streamFrom(ctx, f.fallback, req, yield)
	}
	sent, stopped := false, false
	track := func(b []sock.Socket) bool {
		sent = true
		if !yield(b) {
			stopped = true
			return false
		}
		return true
	}
	err := streamFrom(ctx, f.primary, req, track)
	var partial *sockdiag.UnavailableError
	switch {
	case err == nil || stopped:
		return nil
	case errors.As(err, &partial) && len(partial.Missing) > 0:
		for _, missing := range partial.Missing {
			if err := streamFrom(ctx, f.fallback, missing, track); err != nil {
				return err
			}
			if stopped {
				return nil
			}
		}
		return nil
	case errors.Is(err, sockdiag.ErrUnavailable) && !sent:
		f.mu.Lock()
		f.refused = true
		f.mu.Unlock()
		f.src.Notice(Notice{NoticeFallback, fmt.Sprintf("netsql: netlink sock_diag unavailable (%v); reading /proc/net instead", err)})
		return streamFrom(ctx, f.fallback, req, yield)
	}
	return err
}

// streamOwners answers, for a socket inode, the process netstat -p
// names: the owner index of one fd scan (24 bytes a socket, or the walk
// Engine.HoldOwners shares) and one program name and cgroup per process.
type streamOwners struct {
	idx   *procs.OwnerIndex
	procs map[int]*ownerProc
}

// ownerProc is what the owner columns show of one process.
type ownerProc struct {
	program any
	cg      *cgroup.Attribution
}

// maxWanted is the most sockets whose owners a streaming read looks up
// by inode; past it the fd scan indexes every socket instead (the set of
// wanted inodes would cost more memory than the index).
const maxWanted = 1 << 16

// narrowed reports whether the kernel filters req's sockets by state,
// port or address: the read is then likely a small part of the host's.
func narrowed(req sock.Request) bool {
	return req.States != 0 && req.States != sock.AllStates || !req.Filter.IsZero()
}

// socketInodes reads the inodes of the sockets req selects, for an fd
// scan that looks for those only; nil, after reading no further, when
// there are more than maxWanted.
func socketInodes(ctx context.Context, src *Source, req sock.Request) (map[uint64]struct{}, error) {
	r := req
	r.Extras = 0
	want := map[uint64]struct{}{}
	err := streamSocketList(ctx, src, r, func(socks []sock.Socket) bool {
		for i := range socks {
			if socks[i].Inode != 0 {
				want[socks[i].Inode] = struct{}{}
			}
		}
		return len(want) <= maxWanted
	})
	if err != nil || len(want) > maxWanted {
		return nil, err
	}
	return want, nil
}

// scanOwners indexes the owners of the sockets whose inodes are in want
// (nil: every socket), from one fd scan or the walk a hold shares; with
// withCgroup it also reads each owning process's cgroup.
func scanOwners(ctx context.Context, src *Source, want map[uint64]struct{}, withCgroup bool) (*streamOwners, error) {
	if want != nil && len(want) == 0 {
		return &streamOwners{idx: procs.NewOwnerIndex(procs.ScanResult{}), procs: map[int]*ownerProc{}}, nil
	}
	idx, names, unlock, err := ownerIndex(ctx, src, want)
	if err != nil {
		return nil, err
	}
	// The index is never changed once made; the program names are the
	// hold's, read under its lock.
	defer unlock()
	x := &streamOwners{idx: idx, procs: map[int]*ownerProc{}}
	for pid := range idx.PIDs() {
		p := &ownerProc{}
		if p.program, err = names.get(ctx, pid); err != nil {
			return nil, fmt.Errorf("sockets: find owners: %w", err)
		}
		if withCgroup {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("sockets: %w", err)
			}
			a := readAttribution(src, pid)
			p.cg = &a
		}
		x.procs[pid] = p
	}
	return x, nil
}

// lookup returns the owner of the socket with inode ino.
func (x *streamOwners) lookup(ino uint64) (ownerInfo, bool) {
	o, ok := x.idx.Lookup(ino)
	if !ok {
		return ownerInfo{}, false
	}
	p := x.procs[o.PID]
	return ownerInfo{pid: o.PID, fd: o.FD, program: p.program, cg: p.cg}, true
}
