package detect

import (
	"cmp"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/window"
)

// Instrument maps one asset's symbols on the two exchanges the spread is measured between.
type Instrument struct {
	// Name is what spread rows and alerts carry as their symbol, e.g. BTC.
	Name     string
	Binance  string // e.g. BTC-USDT
	Coinbase string // e.g. BTC-USD
}

// SpreadConfig configures the cross-exchange spread detector. Zero fields take the defaults of
// DESIGN §4.
type SpreadConfig struct {
	// Window is the tumbling window size; default 30 s.
	Window time.Duration
	// Lateness is how far behind the newest trade a trade may arrive and still count; default 15 s.
	Lateness time.Duration
	// Instruments lists the symbol pairs to join. Empty means the default rule: Binance X-USDT is
	// joined with Coinbase X-USD as instrument X (treating USDT ≈ USD).
	Instruments []Instrument
	// Low, Medium and High are the |spread %| thresholds; defaults 0.5, 1 and 2.
	Low, Medium, High float64
}

func (c SpreadConfig) withDefaults() SpreadConfig {
	c.Window = cmp.Or(c.Window, 30*time.Second)
	c.Lateness = cmp.Or(c.Lateness, 15*time.Second)
	c.Low = cmp.Or(c.Low, 0.5)
	c.Medium = cmp.Or(c.Medium, 1)
	c.High = cmp.Or(c.High, 2)
	return c
}

// Validate reports the first setting that cannot work, after defaults are applied.
func (c SpreadConfig) Validate() error {
	c = c.withDefaults()
	if err := (window.Spec{Size: c.Window, Lateness: c.Lateness}).Validate(); err != nil {
		return fmt.Errorf("spread: %w", err)
	}
	if !(c.Low > 0 && c.Low <= c.Medium && c.Medium <= c.High) {
		return fmt.Errorf("spread: thresholds must satisfy 0 < low <= medium <= high, got %g, %g, %g", c.Low, c.Medium, c.High)
	}
	seen := map[string]bool{}
	for _, in := range c.Instruments {
		if in.Name == "" || in.Binance == "" || in.Coinbase == "" {
			return fmt.Errorf("spread: instrument %+v needs a name and both symbols", in)
		}
		for _, k := range []string{"n|" + in.Name, "b|" + in.Binance, "c|" + in.Coinbase} {
			if seen[k] {
				return fmt.Errorf("spread: %s appears in two instruments", k[2:])
			}
			seen[k] = true
		}
	}
	return nil
}

type leg struct {
	PQ, Qty window.Sum
}

type spreadAcc struct {
	Binance, Coinbase leg
}

// Spread joins the Binance and Coinbase VWAPs of each instrument per window and emits every joined
// window as a SpreadWindow; a spread beyond Low percent is an alert. Windows in which only one
// exchange traded have no spread and emit nothing.
type Spread struct {
	cfg      SpreadConfig
	win      *window.Tumbling[string, spreadAcc]
	binance  map[string]string // symbol → instrument, when configured
	coinbase map[string]string
}

var (
	_ ctc.Detector    = (*Spread)(nil)
	_ ctc.Snapshotter = (*Spread)(nil)
)

// SpreadExchange is what spread alerts carry as their exchange: the pair they compare.
const SpreadExchange = "binance-coinbase"

// NewSpread returns a spread detector.
func NewSpread(cfg SpreadConfig) (*Spread, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	w, err := window.NewTumbling[string, spreadAcc](window.Spec{Size: cfg.Window, Lateness: cfg.Lateness}, strings.Compare)
	if err != nil {
		return nil, err
	}
	s := &Spread{cfg: cfg, win: w}
	if len(cfg.Instruments) > 0 {
		s.binance, s.coinbase = map[string]string{}, map[string]string{}
		for _, in := range cfg.Instruments {
			s.binance[in.Binance] = in.Name
			s.coinbase[in.Coinbase] = in.Name
		}
	}
	return s, nil
}

// InstrumentMap returns the instrument rule of the pairs the configuration joins, for the producer's
// partition key, the consumer and the API (ctc.Instruments): nil under the default rule, whose
// names are ctc.InstrumentOf's.
func (c SpreadConfig) InstrumentMap() ctc.Instruments {
	if len(c.Instruments) == 0 {
		return nil
	}
	m := ctc.Instruments{}
	for _, in := range c.Instruments {
		m[in.Binance] = in.Name
		m[in.Coinbase] = in.Name
	}
	return m
}

// Name returns "spread".
func (s *Spread) Name() string { return string(ctc.Spread) }

// instrument returns the instrument a trade belongs to, or "" when it is not part of any pair.
func (s *Spread) instrument(t *ctc.Trade) string {
	switch t.Exchange {
	case ctc.Binance:
		if s.binance != nil {
			return s.binance[t.Symbol]
		}
		// The default rule joins Binance X-USDT with Coinbase X-USD; the instrument is named by
		// the one rule every part of ctc uses.
		if strings.HasSuffix(t.Symbol, "-USDT") {
			return ctc.InstrumentOf(t.Symbol)
		}
	case ctc.Coinbase:
		if s.coinbase != nil {
			return s.coinbase[t.Symbol]
		}
		if strings.HasSuffix(t.Symbol, "-USD") {
			return ctc.InstrumentOf(t.Symbol)
		}
	}
	return ""
}

// Observe adds the trade to its instrument's window. Trades of other symbols still move event time
// forward, since the watermark is the newest time of every trade that passed quality.
func (s *Spread) Observe(t *ctc.Trade, out *ctc.Output) {
	in := s.instrument(t)
	ts := t.Timestamp.UnixNano()
	if in == "" {
		s.win.Advance(ts)
		s.fire(out)
		return
	}
	acc := s.win.Add(ts, in)
	if acc == nil {
		out.Late = append(out.Late, ctc.LateTrade{Detector: s.Name(), Trade: *t})
		return
	}
	l := &acc.Binance
	if t.Exchange == ctc.Coinbase {
		l = &acc.Coinbase
	}
	l.PQ.Add(t.Price * t.Quantity)
	l.Qty.Add(t.Quantity)
	s.fire(out)
}

// Advance fires the windows the event time t closes.
func (s *Spread) Advance(t time.Time, out *ctc.Output) {
	s.win.Advance(unixNano(t))
	s.fire(out)
}

func (s *Spread) fire(out *ctc.Output) {
	for _, p := range s.win.Ready() {
		s.close(p, out)
	}
}

func (s *Spread) close(p window.Pane[string, spreadAcc], out *ctc.Output) {
	if p.Acc.Binance.Qty.IsZero() || p.Acc.Coinbase.Qty.IsZero() {
		return
	}
	b := p.Acc.Binance.PQ.Float64() / p.Acc.Binance.Qty.Float64()
	c := p.Acc.Coinbase.PQ.Float64() / p.Acc.Coinbase.Qty.Float64()
	pct := (b - c) / c * 100
	start, end := time.Unix(0, p.Start).UTC(), time.Unix(0, p.End).UTC()
	out.Spreads = append(out.Spreads, ctc.SpreadWindow{
		Symbol: p.Key, WindowStart: start, WindowEnd: end,
		BinanceVWAP: b, CoinbaseVWAP: c, SpreadPct: pct,
	})
	sev, threshold, ok := grade(math.Abs(pct), rung{s.cfg.High, ctc.High}, rung{s.cfg.Medium, ctc.Medium}, rung{s.cfg.Low, ctc.Low})
	if !ok {
		return
	}
	out.Alerts = append(out.Alerts, ctc.Alert{
		AlertID:        ctc.NewAlertID(ctc.Spread, SpreadExchange, p.Key, ctc.WindowKey(start)),
		AlertType:      ctc.Spread,
		Symbol:         p.Key,
		Exchange:       SpreadExchange,
		Severity:       sev,
		ThresholdValue: threshold,
		ActualValue:    pct,
		WindowStart:    start,
		DetectedAt:     end,
		Message: fmt.Sprintf("%s: Binance VWAP %s vs Coinbase VWAP %s, spread %+.3f%% over %s",
			p.Key, price(b), price(c), pct, s.cfg.Window),
		TTLEpoch: ttl(end),
	})
}

// Snapshot saves the open windows.
func (s *Spread) Snapshot() ([]byte, error) { return s.win.MarshalBinary() }

// Restore replaces the open windows with a snapshot's.
func (s *Spread) Restore(b []byte) error {
	if err := s.win.UnmarshalBinary(b); err != nil {
		return fmt.Errorf("spread: restore: %w", err)
	}
	return nil
}
