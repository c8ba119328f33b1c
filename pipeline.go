package ctc

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"
)

// Pipeline runs source → quality → detectors → sinks on one goroutine, so that the same input
// always gives the same output in the same order.
//
// Without a clock (the default) the pipeline is deterministic: it never reads the wall clock,
// alerts are emitted with EmittedAt equal to DetectedAt, and nothing advances event time but the
// records themselves and the end of input. With WithClock it runs live: EmittedAt is processing
// time and, with WithIdleTimeout, a quiet source lets event time advance with the clock so that
// windows still fire.
type Pipeline struct {
	src   Source
	pr    Processor
	sinks []Sink

	batchSize     int
	idleTimeout   time.Duration
	flushEvery    time.Duration
	shutdownGrace time.Duration

	// Stats are counted on the Run goroutine and published under mu at every batch, so that
	// Stats can be read concurrently (by a metrics endpoint) at no per-record cost.
	mu             sync.Mutex
	published      Stats
	publishedEvent time.Time

	observer  Observer
	sinkNames []string

	ckpt      *CheckpointConfig
	seq       int64
	sinceCkpt int64
	// pending is the output since the last checkpoint: what the next one saves with its state;
	// without trades when no sink reads them (TradeReader).
	pending     Batch
	savesTrades bool

	lastFlush time.Time
}

// Stats counts what a pipeline has done. Quality counters proper (processed, passed, failed by
// reason, late, warnings) are the Checker's; these are the pipeline's own.
type Stats struct {
	Records     int64 // records read from the source
	Trades      int64 // trades that passed quality and reached the detectors
	DeadLetters int64
	Duplicates  int64
	Late        int64 // late records, summed over detectors
	Alerts      int64
	Batches     int64 // batches written to the sinks
	Flushes     int64
}

// Add adds o's counters to s: the totals of several processors (a shard's hash-key ranges).
func (s *Stats) Add(o Stats) {
	s.Records += o.Records
	s.Trades += o.Trades
	s.DeadLetters += o.DeadLetters
	s.Duplicates += o.Duplicates
	s.Late += o.Late
	s.Alerts += o.Alerts
	s.Batches += o.Batches
	s.Flushes += o.Flushes
}

// WithSinks adds sinks. Each receives every batch, in order.
func WithSinks(ss ...Sink) PipelineOption {
	return pipelineOption(func(p *Pipeline) { p.sinks = append(p.sinks, ss...) })
}

// WithBatchSize sets how many records are collected before the sinks see them; default 4096.
// A live pipeline also writes whenever its source has nothing more to give at once, so a batch
// never holds an alert back waiting for more trades.
func WithBatchSize(n int) PipelineOption {
	return pipelineOption(func(p *Pipeline) { p.batchSize = n })
}

// WithIdleTimeout lets event time advance with the clock once the source has been quiet for d, so
// that a market that stops trading still closes its windows (DESIGN §4). Needs WithClock.
func WithIdleTimeout(d time.Duration) PipelineOption {
	return pipelineOption(func(p *Pipeline) { p.idleTimeout = d })
}

// WithFlushInterval makes a live pipeline flush its sinks (ctc.Flusher) every d of processing time;
// default 60 s. A bounded run flushes at the end of input.
func WithFlushInterval(d time.Duration) PipelineOption {
	return pipelineOption(func(p *Pipeline) { p.flushEvery = d })
}

// WithShutdownGrace bounds the final write and flush after the context is cancelled; default 10 s.
func WithShutdownGrace(d time.Duration) PipelineOption {
	return pipelineOption(func(p *Pipeline) { p.shutdownGrace = d })
}

// Observer is told how long each call into a sink took and whether it failed, for metrics (the api
// package has a Prometheus one). Only a live pipeline (WithClock) measures, with its clock; op is
// "write", "flush" or "commit", sink the sink's type name.
type Observer interface {
	SinkCall(sink, op string, d time.Duration, err error)
}

// WithObserver sets an Observer of sink calls.
func WithObserver(o Observer) PipelineOption {
	return pipelineOption(func(p *Pipeline) { p.observer = o })
}

// NewPipeline returns a pipeline reading from src.
func NewPipeline(src Source, opts ...PipelineOption) (*Pipeline, error) {
	p := &Pipeline{src: src, batchSize: 4096, flushEvery: time.Minute, shutdownGrace: 10 * time.Second}
	for _, o := range opts {
		o.applyPipeline(p)
	}
	if src == nil {
		return nil, errors.New("ctc: pipeline needs a source")
	}
	if err := p.pr.validate(); err != nil {
		return nil, err
	}
	switch {
	case p.batchSize < 1:
		return nil, fmt.Errorf("ctc: batch size must be >= 1, got %d", p.batchSize)
	case p.idleTimeout < 0 || p.flushEvery < 0 || p.shutdownGrace < 0:
		return nil, errors.New("ctc: durations must not be negative")
	case p.idleTimeout > 0 && p.pr.now == nil:
		return nil, errors.New("ctc: an idle timeout needs a clock: add ctc.WithClock(time.Now)")
	}
	for _, s := range p.sinks {
		if s == nil {
			return nil, errors.New("ctc: nil sink")
		}
		p.sinkNames = append(p.sinkNames, strings.TrimPrefix(fmt.Sprintf("%T", s), "*"))
		if tr, ok := s.(TradeReader); !ok || tr.ReadsTrades() {
			p.savesTrades = true
		}
	}
	if p.ckpt != nil {
		if err := p.ckpt.validate(p); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Stats returns the pipeline's counters as of the last batch written. It is safe to call while
// Run is running.
func (p *Pipeline) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.published
}

func (p *Pipeline) publish() {
	p.mu.Lock()
	p.published = p.pr.stats
	p.publishedEvent = p.pr.maxEvent
	p.mu.Unlock()
}

// EventTime returns the newest event time of a trade that passed quality, as of the last batch
// written (the zero time before any): where the market the pipeline watches has got to, which
// for a replay or a simulation at N× speed is not the wall clock's time. It is safe to call while
// Run is running.
func (p *Pipeline) EventTime() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.publishedEvent
}

// Run reads the source until it ends or ctx is done. At the end of a bounded source it advances
// every detector to EndOfTime, so every window fires, writes and flushes the sinks, and returns nil.
// When ctx is done it writes what it holds, flushes the sinks within the shutdown grace and
// returns ctx's error; open windows stay open (they belong to the next run, via a checkpoint).
// Any other source or sink error stops the run and is returned. Bad records never do: they become
// dead letters.
func (p *Pipeline) Run(ctx context.Context) error {
	if p.ckpt != nil {
		if err := p.restore(ctx); err != nil {
			return err
		}
	}
	if p.pr.now == nil {
		return p.runBounded(ctx)
	}
	return p.runLive(ctx)
}

func (p *Pipeline) runBounded(ctx context.Context) error {
	// Reading ahead in chunks suits a source that reads storage; one that waits for a feed would
	// hold records back until a chunk fills.
	if pd, ok := p.pr.checker.(Predecoder); ok && runtime.GOMAXPROCS(0) > 1 && isBulk(p.src) {
		return p.runAhead(ctx, pd.Predecoder())
	}
	var rec Record
	for {
		if err := ctx.Err(); err != nil {
			return p.shutdown(ctx, err)
		}
		rec.Reset()
		if err := p.src.Next(ctx, &rec); err != nil {
			return p.endOrFail(ctx, err)
		}
		if err := p.step(ctx, &rec); err != nil {
			return err
		}
	}
}

// step runs one record through the engine, then checkpoints or writes when it is time.
func (p *Pipeline) step(ctx context.Context, rec *Record) error {
	p.pr.Process(rec)
	p.sinceCkpt++
	if p.ckpt != nil && p.ckpt.EveryRecords > 0 && p.sinceCkpt >= p.ckpt.EveryRecords {
		return p.checkpoint(ctx)
	}
	if p.pr.batch.Len() >= p.batchSize {
		if err := p.write(ctx); err != nil {
			return err
		}
		// Write-ahead keeps a checkpoint's output in memory until the checkpoint: bound it.
		if p.ckpt != nil && p.pending.Len() >= p.ckpt.MaxPending {
			return p.checkpoint(ctx)
		}
	}
	return nil
}

// chunk is a run of records read and examined ahead; err is the source's error after them.
type chunk struct {
	recs []Record
	n    int
	err  error
}

// runAhead is runBounded with the reading and the stateless quality steps (Predecoder) on a
// goroutine of their own: records travel in chunks, in order, to the Run goroutine, which does
// the rest exactly as runBounded does. Output and checkpoints are the same, byte for byte.
func (p *Pipeline) runAhead(ctx context.Context, examine func(*Record)) error {
	const chunkSize, depth = 1024, 16
	rctx, cancel := context.WithCancel(ctx)
	free := make(chan *chunk, depth+1)
	full := make(chan *chunk, depth)
	for range depth + 1 {
		free <- &chunk{recs: make([]Record, chunkSize)}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			var c *chunk
			select {
			case c = <-free:
			case <-rctx.Done():
				return
			}
			c.n, c.err = 0, nil
			for c.n < chunkSize && c.err == nil {
				rec := &c.recs[c.n]
				rec.Reset()
				if c.err = p.src.Next(rctx, rec); c.err != nil {
					break
				}
				examine(rec)
				// Data may point into the source's buffers, which the next Next reuses: keep a
				// copy only where a dead letter needs the original bytes.
				if rec.Verdict.Status == Fail {
					rec.Data = append([]byte(nil), rec.Data...)
				} else {
					rec.Data = nil
				}
				c.n++
			}
			select {
			case full <- c:
			case <-rctx.Done():
				return
			}
			if c.err != nil {
				return
			}
		}
	}()
	// The reader goroutine is owned by Run: it has ended before Run returns.
	defer func() { cancel(); <-done }()
	for {
		if err := ctx.Err(); err != nil {
			return p.shutdown(ctx, err)
		}
		var c *chunk
		select {
		case c = <-full:
		case <-ctx.Done():
			continue
		}
		for i := range c.recs[:c.n] {
			if err := p.step(ctx, &c.recs[i]); err != nil {
				return err
			}
		}
		if c.err != nil {
			return p.endOrFail(ctx, c.err)
		}
		free <- c
	}
}

// endOrFail handles a source error: the end of input — or a source closed under the running
// pipeline, which is how a program stops a live source — fires every window and flushes;
// anything else is returned after writing what the run holds.
func (p *Pipeline) endOrFail(ctx context.Context, err error) error {
	if errors.Is(err, ErrEndOfInput) || errors.Is(err, ErrClosed) {
		p.pr.Advance(EndOfTime)
		return p.flush(ctx)
	}
	if ctx.Err() != nil {
		return p.shutdown(ctx, ctx.Err())
	}
	_ = p.shutdown(ctx, err)
	return fmt.Errorf("ctc: source: %w", err)
}

// shutdown writes and flushes what the run holds on a context that outlives ctx by the grace.
func (p *Pipeline) shutdown(ctx context.Context, cause error) error {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.shutdownGrace)
	defer cancel()
	if err := p.flush(sctx); err != nil {
		return errors.Join(cause, err)
	}
	return cause
}

// runLive reads the source on a goroutine of its own, so that the pipeline can notice a quiet
// source (idleness), write alerts as soon as nothing more is waiting, and flush on time.
func (p *Pipeline) runLive(ctx context.Context) error {
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()

	const depth = 256
	free := make(chan *Record, depth)
	full := make(chan *Record, depth)
	for range depth {
		free <- new(Record)
	}
	errc := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			var rec *Record
			select {
			case rec = <-free:
			case <-rctx.Done():
				errc <- rctx.Err()
				return
			}
			rec.Reset()
			if err := p.src.Next(rctx, rec); err != nil {
				errc <- err
				return
			}
			select {
			case full <- rec:
			case <-rctx.Done():
				errc <- rctx.Err()
				return
			}
		}
	}()
	// The reader goroutine is owned by Run: it has ended before Run returns.
	defer func() { cancel(); <-done }()

	tick := p.idleTimeout / 4
	if tick <= 0 || tick > time.Second {
		tick = time.Second
	}
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	p.lastFlush = p.pr.now()

	for {
		if err := ctx.Err(); err != nil {
			return p.shutdown(ctx, err)
		}
		select {
		case <-ctx.Done():
			continue
		case rec := <-full:
			p.pr.Process(rec)
			free <- rec
			if p.pr.batch.Len() < p.batchSize && len(full) > 0 {
				continue
			}
			if err := p.write(ctx); err != nil {
				return err
			}
		case <-ticker.C:
			if err := p.tick(ctx); err != nil {
				return err
			}
		case err := <-errc:
			// Drain what the reader had already handed over before it stopped.
			for len(full) > 0 {
				rec := <-full
				p.pr.Process(rec)
				free <- rec
			}
			return p.endOrFail(ctx, err)
		}
	}
}

// tick runs the live pipeline's clock-driven work: idle advance and the flush interval.
func (p *Pipeline) tick(ctx context.Context) error {
	now := p.pr.now()
	if p.idleTimeout > 0 && !p.pr.lastArrival.IsZero() {
		if quiet := now.Sub(p.pr.lastArrival); quiet >= p.idleTimeout {
			p.pr.Advance(p.pr.maxEvent.Add(quiet))
		}
	}
	if err := p.write(ctx); err != nil {
		return err
	}
	every := p.flushEvery
	if p.ckpt != nil {
		every = p.ckpt.Interval
	}
	if every > 0 && now.Sub(p.lastFlush) >= every {
		p.lastFlush = now
		return p.flush(ctx)
	}
	return nil
}

// write hands the batch to every sink and empties it.
func (p *Pipeline) write(ctx context.Context) error {
	if p.pr.batch.Len() == 0 {
		return nil
	}
	p.pr.stats.Late += int64(len(p.pr.batch.Output.Late))
	for i, s := range p.sinks {
		if err := p.call(i, "write", func() error { return s.Write(ctx, &p.pr.batch) }); err != nil {
			return fmt.Errorf("ctc: sink %T: %w", s, err)
		}
	}
	p.pr.stats.Batches++
	if p.ckpt != nil {
		trades := p.pr.batch.Trades
		if !p.savesTrades {
			p.pr.batch.Trades = nil
		}
		p.pending.Append(&p.pr.batch)
		p.pr.batch.Trades = trades
	}
	p.pr.batch.Reset()
	p.publish()
	return nil
}

// flush writes the batch and makes every buffering sink durable: a checkpoint when the pipeline
// checkpoints, otherwise a Flush of every Flusher.
func (p *Pipeline) flush(ctx context.Context) error {
	if p.ckpt != nil {
		return p.checkpoint(ctx)
	}
	if err := p.write(ctx); err != nil {
		return err
	}
	for i, s := range p.sinks {
		if f, ok := s.(Flusher); ok {
			if err := p.call(i, "flush", func() error { return f.Flush(ctx) }); err != nil {
				return fmt.Errorf("ctc: flush %T: %w", s, err)
			}
		}
	}
	p.pr.stats.Flushes++
	p.publish()
	return nil
}

// call runs one sink call, timing it for the observer when the pipeline is live.
func (p *Pipeline) call(i int, op string, f func() error) error {
	if p.observer == nil || p.pr.now == nil {
		return f()
	}
	start := p.pr.now()
	err := f()
	p.observer.SinkCall(p.sinkNames[i], op, p.pr.now().Sub(start), err)
	return err
}
