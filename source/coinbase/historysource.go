package coinbase

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/coattailcapital/ctc"
)

// HistorySource is a ctc.Source of one product's trades in a time range [from, to), oldest
// first, read from the trade history (History) so that the one engine loads Coinbase history as
// it processes a stream: quality chain, checkpoints, sinks.
//
// The history has no time filter: pages are addressed by trade id only, newest first. The
// source finds the range by searching the id space — the newest page, then pages ever further
// back (the step doubling) until one holds a trade before from, then a binary search on trade id
// between that page and the nearest page after from until less than a page separates them — and
// then walks forward with before cursors, a page at a time, dropping the trades before from and
// stopping at the first at or after to. Trade ids are given in match order, so trade times never
// decrease with the id: that is what makes the search and the stop exact.
//
// A page newer than the cursor that does not start at the next id is checked with the pages
// older than its first trade: the ids between are confirmed missing from the history (a gap the
// exchange does not serve), or loaded; if a few older pages do not reach back to the cursor the
// load fails with ErrCursorSkipped rather than lose trades silently. The walk ends at the first
// trade at or after to, or at an empty page: a short page proves nothing (the exchange may answer
// fewer trades than asked for).
//
// Each record's Position is {Partition: the product, Offset: the trade id}. It is a ctc.Seeker:
// a pipeline restoring a checkpoint continues after the checkpoint's trade id, without searching
// again. A history element with a trade id but an unusable field is handed over undecoded (Data
// and Err), so that it becomes a dead letter where it falls in the range; one without a trade id
// fails the page.
type HistorySource struct {
	h        *History
	product  string
	from, to time.Time

	started bool  // the start was found (or seeked to)
	cursor  int64 // the trade id the walk continues after
	out     []PageTrade
	i       int
	pending []PageTrade // undecodable trades waiting for the next decodable one to place them
	done    bool

	progress func(last time.Time, n int64)
	n        int64
	last     time.Time
	requests int
}

var (
	_ ctc.Source = (*HistorySource)(nil)
	_ ctc.Seeker = (*HistorySource)(nil)
)

// Source returns a source of product's trades at or after from and before to. product is a
// Coinbase product id (BTC-USD; case is ignored).
func (h *History) Source(product string, from, to time.Time) (*HistorySource, error) {
	p := strings.ToUpper(strings.TrimSpace(product))
	switch {
	case !validProduct([]byte(p)):
		return nil, fmt.Errorf("coinbase: HistorySource needs a product BASE-QUOTE, e.g. BTC-USD; got %q", product)
	case to.Before(from):
		return nil, fmt.Errorf("coinbase: HistorySource range ends (%v) before it starts (%v)", to, from)
	}
	return &HistorySource{h: h, product: intern([]byte(p)), from: from, to: to}, nil
}

// Product is the product the source reads.
func (s *HistorySource) Product() string { return s.product }

// Symbol is the product the source reads (the unified symbol: Coinbase's ids are BASE-QUOTE).
func (s *HistorySource) Symbol() string { return s.product }

// OnPage sets a function called after each page of the walk with the time of its last trade in
// the range and the number of trades delivered so far, for progress reports. Set it before the
// first Next.
func (s *HistorySource) OnPage(f func(last time.Time, n int64)) { s.progress = f }

// Requests is the number of pages asked for so far (search and walk; retries not counted).
func (s *HistorySource) Requests() int { return s.requests }

// Seek continues after the trade id at.Offset of this product (a checkpoint's position). The zero
// Position — the checkpoint of a run stopped before its first record — starts afresh.
func (s *HistorySource) Seek(_ context.Context, at ctc.Position) error {
	s.out, s.i, s.pending, s.done = nil, 0, nil, false
	if at == (ctc.Position{}) {
		s.started, s.cursor = false, 0
		return nil
	}
	if at.Partition != s.product {
		return fmt.Errorf("coinbase: HistorySource of %s cannot seek to a position of %q", s.product, at.Partition)
	}
	if at.Offset < 1 {
		return fmt.Errorf("coinbase: HistorySource of %s: trade id %d is not positive", s.product, at.Offset)
	}
	s.started, s.cursor = true, at.Offset
	return nil
}

// Next delivers the next trade; ctc.ErrEndOfInput after the last one in the range.
func (s *HistorySource) Next(ctx context.Context, rec *ctc.Record) error {
	for s.i >= len(s.out) {
		if s.done {
			return ctc.ErrEndOfInput
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if !s.started {
			if err := s.search(ctx); err != nil {
				return fmt.Errorf("coinbase: finding %s at %v: %w", s.product, s.from, err)
			}
			s.started = true
			continue
		}
		if err := s.walk(ctx); err != nil {
			return err
		}
	}
	pt := &s.out[s.i]
	s.i++
	pos := ctc.Position{Partition: s.product, Offset: pt.ID}
	if pt.Err != nil {
		*rec = ctc.Record{Data: pt.Raw, Err: pt.Err, Position: pos}
		return nil
	}
	*rec = ctc.Record{Decoded: true, Trade: pt.Trade, Position: pos}
	return nil
}

// get reads a page and returns its trades in id order. Its length says nothing of what is
// left: the exchange may answer fewer than the limit.
func (s *HistorySource) get(ctx context.Context, cur Cursor) ([]PageTrade, error) {
	s.requests++
	p, err := s.h.page(ctx, s.product, cur, 0, nil)
	if err != nil {
		return nil, err
	}
	asc := p.Trades
	slices.SortFunc(asc, func(a, b PageTrade) int { return cmpInt(a.ID, b.ID) })
	return asc, nil
}

// maxFillPages bounds how many older pages may be read to connect a newer page to the cursor.
const maxFillPages = 8

// fillDown returns, in id order, the trades between the cursor and top (exclusive), reading
// older pages down from top until one reaches the cursor.
func (s *HistorySource) fillDown(ctx context.Context, top int64) ([]PageTrade, error) {
	var fill []PageTrade
	for range maxFillPages {
		older, err := s.get(ctx, After(top))
		if err != nil {
			return nil, err
		}
		reached := len(older) == 0
		var got []PageTrade
		for _, t := range older {
			switch {
			case t.ID <= s.cursor:
				reached = true
			case t.ID < top:
				got = append(got, t)
			}
		}
		fill = append(got, fill...)
		if reached {
			return fill, nil
		}
		top = older[0].ID
	}
	return nil, fmt.Errorf("%w: %s after trade id %d (%d older pages do not reach back to it)", ErrCursorSkipped, s.product, s.cursor, maxFillPages)
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// search sets the cursor to a trade id whose trade, and every one before it, precedes from,
// with less than a page of trades between it and the first trade of the range; or ends the
// source when no trade is at or after from.
func (s *HistorySource) search(ctx context.Context) error {
	if !s.from.Before(s.to) {
		s.done = true
		return nil
	}
	lim := int64(s.h.limit())
	lo, hi := int64(-1), int64(-1)
	// classify narrows lo and hi by a page and says whether it holds trades before from and at or
	// after it. An undecodable trade counts as after: the walk then starts before it and places it.
	classify := func(ts []PageTrade) (below, above bool) {
		for _, t := range ts {
			if t.Err == nil && t.Trade.Timestamp.Before(s.from) {
				lo, below = max(lo, t.ID), true
				continue
			}
			if hi < 0 || t.ID < hi {
				hi = t.ID
			}
			above = true
		}
		return below, above
	}
	page, err := s.get(ctx, Newest)
	if err != nil {
		return err
	}
	if len(page) == 0 {
		s.done = true // no trades at all
		return nil
	}
	switch below, above := classify(page); {
	case below && above:
		s.cursor = lo
		return nil
	case below:
		s.done = true // every trade so far precedes the range
		return nil
	}
	// Back from the newest page, the step doubling, to a page before from.
	for step := lim; ; step *= 2 {
		c := hi - step
		if c <= 1 {
			lo = 0
			break
		}
		page, err = s.get(ctx, After(c))
		if err != nil {
			return err
		}
		if len(page) == 0 {
			lo = c - 1 // no trade below c
			break
		}
		below, above := classify(page)
		if below && above {
			s.cursor = lo
			return nil
		}
		if below {
			break
		}
	}
	// Binary search between lo (before from) and hi (at or after it).
	for hi-lo > lim {
		mid := lo + (hi-lo)/2
		page, err = s.get(ctx, After(mid+1))
		if err != nil {
			return err
		}
		if len(page) == 0 {
			lo = mid
			continue
		}
		below, above := classify(page)
		if below && above {
			break
		}
		if below {
			lo = max(lo, mid) // the newest trade up to mid precedes from, so all of them do
		}
	}
	s.cursor = lo
	return nil
}

// walk reads the page after the cursor and queues its trades in the range.
func (s *HistorySource) walk(ctx context.Context) error {
	page, err := s.get(ctx, Before(s.cursor))
	if err != nil {
		return err
	}
	n := 0
	for _, t := range page {
		if t.ID > s.cursor {
			page[n] = t
			n++
		}
	}
	page = page[:n]
	if len(page) == 0 {
		s.finish()
		return nil
	}
	if page[0].ID > s.cursor+1 {
		// Ids are missing after the cursor: confirm from the other side that the history does not
		// hold them, or take what it does.
		fill, err := s.fillDown(ctx, page[0].ID)
		if err != nil {
			return err
		}
		page = append(fill, page...)
	}
	s.out, s.i = s.out[:0], 0
	for _, t := range page {
		s.cursor = t.ID
		if t.Err != nil {
			s.pending = append(s.pending, t)
			continue
		}
		if t.Trade.Timestamp.Before(s.from) {
			s.pending = s.pending[:0] // between two trades before the range: before it too
			continue
		}
		s.out = append(s.out, s.pending...)
		s.pending = s.pending[:0]
		if !t.Trade.Timestamp.Before(s.to) {
			s.done = true
			break
		}
		s.out = append(s.out, t)
		s.n++
		s.last = t.Trade.Timestamp
	}
	if s.progress != nil {
		s.progress(s.last, s.n)
	}
	return nil
}

// finish ends the walk; undecodable trades after the last decodable one are handed over.
func (s *HistorySource) finish() {
	s.out = append(s.out, s.pending...)
	s.pending = nil
	s.done = true
}

// IsPermanent reports whether err, from a HistorySource or History, is a failure that asking
// again will not cure (a 4xx answer other than 429, ErrCursorSkipped).
func IsPermanent(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Permanent() || errors.Is(err, ErrCursorSkipped)
}
