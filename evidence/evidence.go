package evidence

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
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

// series is one market's trades. Once sealed they are in (time, event id) order, with prefix sums
// of price × quantity and quantity, so that any window's VWAP costs two binary searches.
type series struct {
	ticks       []tick
	sealed      bool
	ts          []int64
	cumPQ, cumQ []float64
	first, last int64
}

func (s *series) seal() {
	if s.sealed {
		return
	}
	slices.SortFunc(s.ticks, func(a, b tick) int {
		return cmp.Or(cmp.Compare(a.ts, b.ts), bytes.Compare(a.id[:], b.id[:]),
			cmp.Compare(a.price, b.price), cmp.Compare(a.qty, b.qty))
	})
	// A trade held twice (same time and event id) counts once.
	s.ticks = slices.CompactFunc(s.ticks, func(a, b tick) bool { return a.ts == b.ts && a.id == b.id })
	n := len(s.ticks)
	s.ts = slices.Grow(s.ts[:0], n)
	s.cumPQ = append(slices.Grow(s.cumPQ[:0], n+1), 0)
	s.cumQ = append(slices.Grow(s.cumQ[:0], n+1), 0)
	var pq, q float64
	for i := range s.ticks {
		t := &s.ticks[i]
		s.ts = append(s.ts, t.ts)
		pq += t.price * t.qty
		q += t.qty
		s.cumPQ = append(s.cumPQ, pq)
		s.cumQ = append(s.cumQ, q)
	}
	if n > 0 {
		s.first, s.last = s.ts[0], s.ts[n-1]
	}
	s.sealed = true
}

// vwap returns the VWAP of the trades with lo <= time <= hi, and false when there are none (or
// their VWAP is not a positive finite price).
func (s *series) vwap(lo, hi int64) (float64, bool) {
	i, _ := slices.BinarySearch(s.ts, lo)
	j, found := slices.BinarySearch(s.ts, hi)
	if found { // past every trade at hi
		for j < len(s.ts) && s.ts[j] == hi {
			j++
		}
	}
	if j <= i {
		return 0, false
	}
	q := s.cumQ[j] - s.cumQ[i]
	if !(q > 0) {
		return 0, false
	}
	// A price no quality chain would pass (0, negative, NaN, infinite) makes no VWAP rather
	// than a NaN in every statistic it touches.
	v := (s.cumPQ[j] - s.cumPQ[i]) / q
	if !(v > 0) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

// Trades holds the trades an evaluation reads, by market (exchange, symbol). Add them in any
// order and in as many batches as they come; a trade held twice (same event id and time) counts
// once. The zero value is empty and ready. A Trades is not safe for concurrent use.
type Trades struct {
	m map[marketKey]*series
	n int
}

// Add adds trades. Only the exchange, symbol, price, quantity, time and event id are kept (about
// 64 bytes a trade), so the caller may reuse batch. A trade without a positive finite price and
// quantity, which the quality chain never passes, is counted and left out.
func (t *Trades) Add(batch ...ctc.Trade) {
	if t.m == nil {
		t.m = map[marketKey]*series{}
	}
	var k marketKey
	var s *series
	for i := range batch {
		tr := &batch[i]
		t.n++
		if !(tr.Price > 0 && tr.Quantity > 0) || math.IsInf(tr.Price*tr.Quantity, 0) {
			continue // not a price (the quality chain never passes one): it would poison the sums
		}
		if s == nil || tr.Exchange != k.exchange || tr.Symbol != k.symbol {
			k = marketKey{tr.Exchange, tr.Symbol}
			if s = t.m[k]; s == nil {
				s = &series{}
				t.m[k] = s
			}
		}
		s.ticks = append(s.ticks, tick{ts: tr.Timestamp.UnixNano(), id: tr.EventID, price: tr.Price, qty: tr.Quantity})
		s.sealed = false
	}
}

// Len returns the number of trades added.
func (t *Trades) Len() int { return t.n }

func (t *Trades) series(exchange, symbol string) *series {
	s := t.m[marketKey{exchange, symbol}]
	if s != nil {
		s.seal()
	}
	return s
}

func (t *Trades) span() (first, last int64, ok bool) {
	for _, s := range t.m {
		s.seal()
		if len(s.ts) == 0 {
			continue
		}
		if !ok || s.first < first {
			first = s.first
		}
		if !ok || s.last > last {
			last = s.last
		}
		ok = true
	}
	return first, last, ok
}

// market is what an alert's move is measured on: one (exchange, symbol), or for a spread alert
// its Binance leg against its Coinbase leg.
type market struct {
	a, b *series // pair: the move is a's return minus b's
	pair bool
}

func (m market) valid() bool {
	return m.a != nil && len(m.a.ts) > 0 && (!m.pair || m.b != nil && len(m.b.ts) > 0)
}

// span returns the times at which a (pseudo-)alert can be judged: inside the trades of every leg.
func (m market) span() (lo, hi int64) {
	lo, hi = m.a.first, m.a.last
	if m.pair {
		lo, hi = max(lo, m.b.first), min(hi, m.b.last)
	}
	return lo, hi
}

// moves measures the moves after t, in basis points, into out (NaN: no data).
func (e *evaluator) moves(m market, t int64, out []float64) {
	for i := range out {
		out[i] = math.NaN()
	}
	if !m.valid() {
		return
	}
	ref := int64(e.cfg.Reference)
	a0, ok := m.a.vwap(t-ref, t)
	if !ok {
		return
	}
	var b0 float64
	if m.pair {
		if b0, ok = m.b.vwap(t-ref, t); !ok {
			return
		}
	}
	for i, h := range e.cfg.Horizons {
		c, w := t+int64(h.After), int64(h.HalfWidth)
		ah, ok := m.a.vwap(c-w, c+w)
		if !ok {
			continue
		}
		r := ah/a0 - 1
		if m.pair {
			bh, ok := m.b.vwap(c-w, c+w)
			if !ok {
				continue
			}
			r -= bh/b0 - 1
		}
		out[i] = r * 1e4
	}
}

type evaluator struct {
	cfg    Config
	trades *Trades
	pairs  map[string]detect.Instrument
}

func (e *evaluator) market(a *ctc.Alert) market {
	if a.AlertType == ctc.Spread {
		in, ok := e.pairs[a.Symbol]
		if !ok {
			in = detect.Instrument{Name: a.Symbol, Binance: a.Symbol + "-USDT", Coinbase: a.Symbol + "-USD"}
		}
		return market{a: e.trades.series(ctc.Binance, in.Binance), b: e.trades.series(ctc.Coinbase, in.Coinbase), pair: true}
	}
	return market{a: e.trades.series(a.Exchange, a.Symbol)}
}

// judged is one alert's outcome: its direction, its moves per horizon and its pseudo-alerts'.
type judged struct {
	alert  *ctc.Alert
	dir    Direction
	moves  []float64 // per horizon
	pseudo []float64 // per pseudo-alert, per horizon
}

// Evaluate judges every alert against the trades and returns the report. It is pure and
// deterministic: the same alerts and trades, in any order, give the same report (an alert held
// twice, by alert id, counts once). It never reads the clock.
func Evaluate(cfg Config, alerts []ctc.Alert, trades *Trades) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if trades == nil {
		trades = &Trades{}
	}
	e := &evaluator{cfg: cfg, trades: trades, pairs: map[string]detect.Instrument{}}
	for _, p := range cfg.Pairs {
		e.pairs[p.Name] = p
	}
	sorted := make([]*ctc.Alert, len(alerts))
	for i := range alerts {
		sorted[i] = &alerts[i]
	}
	slices.SortFunc(sorted, func(a, b *ctc.Alert) int {
		return cmp.Or(bytes.Compare(a.AlertID[:], b.AlertID[:]), a.DetectedAt.Compare(b.DetectedAt))
	})
	sorted = slices.CompactFunc(sorted, func(a, b *ctc.Alert) bool { return a.AlertID == b.AlertID })

	nh := len(cfg.Horizons)
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	if !cfg.From.IsZero() {
		lo = cfg.From.UnixNano()
	}
	if !cfg.To.IsZero() {
		hi = cfg.To.UnixNano() - 1
	}
	out := make([]judged, len(sorted))
	for i, a := range sorted {
		j := &out[i]
		j.alert, j.dir = a, cfg.Direction(*a)
		j.moves = make([]float64, nh)
		m := e.market(a)
		e.moves(m, a.DetectedAt.UnixNano(), j.moves)
		if cfg.Baseline == 0 || !m.valid() {
			continue
		}
		first, last := m.span()
		first = max(first+int64(cfg.Reference), lo)
		last = min(last, hi)
		if last < first {
			continue
		}
		rng := rand.New(rand.NewPCG(cfg.Seed, binary.BigEndian.Uint64(a.AlertID[:8])^binary.BigEndian.Uint64(a.AlertID[8:])))
		j.pseudo = make([]float64, cfg.Baseline*nh)
		for k := range cfg.Baseline {
			t := first + rng.Int64N(last-first+1)
			e.moves(m, t, j.pseudo[k*nh:(k+1)*nh])
		}
	}
	r := summarize(cfg, out)
	r.Alerts = len(sorted)
	r.Trades = trades.Len()
	if first, last, ok := trades.span(); ok {
		r.FirstTrade, r.LastTrade = time.Unix(0, first).UTC(), time.Unix(0, last).UTC()
	}
	return r, nil
}
