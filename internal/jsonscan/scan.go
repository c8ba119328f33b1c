package jsonscan

import (
	"encoding/binary"
	"math/bits"
)

// Code is what a scan found wrong at the position it returned; OK is nothing. Decoders map it
// to their own messages.
type Code uint8

// The syntax errors of the scanners.
const (
	OK         Code = iota
	EOF             // the input ends inside a value
	WantKey         // an object member does not start with a string key
	WantColon       // a key is not followed by ':'
	WantComma       // an object member is not followed by ',' or '}'
	WantElem        // an array element is not followed by ',' or ']'
	BadValue        // no JSON value starts here
	BadLiteral      // not true, false or null
	BadNumber       // a number outside the JSON grammar
	Control         // a control character in a string
	BadEscape       // an escape JSON does not have
	TooDeep         // containers nested deeper than the caller allows
)

// SkipWS returns the index of the first byte at or after i that is not JSON whitespace.
func SkipWS(b []byte, i int) int {
	if uint(i) < uint(len(b)) && b[i] > ' ' {
		return i // the usual case, compact JSON: one comparison
	}
	for uint(i) < uint(len(b)) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// Flags say what a string holds besides plain bytes.
type Flags uint8

const (
	// Escaped: the string has backslash escapes, so its raw bytes are not its value.
	Escaped Flags = 1 << iota
	// NonASCII: the string has bytes of 0x80 and above (which may not be valid UTF-8).
	NonASCII
)

// plainByte marks the bytes a string can hold as they are: printable ASCII but '"' and '\\'.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// special flags, in the high bit of each byte of w, the bytes a plain string cannot hold as they
// are: '"', '\\', control characters and non-ASCII. Only the lowest flag is exact (borrows can
// flag bytes above a flagged one), which is all String needs.
func special(w uint64) uint64 {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	q := w ^ ('"' * lo)
	b := w ^ ('\\' * lo)
	return ((w-0x20*lo)|(q-lo)|(b-lo))&^w&hi | w&hi
}

// String scans the string whose opening quote is b[i]. It returns the index after the closing
// quote and what the string holds (no flags: printable ASCII only, its raw bytes are its value),
// or where it goes wrong and why: EOF, Control or BadEscape. Eight bytes at a time: keys and
// values are mostly plain ASCII.
func String(b []byte, i int) (end int, fl Flags, c Code) {
	n := len(b)
	j := i + 1
	for j+8 <= n {
		if m := special(binary.LittleEndian.Uint64(b[j:])); m != 0 {
			j += bits.TrailingZeros64(m) >> 3
			goto found
		}
		j += 8
	}
	for j < n && plainByte[b[j]] {
		j++
	}
found:
	if j < n && b[j] == '"' {
		return j + 1, 0, OK
	}
	return stringRest(b, j)
}

// stringRest scans on from b[j], the first byte of a string that is not plain.
func stringRest(b []byte, j int) (int, Flags, Code) {
	n := len(b)
	var fl Flags
	for j < n {
		c := b[j]
		switch {
		case c == '"':
			return j + 1, fl, OK
		case c == '\\':
			fl |= Escaped
			if j+1 >= n {
				return n, fl, EOF
			}
			switch b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if j+6 > n {
					return n, fl, EOF
				}
				if Hex4(b[j+2:j+6]) < 0 {
					return j, fl, BadEscape
				}
				j += 6
			default:
				return j, fl, BadEscape
			}
		case c < 0x20:
			return j, fl, Control
		default:
			if c >= 0x80 {
				fl |= NonASCII
			}
			j++
		}
	}
	return n, fl, EOF
}

var unhex = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = int8(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = int8(c - 'a' + 10)
		t[c-'a'+'A'] = int8(c - 'a' + 10)
	}
	return t
}()

// Unhex is the value of the hex digit c, in either case, or -1.
func Unhex(c byte) int8 { return unhex[c] }

// Hex4 decodes the four hex digits of a \u escape, or returns -1.
func Hex4(b []byte) rune {
	if len(b) < 4 {
		return -1
	}
	a, b1, c, e := unhex[b[0]], unhex[b[1]], unhex[b[2]], unhex[b[3]]
	if a|b1|c|e < 0 {
		return -1
	}
	return rune(a)<<12 | rune(b1)<<8 | rune(c)<<4 | rune(e)
}

// Skip returns the index after the JSON value at b[i:], its syntax checked, or where it goes
// wrong and why. depth is how many containers may still open: an object or array at b[i] needs 1,
// and its members get one less.
func Skip(b []byte, i, depth int) (int, Code) {
	n := len(b)
	if i >= n {
		return i, EOF
	}
	switch c := b[i]; c {
	case '"':
		j, _, code := String(b, i)
		return j, code
	case '{', '[':
		if depth < 1 {
			return i, TooDeep
		}
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		i = SkipWS(b, i+1)
		if i < n && b[i] == closer {
			return i + 1, OK
		}
		for {
			var code Code
			if c == '{' {
				if i >= n {
					return i, EOF
				}
				if b[i] != '"' {
					return i, WantKey
				}
				if i, _, code = String(b, i); code != OK {
					return i, code
				}
				if i = SkipWS(b, i); i >= n {
					return i, EOF
				}
				if b[i] != ':' {
					return i, WantColon
				}
				i = SkipWS(b, i+1)
			}
			if i, code = Skip(b, i, depth-1); code != OK {
				return i, code
			}
			if i = SkipWS(b, i); i >= n {
				return i, EOF
			}
			switch b[i] {
			case ',':
				i = SkipWS(b, i+1)
				continue
			case closer:
				return i + 1, OK
			}
			if c == '{' {
				return i, WantComma
			}
			return i, WantElem
		}
	case 't':
		return literal(b, i, "true")
	case 'f':
		return literal(b, i, "false")
	case 'n':
		return literal(b, i, "null")
	}
	if c := b[i]; c == '-' || c-'0' <= 9 {
		_, j, ok := parse(b, i, jsonGrammar)
		if !ok {
			return j, BadNumber
		}
		return j, OK
	}
	return i, BadValue
}

func literal(b []byte, i int, lit string) (int, Code) {
	if len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit {
		return i + len(lit), OK
	}
	return i, BadLiteral
}
