package window

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

// rollingOracle computes the statistics of the last n of all, straight from the definitions.
func rollingOracle(all []float64, n int) (held []float64, mean, sd float64) {
	if n <= 0 {
		return nil, 0, 0
	}
	held = all[max(0, len(all)-n):]
	if len(held) == 0 {
		return nil, 0, 0
	}
	for _, v := range held {
		mean += v
	}
	mean /= float64(len(held))
	if len(held) < 2 {
		return held, mean, 0
	}
	var ss float64
	for _, v := range held {
		ss += (v - mean) * (v - mean)
	}
	return held, mean, math.Sqrt(ss / float64(len(held)-1))
}

func TestRollingMatchesOracle(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(-1, 12).Draw(t, "cap")
		r := NewRolling(n)
		var all []float64
		steps := rapid.IntRange(0, 40).Draw(t, "steps")
		for range steps {
			v := realistic(t, "v")
			r.Push(v)
			all = append(all, v)

			held, mean, sd := rollingOracle(all, n)
			if got := r.Values(nil); !cmp.Equal(got, held, cmpEmptyFloats) {
				t.Fatalf("Values() = %v, want %v", got, held)
			}
			if r.Len() != len(held) {
				t.Fatalf("Len() = %d, want %d", r.Len(), len(held))
			}
			// Bit-for-bit: the same two passes in the same chronological order.
			if got := r.Mean(); got != mean {
				t.Fatalf("Mean() = %v, want %v", got, mean)
			}
			if got := r.StdDev(); got != sd {
				t.Fatalf("StdDev() = %v, want %v", got, sd)
			}
		}
	})
}

var cmpEmptyFloats = cmp.FilterValues(func(a, b []float64) bool { return len(a) == 0 && len(b) == 0 }, cmp.Ignore())

func TestRolling(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		cap        int
		push       []float64
		values     []float64
		mean, sdev float64
	}{
		{name: "empty", cap: 3},
		{name: "one value", cap: 3, push: []float64{4}, values: []float64{4}, mean: 4},
		{name: "sample, not population", cap: 3, push: []float64{1, 2, 3}, values: []float64{1, 2, 3}, mean: 2, sdev: 1},
		{name: "oldest dropped", cap: 3, push: []float64{100, 1, 2, 3}, values: []float64{1, 2, 3}, mean: 2, sdev: 1},
		{name: "wrapped twice", cap: 2, push: []float64{9, 9, 9, 9, 5, 7}, values: []float64{5, 7}, mean: 6, sdev: math.Sqrt2},
		{name: "constant", cap: 4, push: []float64{1e12 + 0.1, 1e12 + 0.1, 1e12 + 0.1}, values: []float64{1e12 + 0.1, 1e12 + 0.1, 1e12 + 0.1}, mean: 1e12 + 0.1},
		{name: "zero capacity keeps nothing", cap: 0, push: []float64{1, 2}},
		{name: "negative capacity keeps nothing", cap: -5, push: []float64{1, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := NewRolling(tt.cap)
			for _, v := range tt.push {
				r.Push(v)
			}
			if got := r.Values([]float64{-1}); !cmp.Equal(got, append([]float64{-1}, tt.values...)) {
				t.Errorf("Values([-1]) = %v, want -1 then %v", got, tt.values)
			}
			if r.Mean() != tt.mean || r.StdDev() != tt.sdev || r.Len() != len(tt.values) {
				t.Errorf("Mean, StdDev, Len = %v, %v, %d; want %v, %v, %d", r.Mean(), r.StdDev(), r.Len(), tt.mean, tt.sdev, len(tt.values))
			}
		})
	}
}

func TestRollingSnapshot(t *testing.T) {
	t.Parallel()
	codecs := []struct {
		name string
		enc  func(any) ([]byte, error)
		dec  func([]byte, any) error
	}{
		{"gob",
			func(v any) ([]byte, error) {
				var b bytes.Buffer
				err := gob.NewEncoder(&b).Encode(v)
				return b.Bytes(), err
			},
			func(b []byte, v any) error { return gob.NewDecoder(bytes.NewReader(b)).Decode(v) }},
		{"json", json.Marshal, json.Unmarshal},
	}
	for _, c := range codecs {
		for _, pushed := range []int{0, 2, 5, 11} {
			r := NewRolling(5)
			for i := range pushed {
				r.Push(float64(i*i) + 0.5)
			}
			b, err := c.enc(r)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			var got Rolling
			if err := c.dec(b, &got); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			// The restored ring must go on exactly like the original.
			for i := range 7 {
				r.Push(float64(-i))
				got.Push(float64(-i))
				if !cmp.Equal(got.Values(nil), r.Values(nil)) || got.Mean() != r.Mean() || got.StdDev() != r.StdDev() {
					t.Fatalf("%s after %d pushes, %d more: restored %v, original %v", c.name, pushed, i+1, got.Values(nil), r.Values(nil))
				}
			}
		}
	}
}

func TestRollingPushDoesNotAllocate(t *testing.T) {
	r := NewRolling(60)
	if n := testing.AllocsPerRun(200, func() { r.Push(1.5) }); n != 0 {
		t.Errorf("Push allocates %.1f times, want 0", n)
	}
}
