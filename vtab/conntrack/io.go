package conntrack

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/netsql/netsql/vtab/netlink"
	"github.com/netsql/netsql/vtab/netns"
)

func dial(nsPath string) (*netlink.Conn, error) {
	c, err := netlink.DialConn(netlink.Config{Protocol: unix.NETLINK_NETFILTER, NetNS: nsPath})
	if err != nil {
		return nil, fmt.Errorf("conntrack: %w", err)
	}
	return c, nil
}

// Dump streams the flows f selects in the namespace at nsPath ("" for the
// caller's) to fn; the *Flow is reused, so fn copies what it keeps. When
// the kernel redoes an inconsistent dump, reset is called first (fn's
// flows so far are void). A kernel that refuses the mark or zone filter
// (EINVAL, EOPNOTSUPP) gets the dump again with the family only, and the
// mark and zone are checked here.
func Dump(ctx context.Context, nsPath string, f Filter, reset func(), fn func(*Flow) error) error {
	c, err := dial(nsPath)
	if err != nil {
		return err
	}
	defer c.Close()
	err = dump(ctx, c, f, f, reset, fn)
	if (f.HasMark || f.HasZone) && (errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EOPNOTSUPP)) {
		err = dump(ctx, c, Filter{Family: f.Family}, f, reset, fn)
	}
	if err != nil {
		return fmt.Errorf("conntrack: dump: %w", err)
	}
	return nil
}

func dump(ctx context.Context, c *netlink.Conn, kernel, want Filter, reset func(), fn func(*Flow) error) error {
	var fl Flow
	return c.Dump(ctx, DumpRequest(kernel), reset, func(m netlink.Message) error {
		if !IsFlow(m.Type) {
			return nil
		}
		if err := ParseFlow(m.Payload, &fl); err != nil {
			return err
		}
		if !want.Match(&fl) {
			return nil
		}
		return fn(&fl)
	})
}

// CPUStats sums the per-CPU counters of the namespace at nsPath.
func CPUStats(ctx context.Context, nsPath string) (Stats, error) {
	c, err := dial(nsPath)
	if err != nil {
		return Stats{}, err
	}
	defer c.Close()
	var s Stats
	err = c.Dump(ctx, StatsRequest(), func() { s = Stats{} }, func(m netlink.Message) error {
		if !IsStats(m.Type) {
			return nil
		}
		return AddCPUStats(m.Payload, &s)
	})
	if err != nil {
		return Stats{}, fmt.Errorf("conntrack: stats: %w", err)
	}
	return s, nil
}

// Limits are the table's size and limit: net.netfilter.nf_conntrack_count
// and nf_conntrack_max; a value the tree does not have is -1.
type Limits struct{ Count, Max int64 }

// ReadLimits reads nf_conntrack_count and nf_conntrack_max under
// procRoot/sys/net/netfilter. /proc/sys/net shows the namespace of the
// thread that opens it, so for a live namespace other than the caller's
// (nsPath not empty) the files are read by a thread inside it. A missing
// file (no nf_conntrack loaded) reads as -1.
func ReadLimits(procRoot, nsPath string) (Limits, error) {
	l := Limits{Count: -1, Max: -1}
	read := func() error {
		for _, x := range []struct {
			name string
			v    *int64
		}{{"nf_conntrack_count", &l.Count}, {"nf_conntrack_max", &l.Max}} {
			b, err := os.ReadFile(filepath.Join(procRoot, "sys/net/netfilter", x.name))
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				return fmt.Errorf("conntrack: %w", err)
			}
			n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
			if err != nil {
				return fmt.Errorf("conntrack: %s: %w", x.name, err)
			}
			*x.v = n
		}
		return nil
	}
	if nsPath == "" {
		return l, read()
	}
	return l, netns.Do(nsPath, read)
}
