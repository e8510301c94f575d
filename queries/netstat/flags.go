// Package netstat is `netsql netstat`: net-tools netstat 2.10's command
// line on top of netsql's canned queries. It parses netstat's flags the way
// netstat's getopt_long does, picks the canned views netstat would print,
// and runs them, so the output matches netstat byte for byte. Its wording
// (netstat_addr, netstat_program, the statistics sentences, ifconfig
// blocks, the netstat_if collation) is an extension of the engine
// (Extension, Open), not part of vtab.
package netstat

import (
	"fmt"
	"strings"
)

// Flags is what a netstat command line asked for, in netstat's terms.
type Flags struct {
	Route, Interfaces, Masquerade, Statistics, Groups int
	All, Listening, Continuous                        int
	Extend                                            int // -e count; netstat starts it at 1
	Programs, Timers, Wide, Verbose                   int
	NumericHosts, NumericPorts, NumericUsers          bool
	Cache, FIB                                        bool
	TCP, UDP, UDPLite, SCTP, Raw                      int
	L2CAP, RFCOMM                                     int
	Context                                           int // -Z
	Help, Version                                     bool

	// Address families from -A, -4, -6, -x and --inet etc.: AFName is
	// netstat's afname (comma-joined canonical names), Families counts
	// each canonical name.
	AFName   string
	Families map[string]int
}

// UsageError is a command line netstat rejects: Msg (may be empty) goes to
// standard error before the usage text.
type UsageError struct{ Msg string }

// Error returns the message netstat prints before its usage text.
func (e *UsageError) Error() string {
	if e.Msg == "" {
		return "netstat: bad usage"
	}
	return strings.TrimSuffix(e.Msg, "\n")
}

// FamilyError is an unknown -A family: netstat prints Msg and exits 1.
type FamilyError struct{ Msg string }

// Error returns netstat's message without its trailing newline.
func (e *FamilyError) Error() string { return strings.TrimSuffix(e.Msg, "\n") }

// shortOpts is netstat's getopt string.
const shortOpts = "A:CFMacdeghilnNoprsStuUvVWw2fx64?Z"

// longOpt is one of netstat's long options: the short option it stands
// for, or an address family name (aftrans) when family is set.
type longOpt struct {
	name   string
	hasArg bool
	short  byte
	family bool
}

var longOpts = []longOpt{
	{name: "ax25", family: true}, {name: "x25", family: true}, {name: "ip", family: true},
	{name: "ipx", family: true}, {name: "appletalk", family: true}, {name: "netrom", family: true},
	{name: "inet", family: true}, {name: "inet6", family: true}, {name: "ddp", family: true},
	{name: "rose", family: true}, {name: "unix", family: true}, {name: "bluetooth", family: true},
	{name: "tcpip", family: true},
	{name: "version", short: 'V'}, {name: "interfaces", short: 'i'}, {name: "help", short: 'h'},
	{name: "route", short: 'r'}, {name: "masquerade", short: 'M'}, {name: "protocol", hasArg: true, short: 'A'},
	{name: "tcp", short: 't'}, {name: "sctp", short: 'S'}, {name: "udp", short: 'u'},
	{name: "udplite", short: 'U'}, {name: "raw", short: 'w'}, {name: "unix", short: 'x'},
	{name: "l2cap", short: '2'}, {name: "rfcomm", short: 'f'}, {name: "listening", short: 'l'},
	{name: "all", short: 'a'}, {name: "timers", short: 'o'}, {name: "continuous", short: 'c'},
	{name: "extend", short: 'e'}, {name: "programs", short: 'p'}, {name: "verbose", short: 'v'},
	{name: "statistics", short: 's'}, {name: "wide", short: 'W'}, {name: "numeric", short: 'n'},
	{name: "numeric-hosts", short: '!'}, {name: "numeric-ports", short: '@'},
	{name: "numeric-users", short: '#'}, {name: "symbolic", short: 'N'}, {name: "cache", short: 'C'},
	{name: "fib", short: 'F'}, {name: "groups", short: 'g'}, {name: "context", short: 'Z'},
}

// aftrans maps netstat's address family aliases to canonical names.
var aftrans = []struct{ alias, name string }{
	{"ax25", "ax25"}, {"ip", "inet"}, {"ip6", "inet6"}, {"ipx", "ipx"}, {"rose", "rose"},
	{"appletalk", "ddp"}, {"netrom", "netrom"}, {"inet", "inet"}, {"inet6", "inet6"},
	{"ddp", "ddp"}, {"unix", "unix"}, {"tcpip", "inet"}, {"econet", "ec"}, {"x25", "x25"},
	{"ash", "ash"}, {"bluetooth", "bluetooth"},
}

// Parse reads netstat's arguments as getopt_long does (options may be
// clustered, long options abbreviated to a unique prefix, words that are
// not options are ignored). Errors are *UsageError or *FamilyError.
func Parse(args []string) (*Flags, error) {
	f := &Flags{Extend: 1, Families: map[string]int{}}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		switch {
		case arg == "--":
			return f, nil
		case strings.HasPrefix(arg, "--"):
			name, val, hasVal := strings.Cut(arg[2:], "=")
			opt, err := findLong(name)
			if err != nil {
				return nil, err
			}
			if opt.family {
				if hasVal {
					return nil, &UsageError{Msg: fmt.Sprintf("netstat: option '--%s' doesn't allow an argument\n", opt.name)}
				}
				if err := f.addFamilies(opt.name); err != nil {
					return nil, err
				}
				continue
			}
			if opt.hasArg {
				if !hasVal {
					if i+1 >= len(args) {
						return nil, &UsageError{Msg: fmt.Sprintf("netstat: option '--%s' requires an argument\n", opt.name)}
					}
					i++
					val = args[i]
				}
			} else if hasVal {
				return nil, &UsageError{Msg: fmt.Sprintf("netstat: option '--%s' doesn't allow an argument\n", opt.name)}
			}
			if err := f.apply(opt.short, val); err != nil {
				return nil, err
			}
		case strings.HasPrefix(arg, "-") && len(arg) > 1:
			for j := 1; j < len(arg); j++ {
				c := arg[j]
				k := strings.IndexByte(shortOpts, c)
				if c == ':' || k < 0 {
					return nil, &UsageError{Msg: fmt.Sprintf("netstat: invalid option -- '%c'\n", c)}
				}
				if k+1 < len(shortOpts) && shortOpts[k+1] == ':' {
					val := arg[j+1:]
					if val == "" {
						if i+1 >= len(args) {
							return nil, &UsageError{Msg: fmt.Sprintf("netstat: option requires an argument -- '%c'\n", c)}
						}
						i++
						val = args[i]
					}
					if err := f.apply(c, val); err != nil {
						return nil, err
					}
					break
				}
				if err := f.apply(c, ""); err != nil {
					return nil, err
				}
			}
		default:
			// getopt permutes non-options to the end; netstat ignores them.
		}
	}
	return f, nil
}

// findLong resolves a long option name: an exact match, else a unique
// prefix. As in glibc, a prefix of several options that all take the same
// action (the address family options) is not ambiguous: the first wins.
func findLong(name string) (longOpt, error) {
	var matches []longOpt
	for _, o := range longOpts {
		if o.name == name {
			return o, nil
		}
		if name != "" && strings.HasPrefix(o.name, name) {
			matches = append(matches, o)
		}
	}
	if len(matches) == 0 {
		return longOpt{}, &UsageError{Msg: fmt.Sprintf("netstat: unrecognized option '--%s'\n", name)}
	}
	first := matches[0]
	for _, m := range matches[1:] {
		if m.short != first.short || m.family != first.family || m.hasArg != first.hasArg {
			var b strings.Builder
			fmt.Fprintf(&b, "netstat: option '--%s' is ambiguous; possibilities:", name)
			for _, m := range matches {
				fmt.Fprintf(&b, " '--%s'", m.name)
			}
			b.WriteString("\n")
			return longOpt{}, &UsageError{Msg: b.String()}
		}
	}
	return first, nil
}

// addFamilies is net-tools' aftrans_opt: a comma-separated list of
// family aliases.
func (f *Flags) addFamilies(list string) error {
	for _, a := range strings.Split(list, ",") {
		found := false
		for _, t := range aftrans {
			if t.alias == a {
				f.Families[t.name]++
				if f.AFName != "" {
					f.AFName += ","
				}
				f.AFName += t.name
				found = true
				break
			}
		}
		if !found {
			return &FamilyError{Msg: fmt.Sprintf("Unknown address family `%s'.\n", a)}
		}
	}
	return nil
}

func (f *Flags) apply(c byte, val string) error {
	switch c {
	case 'A':
		return f.addFamilies(val)
	case 'M':
		f.Masquerade++
	case 'a':
		f.All++
	case 'l':
		f.Listening++
	case 'c':
		f.Continuous++
	case 'd':
	case 'g':
		f.Groups++
	case 'e':
		f.Extend++
	case 'p':
		f.Programs++
	case 'i':
		f.Interfaces++
	case 'W':
		f.Wide++
	case 'n':
		f.NumericHosts, f.NumericPorts, f.NumericUsers = true, true, true
	case '!':
		f.NumericHosts = true
	case '@':
		f.NumericPorts = true
	case '#':
		f.NumericUsers = true
	case 'N':
	case 'C':
		f.Cache = true
	case 'F':
		f.FIB = true
	case 'o':
		f.Timers++
	case '6':
		return f.addFamilies("inet6")
	case '4':
		return f.addFamilies("inet")
	case 'V':
		f.Version = true
	case 'v':
		f.Verbose++
	case 'r':
		f.Route++
	case 't':
		f.TCP++
	case 'S':
		f.SCTP++
	case 'u':
		f.UDP++
	case 'U':
		f.UDPLite++
	case 'w':
		f.Raw++
	case '2':
		f.L2CAP++
	case 'f':
		f.RFCOMM++
	case 'x':
		return f.addFamilies("unix")
	case 'Z':
		f.Context++
	case '?':
		return &UsageError{}
	case 'h':
		f.Help = true
	case 's':
		f.Statistics++
	}
	return nil
}

// Usage is netstat 2.10's usage text (Debian's build: SELinux and
// masquerade support, no Bluetooth).
const Usage = `usage: netstat [-vWeenNcCF] [<Af>] -r         netstat {-V|--version|-h|--help}
       netstat [-vWnNcaeol] [<Socket> ...]
       netstat { [-vWeenNac] -i | [-cnNe] -M | -s [-6tuw] }

        -r, --route              display routing table
        -i, --interfaces         display interface table
        -g, --groups             display multicast group memberships
        -s, --statistics         display networking statistics (like SNMP)
        -M, --masquerade         display masqueraded connections

        -v, --verbose            be verbose
        -W, --wide               don't truncate IP addresses
        -n, --numeric            don't resolve names
        --numeric-hosts          don't resolve host names
        --numeric-ports          don't resolve port names
        --numeric-users          don't resolve user names
        -N, --symbolic           resolve hardware names
        -e, --extend             display other/more information
        -p, --programs           display PID/Program name for sockets
        -o, --timers             display timers
        -c, --continuous         continuous listing

        -l, --listening          display listening server sockets
        -a, --all                display all sockets (default: connected)
        -F, --fib                display Forwarding Information Base (default)
        -C, --cache              display routing cache instead of FIB
        -Z, --context            display SELinux security context for sockets

  <Socket>={-t|--tcp} {-u|--udp} {-U|--udplite} {-S|--sctp} {-w|--raw}
           {-x|--unix} --ax25 --ipx --netrom
  <AF>=Use '-6|-4' or '-A <af>' or '--<af>'; default: inet
  List of possible address families (which support routing):
    inet (DARPA Internet) inet6 (IPv6) ax25 (AMPR AX.25) 
    netrom (AMPR NET/ROM) rose (AMPR ROSE) ipx (Novell IPX) 
    ddp (Appletalk DDP) x25 (CCITT X.25) 
`

// Version is what netstat -V prints.
const Version = `net-tools 2.10
Fred Baumgarten, Alan Cox, Bernd Eckenfels, Phil Blundell, Tuan Hoang, Brian Micek and others
+NEW_ADDRT +RTF_IRTT +RTF_REJECT +FW_MASQUERADE +I18N +SELINUX
AF: (inet) +UNIX +INET +INET6 +IPX +AX25 +NETROM +X25 +ATALK +ECONET +ROSE -BLUETOOTH
HW:  +ETHER +ARC +SLIP +PPP +TUNNEL -TR +AX25 +NETROM +X25 +FR +ROSE +ASH +SIT +FDDI +HIPPI +HDLC/LAPB +EUI64 
`
