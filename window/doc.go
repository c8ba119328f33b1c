// Package window cuts a stream of timestamped records into event-time tumbling windows and keeps
// the small statistics detectors need: exact sums, rolling mean and standard deviation, and an
// idleness estimate for live sources.
//
// # Event time and tumbling windows
//
// A record belongs to a window by its own timestamp (event time), never by when it arrived.
// Windows are tumbling and aligned to the Unix epoch: a window of size d holding timestamp ts is
// [floor(ts/d)·d, floor(ts/d)·d + d), in Unix nanoseconds, for negative ts too (see Spec.Start).
// A Tumbling keeps one pane, an accumulator of the caller's type, per window and key.
//
// # Watermark, firing once, and late records
//
// Records may arrive out of order, so a window cannot close when the first later record shows up.
// The watermark says how far event time is known to be complete:
//
//	watermark = max event time seen − Lateness
//
// A window fires once, when the watermark reaches its end: its panes move to the ready list and
// are never touched again. A record whose window has already fired (or would have fired, had it
// existed) is late: Add counts it (Late) and returns nil so that the caller can send it to a late
// output. It is never silently dropped and never re-fires a window. A record whose timestamp
// trails the largest one seen before it by at most Lateness is never late, so shuffling records
// within that bound changes nothing.
//
// # End of input and idleness
//
// A bounded source (a replay, a batch) ends with a final watermark of +∞: Advance(math.MaxInt64),
// or Flush, fires every window. A live source that goes quiet would otherwise hold its last
// windows open for ever; Idle estimates how far event time has moved once no record has arrived
// for a timeout, for the caller to pass to Advance.
//
// # Exact sums and snapshots
//
// Sum adds float64 values exactly in 128-bit fixed point, so a window's total does not depend on
// the order its records arrived in, and a replay reproduces a live run bit for bit. A Tumbling
// snapshots itself with MarshalBinary and resumes from UnmarshalBinary as if never interrupted;
// Sum and Rolling have exported fields for encoding/gob or encoding/json.
//
// # Concurrency and time
//
// Nothing in this package starts a goroutine or reads the clock. Windows are passive state
// machines driven by the timestamps they are given, and where processing time matters (Idle) the
// caller passes it in, which keeps replays deterministic and tests free of sleeps. No type is safe
// for concurrent use: give each goroutine its own, or guard it.
//
// # Example
//
// Per-symbol traded volume in one-minute windows, allowing records to be 30 seconds late:
//
//	package main
//
//	import (
//		"fmt"
//		"math"
//		"strings"
//		"time"
//
//		"github.com/coattailcapital/ctc/window"
//	)
//
//	type trade struct {
//		ts     time.Time
//		symbol string
//		volume float64
//	}
//
//	func main() {
//		w, err := window.NewTumbling[string, window.Sum](
//			window.Spec{Size: time.Minute, Lateness: 30 * time.Second}, strings.Compare)
//		if err != nil {
//			panic(err)
//		}
//		t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
//		trades := []trade{
//			{t0.Add(10 * time.Second), "BTC-USDT", 6000},
//			{t0.Add(70 * time.Second), "ETH-USDT", 3000},
//			{t0.Add(50 * time.Second), "BTC-USDT", 1500}, // out of order, within lateness
//			{t0.Add(95 * time.Second), "BTC-USDT", 2500}, // watermark 65 s: the first minute fires
//			{t0.Add(20 * time.Second), "BTC-USDT", 9999}, // late
//		}
//		show := func(panes []window.Pane[string, window.Sum]) {
//			for _, p := range panes {
//				fmt.Println(time.Unix(0, p.Start).UTC().Format("15:04"), p.Key, p.Acc.Float64())
//			}
//		}
//		for _, t := range trades {
//			if acc := w.Add(t.ts.UnixNano(), t.symbol); acc != nil {
//				acc.Add(t.volume)
//			} else {
//				fmt.Println("late:", t.symbol, t.volume)
//			}
//			show(w.Ready())
//		}
//		w.Advance(math.MaxInt64) // end of input
//		show(w.Ready())
//	}
//
// It prints
//
//	12:00 BTC-USDT 7500
//	late: BTC-USDT 9999
//	12:01 BTC-USDT 2500
//	12:01 ETH-USDT 3000
package window
