package sim_test

import (
	"context"
	"fmt"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/source/sim"
)

func Example() {
	src, err := sim.New(sim.Config{Seed: 1, Start: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		fmt.Println(err)
		return
	}
	var rec ctc.Record
	for range 3 {
		if err := src.Next(context.Background(), &rec); err != nil {
			fmt.Println(err)
			return
		}
		t := &rec.Trade
		fmt.Printf("%s %s %-8s %-4s %g @ %g\n", t.Timestamp.Format(ctc.TimeLayout), t.Exchange, t.Symbol, t.Side,
			t.Quantity, t.Price)
	}
	// Output:
	// 2024-01-01T00:00:00.000Z binance BTC-USDT sell 0.1221 @ 59999.32
	// 2024-01-01T00:00:00.012Z coinbase SOL-USD  buy  16.861 @ 150.0089
	// 2024-01-01T00:00:00.032Z binance ETH-USDT sell 0.3869 @ 3000.116
}

// Injected is the ground truth a detection-quality check compares alerts against.
func ExampleSource_Injected() {
	src, err := sim.New(sim.Config{Seed: 1, Start: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		Duration: 7 * time.Minute})
	if err != nil {
		fmt.Println(err)
		return
	}
	var rec ctc.Record
	for src.Next(context.Background(), &rec) == nil {
	}
	for _, e := range src.Injected() {
		fmt.Printf("%s %-18s %s\n", e.Start.Format("15:04:05"), e.Kind, e.Detail)
	}
	// Output:
	// 00:00:10 whale              binance BTC-USDT: buy 4.09656 at 60043.64 = $245972
	// 00:02:30 spread_dislocation coinbase BTC-USD: price 1.5 % above the market for two 30 s windows (spread -1.48 %)
	// 00:05:00 volume_burst       coinbase BTC-USD: trade rate ×6 and size ×2 for one 60 s window
	// 00:06:10 whale              binance ETH-USDT: sell 255.0061 at 3001.149 = $765311
}
