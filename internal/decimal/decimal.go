// Package decimal parses the plain decimal strings exchanges send for prices and quantities
// ("0.35280000") exactly and without allocating, for the decoders on the hot path.
package decimal

var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// Fast parses b — digits with at most one decimal point, no sign, no exponent — taking strconv's
// exact fast path: when the significant digits fit in 53 bits and the scale in 22 decimal places,
// both operands of one IEEE division are exact and the result is correctly rounded, bit for bit
// what strconv.ParseFloat returns. It reports false for anything else (other grammar, longer
// mantissas), which the caller then hands to strconv.
func Fast(b []byte) (float64, bool) {
	var mant uint64
	nd, exp := 0, 0
	dot, digits := false, false
	for _, c := range b {
		switch {
		case c == '.':
			if dot {
				return 0, false
			}
			dot = true
		case c-'0' <= 9:
			digits = true
			if mant == 0 && c == '0' {
				if dot {
					exp--
				}
				continue
			}
			nd++
			if nd > 19 {
				return 0, false
			}
			mant = mant*10 + uint64(c-'0')
			if dot {
				exp--
			}
		default:
			return 0, false
		}
	}
	if !digits || mant>>53 != 0 {
		return 0, false
	}
	f := float64(mant)
	if mant == 0 || exp == 0 {
		return f, true
	}
	if exp < -22 {
		return 0, false
	}
	return f / pow10[-exp], true
}
