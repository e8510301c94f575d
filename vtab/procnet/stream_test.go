package procnet

import (
	"context"
	"fmt"
	"net/netip"
	"reflect"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/netsql/netsql/vtab/sock"
)

// streamAll collects what Stream hands over, copying each batch.
func streamAll(t *testing.T, r *Reader, req sock.Request, stopAfter int) ([]sock.Socket, int) {
	t.Helper()
	var out []sock.Socket
	batches := 0
	err := r.Stream(context.Background(), req, func(b []sock.Socket) bool {
		batches++
		if len(b) == 0 || len(b) > StreamBatch {
			t.Fatalf("batch of %d sockets", len(b))
		}
		out = append(out, b...)
		return stopAfter == 0 || batches < stopAfter
	})
	if err != nil {
		t.Fatalf("Stream(%+v): %v", req, err)
	}
	return out, batches
}

// TestStreamSameAsSockets: Stream hands over exactly the sockets Sockets
// returns, in the same order, for requests with states, protocols and
// filters, over the fixture tree and over a file of more than a batch.
func TestStreamSameAsSockets(t *testing.T) {
	big := bigTree(t, 3*StreamBatch+7)
	for _, root := range []string{fixtureRoot, big} {
		r := New(root)
		for _, req := range []sock.Request{
			{},
			{Protocols: []sock.Proto{sock.TCP}},
			{Protocols: []sock.Proto{sock.UNIX}, States: 1 << sock.StateListen},
			{Families: []uint8{unix.AF_INET6}},
			{Filter: sock.Filter{LocalPorts: []sock.PortRange{{Min: 1, Max: 1024}}}},
			{Filter: sock.Filter{LocalAddrs: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}},
		} {
			want, err := r.Sockets(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := streamAll(t, r, req, 0)
			if len(got) != len(want) || len(want) > 0 && !reflect.DeepEqual(got, want) {
				t.Errorf("%s %+v: Stream handed over %d sockets, Sockets returned %d", root, req, len(got), len(want))
			}
		}
		// Stopped after the first batch: no more batches.
		if _, n := streamAll(t, r, sock.Request{}, 1); n != 1 {
			t.Errorf("%s: %d batches after the consumer stopped at the first", root, n)
		}
	}
}

// bigTree writes a proc tree whose tcp and unix files hold n sockets
// each, ports 1 to n (every fourth in LISTEN), to span several batches.
func bigTree(t *testing.T, n int) string {
	t.Helper()
	tcp := []byte("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n")
	ux := []byte("Num       RefCount Protocol Flags    Type St Inode Path\n")
	for i := 1; i <= n; i++ {
		st := "01"
		if i%4 == 0 {
			st = "0A"
		}
		tcp = fmt.Appendf(tcp, "%4d: 0100007F:%04X 0100007F:1F90 %s 00000000:00000000 00:00000000 00000000     0        0 %d 1 0000000000000000 100 0 0 10 0\n", i, i, st, 1000+i)
		ux = fmt.Appendf(ux, "00000000%08x: 00000002 00000000 00000000 0001 03 %d /run/s%d.sock\n", i, 5000+i, i)
	}
	return writeTree(t, map[string]string{"tcp": string(tcp), "unix": string(ux)})
}
