package procstat

import (
	"io"
	"strconv"
	"strings"
)

// DevCounter is one interface's line of net/dev: the counters `netstat -i`
// and `ip -s link` print.
type DevCounter struct {
	Interface string // device name

	RxBytes      uint64 // bytes received
	RxPackets    uint64 // packets received (netstat -i RX-OK)
	RxErrors     uint64 // receive errors (RX-ERR)
	RxDropped    uint64 // dropped on receive (RX-DRP), missed included
	RxFIFO       uint64 // receive FIFO overruns (RX-OVR)
	RxFrame      uint64 // framing errors
	RxCompressed uint64 // compressed packets received
	RxMulticast  uint64 // multicast packets received
	TxBytes      uint64 // bytes sent
	TxPackets    uint64 // packets sent (TX-OK)
	TxErrors     uint64 // transmit errors (TX-ERR)
	TxDropped    uint64 // dropped on transmit (TX-DRP)
	TxFIFO       uint64 // transmit FIFO overruns (TX-OVR)
	TxCollisions uint64 // collisions
	TxCarrier    uint64 // carrier losses
	TxCompressed uint64 // compressed packets sent
}

// DevCounters reads net/dev under procRoot, one entry per interface in
// file order (the kernel's device list order).
//
// prometheus/procfs's NetDev is not used: it indexes the 16 counters
// without checking how many there are, so a truncated line in a copied
// tree panics (index out of range); it returns a map, which loses the
// order; and it reports no line numbers.
func DevCounters(procRoot string) ([]DevCounter, error) {
	return readFile(procPath(procRoot, "net/dev"), parseDev)
}

// parseDev parses net/dev: two header lines (they hold '|'), then
//
//	eth0: 56277203    3925    0    0    0     0          0         0   312852 ...
func parseDev(r io.Reader, file string) ([]DevCounter, error) {
	var out []DevCounter
	err := scanLines(r, file, func(_ int, line string) error {
		if strings.TrimSpace(line) == "" || strings.Contains(line, "|") {
			return nil
		}
		d, err := parseDevLine(line)
		if err != nil {
			return err
		}
		out = append(out, d)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// devFields is the number of counters on a net/dev line.
const devFields = 16

// parseDevLine parses one interface line of net/dev.
func parseDevLine(line string) (DevCounter, error) {
	name, rest, ok := strings.Cut(line, ":") // device names cannot hold ':'
	name = strings.TrimSpace(name)
	if !ok || name == "" || strings.ContainsAny(name, " \t") {
		return DevCounter{}, malformed("want \"iface: counters...\", got %q", abbrev(line))
	}
	f := strings.Fields(rest)
	if len(f) < devFields {
		return DevCounter{}, malformed("%s has %d counters, want %d", name, len(f), devFields)
	}
	var v [devFields]uint64
	for i := range v {
		n, err := strconv.ParseUint(f[i], 10, 64)
		if err != nil {
			return DevCounter{}, malformed("%s counter %d %q is not a number", name, i+1, f[i])
		}
		v[i] = n
	}
	return DevCounter{
		Interface: name,
		RxBytes:   v[0], RxPackets: v[1], RxErrors: v[2], RxDropped: v[3],
		RxFIFO: v[4], RxFrame: v[5], RxCompressed: v[6], RxMulticast: v[7],
		TxBytes: v[8], TxPackets: v[9], TxErrors: v[10], TxDropped: v[11],
		TxFIFO: v[12], TxCollisions: v[13], TxCarrier: v[14], TxCompressed: v[15],
	}, nil
}
