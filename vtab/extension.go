package vtab

import (
	"context"
	"database/sql/driver"
	"fmt"
	"net/netip"

	"modernc.org/sqlite"
)

// Extension is a set of SQL functions and collations that a package above
// vtab adds to an engine (Options.Extensions), so that presentation lives
// with its user: queries/netstat registers netstat's wording this way.
// vtab itself only declares the tables and the few functions every query
// may want (user_name, service_name, host_name).
type Extension struct {
	// Name names the extension in errors.
	Name string
	// Functions declares the extension's functions for one engine; h
	// gives their bodies what they may use of that engine. It is also
	// called with a nil h to read the declarations only (for the
	// README's reference and its tests).
	Functions func(h *Host) []Func
	// Collations are the extension's collating sequences.
	Collations []Collation
}

// Func declares one SQL function.
type Func struct {
	// Name is the function's SQL name; Args its arguments as the
	// reference shows them, e.g. "(addr, numeric)"; Doc one line.
	Name, Args, Doc string
	// NArgs is the number of arguments (-1: any).
	NArgs int32
	// Volatile functions read the network or /proc: SQLite must not
	// treat them as deterministic.
	Volatile bool
	// Fn is the body: it receives the arguments as the driver gives them
	// (nil, int64, float64, string, []byte) and returns one such value.
	Fn func(args []driver.Value) (driver.Value, error)
}

// Collation declares one collating sequence (ORDER BY x COLLATE Name).
type Collation struct {
	Name, Doc string
	// Compare returns a negative number, 0 or a positive number as a
	// sorts before, with or after b.
	Compare func(a, b string) int
}

// Host is what an extension's functions may use of the engine they run
// in: the statement running now and the engine's name lookups, which
// read the source's /etc and are cached for the engine's life.
type Host struct {
	f *sqlFuncs
}

// Context is the running statement's context: reads and lookups a
// function makes should end with it.
func (h *Host) Context() context.Context { return h.f.names.context() }

// Statement numbers the statement running now: it changes with every
// statement, so a function can keep a per-statement cache.
func (h *Host) Statement() uint64 { return h.f.stmt.Load() }

// ProcRoot is the root of the engine's /proc tree ("/proc" when live).
func (h *Host) ProcRoot() string { return h.f.src.ProcRoot }

// Service is the name netstat prints for a port: "*" for 0, the
// /etc/services (for raw, /etc/protocols) name unless numeric, else the
// number. proto is tcp, udp or raw; a trailing 6 is ignored.
func (h *Host) Service(port int, proto string, numeric bool) string {
	return h.f.names.service(port, proto, numeric)
}

// LookupHost is glibc's getnameinfo(3) for a: a name from /etc/hosts or
// DNS, else the numeric text (host_name's answer).
func (h *Host) LookupHost(a netip.Addr) string { return h.f.names.lookupHost(a) }

// NetworkName is the /etc/networks name of an IPv4 network address, ""
// when it has none (getnetbyaddr(3)).
func (h *Host) NetworkName(a netip.Addr) string { return h.f.names.networkName(a) }

// NumericHost prints an address as glibc's inet_ntop does (Go's text,
// except ::a.b.c.d, which glibc prints dotted).
func NumericHost(a netip.Addr) string { return ntop(a) }

// IntArg reads an integer argument of the function fn (its argument
// name in errors); integral reals and numeric text pass, NULL is an error.
func IntArg(fn, name string, v driver.Value) (int64, error) { return intArg(fn, name, v) }

// TextArg reads a text argument of the function fn; integers pass as
// their text, NULL is an error.
func TextArg(fn, name string, v driver.Value) (string, error) { return textArg(fn, name, v) }

// AddrArg reads an IP address argument; ok is false for NULL and for
// anything that is not an IP address (functions then return NULL, as
// SQLite's own functions do for bad input).
func AddrArg(v driver.Value) (a netip.Addr, ok bool) { return addrArg(v) }

// registerExtensions adds each extension's functions and collations to
// an engine's driver, their bodies bound to f's engine.
func registerExtensions(drv *sqlite.Driver, f *sqlFuncs, exts []Extension) error {
	h := &Host{f: f}
	for _, x := range exts {
		if x.Functions != nil {
			for _, fn := range x.Functions(h) {
				body := fn.Fn
				register := drv.RegisterDeterministicScalarFunction
				if fn.Volatile {
					register = drv.RegisterScalarFunction
				}
				if err := register(fn.Name, fn.NArgs, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
					return body(args)
				}); err != nil {
					return fmt.Errorf("vtab: extension %s: register %s: %w", x.Name, fn.Name, err)
				}
			}
		}
		for _, c := range x.Collations {
			if err := drv.RegisterCollationUtf8(c.Name, c.Compare); err != nil {
				return fmt.Errorf("vtab: extension %s: register collation %s: %w", x.Name, c.Name, err)
			}
		}
	}
	return nil
}
