package procstat

import (
	"errors"
	"io"
	"io/fs"
	"strings"
)

// SockstatEntry is one number from net/sockstat or net/sockstat6, e.g.
// {Family: "inet", Protocol: "TCP", Name: "orphan", Value: 0}.
type SockstatEntry struct {
	// Family is "inet" for net/sockstat and "inet6" for net/sockstat6,
	// except for the "sockets used" entry, whose family is "" because it
	// counts sockets of every family (it is `ss -s`'s "Total").
	Family string
	// Protocol is the kernel's label without the "6" of sockstat6: sockets,
	// TCP, UDP, UDPLITE, RAW, FRAG.
	Protocol string
	// Name is the key: used, inuse, orphan, tw, alloc, mem, memory.
	Name string
	// Value is the number. TCP and UDP "mem" count pages; FRAG "memory"
	// counts bytes.
	Value int64
}

// Sockstat is the socket summary `ss -s` prints from, in file order: the
// net/sockstat entries, then the net/sockstat6 ones.
type Sockstat []SockstatEntry

// SocketSummary reads net/sockstat and net/sockstat6 under procRoot.
// net/sockstat6 is skipped when absent (IPv6 disabled).
//
// prometheus/procfs's NetSockstat is not used: it keeps only the keys it
// knows, loses their order and reports no line numbers.
func SocketSummary(procRoot string) (Sockstat, error) {
	out, err := readFile(procPath(procRoot, "net/sockstat"), parseSockstat("inet"))
	if err != nil {
		return nil, err
	}
	v6, err := readFile(procPath(procRoot, "net/sockstat6"), parseSockstat("inet6"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return append(out, v6...), nil
}

// parseSockstat returns the parser for one sockstat file of family.
func parseSockstat(family string) func(io.Reader, string) (Sockstat, error) {
	return func(r io.Reader, file string) (Sockstat, error) {
		var out Sockstat
		err := scanLines(r, file, func(_ int, line string) error {
			if strings.TrimSpace(line) == "" {
				return nil
			}
			e, err := parseSockstatLine(family, line)
			if err != nil {
				return err
			}
			out = append(out, e...)
			return nil
		})
		if err != nil {
			return nil, err
		}
		return out, nil
	}
}

// parseSockstatLine parses "TCP: inuse 5 orphan 0 tw 0 alloc 9 mem 108".
func parseSockstatLine(family, line string) ([]SockstatEntry, error) {
	proto, kv, err := parseSnmpLine(line)
	if err != nil {
		return nil, err
	}
	if len(kv) == 0 || len(kv)%2 != 0 {
		return nil, malformed("%s: want \"key value\" pairs, got %d fields", proto, len(kv))
	}
	if proto == "sockets" {
		family = ""
	} else if family == "inet6" {
		proto = strings.TrimSuffix(proto, "6")
	}
	out := make([]SockstatEntry, 0, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		v, err := parseDec(kv[i+1], proto+" "+kv[i])
		if err != nil {
			return nil, err
		}
		out = append(out, SockstatEntry{Family: family, Protocol: proto, Name: kv[i], Value: v})
	}
	return out, nil
}
