package window

import "math"

// Rolling keeps the last Cap values pushed, in a ring, and computes their mean and sample
// standard deviation exactly over the values held.
//
// Both statistics are recomputed in two passes over the values in chronological order on every
// call, instead of being kept as running sums: a running sum of squares drifts and cancels
// catastrophically when the spread is small beside the mean, and its rounding would depend on
// how long the process has run, so a restored or replayed detector could disagree with a live one.
// With Cap around 60 (an hour of minute windows) the recomputation costs nothing that matters.
//
// The fields are exported only so that encoding/gob and encoding/json can snapshot a Rolling
// (JSON cannot carry NaN or ±Inf); change them only through the methods.
type Rolling struct {
	Cap  int       // how many values are kept; Cap <= 0 keeps none
	Ring []float64 // the values held; once len(Ring) == Cap, Ring[Head] is the oldest
	Head int
}

// NewRolling returns a Rolling holding the last n values. n <= 0 gives one that holds nothing.
func NewRolling(n int) Rolling {
	if n <= 0 {
		return Rolling{}
	}
	return Rolling{Cap: n, Ring: make([]float64, 0, n)}
}

// Push adds v, dropping the oldest value once Cap are held.
func (r *Rolling) Push(v float64) {
	switch {
	case r.Cap <= 0:
	case len(r.Ring) < r.Cap:
		r.Ring = append(r.Ring, v)
	default:
		r.Ring[r.Head] = v
		r.Head++
		if r.Head == len(r.Ring) {
			r.Head = 0
		}
	}
}

// Len returns the number of values held.
func (r *Rolling) Len() int { return len(r.Ring) }

// Mean returns the mean of the values held, 0 when there are none.
func (r *Rolling) Mean() float64 {
	if len(r.Ring) == 0 {
		return 0
	}
	older, newer := r.halves()
	var s float64
	for _, v := range older {
		s += v
	}
	for _, v := range newer {
		s += v
	}
	return s / float64(len(r.Ring))
}

// StdDev returns the sample standard deviation (divisor n−1) of the values held, 0 when fewer
// than two are held.
func (r *Rolling) StdDev() float64 {
	n := len(r.Ring)
	if n < 2 {
		return 0
	}
	m := r.Mean()
	older, newer := r.halves()
	var ss float64
	for _, v := range older {
		ss += (v - m) * (v - m)
	}
	for _, v := range newer {
		ss += (v - m) * (v - m)
	}
	return math.Sqrt(ss / float64(n-1))
}

// Values appends the values held to dst, oldest first, and returns the extended slice.
func (r *Rolling) Values(dst []float64) []float64 {
	older, newer := r.halves()
	return append(append(dst, older...), newer...)
}

// halves returns the values held as two slices that are chronological when read one after the
// other. Head is 0 until the ring is full, so the first is empty then.
func (r *Rolling) halves() (older, newer []float64) {
	return r.Ring[r.Head:], r.Ring[:r.Head]
}
