package evidence_test

import (
	"fmt"
	"log"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/evidence"
)

func Example() {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	// Three hours of BTC-USDT on Binance, one trade a second: 60,000 until 30 s after a whale
	// bought, 60,300 (+0.5 %) from then on. The pseudo-alerts, at random times on the same market,
	// see the step only when it falls between their entry and their horizon.
	var trades evidence.Trades
	for s := -3600; s < 2*3600; s++ {
		price := 60_000.0
		if s >= 30 {
			price = 60_300
		}
		trades.Add(ctc.Trade{
			EventID: ctc.NewEventIDInt(ctc.Binance, "BTC-USDT", int64(s+10_000)), Exchange: ctc.Binance, Symbol: "BTC-USDT",
			Price: price, Quantity: 0.25, QuoteVolume: price * 0.25, Side: ctc.Buy, Timestamp: t0.Add(time.Duration(s) * time.Second),
		})
	}
	whale := ctc.Alert{
		AlertID:   ctc.NewAlertID(ctc.Whale, ctc.Binance, "BTC-USDT", "1"),
		AlertType: ctc.Whale, Severity: ctc.High, Exchange: ctc.Binance, Symbol: "BTC-USDT", DetectedAt: t0,
		Message: "BTC-USDT on binance: $600.0k buy of 10 at 60000.00 (over $500.0k)",
	}
	r, err := evidence.Evaluate(evidence.Config{Seed: 1}, []ctc.Alert{whale}, &trades)
	if err != nil {
		log.Fatal(err)
	}
	for _, g := range r.Groups {
		fmt.Printf("%s %s, %s, %d alert(s), %d pseudo-alerts\n", g.AlertType, g.Severity, g.Measure, g.Alerts, g.PseudoAlerts)
		for _, h := range g.Horizons {
			fmt.Printf("%-4s alert %+.1f bp (hit %d/%d) | baseline %+5.1f bp (hit %2d/%d, %2d no data) | edge %+.1f bp\n",
				h.Horizon, h.Alerts.Mean, h.Alerts.Hits, h.Alerts.N,
				h.Baseline.Mean, h.Baseline.Hits, h.Baseline.N, h.Baseline.NoData, h.Edge)
		}
	}
	// Output:
	// whale high, signed, 1 alert(s), 20 pseudo-alerts
	// +1m  alert +50.0 bp (hit 1/1) | baseline  +2.5 bp (hit  1/20,  0 no data) | edge +47.5 bp
	// +5m  alert +50.0 bp (hit 1/1) | baseline  +2.5 bp (hit  1/20,  0 no data) | edge +47.5 bp
	// +15m alert +50.0 bp (hit 1/1) | baseline  +2.6 bp (hit  1/19,  1 no data) | edge +47.4 bp
	// +1h  alert +50.0 bp (hit 1/1) | baseline +28.6 bp (hit  8/14,  6 no data) | edge +21.4 bp
}

func ExampleDirectionOf() {
	for _, a := range []ctc.Alert{
		{AlertType: ctc.Whale, Message: "ETH-USDT on binance: $251.3k buy of 83.7 at 3002.10 (over $100.0k)"},
		{AlertType: "whale_cluster", Message: "SOL-USD on coinbase: $150.0k sell split into a cluster of 6 orders (6 trades) over 2.5s"},
		{AlertType: ctc.Spread, ActualValue: +1.2}, // Binance dearer: expect the spread to fall
		{AlertType: ctc.VolumeSpike},
	} {
		fmt.Println(a.AlertType, evidence.DirectionOf(a))
	}
	// Output:
	// whale up
	// whale_cluster down
	// spread down
	// volume_spike none
}

// A Plan reads the trades twice — from a store, a file, a generator — and holds only the windows
// it reads, never the trades. Here the source is a function that makes the same hour of trades
// on every call.
func ExamplePlan() {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	pass := func(yield func([]ctc.Trade)) {
		batch := make([]ctc.Trade, 0, 600)
		for s := -1800; s < 3*1800; s++ {
			price := 60_000.0
			if s >= 30 {
				price = 60_300
			}
			batch = append(batch, ctc.Trade{
				EventID: ctc.NewEventIDInt(ctc.Binance, "BTC-USDT", int64(s+10_000)), Exchange: ctc.Binance, Symbol: "BTC-USDT",
				Price: price, Quantity: 0.25, Side: ctc.Buy, Timestamp: t0.Add(time.Duration(s) * time.Second),
			})
			if len(batch) == cap(batch) {
				yield(batch)
				batch = batch[:0] // the Plan keeps nothing of a batch
			}
		}
		yield(batch)
	}
	whale := ctc.Alert{
		AlertID:   ctc.NewAlertID(ctc.Whale, ctc.Binance, "BTC-USDT", "1"),
		AlertType: ctc.Whale, Severity: ctc.High, Exchange: ctc.Binance, Symbol: "BTC-USDT", DetectedAt: t0,
		Message: "BTC-USDT on binance: $600.0k buy of 10 at 60000.00 (over $500.0k)",
	}
	p, err := evidence.NewPlan(evidence.Config{Seed: 1, Horizons: []evidence.Horizon{{After: time.Minute, HalfWidth: 10 * time.Second}}}, []ctc.Alert{whale})
	if err != nil {
		log.Fatal(err)
	}
	pass(func(b []ctc.Trade) { p.Observe(b...) })
	p.Seal()
	fmt.Println("windows:", p.Windows())
	pass(func(b []ctc.Trade) { p.Accumulate(b...) })
	r, err := p.Report()
	if err != nil {
		log.Fatal(err)
	}
	h := r.Groups[0].Horizons[0]
	fmt.Printf("%d trades; %s alert %+.1f bp, baseline %+.1f bp over %d pseudo-alerts\n",
		r.Trades, h.Horizon, h.Alerts.Mean, h.Baseline.Mean, h.Baseline.N)
	// Output:
	// windows: 42
	// 7200 trades; +1m alert +50.0 bp, baseline +2.5 bp over 20 pseudo-alerts
}
