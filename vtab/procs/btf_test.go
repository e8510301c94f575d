package procs

import (
	"encoding/binary"
	"os"
	"testing"
)

// btfBuilder writes a BTF blob type by type, as the kernel lays it out.
type btfBuilder struct {
	types, strs []byte
	n           uint32 // types written; the next one's id is n+1
}

func (b *btfBuilder) str(s string) uint32 {
	if s == "" {
		return 0
	}
	if len(b.strs) == 0 {
		b.strs = []byte{0}
	}
	off := uint32(len(b.strs))
	b.strs = append(append(b.strs, s...), 0)
	return off
}

// add writes a type and returns its id; extra is its kind-specific data.
func (b *btfBuilder) add(kind uint8, name string, kindFlag bool, vlen int, sizeType uint32, extra ...uint32) uint32 {
	info := uint32(kind)<<24 | uint32(vlen)
	if kindFlag {
		info |= 1 << 31
	}
	for _, v := range append([]uint32{b.str(name), info, sizeType}, extra...) {
		b.types = binary.LittleEndian.AppendUint32(b.types, v)
	}
	b.n++
	return b.n
}

type btfMember struct {
	name   string
	typ    uint32
	bitOff uint32
}

func (b *btfBuilder) addStruct(kind uint8, name string, size uint32, kindFlag bool, members ...btfMember) uint32 {
	var extra []uint32
	for _, m := range members {
		extra = append(extra, b.str(m.name), m.typ, m.bitOff)
	}
	return b.add(kind, name, kindFlag, len(members), size, extra...)
}

func (b *btfBuilder) blob() []byte {
	if len(b.strs) == 0 {
		b.strs = []byte{0}
	}
	le := binary.LittleEndian
	h := le.AppendUint16(nil, btfMagic)
	h = append(h, 1, 0)
	for _, v := range []uint32{24, 0, uint32(len(b.types)), uint32(len(b.types)), uint32(len(b.strs))} {
		h = le.AppendUint32(h, v)
	}
	return append(append(h, b.types...), b.strs...)
}

// testBTF is a small kernel-like type graph: a declaration before the
// definition, a typedef, an anonymous union, a bitfield, a function.
func testBTF() []byte {
	var b btfBuilder
	intID := b.add(btfKindInt, "int", false, 0, 4, 32)
	ulong := b.add(btfKindInt, "long unsigned int", false, 0, 8, 64)
	pidT := b.add(btfKindTypedef, "pid_t", false, 0, intID)
	b.addStruct(btfKindStruct, "file", 0, false) // a declaration: no members
	inode := b.addStruct(btfKindStruct, "inode", 16, false,
		btfMember{"i_mode", intID, 0}, btfMember{"i_ino", ulong, 64})
	ptr := b.add(btfKindPtr, "", false, 0, inode)
	b.addStruct(btfKindStruct, "file", 16, false, btfMember{"f_flags", intID, 0}, btfMember{"f_inode", ptr, 64})
	union := b.addStruct(btfKindUnion, "", 8, false, btfMember{"a", intID, 0}, btfMember{"b", ulong, 0})
	b.addStruct(btfKindStruct, "task_struct", 32, true,
		btfMember{"flags", intID, 3 << 24}, // a 3-bit bitfield
		btfMember{"", union, 64},
		btfMember{"tgid", pidT, 128},
		btfMember{"pid", pidT, 160})
	proto := b.add(btfKindFuncProt, "", false, 0, 0)
	b.add(btfKindFunc, "bpf_iter_task_file", false, 0, proto)
	return b.blob()
}

func TestBTFMembers(t *testing.T) {
	spec, err := parseBTF(testBTF())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		struc, name string
		want        field
	}{
		{"task_struct", "tgid", field{16, 4}}, // through the typedef
		{"task_struct", "pid", field{20, 4}},
		{"task_struct", "b", field{8, 8}}, // inside the anonymous union
		{"inode", "i_ino", field{8, 8}},
		{"file", "f_inode", field{8, 8}}, // the definition, not the declaration
	} {
		got, err := spec.member(c.struc, c.name)
		if err != nil || got != c.want {
			t.Errorf("%s.%s = %+v, %v; want %+v", c.struc, c.name, got, err, c.want)
		}
	}
	for _, c := range [][2]string{{"task_struct", "flags"}, {"task_struct", "comm"}, {"mm_struct", "pgd"}} {
		if f, err := spec.member(c[0], c[1]); err == nil {
			t.Errorf("%s.%s = %+v: a bitfield or a missing member must be an error", c[0], c[1], f)
		}
	}
	if id, err := spec.find(btfKindFunc, "bpf_iter_task_file"); err != nil || id != 11 {
		t.Errorf("bpf_iter_task_file: id %d, %v; want 11 (the last type)", id, err)
	}
	// The program needs bpf_iter_meta and super_block, which are missing.
	if _, _, err := fdIterProgram(spec); err == nil {
		t.Error("a program was made without bpf_iter_meta.seq")
	}
}

func TestBTFRejectsBadBlobs(t *testing.T) {
	good := testBTF()
	for name, b := range map[string][]byte{
		"empty":         nil,
		"bad magic":     append([]byte{0, 0}, good[2:]...),
		"truncated":     good[:len(good)-20],
		"header only":   good[:24],
		"unknown kind":  append(append([]byte{}, good[:24]...), 0, 0, 0, 0, 0, 0, 0, 0x1f, 0, 0, 0, 0),
		"types too big": append(append([]byte{}, good[:12]...), append([]byte{0xff, 0xff, 0xff, 0x7f}, good[16:]...)...),
	} {
		if _, err := parseBTF(b); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

// TestBTFRunningKernel fits the fd iterator's program to the running
// kernel's types (readable without privileges).
func TestBTFRunningKernel(t *testing.T) {
	blob, err := os.ReadFile("/sys/kernel/btf/vmlinux")
	if err != nil {
		t.Skip("this kernel publishes no BTF:", err)
	}
	spec, err := parseBTF(blob)
	if err != nil {
		t.Fatal(err)
	}
	insns, id, err := fdIterProgram(spec)
	if err != nil {
		t.Fatal(err)
	}
	if id == 0 || len(insns) < 20 {
		t.Errorf("program of %d instructions attached to type %d", len(insns), id)
	}
	f, err := spec.member("task_struct", "tgid")
	if err != nil || f.size != 4 || f.offset == 0 {
		t.Errorf("task_struct.tgid = %+v, %v", f, err)
	}
}

func FuzzParseBTF(f *testing.F) {
	f.Add(testBTF())
	f.Fuzz(func(t *testing.T, b []byte) {
		spec, err := parseBTF(b)
		if err != nil {
			return
		}
		for _, m := range [][2]string{{"task_struct", "tgid"}, {"file", "f_inode"}, {"task_struct", "b"}} {
			spec.member(m[0], m[1])
		}
		fdIterProgram(spec)
	})
}
