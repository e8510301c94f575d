package longrun

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Point is one VmRSS reading of a run, At after the run began.
type Point struct {
	At  time.Duration
	RSS int64 // kB
}

// Window is the RSS readings of one stretch of a run.
type Window struct {
	From, To time.Duration // the stretch, from the run's beginning
	N        int           // readings in it
	Median   int64         // their median, kB (the lower middle one if N is even)
}

// Memory is a run's resident memory as a measure of growth: the median
// VmRSS over the first window after the warm-up against the median over
// the last window of the run. A Go process's RSS is a sawtooth (the heap
// grows to twice the live heap before a collection, and the scavenger
// returns freed pages lazily): one reading at each end can land on a tooth
// or between two, and differ by half the swing with no trend at all. The
// median of many readings over a window a few teeth long does not; a
// trend moves it by the trend.
type Memory struct {
	First, Last Window
	// Min and Max are the lowest and highest readings from the end of
	// the warm-up on (before it the process is starting: its first
	// reading can even be 0); Samples counts those readings.
	Min, Max int64
	Samples  int
}

// Growth is the last window's median relative to the first's: 0.05 means
// 5% more.
func (m Memory) Growth() float64 {
	if m.First.Median == 0 {
		return 0
	}
	return float64(m.Last.Median-m.First.Median) / float64(m.First.Median)
}

// Measure computes the measure of series (in time order) for a warm-up
// that ended warm after the run began and windows of length window: the
// first window starts at warm, the last ends at the last reading. It is an
// error when the two would overlap or either holds no reading.
func Measure(series []Point, warm, window time.Duration) (Memory, error) {
	var m Memory
	if len(series) == 0 {
		return m, fmt.Errorf("longrun: measure: no RSS readings")
	}
	if window <= 0 {
		return m, fmt.Errorf("longrun: measure: window %v is not positive", window)
	}
	end := series[len(series)-1].At
	m.First = Window{From: warm, To: warm + window}
	m.Last = Window{From: end - window, To: end}
	if m.Last.From < m.First.To {
		return m, fmt.Errorf("longrun: measure: the windows of %v after the warm-up (%v) and before the end (%v) overlap", window, warm, end)
	}
	var first, last []int64
	m.Min, m.Max = series[len(series)-1].RSS, series[len(series)-1].RSS
	for _, p := range series {
		if p.At >= warm {
			m.Min, m.Max = min(m.Min, p.RSS), max(m.Max, p.RSS)
			m.Samples++
		}
		switch {
		case p.At >= m.First.From && p.At < m.First.To:
			first = append(first, p.RSS)
		case p.At >= m.Last.From:
			last = append(last, p.RSS)
		}
	}
	m.First.N, m.Last.N = len(first), len(last)
	if len(first) == 0 || len(last) == 0 {
		return m, fmt.Errorf("longrun: measure: %d RSS readings in the first window, %d in the last: sample more often", len(first), len(last))
	}
	m.First.Median, m.Last.Median = median(first), median(last)
	return m, nil
}

// median is the lower middle value of xs, which it sorts.
func median(xs []int64) int64 {
	slices.Sort(xs)
	return xs[(len(xs)-1)/2]
}

// windowFor is the measure's window for a run planned with a warm-up of
// length plan that ended warm after the run began and which ended at end,
// its RSS read about every `every`: as long as the planned warm-up (the
// first minute after the first minute at full scale) and at least 20
// readings long, but at most a third of what follows the warm-up, so that
// the two windows stay apart in a short run.
func windowFor(plan, every, warm, end time.Duration) time.Duration {
	return min(max(plan, 20*every), (end-warm)/3)
}

// DefaultSampleEvery is how often the RSS is read when a plan does not say:
// 120 readings a minute.
const DefaultSampleEvery = 500 * time.Millisecond

// rssSampler reads a process's VmRSS about every `every` until stopped.
// The gaps are drawn uniformly from [every/2, 3*every/2), so that the
// readings do not stay in step with a process that works periodically
// (record --every 1s) and see each phase of its cycle alike.
type rssSampler struct {
	every time.Duration
	stop  chan struct{}
	done  chan struct{}
	mu    sync.Mutex
	pts   []Point
	err   error
}

// sampleRSS starts reading pid's VmRSS, times taken from began.
func sampleRSS(ctx context.Context, pid int, began time.Time, every time.Duration) *rssSampler {
	if every <= 0 {
		every = DefaultSampleEvery
	}
	s := &rssSampler{every: every, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			rss, err := vmRSS(pid)
			s.mu.Lock()
			if err != nil {
				s.err = err
				s.mu.Unlock()
				return
			}
			s.pts = append(s.pts, Point{At: time.Since(began), RSS: rss})
			s.mu.Unlock()
			gap := every/2 + rand.N(every)
			select {
			case <-ctx.Done():
				return
			case <-s.stop:
				return
			case <-time.After(gap):
			}
		}
	}()
	return s
}

// Stop ends the sampling and returns the readings, or the error that
// ended them (the process gone).
func (s *rssSampler) Stop() ([]Point, error) {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pts, s.err
}

// vmRSS reads pid's VmRSS in kB.
func vmRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("longrun: read RSS of pid %d: %w", pid, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("longrun: read RSS of pid %d: %q: %w", pid, line, err)
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("longrun: pid %d has no VmRSS (exited?)", pid)
}
