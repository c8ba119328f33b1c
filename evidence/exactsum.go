package evidence

import "math"

// expansion is an exact sum of float64 values: non-overlapping partials in increasing magnitude
// whose (real-number) sum is exactly the sum of every value added (Shewchuk's grow-expansion,
// the algorithm of Python's math.fsum). Its rounded value depends only on the multiset of values
// added, never on their order, which is what lets trades arrive in any order and in two passes
// and still give a report identical to the last bit. Once a sum overflows float64 a partial stays
// infinite or NaN for good, and the rounded value is NaN.
type expansion []float64

// add adds x exactly.
func (e expansion) add(x float64) expansion {
	i := 0
	for _, y := range e {
		if math.Abs(x) < math.Abs(y) {
			x, y = y, x
		}
		hi := x + y
		lo := y - (hi - x)
		if lo != 0 {
			e[i] = lo
			i++
		}
		x = hi
	}
	return append(e[:i], x)
}

// addAll adds every partial of f (times sign, ±1: exact).
func (e expansion) addAll(f expansion, sign float64) expansion {
	for _, x := range f {
		e = e.add(sign * x)
	}
	return e
}

// round returns the sum correctly rounded to float64 (to nearest, ties to even), or NaN once it
// overflowed.
func (e expansion) round() float64 {
	for _, x := range e {
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return math.NaN()
		}
	}
	n := len(e)
	if n == 0 {
		return 0
	}
	n--
	hi, lo := e[n], 0.0
	// Sum from the top while the sum is exact.
	for n > 0 {
		x := hi
		n--
		y := e[n]
		hi = x + y
		lo = y - (hi - x)
		if lo != 0 {
			break
		}
	}
	// Half-even rounding across several partials: the rest below lo pushes a tie one way.
	if n > 0 && (lo < 0 && e[n-1] < 0 || lo > 0 && e[n-1] > 0) {
		y := lo * 2
		x := hi + y
		if y == x-hi {
			hi = x
		}
	}
	return hi
}
