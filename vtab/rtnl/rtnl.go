// Package rtnl reads links, addresses, routes and neighbours from the kernel
// through rtnetlink (NETLINK_ROUTE), using only golang.org/x/sys/unix.
//
// A Client owns one netlink socket and reuses it across dumps; DialNetNS
// opens that socket inside another network namespace. Decoding is done by
// pure functions over []byte (ParseLinks, ParseAddresses, ParseRoutes,
// ParseNeighbors), so tables can be tested on canned message bytes:
// Client.Record keeps a namespace's dump replies as the kernel sent them
// (a Recording) and Replay answers a Client's requests from one.
package rtnl

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/netsql/netsql/vtab/netlink"
)

// maxAttempts bounds how often a dump is redone after NLM_F_DUMP_INTR or
// ENOBUFS before the error is returned (the netlink core's policy).
const maxAttempts = netlink.MaxAttempts

// ErrClosed is returned by a Client used after Close.
var ErrClosed = errors.New("rtnl: client closed")

// Client is one NETLINK_ROUTE socket, reused across dumps. Its methods may
// be called from several goroutines; requests are serialised. The netlink
// core (vtab/netlink) does the I/O; this package builds the requests and
// parses the replies.
type Client struct {
	mu      sync.Mutex
	conn    transport                       // nil once closed
	open    func() (transport, bool, error) // makes a fresh socket in the same namespace
	release func()                          // frees what open needs (the netns handle)
	strict  bool                            // NETLINK_GET_STRICT_CHK accepted: the kernel filters dumps
	dirty   bool                            // a reply was abandoned mid-way: reopen before the next request
	nl      *netlink.Conn                   // runs requests over conn; made on first use
}

// transport is the socket under a Client; tests substitute a fake.
type transport interface {
	send(req []byte) error
	recv(ctx context.Context) ([]byte, error)
	close() error
}

// sockTransport is a real netlink socket as a transport.
type sockTransport struct{ s *netlink.Socket }

func (t sockTransport) send(req []byte) error                    { return t.s.Send(req) }
func (t sockTransport) recv(ctx context.Context) ([]byte, error) { return t.s.Receive(ctx) }
func (t sockTransport) close() error                             { return t.s.Close() }

// coreTransport presents any other transport (a test's fake) to the core.
type coreTransport struct{ t transport }

func (t coreTransport) Send(req []byte) error                       { return t.t.send(req) }
func (t coreTransport) Receive(ctx context.Context) ([]byte, error) { return t.t.recv(ctx) }
func (t coreTransport) Close() error                                { return t.t.close() }

func toCore(t transport) netlink.Transport {
	if s, ok := t.(sockTransport); ok {
		return s.s
	}
	return coreTransport{t}
}

// core returns the netlink connection over c.conn; its redials go through
// c.open, so they land in the same namespace.
func (c *Client) core() *netlink.Conn {
	if c.nl == nil {
		c.nl = netlink.NewConn(toCore(c.conn), func() (netlink.Transport, error) {
			t, strict, err := c.open()
			if err != nil {
				return nil, err
			}
			c.conn, c.strict = t, strict
			return toCore(t), nil
		})
	}
	return c.nl
}

// dialRoute makes a NETLINK_ROUTE socket in the namespace at path ("" for
// the calling thread's).
func dialRoute(path string) (transport, bool, error) {
	s, err := netlink.Dial(netlink.Config{Protocol: unix.NETLINK_ROUTE, NetNS: path, Strict: true})
	if err != nil {
		return nil, false, err
	}
	return sockTransport{s}, s.Strict(), nil
}

// Dial opens a NETLINK_ROUTE socket in the calling thread's network
// namespace (normally the process's).
func Dial() (*Client, error) {
	open := func() (transport, bool, error) { return dialRoute("") }
	conn, strict, err := open()
	if err != nil {
		return nil, fmt.Errorf("rtnl: dial: %w", err)
	}
	return &Client{conn: conn, open: open, strict: strict}, nil
}

// DialNetNS opens a NETLINK_ROUTE socket inside the network namespace named
// by path (e.g. /run/netns/NAME or /proc/PID/ns/net). The socket is created
// on a locked OS thread that enters the namespace with setns(2) and then
// returns to its original namespace (netns.Do). The Client keeps the
// namespace open until Close so the socket can be reopened after an
// aborted dump. It needs CAP_SYS_ADMIN.
func DialNetNS(path string) (*Client, error) {
	pinned, release, err := netlink.PinNetNS(path)
	if err != nil {
		return nil, fmt.Errorf("rtnl: dial netns %s: %w", path, err)
	}
	open := func() (transport, bool, error) { return dialRoute(pinned) }
	conn, strict, err := open()
	if err != nil {
		release()
		return nil, fmt.Errorf("rtnl: dial netns %s: %w", path, err)
	}
	return &Client{conn: conn, open: open, strict: strict, release: release}, nil
}

// Close closes the socket (and the namespace handle of DialNetNS).
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return nil
	}
	err := c.conn.close()
	c.conn, c.nl = nil, nil
	if c.release != nil {
		c.release()
		c.release = nil
	}
	if err != nil {
		return fmt.Errorf("rtnl: close: %w", err)
	}
	return nil
}
