package decimal_test

import (
	"math"
	"strconv"
	"testing"

	"pgregory.net/rapid"

	"github.com/coattailcapital/ctc/internal/decimal"
)

func check(t interface{ Fatalf(string, ...any) }, s string) {
	got, ok := decimal.Fast([]byte(s))
	if !ok {
		return
	}
	want, err := strconv.ParseFloat(s, 64)
	if err != nil || math.Float64bits(got) != math.Float64bits(want) {
		t.Fatalf("Fast(%q) = %v, strconv says %v (%v)", s, got, want, err)
	}
}

func TestFastAgreesWithStrconv(t *testing.T) {
	for _, s := range []string{"0.35280000", "60000.5", "0", "0.0", "1.", ".5", "00012.3400", "9007199254740993",
		"123456789012345678", "0.00000001", "1e5", "-1", "1.2.3", ".", "", "NaN"} {
		check(t, s)
	}
	for _, s := range []string{"1e5", "-1", "1.2.3", ".", "", "NaN", "0x1p3", "1_0"} {
		if _, ok := decimal.Fast([]byte(s)); ok {
			t.Errorf("Fast(%q) accepted a string outside its grammar", s)
		}
	}
	rapid.Check(t, func(t *rapid.T) {
		intPart := rapid.StringMatching(`[0-9]{0,12}`).Draw(t, "int")
		frac := rapid.StringMatching(`[0-9]{0,12}`).Draw(t, "frac")
		check(t, intPart+"."+frac)
		check(t, intPart)
	})
}

func FuzzFast(f *testing.F) {
	f.Add("0.35280000")
	f.Add("123.456")
	f.Fuzz(func(t *testing.T, s string) { check(t, s) })
}

func BenchmarkFast(b *testing.B) {
	in := []byte("43250.12000000")
	for b.Loop() {
		decimal.Fast(in)
	}
}
