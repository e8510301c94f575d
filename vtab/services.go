package vtab

import (
	"context"
	"strings"

	"github.com/netsql/netsql/vtab/procstat"
)

// serviceRecord is one row of services.
type serviceRecord struct {
	procstat.Service
	netns uint64
}

// Services is the services table: /etc/services.
var Services = &Table[serviceRecord]{
	Name:    "services",
	Doc:     "The services database (/etc/services, or etc/services beside a --proc tree): the port names netstat prints without -n.",
	Example: "SELECT s.local_port, v.name, count(*) FROM sockets s JOIN services v ON v.port = s.local_port AND v.protocol = s.protocol WHERE s.state = 'LISTEN' GROUP BY 1, 2;",
	Columns: []Column[serviceRecord]{
		{Name: "name", Type: Text, Doc: "official service name (ssh, domain, http)",
			Value: func(r *serviceRecord) any { return r.Name }},
		{Name: "port", Type: Integer, Doc: "port number",
			Value: func(r *serviceRecord) any { return int64(r.Port) }},
		{Name: "protocol", Type: Text, Doc: "tcp, udp, sctp, ddp... (join to sockets.protocol)",
			Value: func(r *serviceRecord) any { return r.Protocol }},
		{Name: "aliases", Type: Text, Doc: "other names, space-separated; NULL when none",
			Value: func(r *serviceRecord) any {
				if len(r.Aliases) == 0 {
					return nil
				}
				return strings.Join(r.Aliases, " ")
			}},
		{Name: "netns", Type: Integer, Doc: "inode of the network namespace netsql reads (the file is the same in every one)",
			Value: func(r *serviceRecord) any { return nullIfZero(r.netns) }},
	},
	Rows: readServices,
}

func readServices(ctx context.Context, src *Source, q *Query) ([]serviceRecord, error) {
	list, err := src.etc().services()
	if err != nil {
		return nil, missingProc(src, "services", err)
	}
	netns := src.NetNS()
	recs := make([]serviceRecord, len(list))
	for i, s := range list {
		recs[i] = serviceRecord{Service: s, netns: netns}
	}
	return recs, nil
}
