package window

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Spec describes epoch-aligned tumbling windows: every window is [k·Size, (k+1)·Size) in Unix
// nanoseconds for some integer k, so two processes (or a replay and a live run) cut the same
// windows without agreeing on a start.
type Spec struct {
	Size     time.Duration // > 0
	Lateness time.Duration // >= 0: watermark = max event time seen - Lateness
}

// Validate reports every problem with the spec, or nil.
func (s Spec) Validate() error {
	var errs []error
	if s.Size <= 0 {
		errs = append(errs, fmt.Errorf("window size must be > 0, got %v", s.Size))
	}
	if s.Lateness < 0 {
		errs = append(errs, fmt.Errorf("window lateness must be >= 0, got %v", s.Lateness))
	}
	return errors.Join(errs...)
}

// Start returns the start of the window holding ts (Unix ns): floor(ts/Size)·Size, rounding
// toward −∞ for negative ts too. The one window that would start before math.MinInt64 is
// clamped to start there. Start panics if Size <= 0: Validate first.
func (s Spec) Start(ts int64) int64 {
	start, _ := s.bounds(ts)
	return start
}

// End returns the exclusive end of the window holding ts: Start(ts)+Size, except that the one
// window that would end after math.MaxInt64 is clamped to end there, which keeps MaxInt64 free
// to mean +∞ (see Tumbling.Advance).
func (s Spec) End(ts int64) int64 {
	_, end := s.bounds(ts)
	return end
}

// bounds derives both ends from ts itself rather than end from start, so that a clamped start
// does not drag the end with it.
func (s Spec) bounds(ts int64) (start, end int64) {
	size := int64(s.Size)
	r := ts % size
	if r < 0 {
		r += size
	}
	// ts-r and ts+(size-r) are the exact bounds whenever they are representable.
	if ts < math.MinInt64+r {
		start = math.MinInt64
	} else {
		start = ts - r
	}
	if ts > math.MaxInt64-(size-r) {
		end = math.MaxInt64
	} else {
		end = ts + (size - r)
	}
	return start, end
}

// watermark is max - lateness, where MinInt64 means "no event yet" (−∞) and MaxInt64 means the
// end of a bounded input (+∞); in between it saturates instead of wrapping.
func (s Spec) watermark(max int64) int64 {
	switch {
	case max == math.MaxInt64:
		return math.MaxInt64
	case max < math.MinInt64+int64(s.Lateness):
		return math.MinInt64
	}
	return max - int64(s.Lateness)
}
