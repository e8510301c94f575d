package vtab

// Tables returns every table netsql declares, in the order .tables and the
// README list them.
func Tables() []Def {
	return []Def{Sockets, SocketOwners, UnixSocketLines, Processes,
		Routes, IPv6RouteLines, Rules, Interfaces, Addresses, Neighbors,
		MulticastGroups, ProtocolStats, SocketSummary, Services, Namespaces,
		Conntrack, ConntrackStats}
}
