package iceberg_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/coattailcapital/ctc"
	icesink "github.com/coattailcapital/ctc/sink/iceberg"
)

func Example() {
	dir, err := os.MkdirTemp("", "ctc-iceberg")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()

	// A local warehouse: dir/catalog.db and dir/warehouse, with the six tables in "coattail".
	s, err := icesink.Open(ctx, icesink.Config{Dir: dir})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close(ctx)

	t0 := time.Date(2024, 3, 12, 14, 0, 0, 0, time.UTC)
	var b ctc.Batch
	for i := range 3 {
		price, qty := 67_250.5+float64(i), 0.25*float64(i+1)
		b.Trades = append(b.Trades, ctc.Trade{
			EventID: ctc.NewEventIDInt(ctc.Binance, "BTC-USDT", int64(1000+i)), Exchange: ctc.Binance, Symbol: "BTC-USDT",
			Price: price, Quantity: qty, QuoteVolume: price * qty, Side: ctc.Buy, Timestamp: t0.Add(time.Duration(i) * time.Second),
		})
	}
	// Write only buffers; the checkpoint's Commit makes one snapshot per table with rows.
	if err := s.Write(ctx, &b); err != nil {
		log.Fatal(err)
	}
	cp := ctc.Checkpoint{PipelineID: "example", Seq: 1, Position: ctc.Position{Partition: "trades.ndjson", Offset: 2}}
	if err := s.Commit(ctx, cp); err != nil {
		log.Fatal(err)
	}

	tbl, err := s.Table(ctx, icesink.RawTrades)
	if err != nil {
		log.Fatal(err)
	}
	snap := tbl.CurrentSnapshot()
	fmt.Println("raw_trades rows:", snap.Summary.Properties["total-records"])
	fmt.Println("checkpoint:", snap.Summary.Properties[icesink.SummaryCheckpointSeq], snap.Summary.Properties[icesink.SummaryPosition])

	var n int
	for trades, err := range s.ScanTrades(ctx, icesink.ScanOptions{From: t0.Add(time.Second)}) {
		if err != nil {
			log.Fatal(err)
		}
		n += len(trades)
	}
	fmt.Println("trades from 14:00:01:", n)
	// Output:
	// raw_trades rows: 3
	// checkpoint: 1 trades.ndjson:2
	// trades from 14:00:01: 2
}
