package replay_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/source/replay"
)

func Example() {
	const csv = `3000000001,42000.01000000,0.00100000,4000000001,4000000003,1704067200123,True,True
3000000002,42000.00000000,1.50000000,4000000004,4000000004,1704067200456,False,True
3000000003,not-a-price,1.00000000,4000000005,4000000005,1704067200789,False,True
3000000004,42001.50000000,0.25000000,4000000006,4000000007,1735689600000123,false,true
`
	src, err := replay.New(strings.NewReader(csv),
		replay.WithFormat(replay.BinanceCSV), replay.WithInstrument(ctc.Binance, "BTC-USDT"))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	var rec ctc.Record
	for {
		err := src.Next(ctx, &rec)
		if errors.Is(err, ctc.ErrEndOfInput) {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		if rec.Err != nil {
			fmt.Printf("%d: %v\n", rec.Position.Offset, rec.Err)
			continue
		}
		t := &rec.Trade
		fmt.Printf("%d: %s %s %s %g @ %g = %g at %s\n", rec.Position.Offset, t.Exchange, t.Symbol, t.Side,
			t.Quantity, t.Price, t.QuoteVolume, t.Timestamp.Format(ctc.TimeLayout))
	}
	// Output:
	// 1: binance BTC-USDT sell 0.001 @ 42000.01 = 42.00001 at 2024-01-01T00:00:00.123Z
	// 2: binance BTC-USDT buy 1.5 @ 42000 = 63000 at 2024-01-01T00:00:00.456Z
	// 3: replay line 3: binance aggTrades CSV column 2 (price): must be a positive decimal number, got "not-a-price"
	// 4: binance BTC-USDT buy 0.25 @ 42001.5 = 10500.375 at 2025-01-01T00:00:00.000Z
}

// Trades replays trades already in memory, the way tests feed a pipeline.
func ExampleTrades() {
	trades := []ctc.Trade{
		{Exchange: ctc.Coinbase, Symbol: "ETH-USD", Price: 3000, Quantity: 2, QuoteVolume: 6000, Side: ctc.Buy},
		{Exchange: ctc.Coinbase, Symbol: "ETH-USD", Price: 3001, Quantity: 1, QuoteVolume: 3001, Side: ctc.Sell},
	}
	src := replay.Trades(trades, replay.WithPartition("fixture"))
	var rec ctc.Record
	for src.Next(context.Background(), &rec) == nil {
		fmt.Println(rec.Position, rec.Trade.Side, rec.Trade.QuoteVolume)
	}
	// Output:
	// fixture:1 buy 6000
	// fixture:2 sell 3001
}

func ExampleDecodeCSV() {
	var t ctc.Trade
	line := []byte("3000000001,42000.01000000,0.00100000,4000000001,4000000003,1735689600000123,True,True")
	if err := replay.DecodeCSV(line, ctc.Binance, "BTC-USDT", &t); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(t.Side, t.Price, t.Quantity, t.Timestamp.Format("2006-01-02T15:04:05.000000Z07:00"))
	fmt.Println(replay.DecodeCSV([]byte("1,42000,0.1,1,1,1704067200123,maybe,true"), ctc.Binance, "BTC-USDT", &t))
	// Output:
	// sell 42000.01 0.001 2025-01-01T00:00:00.000123Z
	// binance aggTrades CSV column 7 (is_buyer_maker): must be true or false, got "maybe"
}

// NDJSON lines are handed over undecoded, for the quality chain; positions are line numbers.
func ExampleNew() {
	in := "{\"event_id\":\"a\"}\r\n\r\n{\"event_id\":\"b\"}"
	src, err := replay.New(strings.NewReader(in), replay.WithPartition("trades.jsonl"))
	if err != nil {
		fmt.Println(err)
		return
	}
	var rec ctc.Record
	for src.Next(context.Background(), &rec) == nil {
		fmt.Println(rec.Position, string(rec.Data), rec.Decoded)
	}
	// Output:
	// trades.jsonl:1 {"event_id":"a"} false
	// trades.jsonl:3 {"event_id":"b"} false
}
