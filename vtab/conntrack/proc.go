package conntrack

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/netsql/netsql/vtab/internal/procline"
)

// procProtos maps the l3 names of /proc/net/nf_conntrack to families.
var procFamilies = map[string]uint8{"ipv4": unix.AF_INET, "ipv6": unix.AF_INET6}

// ParseProc reads /proc/net/nf_conntrack and hands each flow f selects to
// fn (the *Flow is reused). A line is:
//
//	ipv4 2 tcp 6 431999 ESTABLISHED src=A dst=B sport=P dport=Q [packets=N bytes=M]
//	[UNREPLIED] src=B dst=C sport=Q dport=P [packets=N bytes=M] [OFFLOAD] [ASSURED]
//	mark=0 [secctx=...] [zone=0] use=2
//
// The first src= starts the original tuple and the second the reply
// tuple. /proc shows only the UNREPLIED (no SEEN_REPLY), ASSURED and
// OFFLOAD status bits, and no id: Status and ID are left unknown.
func ParseProc(r io.Reader, f Filter, fn func(*Flow) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	sc.Split(procline.Split)
	var fl Flow
	for n := 1; sc.Scan(); n++ {
		if err := parseProcLine(sc.Text(), &fl); err != nil {
			return fmt.Errorf("conntrack: nf_conntrack line %d: %w", n, err)
		}
		if f.Match(&fl) {
			if err := fn(&fl); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("conntrack: nf_conntrack: %w", err)
	}
	return nil
}

func parseProcLine(line string, fl *Flow) error {
	fields := strings.Fields(line)
	if len(fields) < 5 {
		return fmt.Errorf("%d fields: %q", len(fields), line)
	}
	*fl = Flow{TCPState: -1, Timeout: -1}
	fl.Orig.ICMPType, fl.Reply.ICMPType = -1, -1
	fam, ok := procFamilies[fields[0]]
	if !ok {
		return fmt.Errorf("unknown family %q", fields[0])
	}
	fl.Family = fam
	proto, err := strconv.ParseUint(fields[3], 10, 8)
	if err != nil {
		return fmt.Errorf("protocol number %q", fields[3])
	}
	fl.Proto = uint8(proto)
	if fl.Timeout, err = strconv.ParseInt(fields[4], 10, 64); err != nil {
		return fmt.Errorf("timeout %q", fields[4])
	}
	rest := fields[5:]
	if len(rest) > 0 && !strings.Contains(rest[0], "=") && !strings.HasPrefix(rest[0], "[") {
		for i, s := range tcpStates {
			if s == rest[0] && fl.Proto == unix.IPPROTO_TCP {
				fl.TCPState = int16(i)
			}
		}
		rest = rest[1:]
	}
	tuples := 0
	t := &fl.Orig
	c := &fl.OrigCount
	fl.Status = StatusSeenReply
	for _, f := range rest {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			switch f {
			case "[UNREPLIED]":
				fl.Status &^= StatusSeenReply
			case "[ASSURED]":
				fl.Status |= StatusAssured
			case "[OFFLOAD]":
				fl.Status |= StatusOffload
			case "[HW_OFFLOAD]":
				fl.Status |= StatusHWOffload
			}
			continue
		}
		var err error
		switch k {
		case "src":
			tuples++
			if tuples == 2 {
				t, c = &fl.Reply, &fl.ReplyCount
			}
			t.Src, err = netip.ParseAddr(v)
		case "dst":
			t.Dst, err = netip.ParseAddr(v)
		case "sport", "dport":
			var p uint64
			p, err = strconv.ParseUint(v, 10, 16)
			t.HasPorts = true
			if k == "sport" {
				t.SrcPort = uint16(p)
			} else {
				t.DstPort = uint16(p)
			}
		case "type", "code":
			var x uint64
			x, err = strconv.ParseUint(v, 10, 8)
			if k == "type" {
				t.ICMPType = int16(x)
			} else {
				t.ICMPCode = int16(x)
			}
		case "id":
			var x uint64
			x, err = strconv.ParseUint(v, 10, 16)
			t.ICMPID = uint16(x)
		case "packets", "bytes":
			var x uint64
			x, err = strconv.ParseUint(v, 10, 64)
			c.Valid = true
			if k == "packets" {
				c.Packets = x
			} else {
				c.Bytes = x
			}
		case "mark":
			var x uint64
			x, err = strconv.ParseUint(v, 10, 32)
			fl.Mark = uint32(x)
		case "zone":
			var x uint64
			x, err = strconv.ParseUint(v, 10, 16)
			fl.Zone = uint16(x)
		case "use":
			var x uint64
			x, err = strconv.ParseUint(v, 10, 32)
			fl.Use = uint32(x)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
	}
	if tuples != 2 {
		return fmt.Errorf("%d tuples in %q", tuples, line)
	}
	return nil
}

// ParseProcStats sums /proc/net/stat/nf_conntrack: a header naming the
// columns, then one row of hexadecimal counters per CPU.
func ParseProcStats(r io.Reader) (Stats, error) {
	sc := bufio.NewScanner(r)
	sc.Split(procline.Split)
	var s Stats
	var cols []string
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if cols == nil {
			cols = fields
			continue
		}
		if len(fields) != len(cols) {
			return Stats{}, fmt.Errorf("conntrack: stat/nf_conntrack: %d values for %d columns", len(fields), len(cols))
		}
		for i, name := range cols {
			for _, sf := range StatFields {
				if sf.proc == name {
					v, err := strconv.ParseUint(fields[i], 16, 64)
					if err != nil {
						return Stats{}, fmt.Errorf("conntrack: stat/nf_conntrack: %s: %w", name, err)
					}
					*sf.Field(&s) += v
				}
			}
		}
		s.CPUs++
	}
	if err := sc.Err(); err != nil {
		return Stats{}, fmt.Errorf("conntrack: stat/nf_conntrack: %w", err)
	}
	return s, nil
}
