package netlink

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/netsql/netsql/vtab/internal/nstest"
)

// dialRoute makes a NETLINK_ROUTE socket, skipping when the kernel refuses.
func dialRoute(t *testing.T, cfg Config) *Socket {
	t.Helper()
	cfg.Protocol = unix.NETLINK_ROUTE
	s, err := Dial(cfg)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestLiveReceiveCancel: a receive blocked on a socket the kernel has
// nothing for returns when its context is cancelled, with the context's
// error, whatever the reply timeout.
func TestLiveReceiveCancel(t *testing.T) {
	s := dialRoute(t, Config{ReplyTimeout: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := s.Receive(ctx)
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond) // let it block (it returns either way)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	// The socket still works after a cancelled receive.
	links := dumpLinks(t, NewConn(s, nil))
	if !slices.Contains(links, "lo") {
		t.Errorf("links after cancel: %v", links)
	}
}

// TestLiveReceiveDeadline: a context deadline reaches a blocked receive
// (context.DeadlineExceeded), and without one the reply timeout does
// (ErrNoReply).
func TestLiveReceiveDeadline(t *testing.T) {
	s := dialRoute(t, Config{ReplyTimeout: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := s.Receive(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("deadline: err = %v", err)
	}
	s2 := dialRoute(t, Config{ReplyTimeout: 30 * time.Millisecond})
	if _, err := s2.Receive(context.Background()); !errors.Is(err, ErrNoReply) {
		t.Fatalf("reply timeout: err = %v", err)
	}
}

func dumpLinks(t *testing.T, c *Conn) []string {
	t.Helper()
	var names []string
	req := NewRequest(unix.RTM_GETLINK, unix.NLM_F_REQUEST|unix.NLM_F_DUMP, make([]byte, unix.SizeofIfInfomsg))
	err := c.Dump(context.Background(), req, func() { names = names[:0] }, func(m Message) error {
		if m.Type != unix.RTM_NEWLINK || len(m.Payload) < unix.SizeofIfInfomsg {
			return nil
		}
		it := Attrs(m.Payload[unix.SizeofIfInfomsg:])
		for it.Next() {
			if a := it.Attr(); a.Type() == unix.IFLA_IFNAME {
				names = append(names, CString(a.Value))
			}
		}
		return it.Err()
	})
	if err != nil {
		t.Fatalf("dump links: %v", err)
	}
	slices.Sort(names)
	return names
}

// TestLiveNamespaceAndSmallBuffer dials into a namespace the test made and
// dumps its links through a receive buffer far smaller than one reply
// datagram: the datagram is lost, the buffer grows and the dump is redone
// on a fresh socket in the same namespace, so the answer is complete
// (rtnl used to peek every datagram's size; sockdiag failed the query).
func TestLiveNamespaceAndSmallBuffer(t *testing.T) {
	n := nstest.New(t, "nlcore", "veth0")
	c, err := DialConn(Config{Protocol: unix.NETLINK_ROUTE, NetNS: n.Path(), BufSize: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got := dumpLinks(t, c)
	if want := []string{"lo", "veth0"}; !slices.Equal(got, want) {
		t.Fatalf("links in %s: %v, want %v", n.NS, got, want)
	}
	if s := c.Transport().(*Socket); len(s.buf) <= 64 {
		t.Errorf("buffer did not grow: %d bytes", len(s.buf))
	}
	// A kernel error comes back with its extended-ack text.
	bad := NewRequest(unix.RTM_GETROUTE, unix.NLM_F_REQUEST|unix.NLM_F_DUMP, []byte{unix.AF_INET, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	strictConn, err := DialConn(Config{Protocol: unix.NETLINK_ROUTE, NetNS: n.Path(), Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	defer strictConn.Close()
	if !strictConn.Transport().(*Socket).Strict() {
		t.Skip("kernel without NETLINK_GET_STRICT_CHK")
	}
	bad = append(bad, AppendAttrU32(nil, unix.RTA_TABLE, 4242)...)
	SetLen(bad)
	err = strictConn.Dump(context.Background(), bad, nil, func(Message) error { return nil })
	var ke *Error
	if !errors.As(err, &ke) || ke.Errno != unix.ENOENT || ke.Msg == "" {
		t.Errorf("dump of a missing table: err = %v, want ENOENT with the kernel's message", err)
	}
}
