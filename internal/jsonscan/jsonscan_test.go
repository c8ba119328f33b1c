package jsonscan

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"regexp"
	"strconv"
	"testing"

	"pgregory.net/rapid"
)

// decimalGrammar is strconv's decimal grammar, which Decimal accepts and nothing else.
var decimalGrammar = regexp.MustCompile(`^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$`)

// sameFloat fails unless got is what strconv.ParseFloat gives s, to the bit. ParseFloat may only
// complain about range, and then its value is the one to return.
func sameFloat(t interface{ Fatalf(string, ...any) }, fn, s string, got float64) {
	want, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		t.Fatalf("%s(%q) accepted what strconv rejects: %v", fn, s, err)
	}
	if math.Float64bits(got) != math.Float64bits(want) {
		t.Fatalf("%s(%q) = %v (%#x), strconv says %v (%#x)", fn, s, got, math.Float64bits(got), want, math.Float64bits(want))
	}
}

func TestNumber(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in  string
		end int // -1: rejected
	}{
		{"0", 1}, {"-0", 2}, {"0.5", 3}, {"43250.12", 8}, {"1e5", 3}, {"1E+5", 4}, {"-1.5e-3", 7},
		{"01", 1}, {"1.5.", 3}, {"9007199254740993", 16}, {"123456789012345678901234567890", 30},
		{"1e400", 5}, {"-1e400", 6}, {"1e-400", 6}, {"4.9e-324", 8}, {"1.7976931348623157e308", 22},
		{"", -1}, {"-", -1}, {"+1", -1}, {".5", -1}, {"1.", -1}, {"1e", -1}, {"1e+", -1}, {"-x", -1},
		{"Inf", -1}, {"NaN", -1}, {"0x10", 1},
	} {
		f, end, ok := Number([]byte(tc.in), 0)
		if !ok {
			if tc.end >= 0 {
				t.Errorf("Number(%q) rejected it at %d", tc.in, end)
			}
			continue
		}
		if tc.end < 0 || end != tc.end {
			t.Errorf("Number(%q) = end %d, want %d", tc.in, end, tc.end)
			continue
		}
		sameFloat(t, "Number", tc.in[:end], f)
	}
}

func TestDecimal(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"0.35280000", "60000.5", "0", "0.0", "1.", ".5", "00012.3400", "+1.5",
		"-2", "9007199254740993", "123456789012345678", "0.00000001", "1e5", "1.e5", "1e400", "1e-400",
		"0.000000000000000000000000001", "99999999999999999999999", "9007199254740992", "9007199254740993e-5",
		"1234567890123456789", "12345678901234567890", "0.0000000000000000000001", "1e22", "1e23", "123e30"} {
		f, ok := Decimal([]byte(s))
		if !ok {
			t.Errorf("Decimal(%q) rejected it", s)
			continue
		}
		sameFloat(t, "Decimal", s, f)
	}
	for _, s := range []string{"", ".", "+", "-", "1.2.3", "e5", ".e5", "1e", "1e+", "NaN", "Inf",
		"infinity", "0x1p3", "1_0", " 1", "1 ", "1,", "++1"} {
		if _, ok := Decimal([]byte(s)); ok {
			t.Errorf("Decimal(%q) accepted a string outside its grammar", s)
		}
	}
}

// TestFloatsExact draws numbers around the fast path's edges (long mantissas, exponents near
// ±22 and beyond) and checks both parsers against strconv.
func TestFloatsExact(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		sign := rapid.SampledFrom([]string{"", "-", "+"}).Draw(t, "sign")
		intPart := rapid.StringMatching(`[0-9]{0,25}`).Draw(t, "int")
		frac := rapid.StringMatching(`(\.[0-9]{0,25})?`).Draw(t, "frac")
		exp := rapid.StringMatching(`([eE][+-]?[0-9]{1,3})?`).Draw(t, "exp")
		s := sign + intPart + frac + exp
		f, ok := Decimal([]byte(s))
		if ok != decimalGrammar.MatchString(s) {
			t.Fatalf("Decimal(%q) ok %v, grammar says otherwise", s, ok)
		}
		if ok {
			sameFloat(t, "Decimal", s, f)
		}
		f, end, ok := Number([]byte(s+","), 0)
		if whole := ok && end == len(s); whole != json.Valid([]byte(s)) {
			t.Fatalf("Number(%q) = ok %v end %d; encoding/json says otherwise", s, ok, end)
		}
		if ok {
			sameFloat(t, "Number", s[:end], f)
		}
	})
}

func TestString(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		end  int
		fl   Flags
		code Code
	}{
		{`""`, 2, 0, OK},
		{`"binance"x`, 9, 0, OK},
		{`"a long plain string over sixteen bytes",`, 40, 0, OK},
		{`"caf\u00e9"`, 11, Escaped, OK},
		{`"café"`, 7, NonASCII, OK},
		{`"a\"b\\c\/\b\f\n\r\t é"`, 24, Escaped | NonASCII, OK},
		{`"abc`, 4, 0, EOF},
		{`"abcdefghijklmnop`, 17, 0, EOF},
		{`"a\`, 3, Escaped, EOF},
		{`"a\u00`, 6, Escaped, EOF},
		{`"a\u00zz"`, 2, Escaped, BadEscape},
		{`"a\x"`, 2, Escaped, BadEscape},
		{"\"a\tb\"", 2, 0, Control},
		{"\"abcdefghij\x01\"", 11, 0, Control},
	} {
		end, fl, code := String([]byte(tc.in), 0)
		if end != tc.end || fl != tc.fl || code != tc.code {
			t.Errorf("String(%q) = %d, %b, %d; want %d, %b, %d", tc.in, end, fl, code, tc.end, tc.fl, tc.code)
		}
	}
}

func TestSkip(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		end  int
		code Code
	}{
		{`{"a":[1,2.5e3,"x\"y",true,false,null],"b":{"c":{}}, "d" : [ ] }`, 63, OK},
		{`[]`, 2, OK},
		{`-1.5,`, 4, OK},
		{`"s"`, 3, OK},
		{``, 0, EOF},
		{`{`, 1, EOF},
		{`{"a"`, 4, EOF},
		{`{"a":1`, 6, EOF},
		{`{1:2}`, 1, WantKey},
		{`{"a",1}`, 4, WantColon},
		{`{"a":1 "b":2}`, 7, WantComma},
		{`[1 2]`, 3, WantElem},
		{`[1,]`, 3, BadValue},
		{`{"a":1,}`, 7, WantKey},
		{`x`, 0, BadValue},
		{`tru`, 0, BadLiteral},
		{`nul!`, 0, BadLiteral},
		{`[-]`, 2, BadNumber},
		{`1.e3`, 2, BadNumber},
		{`"a` + "\n" + `"`, 2, Control},
		{`[[[1]]]`, 7, OK},
	} {
		end, code := Skip([]byte(tc.in), 0, 3)
		if end != tc.end || code != tc.code {
			t.Errorf("Skip(%q) = %d, %d; want %d, %d", tc.in, end, code, tc.end, tc.code)
		}
	}
	if end, code := Skip([]byte(`[[[[1]]]]`), 0, 3); end != 3 || code != TooDeep {
		t.Errorf("four levels with a depth of 3: %d, %d; want 3, TooDeep", end, code)
	}
}

// FuzzScan holds the package to its references: Number and Decimal to strconv.ParseFloat, bit for
// bit, and to their grammars (JSON's, as encoding/json has it, and strconv's decimal one); String
// and Skip to encoding/json's verdict on the same input.
func FuzzScan(f *testing.F) {
	for _, s := range []string{"0.35280000", "43250.12", "-0", "1e22", "1e23", "9007199254740993",
		"123456789012345678901234", ".5", "+1.", "1e-400", `"plain"`, `"caf\u00e9 \" \\"`,
		"\"caf\xc3\xa9\"", `{"a":[1,{"b":null}],"c":"d"}`, ` [true , false] `, `{"a":01}`, `"\x"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s := string(b)
		if v, ok := Decimal(b); ok {
			sameFloat(t, "Decimal", s, v)
		} else if decimalGrammar.MatchString(s) {
			t.Fatalf("Decimal(%q) rejected a decimal", s)
		}
		valid := json.Valid(b)
		v, end, ok := Number(b, 0)
		if ok {
			sameFloat(t, "Number", s[:end], v)
		}
		isNumber := len(b) > 0 && (b[0] == '-' || b[0]-'0' <= 9)
		if whole := ok && SkipWS(b, end) == len(b); whole != (valid && isNumber) {
			t.Fatalf("Number(%q) = ok %v end %d; encoding/json says valid %v", s, ok, end, valid)
		}
		if len(b) > 0 && b[0] == '"' {
			end, fl, code := String(b, 0)
			if whole := code == OK && SkipWS(b, end) == len(b); whole != valid {
				t.Fatalf("String(%q) = %d, %d; encoding/json says valid %v", s, end, code, valid)
			}
			if code == OK {
				raw := b[1 : end-1]
				if want := flagsOf(raw); fl != want {
					t.Fatalf("String(%q) flags %b, want %b", s, fl, want)
				}
				if !json.Valid(b[:end]) {
					t.Fatalf("String(%q) accepted %q, which encoding/json rejects", s, b[:end])
				}
			}
		}
		i := SkipWS(b, 0)
		end, code := Skip(b, i, 10000)
		if whole := code == OK && SkipWS(b, end) == len(b); whole != valid {
			t.Fatalf("Skip(%q) = %d, %d; encoding/json says valid %v", s, end, code, valid)
		}
		if code == OK && !json.Valid(b[i:end]) {
			t.Fatalf("Skip(%q) accepted %q, which encoding/json rejects", s, b[i:end])
		}
	})
}

func flagsOf(raw []byte) Flags {
	var fl Flags
	if bytes.IndexByte(raw, '\\') >= 0 {
		fl |= Escaped
	}
	for _, c := range raw {
		if c >= 0x80 {
			fl |= NonASCII
			break
		}
	}
	return fl
}

func BenchmarkNumber(b *testing.B) {
	in := []byte(`43250.12,`)
	for b.Loop() {
		Number(in, 0)
	}
}

func BenchmarkDecimal(b *testing.B) {
	in := []byte("43250.12000000")
	for b.Loop() {
		Decimal(in)
	}
}

func BenchmarkString(b *testing.B) {
	in := []byte(`"6f1c7c52-0f5e-5d2c-9a57-0d8e5b7e1a11",`)
	for b.Loop() {
		String(in, 0)
	}
}

func BenchmarkSkip(b *testing.B) {
	in := []byte(`{"a":[1,2.5e3,"x\"y",true,null],"b":{"c":"d"}}`)
	for b.Loop() {
		Skip(in, 0, 64)
	}
}
