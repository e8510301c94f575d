package vtab

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

	"modernc.org/sqlite"

	"github.com/netsql/netsql/vtab/fileread"
	"github.com/netsql/netsql/vtab/procs"
)

// Function documents one SQL function netsql adds to SQLite.
type Function struct {
	Name string // with its arguments, e.g. "service_name(port, proto)"
	Doc  string // one line
}

// Functions lists netsql's SQL functions and what they do, for the
// README's reference (a test keeps the two equal).
func Functions() []Function {
	defs := functionDefs(nil)
	out := make([]Function, len(defs))
	for i, d := range defs {
		out[i] = Function{Name: d.name + d.args, Doc: d.doc}
	}
	return out
}

// functionDef declares one SQL function: its name, its arguments as the
// reference shows them, what it does, and its body. volatile functions
// read the network or /proc, so SQLite must not treat them as
// deterministic.
type functionDef struct {
	name, args, doc string
	nargs           int32
	volatile        bool
	fn              sqlFunc
}

// functionDefs declares every SQL function; f supplies the bodies that
// need the engine's source and caches (nil when only the docs are read).
func functionDefs(f *sqlFuncs) []functionDef {
	return []functionDef{
		{"user_name", "(uid)", "login name for uid from the passwd database, or the number as text", 1, false, f.userName},
		{"service_name", "(port, proto)", "port name from /etc/services (raw: /etc/protocols) as netstat resolves it: '*' for 0, the number as text when unknown; proto is tcp, udp or raw (a trailing 6 is ignored)", 2, false, f.serviceName},
		{"host_name", "(addr)", "host name for an IP address as glibc's getnameinfo finds it (/etc/hosts, then DNS with a short timeout; a v4-mapped ::ffff:a.b.c.d is looked up as IPv6 in /etc/hosts), cached per run; the address text when it has no name; NULL when addr is not an IP address", 1, true, f.hostName},
		{"netstat_addr", "(addr, port, proto, numeric, wide)", "netstat's Local/Foreign Address text: host:port resolved unless numeric (1 for -n; or text naming 'hosts' and/or 'ports'), cut to 23 columns unless wide (-W); NULL when addr is not an IP address", 5, true, f.netstatAddr},
		{"netstat_host", "(addr, numeric)", "netstat's text for an address without a port: a host name unless numeric, 0.0.0.0 and [::] for wildcards, /etc/networks names for IPv4 addresses ending in .0; NULL when addr is not an IP address", 2, true, f.netstatHost},
		{"netstat_route_host", "(addr, netmask, numeric, host)", "netstat -r's Destination and Gateway text: default for 0.0.0.0/0, a host name when host is true or the address has bits outside netmask, else an /etc/networks name; numeric when numeric; NULL unless addr and netmask are IPv4 addresses", 4, true, f.netstatRouteHost},
		{"netstat_program", "(pid)", "netstat -p's PID/Program name: pid/argv[0] (its directory dropped when the path is absolute), cut to 19 bytes; '-' for NULL", 1, true, f.netstatProgram},
		{"netstat_timer", "(proto, timer, expires, retransmits, probes)", "netstat -o's Timer text, e.g. 'keepalive (7183.36/0/0)'", 5, false, f.netstatTimer},
		{"netstat_hw", "(type, mac)", "ifconfig's (netstat -ie) hardware word and address for an interfaces.type and mac, e.g. 'ether 02:fc:00:00:00:01', 'loop'", 2, false, netstatHW},
		{"netstat_hw_title", "(type)", "ifconfig's title for an interfaces.type, e.g. 'Ethernet', 'Local Loopback', 'UNSPEC'", 1, false, netstatHWTitle},
		{"netstat_bytes", "(n)", "ifconfig's short byte count: one decimal, cut, binary units, e.g. '53.6 MiB'", 1, false, netstatBytes},
		{"netstat_stat_section", "(protocol)", "the netstat -s option selecting a protocol_stats section: raw, tcp, udp or sctp; NULL for sections netstat prints regardless (IcmpMsg, UdpLite, IpExt...)", 1, false, netstatStatSection},
		{"netstat_stat_kind", "(protocol, name)", "how netstat -s prints a counter: number (always), opt (when not zero), forward, in_icmp/out_icmp (histogram lines, when not zero), silent (never); NULL when netstat does not know it", 2, false, netstatStatKind},
		{"netstat_stat_text", "(protocol, name, value)", "netstat -s's sentence for a counter, unindented, e.g. '41026 active connection openings'; 'Name: value' for counters netstat does not know; NULL for silent ones", 3, false, netstatStatText},
	}
}

// sqlFuncs holds what netsql's SQL functions share within one engine: the
// source's /etc and /proc, the name caches, and the context of the
// statement running now (DNS lookups obey its cancellation).
type sqlFuncs struct {
	src   *Source
	names *resolver

	// programs caches netstat_program per pid for one statement: a view
	// of 80k sockets held by five processes reads five cmdlines, as
	// netstat does, not 80k.
	programsMu sync.Mutex
	programs   map[int64]string
}

// setContext records the running statement's context and starts its
// per-statement caches afresh (pids are reused over a long session).
func (f *sqlFuncs) setContext(ctx context.Context) {
	f.names.setContext(ctx)
	f.programsMu.Lock()
	f.programs = nil
	f.programsMu.Unlock()
}

// sqlFunc is the signature of a scalar function body.
type sqlFunc = func(*sqlite.FunctionContext, []driver.Value) (driver.Value, error)

// registerFunctions adds netsql's SQL functions to an engine's driver.
func registerFunctions(drv *sqlite.Driver, src *Source) (*sqlFuncs, error) {
	f := &sqlFuncs{src: src, names: newResolver(src)}
	for _, d := range functionDefs(f) {
		register := drv.RegisterDeterministicScalarFunction
		if d.volatile {
			register = drv.RegisterScalarFunction
		}
		if err := register(d.name, d.nargs, d.fn); err != nil {
			return nil, fmt.Errorf("vtab: register %s: %w", d.name, err)
		}
	}
	// ORDER BY name COLLATE netstat_if: interface names as netstat sorts
	// them (eth2 before eth10).
	if err := drv.RegisterCollationUtf8("netstat_if", NetstatIfCompare); err != nil {
		return nil, fmt.Errorf("vtab: register collation netstat_if: %w", err)
	}
	return f, nil
}

func (f *sqlFuncs) userName(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	switch x := args[0].(type) {
	case nil:
		return nil, nil
	case int64:
		if x < 0 || x > 1<<32-1 {
			return nil, fmt.Errorf("user_name: uid %d out of range", x)
		}
		return f.src.UserName(uint32(x)), nil
	}
	return nil, fmt.Errorf("user_name: want an integer uid, got %T", args[0])
}

func (f *sqlFuncs) serviceName(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	if args[0] == nil {
		return nil, nil
	}
	port, err := intArg("service_name", "port", args[0])
	if err != nil {
		return nil, err
	}
	proto, err := textArg("service_name", "proto", args[1])
	if err != nil {
		return nil, err
	}
	if port < 0 || port > 65535 {
		return nil, fmt.Errorf("service_name: port %d out of range", port)
	}
	return f.names.service(int(port), proto, false), nil
}

// addrArg reads an address argument. ok is false for NULL and for
// anything that is not an IP address: the functions taking addresses
// return NULL for those, as SQLite's own functions do for bad input,
// rather than abort the statement.
func addrArg(v driver.Value) (a netip.Addr, ok bool) {
	var text string
	switch x := v.(type) {
	case string:
		text = x
	case []byte:
		text = string(x)
	default:
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(text)
	if err != nil || strings.ContainsAny(a.Zone(), "/% \t\n") {
		return netip.Addr{}, false // a zone is an interface name or number
	}
	return a, true
}

func (f *sqlFuncs) hostName(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	a, ok := addrArg(args[0])
	if !ok {
		return nil, nil
	}
	return f.names.lookupHost(a), nil
}

func (f *sqlFuncs) netstatAddr(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	a, ok := addrArg(args[0])
	if !ok {
		return nil, nil
	}
	port, err := intArg("netstat_addr", "port", args[1])
	if err != nil {
		return nil, err
	}
	proto, err := textArg("netstat_addr", "proto", args[2])
	if err != nil {
		return nil, err
	}
	numHosts, numPorts, err := numericArg(args[3])
	if err != nil {
		return nil, err
	}
	return f.names.netstatAddr(a, int(port), proto, numHosts, numPorts, truthy(args[4])), nil
}

func (f *sqlFuncs) netstatHost(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	a, ok := addrArg(args[0])
	if !ok {
		return nil, nil
	}
	numHosts, _, err := numericArg(args[1])
	if err != nil {
		return nil, err
	}
	return f.names.netstatHost(a, numHosts), nil
}

func (f *sqlFuncs) netstatRouteHost(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	var addrs [2]netip.Addr
	for i := range addrs {
		a, ok := addrArg(args[i])
		if !ok || !a.Is4() {
			return nil, nil // netstat -r's names are for IPv4 only
		}
		addrs[i] = a
	}
	numHosts, _, err := numericArg(args[2])
	if err != nil {
		return nil, err
	}
	return f.names.routeHost(addrs[0], addrs[1], numHosts, truthy(args[3])), nil
}

func (f *sqlFuncs) netstatProgram(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	if args[0] == nil {
		return "-", nil
	}
	pid, err := intArg("netstat_program", "pid", args[0])
	if err != nil {
		return nil, err
	}
	f.programsMu.Lock()
	defer f.programsMu.Unlock()
	if name, ok := f.programs[pid]; ok {
		return name, nil
	}
	name := "-" // netstat skips a process whose cmdline it cannot read
	if cmdline, err := readCmdline(f.names.context(), f.src.ProcRoot, int(pid)); err == nil {
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
func (f *sqlFuncs) netstatTimer(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	proto, err := textArg("netstat_timer", "proto", args[0])
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

// intArg reads an integer argument; integral reals and numeric text pass.
func intArg(fn, name string, v driver.Value) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case float64:
		if x == float64(int64(x)) {
			return int64(x), nil
		}
	case string:
		if n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64); err == nil {
			return n, nil
		}
	case nil:
		return 0, fmt.Errorf("%s: %s is NULL", fn, name)
	}
	return 0, fmt.Errorf("%s: %s: want an integer, got %v", fn, name, v)
}

func textArg(fn, name string, v driver.Value) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case []byte:
		return string(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case nil:
		return "", fmt.Errorf("%s: %s is NULL", fn, name)
	}
	return "", fmt.Errorf("%s: %s: want text, got %T", fn, name, v)
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
