package evidence

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/detect"
)

// A Plan is an evaluation of alerts over trades that arrive in two passes, each in any order and
// in any batches, in memory bounded by the number of alerts and markets, never by the number of
// trades:
//
//	p, err := evidence.NewPlan(cfg, alerts)
//	for batch := range firstPass {
//		p.Observe(batch...) // each market's first and last trade, the count
//	}
//	p.Seal() // draws the pseudo-alerts: every window to read is now known
//	for batch := range secondPass {
//		p.Accumulate(batch...) // each trade's price × quantity and quantity into its window bucket
//	}
//	report, err := p.Report()
//
// Every quantity a report needs is the VWAP of one market over a closed time window; the
// pseudo-alerts' times depend only on the alerts, the Config and each market's first and last
// trade, which the first pass finds. Seal collects every window's bounds per market; the second
// pass sums each trade into the bucket between two consecutive bounds, by binary search, and the
// buckets' prefix sums give every window's sums. Memory is O(markets + alerts × Baseline ×
// horizons); time O(trades × log(windows)).
//
// Both passes must give the same trades, each exactly once: a Plan cannot remember every trade
// to drop one delivered twice, as Trades does. Report fails when the passes differ (by count or
// by an order-independent checksum). sink/iceberg's raw_trades holds each trade once when it is
// written by checkpointing pipelines (a re-run checkpoint's rows are dropped, not committed twice);
// trades loaded into it twice by two runs are counted twice.
//
// Sums are exact: each window's sums of price × quantity and of quantity are the exact sums of
// its trades' float64 products and quantities, rounded once, so the report does not depend on
// the order or batching of either pass. Evaluate is a Plan fed from a Trades, and gives the same
// report, to the last bit, as a Plan fed the same distinct trades.
//
// A Plan is not safe for concurrent use. A misuse (Observe after Seal, Accumulate before it) is
// reported by Report.
type Plan struct {
	cfg     Config
	pairs   map[string]detect.Instrument
	alerts  []*ctc.Alert // by alert id, each once
	markets map[marketKey]*mstate

	sealed  bool
	judged  []judged
	times   [][]int64 // per alert: its time, then its pseudo-alerts'
	windows int

	n, n2     int    // trades observed in the first pass, accumulated in the second
	sum, sum2 uint64 // their checksums
	err       error

	// the last market looked up, since batches come a market at a time
	lastKey marketKey
	last    *mstate
}

// mstate is one market: its span from the first pass, then its window bounds and bucket sums.
type mstate struct {
	n           int // valid trades
	first, last int64
	// cuts are the sorted distinct bounds of the windows read on the market: every window's lo
	// and hi + 1. Bucket k sums the trades with cuts[k] <= time < cuts[k+1] (the last one has no
	// upper bound); trades before cuts[0] are in no window.
	cuts        []int64
	pq, q       []expansion // per bucket
	slab        []float64   // where buckets' partials start, a few at a time
	hint        int         // the last bucket hit
	prefix      bool        // pqPre and qPre are computed (and the buckets dropped)
	pqPre, qPre prefixes
	scratch     expansion
}

// prefixes are the exact sums of the buckets before each cut, one allocation for all:
// the k-th is v[off[k]:off[k+1]].
type prefixes struct {
	v   []float64
	off []int32
}

func (p *prefixes) at(k int) expansion { return p.v[p.off[k]:p.off[k+1]:p.off[k+1]] }

// NewPlan returns the plan of judging alerts with cfg. An alert held twice (by alert id) counts
// once.
func NewPlan(cfg Config, alerts []ctc.Alert) (*Plan, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	p := &Plan{cfg: cfg, pairs: map[string]detect.Instrument{}, markets: map[marketKey]*mstate{}}
	for _, in := range cfg.Pairs {
		p.pairs[in.Name] = in
	}
	sorted := make([]*ctc.Alert, len(alerts))
	for i := range alerts {
		a := alerts[i]
		sorted[i] = &a
	}
	slices.SortFunc(sorted, func(a, b *ctc.Alert) int {
		return cmp.Or(bytes.Compare(a.AlertID[:], b.AlertID[:]), a.DetectedAt.Compare(b.DetectedAt))
	})
	p.alerts = slices.CompactFunc(sorted, func(a, b *ctc.Alert) bool { return a.AlertID == b.AlertID })
	return p, nil
}

func (p *Plan) market(k marketKey, create bool) *mstate {
	if p.last != nil && k == p.lastKey {
		return p.last
	}
	s := p.markets[k]
	if s == nil {
		if !create {
			return nil
		}
		s = &mstate{}
		p.markets[k] = s
	}
	p.lastKey, p.last = k, s
	return s
}

// valid is the rule of Trades.Add: a trade without a positive finite price and quantity, which
// the quality chain never passes, is counted and left out.
func valid(price, qty float64) bool {
	return price > 0 && qty > 0 && !math.IsInf(price*qty, 0)
}

// checksum mixes what identifies a trade's contribution, so that two passes over different
// trades are told apart whatever their order (a sum of mixes).
func checksum(id [16]byte, ts int64, price, qty float64) uint64 {
	h := mix(binary.LittleEndian.Uint64(id[:8]) ^ mix(binary.LittleEndian.Uint64(id[8:])^uint64(ts)))
	return mix(h ^ mix(math.Float64bits(price)^mix(math.Float64bits(qty))))
}

// tally counts t in a pass (n) and adds it to the pass's checksum, which Report compares
// between the passes; it returns t's time.
func tally(t *ctc.Trade, n *int, sum *uint64) int64 {
	ts := t.Timestamp.UnixNano()
	*n++
	*sum += checksum(t.EventID, ts, t.Price, t.Quantity)
	return ts
}

// mix is splitmix64's finalizer.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

func (p *Plan) fail(err error) {
	if p.err == nil {
		p.err = err
	}
}

// Observe reads trades of the first pass: each market's first and last trade time, and the
// number of trades (Report.Trades). Call it before Seal.
func (p *Plan) Observe(batch ...ctc.Trade) {
	if p.sealed {
		p.fail(errors.New("evidence: Observe after Seal: the first pass must end before Seal"))
		return
	}
	for i := range batch {
		t := &batch[i]
		ts := tally(t, &p.n, &p.sum)
		if valid(t.Price, t.Quantity) {
			p.market(marketKey{t.Exchange, t.Symbol}, true).observe(ts)
		}
	}
}

func (s *mstate) observe(ts int64) {
	if s.n == 0 || ts < s.first {
		s.first = ts
	}
	if s.n == 0 || ts > s.last {
		s.last = ts
	}
	s.n++
}

// Seal ends the first pass: it draws every alert's pseudo-alerts and fixes the windows the second
// pass sums into. Calling it again does nothing.
func (p *Plan) Seal() {
	if p.sealed {
		return
	}
	p.sealed = true
	cfg := p.cfg
	nh := len(cfg.Horizons)
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	if !cfg.From.IsZero() {
		lo = cfg.From.UnixNano()
	}
	if !cfg.To.IsZero() {
		hi = cfg.To.UnixNano() - 1
	}
	p.judged = make([]judged, len(p.alerts))
	p.times = make([][]int64, len(p.alerts))
	for i, a := range p.alerts {
		j := &p.judged[i]
		j.alert, j.dir = a, cfg.Direction(*a)
		j.moves = make([]float64, nh)
		m := p.marketOf(a)
		if !m.valid() {
			continue
		}
		times := []int64{a.DetectedAt.UnixNano()}
		first, last := m.span()
		first = max(first+int64(cfg.Reference), lo)
		last = min(last, hi)
		if cfg.Baseline > 0 && last >= first {
			rng := rand.New(rand.NewPCG(cfg.Seed, binary.BigEndian.Uint64(a.AlertID[:8])^binary.BigEndian.Uint64(a.AlertID[8:])))
			j.pseudo = make([]float64, cfg.Baseline*nh)
			for range cfg.Baseline {
				times = append(times, first+rng.Int64N(last-first+1))
			}
		}
		p.times[i] = times
		for _, t := range times {
			p.eachWindow(t, func(lo, hi int64) {
				for _, s := range m.legs() {
					s.cuts = append(s.cuts, lo)
					if hi != math.MaxInt64 {
						s.cuts = append(s.cuts, hi+1)
					}
				}
				p.windows++
			})
		}
	}
	for _, s := range p.markets {
		slices.Sort(s.cuts)
		s.cuts = slices.Clip(slices.Compact(s.cuts))
		s.pq = make([]expansion, len(s.cuts))
		s.q = make([]expansion, len(s.cuts))
	}
}

// eachWindow calls f with the entry window of an alert at t, then each horizon's.
func (p *Plan) eachWindow(t int64, f func(lo, hi int64)) {
	f(t-int64(p.cfg.Reference), t)
	for _, h := range p.cfg.Horizons {
		c, w := t+int64(h.After), int64(h.HalfWidth)
		f(c-w, c+w)
	}
}

// Windows returns the number of windows Seal fixed (each on one or two markets); with none, the
// second pass can be skipped.
func (p *Plan) Windows() int { return p.windows }

// Accumulate reads trades of the second pass, which must be the first pass's trades again, in
// any order and batches. Call it after Seal.
func (p *Plan) Accumulate(batch ...ctc.Trade) {
	if !p.sealed {
		p.fail(errors.New("evidence: Accumulate before Seal: call Seal when the first pass (Observe) is done"))
		return
	}
	for i := range batch {
		t := &batch[i]
		ts := tally(t, &p.n2, &p.sum2)
		if !valid(t.Price, t.Quantity) {
			continue
		}
		s := p.market(marketKey{t.Exchange, t.Symbol}, false)
		if s == nil || ts < s.first || ts > s.last {
			p.fail(fmt.Errorf("evidence: the second pass has a trade the first did not (%s %s at %s): give both passes the same trades",
				t.Exchange, t.Symbol, t.Timestamp.UTC().Format(time.RFC3339Nano)))
			continue
		}
		s.add(ts, float64(t.Price*t.Quantity), t.Quantity)
	}
}

// add sums a trade into its bucket. pq is rounded before (an explicit conversion: no fused
// multiply-add), so that every architecture sums the same products.
func (s *mstate) add(ts int64, pq, q float64) {
	n := len(s.cuts)
	if n == 0 || ts < s.cuts[0] {
		return
	}
	k := s.hint
	if !(s.cuts[k] <= ts && (k+1 == n || ts < s.cuts[k+1])) {
		var at bool
		if k, at = slices.BinarySearch(s.cuts, ts); !at {
			k-- // the bucket of the last cut before ts
		}
		s.hint = k
	}
	if s.q[k] == nil {
		// Most sums take two or three partials: two of four, carved from a slab, save an
		// allocation per bucket (a sum that needs more grows out of its own).
		if len(s.slab) < 8 {
			s.slab = make([]float64, 4096)
		}
		s.pq[k], s.q[k], s.slab = s.slab[0:0:4], s.slab[4:4:8], s.slab[8:]
	}
	s.pq[k] = s.pq[k].add(pq)
	s.q[k] = s.q[k].add(q)
}

// prefixSums turns the bucket sums into prefix sums, once.
func (s *mstate) prefixSums() {
	if s.prefix {
		return
	}
	s.prefix = true
	pre := func(buckets []expansion) prefixes {
		p := prefixes{v: make([]float64, 0, 2*len(buckets)+2), off: make([]int32, 1, len(buckets)+2)}
		var run expansion
		for k := 0; k <= len(buckets); k++ {
			p.v = append(p.v, run...)
			p.off = append(p.off, int32(len(p.v)))
			if k < len(buckets) {
				run = run.addAll(buckets[k], 1)
			}
		}
		return p
	}
	s.pqPre, s.qPre = pre(s.pq), pre(s.q)
	s.pq, s.q, s.slab = nil, nil, nil
}

// sum returns the exact sum over the window [lo, hi] from the prefix sums, rounded once.
func (s *mstate) sum(pre *prefixes, lo, hi int64) float64 {
	i, _ := slices.BinarySearch(s.cuts, lo)
	j := len(s.cuts)
	if hi != math.MaxInt64 {
		j, _ = slices.BinarySearch(s.cuts, hi+1)
	}
	if j <= i {
		return 0
	}
	s.scratch = s.scratch[:0].addAll(pre.at(j), 1).addAll(pre.at(i), -1)
	return s.scratch.round()
}

// vwap returns the VWAP of the trades with lo <= time <= hi, and false when there are none (or
// their VWAP is not a positive finite price).
func (s *mstate) vwap(lo, hi int64) (float64, bool) {
	q := s.sum(&s.qPre, lo, hi)
	if !(q > 0) {
		return 0, false
	}
	// A price no quality chain would pass (0, negative, NaN, infinite) makes no VWAP rather
	// than a NaN in every statistic it touches.
	v := s.sum(&s.pqPre, lo, hi) / q
	if !(v > 0) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

// market is what an alert's move is measured on: one (exchange, symbol), or for a spread alert
// its Binance leg against its Coinbase leg.
type market struct {
	a, b *mstate // pair: the move is a's return minus b's
	pair bool
}

func (p *Plan) marketOf(a *ctc.Alert) market {
	if a.AlertType == ctc.Spread {
		in, ok := p.pairs[a.Symbol]
		if !ok {
			in = detect.Instrument{Name: a.Symbol, Binance: a.Symbol + "-USDT", Coinbase: a.Symbol + "-USD"}
		}
		return market{a: p.markets[marketKey{ctc.Binance, in.Binance}], b: p.markets[marketKey{ctc.Coinbase, in.Coinbase}], pair: true}
	}
	return market{a: p.markets[marketKey{a.Exchange, a.Symbol}]}
}

func (m market) valid() bool {
	return m.a != nil && m.a.n > 0 && (!m.pair || m.b != nil && m.b.n > 0)
}

func (m market) legs() []*mstate {
	if m.pair {
		return []*mstate{m.a, m.b}
	}
	return []*mstate{m.a}
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
func (p *Plan) moves(m market, t int64, out []float64) {
	for i := range out {
		out[i] = math.NaN()
	}
	ref := int64(p.cfg.Reference)
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
	for i, h := range p.cfg.Horizons {
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

// Report judges the alerts and returns the report, after Seal and the second pass. It fails when
// the second pass did not give the first pass's trades.
func (p *Plan) Report() (*Report, error) {
	if p.err != nil {
		return nil, p.err
	}
	if !p.sealed {
		return nil, errors.New("evidence: Report before Seal: observe the trades, Seal, then accumulate them")
	}
	if p.windows > 0 && (p.n2 != p.n || p.sum2 != p.sum) {
		return nil, fmt.Errorf("evidence: the second pass gave %d trades, the first %d (or other ones): give both passes the same trades", p.n2, p.n)
	}
	for _, s := range p.markets {
		s.prefixSums()
	}
	nh := len(p.cfg.Horizons)
	for i := range p.judged {
		j := &p.judged[i]
		times := p.times[i]
		if len(times) == 0 {
			for h := range j.moves {
				j.moves[h] = math.NaN()
			}
			continue
		}
		m := p.marketOf(j.alert)
		p.moves(m, times[0], j.moves)
		for k, t := range times[1:] {
			p.moves(m, t, j.pseudo[k*nh:(k+1)*nh])
		}
	}
	r := summarize(p.cfg, p.judged)
	r.Alerts = len(p.alerts)
	r.Trades = p.n
	var first, last int64
	ok := false
	for _, s := range p.markets {
		if s.n == 0 {
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
	if ok {
		r.FirstTrade, r.LastTrade = time.Unix(0, first).UTC(), time.Unix(0, last).UTC()
	}
	return r, nil
}
