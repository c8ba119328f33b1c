package nab

import (
	"math"
	"time"
)

// WindowedGaussian is NAB's windowed Gaussian baseline: a row's score is 1 - Q(|x-μ|/σ),
// where Q is the upper tail of
// the standard normal and μ, σ are the mean and population standard deviation of a window of
// earlier values. The window grows to Size values, updated after every row; once full it
// slides by Step values at a time, updated every Step rows. The first row scores 0. A σ of 0
// is taken as 1e-6. Memory is bounded by Size+Step values.
type WindowedGaussian struct {
	size, step int
	ring       []float64 // the window, oldest at head once full
	head       int
	pending    []float64 // values waiting for the next slide
	mean, std  float64
	m2         float64 // Welford's sum of squared deviations while the window fills
}

// NewWindowedGaussian returns the baseline with NAB's parameters: a window of 6400 values
// sliding by 100.
func NewWindowedGaussian() *WindowedGaussian { return NewWindowedGaussianSize(6400, 100) }

// NewWindowedGaussianSize returns the baseline with a window of size values sliding by step
// (1 ≤ step ≤ size; values outside are clamped).
func NewWindowedGaussianSize(size, step int) *WindowedGaussian {
	size = max(size, 1)
	step = min(max(step, 1), size)
	return &WindowedGaussian{size: size, step: step, ring: make([]float64, 0, size), std: 1}
}

var _ Detector = (*WindowedGaussian)(nil)

// Score scores v, then learns it.
func (g *WindowedGaussian) Score(_ time.Time, v float64) float64 {
	s := 0.0
	if len(g.ring) > 0 {
		x := v
		if x < g.mean {
			// The distribution is symmetric: reflect to the upper tail, as NAB does.
			x = 2*g.mean - x
		}
		z := (x - g.mean) / g.std
		s = 1 - 0.5*math.Erfc(z/math.Sqrt2)
	}
	if len(g.ring) < g.size {
		// Filling: an online update of the mean and variance of all values so far.
		g.ring = append(g.ring, v)
		d := v - g.mean
		if len(g.ring) == 1 {
			g.mean, g.m2 = v, 0
		} else {
			g.mean += d / float64(len(g.ring))
			g.m2 += d * (v - g.mean)
		}
		g.std = math.Sqrt(g.m2 / float64(len(g.ring)))
		if g.std == 0 {
			g.std = 1e-6
		}
		return s
	}
	g.pending = append(g.pending, v)
	if len(g.pending) == g.step {
		// Slide: the step oldest values give way to the pending ones.
		for _, p := range g.pending {
			g.ring[g.head] = p
			g.head = (g.head + 1) % g.size
		}
		g.pending = g.pending[:0]
		g.recompute()
	}
	return s
}

// recompute takes the mean and population standard deviation of the full window in two passes.
func (g *WindowedGaussian) recompute() {
	sum := 0.0
	for _, x := range g.ring {
		sum += x
	}
	n := float64(len(g.ring))
	g.mean = sum / n
	ss := 0.0
	for _, x := range g.ring {
		d := x - g.mean
		ss += d * d
	}
	g.std = math.Sqrt(ss / n)
	if g.std == 0 {
		g.std = 1e-6
	}
}
