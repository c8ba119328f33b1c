package evidence

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/detect"
)

// Horizon is one point after an alert at which the price is read: the VWAP of the market's trades
// in [detected_at + After − HalfWidth, detected_at + After + HalfWidth].
type Horizon struct {
	After     time.Duration
	HalfWidth time.Duration
}

// DefaultHorizons returns +1 min (±10 s), +5 min, +15 min and +1 h (±30 s each).
func DefaultHorizons() []Horizon {
	return []Horizon{
		{time.Minute, 10 * time.Second},
		{5 * time.Minute, 30 * time.Second},
		{15 * time.Minute, 30 * time.Second},
		{time.Hour, 30 * time.Second},
	}
}

// Defaults of Config's zero fields.
const (
	DefaultReference  = 10 * time.Second
	DefaultBaseline   = 20
	DefaultConfidence = 0.95
)

// Config says how alerts are judged. The zero value is the default evaluation.
type Config struct {
	// Horizons are the points after detected_at at which the move is read; default
	// DefaultHorizons. At most 16, each After > 0 and HalfWidth >= 0.
	Horizons []Horizon
	// Reference is the width of the entry window: the price an alert is judged from is the VWAP of
	// the market's trades in [detected_at − Reference, detected_at] — what was known when the
	// alert was raised. Default DefaultReference.
	Reference time.Duration
	// Baseline is the number of pseudo-alerts drawn per alert: copies of the alert (type,
	// severity, market, direction) at random times. Default DefaultBaseline; negative for none.
	Baseline int
	// Seed seeds the pseudo-alerts' times: each alert's come from a PCG generator seeded with
	// Seed and the alert's id, so an alert's baseline does not depend on the other alerts.
	Seed uint64
	// From and To, when set, bound the pseudo-alerts' times to [From, To) as well as to the span
	// of their market's trades: set them to the range the alerts were selected from, when the
	// trades extend past it to cover the last alerts' horizons.
	From, To time.Time
	// Confidence is the level of every interval; default DefaultConfidence. In (0, 1).
	Confidence float64
	// Pairs are the symbol pairs spread alerts compare, as detect.SpreadConfig.Instruments: empty
	// is the spread detector's default rule, Binance X-USDT against Coinbase X-USD for
	// instrument X.
	Pairs []detect.Instrument
	// Direction gives an alert's direction; default DirectionOf. A type is judged signed when any
	// of its alerts has a direction, absolutely otherwise.
	Direction func(ctc.Alert) Direction
}

func (c Config) withDefaults() Config {
	if len(c.Horizons) == 0 {
		c.Horizons = DefaultHorizons()
	}
	c.Reference = cmp.Or(c.Reference, DefaultReference)
	if c.Baseline == 0 {
		c.Baseline = DefaultBaseline
	}
	c.Baseline = max(c.Baseline, 0)
	c.Confidence = cmp.Or(c.Confidence, DefaultConfidence)
	if c.Direction == nil {
		c.Direction = DirectionOf
	}
	return c
}

// Span is the range of trade times an evaluation of alerts detected from first to last reads:
// from the entry window of the first (first − Reference) to the widest horizon of the last
// (last + the largest After + HalfWidth), both inclusive. A caller that loads trades from a store
// loads this range. Pseudo-alerts are drawn across the trades given, so set From and To to first
// and last as well: then trades outside the range change the Report only for a market with no
// trade in the range's first Reference (its pseudo-alerts start a Reference after its first
// trade given). Package fromlake does both.
func (c Config) Span(first, last time.Time) (from, to time.Time) {
	c = c.withDefaults()
	var reach time.Duration
	for _, h := range c.Horizons {
		reach = max(reach, h.After+h.HalfWidth)
	}
	return first.Add(-c.Reference), last.Add(reach)
}

// Validate reports the first setting that cannot work, after defaults are applied.
func (c Config) Validate() error {
	c = c.withDefaults()
	if len(c.Horizons) > 16 {
		return fmt.Errorf("evidence: at most 16 horizons, got %d", len(c.Horizons))
	}
	for _, h := range c.Horizons {
		if h.After <= 0 || h.HalfWidth < 0 {
			return fmt.Errorf("evidence: a horizon needs After > 0 and HalfWidth >= 0, got %v ± %v", h.After, h.HalfWidth)
		}
	}
	if c.Reference < 0 {
		return fmt.Errorf("evidence: Reference must be >= 0, got %v", c.Reference)
	}
	if c.Baseline > 1000 {
		return fmt.Errorf("evidence: Baseline must be at most 1000 pseudo-alerts per alert, got %d", c.Baseline)
	}
	if !(c.Confidence > 0 && c.Confidence < 1) {
		return fmt.Errorf("evidence: Confidence must be in (0, 1), got %v", c.Confidence)
	}
	if !c.From.IsZero() && !c.To.IsZero() && !c.From.Before(c.To) {
		return fmt.Errorf("evidence: From (%v) must be before To (%v)", c.From, c.To)
	}
	return (detect.SpreadConfig{Instruments: c.Pairs}).Validate()
}

type marketKey struct{ exchange, symbol string }

type tick struct {
	ts         int64
	id         [16]byte
	price, qty float64
}

// Trades holds the trades an evaluation reads, by market (exchange, symbol), in memory: a Plan fed
// from memory. Add them in any order and in as many batches as they come; a trade held twice
// (same event id and time) counts once. The zero value is empty and ready. A Trades is not safe
// for concurrent use.
type Trades struct {
	m map[marketKey]*ticks
	n int
}

type ticks struct {
	t      []tick
	sorted bool
}

// Add adds trades. Only the exchange, symbol, price, quantity, time and event id are kept (about
// 40 bytes a trade), so the caller may reuse batch. A trade without a positive finite price and
// quantity, which the quality chain never passes, is counted and left out.
func (t *Trades) Add(batch ...ctc.Trade) {
	if t.m == nil {
		t.m = map[marketKey]*ticks{}
	}
	var k marketKey
	var s *ticks
	for i := range batch {
		tr := &batch[i]
		t.n++
		if !valid(tr.Price, tr.Quantity) {
			continue // not a price (the quality chain never passes one): it would poison the sums
		}
		if s == nil || tr.Exchange != k.exchange || tr.Symbol != k.symbol {
			k = marketKey{tr.Exchange, tr.Symbol}
			if s = t.m[k]; s == nil {
				s = &ticks{}
				t.m[k] = s
			}
		}
		s.t = append(s.t, tick{ts: tr.Timestamp.UnixNano(), id: tr.EventID, price: tr.Price, qty: tr.Quantity})
		s.sorted = false
	}
}

// Len returns the number of trades added.
func (t *Trades) Len() int { return t.n }

// distinct sorts a market's trades by (time, event id) and keeps one of a trade held twice.
func (s *ticks) distinct() []tick {
	if !s.sorted {
		slices.SortFunc(s.t, func(a, b tick) int {
			return cmp.Or(cmp.Compare(a.ts, b.ts), bytes.Compare(a.id[:], b.id[:]),
				cmp.Compare(a.price, b.price), cmp.Compare(a.qty, b.qty))
		})
		s.t = slices.CompactFunc(s.t, func(a, b tick) bool { return a.ts == b.ts && a.id == b.id })
		s.sorted = true
	}
	return s.t
}

// judged is one alert's outcome: its direction, its moves per horizon and its pseudo-alerts'.
type judged struct {
	alert  *ctc.Alert
	dir    Direction
	moves  []float64 // per horizon
	pseudo []float64 // per pseudo-alert, per horizon
}

// Evaluate judges every alert against the trades and returns the report: a Plan fed twice from
// trades. It is pure and deterministic: the same alerts and trades, in any order, give the same
// report (an alert or a trade held twice counts once), to the last bit. It never reads the clock.
func Evaluate(cfg Config, alerts []ctc.Alert, trades *Trades) (*Report, error) {
	p, err := NewPlan(cfg, alerts)
	if err != nil {
		return nil, err
	}
	if trades == nil {
		trades = &Trades{}
	}
	for k, s := range trades.m {
		ts := s.distinct()
		if len(ts) == 0 {
			continue
		}
		m := p.market(k, true)
		m.n, m.first, m.last = len(ts), ts[0].ts, ts[len(ts)-1].ts
	}
	p.Seal()
	for k, s := range trades.m {
		m := p.market(k, false)
		if m == nil {
			continue
		}
		for i := range s.t {
			tk := &s.t[i]
			m.add(tk.ts, float64(tk.price*tk.qty), tk.qty)
		}
	}
	// Every trade added, duplicates and bad prices included, as Trades.Len says; both passes were
	// the same by construction.
	p.n, p.n2 = trades.Len(), trades.Len()
	return p.Report()
}
