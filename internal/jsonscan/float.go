package jsonscan

import (
	"strconv"
	"unsafe"
)

// Number parses the JSON number at b[i:] and returns its value, the value strconv.ParseFloat
// gives it bit for bit (±Inf beyond the float64 range), and the index after it. A number that
// breaks the grammar returns false and the index where it does.
func Number(b []byte, i int) (f float64, end int, ok bool) {
	return parse(b, i, true, true)
}

// Decimal parses all of b in strconv's decimal grammar — an optional sign, digits with at most
// one point (at least one digit), an optional exponent — and returns the value
// strconv.ParseFloat gives it bit for bit (±Inf beyond the float64 range). It rejects what else
// ParseFloat takes (inf, nan, hex, underscores), which an exchange's decimal string never is.
func Decimal(b []byte) (float64, bool) {
	f, end, ok := parse(b, 0, false, true)
	return f, ok && end == len(b)
}

// parse scans a number at b[i:] in the JSON grammar (json) or strconv's decimal grammar, which
// also takes a '+', leading zeros and a point without digits on one side. It computes the value
// only when asked.
func parse(b []byte, i int, json, value bool) (float64, int, bool) {
	n := len(b)
	start := i
	neg := false
	if i < n && (b[i] == '-' || b[i] == '+' && !json) {
		neg = b[i] == '-'
		i++
	}
	// The mantissa as strconv's readFloat accumulates it: up to 19 significant digits, dp the
	// position of the decimal point, trunc whether a non-zero digit did not fit.
	var mant uint64
	nd, ndMant := 0, 0
	trunc := false
	ints := i
	if json && i < n && b[i] == '0' {
		i++ // JSON has no leading zeros: a number that starts with 0 is 0 or 0.…
	} else {
		for ; i < n; i++ {
			c := b[i] - '0'
			if c > 9 {
				break
			}
			if c == 0 && nd == 0 {
				continue
			}
			nd++
			if ndMant < 19 {
				mant = mant*10 + uint64(c)
				ndMant++
			} else if c != 0 {
				trunc = true
			}
		}
	}
	sawInt := i > ints
	if json && !sawInt {
		return 0, i, false
	}
	dp := nd
	if i < n && b[i] == '.' {
		i++
		fs := i
		for ; i < n; i++ {
			c := b[i] - '0'
			if c > 9 {
				break
			}
			if c == 0 && nd == 0 {
				dp--
				continue
			}
			nd++
			if ndMant < 19 {
				mant = mant*10 + uint64(c)
				ndMant++
			} else if c != 0 {
				trunc = true
			}
		}
		if i == fs && (json || !sawInt) {
			return 0, i, false
		}
	} else if !sawInt {
		return 0, i, false
	}
	if i < n && b[i]|0x20 == 'e' {
		i++
		esign := 1
		if i < n && (b[i] == '+' || b[i] == '-') {
			if b[i] == '-' {
				esign = -1
			}
			i++
		}
		es, e := i, 0
		for ; i < n; i++ {
			c := b[i] - '0'
			if c > 9 {
				break
			}
			if e < 10000 {
				e = e*10 + int(c)
			}
		}
		if i == es {
			return 0, i, false
		}
		dp += e * esign
	}
	if !value {
		return 0, i, true
	}
	if !trunc {
		exp := 0
		if mant != 0 {
			exp = dp - ndMant
		}
		if f, ok := exact(mant, exp, neg); ok {
			return f, i, true
		}
	}
	// The grammar is checked, so ParseFloat cannot fail but for range, and then returns ±Inf. It
	// does not keep its argument (its errors copy it), so a view of b does, without allocating.
	f, _ := strconv.ParseFloat(unsafe.String(&b[start], i-start), 64)
	return f, i, true
}

// pow10 are the powers of ten a float64 holds exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// exact is strconv's atof64exact: when the mantissa (at most 2^53) and the power of ten are both
// exact in a float64, one IEEE multiplication or division rounds correctly.
func exact(mant uint64, exp int, neg bool) (float64, bool) {
	if mant > 1<<53 {
		return 0, false
	}
	f := float64(mant)
	if neg {
		f = -f
	}
	switch {
	case exp == 0:
		return f, true
	case exp > 0 && exp <= 15+22:
		if exp > 22 {
			f *= pow10[exp-22]
			exp = 22
		}
		if f > 1e15 || f < -1e15 {
			return 0, false
		}
		return f * pow10[exp], true
	case exp < 0 && exp >= -22:
		return f / pow10[-exp], true
	}
	return 0, false
}
