package nab

import (
	"math"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// naiveGaussian is NAB's description of the baseline taken literally: the window as a list,
// its mean and population deviation recomputed from scratch whenever it changes.
type naiveGaussian struct {
	size, step      int
	window, pending []float64
	mean, std       float64
}

func (g *naiveGaussian) score(v float64) float64 {
	s := 0.0
	if len(g.window) > 0 {
		s = 1 - 0.5*math.Erfc(math.Abs(v-g.mean)/g.std/math.Sqrt2)
	}
	changed := false
	if len(g.window) < g.size {
		g.window = append(g.window, v)
		changed = true
	} else if g.pending = append(g.pending, v); len(g.pending) == g.step {
		g.window = append(g.window[g.step:], g.pending...)
		g.pending = nil
		changed = true
	}
	if changed {
		m, ss := 0.0, 0.0
		for _, x := range g.window {
			m += x
		}
		m /= float64(len(g.window))
		for _, x := range g.window {
			ss += (x - m) * (x - m)
		}
		g.mean, g.std = m, math.Sqrt(ss/float64(len(g.window)))
		if g.std == 0 {
			g.std = 1e-6
		}
	}
	return s
}

func TestWindowedGaussianByHand(t *testing.T) {
	t.Parallel()
	g := NewWindowedGaussianSize(3, 2)
	var tm time.Time
	// 1st row: nothing learnt yet. 2nd: the window {10} has σ 0 (taken as 1e-6), so 10 scores
	// 1-Q(0) = 0.5. 3rd: {10, 10}, 11 is a million σ away.
	for i, c := range []struct{ v, want float64 }{
		{10, 0},
		{10, 0.5},
		{11, 1},
		// {10, 10, 11}: μ 31/3, σ √(2/9); 12 is z = (12-31/3)/σ away.
		{12, 1 - 0.5*math.Erfc((12-31.0/3)/math.Sqrt(2.0/9)/math.Sqrt2)},
		// The window is full: 12 waits for a second pending value, so μ and σ stay.
		{9, 1 - 0.5*math.Erfc((31.0/3-9)/math.Sqrt(2.0/9)/math.Sqrt2)},
		// Slid by 2: {11, 12, 9}, μ 32/3.
		{32.0 / 3, 0.5},
	} {
		if got := g.Score(tm, c.v); !near(got, c.want) {
			t.Errorf("row %d (%v): %v, want %v", i, c.v, got, c.want)
		}
	}
}

func TestPropertyWindowedGaussianMatchesNaive(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		size := rapid.IntRange(1, 12).Draw(t, "size")
		step := rapid.IntRange(1, size).Draw(t, "step")
		g := NewWindowedGaussianSize(size, step)
		n := &naiveGaussian{size: size, step: step, std: 1}
		vals := rapid.SliceOfN(rapid.SampledFrom([]float64{0, 1, 2, 2.5, 10, 100, -3}), 1, 60).Draw(t, "values")
		for i, v := range vals {
			a, b := g.Score(time.Time{}, v), n.score(v)
			if math.Abs(a-b) > 1e-9 {
				t.Fatalf("row %d (%v): %v, naive %v", i, v, a, b)
			}
		}
	})
}

func BenchmarkWindowedGaussian(b *testing.B) {
	g := NewWindowedGaussian()
	var tm time.Time
	for i := 0; b.Loop(); i++ {
		g.Score(tm, float64(i%977))
	}
}
