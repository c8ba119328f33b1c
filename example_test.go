package ctc_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/detect"
	"github.com/coattailcapital/ctc/quality"
	"github.com/coattailcapital/ctc/sink/console"
	"github.com/coattailcapital/ctc/sink/memory"
	"github.com/coattailcapital/ctc/source/replay"
)

// A pipeline over three NDJSON trades: one whale, one record that is not JSON, one duplicate.
func Example() {
	input := strings.Join([]string{
		`{"event_id":"6f1c7c52-0f5e-5d2c-9a57-0d8e5b7e1a11","exchange":"binance","symbol":"BTC-USDT","price":60000,"quantity":12.5,"side":"buy","timestamp":"2024-01-15T10:30:00.123Z"}`,
		`{"event_id":`,
		`{"event_id":"6f1c7c52-0f5e-5d2c-9a57-0d8e5b7e1a11","exchange":"binance","symbol":"BTC-USDT","price":60000,"quantity":12.5,"side":"buy","timestamp":"2024-01-15T10:30:00.123Z"}`,
	}, "\n")
	src, _ := replay.New(strings.NewReader(input))
	chain, _ := quality.New(quality.Config{})
	p, err := ctc.NewPipeline(src,
		ctc.WithChecker(chain),
		ctc.WithDetectors(detect.Defaults()...),
		ctc.WithSinks(console.New(os.Stdout)))
	if err != nil {
		panic(err)
	}
	if err := p.Run(context.Background()); err != nil {
		panic(err)
	}
	s := chain.Stats()
	fmt.Printf("processed %d, passed %d, failed %d, duplicate %d, score %.1f%%\n",
		s.Processed, s.Passed, s.Failed, s.Duplicate, s.QualityScore)
	// Output:
	// 2024-01-15T10:30:00.123Z  HIGH      whale         BTC-USDT on binance: $750.0k buy of 12.5 at 60000.00 (over $500.0k)
	// processed 3, passed 1, failed 1, duplicate 1, score 33.3%
}

// bigBuyer is a user-written detector: it alerts on every buy of more than 10 units of the base
// asset. Stateless, so it needs no windows; see examples/customdetector for a windowed one.
type bigBuyer struct{}

func (bigBuyer) Name() string { return "big_buyer" }

func (bigBuyer) Observe(t *ctc.Trade, out *ctc.Output) {
	if t.Side == ctc.Buy && t.Quantity > 10 {
		out.Alerts = append(out.Alerts, ctc.Alert{
			AlertType: "big_buyer", Symbol: t.Symbol, Exchange: t.Exchange, Severity: ctc.Low,
			ActualValue: t.Quantity, ThresholdValue: 10, DetectedAt: t.Timestamp,
			Message: fmt.Sprintf("%s bought %g %s", t.Exchange, t.Quantity, strings.Split(t.Symbol, "-")[0]),
		})
	}
}

func (bigBuyer) Advance(time.Time, *ctc.Output) {}

// A detector of your own runs beside the built-in ones; the pipeline fills in its alerts' ids,
// TTL and emission time. ctctest.TestDetector checks it obeys the detector laws.
func Example_customDetector() {
	at := time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC)
	trades := []ctc.Trade{
		{EventID: ctc.NewEventIDInt("coinbase", "ETH-USD", 1), Exchange: "coinbase", Symbol: "ETH-USD",
			Price: 3000, Quantity: 25, QuoteVolume: 75000, Side: ctc.Buy, Timestamp: at},
		{EventID: ctc.NewEventIDInt("coinbase", "ETH-USD", 2), Exchange: "coinbase", Symbol: "ETH-USD",
			Price: 3000, Quantity: 2, QuoteVolume: 6000, Side: ctc.Buy, Timestamp: at.Add(time.Second)},
	}
	chain, _ := quality.New(quality.Config{})
	mem := memory.New()
	p, _ := ctc.NewPipeline(replay.Trades(trades), ctc.WithChecker(chain),
		ctc.WithDetectors(bigBuyer{}), ctc.WithSinks(mem))
	if err := p.Run(context.Background()); err != nil {
		panic(err)
	}
	for _, a := range mem.Contents().Output.Alerts {
		fmt.Println(a.AlertType, a.Message, a.TTLEpoch-a.DetectedAt.Unix())
	}
	// Output:
	// big_buyer coinbase bought 25 ETH 86400
}
