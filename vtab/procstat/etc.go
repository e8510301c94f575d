package procstat

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Service is one entry of /etc/services, e.g. {Name: "ssh", Port: 22,
// Protocol: "tcp"}.
type Service struct {
	Name     string   // official service name
	Port     int      // port number, 0..65535
	Protocol string   // protocol name: tcp, udp, sctp, ddp...
	Aliases  []string // alternative names, nil when there are none
}

// DefaultServicesPath is where the services database lives.
const DefaultServicesPath = "/etc/services"

// Services parses a services(5) file (DefaultServicesPath on a live host):
// "name port/protocol [aliases...]", '#' starts a comment, blank lines are
// skipped. Entries come back in file order. Unlike getservbyport(3), which
// skips lines it cannot read, a malformed line is an error naming it.
func Services(path string) ([]Service, error) {
	return readFile(path, parseServices)
}

// parseServices parses a services(5) file.
func parseServices(r io.Reader, file string) ([]Service, error) {
	var out []Service
	err := scanTextLines(r, file, func(_ int, line string) error {
		f := strings.Fields(stripComment(line))
		if len(f) == 0 {
			return nil
		}
		s, err := parseServiceFields(f)
		if err != nil {
			return err
		}
		out = append(out, s)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// parseServiceFields parses the fields of one services(5) entry.
func parseServiceFields(f []string) (Service, error) {
	if len(f) < 2 {
		return Service{}, malformed("want \"name port/protocol [aliases]\", got %q", abbrev(strings.Join(f, " ")))
	}
	port, proto, ok := strings.Cut(f[1], "/")
	if !ok || proto == "" {
		return Service{}, malformed("%s: want port/protocol, got %q", f[0], f[1])
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return Service{}, malformed("%s: port %q is not 0..65535", f[0], port)
	}
	s := Service{Name: f[0], Port: int(n), Protocol: proto}
	if len(f) > 2 {
		s.Aliases = f[2:]
	}
	return s, nil
}

// stripComment drops everything from the first '#'.
func stripComment(line string) string {
	if i := strings.IndexByte(line, '#'); i >= 0 {
		return line[:i]
	}
	return line
}

// DefaultRouteTablePaths are the rt_tables files tried in order when
// RouteTables gets none: /etc first, then the distribution defaults that
// newer iproute2 releases ship under /usr.
var DefaultRouteTablePaths = []string{
	"/etc/iproute2/rt_tables",
	"/usr/share/iproute2/rt_tables",
	"/usr/lib/iproute2/rt_tables",
}

// builtinRouteTables are the names iproute2 knows without any file.
var builtinRouteTables = map[uint32]string{
	255: "local",
	254: "main",
	253: "default",
	0:   "unspec",
}

// RouteTables returns routing table names by id, as `ip route` resolves
// them. It starts from iproute2's built-ins (255 local, 254 main, 253
// default, 0 unspec), then reads the first of paths that exists
// (DefaultRouteTablePaths when none are given), then every *.conf file, in
// name order, in an rt_tables.d directory next to any of paths. Later
// entries override earlier ones. Missing files are not an error, so with
// none present the built-ins come back.
//
// The format is "id name" per line, id decimal or 0x-prefixed hex, with
// '#' comments.
func RouteTables(paths ...string) (map[uint32]string, error) {
	if len(paths) == 0 {
		paths = DefaultRouteTablePaths
	}
	m := make(map[uint32]string, len(builtinRouteTables))
	for id, name := range builtinRouteTables {
		m[id] = name
	}
	merge := func(file string) (bool, error) {
		t, err := readFile(file, parseRtTables)
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		for _, e := range t {
			m[e.id] = e.name
		}
		return true, nil
	}
	for _, p := range paths {
		found, err := merge(p)
		if err != nil {
			return nil, err
		}
		if found {
			break
		}
	}
	seen := map[string]bool{}
	for _, p := range paths {
		dir := filepath.Join(filepath.Dir(p), "rt_tables.d")
		if seen[dir] {
			continue
		}
		seen[dir] = true
		ents, err := os.ReadDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var confs []string
		for _, e := range ents {
			if !e.IsDir() && strings.HasSuffix(e.Name(), ".conf") {
				confs = append(confs, e.Name())
			}
		}
		sort.Strings(confs)
		for _, c := range confs {
			if _, err := merge(filepath.Join(dir, c)); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// rtTable is one "id name" entry of an rt_tables file.
type rtTable struct {
	id   uint32
	name string
}

// parseRtTables parses an rt_tables file, keeping file order.
func parseRtTables(r io.Reader, file string) ([]rtTable, error) {
	var out []rtTable
	err := scanTextLines(r, file, func(_ int, line string) error {
		f := strings.Fields(stripComment(line))
		if len(f) == 0 {
			return nil
		}
		t, err := parseRtTableFields(f)
		if err != nil {
			return err
		}
		out = append(out, t)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// parseRtTableFields parses "id name". Like iproute2's "%d"/"0x%x", a
// leading zero does not make the id octal.
func parseRtTableFields(f []string) (rtTable, error) {
	if len(f) != 2 {
		return rtTable{}, malformed("want \"id name\", got %d fields", len(f))
	}
	s, base := f[0], 10
	if len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X") {
		s, base = s[2:], 16
	}
	id, err := strconv.ParseUint(s, base, 32)
	if err != nil {
		return rtTable{}, malformed("table id %q is not a number", f[0])
	}
	return rtTable{id: uint32(id), name: f[1]}, nil
}
