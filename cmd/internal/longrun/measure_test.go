package longrun

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// sawtooth is a synthetic RSS series: readings about every `every` (the
// gaps jittered as rssSampler's are) over run, of a sawtooth that climbs
// from low to high kB over period and drops back, starting at phase (a
// fraction of a period). From warm on, both ends of the tooth rise
// linearly by trend (0.2: 20%) by the end of the run.
func sawtooth(rng *rand.Rand, run, every, period time.Duration, phase float64, low, high int64, warm time.Duration, trend float64) []Point {
	var pts []Point
	for at := time.Duration(0); at <= run; at += every/2 + time.Duration(rng.Int64N(int64(every))) {
		frac := float64(at)/float64(period) + phase
		frac -= float64(int64(frac))
		v := float64(low) + frac*float64(high-low)
		if at > warm {
			v *= 1 + trend*float64(at-warm)/float64(run-warm)
		}
		pts = append(pts, Point{At: at, RSS: int64(v)})
	}
	return pts
}

// TestMeasureSawtooth: the growth measure tells a sawtooth without a trend
// (Go's heap: record --every 1s at 80k sockets swung between 114 and 187
// MB with none) from the same sawtooth on a 20% upward trend, at the
// benchmark's scale (a 1-minute warm-up, 10 minutes, a reading every
// 500 ms) and the test's (4 s, 16 s, 20 ms), whatever the tooth's
// period (up to a quarter of the window) and phase. One reading after the
// warm-up against one at the end, as growth was measured before, cannot:
// for some phase it reports more than the 10% bound on the flat series.
func TestMeasureSawtooth(t *testing.T) {
	const bound = 0.10
	const low, high = 114 << 10, 187 << 10
	for _, sc := range []struct {
		name             string
		warm, run, every time.Duration
	}{
		{"full", time.Minute, 10 * time.Minute, DefaultSampleEvery},
		{"small", 4 * time.Second, 16 * time.Second, 20 * time.Millisecond},
	} {
		window := windowFor(sc.warm, sc.every, sc.warm, sc.run)
		worstFlat, leastTrend := 0.0, 1.0
		for _, div := range []float64{40, 13, 7.3, 4} {
			period := time.Duration(float64(window) / div)
			oneReading := 0.0 // the largest single-reading growth over the phases
			for _, phase := range []float64{0, 0.2, 0.45, 0.7, 0.9} {
				name := fmt.Sprintf("%s/period=%v/phase=%v", sc.name, period, phase)
				rng := rand.New(rand.NewPCG(uint64(div*100), uint64(phase*100)))
				flat := sawtooth(rng, sc.run, sc.every, period, phase, low, high, sc.warm, 0)
				m, err := Measure(flat, sc.warm, windowFor(sc.warm, sc.every, sc.warm, flat[len(flat)-1].At))
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				worstFlat = max(worstFlat, abs(m.Growth()))
				if g := m.Growth(); g > bound || g < -bound {
					t.Errorf("%s: a sawtooth without a trend measures %+.1f%% (medians %d -> %d kB over %d and %d readings), want within ±%.0f%%",
						name, 100*g, m.First.Median, m.Last.Median, m.First.N, m.Last.N, 100*bound)
				}
				if m.First.N < 20 || m.Last.N < 20 {
					t.Errorf("%s: %d and %d readings in the windows, want at least 20 each", name, m.First.N, m.Last.N)
				}
				after := 0
				for _, p := range flat {
					if p.At >= sc.warm {
						after++
					}
				}
				if m.Min < low || m.Min > low*11/10 || m.Max > high || m.Max < high*9/10 || m.Samples != after {
					t.Errorf("%s: min %d, max %d kB over %d readings, want within [%d, %d] near both ends over the %d after the warm-up", name, m.Min, m.Max, m.Samples, low, high, after)
				}
				// The reading at the end of the warm-up against the last.
				for _, p := range flat {
					if p.At >= sc.warm {
						oneReading = max(oneReading, abs(float64(flat[len(flat)-1].RSS-p.RSS)/float64(p.RSS)))
						break
					}
				}

				rng = rand.New(rand.NewPCG(uint64(div*100), uint64(phase*100)))
				grows := sawtooth(rng, sc.run, sc.every, period, phase, low, high, sc.warm, 0.2)
				m, err = Measure(grows, sc.warm, windowFor(sc.warm, sc.every, sc.warm, grows[len(grows)-1].At))
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				leastTrend = min(leastTrend, m.Growth())
				if g := m.Growth(); g <= bound {
					t.Errorf("%s: a sawtooth on a 20%% upward trend measures %+.1f%% (medians %d -> %d kB), want more than %.0f%%",
						name, 100*g, m.First.Median, m.Last.Median, 100*bound)
				}
			}
			if oneReading <= bound {
				t.Errorf("%s/period=%v: one reading against one differs by at most %.1f%% over the phases; the series does not show why medians are needed", sc.name, period, 100*oneReading)
			}
		}
		t.Logf("%s: without a trend at most ±%.1f%%, with one at least %+.1f%%", sc.name, 100*worstFlat, 100*leastTrend)
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// TestMeasureWindows: the windows are the first after the warm-up and the
// last of the run, each reading counted once, the median is of the
// readings in the window, and a series that cannot fill two windows is an
// error, not a number.
func TestMeasureWindows(t *testing.T) {
	s := func(rss ...int64) []Point {
		pts := make([]Point, len(rss))
		for i, v := range rss {
			pts[i] = Point{At: time.Duration(i) * time.Second, RSS: v}
		}
		return pts
	}
	// 0..2 s warm-up, first window [2 s, 5 s), last [7 s, 10 s].
	m, err := Measure(s(900, 50, 100, 300, 200, 1, 1, 400, 600, 500, 450), 2*time.Second, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if m.First.Median != 200 || m.First.N != 3 || m.Last.Median != 450 || m.Last.N != 4 || m.Min != 1 || m.Max != 600 || m.Samples != 9 {
		t.Errorf("measure = %+v, want first median 200 of 3, last 450 of 4, min 1 and max 600 over the 9 readings after the warm-up", m)
	}
	if g := m.Growth(); g != 1.25 {
		t.Errorf("growth = %v, want 1.25", g)
	}
	for _, c := range []struct {
		plan, every, warm, end, want time.Duration
	}{
		{time.Minute, DefaultSampleEvery, 61 * time.Second, 10 * time.Minute, time.Minute},                    // the benchmark
		{4 * time.Second, DefaultSampleEvery, 4 * time.Second, 10 * time.Second, 2 * time.Second},             // a third of the rest
		{time.Millisecond, 20 * time.Millisecond, time.Millisecond, 10 * time.Second, 400 * time.Millisecond}, // 20 readings
	} {
		if got := windowFor(c.plan, c.every, c.warm, c.end); got != c.want {
			t.Errorf("window for a %v warm-up (ended at %v) of a %v run read every %v = %v, want %v", c.plan, c.warm, c.end, c.every, got, c.want)
		}
	}
	for _, c := range []struct {
		name   string
		series []Point
		warm   time.Duration
		window time.Duration
	}{
		{"none", nil, 0, time.Second},
		{"overlap", s(1, 2, 3, 4, 5), time.Second, 3 * time.Second},
		{"empty first window", []Point{{0, 1}, {10 * time.Second, 2}}, time.Second, 2 * time.Second},
		{"no window", s(1, 2, 3), 0, 0},
	} {
		if m, err := Measure(c.series, c.warm, c.window); err == nil {
			t.Errorf("%s: measure = %+v, want an error", c.name, m)
		}
	}
}
