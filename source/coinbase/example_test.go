package coinbase_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/source/coinbase"
	"github.com/coattailcapital/ctc/source/feed"
)

func ExampleDecodeFrame() {
	frame := []byte(`{"type":"match","trade_id":10,"sequence":50,"maker_order_id":"ac928c66-ca53-498f-9c13-a110027a60e8","taker_order_id":"132fb6ae-456b-4654-b4e0-d681ac05cea1","time":"2014-11-07T08:19:27.028459Z","product_id":"BTC-USD","size":"5.23512","price":"400.23","side":"sell"}`)
	trades, info, err := coinbase.DecodeFrame(frame, nil)
	if err != nil {
		panic(err)
	}
	t := trades[0]
	// The maker sold, so the aggressor bought.
	fmt.Println(info.Kind, info.Sequence, t.Symbol, t.Side, t.Price, t.Quantity, t.Timestamp.Format("2006-01-02T15:04:05.000000Z07:00"))
	fmt.Println(t.EventID)
	// Output:
	// match 50 BTC-USD buy 400.23 5.23512 2014-11-07T08:19:27.028459Z
	// 45ebd957-0c98-56be-bf46-a11e0044dfc6
}

// A live source: trades in order, gaps repaired from REST or reported.
func ExampleSource() {
	src, err := coinbase.New(coinbase.Config{
		Products: []string{"BTC-USD", "ETH-USD"},
		OnGap:    func(g feed.Gap) { log.Println(g) },
	})
	if err != nil {
		log.Fatal(err)
	}
	defer src.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var rec ctc.Record
	for src.Next(ctx, &rec) == nil {
		if rec.Err != nil {
			log.Println("dead letter:", rec.Err)
			continue
		}
		fmt.Println(rec.Trade.Symbol, rec.Trade.Side, rec.Trade.Price, rec.Trade.Quantity)
	}
	log.Printf("%+v", src.Stats())
}
