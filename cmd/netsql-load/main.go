// Command netsql-load holds many loopback TCP sockets in known states,
// spread over several processes, so that netsql can be benchmarked against
// ss and netstat on a reproducible socket table.
//
// Usage:
//
//	netsql-load [-conns N] [-close-wait M] [-procs P] [-hold D] [-ready-file PATH] [-timeout D]
//
// For example
//
//	go run ./cmd/netsql-load -conns 40000 -close-wait 2000 -procs 5
//
// starts 5 worker processes (each named "netsql-load" in /proc, with its own
// fd table). Connections are spread evenly over the workers, and both ends
// of a connection live in the same worker. Every worker listens on
// 127.0.0.1 (one listener per 10000 connections, fewer if the ephemeral port
// range is small) and connects its clients from its own source address in
// 127.0.0.0/8. Only addresses in 127.0.0.0/8 are ever used.
//
// For M of the N connections the client calls shutdown(SHUT_WR) and keeps
// its descriptor open, so the resulting socket table is stable:
//
//	ESTABLISHED  2*(N-M)  (both ends of the N-M untouched connections)
//	CLOSE_WAIT   M        (server ends that received the client's FIN)
//	FIN_WAIT2    M        (client ends; not orphaned, so tcp_fin_timeout does not apply)
//	LISTEN       one per listener (one per worker unless a worker has more than 10000 connections)
//
// for a total of 2*N + listeners TCP sockets. When everything is
// established the parent prints one line such as
//
//	ready: 80005 tcp sockets (76000 ESTABLISHED, 2000 CLOSE_WAIT, 2000 FIN_WAIT2, 5 LISTEN) in 5 processes; pids 101 102 103 104 105; ports 33001 33002 33003 33004 33005
//
// (also written to -ready-file if given) and then waits for SIGINT or
// SIGTERM, or for -hold to elapse, stops its workers and exits 0. If any
// worker fails, or setup exceeds -timeout, every worker is killed and the
// command exits 1 with a one-line error. Workers also die with the parent
// (PR_SET_PDEATHSIG and EOF on their stdin).
//
// Each worker raises RLIMIT_NOFILE to what it needs (2 descriptors per
// connection plus a margin); if the hard limit is too low and cannot be
// raised, it fails with a message suggesting more -procs or a higher limit.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// progName is argv[0] and the /proc comm of every process started.
const progName = "netsql-load"

// workerEnv carries the worker configuration to a re-executed child; its
// presence makes the process a worker.
const workerEnv = "NETSQL_LOAD_WORKER"

// maxPerListener caps the connections sharing one (source address,
// destination address, destination port) triple, well below the ~28k
// ephemeral ports of the default ip_local_port_range.
const maxPerListener = 10000

// ipBindAddressNoPort is IP_BIND_ADDRESS_NO_PORT from linux/in.h: bind the
// source address now but pick the port at connect time, per 4-tuple.
const ipBindAddressNoPort = 24

func init() {
	// A worker names its main thread (and so /proc/PID/comm) after the
	// program, whatever the executable file is called. Init runs on the
	// main thread.
	if os.Getenv(workerEnv) != "" {
		setComm(progName)
	}
}

func main() {
	if cfg := os.Getenv(workerEnv); cfg != "" {
		if err := workerMain(cfg); err != nil {
			// The parent reads this line from our stdout.
			fmt.Printf("err %s\n", oneLine(err.Error()))
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(parentMain(os.Args[1:]))
}

// options are the command-line settings of the parent.
type options struct {
	conns     int
	closeWait int
	procs     int
	hold      time.Duration
	readyFile string
	timeout   time.Duration
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet(progName, flag.ContinueOnError)
	fs.IntVar(&o.conns, "conns", 40000, "number of loopback TCP connections (each is 2 sockets)")
	fs.IntVar(&o.closeWait, "close-wait", 2000, "how many of the connections have the client half-closed (server CLOSE_WAIT, client FIN_WAIT2)")
	fs.IntVar(&o.procs, "procs", 5, "number of worker processes holding the sockets")
	fs.DurationVar(&o.hold, "hold", 0, "exit after holding the sockets this long (0: until SIGINT/SIGTERM)")
	fs.StringVar(&o.readyFile, "ready-file", "", "also write the ready line to this file")
	fs.DurationVar(&o.timeout, "timeout", 2*time.Minute, "give up if setup takes longer than this")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: %s [flags]\n\nHolds loopback TCP sockets in known states across several processes.\n\n", progName)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected arguments: %q", fs.Args())
	case o.conns < 0:
		return o, errors.New("-conns must be >= 0")
	case o.closeWait < 0 || o.closeWait > o.conns:
		return o, errors.New("-close-wait must be between 0 and -conns")
	case o.procs < 1 || o.procs > 10000:
		return o, errors.New("-procs must be between 1 and 10000")
	case o.hold < 0 || o.timeout <= 0:
		return o, errors.New("-hold must be >= 0 and -timeout > 0")
	}
	return o, nil
}

// workerConfig is one worker's share of the load.
type workerConfig struct {
	index     int
	conns     int
	closeWait int
	timeout   time.Duration
}

func (c workerConfig) encode() string {
	return fmt.Sprintf("%d %d %d %d", c.index, c.conns, c.closeWait, c.timeout.Nanoseconds())
}

func decodeWorkerConfig(s string) (workerConfig, error) {
	var c workerConfig
	var ns int64
	if _, err := fmt.Sscanf(s, "%d %d %d %d", &c.index, &c.conns, &c.closeWait, &ns); err != nil {
		return c, fmt.Errorf("bad %s=%q: %v", workerEnv, s, err)
	}
	c.timeout = time.Duration(ns)
	return c, nil
}

// split returns worker i's even share of n over p workers.
func split(n, p, i int) int {
	s := n / p
	if i < n%p {
		s++
	}
	return s
}

// worker is the parent's view of one child process.
type worker struct {
	index     int
	cmd       *exec.Cmd
	stdin     *os.File // parent's end; closing it tells the worker to exit
	pid       int
	sockets   int
	listeners int
	ports     []string
	exited    bool // its exit event has been received
}

// event is something a worker did: reported ready, reported an error, or
// exited.
type event struct {
	w      *worker
	kind   string // "ready", "err", "exit"
	detail string
}

func parentMain(args []string) int {
	o, err := parseFlags(args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(os.Stderr, "%s: %v\n", progName, err)
		return 2
	}

	// Handle signals from the start so that an early Ctrl-C still cleans up.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)

	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: cannot find own executable: %v\n", progName, err)
		return 1
	}

	events := make(chan event, 3*o.procs)
	var workers []*worker
	fail := func(format string, a ...any) int {
		stopWorkers(workers, events)
		fmt.Fprintf(os.Stderr, "%s: %s\n", progName, oneLine(fmt.Sprintf(format, a...)))
		return 1
	}

	for i := 0; i < o.procs; i++ {
		w, err := startWorker(exe, workerConfig{
			index:     i,
			conns:     split(o.conns, o.procs, i),
			closeWait: split(o.closeWait, o.procs, i),
			timeout:   o.timeout,
		}, events)
		if err != nil {
			return fail("starting worker %d: %v", i, err)
		}
		workers = append(workers, w)
	}

	// Wait for every worker to report ready.
	deadline := time.NewTimer(o.timeout + 5*time.Second)
	defer deadline.Stop()
	for ready := 0; ready < len(workers); {
		select {
		case ev := <-events:
			ev.w.exited = ev.kind == "exit"
			switch ev.kind {
			case "ready":
				ready++
			case "err":
				return fail("worker %d (pid %d): %s", ev.w.index, ev.w.pid, ev.detail)
			case "exit":
				return fail("worker %d (pid %d) exited during setup: %s", ev.w.index, ev.w.pid, ev.detail)
			}
		case <-deadline.C:
			return fail("setup did not finish within -timeout %v", o.timeout)
		case s := <-sigs:
			stopWorkers(workers, events)
			fmt.Fprintf(os.Stderr, "%s: interrupted by %v during setup\n", progName, s)
			return 1
		}
	}

	line := readyLine(o, workers)
	if o.readyFile != "" {
		// Written before stdout and renamed into place, so a script that
		// sees the file (or the line) sees all of it.
		tmp := o.readyFile + ".tmp"
		if err := os.WriteFile(tmp, []byte(line+"\n"), 0o644); err != nil {
			return fail("writing -ready-file: %v", err)
		}
		if err := os.Rename(tmp, o.readyFile); err != nil {
			return fail("writing -ready-file: %v", err)
		}
	}
	fmt.Println(line)

	var holdC <-chan time.Time
	if o.hold > 0 {
		t := time.NewTimer(o.hold)
		defer t.Stop()
		holdC = t.C
	}
	select {
	case ev := <-events:
		ev.w.exited = ev.kind == "exit"
		// Only an exit (or a late error) can arrive now.
		return fail("worker %d (pid %d) failed while holding sockets: %s %s", ev.w.index, ev.w.pid, ev.kind, ev.detail)
	case <-sigs:
	case <-holdC:
	}
	stopWorkers(workers, events)
	return 0
}

// readyLine describes the socket table the workers now hold.
func readyLine(o options, workers []*worker) string {
	total, listeners := 0, 0
	var pids, ports []string
	for _, w := range workers {
		total += w.sockets
		listeners += w.listeners
		pids = append(pids, strconv.Itoa(w.pid))
		ports = append(ports, w.ports...)
	}
	return fmt.Sprintf("ready: %d tcp sockets (%d ESTABLISHED, %d CLOSE_WAIT, %d FIN_WAIT2, %d LISTEN) in %d processes; pids %s; ports %s",
		total, 2*(o.conns-o.closeWait), o.closeWait, o.closeWait, listeners,
		len(workers), strings.Join(pids, " "), strings.Join(ports, " "))
}

// startWorker re-executes exe as a worker for cfg and starts goroutines that
// turn its status line and its exit into events.
func startWorker(exe string, cfg workerConfig, events chan<- event) (*worker, error) {
	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		stdinR.Close()
		stdinW.Close()
		return nil, err
	}
	cmd := &exec.Cmd{
		Path:   exe,
		Args:   []string{progName},
		Env:    append(os.Environ(), workerEnv+"="+cfg.encode()),
		Stdin:  stdinR,
		Stdout: outW,
		Stderr: os.Stderr,
		SysProcAttr: &syscall.SysProcAttr{
			// Die with the parent, and stay out of the terminal's process
			// group so that Ctrl-C reaches only the parent, which then
			// stops the workers in order.
			Pdeathsig: syscall.SIGKILL,
			Setpgid:   true,
		},
	}
	err = cmd.Start()
	stdinR.Close()
	outW.Close()
	if err != nil {
		stdinW.Close()
		outR.Close()
		return nil, err
	}
	w := &worker{index: cfg.index, cmd: cmd, stdin: stdinW, pid: cmd.Process.Pid}

	statusDone := make(chan struct{})
	go func() {
		defer close(statusDone)
		defer outR.Close()
		line, err := bufio.NewReader(outR).ReadString('\n')
		line = strings.TrimSpace(line)
		switch {
		case err != nil && line == "":
			return // exited without a status; the exit event reports it
		case strings.HasPrefix(line, "ok "):
			if perr := w.parseStatus(line); perr != nil {
				events <- event{w, "err", perr.Error()}
				return
			}
			events <- event{w, "ready", ""}
		default:
			events <- event{w, "err", strings.TrimPrefix(line, "err ")}
		}
	}()
	go func() {
		err := cmd.Wait()
		<-statusDone // report a worker's error line before its exit
		detail := "exit status 0"
		if err != nil {
			detail = err.Error()
		}
		events <- event{w, "exit", detail}
	}()
	return w, nil
}

// parseStatus reads "ok sockets=N listeners=L ports=P1,P2".
func (w *worker) parseStatus(line string) error {
	for _, f := range strings.Fields(line)[1:] {
		k, v, _ := strings.Cut(f, "=")
		var err error
		switch k {
		case "sockets":
			w.sockets, err = strconv.Atoi(v)
		case "listeners":
			w.listeners, err = strconv.Atoi(v)
		case "ports":
			w.ports = strings.Split(v, ",")
		}
		if err != nil {
			return fmt.Errorf("bad status line %q", line)
		}
	}
	return nil
}

// stopWorkers terminates every worker still running and waits for all of
// them to be reaped: SIGTERM first, SIGKILL after 5 seconds.
func stopWorkers(workers []*worker, events <-chan event) {
	alive := map[*worker]bool{}
	for _, w := range workers {
		if !w.exited {
			alive[w] = true
		}
	}
	for w := range alive {
		w.cmd.Process.Signal(syscall.SIGTERM)
		w.stdin.Close()
	}
	kill := time.NewTimer(5 * time.Second)
	defer kill.Stop()
	for len(alive) > 0 {
		select {
		case ev := <-events:
			if ev.kind == "exit" {
				ev.w.exited = true
				delete(alive, ev.w)
			}
		case <-kill.C:
			for w := range alive {
				w.cmd.Process.Kill()
			}
		}
	}
}

// workerMain is the body of a worker process: set up the connections,
// report, then hold them until told to stop.
func workerMain(env string) error {
	cfg, err := decodeWorkerConfig(env)
	if err != nil {
		return err
	}
	// The parent owns Ctrl-C handling; SIGTERM keeps its default action.
	signal.Ignore(syscall.SIGINT)

	h, err := establish(cfg)
	if err != nil {
		return err
	}
	fmt.Printf("ok sockets=%d listeners=%d ports=%s\n", 2*cfg.conns+len(h.listeners), len(h.listeners), strings.Join(h.ports(), ","))

	// Hold until the parent closes our stdin (it stops us, or it died).
	io.Copy(io.Discard, os.Stdin)
	runtime.KeepAlive(h)
	return nil
}

// held keeps every socket of a worker reachable so that no finalizer closes
// one.
type held struct {
	listeners []*net.TCPListener
	clients   []*net.TCPConn
	servers   []*net.TCPConn
}

func (h *held) ports() []string {
	var p []string
	for _, l := range h.listeners {
		p = append(p, strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
	}
	return p
}

// sourceAddr is worker i's client source address: 127.0.x.y with y in
// 10..249, never 127.0.0.1 and never outside 127.0.0.0/8.
func sourceAddr(i int) net.IP {
	return net.IPv4(127, byte(i/240%256), 0, byte(10+i%240)).To4()
}

// perListener is how many connections may share one listener port, given
// the ephemeral port range.
func perListener() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return maxPerListener
	}
	var lo, hi int
	if _, err := fmt.Sscan(string(b), &lo, &hi); err != nil || hi < lo {
		return maxPerListener
	}
	return max(1, min(maxPerListener, (hi-lo+1)/2))
}

// establish opens cfg.conns connections inside this process and half-closes
// cfg.closeWait of them, verifying that each of those server ends has seen
// the FIN (so it is in CLOSE_WAIT).
func establish(cfg workerConfig) (*held, error) {
	nl := max(1, (cfg.conns+perListener()-1)/perListener())
	if err := raiseNofile(uint64(2*cfg.conns + nl + 64)); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.timeout)
	defer cancel()

	h := &held{
		clients: make([]*net.TCPConn, cfg.conns),
		servers: make([]*net.TCPConn, 0, cfg.conns),
	}
	lc := net.ListenConfig{KeepAlive: -1}
	for range nl {
		l, err := lc.Listen(ctx, "tcp4", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("listen on 127.0.0.1: %v", err)
		}
		h.listeners = append(h.listeners, l.(*net.TCPListener))
	}

	// Accept everything; server ends are indexed by the client's address.
	var mu sync.Mutex
	byPeer := make(map[string]*net.TCPConn, cfg.conns)
	allAccepted := make(chan struct{})
	acceptErr := make(chan error, nl)
	for _, l := range h.listeners {
		go func() {
			for {
				c, err := l.AcceptTCP()
				if err != nil {
					acceptErr <- fmt.Errorf("accept on %v: %v", l.Addr(), err)
					return
				}
				mu.Lock()
				byPeer[c.RemoteAddr().String()] = c
				h.servers = append(h.servers, c)
				if len(h.servers) == cfg.conns {
					close(allAccepted)
				}
				mu.Unlock()
			}
		}()
	}
	if cfg.conns == 0 {
		close(allAccepted)
	}

	// Dial with bounded concurrency so the accept queues never overflow.
	src := sourceAddr(cfg.index)
	d := net.Dialer{
		LocalAddr: &net.TCPAddr{IP: src},
		KeepAlive: -1,
		Control: func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
			})
			if err != nil {
				return err
			}
			return serr
		},
	}
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	next := make(chan int)
	for range min(128, max(1, cfg.conns)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				dst := h.listeners[i%nl].Addr().String()
				c, err := d.DialContext(ctx, "tcp4", dst)
				if err != nil {
					errOnce.Do(func() {
						firstErr = fmt.Errorf("connect %s from %v (connection %d of %d): %v", dst, src, i+1, cfg.conns, err)
						cancel()
					})
					continue
				}
				h.clients[i] = c.(*net.TCPConn)
			}
		}()
	}
feed:
	for i := range cfg.conns {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	select {
	case <-allAccepted:
	case err := <-acceptErr:
		return nil, err
	case <-ctx.Done():
		mu.Lock()
		n := len(h.servers)
		mu.Unlock()
		return nil, fmt.Errorf("only %d of %d connections accepted within %v", n, cfg.conns, cfg.timeout)
	}

	// Half-close the first closeWait clients and wait for each server end
	// to read EOF, i.e. to be in CLOSE_WAIT.
	dl, _ := ctx.Deadline()
	buf := make([]byte, 1)
	for _, c := range h.clients[:cfg.closeWait] {
		if err := c.CloseWrite(); err != nil {
			return nil, fmt.Errorf("shutdown(SHUT_WR) %v: %v", c.LocalAddr(), err)
		}
	}
	for _, c := range h.clients[:cfg.closeWait] {
		mu.Lock()
		s := byPeer[c.LocalAddr().String()]
		mu.Unlock()
		if s == nil {
			return nil, fmt.Errorf("no server end for client %v", c.LocalAddr())
		}
		s.SetReadDeadline(dl)
		if n, err := s.Read(buf); n != 0 || err != io.EOF {
			return nil, fmt.Errorf("server end of %v did not see FIN: n=%d err=%v", c.LocalAddr(), n, err)
		}
		s.SetReadDeadline(time.Time{})
	}
	return h, nil
}

// raiseNofile makes sure RLIMIT_NOFILE allows need descriptors, raising the
// hard limit too when permitted (as root, up to fs.nr_open).
func raiseNofile(need uint64) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("getrlimit(RLIMIT_NOFILE): %v", err)
	}
	if lim.Cur >= need {
		return nil
	}
	want := lim
	want.Cur = need
	if want.Max < need {
		want.Max = need
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
		return fmt.Errorf("need %d file descriptors per worker but RLIMIT_NOFILE is %d (hard %d) and cannot be raised (%v); raise the hard limit (ulimit -Hn) or use more -procs",
			need, lim.Cur, lim.Max, err)
	}
	return nil
}

// setComm sets the calling thread's name (PR_SET_NAME), which for the main
// thread is /proc/PID/comm as shown by ss -p and netstat -p.
func setComm(name string) {
	b := append([]byte(name), 0)
	syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_NAME, uintptr(unsafe.Pointer(&b[0])), 0)
	runtime.KeepAlive(b)
}

// oneLine flattens a message onto a single line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
