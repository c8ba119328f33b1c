// Package backfill loads exchange history into sinks — the Iceberg lake first — through the one
// engine: each symbol's trades come from a ctc.Source (binance.HistorySource), pass the quality
// chain and reach the sinks at checkpoints, exactly as a stream does. The historical loader
// (adapters/loader) and the batch workflow's historical_load task (adapters/lambda/batch) are
// this package with different flags.
//
// # Exactly once, on resume and on rerun
//
// Every symbol is its own pipeline, named PipelineID/SYMBOL, checkpointing every CommitEvery
// trades with the write-ahead protocol of ctc.WithCheckpoints. With a durable Store an
// interrupted load resumes after its last checkpoint. A symbol the Store knows nothing of starts
// where a CommitLog sink — the Iceberg sink — says the pipeline's last commit ended: a rerun or a
// retried task with a fresh Store (checkpoint.Memory, the default) continues after what the lake
// already holds instead of loading it again, so loading a day twice leaves raw_trades as loading
// it once. A crash between saving a checkpoint and committing it is covered by the Store (the
// pending output is committed again, and the sink skips a sequence number it has).
//
// # Streamed and backfilled
//
// The live feed and the history give a trade the same event id. Before loading a symbol's range,
// Run asks every EventIndex sink (the Iceberg sink) which of its trades it already holds — the
// ones a stream wrote — and leaves those out, so a day that was streamed and then backfilled
// holds each trade once and its quality score is not lowered by copies (Report.Existing counts
// them). The check costs one scan of the range's days of raw_trades, not of the table.
package backfill

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/checkpoint"
	"github.com/coattailcapital/ctc/quality"
	"github.com/coattailcapital/ctc/source/binance"
)

// DefaultCommitEvery is the checkpoint cadence: 100 pages of 1,000 trades.
const DefaultCommitEvery = 100_000

// Config is one load.
type Config struct {
	// History reads the exchange's REST API. Required.
	History *binance.History
	// Symbols are the Binance symbols to load (BTCUSDT; BTC-USDT is accepted), one after another.
	Symbols []string
	// From and To bound the trades' times, both inclusive.
	From, To time.Time
	// Sinks receive each symbol's trades (and dead letters) at its checkpoints. Required.
	Sinks []ctc.Sink
	// PipelineID names the load: symbol SYM checkpoints as PipelineID/SYM (PipelineID-SYM with a
	// store that refuses '/', see IDSeparator). Required.
	PipelineID string
	// IDSeparator joins PipelineID and the symbol; default "/".
	IDSeparator string
	// Store keeps the checkpoints; default checkpoint.NewMemory() (no resume, rerun-safe).
	Store ctc.StateStore
	// CommitEvery is the number of trades between checkpoints; default DefaultCommitEvery.
	CommitEvery int64
	// Quality configures the quality chain; the zero value is the default chain.
	Quality quality.Config
	// Progress, when set, is called after every page of a symbol with the time of its last trade
	// and the trades read so far in this run.
	Progress func(symbol string, last time.Time, n int64)
}

// CommitLog is implemented by sinks that record, with what they commit, the checkpoint it
// belongs to, per table (the Iceberg sink keeps it in each snapshot's summary).
type CommitLog interface {
	Committed(ctx context.Context, pipelineID string) (map[string]ctc.Checkpoint, error)
}

// EventIndex is implemented by sinks that can tell which trades of an exchange and symbol they
// hold in a time range, both ends inclusive (the Iceberg sink, from raw_trades).
type EventIndex interface {
	EventIDs(ctx context.Context, exchange, symbol string, from, to time.Time) (map[[16]byte]struct{}, error)
}

// Report is what a load did.
type Report struct {
	// Trades counts the trades that passed the quality chain, Symbols splits them by symbol.
	// After a resume they include the trades loaded before the interruption.
	Trades  int64
	Symbols map[string]int64
	// Quality sums the symbols' quality chains.
	Quality quality.Stats
	// Existing counts the trades left out because an EventIndex sink already held them.
	Existing int64
}

func (c *Config) validate() error {
	switch {
	case c.History == nil:
		return errors.New("backfill: Config.History is required")
	case len(c.Symbols) == 0:
		return errors.New("backfill: Config.Symbols is empty")
	case len(c.Sinks) == 0:
		return errors.New("backfill: Config.Sinks is empty")
	case c.PipelineID == "":
		return errors.New("backfill: Config.PipelineID is required")
	case c.CommitEvery < 0:
		return fmt.Errorf("backfill: CommitEvery must be >= 0, got %d", c.CommitEvery)
	case c.To.Before(c.From):
		return fmt.Errorf("backfill: the range ends (%v) before it starts (%v)", c.To, c.From)
	}
	return nil
}

// Run loads every symbol in turn. It stops at the first symbol that fails, with the symbols
// before it loaded and reported.
func Run(ctx context.Context, c Config) (*Report, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	if c.Store == nil {
		c.Store = checkpoint.NewMemory()
	}
	if c.CommitEvery == 0 {
		c.CommitEvery = DefaultCommitEvery
	}
	if c.IDSeparator == "" {
		c.IDSeparator = "/"
	}
	rep := &Report{Symbols: map[string]int64{}}
	for _, sym := range c.Symbols {
		src, err := c.History.Source(sym, c.From, c.To)
		if err != nil {
			return rep, fmt.Errorf("backfill: %w", err)
		}
		if c.Progress != nil {
			sym := src.Symbol()
			src.OnPage(func(last time.Time, n int64) { c.Progress(sym, last, n) })
		}
		var in ctc.Source = src
		skip, err := c.held(ctx, src.Symbol())
		if err != nil {
			return rep, fmt.Errorf("backfill: %s: %w", src.Symbol(), err)
		}
		if len(skip) > 0 {
			in = &skipHeld{HistorySource: src, ids: skip, skipped: &rep.Existing}
		}
		q, err := c.load(ctx, in, src.Symbol())
		if q != nil {
			rep.Symbols[src.Symbol()] = q.Passed
			rep.Trades += q.Passed
			rep.Quality.Add(*q)
		}
		if err != nil {
			return rep, fmt.Errorf("backfill: %s: %w", src.Symbol(), err)
		}
	}
	return rep, nil
}

// held returns the event ids of symbol's range that the EventIndex sinks already hold.
func (c *Config) held(ctx context.Context, symbol string) (map[[16]byte]struct{}, error) {
	unified := (*binance.SymbolMap)(nil).Normalize([]byte(symbol))
	var all map[[16]byte]struct{}
	for _, s := range c.Sinks {
		ix, ok := s.(EventIndex)
		if !ok {
			continue
		}
		ids, err := ix.EventIDs(ctx, ctc.Binance, unified, c.From, c.To)
		if err != nil {
			return nil, fmt.Errorf("read the trades already held: %w", err)
		}
		if all == nil {
			all = ids
			continue
		}
		for id := range ids {
			all[id] = struct{}{}
		}
	}
	return all, nil
}

// skipHeld is a HistorySource that leaves out the trades in ids. It keeps the source's Seek, so
// that checkpoints resume it.
type skipHeld struct {
	*binance.HistorySource
	ids     map[[16]byte]struct{}
	skipped *int64
}

func (s *skipHeld) Next(ctx context.Context, rec *ctc.Record) error {
	for {
		if err := s.HistorySource.Next(ctx, rec); err != nil {
			return err
		}
		if _, ok := s.ids[rec.Trade.EventID]; !ok {
			return nil
		}
		*s.skipped++
	}
}

// load runs one symbol's pipeline and returns its quality counters.
func (c *Config) load(ctx context.Context, src ctc.Source, symbol string) (*quality.Stats, error) {
	chain, err := quality.New(c.Quality)
	if err != nil {
		return nil, err
	}
	id := c.PipelineID + c.IDSeparator + symbol
	if err := c.seed(ctx, id); err != nil {
		return nil, err
	}
	p, err := ctc.NewPipeline(src, ctc.WithChecker(chain), ctc.WithSinks(c.Sinks...),
		ctc.WithCheckpoints(ctc.CheckpointConfig{Store: c.Store, PipelineID: id, EveryRecords: c.CommitEvery}))
	if err != nil {
		return nil, err
	}
	err = p.Run(ctx)
	st := chain.Stats()
	return &st, err
}

// seed gives a pipeline the Store knows nothing of the newest checkpoint its CommitLog sinks
// committed, so that it continues after it with the next sequence number.
func (c *Config) seed(ctx context.Context, id string) error {
	if st, err := c.Store.Load(ctx, id); err != nil || st != nil {
		return err
	}
	var last ctc.Checkpoint
	for _, s := range c.Sinks {
		log, ok := s.(CommitLog)
		if !ok {
			continue
		}
		cps, err := log.Committed(ctx, id)
		if err != nil {
			return fmt.Errorf("read the checkpoints committed by %s: %w", id, err)
		}
		for _, cp := range cps {
			if cp.Seq > last.Seq {
				last = cp
			}
		}
	}
	if last.Seq == 0 {
		return nil
	}
	return c.Store.Save(ctx, &ctc.State{Checkpoint: last})
}
