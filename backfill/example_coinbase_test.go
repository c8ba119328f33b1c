package backfill_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/backfill"
	"github.com/coattailcapital/ctc/sink/iceberg"
	"github.com/coattailcapital/ctc/source/binance"
	"github.com/coattailcapital/ctc/source/binance/binancetest"
	"github.com/coattailcapital/ctc/source/coinbase"
	"github.com/coattailcapital/ctc/source/coinbase/coinbasetest"
)

// Load a range from both exchanges into a local lake: Binance's BTCUSDT and, by the default
// instrument rule, Coinbase's BTC-USD — the two legs the spread detector joins.
func Example_bothExchanges() {
	ctx := context.Background()
	bn := binancetest.New(nil) // local servers speaking each exchange's REST API
	defer bn.Close()
	cb := coinbasetest.New()
	defer cb.Close()
	trades := bn.Skip("BTCUSDT", 1200)
	from, to := time.UnixMilli(trades[0].Time), time.UnixMilli(trades[len(trades)-1].Time)
	var history []coinbasetest.Trade
	for i := range 3000 { // a trade every 5 ms from a second before the range
		history = append(history, coinbasetest.Trade{ID: int64(50_000 + i), Price: "100.25", Size: "0.1", Side: "buy",
			Time: from.Add(-time.Second + time.Duration(i)*5*time.Millisecond)})
	}
	cb.Load("BTC-USD", history...)

	dir, _ := os.MkdirTemp("", "lake")
	defer os.RemoveAll(dir)
	lake, err := iceberg.Open(ctx, iceberg.Config{Dir: dir})
	if err != nil {
		panic(err)
	}
	defer lake.Close(ctx)
	rep, err := backfill.Run(ctx, backfill.Config{
		History:    &binance.History{Endpoint: bn.URL},
		Coinbase:   &coinbase.History{Endpoint: cb.RESTURL, RequestsPerSecond: 1000},
		Symbols:    []string{"BTCUSDT"},
		From:       from,
		To:         to,
		Sinks:      []ctc.Sink{lake},
		PipelineID: "historical_load/example",
	})
	if err != nil {
		panic(err)
	}
	inRange := 0
	for _, t := range history {
		if !t.Time.Before(from) && t.Time.Before(to.Add(time.Millisecond)) {
			inRange++
		}
	}
	fmt.Println("binance BTCUSDT:", rep.Symbols["BTCUSDT"], "trades")
	fmt.Println("coinbase BTC-USD: every trade of the range:", rep.Symbols["BTC-USD"] == int64(inRange) && inRange > 0)
	// Output:
	// binance BTCUSDT: 1200 trades
	// coinbase BTC-USD: every trade of the range: true
}
