package netlink

import (
	"testing"

	"golang.org/x/sys/unix"
)

// FuzzFraming feeds arbitrary datagrams to the framing code: the message
// and attribute iterators and a dump's reply handling. Seeds are real
// kernel replies (testdata/replies: rtnetlink links, addresses and routes,
// sock_diag TCP and unix dumps) and built edge cases. Nothing may panic,
// read outside the datagram or loop; every payload and attribute value
// lies inside it.
func FuzzFraming(f *testing.F) {
	for _, b := range replies(f) {
		f.Add(b)
	}
	f.Add(msg(unix.NLMSG_ERROR, unix.NLM_F_ACK_TLVS, 0, append(ne.AppendUint32(nil, negErrno(unix.EINVAL)), make([]byte, 20)...)))
	f.Add(msg(unix.NLMSG_DONE, 0, 0, []byte{0xfb, 0xff, 0xff, 0xff, 8, 0, 1, 0, 'x', 0}))
	f.Fuzz(func(t *testing.T, b []byte) {
		inside := func(p []byte) {
			if len(p) == 0 {
				return
			}
			if len(p) > len(b) {
				t.Fatalf("slice of %d bytes outside a %d-byte datagram", len(p), len(b))
			}
		}
		it := Messages(b)
		n := 0
		for it.Next() {
			m := it.Message()
			inside(m.Payload)
			n++
			if n > len(b)/HeaderLen {
				t.Fatalf("%d messages in %d bytes", n, len(b))
			}
			var check func(p []byte, depth int)
			check = func(p []byte, depth int) {
				at := Attrs(p)
				k := 0
				for at.Next() {
					a := at.Attr()
					inside(a.Value)
					k++
					if k > len(p)/AttrHeaderLen {
						t.Fatalf("%d attributes in %d bytes", k, len(p))
					}
					if depth < 3 {
						check(a.Value, depth+1)
					}
				}
			}
			check(m.Payload, 0)
			_ = ParseError(m.Flags, m.Payload)
			_ = DoneError(m.Payload)
		}
		for _, dump := range []bool{true, false} {
			st := DumpState{Dump: dump}
			_ = st.Handle(b, func(m Message) error { inside(m.Payload); return nil })
		}
	})
}
