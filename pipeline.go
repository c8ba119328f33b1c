package ctc

import (
	"context"
	"errors"
	"fmt"
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
	src       Source
	checker   Checker
	detectors []Detector
	sinks     []Sink

	batchSize     int
	now           func() time.Time
	idleTimeout   time.Duration
	flushEvery    time.Duration
	shutdownGrace time.Duration

	batch Batch
	stats Stats

	// Stats are counted on the Run goroutine and published under mu at every batch, so that
	// Stats can be read concurrently (by a metrics endpoint) at no per-record cost.
	mu        sync.Mutex
	published Stats

	observer  Observer
	sinkNames []string

	ckpt      *CheckpointConfig
	seq       int64
	sinceCkpt int64

	// Live-mode bookkeeping for idleness: the newest event time seen and when it was seen.
	maxEvent    time.Time
	lastArrival time.Time
	lastFlush   time.Time
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

// Option configures a Pipeline.
type Option func(*Pipeline)

// WithChecker sets the quality chain; quality.New provides the standard one. Required.
func WithChecker(c Checker) Option { return func(p *Pipeline) { p.checker = c } }

// WithDetectors adds detectors. Each sees every trade that passes quality, in order.
func WithDetectors(ds ...Detector) Option {
	return func(p *Pipeline) { p.detectors = append(p.detectors, ds...) }
}

// WithSinks adds sinks. Each receives every batch, in order.
func WithSinks(ss ...Sink) Option { return func(p *Pipeline) { p.sinks = append(p.sinks, ss...) } }

// WithBatchSize sets how many records are collected before the sinks see them; default 4096.
// A live pipeline also writes whenever its source has nothing more to give at once, so a batch
// never holds an alert back waiting for more trades.
func WithBatchSize(n int) Option { return func(p *Pipeline) { p.batchSize = n } }

// WithClock makes the pipeline live: now is processing time, used for EmittedAt, idleness and the
// flush interval. Sources that block (WebSockets, the paced simulator) need it for idleness to work.
func WithClock(now func() time.Time) Option { return func(p *Pipeline) { p.now = now } }

// WithIdleTimeout lets event time advance with the clock once the source has been quiet for d, so
// that a market that stops trading still closes its windows (DESIGN §4). Needs WithClock.
func WithIdleTimeout(d time.Duration) Option { return func(p *Pipeline) { p.idleTimeout = d } }

// WithFlushInterval makes a live pipeline flush its sinks (ctc.Flusher) every d of processing time;
// default 60 s. A bounded run flushes at the end of input.
func WithFlushInterval(d time.Duration) Option { return func(p *Pipeline) { p.flushEvery = d } }

// WithShutdownGrace bounds the final write and flush after the context is cancelled; default 10 s.
func WithShutdownGrace(d time.Duration) Option { return func(p *Pipeline) { p.shutdownGrace = d } }

// Observer is told how long each call into a sink took and whether it failed, for metrics (the api
// package has a Prometheus one). Only a live pipeline (WithClock) measures, with its clock; op is
// "write", "flush" or "commit", sink the sink's type name.
type Observer interface {
	SinkCall(sink, op string, d time.Duration, err error)
}

// WithObserver sets an Observer of sink calls.
func WithObserver(o Observer) Option { return func(p *Pipeline) { p.observer = o } }

// NewPipeline returns a pipeline reading from src.
func NewPipeline(src Source, opts ...Option) (*Pipeline, error) {
	p := &Pipeline{src: src, batchSize: 4096, flushEvery: time.Minute, shutdownGrace: 10 * time.Second}
	for _, o := range opts {
		o(p)
	}
	switch {
	case src == nil:
		return nil, errors.New("ctc: pipeline needs a source")
	case p.checker == nil:
		return nil, errors.New("ctc: pipeline needs a quality checker: add ctc.WithChecker(quality.New(...))")
	case p.batchSize < 1:
		return nil, fmt.Errorf("ctc: batch size must be >= 1, got %d", p.batchSize)
	case p.idleTimeout < 0 || p.flushEvery < 0 || p.shutdownGrace < 0:
		return nil, errors.New("ctc: durations must not be negative")
	case p.idleTimeout > 0 && p.now == nil:
		return nil, errors.New("ctc: an idle timeout needs a clock: add ctc.WithClock(time.Now)")
	}
	if err := checkDetectors(p.detectors); err != nil {
		return nil, err
	}
	for _, s := range p.sinks {
		if s == nil {
			return nil, errors.New("ctc: nil sink")
		}
		p.sinkNames = append(p.sinkNames, strings.TrimPrefix(fmt.Sprintf("%T", s), "*"))
	}
	if p.ckpt != nil {
		if err := p.ckpt.validate(p); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// checkDetectors rejects nil detectors and two detectors of one name (their states are saved
// by name).
func checkDetectors(ds []Detector) error {
	seen := map[string]bool{}
	for _, d := range ds {
		if d == nil {
			return errors.New("ctc: nil detector")
		}
		if seen[d.Name()] {
			return fmt.Errorf("ctc: two detectors are named %q", d.Name())
		}
		seen[d.Name()] = true
	}
	return nil
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
	p.published = p.stats
	p.mu.Unlock()
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
	if p.now == nil {
		return p.runBounded(ctx)
	}
	return p.runLive(ctx)
}

func (p *Pipeline) runBounded(ctx context.Context) error {
	var rec Record
	for {
		if err := ctx.Err(); err != nil {
			return p.shutdown(ctx, err)
		}
		rec.Reset()
		err := p.src.Next(ctx, &rec)
		if err != nil {
			return p.endOrFail(ctx, err)
		}
		p.process(&rec)
		if p.ckpt != nil && p.ckpt.EveryRecords > 0 && p.sinceCkpt >= p.ckpt.EveryRecords {
			if err := p.checkpoint(ctx); err != nil {
				return err
			}
			continue
		}
		if p.batch.Len() >= p.batchSize {
			if err := p.write(ctx); err != nil {
				return err
			}
		}
	}
}

// endOrFail handles a source error: the end of input fires every window and flushes; anything
// else is returned after writing what the run holds.
func (p *Pipeline) endOrFail(ctx context.Context, err error) error {
	if errors.Is(err, ErrEndOfInput) {
		p.advance(EndOfTime)
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
	p.lastFlush = p.now()

	for {
		if err := ctx.Err(); err != nil {
			return p.shutdown(ctx, err)
		}
		select {
		case <-ctx.Done():
			continue
		case rec := <-full:
			p.process(rec)
			free <- rec
			if p.batch.Len() < p.batchSize && len(full) > 0 {
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
				p.process(rec)
				free <- rec
			}
			return p.endOrFail(ctx, err)
		}
	}
}

// tick runs the live pipeline's clock-driven work: idle advance and the flush interval.
func (p *Pipeline) tick(ctx context.Context) error {
	now := p.now()
	if p.idleTimeout > 0 && !p.lastArrival.IsZero() {
		if quiet := now.Sub(p.lastArrival); quiet >= p.idleTimeout {
			p.advance(p.maxEvent.Add(quiet))
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

// process runs one record through quality and the detectors, into the batch.
func (p *Pipeline) process(rec *Record) {
	p.stats.Records++
	p.sinceCkpt++
	p.batch.Position = rec.Position
	t := &rec.Trade
	v := p.checker.Check(rec, t)
	switch v.Status {
	case Fail:
		p.stats.DeadLetters++
		p.batch.DeadLetters = append(p.batch.DeadLetters, DeadLetter{
			Reason: v.Reason, Detail: v.Detail, Position: rec.Position,
			Data: append([]byte(nil), deadLetterData(rec)...),
		})
		return
	case Duplicate:
		p.stats.Duplicates++
		return
	}
	p.stats.Trades++
	if p.now != nil {
		if t.Timestamp.After(p.maxEvent) {
			p.maxEvent = t.Timestamp
		}
		p.lastArrival = p.now()
	}
	p.batch.Trades = append(p.batch.Trades, *t)
	out := &p.batch.Output
	n := len(out.Alerts)
	for _, d := range p.detectors {
		d.Observe(t, out)
	}
	p.finish(n)
}

// deadLetterData is what a dead letter keeps of a record: its original bytes, or, for a source
// that decoded the record itself and kept no bytes, the trade as JSON.
func deadLetterData(rec *Record) []byte {
	if len(rec.Data) > 0 || !rec.Decoded {
		return rec.Data
	}
	return rec.Trade.AppendJSON(nil)
}

// advance moves every detector's event time to t.
func (p *Pipeline) advance(t time.Time) {
	out := &p.batch.Output
	n := len(out.Alerts)
	for _, d := range p.detectors {
		d.Advance(t, out)
	}
	p.finish(n)
}

// finish completes the alerts emitted since index n: the fields a user's detector may leave to
// the pipeline (id, TTL) and processing time.
func (p *Pipeline) finish(n int) {
	out := &p.batch.Output
	for i := range out.Alerts[n:] {
		a := &out.Alerts[n+i]
		if a.DetectedAt.IsZero() {
			a.DetectedAt = a.WindowStart
		}
		if a.AlertID == ([16]byte{}) {
			a.AlertID = NewAlertID(a.AlertType, a.Exchange, a.Symbol, WindowKey(a.DetectedAt))
		}
		if a.TTLEpoch == 0 {
			a.TTLEpoch = a.DetectedAt.Add(AlertTTL).Unix()
		}
		if p.now != nil {
			a.EmittedAt = p.now().UTC()
		} else {
			a.EmittedAt = a.DetectedAt
		}
	}
	p.stats.Alerts += int64(len(out.Alerts) - n)
}

// write hands the batch to every sink and empties it.
func (p *Pipeline) write(ctx context.Context) error {
	if p.batch.Len() == 0 {
		return nil
	}
	p.stats.Late += int64(len(p.batch.Output.Late))
	for i, s := range p.sinks {
		if err := p.call(i, "write", func() error { return s.Write(ctx, &p.batch) }); err != nil {
			return fmt.Errorf("ctc: sink %T: %w", s, err)
		}
	}
	p.stats.Batches++
	p.batch.Reset()
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
	p.stats.Flushes++
	p.publish()
	return nil
}

// call runs one sink call, timing it for the observer when the pipeline is live.
func (p *Pipeline) call(i int, op string, f func() error) error {
	if p.observer == nil || p.now == nil {
		return f()
	}
	start := p.now()
	err := f()
	p.observer.SinkCall(p.sinkNames[i], op, p.now().Sub(start), err)
	return err
}
