package rtnl

import "golang.org/x/sys/unix"

// The canned-buffer decoders the unit and fuzz tests feed kernel replies
// to; the live client decodes the same messages with the same per-message
// parsers as they arrive.

// parseMessages splits b and calls fn for each message of type want.
// NLMSG_DONE, NLMSG_NOOP and other types are skipped; NLMSG_ERROR with a
// non-zero code becomes an error.
func parseMessages(b []byte, want uint16, fn func(payload []byte) error) error {
	msgs, err := splitMessages(b)
	if err != nil {
		return err
	}
	for _, m := range msgs {
		switch m.Type {
		case want:
			if err := fn(m.Payload); err != nil {
				return err
			}
		case unix.NLMSG_ERROR:
			if err := errorFromMsg(m.Flags, m.Payload); err != nil {
				return err
			}
		}
	}
	return nil
}

// ParseLinks decodes RTM_NEWLINK messages from b, a buffer of netlink
// messages as the kernel sends them; other message types are skipped.
func ParseLinks(b []byte) ([]Link, error) {
	var out []Link
	err := parseMessages(b, unix.RTM_NEWLINK, func(p []byte) error {
		l, err := parseLink(p)
		if err != nil {
			return err
		}
		out = append(out, l)
		return nil
	})
	return out, err
}

// ParseAddresses decodes RTM_NEWADDR messages from b.
func ParseAddresses(b []byte) ([]Address, error) {
	var out []Address
	err := parseMessages(b, unix.RTM_NEWADDR, func(p []byte) error {
		a, err := parseAddress(p)
		if err != nil {
			return err
		}
		out = append(out, a)
		return nil
	})
	return out, err
}

// ParseRoutes decodes RTM_NEWROUTE messages from b, one Route per nexthop
// of a multipath route.
func ParseRoutes(b []byte) ([]Route, error) {
	var out []Route
	err := parseMessages(b, unix.RTM_NEWROUTE, func(p []byte) error {
		var err error
		out, err = appendRoutes(out, p)
		return err
	})
	return out, err
}

// ParseNeighbors decodes RTM_NEWNEIGH messages from b.
func ParseNeighbors(b []byte) ([]Neighbor, error) {
	var out []Neighbor
	err := parseMessages(b, unix.RTM_NEWNEIGH, func(p []byte) error {
		n, err := parseNeighbor(p)
		if err != nil {
			return err
		}
		out = append(out, n)
		return nil
	})
	return out, err
}
