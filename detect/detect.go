package detect

import (
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/coattailcapital/ctc"
)

// Defaults returns the three built-in detectors with the thresholds of DESIGN §4.
func Defaults() []ctc.Detector {
	v, _ := NewVolume(VolumeConfig{})
	s, _ := NewSpread(SpreadConfig{})
	return []ctc.Detector{v, NewWhale(WhaleConfig{}), s}
}

func ttl(detected time.Time) int64 { return detected.Add(ctc.AlertTTL).Unix() }

// unixNano converts an event time to the windows' clock, saturating instead of overflowing so
// that ctc.EndOfTime (and anything past 2262) means "fire everything".
func unixNano(t time.Time) int64 {
	if t.Unix() >= math.MaxInt64/int64(time.Second) {
		return math.MaxInt64
	}
	if t.Unix() <= math.MinInt64/int64(time.Second) {
		return math.MinInt64
	}
	return t.UnixNano()
}

func sortFunc[T any](s []T, cmp func(a, b T) int) { slices.SortFunc(s, cmp) }

// money formats a quote amount the way a trader reads it: $1.23M, $456.8k, $12.34.
func money(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e9:
		return "$" + strconv.FormatFloat(v/1e9, 'f', 2, 64) + "B"
	case a >= 1e6:
		return "$" + strconv.FormatFloat(v/1e6, 'f', 2, 64) + "M"
	case a >= 1e3:
		return "$" + strconv.FormatFloat(v/1e3, 'f', 1, 64) + "k"
	}
	return "$" + strconv.FormatFloat(v, 'f', 2, 64)
}

// price formats a price for a message: cents for prices of 1 and more, six significant digits below.
func price(v float64) string {
	if math.Abs(v) >= 1 {
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}

// rung is one step of a severity ladder: a value above threshold is at least severity.
type rung struct {
	threshold float64
	severity  ctc.Severity
}

// grade returns the severity and threshold of the highest rung v exceeds, the ladder being
// ordered highest first; ok is false when v exceeds none.
func grade(v float64, ladder ...rung) (sev ctc.Severity, threshold float64, ok bool) {
	for _, r := range ladder {
		if v > r.threshold {
			return r.severity, r.threshold, true
		}
	}
	return ctc.SeverityNone, 0, false
}
