package embedded_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/sink/embedded"
)

// clock is a settable time for WithClock.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.ns.Store(t.UnixNano())
	return c
}

func (c *clock) Now() time.Time      { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) set(t time.Time)     { c.ns.Store(t.UnixNano()) }
func (c *clock) add(d time.Duration) { c.ns.Add(int64(d)) }

var (
	testNow     = time.Date(2024, 3, 12, 15, 0, 0, 0, time.UTC)
	testSymbols = []string{"BTC-USDT", "ETH-USDT", "SOL-USDT", "DOGE-USDT", "BTC-USD", "ETH-USD", "SOL-USD", "DOGE-USD"}
	testTypes   = []ctc.AlertType{ctc.VolumeSpike, ctc.Whale, ctc.Spread}
)

// genAlerts returns n distinct alerts detected over the span before now, oldest first, with the
// ttl_epoch the detectors give them, as the pipeline emits them.
func genAlerts(seed uint64, n int, now time.Time, span time.Duration) []ctc.Alert {
	r := rand.New(rand.NewPCG(seed, 0xe111))
	out := make([]ctc.Alert, n)
	for i := range out {
		at := now.Add(-span + span*time.Duration(i)/time.Duration(n)).Add(time.Duration(r.IntN(1000)) * time.Millisecond).Truncate(time.Millisecond)
		typ := testTypes[r.IntN(len(testTypes))]
		sym := testSymbols[r.IntN(len(testSymbols))]
		exchange := ctc.Binance
		if sym[len(sym)-1] == 'D' {
			exchange = ctc.Coinbase
		}
		out[i] = ctc.Alert{
			AlertID: ctc.NewAlertID(typ, exchange, sym, fmt.Sprint(seed, "-", i)), AlertType: typ, Symbol: sym,
			Exchange: exchange, Severity: ctc.Severity(1 + r.IntN(4)), ZScore: 2.5 + r.ExpFloat64(), ThresholdValue: 2.5,
			ActualValue: r.Float64() * 4e6, WindowStart: at.Add(-time.Minute), DetectedAt: at,
			Message:  fmt.Sprintf("%s on %s: volume $%.1fk in 1m0s is %.2fσ above the 1 h mean", sym, exchange, r.Float64()*1e3, 2.5+r.Float64()),
			TTLEpoch: at.Add(ctc.AlertTTL).Unix(), EmittedAt: at.Add(time.Duration(r.IntN(900)) * time.Millisecond),
		}
	}
	return out
}

func batchOf(alerts ...ctc.Alert) *ctc.Batch { return &ctc.Batch{Output: ctc.Output{Alerts: alerts}} }

// snapshot is everything a store answers, to compare a store before and after a reopen.
type snapshot struct {
	Alerts  []ctc.Alert
	Volumes []ctc.VolumeWindow
	Spreads []ctc.SpreadWindow
	Symbols []string
}

func snap(t *testing.T, s *embedded.Store) snapshot {
	t.Helper()
	ctx := t.Context()
	var sn snapshot
	var err error
	if sn.Alerts, err = s.QueryAlerts(ctx, ctc.AlertQuery{Limit: math.MaxInt}); err != nil {
		t.Fatal(err)
	}
	if sn.Volumes, err = s.Volumes(ctx, "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if sn.Spreads, err = s.Spreads(ctx, "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if sn.Symbols, err = s.Symbols(ctx); err != nil {
		t.Fatal(err)
	}
	return sn
}

func mustOpen(t *testing.T, path string, c *clock) *embedded.Store {
	t.Helper()
	s, err := embedded.Open(path, embedded.WithClock(c.Now), embedded.WithJanitorInterval(0))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

func mustWrite(t *testing.T, s *embedded.Store, b *ctc.Batch) {
	t.Helper()
	if err := s.Write(t.Context(), b); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

func mustClose(t *testing.T, s *embedded.Store) {
	t.Helper()
	if err := s.Close(t.Context()); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func aggregates(now time.Time) *ctc.Batch {
	b := &ctc.Batch{}
	for i := range 20 {
		start := now.Add(-time.Hour).Truncate(time.Minute).Add(time.Duration(i/2) * time.Minute)
		sym, ex := "BTC-USDT", ctc.Binance
		if i%2 == 1 {
			sym, ex = "BTC-USD", ctc.Coinbase
		}
		b.Output.Volumes = append(b.Output.Volumes, ctc.VolumeWindow{
			Symbol: sym, Exchange: ex, WindowStart: start, WindowEnd: start.Add(time.Minute), TradeCount: int64(100 + i),
			TotalVolume: 1e6 + float64(i), AvgPrice: 67_000.5, MaxPrice: 67_100, MinPrice: 66_900, BuyVolume: 6e5, SellVolume: 4e5 + float64(i),
		})
		sstart := now.Add(-time.Hour).Truncate(30 * time.Second).Add(time.Duration(i) * 30 * time.Second)
		b.Output.Spreads = append(b.Output.Spreads, ctc.SpreadWindow{
			Symbol: "BTC", WindowStart: sstart, WindowEnd: sstart.Add(30 * time.Second),
			BinanceVWAP: 67_010.25, CoinbaseVWAP: 67_000, SpreadPct: 0.0153 * float64(i),
		})
	}
	return b
}
