package window

import (
	"math"
	"time"
)

// Idle estimates event time for a live source that has gone quiet, so that its windows still
// fire: once no record has arrived for Timeout of processing time, event
// time is taken to move on with processing time from the last event seen. The wall clock is
// always passed in; the package never reads it, and replay or batch code simply never calls
// EventTime, which keeps their output deterministic.
//
// The zero Idle, with Timeout 0, never reports idleness. Idle is not safe for concurrent use.
type Idle struct {
	Timeout time.Duration // <= 0 disables idleness

	maxEventTs  int64
	lastArrival time.Time
	seen        bool
}

// Observe records that a record with event time eventTs arrived at processing time now.
func (i *Idle) Observe(eventTs int64, now time.Time) {
	if !i.seen {
		i.maxEventTs, i.lastArrival, i.seen = eventTs, now, true
		return
	}
	i.maxEventTs = max(i.maxEventTs, eventTs)
	// A clock that steps back must not make the source look idle sooner.
	if now.After(i.lastArrival) {
		i.lastArrival = now
	}
}

// EventTime returns (maxEventTs + (now − lastArrival), true) when now − lastArrival >= Timeout and
// at least one record was observed; otherwise (0, false). Timeout <= 0 disables idleness (always
// false). The estimate stops just short of math.MaxInt64, which Tumbling.Advance reads as the end
// of input.
func (i *Idle) EventTime(now time.Time) (int64, bool) {
	if i.Timeout <= 0 || !i.seen {
		return 0, false
	}
	quiet := now.Sub(i.lastArrival)
	if quiet < i.Timeout {
		return 0, false
	}
	if i.maxEventTs > math.MaxInt64-1-int64(quiet) {
		return math.MaxInt64 - 1, true
	}
	return i.maxEventTs + int64(quiet), true
}
