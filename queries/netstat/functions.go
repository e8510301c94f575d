package netstat

// netstat's SQL functions: the wording of its views (addresses, program
// names, timers, ifconfig blocks, statistics sentences) as an extension
// of the engine, so that vtab holds only the tables.

import (
	"context"
	"database/sql/driver"
	"fmt"
	"io"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/netsql/netsql/vtab"
	"github.com/netsql/netsql/vtab/fileread"
	"github.com/netsql/netsql/vtab/procs"
)

// Extension is netstat's SQL functions and the netstat_if collation, to
// add to every engine that runs the netstat views
// (vtab.Options.Extensions); Open adds it.
func Extension() vtab.Extension {
	return vtab.Extension{
		Name:      "netstat",
		Functions: functions,
		Collations: []vtab.Collation{{
			Name: "netstat_if",
			Doc:  "interface names as netstat sorts them: eth2 before eth10, an alias (eth0:1) after its device",
			// ORDER BY name COLLATE netstat_if
			Compare: NetstatIfCompare,
		}},
	}
}

// Open opens an engine with netstat's extension added to opts.
func Open(opts vtab.Options) (*vtab.Engine, error) {
	opts.Extensions = append(append([]vtab.Extension(nil), opts.Extensions...), Extension())
	return vtab.Open(opts)
}

// funcs holds what netstat's functions share within one engine.
type funcs struct {
	h *vtab.Host

	// programs caches netstat_program per pid for one statement (number
	// programsStmt, vtab.Host.Statement): a view of 80k sockets held by
	// five processes reads five cmdlines, as netstat does, not 80k.
	programsMu   sync.Mutex
	programsStmt uint64
	programs     map[int64]string
}

// functions declares netstat's functions; h is nil when only the docs
// are read.
func functions(h *vtab.Host) []vtab.Func {
	f := &funcs{h: h}
	return []vtab.Func{
		{Name: "netstat_addr", Args: "(addr, port, proto, numeric, wide)", Doc: "netstat's Local/Foreign Address text: host:port resolved unless numeric (1 for -n; or text naming 'hosts' and/or 'ports'), cut to 23 columns unless wide (-W); NULL when addr is not an IP address", NArgs: 5, Volatile: true, Fn: f.netstatAddr},
		{Name: "netstat_host", Args: "(addr, numeric)", Doc: "netstat's text for an address without a port: a host name unless numeric, 0.0.0.0 and [::] for wildcards, /etc/networks names for IPv4 addresses ending in .0; NULL when addr is not an IP address", NArgs: 2, Volatile: true, Fn: f.netstatHost},
		{Name: "netstat_route_host", Args: "(addr, netmask, numeric, host)", Doc: "netstat -r's Destination and Gateway text: default for 0.0.0.0/0, a host name when host is true or the address has bits outside netmask, else an /etc/networks name; numeric when numeric; NULL unless addr and netmask are IPv4 addresses", NArgs: 4, Volatile: true, Fn: f.netstatRouteHost},
		{Name: "netstat_program", Args: "(pid)", Doc: "netstat -p's PID/Program name: pid/argv[0] (its directory dropped when the path is absolute), cut to 19 bytes; '-' for NULL", NArgs: 1, Volatile: true, Fn: f.netstatProgram},
		{Name: "netstat_timer", Args: "(proto, timer, expires, retransmits, probes)", Doc: "netstat -o's Timer text, e.g. 'keepalive (7183.36/0/0)'", NArgs: 5, Volatile: false, Fn: f.netstatTimer},
		{Name: "netstat_hw", Args: "(type, mac)", Doc: "ifconfig's (netstat -ie) hardware word and address for an interfaces.type and mac, e.g. 'ether 02:fc:00:00:00:01', 'loop'", NArgs: 2, Volatile: false, Fn: netstatHW},
		{Name: "netstat_hw_title", Args: "(type)", Doc: "ifconfig's title for an interfaces.type, e.g. 'Ethernet', 'Local Loopback', 'UNSPEC'", NArgs: 1, Volatile: false, Fn: netstatHWTitle},
		{Name: "netstat_bytes", Args: "(n)", Doc: "ifconfig's short byte count: one decimal, cut, binary units, e.g. '53.6 MiB'", NArgs: 1, Volatile: false, Fn: netstatBytes},
		{Name: "netstat_stat_section", Args: "(protocol)", Doc: "the netstat -s option selecting a protocol_stats section: raw, tcp, udp or sctp; NULL for sections netstat prints regardless (IcmpMsg, UdpLite, IpExt...)", NArgs: 1, Volatile: false, Fn: netstatStatSection},
		{Name: "netstat_stat_kind", Args: "(protocol, name)", Doc: "how netstat -s prints a counter: number (always), opt (when not zero), forward, in_icmp/out_icmp (histogram lines, when not zero), silent (never); NULL when netstat does not know it", NArgs: 2, Volatile: false, Fn: netstatStatKind},
		{Name: "netstat_stat_text", Args: "(protocol, name, value)", Doc: "netstat -s's sentence for a counter, unindented, e.g. '41026 active connection openings'; 'Name: value' for counters netstat does not know; NULL for silent ones", NArgs: 3, Volatile: false, Fn: netstatStatText},
	}
}

func (f *funcs) netstatAddr(args []driver.Value) (driver.Value, error) {
	a, ok := vtab.AddrArg(args[0])
	if !ok {
		return nil, nil
	}
	port, err := vtab.IntArg("netstat_addr", "port", args[1])
	if err != nil {
		return nil, err
	}
	proto, err := vtab.TextArg("netstat_addr", "proto", args[2])
	if err != nil {
		return nil, err
	}
	numHosts, numPorts, err := numericArg(args[3])
	if err != nil {
		return nil, err
	}
	return f.addrText(a, int(port), proto, numHosts, numPorts, truthy(args[4])), nil
}

func (f *funcs) netstatHost(args []driver.Value) (driver.Value, error) {
	a, ok := vtab.AddrArg(args[0])
	if !ok {
		return nil, nil
	}
	numHosts, _, err := numericArg(args[1])
	if err != nil {
		return nil, err
	}
	return f.hostText(a, numHosts), nil
}

func (f *funcs) netstatRouteHost(args []driver.Value) (driver.Value, error) {
	var addrs [2]netip.Addr
	for i := range addrs {
		a, ok := vtab.AddrArg(args[i])
		if !ok || !a.Is4() {
			return nil, nil // netstat -r's names are for IPv4 only
		}
		addrs[i] = a
	}
	numHosts, _, err := numericArg(args[2])
	if err != nil {
		return nil, err
	}
	return f.routeHostText(addrs[0], addrs[1], numHosts, truthy(args[3])), nil
}

func (f *funcs) netstatProgram(args []driver.Value) (driver.Value, error) {
	if args[0] == nil {
		return "-", nil
	}
	pid, err := vtab.IntArg("netstat_program", "pid", args[0])
	if err != nil {
		return nil, err
	}
	f.programsMu.Lock()
	defer f.programsMu.Unlock()
	if stmt := f.h.Statement(); f.programsStmt != stmt {
		// A new statement: pids are reused over a long session.
		f.programs, f.programsStmt = nil, stmt
	}
	if name, ok := f.programs[pid]; ok {
		return name, nil
	}
	name := "-" // netstat skips a process whose cmdline it cannot read
	if cmdline, err := readCmdline(f.h.Context(), f.h.ProcRoot(), int(pid)); err == nil {
		name = procs.NetstatPIDProgram(int(pid), procs.NetstatProgram(cmdline))
	}
	if f.programs == nil {
		f.programs = map[int64]string{}
	}
	f.programs[pid] = name
	return name, nil
}

// netstatTimer formats netstat -o's Timer column. TCP prints the timer's
// name with (seconds/retransmits/probes); UDP and raw sockets have no
// timers in /proc/net (the kernel prints zeros), so netstat shows them off.
func (f *funcs) netstatTimer(args []driver.Value) (driver.Value, error) {
	proto, err := vtab.TextArg("netstat_timer", "proto", args[0])
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(proto, "tcp") {
		return "off (0.00/0/0)", nil
	}
	timer, _ := args[1].(string)
	expires := floatArg(args[2])
	retr, _ := args[3].(int64)
	probes, _ := args[4].(int64)
	if timer == "" || timer == "off" {
		return fmt.Sprintf("off (0.00/%d/%d)", retr, probes), nil
	}
	switch timer {
	case "on", "keepalive", "timewait", "probe":
	default:
		timer = "unkn-" + timer
	}
	// netstat divides clock ticks (1/100 s) by 100 and prints %2.2f.
	return fmt.Sprintf("%s (%2.2f/%d/%d)", timer, expires, retr, probes), nil
}

// readCmdline reads what netstat reads of /proc/PID/cmdline: at most 511
// bytes. The read waits for the process's mmap lock (where ps hangs), so
// it gives up when the statement's ctx ends.
func readCmdline(ctx context.Context, procRoot string, pid int) ([]byte, error) {
	return fileread.ReadContext(ctx, func() ([]byte, error) {
		f, err := fileread.Open(filepath.Join(procRoot, strconv.Itoa(pid), "cmdline"))
		if err != nil {
			return nil, err
		}
		defer f.Close()
		buf := make([]byte, 511)
		n, err := io.ReadFull(f, buf)
		if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
			return nil, err
		}
		return buf[:n], nil
	})
}

func floatArg(v driver.Value) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case int64:
		return float64(x)
	}
	return 0
}

// truthy is SQLite's idea of true: a non-zero number or numeric text.
func truthy(v driver.Value) bool {
	switch x := v.(type) {
	case int64:
		return x != 0
	case float64:
		return x != 0
	case bool:
		return x
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return err == nil && f != 0
	}
	return false
}

// numericArg reads netstat_addr's numeric argument: a number (non-zero:
// -n, neither hosts nor ports resolved) or text naming what stays numeric
// ("hosts", "ports", "hosts,ports,users": --numeric-hosts, --numeric-ports).
func numericArg(v driver.Value) (hosts, ports bool, err error) {
	switch x := v.(type) {
	case nil:
		return false, false, nil
	case int64, float64, bool:
		t := truthy(x)
		return t, t, nil
	case string:
		if _, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil {
			t := truthy(x)
			return t, t, nil
		}
		for _, w := range strings.FieldsFunc(x, func(r rune) bool { return r == ',' || r == ' ' || r == '|' }) {
			switch w {
			case "hosts":
				hosts = true
			case "ports":
				ports = true
			case "users":
			default:
				return false, false, fmt.Errorf("netstat_addr: numeric: unknown word %q (want hosts, ports, users, or 0/1)", w)
			}
		}
		return hosts, ports, nil
	}
	return false, false, fmt.Errorf("netstat_addr: numeric: want a number or text, got %T", v)
}

// netstatHost is net-tools' INET_sprint / INET6_sprint for a socket
// address: numeric text, or a name. IPv4 addresses whose last byte is 0
// are looked up as networks (netstat passes netmask 255.255.255.0), and
// 0.0.0.0 stays 0.0.0.0; the IPv6 wildcard is [::] when resolving.
func (f *funcs) hostText(a netip.Addr, numeric bool) string {
	a = a.WithZone("")
	if a.Is4() {
		if numeric || a.IsUnspecified() {
			return a.String()
		}
		if a.As4()[3] == 0 {
			if name := f.h.NetworkName(a); name != "" {
				return name
			}
			return a.String()
		}
		return f.h.LookupHost(a)
	}
	var s string
	switch {
	case numeric:
		s = vtab.NumericHost(a)
	case a.IsUnspecified():
		return "[::]"
	default:
		s = f.h.LookupHost(a)
	}
	// fix_v4_address: a v4-mapped address prints as its IPv4 part.
	if a.Is4In6() {
		if i := strings.IndexByte(s, '.'); i >= 0 {
			if j := strings.LastIndexByte(s[:i], ':'); j >= 0 {
				return s[j+1:]
			}
		}
	}
	return s
}

// netstatShortLen is what netstat's addr_do_one allows "addr:port" before
// cutting it (plus the colon: 23 columns).
const netstatShortLen = 22

// netstatAddr formats a socket address as netstat's Local Address and
// Foreign Address columns: host:port, and unless wide, when that is longer
// than 23 characters, the port keeps up to 18 characters and the host is
// cut to fit.
func (f *funcs) addrText(a netip.Addr, port int, proto string, numHosts, numPorts, wide bool) string {
	host := f.hostText(a, numHosts)
	sport := f.h.Service(port, proto, numPorts)
	if !wide && len(host)+len(sport) > netstatShortLen {
		portLen := min(len(sport), netstatShortLen-4)
		hostLen := min(netstatShortLen-portLen, len(host))
		return host[:hostLen] + ":" + sport[:portLen]
	}
	return host + ":" + sport
}

// routeHost is net-tools' INET_rresolve as netstat -r calls it for a
// destination (and, with host set and netmask 255.255.255.0, a gateway):
// numeric text when numeric; "default" for 0.0.0.0/0 and 0.0.0.0 under
// any other mask; a host lookup when host is set or addr has bits outside
// netmask; otherwise an /etc/networks lookup.
func (f *funcs) routeHostText(addr, netmask netip.Addr, numeric, host bool) string {
	if numeric {
		return addr.String()
	}
	a, m := addr.As4(), netmask.As4()
	if addr.IsUnspecified() {
		if netmask.IsUnspecified() {
			return "default"
		}
		return "0.0.0.0"
	}
	for i := range a {
		host = host || a[i]&^m[i] != 0
	}
	if host {
		return f.h.LookupHost(addr)
	}
	if name := f.h.NetworkName(addr); name != "" {
		return name
	}
	return addr.String()
}
