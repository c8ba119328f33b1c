package backoff

import (
	"testing"
	"time"
)

func TestCapAndJitter(t *testing.T) {
	for n, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second} {
		if got := Cap(time.Second, 10*time.Second, 2, n); got != want {
			t.Errorf("Cap(1s, 10s, 2, %d) = %v, want %v", n, got, want)
		}
	}
	if got := Cap(time.Second, 10*time.Second, 2, 1<<30); got != 10*time.Second {
		t.Errorf("a huge retry count: %v", got)
	}
	top := func(k int64) int64 { return k }
	bottom := func(int64) int64 { return 0 }
	if Equal(4*time.Second, top) != 4*time.Second || Equal(4*time.Second, bottom) != 2*time.Second {
		t.Error("equal jitter is not [d/2, d]")
	}
	if Full(4*time.Second, top) != 4*time.Second || Full(4*time.Second, bottom) != 0 {
		t.Error("full jitter is not [0, d]")
	}
	if got := Equal(100*time.Millisecond, FromFloat(func() float64 { return 0.25 })); got != 62500*time.Microsecond {
		t.Errorf("Equal(100ms, 0.25) = %v, want 62.5ms", got)
	}
}

// FuzzBackoff: for any settings and any answer of the random source, the cap stays in
// [0, max] and grows with n, equal jitter stays in [d/2, d] and full jitter in [0, d].
func FuzzBackoff(f *testing.F) {
	f.Add(int64(time.Second), int64(30*time.Second), 2.0, 3, int64(7))
	f.Add(int64(1), int64(1), 0.5, -1, int64(-5))
	f.Add(int64(-3), int64(100), 1e308, 1<<40, int64(1<<62))
	f.Fuzz(func(t *testing.T, base, maxD int64, mult float64, n int, r int64) {
		if maxD < 0 {
			maxD = -maxD
		}
		b, m := time.Duration(base), time.Duration(maxD)
		d := Cap(b, m, mult, n)
		if d < 0 || (b > 0 && d > m && m >= 0) {
			t.Fatalf("Cap(%v, %v, %v, %d) = %v", b, m, mult, n, d)
		}
		if n < 1<<20 && b > 0 {
			if next := Cap(b, m, mult, n+1); next < d {
				t.Fatalf("Cap shrinks from %v to %v at retry %d", d, next, n+1)
			}
		}
		rnd := func(int64) int64 { return r }
		if e := Equal(d, rnd); e < d/2 || e > d {
			t.Fatalf("Equal(%v) = %v", d, e)
		}
		if e := Full(d, rnd); e < 0 || e > d {
			t.Fatalf("Full(%v) = %v", d, e)
		}
		if u := Uniform(int64(d)); u < 0 || u > int64(d) {
			t.Fatalf("Uniform(%d) = %d", d, u)
		}
	})
}
