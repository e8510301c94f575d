package vtab

// NoticeKind says what a notice is about, so a caller can act on a kind
// of notice (netstat mode rewords the owners one) without matching its
// wording.
type NoticeKind int

// The kinds of notice the engine sends.
const (
	// NoticeInfo is any other notice: print it as it is.
	NoticeInfo NoticeKind = iota
	// NoticeOwnersDenied: some processes' file descriptors could not be
	// read, so sockets only they hold show pid NULL (netstat's "Not all
	// processes could be identified").
	NoticeOwnersDenied
	// NoticeFallback: a kernel interface refused, and the engine reads
	// another (sock_diag refused: /proc/net instead).
	NoticeFallback
	// NoticeMissing: a file the table reads is missing from a /proc
	// tree; the table is empty.
	NoticeMissing
	// NoticeIncomplete: the source cannot tell some values (a /proc tree
	// without what only netlink carries, sysfs unreadable inside a
	// namespace); they are left out or NULL.
	NoticeIncomplete
	// NoticeSkippedNamespace: a namespace '*' chose could not be read and
	// is left out of the answer.
	NoticeSkippedNamespace
)

// Notice is one line meant for the user: what it is about, and the line.
type Notice struct {
	Kind NoticeKind
	Msg  string
}

// String returns the notice's line.
func (n Notice) String() string { return n.Msg }
