package detect

import (
	"cmp"
	"fmt"
	"time"

	"github.com/coattailcapital/ctc"
)

// WhaleConfig sets the quote-volume thresholds of a whale trade. Zero fields take the defaults of
// DESIGN §4: $100,000 medium, $500,000 high, $1,000,000 critical.
type WhaleConfig struct {
	Medium, High, Critical float64
}

func (c WhaleConfig) withDefaults() WhaleConfig {
	c.Medium = cmp.Or(c.Medium, 100_000)
	c.High = cmp.Or(c.High, 500_000)
	c.Critical = cmp.Or(c.Critical, 1_000_000)
	return c
}

// Validate reports thresholds that are not increasing.
func (c WhaleConfig) Validate() error {
	c = c.withDefaults()
	if !(c.Medium > 0 && c.Medium <= c.High && c.High <= c.Critical) {
		return fmt.Errorf("whale: thresholds must satisfy 0 < medium <= high <= critical, got %g, %g, %g", c.Medium, c.High, c.Critical)
	}
	return nil
}

// Whale raises a whale alert for every trade whose quote volume exceeds a threshold, at the trade's
// own time. It keeps no state and has no windows, so lateness does not apply to it.
type Whale struct {
	cfg WhaleConfig
}

var (
	_ ctc.Detector    = (*Whale)(nil)
	_ ctc.Snapshotter = (*Whale)(nil)
)

// NewWhale returns a whale detector. Invalid thresholds fall back to the defaults; call
// WhaleConfig.Validate first to reject them instead.
func NewWhale(cfg WhaleConfig) *Whale {
	if cfg.Validate() != nil {
		cfg = WhaleConfig{}
	}
	return &Whale{cfg: cfg.withDefaults()}
}

// Name returns "whale".
func (w *Whale) Name() string { return string(ctc.Whale) }

// Observe raises an alert when the trade is a whale.
func (w *Whale) Observe(t *ctc.Trade, out *ctc.Output) {
	qv := t.QuoteVolume
	sev, threshold, ok := grade(qv, rung{w.cfg.Critical, ctc.Critical}, rung{w.cfg.High, ctc.High}, rung{w.cfg.Medium, ctc.Medium})
	if !ok {
		return
	}
	at := t.Timestamp.UTC()
	id := ctc.NewAlertID(ctc.Whale, t.Exchange, t.Symbol, t.EventID.String())
	out.Alerts = append(out.Alerts, ctc.Alert{
		AlertID:        id,
		AlertType:      ctc.Whale,
		Symbol:         t.Symbol,
		Exchange:       t.Exchange,
		Severity:       sev,
		ThresholdValue: threshold,
		ActualValue:    qv,
		WindowStart:    at,
		DetectedAt:     at,
		Message: fmt.Sprintf("%s on %s: %s %s of %g at %s (over %s)",
			t.Symbol, t.Exchange, money(qv), t.Side, t.Quantity, price(t.Price), money(threshold)),
		TTLEpoch: ttl(at),
	})
	out.Whales = append(out.Whales, ctc.WhaleTrade{
		AlertID: id, Severity: sev, ThresholdValue: threshold, DetectedAt: at, Trade: *t,
	})
}

// Advance does nothing: whales are decided per trade.
func (w *Whale) Advance(time.Time, *ctc.Output) {}

// Snapshot returns an empty snapshot: the detector is stateless.
func (w *Whale) Snapshot() ([]byte, error) { return []byte{}, nil }

// Restore accepts the empty snapshot.
func (w *Whale) Restore(b []byte) error {
	if len(b) != 0 {
		return fmt.Errorf("whale: restore: expected an empty snapshot, got %d bytes", len(b))
	}
	return nil
}
