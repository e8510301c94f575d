package vtab

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
	sqlvtab "modernc.org/sqlite/vtab"

	"github.com/netsql/netsql/vtab/cgroup"
	"github.com/netsql/netsql/vtab/fileread"
	"github.com/netsql/netsql/vtab/procs"
	"github.com/netsql/netsql/vtab/sock"
)

// socketRecord is one row of the sockets table.
type socketRecord struct {
	*sock.Socket            // points into the reader's slice: no copy of 80k records
	owner        *ownerInfo // nil when not asked for or not visible
	user         string
	ifnames      map[int]string // the namespace's interface names, when bound_interface is used
}

// ownerInfo is the process a socket is attributed to.
type ownerInfo struct {
	pid, fd int
	program any                 // string, or nil when the process exited before it was read
	cg      *cgroup.Attribution // nil unless asked for; shared by the pid's sockets
}

var pushEQ = []sqlvtab.ConstraintOp{sqlvtab.OpEQ}

// Sockets is the sockets table: one row per TCP, UDP, UDP-Lite, raw and
// unix socket.
var Sockets = &Table[socketRecord]{
	Name:     "sockets",
	PerNetNS: true,
	Doc:      "Every TCP, UDP, UDP-Lite, raw and unix socket of the network namespace, read through netlink sock_diag (or /proc/net).",
	Example:  "SELECT program, count(*) FROM sockets WHERE state = 'CLOSE_WAIT' GROUP BY 1 ORDER BY 2 DESC;",
	Examples: []string{"SELECT proto, local_address, local_port, state, bound_interface, program FROM sockets WHERE bound_interface IS NOT NULL;"},
	Columns: append([]Column[socketRecord]{
		{Name: "proto", Type: Text, Push: pushEQ, Exact: true, Values: protoWords, Doc: "netstat's protocol word: tcp, tcp6, udp, udp6, udpl, udpl6 (UDP-Lite), raw, raw6, unix",
			Value: func(r *socketRecord) any { return protoWord(r.Socket) }},
		{Name: "family", Type: Text, Push: pushEQ, Exact: true, Values: socketFamilies, Doc: "address family: inet, inet6, unix",
			Value: func(r *socketRecord) any { return familyName(r.Family) }},
		{Name: "protocol", Type: Text, Push: pushEQ, Exact: true, Values: transportWords, Doc: "transport: tcp, udp, udplite, raw, unix",
			Value: func(r *socketRecord) any { return r.Protocol.String() }},
		{Name: "local_address", Type: Text, Push: pushEQ, Doc: "local IP address, numeric and canonical (NULL for unix)",
			Value: func(r *socketRecord) any { return addrText(r.Socket, r.Local.Addr()) }},
		{Name: "local_port", Type: Integer, Push: pushRange, Doc: "local port; for raw sockets the IP protocol number, as netstat shows it (NULL for unix)",
			Value: func(r *socketRecord) any { return portValue(r.Socket, r.Local.Port()) }},
		{Name: "remote_address", Type: Text, Push: pushEQ, Doc: "remote IP address, 0.0.0.0 or :: when unconnected (NULL for unix)",
			Value: func(r *socketRecord) any { return addrText(r.Socket, r.Remote.Addr()) }},
		{Name: "remote_port", Type: Integer, Push: pushRange, Doc: "remote port, 0 when unconnected (NULL for unix)",
			Value: func(r *socketRecord) any { return portValue(r.Socket, r.Remote.Port()) }},
		{Name: "state", Type: Text, Push: pushEQ, Values: stateWords, ValuesHelp: stateHelp(), Doc: "TCP: ESTABLISHED, SYN_SENT, SYN_RECV, FIN_WAIT1, FIN_WAIT2, TIME_WAIT, CLOSE, CLOSE_WAIT, LAST_ACK, LISTEN, CLOSING; udp/udplite/raw: ESTABLISHED or UNCONN; unix: LISTENING, CONNECTED, CONNECTING, DISCONNECTING, UNCONN",
			Value: func(r *socketRecord) any { return stateName(r.Socket) }},
		{Name: "recv_q", Type: Integer, Doc: "bytes received and not yet read (a received FIN counts 1); for LISTEN the connections waiting to be accepted; NULL for unix sockets read from /proc (it has no queues)",
			Value: queueValue(func(r *socketRecord) uint32 { return r.RecvQ })},
		{Name: "send_q", Type: Integer, Doc: "bytes sent and not yet acknowledged (unix: not yet read by the peer); 0 for LISTEN, as netstat shows; NULL for unix sockets read from /proc",
			Value: queueValue(func(r *socketRecord) uint32 { return r.SendQ })},
		{Name: "backlog", Type: Integer, Doc: "LISTEN: the maximum accept backlog (what ss shows as Send-Q); NULL otherwise or when read from /proc",
			Value: func(r *socketRecord) any { return nullIfZero(uint64(r.Backlog)) }},
		{Name: "uid", Type: Integer, Doc: "owning user id (the socket's, not the process's)",
			Value: func(r *socketRecord) any { return int64(r.UID) }},
		{Name: "user", Type: Text, Cost: CostUserName, Doc: "login name for uid from the passwd database, or the number when it has none",
			Value: func(r *socketRecord) any { return r.user }},
		{Name: "inode", Type: Integer, Doc: "socket inode (0 for TIME_WAIT and other sockets no file holds)",
			Value: func(r *socketRecord) any { return int64(r.Inode) }},
		{Name: "netns", Type: Integer, Doc: "inode of the network namespace the socket lives in"},
		{Name: "pid", Type: Integer, Cost: CostOwners, Doc: "a process holding the socket (the lowest pid, as netstat -p shows); NULL when no visible process holds it. socket_owners lists them all",
			Value: ownerValue(func(o *ownerInfo) any { return int64(o.pid) })},
		{Name: "program", Type: Text, Cost: CostOwners | CostProgram, Doc: programDoc,
			Value: ownerValue(func(o *ownerInfo) any { return o.program })},
		{Name: "fd", Type: Integer, Cost: CostOwners, Doc: "that process's lowest file descriptor for the socket",
			Value: ownerValue(func(o *ownerInfo) any { return int64(o.fd) })},
		{Name: "bound_interface", Type: Text, Doc: "device the socket is bound to (SO_BINDTODEVICE, or the interface of the link-local IPv6 address it uses), as ss prints it after % in addr%dev:port; NULL when unbound, for unix sockets, and when read from /proc/net (--proc), which does not show it. Its ifindex as text if the device is gone",
			Value: func(r *socketRecord) any {
				if r.BoundIf == 0 {
					return nil
				}
				return nameOr(r.ifnames, int(r.BoundIf))
			}},
		{Name: "unit", Type: Text, Cost: CostOwners | CostCgroup, Doc: "the systemd unit of that process (processes.unit): nginx.service, session-3.scope, docker-ID.scope; NULL when none or no visible process holds the socket",
			Value: ownerCgroupValue(func(a *cgroup.Attribution) string { return a.Unit })},
		{Name: "container_id", Type: Text, Cost: CostOwners | CostCgroup, Doc: "the container that process runs in (processes.container_id): Docker, containerd, CRI-O or Podman's 64-hex id; NULL when none or no visible process holds the socket",
			Value: ownerCgroupValue(func(a *cgroup.Attribution) string { return a.ContainerID })},
		{Name: "path", Type: Text, Doc: "unix socket path; abstract names start with @; NULL when unbound or not unix",
			Value: func(r *socketRecord) any { return nullIfEmpty(r.Path) }},
		{Name: "type", Type: Text, Values: typeWords, Doc: "socket type: STREAM, DGRAM, SEQPACKET, RAW",
			Value: func(r *socketRecord) any { return typeName(r.Socket) }},
		{Name: "peer_inode", Type: Integer, Doc: "unix: inode of the connected peer socket (NULL when none or unknown)",
			Value: func(r *socketRecord) any { return nullIfZero(r.PeerInode) }},
		{Name: "timer", Type: Text, Values: timerWords, Doc: "pending timer as netstat -o names it: off, on (retransmit), keepalive, timewait, probe (NULL for unix)",
			Value: notUnix(func(r *socketRecord) any { return timerName(r.Timer) })},
		{Name: "timer_expires", Type: Real, Doc: "seconds until the timer fires (NULL for unix)",
			Value: notUnix(func(r *socketRecord) any { return float64(r.TimerExpiresMs) / 1000 })},
		{Name: "retransmits", Type: Integer, Doc: "retransmissions (or keepalive probes) of the pending timer, as netstat -o shows (NULL for unix)",
			Value: notUnix(func(r *socketRecord) any { return int64(r.Retransmits) })},
		{Name: "probes", Type: Integer, Doc: "TCP: unanswered keepalive or zero-window probes (netstat -o's third number), from /proc/net/tcp; NULL for others and for a socket /proc/net/tcp did not show",
			Value: onlyTCP(procNetValue(func(r *socketRecord) any { return int64(r.Probes) }))},
		{Name: "kernel_state", Type: Integer, Doc: "the kernel's state number as /proc/net prints it (1 ESTABLISHED ... 7 CLOSE, 10 LISTEN); netstat -w shows it for raw sockets (NULL for unix)",
			Value: notUnix(func(r *socketRecord) any { return int64(r.State) })},
		{Name: "refcnt", Type: Integer, Doc: "unix: the kernel's reference count (netstat -x RefCnt), from /proc/net/unix; NULL for inet and for a socket /proc/net/unix did not show",
			Value: onlyUnix(procNetValue(func(r *socketRecord) any { return int64(r.RefCount) }))},
		{Name: "flags", Type: Text, Doc: "unix: netstat -x's flag words, ACC for a listener, '' for none, from /proc/net/unix; NULL for inet and for a socket /proc/net/unix did not show",
			Value: onlyUnix(procNetValue(func(r *socketRecord) any { return unixFlagWords(r.UnixFlags) }))},
	}, append(internalsColumns(), Column[socketRecord]{
		Name: "cookie", Type: Integer, Doc: "the kernel's socket cookie (NULL when read from /proc)",
		Value: func(r *socketRecord) any { return nullIfZero(r.Cookie) }})...),
	Rows:   readSockets,
	Stream: streamSockets,
	Pack:   packSockets,
	Key:    socketKey,
	Kill:   socketKiller,
}

func readSockets(ctx context.Context, src *Source, q *Query) ([]socketRecord, error) {
	req, ok := socketRequest(q)
	if !ok {
		return nil, nil // the constraints exclude every socket
	}
	socks, err := readSocketList(ctx, src, q, req)
	if err != nil {
		return nil, fmt.Errorf("sockets: %w", err)
	}
	recs := make([]socketRecord, len(socks))
	for i := range socks {
		recs[i] = socketRecord{Socket: &socks[i]}
	}
	if q.Needs(CostUserName) {
		for i := range recs {
			recs[i].user = src.UserName(recs[i].UID)
		}
	}
	if q.Needs(CostOwners) {
		if err := attachOwners(ctx, src, recs, q.Needs(CostCgroup)); err != nil {
			return nil, err
		}
	}
	if q.Uses("bound_interface") {
		if err := attachBoundInterfaces(ctx, src, recs); err != nil {
			return nil, err
		}
	}
	return recs, nil
}

// attachBoundInterfaces gives the records the interface names of the
// socket's namespace, read with one rtnetlink link dump there, when some
// socket is bound to a device.
func attachBoundInterfaces(ctx context.Context, src *Source, recs []socketRecord) error {
	bound := slices.ContainsFunc(recs, func(r socketRecord) bool { return r.BoundIf != 0 })
	if !bound {
		return nil
	}
	c, err := dialRoute(src, "sockets: bound_interface")
	if err != nil {
		return err
	}
	defer c.Close()
	names, err := linkNames(ctx, c)
	if err != nil {
		return fmt.Errorf("sockets: bound_interface: %w", err)
	}
	for i := range recs {
		recs[i].ifnames = names
	}
	return nil
}

// notUnix, onlyUnix and onlyTCP make a column NULL for the sockets it
// does not describe.
func notUnix(get func(*socketRecord) any) func(*socketRecord) any {
	return func(r *socketRecord) any {
		if r.Protocol == sock.UNIX {
			return nil
		}
		return get(r)
	}
}

func onlyUnix(get func(*socketRecord) any) func(*socketRecord) any {
	return func(r *socketRecord) any {
		if r.Protocol != sock.UNIX {
			return nil
		}
		return get(r)
	}
}

func onlyTCP(get func(*socketRecord) any) func(*socketRecord) any {
	return func(r *socketRecord) any {
		if r.Protocol != sock.TCP {
			return nil
		}
		return get(r)
	}
}

// procNetValue makes a /proc/net-only column NULL for a socket whose
// /proc/net line was not found.
func procNetValue(get func(*socketRecord) any) func(*socketRecord) any {
	return func(r *socketRecord) any {
		if !r.ProcNet {
			return nil
		}
		return get(r)
	}
}

// queueValue reads a queue column: NULL when the source has no queues.
func queueValue(get func(*socketRecord) uint32) func(*socketRecord) any {
	return func(r *socketRecord) any {
		if r.NoQueues {
			return nil
		}
		return int64(get(r))
	}
}

// ownerValue reads an owner column: NULL when no visible process holds
// the socket (or the statement did not ask for owners).
func ownerValue(get func(*ownerInfo) any) func(*socketRecord) any {
	return func(r *socketRecord) any {
		if r.owner == nil {
			return nil
		}
		return get(r.owner)
	}
}

// ownerCgroupValue reads a column of the owner's cgroup: NULL when no
// visible process holds the socket or the field is unknown.
func ownerCgroupValue(get func(*cgroup.Attribution) string) func(*socketRecord) any {
	return ownerValue(func(o *ownerInfo) any {
		if o.cg == nil {
			return nil
		}
		return nullIfEmpty(get(o.cg))
	})
}

// socketKey identifies a socket across reads: the inode for sockets a
// file holds, the address pair for the rest (TIME_WAIT has inode 0).
func socketKey(r *socketRecord) string {
	b := make([]byte, 0, 56)
	b = append(b, r.Family, uint8(r.Protocol))
	for _, ap := range [2]netip.AddrPort{r.Local, r.Remote} {
		a := ap.Addr().As16()
		b = append(b, byte(ap.Addr().BitLen()))
		b = append(b, a[:]...)
		b = binary.BigEndian.AppendUint16(b, ap.Port())
	}
	b = binary.BigEndian.AppendUint64(b, r.Inode)
	return string(b)
}

// attachOwners finds, for every socket with an inode, the process netstat
// -p would name: the lowest pid holding it, and in it the lowest fd. With
// withCgroup it also reads each such process's cgroup, once per process.
func attachOwners(ctx context.Context, src *Source, recs []socketRecord, withCgroup bool) error {
	want := make(map[uint64]struct{}, len(recs))
	for i := range recs {
		if recs[i].Inode != 0 {
			want[recs[i].Inode] = struct{}{}
		}
	}
	if len(want) == 0 {
		return nil
	}
	owners, err := scanOwners(ctx, src, want, withCgroup)
	if err != nil {
		return err
	}
	infos := make([]ownerInfo, 0, len(want)) // one allocation for every owner
	unowned := false
	for i := range recs {
		if recs[i].Inode == 0 {
			continue
		}
		o, ok := owners.lookup(recs[i].Inode)
		if !ok {
			unowned = true
			continue
		}
		infos = append(infos, o)
		recs[i].owner = &infos[len(infos)-1]
	}
	if unowned && owners.idx.Denied() > 0 {
		src.Notice(deniedNotice(owners.idx.Denied()))
	}
	return nil
}

// deniedNotice explains NULL owners, as netstat's "Not all processes could
// be identified" does.
func deniedNotice(n int) Notice {
	if os.Geteuid() != 0 {
		return Notice{NoticeOwnersDenied, "netsql: not all processes could be identified: other users' sockets show pid NULL; run as root to see them all"}
	}
	return Notice{NoticeOwnersDenied, fmt.Sprintf("netsql: the file descriptors of %d process(es) could not be read; sockets only they hold show pid NULL", n)}
}

// programNames caches per-pid program names for one read.
type programNames struct {
	src   *Source
	names map[int]any
}

func newProgramNames(src *Source) *programNames {
	return &programNames{src: src, names: map[int]any{}}
}

// programDoc documents every program column: they all hold what netstat
// -p prints after "PID/".
const programDoc = "the process's name as netstat -p prints it after PID/: argv[0], its directory dropped when the path is absolute; '' when argv[0] is empty (kernel threads, exec -a '', an all-NUL argv); NULL when the process exited before it was read"

// get returns pid's program as netstat -p prints it (procs.Process.Program,
// never comm: netstat prints "PID/" for an empty argv[0]), or nil when the
// process could not be read. Reading its cmdline can block on the
// process's mmap lock: err is set when ctx ends first.
func (p *programNames) get(ctx context.Context, pid int) (any, error) {
	if n, ok := p.names[pid]; ok {
		return n, nil
	}
	var n any
	pr, err := fileread.ReadContext(ctx, func() (procs.Process, error) { return procs.ReadProcess(p.src.ProcRoot, pid) })
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err == nil {
		n = pr.Program
	}
	p.names[pid] = n
	return n, nil
}

// stateMatch says which protocols a state name applies to and which kernel
// state bits it selects for them.
type stateMatch struct {
	protos []sock.Proto
	mask   uint32
}

func bit(states ...uint8) uint32 {
	var m uint32
	for _, s := range states {
		m |= 1 << s
	}
	return m
}

var (
	inetTransports = []sock.Proto{sock.TCP, sock.UDP, sock.UDPLite, sock.RAW}
	tcpOnly        = []sock.Proto{sock.TCP}
	unixOnly       = []sock.Proto{sock.UNIX}
)

// stateMatches maps every state name the table prints to its pushdown.
var stateMatches = map[string]stateMatch{
	"ESTABLISHED":   {inetTransports, bit(sock.StateEstablished)},
	"SYN_SENT":      {tcpOnly, bit(sock.StateSynSent)},
	"SYN_RECV":      {tcpOnly, bit(sock.StateSynRecv, sock.StateNewSynRecv)},
	"FIN_WAIT1":     {tcpOnly, bit(sock.StateFinWait1)},
	"FIN_WAIT2":     {tcpOnly, bit(sock.StateFinWait2)},
	"TIME_WAIT":     {tcpOnly, bit(sock.StateTimeWait)},
	"CLOSE":         {tcpOnly, bit(sock.StateClose)},
	"CLOSE_WAIT":    {tcpOnly, bit(sock.StateCloseWait)},
	"LAST_ACK":      {tcpOnly, bit(sock.StateLastAck)},
	"LISTEN":        {tcpOnly, bit(sock.StateListen)},
	"CLOSING":       {tcpOnly, bit(sock.StateClosing)},
	"UNCONN":        {[]sock.Proto{sock.UDP, sock.UDPLite, sock.RAW, sock.UNIX}, bit(sock.StateClose)},
	"LISTENING":     {unixOnly, bit(sock.StateListen)},
	"CONNECTED":     {unixOnly, bit(sock.StateEstablished)},
	"CONNECTING":    {unixOnly, bit(sock.StateSynSent)},
	"DISCONNECTING": {unixOnly, bit(sock.StateCloseWait)},
}

// The closed sets of the sockets table's word columns, derived from the
// tables the words come from: a new protocol or state is added there only.
var (
	protoWords     = closedSet(allFamProtos, func(c famProto) string { return protoWordOf(c.family, c.proto) })
	socketFamilies = closedSet(allFamProtos, func(c famProto) string { return familyName(c.family) })
	transportWords = closedSet(allFamProtos, func(c famProto) string { return c.proto.String() })
	stateWords     = append(closedSet(mapKeys(stateMatches), func(w string) string { return w }), "UNKNOWN")
	typeWords      = closedSet(socketKinds(), typeName)
	timerWords     = append(closedSet(timerNames[:], func(w string) string { return w }), timerName(255))
)

// socketKinds is one socket of every protocol and unix type, for typeWords.
func socketKinds() []*sock.Socket {
	var out []*sock.Socket
	for _, c := range allFamProtos {
		out = append(out, &sock.Socket{Family: c.family, Protocol: c.proto})
	}
	for _, t := range []uint8{sock.TypeStream, sock.TypeDgram, sock.TypeSeqPacket, sock.TypeRaw, 0} {
		out = append(out, &sock.Socket{Family: unix.AF_UNIX, Protocol: sock.UNIX, Type: t})
	}
	return out
}

// stateHelp lists the state words by the transports they apply to.
func stateHelp() string {
	var groups []string
	seen := map[sock.Proto]bool{}
	for _, c := range allFamProtos {
		p := c.proto.String()
		if seen[c.proto] {
			continue
		}
		seen[c.proto] = true
		var words []string
		for _, w := range closedSet(mapKeys(stateMatches), func(w string) string { return w }) {
			for _, q := range stateMatches[w].protos {
				if q.String() == p {
					words = append(words, w)
				}
			}
		}
		groups = append(groups, p+": "+strings.Join(words, ", "))
	}
	return strings.Join(groups, "; ") + "; UNKNOWN for a state netsql has no name for"
}

func mapKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

type famProto struct {
	family uint8
	proto  sock.Proto
}

// allFamProtos lists every (family, transport) the table holds, derived
// from sock.Protos: unix in AF_UNIX, every other transport in AF_INET and
// AF_INET6.
var allFamProtos = func() []famProto {
	var out []famProto
	for _, p := range sock.Protos {
		if p == sock.UNIX {
			out = append(out, famProto{unix.AF_UNIX, p})
			continue
		}
		out = append(out, famProto{unix.AF_INET, p}, famProto{unix.AF_INET6, p})
	}
	return out
}()

// socketRequest turns the pushed-down constraints into the kernel request.
// ok is false when they cannot match any socket.
func socketRequest(q *Query) (req sock.Request, ok bool) {
	combos := append([]famProto(nil), allFamProtos...)
	keep := func(pred func(famProto) bool) {
		out := combos[:0]
		for _, c := range combos {
			if pred(c) {
				out = append(out, c)
			}
		}
		combos = out
	}
	for _, v := range q.Values("proto", sqlvtab.OpEQ) {
		keep(func(c famProto) bool { return v == protoWordOf(c.family, c.proto) })
	}
	for _, v := range q.Values("family", sqlvtab.OpEQ) {
		keep(func(c famProto) bool { return v == familyName(c.family) })
	}
	for _, v := range q.Values("protocol", sqlvtab.OpEQ) {
		keep(func(c famProto) bool { return v == c.proto.String() })
	}
	mask := sock.AllStates
	for _, v := range q.Values("state", sqlvtab.OpEQ) {
		name, _ := v.(string)
		m, known := stateMatches[name]
		if !known {
			continue // UNKNOWN: no state to ask the kernel for
		}
		keep(func(c famProto) bool { return containsProto(m.protos, c.proto) })
		mask &= m.mask
	}
	if len(combos) == 0 || mask == 0 {
		return req, false
	}
	if req.Filter, ok = socketFilter(q); !ok {
		return req, false
	}
	req.Extras = requestedExtras(q)
	if mask != sock.AllStates {
		req.States = mask
	}
	for _, c := range combos {
		if !containsU8(req.Families, c.family) {
			req.Families = append(req.Families, c.family)
		}
		if !containsProto(req.Protocols, c.proto) {
			req.Protocols = append(req.Protocols, c.proto)
		}
	}
	return req, true
}

func containsProto(ps []sock.Proto, p sock.Proto) bool {
	for _, x := range ps {
		if x == p {
			return true
		}
	}
	return false
}

func containsU8(xs []uint8, x uint8) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func familyName(f uint8) string {
	switch f {
	case unix.AF_INET:
		return "inet"
	case unix.AF_INET6:
		return "inet6"
	case unix.AF_UNIX:
		return "unix"
	}
	return fmt.Sprintf("af%d", f)
}

func protoWordOf(family uint8, p sock.Proto) string {
	if family == unix.AF_INET6 {
		return p.NetstatWord() + "6"
	}
	return p.NetstatWord()
}

func protoWord(s *sock.Socket) string { return protoWordOf(s.Family, s.Protocol) }

func addrText(s *sock.Socket, a interface{ String() string }) any {
	if s.Protocol == sock.UNIX {
		return nil
	}
	return a.String()
}

func portValue(s *sock.Socket, p uint16) any {
	if s.Protocol == sock.UNIX {
		return nil
	}
	return int64(p)
}

// nullIfEmpty is s, or NULL when s is empty.
func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// nullIfZero is v as an INTEGER, or NULL when v is 0.
func nullIfZero(v uint64) any {
	if v == 0 {
		return nil
	}
	return int64(v)
}

var tcpStateNames = [...]string{
	sock.StateEstablished: "ESTABLISHED",
	sock.StateSynSent:     "SYN_SENT",
	sock.StateSynRecv:     "SYN_RECV",
	sock.StateFinWait1:    "FIN_WAIT1",
	sock.StateFinWait2:    "FIN_WAIT2",
	sock.StateTimeWait:    "TIME_WAIT",
	sock.StateClose:       "CLOSE",
	sock.StateCloseWait:   "CLOSE_WAIT",
	sock.StateLastAck:     "LAST_ACK",
	sock.StateListen:      "LISTEN",
	sock.StateClosing:     "CLOSING",
	sock.StateNewSynRecv:  "SYN_RECV",
}

func stateName(s *sock.Socket) string {
	switch s.Protocol {
	case sock.TCP:
		if int(s.State) < len(tcpStateNames) && tcpStateNames[s.State] != "" {
			return tcpStateNames[s.State]
		}
		return "UNKNOWN"
	case sock.UNIX:
		switch s.State {
		case sock.StateListen:
			return "LISTENING"
		case sock.StateEstablished:
			return "CONNECTED"
		case sock.StateSynSent:
			return "CONNECTING"
		case sock.StateCloseWait:
			return "DISCONNECTING"
		case sock.StateClose:
			return "UNCONN"
		}
		return "UNKNOWN"
	}
	switch s.State {
	case sock.StateEstablished:
		return "ESTABLISHED"
	case sock.StateClose:
		return "UNCONN"
	}
	return "UNKNOWN"
}

func typeName(s *sock.Socket) string {
	switch s.Protocol {
	case sock.TCP:
		return "STREAM"
	case sock.UDP, sock.UDPLite:
		return "DGRAM"
	case sock.RAW:
		return "RAW"
	}
	switch s.Type {
	case sock.TypeStream:
		return "STREAM"
	case sock.TypeDgram:
		return "DGRAM"
	case sock.TypeSeqPacket:
		return "SEQPACKET"
	case sock.TypeRaw:
		return "RAW"
	}
	return "UNKNOWN"
}

var timerNames = [...]string{"off", "on", "keepalive", "timewait", "probe"}

func timerName(t uint8) string {
	if int(t) < len(timerNames) {
		return timerNames[t]
	}
	return "unknown"
}
