package shardrunner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	kin "github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/internal/backoff"
	"github.com/coattailcapital/ctc/internal/clock"
)

// backoff is the wait before retry n (0-based): exponential from RetryBackoff up to MaxBackoff,
// with equal jitter (drawn from [d/2, d]) so that shards throttled together do not retry together.
func (c *Consumer) backoff(n int) time.Duration {
	return backoff.Equal(backoff.Cap(c.cfg.RetryBackoff, c.cfg.MaxBackoff, 2, n), backoff.Uniform)
}

// throttled reports whether err is Kinesis refusing a call for throughput or rate.
func throttled(err error) bool {
	var pte *ktypes.ProvisionedThroughputExceededException
	var lim *ktypes.LimitExceededException
	var kms *ktypes.KMSThrottlingException
	if errors.As(err, &pte) || errors.As(err, &lim) || errors.As(err, &kms) {
		return true
	}
	var ae smithy.APIError
	return errors.As(err, &ae) && (ae.ErrorCode() == "ThrottlingException" || ae.ErrorCode() == "ProvisionedThroughputExceededException")
}

// observer is a sink that sees each checkpoint's output, for Report.
type observer struct{ last *ctc.Batch }

func (o *observer) Write(_ context.Context, b *ctc.Batch) error { o.last = b; return nil }

// retryCommits retries a failed Commit: a commit that lost an optimistic race (two consumers
// committing one Iceberg table) succeeds when tried again, and a Committer must tolerate a
// checkpoint committed twice.
type retryCommits struct {
	ctc.Sink
	c        *Consumer
	attempts int
}

func (s retryCommits) Commit(ctx context.Context, cp ctc.Checkpoint) error {
	cm := s.Sink.(ctc.Committer)
	for n := 0; ; n++ {
		err := cm.Commit(ctx, cp)
		if err == nil || n+1 >= s.attempts || ctx.Err() != nil {
			return err
		}
		if clock.Sleep(ctx, s.c.backoff(n)) != nil {
			return err
		}
	}
}

// Resume passes a resume on to the sink when it is a ctc.Resumer: the wrapper must not hide it.
func (s retryCommits) Resume(ctx context.Context, cp ctc.Checkpoint) error {
	if r, ok := s.Sink.(ctc.Resumer); ok {
		return r.Resume(ctx, cp)
	}
	return nil
}

// wrapSinks returns sinks with their Commits retried.
func (c *Consumer) wrapSinks(sinks []ctc.Sink) []ctc.Sink {
	out := make([]ctc.Sink, len(sinks))
	for i, s := range sinks {
		if _, ok := s.(ctc.Committer); ok && c.cfg.CommitAttempts > 1 {
			s = retryCommits{Sink: s, c: c, attempts: c.cfg.CommitAttempts}
		}
		out[i] = s
	}
	return out
}

// shardReader is the state of one shard's goroutine.
type shardReader struct {
	c        *Consumer
	shard    Shard
	fromTrim bool // the shard has parents in the listing: read it from its start
	r        *Runner
	obs      *observer
	closers  []ctc.Closer
	reported ctc.Stats
	lastCP   time.Time
}

// readShard reads one shard until it ends (true), its context ends, or a failure needs the
// runner reopened (an error). It always checkpoints what it processed before returning, unless
// the checkpoint's state was saved by another owner.
func (c *Consumer) readShard(ctx context.Context, sh Shard, fromTrim bool) (finished bool, err error) {
	sr := &shardReader{c: c, shard: sh, fromTrim: fromTrim}
	defer sr.close()
	if err := sr.open(ctx); err != nil {
		if ctx.Err() == nil {
			c.event(EventError, sh.ID, err)
		}
		return false, err
	}
	c.event(EventOpened, sh.ID, nil)
	if sr.r.Finished() {
		c.event(EventFinished, sh.ID, nil)
		return true, nil
	}
	c.mu.Lock()
	c.shards[sh.ID] = &ShardStats{Shard: sh.ID, Sequence: sr.r.Sequence()}
	c.mu.Unlock()

	finished, err = sr.read(ctx)
	if errors.Is(err, ErrConflict) {
		c.count(func(s *Stats) { s.Conflicts++ })
		c.event(EventConflict, sh.ID, err)
		return false, err // stop without committing anything more
	}
	if finished {
		ferr := sr.checkpoint(ctx)
		if ferr == nil {
			fctx, cancel := sr.detached(ctx)
			ferr = sr.r.Finish(fctx)
			cancel()
		}
		if ferr != nil {
			if errors.Is(ferr, ErrConflict) {
				c.count(func(s *Stats) { s.Conflicts++ })
				c.event(EventConflict, sh.ID, ferr)
			} else {
				c.event(EventError, sh.ID, ferr)
			}
			return false, ferr
		}
		c.event(EventFinished, sh.ID, nil)
		return true, nil
	}
	// Context ended (shutdown or lost lease) or a read failed: save what was processed.
	if cerr := sr.checkpoint(ctx); cerr != nil {
		if errors.Is(cerr, ErrConflict) {
			c.count(func(s *Stats) { s.Conflicts++ })
			c.event(EventConflict, sh.ID, cerr)
			return false, errors.Join(err, cerr)
		}
		c.event(EventError, sh.ID, cerr)
		if ctx.Err() != nil {
			// Stopping: finish a checkpoint whose state was saved but whose sinks failed, as the
			// next owner's Open would, so that the sinks are complete when Run returns.
			gctx, cancel := sr.detached(ctx)
			defer cancel()
			sr.close()
			if oerr := sr.open(gctx); oerr != nil {
				c.event(EventError, sh.ID, oerr)
			}
		}
		return false, errors.Join(err, cerr)
	}
	if err != nil && ctx.Err() == nil {
		c.event(EventError, sh.ID, err)
	}
	return false, err
}

// open opens the shard's runner with its own sinks.
func (sr *shardReader) open(ctx context.Context) error {
	c := sr.c
	cfg := c.cfg.Runner // a copy: this runner's sinks
	sinks := c.wrapSinks(cfg.Sinks)
	if c.cfg.NewSinks != nil {
		own, err := c.cfg.NewSinks(ctx, sr.shard.ID)
		if err != nil {
			return fmt.Errorf("shardrunner: sinks of %s: %w", sr.shard.ID, err)
		}
		for _, s := range own {
			if cl, ok := s.(ctc.Closer); ok {
				sr.closers = append(sr.closers, cl)
			}
		}
		sinks = append(sinks, c.wrapSinks(own)...)
	}
	sr.obs = &observer{}
	cfg.Sinks = append(sinks, sr.obs)
	r, err := Open(ctx, &cfg, sr.shard)
	if err != nil {
		return err
	}
	sr.r, sr.obs.last = r, nil
	sr.reported = r.Stats()
	sr.lastCP = c.cfg.Now()
	return nil
}

func (sr *shardReader) close() {
	ctx, cancel := context.WithTimeout(context.Background(), sr.c.cfg.Grace)
	defer cancel()
	for _, cl := range sr.closers {
		if err := cl.Close(ctx); err != nil {
			sr.c.event(EventError, sr.shard.ID, fmt.Errorf("shardrunner: close a sink of %s: %w", sr.shard.ID, err))
		}
	}
	sr.closers = nil
}

// detached is ctx without its cancellation, bounded by Grace: a checkpoint that has begun runs
// to its end even when the consumer stops or the shard's lease is lost, so that the sinks are not
// left behind the saved state.
func (sr *shardReader) detached(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), sr.c.cfg.Grace)
}

// checkpoint checkpoints the runner and reports it.
func (sr *shardReader) checkpoint(ctx context.Context) error {
	c := sr.c
	cctx, cancel := sr.detached(ctx)
	defer cancel()
	if err := sr.r.Checkpoint(cctx); err != nil {
		return err
	}
	sr.lastCP = c.cfg.Now()
	st := sr.r.Stats()
	delta := subStats(st, sr.reported)
	if delta.Records == 0 && sr.obs.last == nil {
		return nil
	}
	sr.reported = st
	c.count(func(s *Stats) { s.Checkpoints++ })
	c.event(EventCheckpointed, sr.shard.ID, nil)
	if c.cfg.OnCheckpoint != nil {
		c.cfg.OnCheckpoint(Report{Shard: sr.shard.ID, Batch: sr.obs.last, Stats: delta})
	}
	sr.obs.last = nil
	return nil
}

func subStats(a, b ctc.Stats) ctc.Stats {
	return ctc.Stats{
		Records: a.Records - b.Records, Trades: a.Trades - b.Trades, DeadLetters: a.DeadLetters - b.DeadLetters,
		Duplicates: a.Duplicates - b.Duplicates, Late: a.Late - b.Late, Alerts: a.Alerts - b.Alerts,
		Batches: a.Batches - b.Batches, Flushes: a.Flushes - b.Flushes,
	}
}

// iterator returns an iterator after the runner's last record, or at the start position.
func (sr *shardReader) iterator(ctx context.Context) (*string, error) {
	c := sr.c
	in := &kin.GetShardIteratorInput{StreamName: aws.String(c.cfg.Stream), ShardId: aws.String(sr.shard.ID)}
	switch {
	case sr.r.Sequence() != "":
		in.ShardIteratorType = ktypes.ShardIteratorTypeAfterSequenceNumber
		in.StartingSequenceNumber = aws.String(sr.r.Sequence())
	case sr.fromTrim || c.cfg.Start == TrimHorizon:
		in.ShardIteratorType = ktypes.ShardIteratorTypeTrimHorizon
	default:
		in.ShardIteratorType = ktypes.ShardIteratorTypeLatest
	}
	for n := 0; ; n++ {
		out, err := c.cfg.Client.GetShardIterator(ctx, in)
		if err == nil {
			return out.ShardIterator, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if throttled(err) {
			c.count(func(s *Stats) { s.Throttled++ })
			c.event(EventThrottled, sr.shard.ID, err)
		} else {
			c.event(EventError, sr.shard.ID, err)
		}
		if err := clock.Sleep(ctx, c.backoff(n)); err != nil {
			return nil, err
		}
	}
}

// read reads the shard until it ends (true), ctx ends, or a checkpoint fails.
func (sr *shardReader) read(ctx context.Context) (bool, error) {
	c := sr.c
	it, err := sr.iterator(ctx)
	if err != nil {
		return false, err
	}
	recs := make([]Record, 0, 64)
	wait := time.Duration(0)
	failures := 0
	for {
		if err := clock.Sleep(ctx, wait); err != nil {
			return false, err
		}
		if it == nil {
			return true, nil
		}
		out, err := c.cfg.Client.GetRecords(ctx, &kin.GetRecordsInput{
			ShardIterator: it, Limit: aws.Int32(c.cfg.MaxRecords),
		})
		if err != nil {
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
			var exp *ktypes.ExpiredIteratorException
			switch {
			case errors.As(err, &exp):
				c.count(func(s *Stats) { s.ExpiredIterators++ })
				c.event(EventExpired, sr.shard.ID, err)
				if it, err = sr.iterator(ctx); err != nil {
					return false, err
				}
				wait = 0
				continue
			case throttled(err):
				c.count(func(s *Stats) { s.Throttled++ })
				c.event(EventThrottled, sr.shard.ID, err)
			default:
				c.event(EventError, sr.shard.ID, err)
			}
			wait = c.backoff(failures)
			failures++
			continue
		}
		failures = 0
		recs = recs[:0]
		for _, k := range out.Records {
			recs = append(recs, Record{
				SequenceNumber: aws.ToString(k.SequenceNumber), PartitionKey: aws.ToString(k.PartitionKey),
				Data: k.Data, ArrivalTime: aws.ToTime(k.ApproximateArrivalTimestamp),
			})
		}
		n := sr.r.Process(recs)
		behind := aws.ToInt64(out.MillisBehindLatest)
		c.mu.Lock()
		c.stats.Records += int64(n)
		if s := c.shards[sr.shard.ID]; s != nil {
			s.Records += int64(n)
			s.MillisBehindLatest = behind
			s.Sequence = sr.r.Sequence()
		}
		c.mu.Unlock()
		it = out.NextShardIterator
		if it == nil {
			return true, nil // the shard is closed and read to its end
		}
		if c.cfg.Now().Sub(sr.lastCP) >= c.cfg.CheckpointEvery {
			if err := sr.checkpoint(ctx); err != nil {
				return false, err
			}
		}
		// Pace: at most one read per PollInterval while records come or the shard is behind its
		// tip; when a read finds nothing and MillisBehindLatest says there is nothing more, back
		// off towards IdlePoll.
		if len(out.Records) > 0 || behind > 0 {
			wait = c.cfg.PollInterval
		} else {
			wait = min(max(2*wait, c.cfg.PollInterval), max(c.cfg.IdlePoll, c.cfg.PollInterval))
		}
	}
}
