// Package rtnl reads links, addresses, routes and neighbours from the kernel
// through rtnetlink (NETLINK_ROUTE), using only golang.org/x/sys/unix.
//
// A Client owns one netlink socket and reuses it across dumps; DialNetNS
// opens that socket inside another network namespace. Decoding is done by
// pure functions over []byte (ParseLinks, ParseAddresses, ParseRoutes,
// ParseNeighbors), so tables can be tested on canned message bytes.
package rtnl

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/netsql/netsql/vtab/netns"
)

// maxAttempts bounds how often a dump is redone after NLM_F_DUMP_INTR or
// ENOBUFS before the error is returned.
const maxAttempts = 3

// ErrClosed is returned by a Client used after Close.
var ErrClosed = errors.New("rtnl: client closed")

// Client is one NETLINK_ROUTE socket, reused across dumps. Its methods may
// be called from several goroutines; requests are serialised.
type Client struct {
	mu      sync.Mutex
	conn    transport                       // nil once closed
	open    func() (transport, bool, error) // makes a fresh socket in the same namespace
	release func()                          // frees what open needs (the netns handle)
	strict  bool                            // NETLINK_GET_STRICT_CHK accepted: the kernel filters dumps
	dirty   bool                            // a reply was abandoned mid-way: reopen before the next request
	seq     uint32
}

// transport is the socket under a Client; tests substitute a fake.
type transport interface {
	send(req []byte) error
	recv(ctx context.Context) ([]byte, error)
	close() error
}

// Dial opens a NETLINK_ROUTE socket in the calling thread's network
// namespace (normally the process's).
func Dial() (*Client, error) {
	open := func() (transport, bool, error) { return openSocket() }
	conn, strict, err := open()
	if err != nil {
		return nil, fmt.Errorf("rtnl: dial: %w", err)
	}
	return &Client{conn: conn, open: open, strict: strict}, nil
}

// DialNetNS opens a NETLINK_ROUTE socket inside the network namespace named
// by path (e.g. /run/netns/NAME or /proc/PID/ns/net). The socket is created
// on a locked OS thread that enters the namespace with setns(2) and then
// returns to its original namespace; if that return fails the thread is
// left locked so the runtime discards it. The Client keeps the namespace
// open until Close so the socket can be reopened after an aborted dump.
// It needs CAP_SYS_ADMIN.
func DialNetNS(path string) (*Client, error) {
	nsfd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("rtnl: dial netns %s: %w", path, err)
	}
	// Reopening through our own descriptor finds the same namespace even
	// if its /run/netns name was removed meanwhile.
	pinned := fmt.Sprintf("/proc/self/fd/%d", nsfd)
	open := func() (transport, bool, error) { return openSocketIn(pinned) }
	conn, strict, err := open()
	if err != nil {
		unix.Close(nsfd)
		return nil, fmt.Errorf("rtnl: dial netns %s: %w", path, err)
	}
	return &Client{conn: conn, open: open, strict: strict, release: func() { unix.Close(nsfd) }}, nil
}

// Close closes the socket (and the namespace handle of DialNetNS).
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return nil
	}
	err := c.conn.close()
	c.conn = nil
	if c.release != nil {
		c.release()
		c.release = nil
	}
	if err != nil {
		return fmt.Errorf("rtnl: close: %w", err)
	}
	return nil
}

// sockConn is a netlink socket and its receive buffer.
type sockConn struct {
	fd  int
	buf []byte
}

func (s *sockConn) close() error { return unix.Close(s.fd) }

// openSocket creates, binds and configures a NETLINK_ROUTE socket in the
// calling thread's network namespace. strict reports whether the kernel
// accepted NETLINK_GET_STRICT_CHK (Linux 4.20+).
func openSocket() (*sockConn, bool, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, false, os.NewSyscallError("socket", err)
	}
	strict, err := configureSocket(fd)
	if err != nil {
		unix.Close(fd)
		return nil, false, err
	}
	return &sockConn{fd: fd}, strict, nil
}

func configureSocket(fd int) (strict bool, err error) {
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return false, os.NewSyscallError("bind", err)
	}
	// Best effort: extended acks carry the kernel's error text; capped acks
	// keep error replies small; a larger buffer makes ENOBUFS rarer.
	_ = unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_EXT_ACK, 1)
	_ = unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_CAP_ACK, 1)
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 1<<20)
	// A short receive timeout lets a blocked read notice a cancelled context.
	tv := unix.NsecToTimeval(recvPoll.Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return false, os.NewSyscallError("setsockopt SO_RCVTIMEO", err)
	}
	strict = unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_GET_STRICT_CHK, 1) == nil
	return strict, nil
}

// openSocketIn creates a configured NETLINK_ROUTE socket inside the
// namespace file at path (netns.Do: a locked thread joins it, creates the
// socket and returns; sockets stay in the namespace they were made in).
func openSocketIn(path string) (transport, bool, error) {
	fd := -1
	err := netns.Do(path, func() error {
		var err error
		fd, err = unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
		return os.NewSyscallError("socket", err)
	})
	if err != nil {
		return nil, false, err
	}
	strict, err := configureSocket(fd)
	if err != nil {
		unix.Close(fd)
		return nil, false, err
	}
	return &sockConn{fd: fd}, strict, nil
}

// reopen replaces the socket after a reply was abandoned part-way, so that
// no stale dump state (the kernel refuses a second concurrent dump with
// EBUSY) or queued messages leak into the next request.
func (c *Client) reopen() error {
	conn, strict, err := c.open()
	if err != nil {
		return fmt.Errorf("reopen socket: %w", err)
	}
	c.conn.close()
	c.conn, c.strict, c.dirty = conn, strict, false
	return nil
}
