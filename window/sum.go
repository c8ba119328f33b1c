package window

import (
	"math"
	"math/bits"
)

// Sum is an exact, order-independent accumulator of float64 values: a 128-bit two's-complement
// fixed-point number with 64 fractional bits, so its resolution is 2^-64 and its range ±2^63.
//
// Float addition is not associative, so a float total depends on the order in which records
// arrive; replaying a stream in a different order (or restoring a snapshot mid-stream) would then
// change a window's total in its last bits and, through a threshold, an alert. Sum avoids that:
// each Add converts its value to fixed point exactly, truncating toward zero below 2^-64 (the same
// truncation for the same value every time), and adds integers, which commute.
//
// The integer additions wrap modulo 2^128, so a running total that strays outside the range on
// the way is still exact as long as the final total lies within ±2^63 (≈ 9.2e18): wrapping is
// itself order-independent, where saturating would not be. A value that cannot be represented —
// NaN, ±Inf, or a magnitude of 2^63 or more — is not added; it sets Overflow instead, which no
// later Add or Merge clears, and Float64 then reports NaN. A total beyond ±2^63 built only from
// representable values is not detected: it would take some 10^7 additions of 10^12.
//
// The zero Sum is an empty sum. Sums are comparable with ==: equal totals built from any orders
// of the same values are equal. The fields are exported only so that encoding/gob and
// encoding/json can snapshot a Sum; treat them as opaque.
type Sum struct {
	Hi int64  // integer part, and the sign
	Lo uint64 // fraction, in units of 2^-64
	// Overflow records that a NaN, an infinity or a value of magnitude >= 2^63 was added
	// (directly or through Merge); the total is then unknown.
	Overflow bool
}

// Add adds v to the sum, truncated toward zero to a multiple of 2^-64.
func (s *Sum) Add(v float64) {
	b := math.Float64bits(v)
	exp := int(b>>52) & 0x7ff
	mant := b & (1<<52 - 1)
	switch {
	case exp >= 1023+63: // NaN, ±Inf (exp 0x7ff) or |v| >= 2^63
		s.Overflow = true
		return
	case exp == 0: // subnormal (or zero): far below 2^-64, so it truncates to zero
		return
	}
	mant |= 1 << 52
	// v = mant·2^(exp-1075), so v·2^64 = mant·2^(exp-1011).
	var hi, lo uint64
	switch shift := exp - 1011; {
	case shift <= -53:
		return
	case shift < 0:
		lo = mant >> -shift
	case shift < 64:
		lo = mant << shift
		hi = mant >> (64 - shift)
	default: // shift <= 74, so the magnitude stays below 2^127
		hi = mant << (shift - 64)
	}
	var c uint64
	if b>>63 == 0 {
		s.Lo, c = bits.Add64(s.Lo, lo, 0)
		s.Hi = int64(uint64(s.Hi) + hi + c)
	} else {
		s.Lo, c = bits.Sub64(s.Lo, lo, 0)
		s.Hi = int64(uint64(s.Hi) - hi - c)
	}
}

// Merge adds o to s, as if every value added to o had been added to s.
func (s *Sum) Merge(o Sum) {
	var c uint64
	s.Lo, c = bits.Add64(s.Lo, o.Lo, 0)
	s.Hi = int64(uint64(s.Hi) + uint64(o.Hi) + c)
	s.Overflow = s.Overflow || o.Overflow
}

// Float64 returns the sum rounded to the nearest float64 (ties to even), or NaN after Overflow.
func (s Sum) Float64() float64 {
	if s.Overflow {
		return math.NaN()
	}
	hi, lo := uint64(s.Hi), s.Lo
	neg := s.Hi < 0
	if neg {
		// The magnitude of -2^127 is 2^127, which still fits the unsigned 128 bits.
		var borrow uint64
		lo, borrow = bits.Sub64(0, lo, 0)
		hi, _ = bits.Sub64(0, hi, borrow)
	}
	var f float64
	if hi == 0 {
		// The uint64 conversion rounds correctly; scaling by a power of two is exact.
		f = math.Ldexp(float64(lo), -64)
	} else {
		// Keep the top 64 significant bits and fold everything below into a sticky bit:
		// bit 0 lies under the rounding bit of a 53-bit mantissa, so the one conversion
		// still rounds as if it had seen all 128 bits.
		n := bits.LeadingZeros64(hi)
		top := hi<<n | lo>>(64-n)
		if lo<<n != 0 {
			top |= 1
		}
		f = math.Ldexp(float64(top), -n)
	}
	if neg {
		f = -f
	}
	return f
}

// IsZero reports whether the sum is exactly zero (and not overflowed).
func (s Sum) IsZero() bool { return s.Hi == 0 && s.Lo == 0 && !s.Overflow }
