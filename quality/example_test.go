package quality_test

import (
	"fmt"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/quality"
)

func status(s ctc.Status) string {
	return [...]string{ctc.Pass: "pass", ctc.Duplicate: "duplicate", ctc.Fail: "fail"}[s]
}

// Check three records: a trade, the same trade again, and one with a price in a string.
func Example() {
	chain, err := quality.New(quality.Config{}) // binance and coinbase, 1 h dedup, 5 min, 0.1 %
	if err != nil {
		panic(err)
	}
	records := []string{
		`{"event_id":"6f1c7c52-0f5e-5d2c-9a57-0d8e5b7e1a11","exchange":"binance","symbol":"BTC-USDT","price":43250.12,"quantity":0.015,"side":"buy","timestamp":"2024-01-15T10:30:00.123Z","ingestion_timestamp":"2024-01-15T10:40:00Z"}`,
		`{"event_id":"6f1c7c52-0f5e-5d2c-9a57-0d8e5b7e1a11","exchange":"binance","symbol":"BTC-USDT","price":43250.12,"quantity":0.015,"side":"buy","timestamp":"2024-01-15T10:30:00.123Z"}`,
		`{"event_id":"0b7e3a52-1c2d-5e6f-8a9b-0c1d2e3f4a5b","exchange":"coinbase","symbol":"BTC-USD","price":"43251","quantity":0.2,"side":"sell","timestamp":"2024-01-15T10:30:01Z"}`,
	}
	for _, r := range records {
		var t ctc.Trade
		v := chain.Check(&ctc.Record{Data: []byte(r)}, &t)
		line := status(v.Status)
		if v.Late {
			line += " (late)"
		}
		if v.Reason != "" {
			line += " " + string(v.Reason)
		}
		if v.Detail != "" {
			line += ": " + v.Detail
		}
		fmt.Println(line)
	}
	fmt.Println(string(chain.Stats().AppendJSON(nil)))
	// Output:
	// pass (late)
	// duplicate: event_id already passed within the dedup window
	// fail invalid: price must be a finite number > 0, got "43251" (a string)
	// {"processed":3,"passed":1,"failed":1,"duplicate":1,"late":1,"warnings":0,"quality_score":33.33333333333333,"failed_by_reason":{"incomplete":0,"invalid":1,"malformed":0}}
}

func ExampleDecode() {
	var t ctc.Trade
	err := quality.Decode([]byte(`{"event_id":"6f1c7c52-0f5e-5d2c-9a57-0d8e5b7e1a11","exchange":"binance",
		"symbol":"BTC-USDT","price":43250.12,"quantity":0.015,"side":"sell",
		"timestamp":"2024-01-15T16:00:00.123+05:30"}`), &t)
	fmt.Println(err)
	fmt.Println(t.Timestamp, t.QuoteVolume)

	err = quality.Decode([]byte(`{"event_id":"6f1c7c52-0f5e-5d2c-9a57-0d8e5b7e1a11","exchange":"binance","symbol":"BTC-USDT","price":1}`), &t)
	fmt.Println(err)
	// Output:
	// <nil>
	// 2024-01-15 10:30:00.123 +0000 UTC 648.7518
	// incomplete: missing fields quantity, timestamp
}

// A chain restored from a snapshot remembers the ids the first one had seen.
func ExampleChain_Snapshot() {
	first, _ := quality.New(quality.Config{})
	trade := ctc.Trade{EventID: ctc.NewEventIDInt(ctc.Binance, "BTC-USDT", 1), Exchange: ctc.Binance,
		Symbol: "BTC-USDT", Price: 43250.12, Quantity: 0.015, Side: ctc.Buy,
		Timestamp: time.Date(2024, 1, 15, 10, 30, 0, 0, time.UTC)}
	first.Check(&ctc.Record{Decoded: true, Trade: trade}, new(ctc.Trade))

	snap, _ := first.Snapshot()
	second, _ := quality.New(quality.Config{})
	if err := second.Restore(snap); err != nil {
		panic(err)
	}
	v := second.Check(&ctc.Record{Decoded: true, Trade: trade}, new(ctc.Trade))
	fmt.Println(status(v.Status), second.Stats().Processed)
	// Output: duplicate 2
}

func ExampleConfig_Validate() {
	err := quality.Config{Symbols: []string{"BTCUSDT"}, DedupWindow: -time.Minute}.Validate()
	fmt.Println(err)
	// Output:
	// quality: Symbols[0] must be BASE-QUOTE in uppercase letters and digits (e.g. BTC-USDT), got "BTCUSDT"
	// quality: DedupWindow must be >= 0 (0 means the default, 1h0m0s), got -1m0s
}
