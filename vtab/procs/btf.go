package procs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// BTF (BPF Type Format) is how the kernel describes its own types in
// /sys/kernel/btf/vmlinux. The fd iterator reads from it the type id of
// the iterator it attaches to and the offsets of the few struct fields
// its program loads, so the program fits the running kernel's layout.
// Only what that needs is decoded: type kinds, names, struct members.

// btfMagic starts every BTF blob (little-endian here).
const btfMagic = 0xeb9f

// BTF type kinds this file looks at (include/uapi/linux/btf.h).
const (
	btfKindInt      = 1
	btfKindPtr      = 2
	btfKindArray    = 3
	btfKindStruct   = 4
	btfKindUnion    = 5
	btfKindEnum     = 6
	btfKindTypedef  = 8
	btfKindVolatile = 9
	btfKindConst    = 10
	btfKindRestrict = 11
	btfKindFunc     = 12
	btfKindFuncProt = 13
	btfKindVar      = 14
	btfKindDatasec  = 15
	btfKindDeclTag  = 17
	btfKindTypeTag  = 18
	btfKindEnum64   = 19
)

// btfType is one decoded type: its kind, name, size (or referenced type)
// and, for structs and unions, where its members start in the type data.
type btfType struct {
	kind     uint8
	kindFlag bool
	vlen     int
	name     uint32 // offset into the string section
	sizeType uint32 // size for INT, STRUCT, UNION, ENUM; type id for PTR, TYPEDEF, ...
	data     int    // offset of the kind-specific data in btfSpec.types
}

// btfSpec is a parsed BTF blob. Type id i is types[i]; id 0 is void.
type btfSpec struct {
	typeData []byte
	strings  []byte
	types    []btfType
}

// parseBTF decodes a BTF blob (the contents of /sys/kernel/btf/vmlinux).
func parseBTF(b []byte) (*btfSpec, error) {
	le := binary.LittleEndian
	if len(b) < 24 || le.Uint16(b) != btfMagic {
		return nil, errors.New("btf: not a little-endian BTF blob")
	}
	hdrLen := int(le.Uint32(b[4:]))
	typeOff, typeLen := int(le.Uint32(b[8:])), int(le.Uint32(b[12:]))
	strOff, strLen := int(le.Uint32(b[16:])), int(le.Uint32(b[20:]))
	if hdrLen < 24 || hdrLen+typeOff+typeLen > len(b) || hdrLen+strOff+strLen > len(b) || typeOff < 0 || strOff < 0 {
		return nil, errors.New("btf: sections out of bounds")
	}
	spec := &btfSpec{
		typeData: b[hdrLen+typeOff : hdrLen+typeOff+typeLen],
		strings:  b[hdrLen+strOff : hdrLen+strOff+strLen],
		types:    make([]btfType, 1, 1<<17),
	}
	d := spec.typeData
	for off := 0; off < len(d); {
		if off+12 > len(d) {
			return nil, fmt.Errorf("btf: type %d truncated", len(spec.types))
		}
		info := le.Uint32(d[off+4:])
		t := btfType{
			name:     le.Uint32(d[off:]),
			kind:     uint8(info >> 24 & 0x1f),
			kindFlag: info>>31 == 1,
			vlen:     int(info & 0xffff),
			sizeType: le.Uint32(d[off+8:]),
			data:     off + 12,
		}
		extra, err := t.extraSize()
		if err != nil {
			return nil, fmt.Errorf("btf: type %d: %w", len(spec.types), err)
		}
		off = t.data + extra
		if off > len(d) {
			return nil, fmt.Errorf("btf: type %d truncated", len(spec.types))
		}
		spec.types = append(spec.types, t)
	}
	return spec, nil
}

// extraSize is the size of the data following the type's common part.
func (t btfType) extraSize() (int, error) {
	switch t.kind {
	case btfKindInt, btfKindVar, btfKindDeclTag:
		return 4, nil
	case btfKindArray:
		return 12, nil
	case btfKindStruct, btfKindUnion, btfKindDatasec, btfKindEnum64:
		return 12 * t.vlen, nil
	case btfKindEnum, btfKindFuncProt:
		return 8 * t.vlen, nil
	case btfKindPtr, 7 /* FWD */, btfKindTypedef, btfKindVolatile, btfKindConst,
		btfKindRestrict, btfKindFunc, 16 /* FLOAT */, btfKindTypeTag:
		return 0, nil
	}
	return 0, fmt.Errorf("unknown kind %d", t.kind)
}

func (s *btfSpec) name(off uint32) []byte {
	if int(off) >= len(s.strings) {
		return nil
	}
	end := bytes.IndexByte(s.strings[off:], 0)
	if end < 0 {
		return nil
	}
	return s.strings[off : int(off)+end]
}

// find returns the id of the first type of kind named name (for a
// struct, the first with members: a declaration may come first).
func (s *btfSpec) find(kind uint8, name string) (uint32, error) {
	for id, t := range s.types {
		if t.kind == kind && t.name != 0 && string(s.name(t.name)) == name && (kind != btfKindStruct || t.vlen > 0) {
			return uint32(id), nil
		}
	}
	return 0, fmt.Errorf("btf: no type %q of kind %d", name, kind)
}

// field is where a struct member lies: its byte offset and size.
type field struct {
	offset, size int
}

// member returns the offset and size of the member named name of the
// struct named structName, looking inside anonymous structs and unions
// as C does.
func (s *btfSpec) member(structName, name string) (field, error) {
	id, err := s.find(btfKindStruct, structName)
	if err != nil {
		return field{}, err
	}
	f, ok := s.memberIn(id, name, 0, 0)
	if !ok {
		return field{}, fmt.Errorf("btf: struct %s has no member %s", structName, name)
	}
	return f, nil
}

// memberIn looks for name in type id, whose offset in the outer struct is
// base, depth anonymous members down.
func (s *btfSpec) memberIn(id uint32, name string, base, depth int) (field, bool) {
	if int(id) >= len(s.types) {
		return field{}, false
	}
	t := s.types[id]
	le := binary.LittleEndian
	for i := 0; i < t.vlen; i++ {
		m := s.typeData[t.data+12*i:]
		mName, mType, mOff := le.Uint32(m), le.Uint32(m[4:]), le.Uint32(m[8:])
		bits := int(mOff)
		if t.kindFlag {
			if mOff>>24 != 0 {
				continue // a bitfield: nothing the program loads
			}
			bits = int(mOff & 0xffffff)
		}
		if bits%8 != 0 {
			continue
		}
		off := base + bits/8
		if mName == 0 {
			inner := s.resolve(mType)
			if int(inner) >= len(s.types) || depth >= 8 {
				continue
			}
			if k := s.types[inner].kind; k == btfKindStruct || k == btfKindUnion {
				if f, ok := s.memberIn(inner, name, off, depth+1); ok {
					return f, true
				}
			}
			continue
		}
		if string(s.name(mName)) == name {
			size, ok := s.size(mType)
			if !ok {
				return field{}, false
			}
			return field{offset: off, size: size}, true
		}
	}
	return field{}, false
}

// resolve follows typedefs and qualifiers to the type they name.
func (s *btfSpec) resolve(id uint32) uint32 {
	for n := 0; n < 32 && int(id) < len(s.types); n++ {
		switch s.types[id].kind {
		case btfKindTypedef, btfKindVolatile, btfKindConst, btfKindRestrict, btfKindTypeTag:
			id = s.types[id].sizeType
		default:
			return id
		}
	}
	return id
}

// size is the size in bytes of type id.
func (s *btfSpec) size(id uint32) (int, bool) {
	id = s.resolve(id)
	if int(id) >= len(s.types) || id == 0 {
		return 0, false
	}
	switch t := s.types[id]; t.kind {
	case btfKindInt, btfKindStruct, btfKindUnion, btfKindEnum, btfKindEnum64:
		return int(t.sizeType), true
	case btfKindPtr:
		return 8, true
	}
	return 0, false
}
