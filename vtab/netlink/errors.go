package netlink

import "golang.org/x/sys/unix"

// Error is the kernel's answer to a failed request: the errno of an
// NLMSG_ERROR (or of an NLMSG_DONE that ended a dump early) plus the
// extended-ack message (NLMSGERR_ATTR_MSG) when the kernel sent one. It
// unwraps to the unix.Errno, so errors.Is(err, unix.ENOENT) works.
type Error struct {
	Errno unix.Errno
	Msg   string // NLMSGERR_ATTR_MSG; may be empty
}

// Error returns the errno text, then the kernel's message in parentheses.
func (e *Error) Error() string {
	if e.Msg != "" {
		return e.Errno.Error() + " (" + e.Msg + ")"
	}
	return e.Errno.Error()
}

// Unwrap returns the errno.
func (e *Error) Unwrap() error { return e.Errno }

// ParseError decodes an NLMSG_ERROR payload (struct nlmsgerr and any
// extended-ack attributes): nil for an ACK (error 0), otherwise an *Error.
// flags are the message's nlmsg_flags, which say whether the echoed
// request was capped (NLM_F_CAPPED) and whether ack TLVs follow
// (NLM_F_ACK_TLVS).
func ParseError(flags uint16, p []byte) error {
	if len(p) < 4 {
		return malformed("NLMSG_ERROR of %d bytes", len(p))
	}
	code := int32(ne.Uint32(p[0:4]))
	if code == 0 {
		return nil
	}
	e := &Error{Errno: errno(code)}
	if flags&unix.NLM_F_ACK_TLVS == 0 || len(p) < 4+HeaderLen {
		return e
	}
	off := 4 + HeaderLen
	if flags&unix.NLM_F_CAPPED == 0 {
		// The whole request was echoed before the TLVs.
		off = 4 + Align(int(ne.Uint32(p[4:8])))
	}
	if off > 0 && off < len(p) {
		e.Msg = extAckMsg(p[off:])
	}
	return e
}

// DoneError decodes the optional int in an NLMSG_DONE payload: a negative
// value is an error that ended the dump (extended-ack attributes may
// follow it), anything else is nil.
func DoneError(p []byte) error {
	if len(p) < 4 {
		return nil
	}
	code := int32(ne.Uint32(p[0:4]))
	if code >= 0 {
		return nil
	}
	return &Error{Errno: errno(code), Msg: extAckMsg(p[4:])}
}

func errno(code int32) unix.Errno {
	if code < 0 {
		return unix.Errno(-int64(code))
	}
	return unix.Errno(code)
}

// extAckMsg returns NLMSGERR_ATTR_MSG from extended-ack attributes, or "".
func extAckMsg(b []byte) string {
	it := Attrs(b)
	for it.Next() {
		if a := it.Attr(); a.Type() == unix.NLMSGERR_ATTR_MSG {
			return CString(a.Value)
		}
	}
	return ""
}

// CString returns an attribute string up to its NUL terminator.
func CString(v []byte) string {
	for i, c := range v {
		if c == 0 {
			return string(v[:i])
		}
	}
	return string(v)
}
