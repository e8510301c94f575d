package netlink

// Attr is one netlink attribute (struct nlattr / struct rtattr).
type Attr struct {
	// RawType is nla_type as sent, with the NLA_F_NESTED and
	// NLA_F_NET_BYTEORDER flag bits.
	RawType uint16
	// Value is the payload, without padding; it aliases the message.
	Value []byte
}

// Type returns the attribute type with the flag bits cleared.
func (a Attr) Type() uint16 { return a.RawType & attrTypeMask }

// Nested reports whether the sender flagged the attribute NLA_F_NESTED.
// Many kernel families nest without the flag; a parser that knows the
// type walks Attrs(a.Value) either way.
func (a Attr) Nested() bool { return a.RawType&0x8000 != 0 }

// SplitAttr cuts the first attribute off b and returns it with the rest
// of b after its padding (nil when none is left). It fails, wrapping
// ErrMalformed, when b holds no complete attribute.
func SplitAttr(b []byte) (a Attr, rest []byte, err error) {
	if len(b) < AttrHeaderLen {
		return Attr{}, nil, malformed("%d attribute bytes, shorter than an attribute header", len(b))
	}
	l := int(ne.Uint16(b[0:2]))
	if l < AttrHeaderLen || l > len(b) {
		return Attr{}, nil, malformed("attribute type %d length %d with %d bytes left", ne.Uint16(b[2:4])&attrTypeMask, l, len(b))
	}
	a = Attr{RawType: ne.Uint16(b[2:4]), Value: b[AttrHeaderLen:l:l]}
	if next := Align(l); next < len(b) {
		rest = b[next:]
	}
	return a, rest, nil
}

// AttrIter walks a run of attributes without allocating:
//
//	it := netlink.Attrs(payload)
//	for it.Next() {
//		a := it.Attr()
//		if a.Type() == X { inner := netlink.Attrs(a.Value); ... }
//	}
//	if err := it.Err(); err != nil { ... }
type AttrIter struct {
	b   []byte
	a   Attr
	err error
}

// Attrs returns an iterator over the attributes in b.
func Attrs(b []byte) AttrIter { return AttrIter{b: b} }

// Next moves to the next attribute and reports whether there is one. An
// attribute shorter than its header or running past the end stops the
// walk with an error wrapping ErrMalformed.
func (it *AttrIter) Next() bool {
	if it.err != nil || len(it.b) == 0 {
		return false
	}
	it.a, it.b, it.err = SplitAttr(it.b)
	return it.err == nil
}

// Attr returns the current attribute.
func (it *AttrIter) Attr() Attr { return it.a }

// Err returns the error that stopped the walk, if any.
func (it *AttrIter) Err() error { return it.err }

// AppendAttr appends one attribute (header, value, padding) to b.
func AppendAttr(b []byte, typ uint16, val []byte) []byte {
	l := AttrHeaderLen + len(val)
	b = ne.AppendUint16(b, uint16(l))
	b = ne.AppendUint16(b, typ)
	b = append(b, val...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// AppendAttrU32 appends an attribute holding a host-order u32.
func AppendAttrU32(b []byte, typ uint16, v uint32) []byte {
	return AppendAttr(b, typ, ne.AppendUint32(nil, v))
}
