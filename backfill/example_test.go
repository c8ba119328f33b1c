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
)

// Load a range of Binance history into a local lake, twice: the second run finds the range
// committed and loads nothing again.
func Example() {
	ctx := context.Background()
	exchange := binancetest.New(nil) // a local server speaking Binance's REST API
	defer exchange.Close()
	trades := exchange.Skip("BTCUSDT", 2500)

	dir, _ := os.MkdirTemp("", "lake")
	defer os.RemoveAll(dir)
	lake, err := iceberg.Open(ctx, iceberg.Config{Dir: dir})
	if err != nil {
		panic(err)
	}
	defer lake.Close(ctx)

	cfg := backfill.Config{
		History:    &binance.History{Endpoint: exchange.URL},
		Symbols:    []string{"BTCUSDT"},
		From:       time.UnixMilli(trades[0].Time),
		To:         time.UnixMilli(trades[len(trades)-1].Time),
		Sinks:      []ctc.Sink{lake},
		PipelineID: "historical_load/example",
	}
	for range 2 {
		rep, err := backfill.Run(ctx, cfg)
		if err != nil {
			panic(err)
		}
		rows := 0
		for batch, err := range lake.ScanTrades(ctx, iceberg.ScanOptions{}) {
			if err != nil {
				panic(err)
			}
			rows += len(batch)
		}
		fmt.Printf("loaded %d trades; raw_trades holds %d rows\n", rep.Trades, rows)
	}
	// Output:
	// loaded 2500 trades; raw_trades holds 2500 rows
	// loaded 0 trades; raw_trades holds 2500 rows
}
