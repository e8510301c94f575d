package vtab

import (
	"context"
	"database/sql/driver"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"

	"modernc.org/sqlite"
)

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
	}
}

// sqlFuncs holds what netsql's SQL functions share within one engine: the
// source's /etc and /proc, the name caches, and the context of the
// statement running now (DNS lookups obey its cancellation).
type sqlFuncs struct {
	src   *Source
	names *resolver
	stmt  atomic.Uint64 // statements run so far
}

// setContext records the running statement's context and counts the
// statement (Host.Statement).
func (f *sqlFuncs) setContext(ctx context.Context) {
	f.names.setContext(ctx)
	f.stmt.Add(1)
}

// sqlFunc is the signature of a scalar function body.
type sqlFunc = func(*sqlite.FunctionContext, []driver.Value) (driver.Value, error)

// registerFunctions adds netsql's SQL functions, and those of exts, to an
// engine's driver.
func registerFunctions(drv *sqlite.Driver, src *Source, exts []Extension) (*sqlFuncs, error) {
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
	if err := registerExtensions(drv, f, exts); err != nil {
		return nil, err
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
