// Package backfill loads exchange history into sinks — the Iceberg lake first — through the one
// engine: each symbol's trades come from a ctc.Source (binance.HistorySource for Binance,
// coinbase.HistorySource for Coinbase), pass the quality chain and reach the sinks at
// checkpoints, exactly as a stream does. The historical loader (adapters/loader) and the batch
// workflow's historical_load task (adapters/lambda/batch) are this package with different flags.
//
// # Both exchanges
//
// Config.History loads Binance, Config.Coinbase loads Coinbase; with both, a day holds both legs
// of every instrument and the spread detector has something to join when the day is
// reprocessed. The Coinbase products default to the symbols' by the default instrument rule of
// detect.SpreadConfig (Binance X-USDT ↔ Coinbase X-USD: CoinbaseProduct); Config.Products names
// others. Each symbol of each exchange is its own pipeline, one after another: Binance's first.
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
	"strings"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/checkpoint"
	"github.com/coattailcapital/ctc/quality"
	"github.com/coattailcapital/ctc/source/binance"
	"github.com/coattailcapital/ctc/source/coinbase"
)

// DefaultCommitEvery is the checkpoint cadence: 100 pages of 1,000 trades.
const DefaultCommitEvery = 100_000

// Config is one load.
type Config struct {
	// History reads Binance's REST API; nil loads no Binance trades. History or Coinbase is
	// required.
	History *binance.History
	// Coinbase reads Coinbase Exchange's trade history; nil loads no Coinbase trades.
	Coinbase *coinbase.History
	// Symbols are the Binance symbols to load (BTCUSDT; BTC-USDT is accepted), one after another.
	// Without Products they also name the Coinbase products (CoinbaseProduct).
	Symbols []string
	// Products are the Coinbase products to load (BTC-USD); empty: CoinbaseProduct of each symbol.
	Products []string
	// From and To bound the trades' times, both inclusive, at Binance's millisecond precision: a
	// Coinbase trade (microseconds) is in the range when it is before To plus a millisecond.
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
	// Progress, when set, is called after every page of a symbol (a Binance symbol or a Coinbase
	// product) with the time of its last trade and the trades read so far in this run.
	Progress func(symbol string, last time.Time, n int64)
}

// CoinbaseProduct is the Coinbase product of a symbol by the default instrument rule (the rule
// detect.SpreadConfig joins by default): the same base, USDT read as USD, so BTCUSDT and BTC-USDT
// give BTC-USD; other quotes are kept (ETHBTC gives ETH-BTC).
func CoinbaseProduct(symbol string) string {
	sym := strings.ToUpper(strings.TrimSpace(symbol))
	if !strings.Contains(sym, "-") {
		sym = (*binance.SymbolMap)(nil).Normalize([]byte(sym))
	}
	base, quote, ok := strings.Cut(sym, "-")
	if !ok {
		return sym
	}
	if quote == "USDT" {
		quote = "USD"
	}
	return base + "-" + quote
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
	// Trades counts the trades that passed the quality chain, Symbols splits them by symbol
	// (Binance symbols and Coinbase products) and Exchanges by exchange. After a resume they
	// include the trades loaded before the interruption.
	Trades    int64
	Symbols   map[string]int64
	Exchanges map[string]int64
	// Quality sums the symbols' quality chains.
	Quality quality.Stats
	// Existing counts the trades left out because an EventIndex sink already held them.
	Existing int64
}

func (c *Config) validate() error {
	switch {
	case c.History == nil && c.Coinbase == nil:
		return errors.New("backfill: Config.History (Binance) or Config.Coinbase is required")
	case c.History != nil && len(c.Symbols) == 0:
		return errors.New("backfill: Config.Symbols is empty")
	case c.Coinbase != nil && len(c.Symbols) == 0 && len(c.Products) == 0:
		return errors.New("backfill: Config.Symbols and Config.Products are empty")
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

// historySource is what a load reads: an exchange's history of one symbol, resumable.
type historySource interface {
	ctc.Source
	ctc.Seeker
	OnPage(func(last time.Time, n int64))
}

// job is one symbol of one exchange.
type job struct {
	exchange string
	symbol   string // the pipeline's: the Binance symbol or the Coinbase product
	unified  string // the trades' symbol
	src      historySource
	to       time.Time // inclusive end for EventIndex
}

// jobs lists the pipelines of a load, Binance's first.
func (c *Config) jobs() ([]job, error) {
	var out []job
	if c.History != nil {
		for _, sym := range c.Symbols {
			src, err := c.History.Source(sym, c.From, c.To)
			if err != nil {
				return nil, fmt.Errorf("backfill: %w", err)
			}
			out = append(out, job{exchange: ctc.Binance, symbol: src.Symbol(),
				unified: (*binance.SymbolMap)(nil).Normalize([]byte(src.Symbol())), src: src, to: c.To})
		}
	}
	if c.Coinbase != nil {
		products := c.Products
		if len(products) == 0 {
			for _, sym := range c.Symbols {
				products = append(products, CoinbaseProduct(sym))
			}
		}
		seen := map[string]bool{}
		for _, p := range products {
			// Inclusive to the millisecond, as Binance's range: up to To's next millisecond.
			src, err := c.Coinbase.Source(p, c.From, c.To.Add(time.Millisecond))
			if err != nil {
				return nil, fmt.Errorf("backfill: %w", err)
			}
			if seen[src.Product()] {
				continue
			}
			seen[src.Product()] = true
			out = append(out, job{exchange: ctc.Coinbase, symbol: src.Product(), unified: src.Product(), src: src,
				to: c.To.Add(time.Millisecond - time.Nanosecond)})
		}
	}
	return out, nil
}

// Run loads every symbol of every exchange in turn. It stops at the first symbol that fails,
// with the symbols before it loaded and reported.
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
	jobs, err := c.jobs()
	if err != nil {
		return nil, err
	}
	rep := &Report{Symbols: map[string]int64{}, Exchanges: map[string]int64{}}
	for _, j := range jobs {
		if c.Progress != nil {
			sym := j.symbol
			j.src.OnPage(func(last time.Time, n int64) { c.Progress(sym, last, n) })
		}
		var in ctc.Source = j.src
		skip, err := c.held(ctx, j)
		if err != nil {
			return rep, fmt.Errorf("backfill: %s %s: %w", j.exchange, j.symbol, err)
		}
		if len(skip) > 0 {
			in = &skipHeld{historySource: j.src, ids: skip, skipped: &rep.Existing}
		}
		q, err := c.load(ctx, in, j.symbol)
		if q != nil {
			rep.Symbols[j.symbol] += q.Passed
			rep.Exchanges[j.exchange] += q.Passed
			rep.Trades += q.Passed
			rep.Quality.Add(*q)
		}
		if err != nil {
			return rep, fmt.Errorf("backfill: %s %s: %w", j.exchange, j.symbol, err)
		}
	}
	return rep, nil
}

// held returns the event ids of the job's range that the EventIndex sinks already hold.
func (c *Config) held(ctx context.Context, j job) (map[[16]byte]struct{}, error) {
	var all map[[16]byte]struct{}
	for _, s := range c.Sinks {
		ix, ok := s.(EventIndex)
		if !ok {
			continue
		}
		ids, err := ix.EventIDs(ctx, j.exchange, j.unified, c.From, j.to)
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

// skipHeld is a history source that leaves out the trades in ids. It keeps the source's Seek, so
// that checkpoints resume it.
type skipHeld struct {
	historySource
	ids     map[[16]byte]struct{}
	skipped *int64
}

func (s *skipHeld) Next(ctx context.Context, rec *ctc.Record) error {
	for {
		if err := s.historySource.Next(ctx, rec); err != nil {
			return err
		}
		if !rec.Decoded {
			return nil
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
