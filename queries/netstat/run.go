package netstat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/netsql/netsql/queries"
	"github.com/netsql/netsql/queries/format"
	sqlrun "github.com/netsql/netsql/queries/run"
	"github.com/netsql/netsql/vtab"
)

// Exit statuses. A usage error exits 2 (netsql's usage status; net-tools
// itself exits 3).
const (
	ExitOK    = 0
	ExitError = 1
	ExitUsage = 2
)

// Step is one canned query to run with its parameters, or fixed Text.
type Step struct {
	Query  string
	Params map[string]string
	// Text, when set, is printed as is instead of running a query (the
	// routing cache's headings: the kernel has kept no IPv4 routing cache
	// since 3.6, so netstat -rC prints only them).
	Text string
}

// Plan is what a netstat command line runs: Steps in order, repeated
// every Interval while Repeat is set, or a fixed error.
type Plan struct {
	Steps  []Step
	Repeat bool
	// Stderr is printed before the steps (e.g. -M's error); Exit is the
	// status to exit with after them (non-zero: stop after one pass).
	Stderr string
	Stdout string
	Exit   int
	// Passes stops a repeating plan after that many passes (0: never;
	// tests use it).
	Passes int
	// Interval is the pause between passes; 0 means Interval.
	Interval time.Duration
	// Timeout bounds each pass (0: no bound); -c repeats until ctx ends.
	Timeout time.Duration
}

// PlanFor turns parsed flags into the canned queries netstat would run.
func PlanFor(f *Flags) (*Plan, error) {
	if f.Help {
		// netstat -h writes its usage to stdout but the address family
		// list at its end to stderr.
		i := strings.Index(Usage, afList)
		return &Plan{Stdout: Usage[:i], Stderr: Usage[i:]}, nil
	}
	if f.Version {
		return &Plan{Stdout: Version}, nil
	}
	if f.Interfaces+f.Route+f.Masquerade+f.Statistics > 1 {
		return nil, &UsageError{}
	}
	if f.Context > 0 {
		return &Plan{Stderr: "SELinux is not enabled on this machine.\n", Exit: ExitError}, nil
	}
	inet, inet6 := f.Families["inet"] > 0, f.Families["inet6"] > 0
	tcp, udp, raw := f.TCP > 0, f.UDP > 0, f.Raw > 0
	udplite, sctp := f.UDPLite > 0, f.SCTP > 0
	if (inet || inet6 || f.Statistics > 0) && !(tcp || sctp || udp || udplite || raw) {
		tcp, sctp, udp, udplite, raw = true, true, true, true, true
	}
	if (tcp || sctp || udp || udplite || raw || f.Groups > 0) && !(inet || inet6) {
		inet, inet6 = true, true
	}
	unix := f.Families["unix"] > 0
	other := f.Families["ipx"] + f.Families["ax25"] + f.Families["netrom"] + f.Families["x25"] + f.Families["rose"]
	// netstat's flag_arg: was any socket kind asked for?
	arg := tcp || sctp || udp || udplite || raw || unix || other > 0 || f.Groups > 0 || f.L2CAP > 0 || f.RFCOMM > 0

	numeric := f.numericWords()
	if f.Masquerade > 0 {
		// An extension: net-tools' table from conntrack's source-NATed
		// flows, where netstat 2.10 fails (/proc/net/ip_masquerade is gone).
		return &Plan{Repeat: f.Continuous > 0, Steps: []Step{{Query: "netstat-masquerade", Params: map[string]string{"numeric": numeric}}}}, nil
	}
	if f.Statistics > 0 {
		af := f.AFName
		if af == "" {
			af = "inet"
		}
		switch af {
		case "inet", "inet6":
			return &Plan{Steps: []Step{{Query: "netstat-statistics", Params: map[string]string{
				"family": af, "tcp": b(tcp), "udp": b(udp), "raw": b(raw),
			}}}}, nil
		}
		return &Plan{Stdout: fmt.Sprintf("netstat: No statistics support for specified address family: %s\n", af), Exit: ExitError}, nil
	}
	if f.Route > 0 {
		// netstat swaps -e's meaning for routes: -r alone is the MSS
		// layout (2), -re the Metric/Ref/Use one (1), -ree both (3).
		ext := f.Extend
		switch ext {
		case 1:
			ext = 2
		case 2:
			ext = 1
		}
		af := f.AFName
		if af == "" {
			af = "inet"
		}
		plan := &Plan{Repeat: f.Continuous > 0}
		// -F (the FIB) is the default; -C alone prints only the cache.
		fib := f.FIB || !f.Cache
		for _, name := range strings.Split(af, ",") {
			if name == "" {
				continue
			}
			params := map[string]string{"numeric": b(f.NumericHosts), "extend": strconv.Itoa(min(ext, 3))}
			switch name {
			case "inet":
				if fib {
					plan.Steps = append(plan.Steps, Step{Query: "netstat-route", Params: params})
				}
				if f.Cache {
					plan.Steps = append(plan.Steps, Step{Text: cacheHeadings[min(ext, 3)]})
				}
			case "inet6":
				if fib {
					plan.Steps = append(plan.Steps, Step{Query: "netstat-route6", Params: params})
				}
				if f.Cache {
					plan.Steps = append(plan.Steps, Step{Text: cache6Headings})
				}
			case "unix", "ash", "bluetooth":
				// These families exist but route nothing.
				plan.Stderr = fmt.Sprintf("No routing for address family `%s'.\n", name)
				plan.Exit, plan.Repeat = 3, false
				return plan, nil
			default:
				plan.Stderr = fmt.Sprintf("Address family `%s' not supported.\n", name)
				plan.Exit, plan.Repeat = 3, false
				return plan, nil
			}
		}
		return plan, nil
	}
	if f.Interfaces > 0 {
		view := "netstat-interfaces"
		if f.Extend > 1 {
			// ifconfig's long form needs txqueuelen and the numeric
			// flags, which the interfaces table does not have yet.
			view = "netstat-interfaces-long"
		}
		return &Plan{Repeat: f.Continuous > 0, Steps: []Step{{Query: view, Params: map[string]string{
			"all": b(f.All > 0),
		}}}}, nil
	}

	plan := &Plan{Repeat: f.Continuous > 0}
	if f.SCTP > 0 && inet {
		// No SCTP here (netsql reads no /proc/net/sctp): netstat prints
		// the TCP sockets asked for, then fails on SCTP before the rest.
		// (When -4/-6/-A chose every protocol, netstat stays quiet.)
		plan.Steps = append(plan.Steps, Step{Query: "netstat-inet", Params: map[string]string{
			"tcp": b(tcp), "udp": "0", "udplite": "0", "raw": "0",
			"inet": b(inet), "inet6": b(inet6),
			"all": b(f.All > 0), "listening": b(f.Listening > 0),
			"numeric": numeric, "wide": b(f.Wide > 0), "extend": b(f.Extend > 1),
			"programs": b(f.Programs > 0), "timers": b(f.Timers > 0),
		}})
		plan.Stderr = "netstat: no support for `AF INET (sctp)' on this system.\n"
		plan.Exit, plan.Repeat = ExitError, false
		return plan, nil
	}
	if !arg || tcp || udp || raw || sctp || udplite {
		if !arg {
			tcp, udp, udplite, raw = true, true, true, true
		}
		plan.Steps = append(plan.Steps, Step{Query: "netstat-inet", Params: map[string]string{
			"tcp": b(tcp), "udp": b(udp), "udplite": b(udplite), "raw": b(raw),
			"inet": b(!arg || inet), "inet6": b(!arg || inet6),
			"all": b(f.All > 0), "listening": b(f.Listening > 0),
			"numeric": numeric, "wide": b(f.Wide > 0), "extend": b(f.Extend > 1),
			"programs": b(f.Programs > 0), "timers": b(f.Timers > 0),
		}})
	}
	if f.Groups > 0 {
		plan.Steps = append(plan.Steps, Step{Query: "netstat-groups", Params: map[string]string{
			"inet": b(inet), "inet6": b(inet6), "numeric": b(f.NumericHosts),
		}})
	}
	if !arg || unix {
		plan.Steps = append(plan.Steps, Step{Query: "netstat-unix", Params: map[string]string{
			"all": b(f.All > 0), "listening": b(f.Listening > 0), "programs": b(f.Programs > 0),
		}})
	}
	if arg {
		for _, fam := range []struct{ name, text string }{{"ipx", "AF IPX"}, {"ax25", "AF AX25"}, {"x25", "AF X25"}, {"netrom", "AF NETROM"}, {"rose", "AF ROSE"}} {
			if f.Families[fam.name] > 0 {
				// None of these exist on a current kernel: netstat says so
				// and stops.
				plan.Stderr += fmt.Sprintf("netstat: no support for `%s' on this system.\n", fam.text)
				plan.Exit, plan.Repeat = ExitError, false
				break
			}
		}
	}
	return plan, nil
}

// numericWords is the netstat-inet :numeric parameter for the flags.
func (f *Flags) numericWords() string {
	if f.NumericHosts && f.NumericPorts && f.NumericUsers {
		return "1"
	}
	var w []string
	if f.NumericHosts {
		w = append(w, "hosts")
	}
	if f.NumericPorts {
		w = append(w, "ports")
	}
	if f.NumericUsers {
		w = append(w, "users")
	}
	if len(w) == 0 {
		return "0"
	}
	return strings.Join(w, " ")
}

func b(v bool) string {
	if v {
		return "1"
	}
	return "0"
}

// Interval is how long -c waits between passes, as netstat's sleep(1).
const Interval = time.Second

// Command runs `netsql netstat ARGS` on eng and returns the exit status.
func Command(ctx context.Context, eng *vtab.Engine, args []string, stdout, stderr io.Writer) int {
	return CommandTimeout(ctx, eng, args, 0, stdout, stderr)
}

// CommandTimeout is Command with each listing bounded by timeout (0: no
// bound): netsql's --timeout, which must not end a -c listing that is
// meant to run until interrupted.
func CommandTimeout(ctx context.Context, eng *vtab.Engine, args []string, timeout time.Duration, stdout, stderr io.Writer) int {
	f, err := Parse(args)
	var fe *FamilyError
	var ue *UsageError
	switch {
	case errors.As(err, &fe):
		io.WriteString(stderr, fe.Msg)
		return ExitError
	case errors.As(err, &ue):
		io.WriteString(stderr, ue.Msg)
		io.WriteString(stderr, Usage)
		return ExitUsage
	}
	plan, err := PlanFor(f)
	if errors.As(err, &ue) {
		io.WriteString(stderr, ue.Msg)
		io.WriteString(stderr, Usage)
		return ExitUsage
	}
	plan.Timeout = timeout
	return Execute(ctx, eng, plan, stdout, stderr)
}

// Execute runs a plan: every step once, or with Repeat every Interval
// until ctx ends (a -c ended by a signal exits 128+N, as netstat dies of
// it; see interruptedStatus).
func Execute(ctx context.Context, eng *vtab.Engine, plan *Plan, stdout, stderr io.Writer) int {
	io.WriteString(stdout, plan.Stdout)
	for pass := 0; ; pass++ {
		for _, st := range plan.Steps {
			if st.Text != "" {
				io.WriteString(stdout, st.Text)
				continue
			}
			q, ok := queries.Lookup(st.Query)
			if !ok {
				fmt.Fprintf(stderr, "netsql: netstat: this view (%s) is not available yet\n", st.Query)
				return ExitError
			}
			params := q.Bind(st.Params)
			params["iteration"] = strconv.Itoa(pass)
			if err := runPass(ctx, plan.Timeout, eng, &q, params, stdout); err != nil {
				if ctx.Err() != nil && pass > 0 {
					return interruptedStatus(ctx)
				}
				fmt.Fprintf(stderr, "netsql: %s: %v\n", q.Name, err)
				return ExitError
			}
		}
		io.WriteString(stderr, plan.Stderr)
		plan.Stderr = ""
		if !plan.Repeat || plan.Exit != 0 || plan.Passes > 0 && pass+1 >= plan.Passes {
			return plan.Exit
		}
		wait := plan.Interval
		if wait == 0 {
			wait = Interval
		}
		select {
		case <-ctx.Done():
			return interruptedStatus(ctx)
		case <-time.After(wait):
		}
	}
}

// runPass runs one step of a pass, bounded by timeout when it is set.
func runPass(ctx context.Context, timeout time.Duration, eng *vtab.Engine, q *queries.Query, params map[string]string, w io.Writer) error {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	err := RunRaw(ctx, eng, q, params, w)
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("cancelled after --timeout %v", timeout)
	}
	return err
}

// interruptedStatus is the exit status of a -c listing that ctx ended:
// netstat dies of the signal, which its shell reports as 128+N (130 for
// Ctrl-C, 143 for SIGTERM); any other end (--timeout) is 0. A signal's
// cause says its status through an ExitCode method.
func interruptedStatus(ctx context.Context) int {
	var sig interface{ ExitCode() int }
	if errors.As(context.Cause(ctx), &sig) {
		return sig.ExitCode()
	}
	return ExitOK
}

// afList is the end of netstat's usage text that -h writes to stderr.
const afList = "    inet (DARPA Internet)"

// cacheHeadings are what netstat -rC prints for the IPv4 routing cache,
// by route layout (1 -rCe, 2 -rC, 3 -rCee); the kernel's rt_cache has
// held no entry since Linux 3.6.
var cacheHeadings = map[int]string{
	1: "Kernel IP routing cache\nSource          Destination     Gateway         Flags Metric Ref    Use Iface\n",
	2: "Kernel IP routing cache\nSource          Destination     Gateway         Flags   MSS Window  irtt Iface\n",
	3: "Kernel IP routing cache\nSource          Destination     Gateway         Flags Metric Ref    Use Iface    MSS   Window irtt  TOS HHRef HHUptod     SpecDst\n",
}

// cache6Headings is what netstat -rC -6 prints: current kernels list no
// cached IPv6 routes in /proc/net/ipv6_route.
const cache6Headings = "Kernel IPv6 routing cache\nDestination                    Next Hop                   Flag Met Ref  Use If\n"

// RunRaw runs every statement of q with params and writes each row as one
// line: its columns' text joined by spaces, NULL as nothing (format.Raw).
// It is how queries with `format: raw` print. Nothing is written when a
// statement fails.
func RunRaw(ctx context.Context, eng *vtab.Engine, q *queries.Query, params map[string]string, w io.Writer) error {
	out := &spool{}
	defer out.Close()
	r := &sqlrun.Runner{Engine: eng, Out: out, Format: format.Raw, Params: params}
	if _, err := r.Run(ctx, q.SQL); err != nil {
		return err
	}
	_, err := out.WriteTo(w)
	return err
}

// Notifier returns an engine notice handler for netstat mode: notices that
// some processes' sockets could not be attributed (vtab.NoticeOwnersDenied)
// become netstat's own message (printed once, and only when not root, as
// netstat does); other notices pass through.
func Notifier(stderr io.Writer) func(vtab.Notice) {
	said := false
	return func(n vtab.Notice) {
		if n.Kind == vtab.NoticeOwnersDenied {
			if !said && os.Geteuid() != 0 {
				io.WriteString(stderr, "(Not all processes could be identified, non-owned process info\n will not be shown, you would have to be root to see it all.)\n")
			}
			said = true
			return
		}
		fmt.Fprintln(stderr, n.Msg)
	}
}
