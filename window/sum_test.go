package window

import (
	"math"
	"math/big"
	"testing"

	"pgregory.net/rapid"
)

// fixed returns the exact value of s as a big integer in units of 2^-64.
func fixed(s Sum) *big.Int {
	x := new(big.Int).Lsh(big.NewInt(s.Hi), 64)
	return x.Add(x, new(big.Int).SetUint64(s.Lo))
}

// truncFixed returns v·2^64 truncated toward zero: what Add must add, computed independently.
func truncFixed(v float64) *big.Int {
	f := new(big.Float).SetFloat64(v)
	f.SetMantExp(f, 64)
	i, _ := f.Int(nil)
	return i
}

// roundFixed rounds x·2^-64 to the nearest float64, ties to even.
func roundFixed(x *big.Int) float64 {
	f := new(big.Float).SetPrec(256).SetInt(x)
	f.SetMantExp(f, -64)
	v, _ := f.Float64()
	return v
}

// realistic draws a value of magnitude 1e-8..1e12 with a random sign, log-uniformly, as prices,
// quantities and quote volumes are spread.
func realistic(t *rapid.T, label string) float64 {
	m := rapid.Float64Range(1, 10).Draw(t, label+"_mant")
	e := rapid.IntRange(-8, 11).Draw(t, label+"_exp")
	v := m * math.Pow(10, float64(e))
	if rapid.Bool().Draw(t, label+"_neg") {
		v = -v
	}
	return v
}

func TestSumExactAndOrderIndependent(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 200).Draw(t, "n")
		vs := make([]float64, n)
		for i := range vs {
			vs[i] = realistic(t, "v")
		}
		perm := rapid.Permutation(vs).Draw(t, "perm")

		var a, b Sum
		want := new(big.Int)
		exact := new(big.Float).SetPrec(4096)
		for i := range vs {
			a.Add(vs[i])
			b.Add(perm[i])
			want.Add(want, truncFixed(vs[i]))
			exact.Add(exact, new(big.Float).SetFloat64(vs[i]))
		}
		if a != b {
			t.Fatalf("order changed the sum: %+v vs %+v", a, b)
		}
		if got := fixed(a); got.Cmp(want) != 0 {
			t.Fatalf("sum is %v·2^-64, want %v·2^-64", got, want)
		}
		if got, want := a.Float64(), roundFixed(want); got != want {
			t.Fatalf("Float64() = %v, want the correctly rounded %v", got, want)
		}
		// Against the real sum of the values: truncation loses less than 2^-64 per value.
		ex, _ := exact.Float64()
		tol := 1e-12*math.Abs(ex) + float64(n)*0x1p-64
		if d := math.Abs(a.Float64() - ex); d > tol {
			t.Fatalf("Float64() = %v, exact sum %v: off by %g > %g", a.Float64(), ex, d, tol)
		}
	})
}

func TestSumMerge(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 100).Draw(t, "n")
		split := rapid.IntRange(0, n).Draw(t, "split")
		var all, left, right Sum
		for i := range n {
			v := realistic(t, "v")
			all.Add(v)
			if i < split {
				left.Add(v)
			} else {
				right.Add(v)
			}
		}
		l, r := left, right
		l.Merge(right)
		r.Merge(left)
		if l != all || r != all {
			t.Fatalf("merged halves %+v and %+v, want the whole %+v", l, r, all)
		}
	})
}

// TestSumFloat64Rounding checks the conversion over the whole 128-bit range, including totals
// that need the sticky bit below the 64 bits kept.
func TestSumFloat64Rounding(t *testing.T) {
	t.Parallel()
	check := func(t interface {
		Helper()
		Fatalf(string, ...any)
	}, s Sum) {
		t.Helper()
		if got, want := s.Float64(), roundFixed(fixed(s)); got != want {
			t.Fatalf("%+v.Float64() = %v (%x), want %v (%x)", s, got, math.Float64bits(got), want, math.Float64bits(want))
		}
	}
	// Halfway cases that random bits seldom hit: with the top bit at 126, bit 73 (hi bit 9) is
	// the rounding bit of a 53-bit mantissa.
	for _, s := range []Sum{
		{Hi: 1<<62 | 1<<9, Lo: 0},         // tie, even below: down
		{Hi: 1<<62 | 1<<9, Lo: 1},         // just above the tie, only in the low word: up
		{Hi: 1<<62 | 1<<10 | 1<<9, Lo: 0}, // tie, odd below: up
		{Hi: -(1<<62 | 1<<9), Lo: 0},      // the same, negative
		{Hi: -(1<<62 | 1<<9) - 1, Lo: 1<<64 - 1},
		{Hi: math.MinInt64, Lo: 0},
		{Hi: math.MaxInt64, Lo: 1<<64 - 1},
		{Hi: 0, Lo: 1<<64 - 1},
		{Hi: -1, Lo: 1},
		{Hi: 1, Lo: 1<<11 + 1},
	} {
		check(t, s)
	}
	rapid.Check(t, func(t *rapid.T) {
		check(t, Sum{Hi: rapid.Int64().Draw(t, "hi"), Lo: rapid.Uint64().Draw(t, "lo")})
	})
}

func TestSum(t *testing.T) {
	t.Parallel()
	below63 := math.Nextafter(0x1p63, 0)
	tests := []struct {
		name     string
		add      []float64
		want     float64
		overflow bool
	}{
		{name: "empty", want: 0},
		{name: "cancels exactly", add: []float64{0.1, 0.2, 0.3, -0.1, -0.2, -0.3}, want: 0},
		{name: "float addition would lose it", add: []float64{1e15, 0.1, -1e15}, want: 0.1},
		{name: "negative", add: []float64{-1.5, -2.25}, want: -3.75},
		{name: "mixed signs", add: []float64{-7, 2.5}, want: -4.5},
		{name: "largest value below 2^63", add: []float64{below63}, want: below63},
		{name: "most negative value above -2^63", add: []float64{-below63}, want: -below63},
		{name: "overflowing on the way, back in range", add: []float64{below63, below63, -below63}, want: below63},
		{name: "resolution", add: []float64{0x1p-64, 0x1p-64}, want: 0x1p-63},
		{name: "below resolution truncates to zero", add: []float64{0x1p-65, 0x1p-65, 5e-324}, want: 0},
		{name: "truncates toward zero", add: []float64{-(0x1p-64 + 0x1p-66)}, want: -0x1p-64},
		{name: "negative zero", add: []float64{math.Copysign(0, -1)}, want: 0},
		{name: "NaN", add: []float64{1, math.NaN(), 2}, overflow: true},
		{name: "+Inf", add: []float64{math.Inf(1)}, overflow: true},
		{name: "-Inf", add: []float64{math.Inf(-1), 3}, overflow: true},
		{name: "2^63", add: []float64{0x1p63}, overflow: true},
		{name: "-2^63", add: []float64{-0x1p63}, overflow: true},
		{name: "max float", add: []float64{math.MaxFloat64, -math.MaxFloat64}, overflow: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var s Sum
			for _, v := range tt.add {
				s.Add(v)
			}
			if s.Overflow != tt.overflow {
				t.Fatalf("Overflow = %v, want %v", s.Overflow, tt.overflow)
			}
			got := s.Float64()
			if tt.overflow {
				if !math.IsNaN(got) {
					t.Fatalf("Float64() = %v after overflow, want NaN", got)
				}
				if s.IsZero() {
					t.Fatal("IsZero() = true after overflow")
				}
				return
			}
			if got != tt.want {
				t.Fatalf("Float64() = %v, want %v", got, tt.want)
			}
			if s.IsZero() != (tt.want == 0) {
				t.Fatalf("IsZero() = %v with total %v", s.IsZero(), tt.want)
			}
		})
	}
}

func TestSumOverflowIsSticky(t *testing.T) {
	t.Parallel()
	var bad, good Sum
	bad.Add(math.NaN())
	good.Add(1)
	good.Merge(bad)
	if !good.Overflow {
		t.Fatal("Merge lost the Overflow of its argument")
	}
	good.Add(-1)
	if !good.Overflow || !math.IsNaN(good.Float64()) {
		t.Fatalf("Overflow cleared by a later Add: %+v", good)
	}
}
