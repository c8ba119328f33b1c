package embedded_test

import (
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/coattailcapital/ctc"
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
