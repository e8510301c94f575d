package conntrack

import "github.com/netsql/netsql/vtab/netlink"

// Stats are the conntrack counters summed over every CPU, as
// `conntrack -S` prints them per CPU.
type Stats struct {
	Found, Invalid, Insert, InsertFailed, Drop, EarlyDrop, Error,
	SearchRestart, ClashResolve, ChainTooLong uint64
	CPUs int // how many per-CPU rows were summed

	// Count and Max are filled by the caller from ReadLimits (-1: unknown);
	// NetNS is the namespace's inode (0: unknown).
	Count, Max int64
	NetNS      uint64
}

// StatField is one counter of Stats: its name (conntrack -S's), its
// ctnetlink attribute (CTA_STATS_*) and its column in
// /proc/net/stat/nf_conntrack.
type StatField struct {
	Name  string
	attr  uint16
	proc  string
	Field func(*Stats) *uint64
}

// StatFields lists the counters in conntrack -S's order, named as it
// names them except insert and drop (SQL keywords): inserted, dropped.
var StatFields = []StatField{
	{"found", 2, "found", func(s *Stats) *uint64 { return &s.Found }},
	{"invalid", 4, "invalid", func(s *Stats) *uint64 { return &s.Invalid }},
	{"inserted", 8, "insert", func(s *Stats) *uint64 { return &s.Insert }},
	{"insert_failed", 9, "insert_failed", func(s *Stats) *uint64 { return &s.InsertFailed }},
	{"dropped", 10, "drop", func(s *Stats) *uint64 { return &s.Drop }},
	{"early_drop", 11, "early_drop", func(s *Stats) *uint64 { return &s.EarlyDrop }},
	{"error", 12, "icmp_error", func(s *Stats) *uint64 { return &s.Error }},
	{"search_restart", 13, "search_restart", func(s *Stats) *uint64 { return &s.SearchRestart }},
	{"clash_resolve", 14, "clashres", func(s *Stats) *uint64 { return &s.ClashResolve }},
	{"chaintoolong", 15, "chainlength", func(s *Stats) *uint64 { return &s.ChainTooLong }},
}

// AddCPUStats adds one IPCTNL_MSG_CT_GET_STATS_CPU payload (nfgenmsg, whose
// res_id is the CPU, plus CTA_STATS_* u32 attributes) to s.
func AddCPUStats(p []byte, s *Stats) error {
	if len(p) < nfgenLen {
		return malformed("stats message of %d bytes", len(p))
	}
	it := netlink.Attrs(p[nfgenLen:])
	for it.Next() {
		a := it.Attr()
		for i := range StatFields {
			if StatFields[i].attr == a.Type() {
				if len(a.Value) < 4 {
					return malformed("counter %s of %d bytes", StatFields[i].Name, len(a.Value))
				}
				*StatFields[i].Field(s) += uint64(be.Uint32(a.Value))
			}
		}
	}
	if err := it.Err(); err != nil {
		return err
	}
	s.CPUs++
	return nil
}
