package imbalance

import (
	"cmp"
	"slices"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/ctctest"
)

// imbalanceOracle computes the detector's alerts from all trades at once: group by window and key,
// then apply the rule. Written with plain loops, independently of the window package.
func imbalanceOracle(share float64, minTrades int64) func([]ctc.Trade) ctc.Output {
	return func(trades []ctc.Trade) ctc.Output {
		type k struct {
			sym, ex string
			start   int64
		}
		type agg struct {
			n         int64
			buy, sell float64
		}
		groups := map[k]*agg{}
		for _, t := range trades {
			start := t.Timestamp.Truncate(time.Minute).UnixNano()
			g := groups[k{t.Symbol, t.Exchange, start}]
			if g == nil {
				g = &agg{}
				groups[k{t.Symbol, t.Exchange, start}] = g
			}
			g.n++
			if t.Side == ctc.Buy {
				g.buy += t.QuoteVolume
			} else {
				g.sell += t.QuoteVolume
			}
		}
		keys := make([]k, 0, len(groups))
		for key := range groups {
			keys = append(keys, key)
		}
		slices.SortFunc(keys, func(a, b k) int { return cmp.Compare(a.start, b.start) })
		var out ctc.Output
		for _, key := range keys {
			g := groups[key]
			s := g.buy / (g.buy + g.sell)
			if g.n < minTrades || max(s, 1-s) <= share {
				continue
			}
			start := time.Unix(0, key.start).UTC()
			out.Alerts = append(out.Alerts, ctc.Alert{
				AlertID:   ctc.NewAlertID(BuyPressure, key.ex, key.sym, ctc.WindowKey(start)),
				AlertType: BuyPressure, Symbol: key.sym, Exchange: key.ex, Severity: ctc.Low,
				ThresholdValue: share, ActualValue: max(s, 1-s), WindowStart: start, DetectedAt: start.Add(time.Minute),
			})
		}
		return out
	}
}

func TestImbalanceObeysTheDetectorLaws(t *testing.T) {
	const share, minTrades = 0.6, 3
	ctctest.TestDetector(t, ctctest.DetectorSpec{
		New: func() ctc.Detector {
			d, err := New(share, minTrades)
			if err != nil {
				t.Fatal(err)
			}
			return noMessages{d}
		},
		Lateness: 30 * time.Second,
		Oracle:   imbalanceOracle(share, minTrades),
	})
}

// noMessages blanks alert messages, which the oracle does not write.
type noMessages struct{ *Imbalance }

func (d noMessages) Observe(t *ctc.Trade, out *ctc.Output) {
	n := len(out.Alerts)
	d.Imbalance.Observe(t, out)
	for i := range out.Alerts[n:] {
		out.Alerts[n+i].Message = ""
	}
}

func (d noMessages) Advance(t time.Time, out *ctc.Output) {
	n := len(out.Alerts)
	d.Imbalance.Advance(t, out)
	for i := range out.Alerts[n:] {
		out.Alerts[n+i].Message = ""
	}
}

func TestNewImbalanceRejectsShares(t *testing.T) {
	for _, s := range []float64{0.5, 1, -1} {
		if _, err := New(s, 1); err == nil {
			t.Errorf("share %g: want an error", s)
		}
	}
}
