package conntrack

import (
	"bytes"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/netsql/netsql/vtab/netlink"
)

const nested = 0x8000

func attr(typ uint16, v ...[]byte) []byte { return netlink.AppendAttr(nil, typ, bytes.Join(v, nil)) }

func tuple(src, dst string, proto uint8, sport, dport uint16) []byte {
	s, d := netip.MustParseAddr(src), netip.MustParseAddr(dst)
	ipSrc, ipDst := uint16(ctaIPv4Src), uint16(ctaIPv4Dst)
	if s.Is6() {
		ipSrc, ipDst = ctaIPv6Src, ctaIPv6Dst
	}
	return bytes.Join([][]byte{
		attr(ctaTupleIP|nested, attr(ipSrc, s.AsSlice()), attr(ipDst, d.AsSlice())),
		attr(ctaTupleProto|nested, attr(ctaProtoNum, []byte{proto}),
			attr(ctaProtoSrcPort, be.AppendUint16(nil, sport)), attr(ctaProtoDstPort, be.AppendUint16(nil, dport))),
	}, nil)
}

func counters(p, b uint64) []byte {
	return bytes.Join([][]byte{attr(ctaCountersPackets, be.AppendUint64(nil, p)), attr(ctaCountersBytes, be.AppendUint64(nil, b))}, nil)
}

// flowMsg is a masqueraded TCP flow as the kernel dumps it.
func flowMsg() []byte {
	return bytes.Join([][]byte{
		{unix.AF_INET, 0, 0, 0},
		attr(ctaTupleOrig|nested, tuple("10.78.0.1", "10.77.0.2", unix.IPPROTO_TCP, 41419, 7000)),
		attr(ctaTupleReply|nested, tuple("10.77.0.2", "10.77.0.1", unix.IPPROTO_TCP, 7000, 41419)),
		attr(ctaStatus, be.AppendUint32(nil, 0x18e)),
		attr(ctaCountersOrig|nested, counters(2, 112)),
		attr(ctaCountersReply|nested, counters(1, 60)),
		attr(ctaTimeout, be.AppendUint32(nil, 431998)),
		attr(ctaMark, be.AppendUint32(nil, 7)),
		attr(ctaProtoinfo|nested, attr(ctaProtoinfoTCP|nested, attr(ctaProtoinfoTCPState, []byte{3}))),
		attr(ctaUse, be.AppendUint32(nil, 1)),
		attr(ctaID, be.AppendUint32(nil, 1293849976)),
		attr(ctaZone, be.AppendUint16(nil, 3)),
	}, nil)
}

func TestParseFlow(t *testing.T) {
	var fl Flow
	if err := ParseFlow(flowMsg(), &fl); err != nil {
		t.Fatal(err)
	}
	want := Flow{
		Family: unix.AF_INET, Proto: unix.IPPROTO_TCP,
		Orig:     Tuple{Src: netip.MustParseAddr("10.78.0.1"), Dst: netip.MustParseAddr("10.77.0.2"), SrcPort: 41419, DstPort: 7000, HasPorts: true, ICMPType: -1},
		Reply:    Tuple{Src: netip.MustParseAddr("10.77.0.2"), Dst: netip.MustParseAddr("10.77.0.1"), SrcPort: 7000, DstPort: 41419, HasPorts: true, ICMPType: -1},
		TCPState: 3, Timeout: 431998, Mark: 7, Zone: 3, Status: 0x18e, HasStatus: true,
		OrigCount: Counters{2, 112, true}, ReplyCount: Counters{1, 60, true},
		ID: 1293849976, HasID: true, Use: 1,
	}
	if fl != want {
		t.Fatalf("got  %+v\nwant %+v", fl, want)
	}
	if !fl.SNAT() || fl.DNAT() {
		t.Errorf("snat %v dnat %v, want masqueraded only", fl.SNAT(), fl.DNAT())
	}
	if got := StatusText(fl.Status); got != "SEEN_REPLY,ASSURED,CONFIRMED,SRC_NAT_DONE,DST_NAT_DONE" {
		t.Errorf("status %q", got)
	}
	if TCPStateName(fl.TCPState) != "ESTABLISHED" || TCPStateName(-1) != "" {
		t.Error("state names")
	}
	// ParseFlow reuses fl: nothing of the previous flow leaks.
	short := bytes.Join([][]byte{{unix.AF_INET6, 0, 0, 0}, attr(ctaTupleOrig|nested, tuple("fd00::1", "fd00::2", unix.IPPROTO_UDP, 1, 2))}, nil)
	if err := ParseFlow(short, &fl); err != nil {
		t.Fatal(err)
	}
	if fl.Mark != 0 || fl.HasID || fl.OrigCount.Valid || fl.TCPState != -1 || fl.Timeout != -1 || fl.Orig.Src.String() != "fd00::1" {
		t.Errorf("reused flow: %+v", fl)
	}
	if allocs := testing.AllocsPerRun(100, func() { _ = ParseFlow(flowMsg0, &fl) }); allocs != 0 {
		t.Errorf("ParseFlow allocates %v times per flow", allocs)
	}
	// Every truncation is an error wrapping ErrMalformed, never a panic.
	m := flowMsg()
	for cut := 0; cut < len(m); cut++ {
		err := ParseFlow(m[:cut], &fl)
		if err != nil && !errors.Is(err, netlink.ErrMalformed) {
			t.Errorf("cut %d: %v", cut, err)
		}
	}
}

var flowMsg0 = flowMsg()

func TestDumpRequest(t *testing.T) {
	b := DumpRequest(Filter{Family: unix.AF_INET6, Mark: 7, HasMark: true, Zone: 3, HasZone: true})
	it := netlink.Messages(b)
	if !it.Next() {
		t.Fatal(it.Err())
	}
	m := it.Message()
	if m.Type != 1<<8|1 || m.Flags != unix.NLM_F_REQUEST|unix.NLM_F_DUMP || m.Payload[0] != unix.AF_INET6 {
		t.Fatalf("header %+v", m)
	}
	got := map[uint16][]byte{}
	at := netlink.Attrs(m.Payload[nfgenLen:])
	for at.Next() {
		got[at.Attr().Type()] = at.Attr().Value
	}
	if be.Uint32(got[ctaMark]) != 7 || be.Uint32(got[ctaMarkMask]) != 0xffffffff || be.Uint16(got[ctaZone]) != 3 || len(got) != 3 {
		t.Errorf("attributes %v", got)
	}
	if b := DumpRequest(Filter{}); len(b) != netlink.HeaderLen+nfgenLen {
		t.Errorf("unfiltered request of %d bytes", len(b))
	}
}

func TestStats(t *testing.T) {
	cpu := func(found, drop uint32) []byte {
		return bytes.Join([][]byte{{0, 0, 0, 1}, attr(2, be.AppendUint32(nil, found)), attr(10, be.AppendUint32(nil, drop)), attr(99, be.AppendUint32(nil, 5))}, nil)
	}
	var s Stats
	if err := AddCPUStats(cpu(3, 1), &s); err != nil {
		t.Fatal(err)
	}
	if err := AddCPUStats(cpu(4, 0), &s); err != nil {
		t.Fatal(err)
	}
	if s.Found != 7 || s.Drop != 1 || s.CPUs != 2 || s.Invalid != 0 {
		t.Errorf("%+v", s)
	}
	if err := AddCPUStats(bytes.Join([][]byte{{0, 0, 0, 0}, attr(2, []byte{1})}, nil), &s); !errors.Is(err, netlink.ErrMalformed) {
		t.Errorf("short counter: %v", err)
	}
	proc := "entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete search_restart\n" +
		"00000002  00000001 0000000a 00000000 00000003 00000000 00000000 00000000 00000000 00000000 00000010 00000000 00000001  00000000 00000000 00000000 00000002\n" +
		"00000002  00000000 00000001 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000004 00000000  00000000 00000000 00000000 00000000\n"
	ps, err := ParseProcStats(strings.NewReader(proc))
	if err != nil {
		t.Fatal(err)
	}
	if ps.Found != 11 || ps.Invalid != 3 || ps.Drop != 16 || ps.EarlyDrop != 4 || ps.Error != 1 || ps.SearchRestart != 2 || ps.ClashResolve != 1 || ps.CPUs != 2 {
		t.Errorf("proc stats %+v", ps)
	}
}

func TestParseProc(t *testing.T) {
	// Lines as the kernel writes them (accounting on, then off; an
	// unreplied UDP flow; ICMP; IPv6).
	in := "ipv4     2 tcp      6 431998 ESTABLISHED src=10.78.0.1 dst=10.77.0.2 sport=41419 dport=7000 packets=2 bytes=112 src=10.77.0.2 dst=10.77.0.1 sport=7000 dport=41419 packets=1 bytes=60 [ASSURED] mark=7 zone=0 use=2\n" +
		"ipv4     2 udp      17 28 src=10.78.0.1 dst=10.77.0.2 sport=50134 dport=7001 [UNREPLIED] src=10.77.0.2 dst=10.78.0.1 sport=7001 dport=50134 mark=0 zone=2 use=2\n" +
		"ipv4     2 icmp     1 29 src=10.0.0.1 dst=10.0.0.2 type=8 code=0 id=77 src=10.0.0.2 dst=10.0.0.1 type=0 code=0 id=77 mark=0 use=2\n" +
		"ipv6     10 tcp      6 119 TIME_WAIT src=fd00::1 dst=fd00::2 sport=1 dport=2 src=fd00::2 dst=fd00::1 sport=2 dport=1 [ASSURED] mark=0 zone=0 use=2\n"
	var got []Flow
	if err := ParseProc(strings.NewReader(in), Filter{}, func(f *Flow) error { got = append(got, *f); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("%d flows", len(got))
	}
	tcp, udp, icmp, v6 := got[0], got[1], got[2], got[3]
	if tcp.TCPState != 3 || tcp.Timeout != 431998 || tcp.Mark != 7 || tcp.OrigCount != (Counters{2, 112, true}) || tcp.ReplyCount != (Counters{1, 60, true}) ||
		tcp.Status != StatusSeenReply|StatusAssured || !tcp.SNAT() || tcp.HasID || tcp.Reply.Dst.String() != "10.77.0.1" {
		t.Errorf("tcp %+v", tcp)
	}
	if udp.Status != 0 || udp.Zone != 2 || udp.OrigCount.Valid || udp.SNAT() || udp.TCPState != -1 || udp.Orig.DstPort != 7001 {
		t.Errorf("udp %+v", udp)
	}
	if icmp.Orig.HasPorts || icmp.Orig.ICMPType != 8 || icmp.Reply.ICMPType != 0 || icmp.Orig.ICMPID != 77 || icmp.Proto != unix.IPPROTO_ICMP {
		t.Errorf("icmp %+v", icmp)
	}
	if v6.Family != unix.AF_INET6 || v6.TCPState != 7 || v6.Orig.Src.String() != "fd00::1" {
		t.Errorf("ipv6 %+v", v6)
	}
	// The filter applies.
	n := 0
	ParseProc(strings.NewReader(in), Filter{Family: unix.AF_INET, Zone: 2, HasZone: true}, func(*Flow) error { n++; return nil })
	if n != 1 {
		t.Errorf("zone 2: %d flows", n)
	}
	for _, bad := range []string{"ipv4 2 tcp 6\n", "ipx 2 tcp 6 1 src=1.2.3.4 dst=1.2.3.4 src=1.2.3.4 dst=1.2.3.4 use=1\n",
		"ipv4 2 tcp 6 1 ESTABLISHED src=1.2.3.4 dst=1.2.3.4 sport=1 dport=2 use=1\n", "ipv4 2 tcp 6 1 src=1.2.3.4 dst=x src=1.2.3.4 dst=1.2.3.4\n",
		"ipv4 2 tcp 6 1 src=1.2.3.4 dst=1.2.3.4 src=1.2.3.4 dst=1.2.3.4 use=1"} {
		if err := ParseProc(strings.NewReader(bad), Filter{}, func(*Flow) error { return nil }); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func FuzzParseFlow(f *testing.F) {
	f.Add(flowMsg())
	f.Fuzz(func(t *testing.T, b []byte) {
		var fl Flow
		_ = ParseFlow(b, &fl)
		var s Stats
		_ = AddCPUStats(b, &s)
	})
}
