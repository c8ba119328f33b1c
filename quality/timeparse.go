package quality

import "time"

// parseTime parses an RFC 3339 timestamp with a zone, as time.Parse(time.RFC3339, s) does, and
// returns it in UTC. The common shapes, YYYY-MM-DDTHH:MM:SS[.fff…](Z|±hh:mm), are computed
// directly, without allocating; anything else goes to time.Parse.
func parseTime(b []byte) (time.Time, bool) {
	if t, n, ok := parseTimeFast(b); ok && n == len(b) {
		return t, true
	}
	t, err := time.Parse(time.RFC3339, string(b))
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// parseTimeFast parses the timestamp at the start of b and returns how many bytes it took. It
// accepts a subset of what time.Parse(time.RFC3339) accepts, with the same result (fractions of
// any length, truncated to nanoseconds, as the time package does); it reports false for
// everything else, valid or not. The zone is Z or ±hh:mm; the caller checks what follows.
func parseTimeFast(b []byte) (time.Time, int, bool) {
	if len(b) < len("2006-01-02T15:04:05Z") ||
		b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' {
		return time.Time{}, 0, false
	}
	// Sixteen digits, checked at once: a byte minus '0' is a digit iff it is <= 9.
	d := [...]byte{b[0] - '0', b[1] - '0', b[2] - '0', b[3] - '0', b[5] - '0', b[6] - '0',
		b[8] - '0', b[9] - '0', b[11] - '0', b[12] - '0', b[14] - '0', b[15] - '0',
		b[17] - '0', b[18] - '0'}
	var hi byte
	for _, x := range d {
		hi |= x + (0x80 - 10) | x // the high bit: x >= 10 (x < 0x8a), or x >= 0x80 (larger x)
	}
	if hi&0x80 != 0 {
		return time.Time{}, 0, false
	}
	year := int(d[0])*1000 + int(d[1])*100 + int(d[2])*10 + int(d[3])
	month := int(d[4])*10 + int(d[5])
	day := int(d[6])*10 + int(d[7])
	hour := int(d[8])*10 + int(d[9])
	minute := int(d[10])*10 + int(d[11])
	sec := int(d[12])*10 + int(d[13])
	if month < 1 || month > 12 || day < 1 || day > daysIn(month, year) ||
		hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, 0, false
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
	unix := daysFromCivil(year, month, day)*86400 + int64(hour*3600+minute*60+sec-off)
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

// daysFromCivil is the number of days from 1970-01-01 to the given proleptic Gregorian date
// (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y
	if era < 0 {
		era -= 399
	}
	era /= 400
	yoe := y - era*400
	mp := (m + 9) % 12 // March = 0
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}
