package vtab

import (
	"context"

	"github.com/netsql/netsql/vtab/procstat"
)

// groupRecord is one row of multicast_groups.
type groupRecord struct {
	procstat.Group
}

// MulticastGroups is the multicast_groups table: what netstat -g shows.
var MulticastGroups = &Table[groupRecord]{
	Name:     "multicast_groups",
	PerNetNS: true,
	Doc:      "IPv4 and IPv6 multicast group memberships per interface (netstat -g), from net/igmp and net/igmp6, in netstat's order.",
	Example:  "SELECT interface, refcnt, \"group\" FROM multicast_groups WHERE family = 'inet';",
	Columns: []Column[groupRecord]{
		{Name: "interface", Type: Text, Doc: "interface name",
			Value: func(r *groupRecord) any { return r.Interface }},
		{Name: "ifindex", Type: Integer, Doc: "interface index (join to interfaces.index)",
			Value: func(r *groupRecord) any { return int64(r.Index) }},
		{Name: "refcnt", Type: Integer, Doc: "how many times the group was joined on the interface (netstat -g's RefCnt)",
			Value: func(r *groupRecord) any { return int64(r.RefCount) }},
		{Name: "group", Type: Text, Doc: "the multicast group address (quote it: \"group\" is an SQL keyword)",
			Value: func(r *groupRecord) any { return r.Group.Group.String() }},
		{Name: "family", Type: Text, Values: inetFamilies, Doc: "address family: inet, inet6",
			Value: func(r *groupRecord) any { return r.Family }},
		{Name: "netns", Type: Integer, Doc: "inode of the network namespace the membership belongs to"},
	},
	Rows: readGroups,
}

func readGroups(ctx context.Context, src *Source, q *Query) ([]groupRecord, error) {
	list, err := src.procNet().groups()
	if err != nil {
		return nil, missingProc(src, "multicast_groups", err)
	}
	recs := make([]groupRecord, len(list))
	for i, g := range list {
		recs[i] = groupRecord{Group: g}
	}
	return recs, nil
}
