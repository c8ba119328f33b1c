package coinbase_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/source/coinbase"
	"github.com/coattailcapital/ctc/source/coinbase/coinbasetest"
)

// Read an hour of a product's trade history, oldest first, from a local server that speaks
// Coinbase's REST API: the source finds the hour's first trade by trade id, then pages forward.
func ExampleHistory_Source() {
	exchange := coinbasetest.New() // a local server with Coinbase's trade history API
	defer exchange.Close()
	start := time.Date(2024, 3, 5, 9, 0, 0, 0, time.UTC)
	var trades []coinbasetest.Trade
	for i := range 4 * 3600 { // four hours, a trade a second
		trades = append(trades, coinbasetest.Trade{ID: int64(1_000_000 + i), Price: "62000.5", Size: "0.01", Side: "sell",
			Time: start.Add(time.Duration(i) * time.Second)})
	}
	exchange.Load("BTC-USD", trades...)

	h := &coinbase.History{Endpoint: exchange.RESTURL, RequestsPerSecond: 1000}
	from := start.Add(2 * time.Hour)
	src, err := h.Source("BTC-USD", from, from.Add(time.Hour))
	if err != nil {
		panic(err)
	}
	var first, last ctc.Record
	n := 0
	for {
		var rec ctc.Record
		err := src.Next(context.Background(), &rec)
		if errors.Is(err, ctc.ErrEndOfInput) {
			break
		}
		if err != nil {
			panic(err)
		}
		if n == 0 {
			first = rec
		}
		last, n = rec, n+1
	}
	fmt.Println(n, "trades")
	fmt.Println("first:", first.Position, first.Trade.Timestamp.Format(time.TimeOnly), first.Trade.Side)
	fmt.Println("last: ", last.Position, last.Trade.Timestamp.Format(time.TimeOnly))
	// Output:
	// 3600 trades
	// first: BTC-USD:1007200 11:00:00 buy
	// last:  BTC-USD:1010799 11:59:59
}
