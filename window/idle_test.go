package window

import (
	"math"
	"testing"
	"time"
)

func TestIdle(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	type obs struct {
		ts int64
		at time.Duration // after t0
	}
	tests := []struct {
		name    string
		timeout time.Duration
		observe []obs
		at      time.Duration
		want    int64
		ok      bool
	}{
		{name: "nothing observed", timeout: time.Second, at: time.Hour},
		{name: "disabled", timeout: 0, observe: []obs{{1000, 0}}, at: time.Hour},
		{name: "negative timeout disables", timeout: -time.Second, observe: []obs{{1000, 0}}, at: time.Hour},
		{name: "not quiet long enough", timeout: 5 * time.Second, observe: []obs{{1000, 0}}, at: 5*time.Second - 1},
		{name: "exactly the timeout", timeout: 5 * time.Second, observe: []obs{{1000, 0}}, at: 5 * time.Second, want: 1000 + int64(5*time.Second), ok: true},
		{name: "moves on with processing time", timeout: 5 * time.Second, observe: []obs{{1000, 0}}, at: time.Minute, want: 1000 + int64(time.Minute), ok: true},
		{name: "from the max event time and the last arrival",
			timeout: time.Second,
			observe: []obs{{5000, 0}, {3000, 2 * time.Second}},
			at:      10 * time.Second, want: 5000 + int64(8*time.Second), ok: true},
		{name: "a record resets the quiet time", timeout: 5 * time.Second,
			observe: []obs{{1000, 0}, {2000, 3 * time.Second}}, at: 7 * time.Second},
		{name: "a clock stepping back does not shorten the wait", timeout: 5 * time.Second,
			observe: []obs{{1000, 10 * time.Second}, {2000, 0}}, at: 12 * time.Second},
		{name: "stops short of +inf", timeout: time.Second,
			observe: []obs{{math.MaxInt64 - 10, 0}}, at: time.Hour, want: math.MaxInt64 - 1, ok: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			i := Idle{Timeout: tt.timeout}
			for _, o := range tt.observe {
				i.Observe(o.ts, t0.Add(o.at))
			}
			got, ok := i.EventTime(t0.Add(tt.at))
			if got != tt.want || ok != tt.ok {
				t.Errorf("EventTime(t0+%v) = %d, %v; want %d, %v", tt.at, got, ok, tt.want, tt.ok)
			}
		})
	}
}
