package quality

import (
	"fmt"
	"math"
	"sync/atomic"
	"unicode/utf8"

	"github.com/coattailcapital/ctc"
	"github.com/google/uuid"
)

// Chain is the standard quality chain (DESIGN §5): it decodes each record, validates it, drops
// duplicates, flags late and inconsistent trades, and counts everything. It keeps state (the
// dedup memory and the counters), so it is not safe for concurrent use: give each pipeline its own.
type Chain struct {
	cfg Config
	pol policy
	dec decoder
	dd  dedup
	seg segState
	n   counters
	tmp ctc.Trade // Check's trade when the caller passes none
}

var (
	_ ctc.Checker            = (*Chain)(nil)
	_ ctc.Snapshotter        = (*Chain)(nil)
	_ ctc.SegmentSnapshotter = (*Chain)(nil)
	_ ctc.Predecoder         = (*Chain)(nil)
)

type counters struct {
	processed, duplicate, late, warnings int64
	failed                               [numReasons]int64
}

// The dead-letter reasons, indexed.
const (
	rMalformed = iota
	rIncomplete
	rInvalid
	numReasons
)

var reasons = [numReasons]ctc.Reason{ctc.Malformed, ctc.Incomplete, ctc.Invalid}

func reasonIndex(r ctc.Reason) int {
	switch r {
	case ctc.Malformed:
		return rMalformed
	case ctc.Incomplete:
		return rIncomplete
	}
	return rInvalid
}

// New returns a chain for cfg; zero fields take their defaults.
func New(cfg Config) (*Chain, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	c := &Chain{cfg: cfg, pol: newPolicy(cfg), dd: newDedup(cfg.DedupWindow)}
	c.dec.local = &localIntern{m: make(map[string]string)}
	c.dec.pol = &c.pol
	return c, nil
}

// Config returns the chain's configuration, with the defaults filled in.
func (c *Chain) Config() Config {
	cfg := c.cfg
	cfg.Exchanges = append([]string(nil), cfg.Exchanges...)
	cfg.Symbols = append([]string(nil), cfg.Symbols...)
	return cfg
}

// dupDetail is a constant, so that dropping a duplicate does not allocate.
const dupDetail = "event_id already passed within the dedup window"

// Check runs the chain on one record and leaves the trade in t: decoded from rec.Data, or copied
// from rec.Trade when rec.Decoded (t may be &rec.Trade). The steps, in order:
//
//  1. rec.Err set: Fail, Malformed, with rec.Err as the detail.
//  2. schema: rec.Data must decode as a JSON object (Decode): else Fail, Malformed.
//  3. completeness: event_id, exchange, symbol, price, quantity and timestamp: else Fail, Incomplete.
//  4. validity: every value, the configured exchanges and symbols: else Fail, Invalid.
//  5. uniqueness: an event_id that passed within DedupWindow: Duplicate (dropped, not a dead letter).
//  6. timeliness: ingested more than MaxIngestDelay after the trade: Late, still Pass.
//  7. consistency: quote_volume off price × quantity by more than Tolerance: Warning, still Pass.
//
// It never panics on any input. It does not allocate for a record that passes or is a duplicate
// once the chain has seen its exchange and symbol (and its timestamps end in Z or ±hh:mm); only
// building the Detail of a failure allocates.
func (c *Chain) Check(rec *ctc.Record, t *ctc.Trade) ctc.Verdict {
	if t == nil {
		t = &c.tmp
	}
	atomic.AddInt64(&c.n.processed, 1)
	var v ctc.Verdict
	if rec.Checked {
		// Examined ahead by this chain's Predecoder: only the stateful steps are left.
		v = rec.Verdict
		if t != &rec.Trade {
			*t = rec.Trade
		}
	} else {
		v = c.examine(&c.dec, rec, t)
	}
	if v.Status == ctc.Fail {
		atomic.AddInt64(&c.n.failed[reasonIndex(v.Reason)], 1)
		return v
	}
	if c.dd.duplicate(t.EventID) {
		atomic.AddInt64(&c.n.duplicate, 1)
		return ctc.Verdict{Status: ctc.Duplicate, Detail: dupDetail}
	}
	c.dd.add(t.EventID, etimeOf(t.Timestamp))
	if v.Late {
		atomic.AddInt64(&c.n.late, 1)
	}
	if v.Warning {
		atomic.AddInt64(&c.n.warnings, 1)
	}
	return v
}

// examine runs the steps of Check that depend on the record alone — decoding, completeness,
// validity, timeliness and consistency — with dec, and counts nothing. It is what a Predecoder
// runs ahead, on another goroutine, with a decoder of its own.
func (c *Chain) examine(dec *decoder, rec *ctc.Record, t *ctc.Trade) ctc.Verdict {
	if rec.Err != nil {
		return ctc.Verdict{Status: ctc.Fail, Reason: ctc.Malformed, Detail: rec.Err.Error()}
	}
	if rec.Decoded {
		if t != &rec.Trade {
			*t = rec.Trade
		}
		if r, detail := c.checkTrade(t); r != "" {
			return ctc.Verdict{Status: ctc.Fail, Reason: r, Detail: clipDetail(detail)}
		}
	} else if r := dec.decode(rec.Data, t); r.failed() {
		return ctc.Verdict{Status: ctc.Fail, Reason: r.code.reason(), Detail: clipDetail(dec.detail(rec.Data, r))}
	}
	if detail := c.bounds(t); detail != "" {
		return ctc.Verdict{Status: ctc.Fail, Reason: ctc.Invalid, Detail: detail}
	}
	var v ctc.Verdict
	if !t.IngestionTimestamp.IsZero() && t.IngestionTimestamp.After(t.Timestamp.Add(c.cfg.MaxIngestDelay)) {
		v.Late = true
	}
	pq := t.Price * t.Quantity
	if math.Abs(t.QuoteVolume-pq) > c.cfg.Tolerance*pq {
		v.Warning = true
	}
	return v
}

// Predecoder implements ctc.Predecoder: the returned function examines a record as Check would
// (decoding and every stateless check) and leaves the trade and the verdict in it, so that Check
// only deduplicates and counts. It has a decoder of its own, so it may run on another goroutine
// than Check; one function must not be called from two goroutines at once.
func (c *Chain) Predecoder() func(rec *ctc.Record) {
	dec := &decoder{local: &localIntern{m: make(map[string]string)}, pol: &c.pol}
	return func(rec *ctc.Record) {
		rec.Verdict = c.examine(dec, rec, &rec.Trade)
		rec.Decoded = rec.Verdict.Status != ctc.Fail || rec.Decoded
		rec.Checked = true
	}
}

// checkTrade applies completeness and validity to a trade a source decoded itself, in the order
// the decoder uses, and normalises it: timestamps in UTC, a zero quote volume set to price ×
// quantity. A zero EventID, an empty exchange or symbol and a zero Timestamp are missing.
func (c *Chain) checkTrade(t *ctc.Trade) (ctc.Reason, string) {
	if t.EventID == (uuid.UUID{}) || t.Exchange == "" || t.Symbol == "" || t.Timestamp.IsZero() {
		var parts []string
		if t.EventID == (uuid.UUID{}) {
			parts = append(parts, "event_id")
		}
		if t.Exchange == "" {
			parts = append(parts, "exchange")
		}
		if t.Symbol == "" {
			parts = append(parts, "symbol")
		}
		if t.Timestamp.IsZero() {
			parts = append(parts, "timestamp")
		}
		return ctc.Incomplete, missingDetail(parts)
	}
	switch {
	case !positive(t.Price):
		return ctc.Invalid, "price must be a finite number > 0, got " + fmtFloat(t.Price)
	case !positive(t.Quantity):
		return ctc.Invalid, "quantity must be a finite number > 0, got " + fmtFloat(t.Quantity)

	case t.Side != ctc.Buy && t.Side != ctc.Sell:
		return ctc.Invalid, fmt.Sprintf("side must be buy or sell, got %s", t.Side)
	case !c.pol.exchangeOK(t.Exchange):
		return ctc.Invalid, c.pol.exchangeDetail(t.Exchange)
	case !c.pol.symbolOK(t.Symbol):
		return ctc.Invalid, c.pol.symbolDetail(t.Symbol)
	case timeRange(t.Timestamp) != 0:
		return ctc.Invalid, "timestamp must be between years 0001 and 9999 in UTC, got " + t.Timestamp.String()
	case t.QuoteVolume != 0 && !positive(t.QuoteVolume):
		return ctc.Invalid, "quote_volume must be a finite number > 0, got " + fmtFloat(t.QuoteVolume)
	case !t.IngestionTimestamp.IsZero() && timeRange(t.IngestionTimestamp) != 0:
		return ctc.Invalid, "ingestion_timestamp must be between years 0001 and 9999 in UTC, got " + t.IngestionTimestamp.String()
	}
	pq := t.Price * t.Quantity
	if !positive(pq) {
		return ctc.Invalid, fmt.Sprintf("price × quantity must be a finite number > 0, got %s × %s",
			fmtFloat(t.Price), fmtFloat(t.Quantity))
	}

	if t.QuoteVolume == 0 {
		t.QuoteVolume = pq
	}
	t.Timestamp = t.Timestamp.UTC()
	if !t.IngestionTimestamp.IsZero() {
		t.IngestionTimestamp = t.IngestionTimestamp.UTC()
	}
	return "", ""
}

// bounds applies the configured bounds to a valid trade: the detail of the first it exceeds, or "".
func (c *Chain) bounds(t *ctc.Trade) string {
	switch {
	case t.Price > c.cfg.MaxPrice:
		return fmt.Sprintf("price must be at most %g (quality.Config.MaxPrice), got %s", c.cfg.MaxPrice, fmtFloat(t.Price))
	case t.Quantity > c.cfg.MaxQuantity:
		return fmt.Sprintf("quantity must be at most %g (quality.Config.MaxQuantity), got %s", c.cfg.MaxQuantity, fmtFloat(t.Quantity))
	}
	if qv := max(t.Price*t.Quantity, t.QuoteVolume); qv > c.cfg.MaxQuoteVolume {
		return fmt.Sprintf("quote volume must be at most %g (quality.Config.MaxQuoteVolume), got %s", c.cfg.MaxQuoteVolume, fmtFloat(qv))
	}
	return ""
}

// maxDetail bounds a verdict's detail: what was wrong, never a hostile record's bulk.
const maxDetail = 1024

// clipDetail cuts a detail to maxDetail bytes (at a UTF-8 boundary), marking the cut.
func clipDetail(d string) string {
	if len(d) <= maxDetail {
		return d
	}
	n := maxDetail
	for n > 0 && !utf8.RuneStart(d[n]) {
		n--
	}
	return d[:n] + "…"
}

func positive(v float64) bool { return v > 0 && v <= math.MaxFloat64 }

// Stats returns the counters so far. It is safe to call while another goroutine runs Check
// (a metrics endpoint beside a running pipeline): the counters are updated atomically.
func (c *Chain) Stats() Stats {
	s := Stats{
		Processed:      atomic.LoadInt64(&c.n.processed),
		Duplicate:      atomic.LoadInt64(&c.n.duplicate),
		Late:           atomic.LoadInt64(&c.n.late),
		Warnings:       atomic.LoadInt64(&c.n.warnings),
		FailedByReason: make(map[ctc.Reason]int64, numReasons),
	}
	for i, r := range reasons {
		n := atomic.LoadInt64(&c.n.failed[i])
		s.Failed += n
		s.FailedByReason[r] = n
	}
	s.Passed = s.Processed - s.Failed - s.Duplicate
	s.QualityScore = 100
	if s.Processed > 0 {
		s.QualityScore = float64(s.Passed) / float64(s.Processed) * 100
	}
	return s
}
