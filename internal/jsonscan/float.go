package jsonscan

import (
	"strconv"
	"unsafe"
)

// Number parses the JSON number at b[i:] and returns its value, the value strconv.ParseFloat
// gives it bit for bit (±Inf beyond the float64 range), and the index after it. A number that
// breaks the grammar returns false and the index where it does.
func Number(b []byte, i int) (f float64, end int, ok bool) {
	return parse(b, i, jsonGrammar|withValue)
}

// Decimal parses all of b in strconv's decimal grammar — an optional sign, digits with at most
// one point (at least one digit), an optional exponent — and returns the value
// strconv.ParseFloat gives it bit for bit (±Inf beyond the float64 range). It rejects what else
// ParseFloat takes (inf, nan, hex, underscores), which an exchange's decimal string never is.
func Decimal(b []byte) (float64, bool) {
	f, _, ok := parse(b, 0, withValue|whole)
	return f, ok
}

// A mode says what parse does.
type mode uint8

const (
	jsonGrammar mode = 1 << iota // JSON's grammar, else strconv's decimal one
	withValue                    // compute the value, else only check the grammar
	whole                        // the number must end where b does
)

// parse scans a number at b[i:] in the JSON grammar or strconv's decimal grammar, which also
// takes a '+', leading zeros and a point without digits on one side.
func parse(b []byte, i int, m mode) (float64, int, bool) {
	if uint(i) > uint(len(b)) {
		return 0, i, false
	}
	json := m&jsonGrammar != 0
	s := b[i:] // indexed from 0, and compared unsigned, so that the loops need no bounds checks
	k := 0
	neg := false
	if len(s) > 0 && (s[0] == '-' || s[0] == '+' && !json) {
		neg = s[0] == '-'
		k = 1
	}
	// Every digit goes into mant, the point into exp. Up to 19 digits cannot overflow; a longer
	// number takes strconv's path, where its mantissa (beyond 2^53 unless it has a run of leading
	// zeros, which exchanges do not send) would go anyway.
	var mant uint64
	ints := k
	if json && k < len(s) && s[k] == '0' {
		k++ // JSON has no leading zeros: a number that starts with 0 is 0 or 0.…
	} else {
		k, mant = digits(s, k, mant, m)
	}
	nInt := k - ints
	if json && nInt == 0 {
		return 0, i + k, false
	}
	nFrac := 0
	if uint(k) < uint(len(s)) && s[k] == '.' {
		fs := k + 1
		k, mant = digits(s, fs, mant, m)
		nFrac = k - fs
		if nFrac == 0 && (json || nInt == 0) {
			return 0, i + k, false
		}
	} else if nInt == 0 {
		return 0, i + k, false
	}
	exp := -nFrac
	if uint(k) < uint(len(s)) && s[k]|0x20 == 'e' {
		k++
		esign := 1
		if k < len(s) && (s[k] == '+' || s[k] == '-') {
			if s[k] == '-' {
				esign = -1
			}
			k++
		}
		es, e := k, 0
		for ; uint(k) < uint(len(s)); k++ {
			c := s[k] - '0'
			if c > 9 {
				break
			}
			if e < 10000 {
				e = e*10 + int(c)
			}
		}
		if k == es {
			return 0, i + k, false
		}
		exp += e * esign
	}
	if m&whole != 0 && k != len(s) {
		return 0, i + k, false
	}
	if m&withValue == 0 {
		return 0, i + k, true
	}
	if nInt+nFrac <= 19 {
		if f, ok := exact(mant, exp); ok {
			if neg {
				f = -f // rounding to nearest is symmetric
			}
			return f, i + k, true
		}
	}
	// The grammar is checked, so ParseFloat cannot fail but for range, and then returns ±Inf. It
	// does not keep its argument (its errors copy it), so a view of b does, without allocating.
	f, _ := strconv.ParseFloat(unsafe.String(&s[0], k), 64)
	return f, i + k, true
}

// digits accumulates the decimal digits at s[k:] into mant, when the mode asks for the value,
// and returns the index after them.
func digits(s []byte, k int, mant uint64, m mode) (int, uint64) {
	if m&withValue == 0 {
		for uint(k) < uint(len(s)) && s[k]-'0' <= 9 {
			k++
		}
		return k, 0
	}
	for ; uint(k) < uint(len(s)); k++ {
		c := s[k] - '0'
		if c > 9 {
			break
		}
		mant = mant*10 + uint64(c)
	}
	return k, mant
}

// pow10 are the powers of ten a float64 holds exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// exact is strconv's atof64exact: when the mantissa (at most 2^53) and the power of ten are both
// exact in a float64, one IEEE multiplication or division rounds correctly.
func exact(mant uint64, exp int) (float64, bool) {
	if mant > 1<<53 {
		return 0, false
	}
	f := float64(mant)
	switch {
	case exp == 0:
		return f, true
	case exp < 0 && exp >= -22:
		return f / pow10[-exp], true
	case exp > 0 && exp <= 15+22:
		if exp > 22 {
			f *= pow10[exp-22]
			exp = 22
		}
		if f > 1e15 {
			return 0, false
		}
		return f * pow10[exp], true
	}
	return 0, false
}
