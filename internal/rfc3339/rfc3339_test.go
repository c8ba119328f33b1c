package rfc3339

import (
	"testing"
	"time"
)

// FuzzParse: Parse accepts exactly what time.Parse(time.RFC3339) accepts, with the same instant in
// UTC, and ParseFast never disagrees with it on what it takes.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"2024-01-15T10:30:00.123Z", "2021-04-17T16:43:37.089723Z", "2024-02-29T23:59:59.999999999+05:30",
		"0001-01-01T00:00:00Z", "9999-12-31T23:59:59-23:59", "2024-13-01T00:00:00Z", "2024-01-15t10:30:00Z", "2024-01-15 10:30:00Z",
		"2024-01-15T10:30:00.Z", "2024-01-15T10:30:00", "2023-02-29T00:00:00Z", "2024-01-15T24:00:00Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, werr := time.Parse(time.RFC3339, s)
		got, ok := Parse([]byte(s))
		if ok != (werr == nil) {
			t.Fatalf("Parse(%q) ok = %v, time.Parse: %v", s, ok, werr)
		}
		if ok && (!got.Equal(want) || got.Location() != time.UTC) {
			t.Fatalf("Parse(%q) = %v, time.Parse: %v", s, got, want.UTC())
		}
		if fast, n, ok := ParseFast([]byte(s)); ok && n == len(s) && !fast.Equal(want) {
			t.Fatalf("ParseFast(%q) = %v, time.Parse: %v (%v)", s, fast, want, werr)
		}
	})
}
