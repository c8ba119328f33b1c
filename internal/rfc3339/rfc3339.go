// Package rfc3339 is ctc's one timestamp parser: RFC 3339 with a zone, exactly as
// time.Parse(time.RFC3339, s) accepts it, to UTC, without allocating for the shapes exchanges and
// ctc itself write. The quality chain's decoder and the Coinbase decoder both use it, so a
// timestamp one accepts the other accepts too.
package rfc3339

import (
	"encoding/binary"
	"time"
)

// Parse parses an RFC 3339 timestamp with a zone, as time.Parse(time.RFC3339, s) does, and
// returns it in UTC. The common shapes, YYYY-MM-DDTHH:MM:SS[.fff…](Z|±hh:mm), are computed
// directly, without allocating; anything else goes to time.Parse.
func Parse(b []byte) (time.Time, bool) {
	if t, n, ok := ParseFast(b); ok && n == len(b) {
		return t, true
	}
	t, err := time.Parse(time.RFC3339, string(b))
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// ParseFast parses the timestamp at the start of b and returns how many bytes it took. It
// accepts a subset of what time.Parse(time.RFC3339) accepts, with the same result (fractions of
// any length, truncated to nanoseconds, as the time package does); it reports false for
// everything else, valid or not. The zone is Z or ±hh:mm; the caller checks what follows.
func ParseFast(b []byte) (time.Time, int, bool) {
	if len(b) < len("2006-01-02T15:04:05Z") ||
		b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' {
		return time.Time{}, 0, false
	}
	// The fourteen digits, checked and converted eight bytes at a time: separators are replaced by
	// '0', '0' is subtracted from every byte, and a byte is a digit iff it is then <= 9.
	const zeros, high = 0x3030303030303030, 0x8080808080808080
	const dateMask, timeMask = 0x00ffff00ffffffff, 0xffff00ffff00ffff // YYYY-MM- and DDTHH:MM
	w1 := (binary.LittleEndian.Uint64(b[0:8])&dateMask | zeros&^dateMask) - zeros
	w2 := (binary.LittleEndian.Uint64(b[8:16])&timeMask | zeros&^timeMask) - zeros
	w3 := (uint64(b[17]) | uint64(b[18])<<8 | zeros&^0xffff) - zeros // SS
	// Adding over9 to a byte <= 9 leaves its high bit clear; to a larger one, sets it (or carries).
	const over9 = 0x7676767676767676
	if (w1|(w1+over9)|w2|(w2+over9)|w3|(w3+over9))&high != 0 {
		return time.Time{}, 0, false
	}
	digit := func(w uint64, i int) int { return int(w >> (8 * i) & 0xff) }
	year := digit(w1, 0)*1000 + digit(w1, 1)*100 + digit(w1, 2)*10 + digit(w1, 3)
	month := digit(w1, 5)*10 + digit(w1, 6)
	day := digit(w2, 0)*10 + digit(w2, 1)
	hour := digit(w2, 3)*10 + digit(w2, 4)
	minute := digit(w2, 6)*10 + digit(w2, 7)
	sec := digit(w3, 0)*10 + digit(w3, 1)
	if year == 0 || month < 1 || month > 12 || day < 1 || day > daysIn(month, year) ||
		hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, 0, false // year 0 is left to time.Parse, so that days() need not handle it
	}
	i := 19
	nsec := 0
	if b[i] == '.' {
		j := i + 1
		scale := 100000000
		for ; j < len(b) && b[j]-'0' <= 9; j++ {
			nsec += int(b[j]-'0') * scale
			scale /= 10
		}
		if j == i+1 || j == len(b) {
			return time.Time{}, 0, false
		}
		i = j
	}
	off := 0
	switch z := b[i:]; {
	case z[0] == 'Z':
		i++
	case len(z) >= 6 && (z[0] == '+' || z[0] == '-') && z[3] == ':':
		hh, ok := digits(z[1:3])
		mm, ok1 := digits(z[4:6])
		if !ok || !ok1 || hh > 23 || mm > 59 {
			return time.Time{}, 0, false
		}
		off = (hh*60 + mm) * 60
		if z[0] == '-' {
			off = -off
		}
		i += 6
	default:
		return time.Time{}, 0, false
	}
	unix := days(year, month, day)*86400 + int64(hour*3600+minute*60+sec-off)
	return time.Unix(unix, int64(nsec)).UTC(), i, true
}

// digits parses a run of decimal digits.
func digits(b []byte) (int, bool) {
	v := 0
	for _, c := range b {
		c -= '0'
		if c > 9 {
			return 0, false
		}
		v = v*10 + int(c)
	}
	return v, true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysBefore is the number of days in a common year before each month.
var daysBefore = [...]int{0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334}

// days is the number of days from 1970-01-01 to the given date, for years 1 to 9999.
func days(year, month, day int) int64 {
	y := year - 1
	d := y*365 + y/4 - y/100 + y/400 + daysBefore[month] + day - 1
	if month > 2 && year%4 == 0 && (year%100 != 0 || year%400 == 0) {
		d++
	}
	return int64(d) - 719162 // days from 0001-01-01 to 1970-01-01
}
