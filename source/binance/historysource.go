package binance

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/coattailcapital/ctc"
)

// HistorySource is a ctc.Source of one symbol's aggregate trades in a time range, read from the
// REST API page by page (History.Page) in aggregate-id order, so that the one engine can load
// history exactly as it processes a stream: quality chain, checkpoints, sinks.
//
// Each record's Position is {Partition: the Binance symbol, Offset: the aggregate id}. It is a
// ctc.Seeker: a pipeline restoring a checkpoint continues after the checkpoint's aggregate id,
// so an interrupted load resumes where it stopped rather than from the start.
type HistorySource struct {
	h        *History
	symbol   string
	from, to time.Time
	next     int64 // aggregate id of the next page; -1: the first page, by time
	page     []AggTrade
	i        int
	done     bool
	progress func(last time.Time, n int64)
	n        int64
}

var (
	_ ctc.Source = (*HistorySource)(nil)
	_ ctc.Seeker = (*HistorySource)(nil)
)

// Source returns a source of symbol's aggregate trades from from to to, both inclusive. symbol
// is a Binance symbol (BTCUSDT; BTC-USDT is accepted); the trades carry the unified one.
func (h *History) Source(symbol string, from, to time.Time) (*HistorySource, error) {
	sym := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(symbol), "-", ""))
	switch {
	case sym == "":
		return nil, errors.New("binance: HistorySource needs a symbol")
	case to.Before(from):
		return nil, fmt.Errorf("binance: HistorySource range ends (%v) before it starts (%v)", to, from)
	}
	return &HistorySource{h: h, symbol: sym, from: from, to: to, next: -1}, nil
}

// Symbol is the Binance symbol the source reads.
func (s *HistorySource) Symbol() string { return s.symbol }

// OnPage sets a function called after each page with the time of its last trade and the number
// of trades delivered so far, for progress reports. Set it before the first Next.
func (s *HistorySource) OnPage(f func(last time.Time, n int64)) { s.progress = f }

// Seek continues after the aggregate id at.Offset of this symbol (a checkpoint's position). The
// zero Position — the checkpoint of a run stopped before its first record — starts afresh.
func (s *HistorySource) Seek(_ context.Context, at ctc.Position) error {
	if at == (ctc.Position{}) {
		s.next, s.page, s.i, s.done = -1, nil, 0, false
		return nil
	}
	if at.Partition != s.symbol {
		return fmt.Errorf("binance: HistorySource of %s cannot seek to a position of %q", s.symbol, at.Partition)
	}
	if at.Offset < 0 {
		return fmt.Errorf("binance: HistorySource of %s: aggregate id %d is negative", s.symbol, at.Offset)
	}
	s.next, s.page, s.i, s.done = at.Offset+1, nil, 0, false
	return nil
}

// Next delivers the next trade, decoded; ctc.ErrEndOfInput after the last one in the range.
func (s *HistorySource) Next(ctx context.Context, rec *ctc.Record) error {
	for s.i >= len(s.page) {
		if s.done {
			return ctc.ErrEndOfInput
		}
		if err := s.fetch(ctx); err != nil {
			return err
		}
	}
	a := &s.page[s.i]
	s.i++
	*rec = ctc.Record{Decoded: true, Trade: a.Trade, Position: ctc.Position{Partition: s.symbol, Offset: a.ID}}
	return nil
}

// fetch reads the next page, keeping the trades up to the end of the range.
func (s *HistorySource) fetch(ctx context.Context) error {
	page, err := s.h.Page(ctx, s.symbol, s.next, s.from.UnixMilli(), s.to.UnixMilli(), 1000)
	if err != nil {
		return err
	}
	full := len(page) == 1000
	n := 0
	for n < len(page) && !page[n].Trade.Timestamp.After(s.to) {
		n++
	}
	s.page, s.i = page[:n], 0
	if n < len(page) || !full {
		s.done = true
	}
	if n > 0 {
		s.next = page[n-1].ID + 1
		s.n += int64(n)
		if s.progress != nil {
			s.progress(page[n-1].Trade.Timestamp, s.n)
		}
	}
	return nil
}
