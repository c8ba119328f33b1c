package evidence

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/detect"
)

// benchInput is a day of three instruments on both exchanges, 1,000,000 trades in all (about 11.6
// a second per market, random-walk prices), and 1,000 alerts of every built-in type spread over
// the day: the size of a simulated day's warehouse.
func benchInput(b *testing.B) ([]ctc.Trade, []ctc.Alert) {
	b.Helper()
	const n, nAlerts = 1_000_000, 1_000
	day := 24 * time.Hour
	rng := rand.New(rand.NewPCG(1, 2))
	type mk struct {
		ex, sym string
		price   float64
	}
	markets := []mk{
		{ctc.Binance, "BTC-USDT", 60000}, {ctc.Coinbase, "BTC-USD", 60000},
		{ctc.Binance, "ETH-USDT", 3000}, {ctc.Coinbase, "ETH-USD", 3000},
		{ctc.Binance, "SOL-USDT", 150}, {ctc.Coinbase, "SOL-USD", 150},
	}
	trades := make([]ctc.Trade, 0, n)
	step := day / time.Duration(n)
	for i := range n {
		m := &markets[rng.IntN(len(markets))]
		m.price *= math.Exp(rng.NormFloat64() * 0.0003)
		q := math.Exp(rng.NormFloat64()) * 1000 / m.price
		trades = append(trades, ctc.Trade{
			EventID: ctc.NewEventIDInt(m.ex, m.sym, int64(i)), Exchange: m.ex, Symbol: m.sym,
			Price: m.price, Quantity: q, QuoteVolume: m.price * q, Side: ctc.Buy, Timestamp: t0.Add(time.Duration(i) * step),
		})
	}
	alerts := make([]ctc.Alert, 0, nAlerts)
	for i := range nAlerts {
		m := markets[rng.IntN(len(markets))]
		a := ctc.Alert{Exchange: m.ex, Symbol: m.sym, Severity: ctc.Medium, DetectedAt: t0.Add(time.Duration(rng.Int64N(int64(day))))}
		switch i % 4 {
		case 0:
			a.AlertType, a.Message = ctc.Whale, m.sym+" on "+m.ex+": $150.0k buy of 1 at 1"
		case 1:
			a.AlertType, a.Message = detect.WhaleCluster, m.sym+" on "+m.ex+": $150.0k sell split into a cluster"
		case 2:
			a.AlertType, a.Exchange, a.Symbol, a.ActualValue = ctc.Spread, detect.SpreadExchange, ctc.InstrumentOf(m.sym), 0.8
		default:
			a.AlertType = ctc.VolumeSpike
		}
		a.AlertID = ctc.NewAlertID(a.AlertType, a.Exchange, a.Symbol, a.DetectedAt.String())
		alerts = append(alerts, a)
	}
	return trades, alerts
}

// BenchmarkEvaluate judges 1,000 alerts and their 20,000 pseudo-alerts at four horizons over
// 1,000,000 trades already added (and sorted): each Evaluate feeds them to a Plan, twice.
func BenchmarkEvaluate(b *testing.B) {
	trades, alerts := benchInput(b)
	var tr Trades
	tr.Add(trades...)
	if _, err := Evaluate(Config{}, alerts, &tr); err != nil { // seals the trades
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Evaluate(Config{}, alerts, &tr); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAddAndEvaluate is the whole computation from a slice of trades: adding them, sorting
// each market's by time to drop duplicates, and judging the alerts.
func BenchmarkAddAndEvaluate(b *testing.B) {
	trades, alerts := benchInput(b)
	b.ReportAllocs()
	for b.Loop() {
		var tr Trades
		tr.Add(trades...)
		if _, err := Evaluate(Config{}, alerts, &tr); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(trades))*float64(b.N)/b.Elapsed().Seconds(), "trades/s")
}

// BenchmarkPlan is the bounded-memory evaluation of the same input: a first pass over the
// 1,000,000 trades, Seal, a second pass, Report. trades/s counts each trade once (it is read
// twice).
func BenchmarkPlan(b *testing.B) {
	trades, alerts := benchInput(b)
	b.ReportAllocs()
	for b.Loop() {
		p, err := NewPlan(Config{}, alerts)
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < len(trades); i += 4096 {
			p.Observe(trades[i:min(i+4096, len(trades))]...)
		}
		p.Seal()
		for i := 0; i < len(trades); i += 4096 {
			p.Accumulate(trades[i:min(i+4096, len(trades))]...)
		}
		if _, err := p.Report(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(trades))*float64(b.N)/b.Elapsed().Seconds(), "trades/s")
}
