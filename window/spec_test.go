package window

import (
	"math"
	"math/big"
	"testing"
	"time"

	"pgregory.net/rapid"
)

func TestSpecValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		spec Spec
		want string
	}{
		{Spec{Size: time.Minute, Lateness: 30 * time.Second}, ""},
		{Spec{Size: 1}, ""},
		{Spec{}, "window size must be > 0, got 0s"},
		{Spec{Size: -time.Second}, "window size must be > 0, got -1s"},
		{Spec{Size: time.Minute, Lateness: -time.Millisecond}, "window lateness must be >= 0, got -1ms"},
		{Spec{Lateness: -1}, "window size must be > 0, got 0s\nwindow lateness must be >= 0, got -1ns"},
	}
	for _, tt := range tests {
		err := tt.spec.Validate()
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("%+v.Validate() = %q, want %q", tt.spec, got, tt.want)
		}
	}
}

func TestSpecStartEnd(t *testing.T) {
	t.Parallel()
	const min = int64(time.Minute)
	tests := []struct {
		size       time.Duration
		ts         int64
		start, end int64
	}{
		{time.Minute, 0, 0, min},
		{time.Minute, 1, 0, min},
		{time.Minute, min - 1, 0, min},
		{time.Minute, min, min, 2 * min},
		{time.Minute, -1, -min, 0},
		{time.Minute, -min, -min, 0},
		{time.Minute, -min - 1, -2 * min, -min},
		{time.Minute, 1714564830123456789, 1714564800000000000, 1714564860000000000}, // 2024-05-01T12:00:30.123456789Z
		{time.Second, -1500000000, -2000000000, -1000000000},
		{1, -7, -7, -6},
		{3, -7, -9, -6},
		// The one window past each end of int64 is clamped.
		{time.Minute, math.MaxInt64, math.MaxInt64 - math.MaxInt64%min, math.MaxInt64},
		{time.Minute, math.MinInt64, math.MinInt64, math.MinInt64 - math.MinInt64%min},
		{time.Minute, math.MinInt64 - math.MinInt64%min, math.MinInt64 - math.MinInt64%min, math.MinInt64 - math.MinInt64%min + min},
	}
	for _, tt := range tests {
		s := Spec{Size: tt.size}
		if got := s.Start(tt.ts); got != tt.start {
			t.Errorf("Spec{Size: %v}.Start(%d) = %d, want %d", tt.size, tt.ts, got, tt.start)
		}
		if got := s.End(tt.ts); got != tt.end {
			t.Errorf("Spec{Size: %v}.End(%d) = %d, want %d", tt.size, tt.ts, got, tt.end)
		}
	}
}

// floorStart is the oracle for Start, by big-integer Euclidean division (floor for a positive
// divisor).
func floorStart(ts, size int64) int64 {
	q := new(big.Int).Div(big.NewInt(ts), big.NewInt(size))
	return q.Mul(q, big.NewInt(size)).Int64()
}

func TestSpecStartProperty(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		size := rapid.Int64Range(1, int64(24*time.Hour)).Draw(t, "size")
		ts := rapid.Int64Range(-1<<62, 1<<62).Draw(t, "ts")
		s := Spec{Size: time.Duration(size)}
		start, end := s.Start(ts), s.End(ts)
		if want := floorStart(ts, size); start != want {
			t.Fatalf("Start(%d) with size %d = %d, want %d", ts, size, start, want)
		}
		if end != start+size || ts < start || ts >= end {
			t.Fatalf("window [%d, %d) of size %d does not hold %d", start, end, size, ts)
		}
	})
}

func TestWatermarkSaturates(t *testing.T) {
	t.Parallel()
	s := Spec{Size: time.Minute, Lateness: time.Hour}
	tests := []struct{ max, want int64 }{
		{math.MinInt64, math.MinInt64},
		{math.MinInt64 + int64(time.Hour) - 1, math.MinInt64},
		{math.MinInt64 + int64(time.Hour) + 5, math.MinInt64 + 5},
		{0, -int64(time.Hour)},
		{math.MaxInt64 - 1, math.MaxInt64 - 1 - int64(time.Hour)},
		{math.MaxInt64, math.MaxInt64},
	}
	for _, tt := range tests {
		if got := s.watermark(tt.max); got != tt.want {
			t.Errorf("watermark(%d) = %d, want %d", tt.max, got, tt.want)
		}
	}
}
