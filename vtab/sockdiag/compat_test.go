package sockdiag

import "github.com/netsql/netsql/vtab/netlink"

// dumpState and handleBatch let the batch tests drive the netlink core's
// reply handling (netlink.DumpState) the way a sock_diag dump does.
type dumpState struct {
	seq         uint32
	done        bool
	interrupted bool
}

func handleBatch(b []byte, st *dumpState, each func(payload []byte) error) error {
	ns := netlink.DumpState{Seq: st.seq, Dump: true, Done: st.done, Interrupted: st.interrupted}
	err := ns.Handle(b, diagMessages(each))
	st.done, st.interrupted = ns.Done, ns.Interrupted
	return err
}
