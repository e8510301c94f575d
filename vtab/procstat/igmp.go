package procstat

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"net/netip"
	"strings"
)

// Group is one multicast group membership of one interface, a row of
// `netstat -g`.
type Group struct {
	// Interface is the device name (lo, eth0).
	Interface string
	// Index is the interface index.
	Index int
	// Family is "inet" (from net/igmp) or "inet6" (from net/igmp6).
	Family string
	// Group is the multicast address.
	Group netip.Addr
	// RefCount is how many times the group was joined on this interface:
	// the "Users" column of net/igmp and the fourth column of net/igmp6,
	// which is what netstat -g prints as RefCnt.
	RefCount int
}

// MulticastGroups reads net/igmp and net/igmp6 under procRoot and returns
// the IPv4 groups, then the IPv6 ones, in file order (the order netstat -g
// prints them in). net/igmp6 is skipped when absent (IPv6 disabled).
//
// prometheus/procfs has no reader for these files.
func MulticastGroups(procRoot string) ([]Group, error) {
	out, err := readFile(procPath(procRoot, "net/igmp"), parseIgmp)
	if err != nil {
		return nil, err
	}
	v6, err := readFile(procPath(procRoot, "net/igmp6"), parseIgmp6)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return append(out, v6...), nil
}

// parseIgmp parses net/igmp: a header, then per interface a device line
// followed by one tab-indented line per group:
//
//	Idx	Device    : Count Querier	Group    Users Timer	Reporter
//	4	eth0      :     2      V3
//					030201EF     1 0:00000000		0
//
// The group is the __be32 address printed with %08X, so on a little-endian
// host (every host netsql targets) its bytes read backwards: 030201EF is
// 239.1.2.3.
func parseIgmp(r io.Reader, file string) ([]Group, error) {
	var (
		out []Group
		dev *Group // interface of the current block; nil before the first
	)
	err := scanLines(r, file, func(n int, line string) error {
		switch {
		case n == 1 && strings.HasPrefix(line, "Idx"):
			return nil
		case strings.TrimSpace(line) == "":
			return nil
		case line[0] == '\t' || line[0] == ' ':
			if dev == nil {
				return malformed("group line before any device line")
			}
			g, err := parseIgmpGroupLine(*dev, line)
			if err != nil {
				return err
			}
			out = append(out, g)
			return nil
		default:
			d, err := parseIgmpDeviceLine(line)
			if err != nil {
				return err
			}
			dev = &d
			return nil
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// parseIgmpDeviceLine parses "4\teth0      :     2      V3" into a Group
// holding only the interface.
func parseIgmpDeviceLine(line string) (Group, error) {
	left, _, ok := strings.Cut(line, ":") // device names cannot hold ':'
	f := strings.Fields(left)
	if !ok || len(f) != 2 {
		return Group{}, malformed("want \"Idx Device : Count Querier\", got %q", abbrev(line))
	}
	idx, err := atoi(f[0], "interface index")
	if err != nil {
		return Group{}, err
	}
	return Group{Interface: f[1], Index: idx, Family: "inet"}, nil
}

// parseIgmpGroupLine parses "\t\t\t\t030201EF     1 0:00000000\t\t0".
func parseIgmpGroupLine(dev Group, line string) (Group, error) {
	f := strings.Fields(line)
	if len(f) < 2 {
		return Group{}, malformed("want \"Group Users Timer Reporter\", got %d fields", len(f))
	}
	a, err := parseHex32(f[0], "group")
	if err != nil {
		return Group{}, err
	}
	users, err := atoi(f[1], "users")
	if err != nil {
		return Group{}, err
	}
	dev.Group = addr4LE(a)
	dev.RefCount = users
	return dev, nil
}

// addr4LE turns a __be32 address that the kernel printed with %08X on a
// little-endian host back into an address.
func addr4LE(v uint32) netip.Addr {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], v)
	return netip.AddrFrom4(b)
}

// parseIgmp6 parses net/igmp6, one group per line and no header:
//
//	4    eth0            ff0200000000000000000001ff000002     1 00000004 0
//
// (ifindex, device, group in network byte order, users, flags, timer).
func parseIgmp6(r io.Reader, file string) ([]Group, error) {
	var out []Group
	err := scanLines(r, file, func(_ int, line string) error {
		if strings.TrimSpace(line) == "" {
			return nil
		}
		g, err := parseIgmp6Line(line)
		if err != nil {
			return err
		}
		out = append(out, g)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// parseIgmp6Line parses one net/igmp6 line.
func parseIgmp6Line(line string) (Group, error) {
	f := strings.Fields(line)
	if len(f) < 4 {
		return Group{}, malformed("want \"Idx Device Group Users Flags Timer\", got %d fields", len(f))
	}
	idx, err := atoi(f[0], "interface index")
	if err != nil {
		return Group{}, err
	}
	a, err := parseAddr6(f[2], "group")
	if err != nil {
		return Group{}, err
	}
	users, err := atoi(f[3], "users")
	if err != nil {
		return Group{}, err
	}
	return Group{Interface: f[1], Index: idx, Family: "inet6", Group: a, RefCount: users}, nil
}

// parseAddr6 parses 32 hex digits, an IPv6 address as the kernel prints it
// with %pi6 (network byte order, no colons).
func parseAddr6(field, what string) (netip.Addr, error) {
	var b [16]byte
	if len(field) != 32 {
		return netip.Addr{}, malformed("%s %q is not 32 hex digits", what, field)
	}
	if _, err := hex.Decode(b[:], []byte(field)); err != nil {
		return netip.Addr{}, malformed("%s %q is not 32 hex digits", what, field)
	}
	return netip.AddrFrom16(b), nil
}
