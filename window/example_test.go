package window_test

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/coattailcapital/ctc/window"
)

// Per-symbol traded volume in one-minute windows, allowing records to be 30 seconds late.
func ExampleTumbling() {
	w, err := window.NewTumbling[string, window.Sum](
		window.Spec{Size: time.Minute, Lateness: 30 * time.Second}, strings.Compare)
	if err != nil {
		panic(err)
	}
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	trades := []struct {
		ts     time.Time
		symbol string
		volume float64
	}{
		{t0.Add(10 * time.Second), "BTC-USDT", 6000},
		{t0.Add(70 * time.Second), "ETH-USDT", 3000},
		{t0.Add(50 * time.Second), "BTC-USDT", 1500}, // out of order, within lateness
		{t0.Add(95 * time.Second), "BTC-USDT", 2500}, // watermark 12:01:05: the first minute fires
		{t0.Add(20 * time.Second), "BTC-USDT", 9999}, // late
	}
	show := func(panes []window.Pane[string, window.Sum]) {
		for _, p := range panes {
			fmt.Println(time.Unix(0, p.Start).UTC().Format("15:04"), p.Key, p.Acc.Float64())
		}
	}
	for _, t := range trades {
		if acc := w.Add(t.ts.UnixNano(), t.symbol); acc != nil {
			acc.Add(t.volume)
		} else {
			fmt.Println("late:", t.symbol, t.volume)
		}
		show(w.Ready())
	}
	w.Advance(math.MaxInt64) // end of input
	show(w.Ready())
	// Output:
	// 12:00 BTC-USDT 7500
	// late: BTC-USDT 9999
	// 12:01 BTC-USDT 2500
	// 12:01 ETH-USDT 3000
}

// Snapshot a Tumbling mid-stream and carry on in another, as after a restart.
func ExampleTumbling_MarshalBinary() {
	spec := window.Spec{Size: time.Minute}
	w, _ := window.NewTumbling[string, int](spec, strings.Compare)
	*w.Add(int64(10*time.Second), "BTC-USDT") += 1
	snap, err := w.MarshalBinary()
	if err != nil {
		panic(err)
	}

	restored, _ := window.NewTumbling[string, int](spec, strings.Compare)
	if err := restored.UnmarshalBinary(snap); err != nil {
		panic(err)
	}
	*restored.Add(int64(20*time.Second), "BTC-USDT") += 1
	for _, p := range restored.Flush() {
		fmt.Println(p.Key, p.Acc)
	}
	// Output:
	// BTC-USDT 2
}

// Float addition depends on order; Sum does not.
func ExampleSum() {
	values := []float64{1e16, 1, -1e16, 1}
	var forward, backward float64
	var fs, bs window.Sum
	for i := range values {
		forward += values[i]
		backward += values[len(values)-1-i]
		fs.Add(values[i])
		bs.Add(values[len(values)-1-i])
	}
	fmt.Println("float64:", forward, backward)
	fmt.Println("Sum:    ", fs.Float64(), bs.Float64(), fs == bs)

	var bad window.Sum
	bad.Add(math.Inf(1))
	fmt.Println("overflow:", bad.Overflow, bad.Float64())
	// Output:
	// float64: 1 0
	// Sum:     2 2 true
	// overflow: true NaN
}

func ExampleSpec_Start() {
	s := window.Spec{Size: time.Minute}
	fmt.Println(s.Start(int64(90*time.Second)) / int64(time.Second))
	fmt.Println(s.Start(int64(-30*time.Second)) / int64(time.Second))
	fmt.Println(s.Validate())
	fmt.Println(window.Spec{}.Validate())
	// Output:
	// 60
	// -60
	// <nil>
	// window size must be > 0, got 0s
}

func ExampleRolling() {
	r := window.NewRolling(3)
	for _, v := range []float64{100, 1, 2, 3} {
		r.Push(v)
	}
	fmt.Println(r.Values(nil), r.Mean(), r.StdDev())
	// Output:
	// [1 2 3] 2 1
}

func ExampleIdle() {
	idle := window.Idle{Timeout: 10 * time.Second}
	wall := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	lastTrade := time.Date(2024, 5, 1, 11, 59, 59, 0, time.UTC)
	idle.Observe(lastTrade.UnixNano(), wall)

	for _, quiet := range []time.Duration{5 * time.Second, 15 * time.Second} {
		if ts, ok := idle.EventTime(wall.Add(quiet)); ok {
			// A live pipeline would call Tumbling.Advance(ts) here.
			fmt.Println(quiet, "quiet: event time is", time.Unix(0, ts).UTC().Format(time.TimeOnly))
		} else {
			fmt.Println(quiet, "quiet: not idle yet")
		}
	}
	// Output:
	// 5s quiet: not idle yet
	// 15s quiet: event time is 12:00:14
}
