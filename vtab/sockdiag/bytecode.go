package sockdiag

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"golang.org/x/sys/unix"

	"github.com/netsql/netsql/vtab/sock"
)

// inet_diag bytecode (include/uapi/linux/inet_diag.h, net/ipv4/inet_diag.c).
//
// A program is a sequence of ops, each a 4-byte struct inet_diag_bc_op
// {u8 code; u8 yes; u16 no} followed by its operand. The kernel runs it per
// socket: an op that holds moves on by yes bytes (the op's own length), one
// that fails jumps no bytes forward from the op's start. Running off the
// end exactly accepts the socket; a jump to 4 bytes past the end rejects
// it. inet_diag_bc_audit refuses (EINVAL) a program whose yes is shorter
// than its op, whose jumps are not multiples of 4, reach further than 4
// bytes past the end, or land anywhere but on the start of an op.
const (
	bcJmp   = 1  // INET_DIAG_BC_JMP: always jumps by no
	bcSGE   = 2  // INET_DIAG_BC_S_GE: local port >= operand
	bcSLE   = 3  // INET_DIAG_BC_S_LE
	bcDGE   = 4  // INET_DIAG_BC_D_GE: remote port >= operand
	bcDLE   = 5  // INET_DIAG_BC_D_LE
	bcSCond = 7  // INET_DIAG_BC_S_COND: local address in a prefix (struct inet_diag_hostcond)
	bcDCond = 8  // INET_DIAG_BC_D_COND
	bcSEQ   = 11 // INET_DIAG_BC_S_EQ: local port == operand (kernels before it refuse the program: EINVAL)
	bcDEQ   = 12 // INET_DIAG_BC_D_EQ

	bcOpLen       = 4 // struct inet_diag_bc_op
	hostcondLen   = 8 // struct inet_diag_hostcond without its address
	portOperandLn = 4 // a port op's operand: a second inet_diag_bc_op whose no is the port

	// inetDiagReqBytecode is the request attribute carrying a program.
	inetDiagReqBytecode = 1
	// maxBytecode bounds a program: a jump offset is a u16 and the
	// attribute's length, header included, is one too.
	maxBytecode = 0xffff - nlaHdrLen - bcOpLen
)

// errBytecodeTooLong is returned for filters whose program would not fit
// the kernel's 16-bit offsets; the caller filters in userspace instead.
var errBytecodeTooLong = errors.New("filter too long for inet_diag bytecode")

// bcTest is one op of a program before its jump offsets are known.
type bcTest struct {
	code    byte
	operand []byte
}

func (t bcTest) len() int { return bcOpLen + len(t.operand) }

// compileFilter compiles f into an inet_diag bytecode program for a dump of
// family (unix.AF_INET or unix.AF_INET6). It returns nil when f selects
// every socket of the family, so the request needs no program.
//
// Each condition of f becomes a group of alternatives, each alternative
// one or two tests: a port equality, a port range (>= and <=, or one of
// them), or an address prefix. A failing test jumps to the group's next
// alternative, or, in the last alternative, rejects the socket; an
// alternative that holds ends with a jump past the rest of its group.
// Prefixes of the other family are left out: they match no socket of this
// dump as Filter.Match reads them. A condition that nothing can meet
// compiles to a program that rejects every socket.
//
// The program may accept more than f.Match does (an IPv4 prefix test in
// the kernel also matches an AF_INET6 socket's IPv4-mapped address, but
// such prefixes are left out of the AF_INET6 program anyway), never less,
// so the caller checks every socket with Match as well.
func compileFilter(f *sock.Filter, family uint8) ([]byte, error) {
	if f.IsZero() {
		return nil, nil
	}
	if family != unix.AF_INET && family != unix.AF_INET6 {
		return nil, fmt.Errorf("compile filter: address family %d has no inet_diag bytecode", family)
	}
	var groups [][][]bcTest
	for _, c := range []condition{
		portAlternatives(f.LocalPorts, bcSGE, bcSLE, bcSEQ),
		portAlternatives(f.RemotePorts, bcDGE, bcDLE, bcDEQ),
		prefixAlternatives(f.LocalAddrs, bcSCond, family),
		prefixAlternatives(f.RemoteAddrs, bcDCond, family),
	} {
		switch {
		case c.always:
		case len(c.alts) == 0:
			return rejectAll(), nil
		default:
			groups = append(groups, c.alts)
		}
	}
	if len(groups) == 0 {
		return nil, nil
	}
	return assemble(groups)
}

// condition is one condition of a Filter as alternative test sequences.
type condition struct {
	alts   [][]bcTest // any one sequence holding meets the condition
	always bool       // the condition holds for every socket: no test needed
}

// portAlternatives turns port ranges into a condition. It always holds
// when there are no ranges, or one holds every port.
func portAlternatives(ranges []sock.PortRange, ge, le, eq byte) condition {
	var alts [][]bcTest
	if len(ranges) == 0 {
		return condition{always: true}
	}
	for _, r := range ranges {
		switch {
		case r.Min > r.Max:
			// holds no port
		case r.Min == 0 && r.Max == 0xffff:
			return condition{always: true}
		case r.Min == r.Max:
			alts = append(alts, []bcTest{portTest(eq, r.Min)})
		case r.Min == 0:
			alts = append(alts, []bcTest{portTest(le, r.Max)})
		case r.Max == 0xffff:
			alts = append(alts, []bcTest{portTest(ge, r.Min)})
		default:
			alts = append(alts, []bcTest{portTest(ge, r.Min), portTest(le, r.Max)})
		}
	}
	return condition{alts: alts}
}

// portTest is a port comparison: the port travels in the no field of a
// second struct inet_diag_bc_op, in host byte order.
func portTest(code byte, port uint16) bcTest {
	operand := make([]byte, portOperandLn)
	binary.NativeEndian.PutUint16(operand[2:], port)
	return bcTest{code, operand}
}

// prefixAlternatives turns the address prefixes of family into a
// condition of S_COND or D_COND tests. It always holds when there are no
// prefixes, or one is a /0 of the family.
func prefixAlternatives(prefixes []netip.Prefix, code byte, family uint8) condition {
	var alts [][]bcTest
	if len(prefixes) == 0 {
		return condition{always: true}
	}
	for _, p := range prefixes {
		if sock.PrefixFamily(p) != family {
			continue
		}
		if p.Bits() == 0 {
			return condition{always: true}
		}
		alts = append(alts, []bcTest{hostcondTest(code, p.Masked())})
	}
	return condition{alts: alts}
}

// hostcondTest is an address prefix test: struct inet_diag_hostcond
// {u8 family; u8 prefix_len; int port; __be32 addr[]}, port -1 meaning any.
func hostcondTest(code byte, p netip.Prefix) bcTest {
	addr := p.Addr().AsSlice() // network byte order, 4 or 16 bytes
	operand := make([]byte, hostcondLen, hostcondLen+len(addr))
	operand[0] = sock.PrefixFamily(p)
	operand[1] = byte(p.Bits())
	binary.NativeEndian.PutUint32(operand[4:], 0xffffffff) // port -1: any
	return bcTest{code, append(operand, addr...)}
}

// rejectAll is a program that accepts no socket: one jump 4 bytes past its
// end.
func rejectAll() []byte {
	return opBytes(nil, bcJmp, bcOpLen, 2*bcOpLen)
}

func opBytes(b []byte, code byte, yes, no int) []byte {
	b = append(b, code, byte(yes))
	return binary.NativeEndian.AppendUint16(b, uint16(no))
}

// assemble lays the groups out and resolves the jumps. Every group but
// the last of its alternatives ends in a JMP to the end of the group.
func assemble(groups [][][]bcTest) ([]byte, error) {
	total := 0
	for _, alts := range groups {
		for i, alt := range alts {
			for _, t := range alt {
				total += t.len()
			}
			if i < len(alts)-1 {
				total += bcOpLen // the JMP past the group
			}
		}
	}
	if total > maxBytecode {
		return nil, fmt.Errorf("compile filter: %d bytes of bytecode: %w", total, errBytecodeTooLong)
	}
	reject := total + bcOpLen // 4 bytes past the end
	b := make([]byte, 0, total)
	for _, alts := range groups {
		// The group's end: where the next group (or the accepting end) starts.
		groupEnd := len(b)
		for i, alt := range alts {
			for _, t := range alt {
				groupEnd += t.len()
			}
			if i < len(alts)-1 {
				groupEnd += bcOpLen
			}
		}
		for i, alt := range alts {
			last := i == len(alts)-1
			altEnd := len(b)
			for _, t := range alt {
				altEnd += t.len()
			}
			next := reject // on failure: the next alternative, or reject
			if !last {
				next = altEnd + bcOpLen
			}
			for _, t := range alt {
				pos := len(b)
				b = opBytes(b, t.code, t.len(), next-pos)
				b = append(b, t.operand...)
			}
			if !last {
				b = opBytes(b, bcJmp, bcOpLen, groupEnd-len(b))
			}
		}
	}
	return b, nil
}
