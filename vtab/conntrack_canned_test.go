package vtab

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/netsql/netsql/vtab/conntrack"
	"github.com/netsql/netsql/vtab/internal/nstest"
	"github.com/netsql/netsql/vtab/netlink"
)

// The conntrack table tested on recorded ctnetlink bytes: a dump the
// kernel sent for the flows newConntrackNet makes (a masqueraded TCP
// flow, a marked UDP one), kept in testdata/conntrack/flows.bin with
// conntrack(8)'s listing of the same moment in flows.rows. Regenerate
// both (root, nftables and conntrack installed) with
//
//	NETSQL_RECORD_CONNTRACK=1 go test ./vtab -run TestConntrackFromRecordedBytes
var (
	recordedFlows = filepath.Join("testdata", "conntrack", "flows.bin")
	recordedRows  = filepath.Join("testdata", "conntrack", "flows.rows")
)

// replayConntrack answers the conntrack table's reads from recorded
// ctnetlink messages, as the live reader answers them from a dump.
type replayConntrack struct{ msgs []byte }

func (r replayConntrack) flows(_ context.Context, f conntrack.Filter, _ func(), add func(*conntrack.Flow) error) error {
	var fl conntrack.Flow
	it := netlink.Messages(r.msgs)
	for it.Next() {
		m := it.Message()
		if !conntrack.IsFlow(m.Type) {
			continue
		}
		if err := conntrack.ParseFlow(m.Payload, &fl); err != nil {
			return err
		}
		if f.Match(&fl) {
			if err := add(&fl); err != nil {
				return err
			}
		}
	}
	return it.Err()
}

func (replayConntrack) stats(context.Context) (conntrack.Stats, bool, error) {
	return conntrack.Stats{}, false, nil
}

// replayEngine opens an engine whose conntrack reader replays msgs.
func replayEngine(t *testing.T, msgs []byte) *Engine {
	t.Helper()
	src, err := NewSource("testdata/fixture/proc", nil)
	if err != nil {
		t.Fatal(err)
	}
	src.rd.ct = replayConntrack{msgs: msgs}
	eng, err := Open(Options{Source: src})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	return eng
}

// cannedRowsSQL is conntrackRowsSQL over the replayed source's own
// namespace.
var cannedRowsSQL = strings.Replace(conntrackRowsSQL, " WHERE netns_name = ?", "", 1)

// TestConntrackFromRecordedBytes reads the conntrack table from the
// recorded dump and compares it with what conntrack(8) listed for it,
// and checks that pushed filters select from the bytes as the kernel
// would (mark, protocol).
func TestConntrackFromRecordedBytes(t *testing.T) {
	if os.Getenv("NETSQL_RECORD_CONNTRACK") != "" {
		recordConntrack(t)
	}
	msgs, err := os.ReadFile(recordedFlows)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(recordedRows)
	if err != nil {
		t.Fatal(err)
	}
	eng := replayEngine(t, msgs)
	got := strings.Join(sorted(query(t, eng, cannedRowsSQL)), "\n")
	if got != strings.TrimSpace(string(want)) {
		t.Errorf("conntrack from recorded bytes:\n%s\nconntrack -L listed:\n%s", got, want)
	}
	if got := query(t, eng, "SELECT protocol, mark FROM conntrack WHERE mark = 7"); strings.Join(got, ",") != "udp|7" {
		t.Errorf("mark = 7 selects %v, want the UDP flow", got)
	}
	if got := query(t, eng, "SELECT count(*), min(snat) FROM conntrack WHERE src = '10.9.50.1'"); strings.Join(got, ",") != "2|1" {
		t.Errorf("masqueraded flows from 10.9.50.1: %v, want 2 with snat", got)
	}
}

// recordConntrack makes the flows, dumps them through ctnetlink, and
// writes the messages and conntrack(8)'s listing of the same moment
// (the two read again until they agree).
func recordConntrack(t *testing.T) {
	n := newConntrackNet(t)
	var msgs []byte
	dump := func() []string {
		c, err := netlink.DialConn(netlink.Config{Protocol: unix.NETLINK_NETFILTER, NetNS: n.Path()})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		var buf []byte
		err = c.Dump(context.Background(), conntrack.DumpRequest(conntrack.Filter{}), func() { buf = buf[:0] }, func(m netlink.Message) error {
			buf = appendMessage(buf, m)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		msgs = buf
		return sorted(query(t, replayEngine(t, buf), cannedRowsSQL))
	}
	rows, err := nstest.Agree(t, 8, 2, dump, func() []string {
		return sorted(toolFlows(n.conntrackTool(t, "-L", "-o", "extended,id")))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(recordedFlows), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(recordedFlows, msgs, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(recordedRows, []byte(strings.Join(rows, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// appendMessage appends m to b as the kernel framed it: header, payload,
// padding to 4 bytes.
func appendMessage(b []byte, m netlink.Message) []byte {
	n := unix.SizeofNlMsghdr + len(m.Payload)
	b = binary.NativeEndian.AppendUint32(b, uint32(n))
	b = binary.NativeEndian.AppendUint16(b, m.Type)
	b = binary.NativeEndian.AppendUint16(b, m.Flags)
	b = binary.NativeEndian.AppendUint32(b, m.Seq)
	b = binary.NativeEndian.AppendUint32(b, m.Pid)
	b = append(b, m.Payload...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}
