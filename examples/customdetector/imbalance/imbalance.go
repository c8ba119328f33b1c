// Package imbalance is a user-written detector, the template for your own: buy or sell pressure
// per (symbol, exchange) window. examples/customdetector runs it on a laptop beside the built-in
// detectors; examples/customdetector/lambda deploys it as the stream Lambda.
package imbalance

import (
	"bytes"
	"cmp"
	"encoding/gob"
	"fmt"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/window"
)

// BuyPressure is the alert type of the Imbalance detector: a user-defined type beside the built-in ones.
const BuyPressure ctc.AlertType = "buy_pressure"

// Imbalance raises a buy_pressure alert when one side takes more than Share of a (symbol,
// exchange) window's quote volume, in windows with at least MinTrades trades. It is a complete
// user detector: event-time windows from the window package, late trades reported, state that
// snapshots, and deterministic alert ids.
type Imbalance struct {
	Share     float64
	MinTrades int64
	win       *window.Tumbling[key, sides]
}

type key struct{ Symbol, Exchange string }

type sides struct {
	N         int64
	Buy, Sell window.Sum // exact sums: the result does not depend on arrival order
}

var (
	_ ctc.Detector    = (*Imbalance)(nil)
	_ ctc.Snapshotter = (*Imbalance)(nil)
)

// New returns the detector over 60 s windows with 30 s of allowed lateness.
func New(share float64, minTrades int64) (*Imbalance, error) {
	if !(share > 0.5 && share < 1) {
		return nil, fmt.Errorf("share must be in (0.5, 1), got %g", share)
	}
	w, err := window.NewTumbling[key, sides](window.Spec{Size: time.Minute, Lateness: 30 * time.Second},
		func(a, b key) int {
			return cmp.Or(cmp.Compare(a.Symbol, b.Symbol), cmp.Compare(a.Exchange, b.Exchange))
		})
	if err != nil {
		return nil, err
	}
	return &Imbalance{Share: share, MinTrades: minTrades, win: w}, nil
}

// Name implements ctc.Detector.
func (d *Imbalance) Name() string { return string(BuyPressure) }

// Observe implements ctc.Detector.
func (d *Imbalance) Observe(t *ctc.Trade, out *ctc.Output) {
	acc := d.win.Add(t.Timestamp.UnixNano(), key{t.Symbol, t.Exchange})
	if acc == nil {
		out.Late = append(out.Late, ctc.LateTrade{Detector: d.Name(), Trade: *t})
		return
	}
	acc.N++
	if t.Side == ctc.Buy {
		acc.Buy.Add(t.QuoteVolume)
	} else {
		acc.Sell.Add(t.QuoteVolume)
	}
	d.emit(out)
}

// Advance implements ctc.Detector.
func (d *Imbalance) Advance(t time.Time, out *ctc.Output) {
	ts := t.UnixNano()
	if t.Equal(ctc.EndOfTime) || t.After(ctc.EndOfTime) {
		ts = ctc.EndOfTime.UnixNano()
	}
	d.win.Advance(ts)
	d.emit(out)
}

func (d *Imbalance) emit(out *ctc.Output) {
	for _, p := range d.win.Ready() {
		buy, sell := p.Acc.Buy.Float64(), p.Acc.Sell.Float64()
		if p.Acc.N < d.MinTrades || buy+sell == 0 {
			continue
		}
		share := buy / (buy + sell)
		side := "buy"
		if share < 0.5 {
			share, side = 1-share, "sell"
		}
		if share <= d.Share {
			continue
		}
		start, end := time.Unix(0, p.Start).UTC(), time.Unix(0, p.End).UTC()
		out.Alerts = append(out.Alerts, ctc.Alert{
			AlertID:        ctc.NewAlertID(BuyPressure, p.Key.Exchange, p.Key.Symbol, ctc.WindowKey(start)),
			AlertType:      BuyPressure,
			Symbol:         p.Key.Symbol,
			Exchange:       p.Key.Exchange,
			Severity:       ctc.Low,
			ThresholdValue: d.Share,
			ActualValue:    share,
			WindowStart:    start,
			DetectedAt:     end,
			Message: fmt.Sprintf("%s on %s: %.0f%% of %d trades' volume was %s-side",
				p.Key.Symbol, p.Key.Exchange, share*100, p.Acc.N, side),
			// TTLEpoch and EmittedAt are left to the pipeline.
		})
	}
}

// Snapshot implements ctc.Snapshotter.
func (d *Imbalance) Snapshot() ([]byte, error) {
	w, err := d.win.MarshalBinary()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	err = gob.NewEncoder(&b).Encode(struct {
		Share     float64
		MinTrades int64
		Windows   []byte
	}{d.Share, d.MinTrades, w})
	return b.Bytes(), err
}

// Restore implements ctc.Snapshotter.
func (d *Imbalance) Restore(b []byte) error {
	var s struct {
		Share     float64
		MinTrades int64
		Windows   []byte
	}
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&s); err != nil {
		return fmt.Errorf("imbalance: restore: %w", err)
	}
	d.Share, d.MinTrades = s.Share, s.MinTrades
	return d.win.UnmarshalBinary(s.Windows)
}
