package procstat

import (
	"errors"
	"io"
	"io/fs"
	"strings"
)

// Counter is one protocol counter as `netstat -s` reports it, e.g.
// {Protocol: "Tcp", Name: "ActiveOpens", Value: 41026} or, from net/snmp6,
// {Protocol: "Ip6", Name: "InReceives", Value: 4}.
type Counter struct {
	// Protocol is the section the kernel files it under: Ip, Icmp, IcmpMsg,
	// Tcp, Udp, UdpLite (net/snmp), TcpExt, IpExt, MPTcpExt... (net/netstat),
	// Ip6, Icmp6, Udp6, UdpLite6 (net/snmp6).
	Protocol string
	// Name is the counter's name within its protocol, as the kernel spells
	// it (InReceives, ActiveOpens, InType3...).
	Name string
	// Value is the counter. Most are unsigned, but some are not (Tcp
	// MaxConn is -1 when the limit is dynamic).
	Value int64
}

// ProtocolCounters reads net/snmp, net/netstat and net/snmp6 under procRoot
// and returns their counters in file order: snmp first, then netstat, then
// snmp6, each in the kernel's order. net/snmp must exist; net/netstat and
// net/snmp6 are skipped when absent (a kernel without IPv6 has no snmp6).
//
// prometheus/procfs is not used: its ProcSnmp, ProcNetstat and ProcSnmp6
// read /proc/PID/net (a copied tree may have no PID directories), keep only
// the fields known when they were written (no Ip OutTransmits, no
// MPTcpExt), hold values as float64 and report no line numbers.
func ProtocolCounters(procRoot string) ([]Counter, error) {
	files := []struct {
		name     string
		parse    func(io.Reader, string) ([]Counter, error)
		optional bool
	}{
		{"net/snmp", parseSnmp, false},
		{"net/netstat", parseSnmp, true},
		{"net/snmp6", parseSnmp6, true},
	}
	var out []Counter
	for _, f := range files {
		c, err := readFile(procPath(procRoot, f.name), f.parse)
		if err != nil {
			if f.optional && errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, err
		}
		out = append(out, c...)
	}
	return out, nil
}

// parseSnmp parses net/snmp or net/netstat: pairs of lines, a header
// naming the counters and a line holding their values, both starting with
// the protocol and a colon:
//
//	Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ...
//	Tcp: 1 200 120000 -1 ...
//
// Blank lines between pairs are ignored.
func parseSnmp(r io.Reader, file string) ([]Counter, error) {
	var (
		out     []Counter
		hdrProt string
		hdr     []string
		hdrLine int // 0: no header pending
	)
	err := scanLines(r, file, func(n int, line string) error {
		if hdrLine == 0 {
			if strings.TrimSpace(line) == "" {
				return nil
			}
			proto, names, err := parseSnmpLine(line)
			if err != nil {
				return err
			}
			hdrProt, hdr, hdrLine = proto, names, n
			return nil
		}
		c, err := parseSnmpValues(hdrProt, hdr, hdrLine, line)
		if err != nil {
			return err
		}
		hdrLine = 0
		out = append(out, c...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if hdrLine != 0 {
		return nil, lineErr(file, hdrLine, malformed("%s header has no value line after it", hdrProt))
	}
	return out, nil
}

// parseSnmpLine splits "Proto: a b c" into "Proto" and [a b c].
func parseSnmpLine(line string) (proto string, fields []string, err error) {
	proto, rest, ok := strings.Cut(line, ":")
	proto = strings.TrimSpace(proto)
	if !ok || proto == "" || strings.ContainsAny(proto, " \t") {
		return "", nil, malformed("want \"Protocol: ...\", got %q", abbrev(line))
	}
	return proto, strings.Fields(rest), nil
}

// parseSnmpValues parses the value line that follows a header line.
func parseSnmpValues(proto string, names []string, hdrLine int, line string) ([]Counter, error) {
	vproto, values, err := parseSnmpLine(line)
	if err != nil {
		return nil, err
	}
	if vproto != proto {
		return nil, malformed("value line is for %s but the header on line %d is for %s", vproto, hdrLine, proto)
	}
	if len(values) != len(names) {
		return nil, malformed("%s has %d values but the header on line %d names %d counters", proto, len(values), hdrLine, len(names))
	}
	out := make([]Counter, len(names))
	for i, name := range names {
		v, err := parseDec(values[i], proto+" "+name)
		if err != nil {
			return nil, err
		}
		out[i] = Counter{Protocol: proto, Name: name, Value: v}
	}
	return out, nil
}

// parseSnmp6 parses net/snmp6 (and net/dev_snmp6/IFACE, same format): one
// counter per line, "Ip6InReceives   4". The protocol is the name up to
// and including its first '6' (Ip6, Icmp6, Udp6, UdpLite6).
func parseSnmp6(r io.Reader, file string) ([]Counter, error) {
	var out []Counter
	err := scanLines(r, file, func(_ int, line string) error {
		if strings.TrimSpace(line) == "" {
			return nil
		}
		c, err := parseSnmp6Line(line)
		if err != nil {
			return err
		}
		out = append(out, c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// parseSnmp6Line parses one "Ip6InReceives   4" line.
func parseSnmp6Line(line string) (Counter, error) {
	f := strings.Fields(line)
	if len(f) != 2 {
		return Counter{}, malformed("want \"Name Value\", got %d fields", len(f))
	}
	i := strings.IndexByte(f[0], '6')
	if i <= 0 || i == len(f[0])-1 {
		return Counter{}, malformed("counter %q has no protocol prefix such as Ip6", f[0])
	}
	v, err := parseDec(f[1], f[0])
	if err != nil {
		return Counter{}, err
	}
	return Counter{Protocol: f[0][:i+1], Name: f[0][i+1:], Value: v}, nil
}

// abbrev shortens a line quoted in an error message.
func abbrev(s string) string {
	const limit = 60
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "..."
}
