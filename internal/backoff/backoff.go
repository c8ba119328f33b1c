// Package backoff computes the wait before a retry, for every ctc client that retries — the
// exchange feeds' reconnects, the Kinesis reader, the producer, the DynamoDB store: exponential
// growth to a cap, then one of the two usual jitters drawn from the caller's random source.
package backoff

import (
	"math"
	"math/rand/v2"
	"time"
)

// Cap is the cap of retry n (0 for the first retry): min(max, base·mult^n), saturating at max; 0
// when base <= 0. A mult below 1 is taken as 2.
func Cap(base, max time.Duration, mult float64, n int) time.Duration {
	if base <= 0 {
		return 0
	}
	if mult < 1 || math.IsNaN(mult) {
		mult = 2
	}
	d := float64(base) * math.Pow(mult, float64(maxInt(n, 0)))
	if d >= float64(max) || math.IsInf(d, 0) || math.IsNaN(d) {
		return max
	}
	return time.Duration(d)
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// Equal is "equal jitter": a draw from [d/2, d], so that the wait never falls below half the cap
// while clients cut off together still spread out. rnd(k) returns a uniform int64 in [0, k].
func Equal(d time.Duration, rnd func(k int64) int64) time.Duration {
	if d <= 1 {
		return max(d, 0)
	}
	return d/2 + time.Duration(clamp(rnd(int64(d/2)), int64(d/2)))
}

// Full is "full jitter": a draw from [0, d], the spread that best avoids retry storms when many
// callers share a throttled resource. rnd(k) returns a uniform int64 in [0, k].
func Full(d time.Duration, rnd func(k int64) int64) time.Duration {
	if d <= 0 {
		return 0
	}
	return time.Duration(clamp(rnd(int64(d)), int64(d)))
}

// Uniform is the default random source: a uniform int64 in [0, k] from math/rand/v2.
func Uniform(k int64) int64 {
	if k <= 0 {
		return 0
	}
	if k == math.MaxInt64 {
		return rand.Int64()
	}
	return rand.Int64N(k + 1)
}

// FromFloat adapts a random source of floats in [0, 1] (a test's fixed one) to rnd's form.
func FromFloat(r func() float64) func(k int64) int64 {
	return func(k int64) int64 { return int64(r() * float64(k)) }
}

// clamp keeps a random source's answer in [0, k], whatever a test hands back.
func clamp(v, k int64) int64 { return min(max(v, 0), k) }
