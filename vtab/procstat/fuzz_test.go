package procstat

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzParser fuzzes one parser, seeded with its fixture files and a few
// broken variants. Whatever the input, the parser must not panic, and an
// error must name the file and a line.
func fuzzParser[T any](f *testing.F, name string, parse func(io.Reader, string) (T, error), seeds ...string) {
	for _, path := range seeds {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		lines := strings.SplitAfter(string(b), "\n")
		// Truncated in the middle of a line, a line dropped, a line doubled.
		f.Add(b[:len(b)/2])
		if len(lines) > 2 {
			f.Add([]byte(strings.Join(append(append([]string{}, lines[:1]...), lines[2:]...), "")))
			f.Add([]byte(lines[1] + string(b)))
		}
	}
	f.Add([]byte{})
	f.Add([]byte("\n\n\t \n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := parse(strings.NewReader(string(data)), name)
		if err != nil && !strings.HasPrefix(err.Error(), "procstat: "+name+" line ") {
			t.Fatalf("error %q does not name the file and line", err)
		}
	})
}

func netFixture(name string) string { return filepath.Join(fixtureRoot, "net", name) }

func FuzzParseSnmp(f *testing.F) {
	fuzzParser(f, "snmp", parseSnmp, netFixture("snmp"), netFixture("netstat"))
}

func FuzzParseSnmp6(f *testing.F) {
	fuzzParser(f, "snmp6", parseSnmp6, netFixture("snmp6"))
}

func FuzzParseSockstat(f *testing.F) {
	fuzzParser(f, "sockstat", parseSockstat("inet"), netFixture("sockstat"), netFixture("sockstat6"))
}

func FuzzParseIgmp(f *testing.F) {
	fuzzParser(f, "igmp", parseIgmp, netFixture("igmp"))
}

func FuzzParseIgmp6(f *testing.F) {
	fuzzParser(f, "igmp6", parseIgmp6, netFixture("igmp6"))
}

func FuzzParseDev(f *testing.F) {
	fuzzParser(f, "dev", parseDev, netFixture("dev"))
}

func FuzzParseRoute(f *testing.F) {
	fuzzParser(f, "route", parseRoute, netFixture("route"))
}

func FuzzParseIPv6Route(f *testing.F) {
	fuzzParser(f, "ipv6_route", parseIPv6Route, netFixture("ipv6_route"))
}

func FuzzParseServices(f *testing.F) {
	fuzzParser(f, "services", parseServices, "testdata/etc/services")
}

func FuzzParseRtTables(f *testing.F) {
	fuzzParser(f, "rt_tables", parseRtTables, "testdata/etc/iproute2/rt_tables",
		"testdata/etc/iproute2/rt_tables.d/10-override.conf")
}

func FuzzParseIfInet6(f *testing.F) {
	fuzzParser(f, "if_inet6", parseIfInet6, netFixture("if_inet6"))
}

func FuzzParseARP(f *testing.F) {
	fuzzParser(f, "arp", parseARP, netFixture("arp"))
}
