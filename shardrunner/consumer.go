package shardrunner

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	kin "github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/quality"
)

// KinesisAPI is the part of the Kinesis client a Consumer calls; *kinesis.Client implements it.
type KinesisAPI interface {
	ListShards(ctx context.Context, in *kin.ListShardsInput, opts ...func(*kin.Options)) (*kin.ListShardsOutput, error)
	GetShardIterator(ctx context.Context, in *kin.GetShardIteratorInput, opts ...func(*kin.Options)) (*kin.GetShardIteratorOutput, error)
	GetRecords(ctx context.Context, in *kin.GetRecordsInput, opts ...func(*kin.Options)) (*kin.GetRecordsOutput, error)
}

var _ KinesisAPI = (*kin.Client)(nil)

// StartPosition is where a consumer starts reading a shard it has no checkpoint for.
type StartPosition string

// The start positions. A shard created by resharding is always read from its start (its
// parents' records were read before it), whatever the start position.
const (
	TrimHorizon StartPosition = "TRIM_HORIZON" // the oldest record the stream keeps
	Latest      StartPosition = "LATEST"       // records put after the consumer started
)

// Defaults of ConsumerConfig.
const (
	DefaultCheckpointEvery = 60 * time.Second
	DefaultLeaseDuration   = 10 * time.Second
	DefaultShardSync       = 60 * time.Second
	DefaultPollInterval    = 200 * time.Millisecond // 5 GetRecords/s, a shard's limit
	DefaultIdlePoll        = 2 * time.Second
	DefaultMaxRecords      = 10_000
	DefaultGrace           = 30 * time.Second
	DefaultCommitAttempts  = 5
	DefaultRetryBackoff    = 200 * time.Millisecond
	DefaultMaxBackoff      = 5 * time.Second
)

// ConsumerConfig configures a Consumer. Client, Stream, Leases and the Runner's App, Store and
// NewProcessor are required; everything else has a default.
type ConsumerConfig struct {
	// Client reads the stream. Required.
	Client KinesisAPI
	// Stream is the stream's name (always sent: some servers refuse calls that give only an ARN).
	Stream string
	// Runner configures the shards' processing: App, Store, NewProcessor, PartitionKey, and the
	// Sinks every shard shares (they must be safe for concurrent use and write through, as the
	// alert stores do; they are never closed by the consumer).
	Runner Config
	// NewSinks returns the sinks of one shard's runner, for sinks that buffer per pipeline (the
	// Iceberg sink). It is called each time a shard's runner opens; sinks implementing ctc.Closer
	// are closed when the runner is dropped. Optional.
	NewSinks func(ctx context.Context, shardID string) ([]ctc.Sink, error)
	// Leases coordinates shard ownership with the application's other consumers. Required.
	Leases *LeaseTable
	// Owner names this consumer in the lease table; default host-pid-random, unique per process.
	Owner string
	// Start is where shards without a checkpoint start; default TrimHorizon.
	Start StartPosition
	// CheckpointEvery is how often each shard checkpoints (saves its state and commits its sinks);
	// default DefaultCheckpointEvery. Shards also checkpoint when they end, lose their lease, or
	// the consumer stops.
	CheckpointEvery time.Duration
	// LeaseDuration is how long a lease whose counter does not move stays its owner's; default
	// DefaultLeaseDuration. RenewEvery (default a third of it) is how often the consumer renews its
	// leases and looks for leases to take.
	LeaseDuration, RenewEvery time.Duration
	// ShardSync is how often the consumer lists the stream's shards to find children after
	// SplitShard or MergeShards (it also lists them whenever one of its shards ends); default
	// DefaultShardSync.
	ShardSync time.Duration
	// PollInterval is the least time between two GetRecords calls on one shard (default 200 ms:
	// Kinesis allows five per second per shard); reads that come back empty, or caught up with the
	// tip of the shard (MillisBehindLatest 0), double the wait up to IdlePoll (default 2 s).
	PollInterval, IdlePoll time.Duration
	// MaxRecords is GetRecords' Limit; default 10,000, the most Kinesis allows.
	MaxRecords int32
	// Grace bounds the final checkpoints and lease releases when Run's context ends; default 30 s.
	Grace time.Duration
	// CommitAttempts bounds the Commit calls per checkpoint on each Committer sink (default 5):
	// several consumers committing to one Iceberg table conflict now and then, and a Commit that
	// lost the race succeeds when retried. RetryBackoff (default 200 ms) and MaxBackoff (default
	// 5 s) bound the exponential back-off of every retry: commits, throttled reads, failed calls.
	CommitAttempts           int
	RetryBackoff, MaxBackoff time.Duration
	// Now is the clock of lease decisions and checkpoint intervals; default time.Now.
	Now func() time.Time
	// OnEvent, when set, is called for what happens to leases and shards (from several
	// goroutines: it must be safe for concurrent use, and quick).
	OnEvent func(Event)
	// OnCheckpoint, when set, is called after each successful checkpoint of a shard that
	// processed records since the previous one (from the shard's goroutine).
	OnCheckpoint func(Report)
}

// EventKind says what an Event reports.
type EventKind string

// The event kinds.
const (
	EventAcquired     EventKind = "acquired"     // this consumer took the shard's lease
	EventLost         EventKind = "lost"         // the lease was taken by another consumer
	EventReleased     EventKind = "released"     // the lease was given up at shutdown
	EventOpened       EventKind = "opened"       // the shard's runner opened (its parents are finished)
	EventCheckpointed EventKind = "checkpointed" // a checkpoint was saved and committed
	EventFinished     EventKind = "finished"     // the shard was read to its end and finished
	EventThrottled    EventKind = "throttled"    // a read was throttled: backing off
	EventExpired      EventKind = "iterator-expired"
	EventConflict     EventKind = "conflict" // a checkpoint found the state saved by another owner
	EventError        EventKind = "error"    // a call failed; it is retried
)

// Event is something that happened to a shard or its lease.
type Event struct {
	Kind  EventKind
	Shard string
	Err   error
}

// Report describes one checkpoint of one shard.
type Report struct {
	Shard string
	// Batch is what the checkpoint wrote to the sinks (nil when it wrote nothing but advanced the
	// shard). It is valid only during the call.
	Batch *ctc.Batch
	// Stats are the runner's counters since the shard's previous report (or since it opened).
	Stats ctc.Stats
}

// Stats is a snapshot of what a consumer has done.
type Stats struct {
	// Owner is the consumer's name in the lease table.
	Owner string
	// Records counts the records this consumer processed (not counting redeliveries).
	Records int64
	// Leases is the number of leases held now.
	Leases int
	// Throttled counts reads refused for throughput, ExpiredIterators the iterators renewed,
	// Conflicts the checkpoints refused because another owner saved the shard.
	Throttled, ExpiredIterators, Conflicts int64
	// Checkpoints counts successful checkpoints that saved records.
	Checkpoints int64
	// Shards are the shards this consumer reads now, by id.
	Shards []ShardStats
}

// ShardStats describes one shard being read.
type ShardStats struct {
	Shard string
	// Records counts the records this consumer processed from the shard.
	Records int64
	// MillisBehindLatest is how far the last read was behind the tip of the shard.
	MillisBehindLatest int64
	// Sequence is the sequence number of the last record processed.
	Sequence string
}

// Consumer reads every shard of a Kinesis stream through Runners, sharing the shards with the
// application's other consumers through a lease table. Create it with NewConsumer and call Run.
type Consumer struct {
	cfg   ConsumerConfig
	owner string

	mu     sync.Mutex
	stats  Stats
	shards map[string]*ShardStats
}

// NewConsumer checks cfg and returns a consumer. It makes no call.
func NewConsumer(cfg ConsumerConfig) (*Consumer, error) {
	switch {
	case cfg.Client == nil:
		return nil, errors.New("shardrunner: ConsumerConfig.Client is required: kinesis.NewFromConfig(awsConfig)")
	case cfg.Stream == "":
		return nil, errors.New("shardrunner: ConsumerConfig.Stream is required")
	case cfg.Leases == nil:
		return nil, errors.New("shardrunner: ConsumerConfig.Leases is required: NewLeaseTable(dynamoClient, table)")
	}
	if err := cfg.Runner.Validate(); err != nil {
		return nil, err
	}
	if cfg.Start == "" {
		cfg.Start = TrimHorizon
	}
	if cfg.Start != TrimHorizon && cfg.Start != Latest {
		return nil, fmt.Errorf("shardrunner: Start must be %s or %s, got %q", TrimHorizon, Latest, cfg.Start)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&cfg.CheckpointEvery, DefaultCheckpointEvery)
	def(&cfg.LeaseDuration, DefaultLeaseDuration)
	def(&cfg.RenewEvery, cfg.LeaseDuration/3)
	def(&cfg.ShardSync, DefaultShardSync)
	def(&cfg.PollInterval, DefaultPollInterval)
	def(&cfg.IdlePoll, DefaultIdlePoll)
	def(&cfg.Grace, DefaultGrace)
	def(&cfg.RetryBackoff, DefaultRetryBackoff)
	def(&cfg.MaxBackoff, DefaultMaxBackoff)
	if cfg.MaxRecords == 0 {
		cfg.MaxRecords = DefaultMaxRecords
	}
	if cfg.CommitAttempts == 0 {
		cfg.CommitAttempts = DefaultCommitAttempts
	}
	switch {
	case cfg.CheckpointEvery < 0 || cfg.LeaseDuration < 0 || cfg.RenewEvery < 0 || cfg.ShardSync < 0 ||
		cfg.PollInterval < 0 || cfg.IdlePoll < 0 || cfg.Grace < 0 || cfg.RetryBackoff < 0 || cfg.MaxBackoff < 0:
		return nil, errors.New("shardrunner: ConsumerConfig durations must not be negative")
	case cfg.RenewEvery >= cfg.LeaseDuration:
		return nil, fmt.Errorf("shardrunner: RenewEvery (%v) must be shorter than LeaseDuration (%v), or leases expire between renewals", cfg.RenewEvery, cfg.LeaseDuration)
	case cfg.MaxRecords < 1 || cfg.MaxRecords > 10_000:
		return nil, fmt.Errorf("shardrunner: MaxRecords must be 1..10000, got %d", cfg.MaxRecords)
	case cfg.CommitAttempts < 1:
		return nil, fmt.Errorf("shardrunner: CommitAttempts must be >= 1, got %d", cfg.CommitAttempts)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Runner.PartitionKey == nil {
		cfg.Runner.PartitionKey = Instrument
	}
	owner := cfg.Owner
	if owner == "" {
		host, _ := os.Hostname()
		var r [4]byte
		_, _ = rand.Read(r[:])
		owner = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(r[:]))
	}
	c := &Consumer{cfg: cfg, owner: owner, shards: map[string]*ShardStats{}}
	c.stats.Owner = owner
	return c, nil
}

// Owner is the consumer's name in the lease table.
func (c *Consumer) Owner() string { return c.owner }

// Stats returns a snapshot of the consumer's counters. It is safe to call while Run runs.
func (c *Consumer) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Shards = make([]ShardStats, 0, len(c.shards))
	for _, k := range slices.Sorted(maps.Keys(c.shards)) {
		s.Shards = append(s.Shards, *c.shards[k])
	}
	return s
}

func (c *Consumer) event(kind EventKind, shard string, err error) {
	if c.cfg.OnEvent != nil {
		c.cfg.OnEvent(Event{Kind: kind, Shard: shard, Err: err})
	}
}

func (c *Consumer) count(f func(s *Stats)) {
	c.mu.Lock()
	f(&c.stats)
	c.mu.Unlock()
}

// listShards lists every shard of the stream, following NextToken (calls with a token must not
// name the stream).
func (c *Consumer) listShards(ctx context.Context) (map[string]Shard, error) {
	return ListShards(ctx, c.cfg.Client, c.cfg.Stream)
}

// ShardLister lists a stream's shards; *kinesis.Client (the SDK's) implements it.
type ShardLister interface {
	ListShards(ctx context.Context, in *kin.ListShardsInput, opts ...func(*kin.Options)) (*kin.ListShardsOutput, error)
}

// ListShards lists every shard of a stream, page by page, with its parents (ParentShardId and
// AdjacentParentShardId) and hash-key range: the lineage a Runner needs to start a child from its
// parents' states. The consumer and the stream Lambda both list with it.
func ListShards(ctx context.Context, client ShardLister, stream string) (map[string]Shard, error) {
	out := map[string]Shard{}
	in := &kin.ListShardsInput{StreamName: aws.String(stream)}
	for {
		page, err := client.ListShards(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("shardrunner: list shards of %s: %w", stream, err)
		}
		for _, s := range page.Shards {
			id := aws.ToString(s.ShardId)
			sh := Shard{ID: id}
			if p := aws.ToString(s.ParentShardId); p != "" {
				sh.Parents = append(sh.Parents, p)
			}
			if p := aws.ToString(s.AdjacentParentShardId); p != "" {
				sh.Parents = append(sh.Parents, p)
			}
			if s.HashKeyRange == nil {
				return nil, fmt.Errorf("shardrunner: shard %s of %s has no hash key range", id, stream)
			}
			r, err := ParseHashRange(aws.ToString(s.HashKeyRange.StartingHashKey), aws.ToString(s.HashKeyRange.EndingHashKey))
			if err != nil {
				return nil, fmt.Errorf("shardrunner: shard %s of %s: %w", id, stream, err)
			}
			sh.Range = r
			out[id] = sh
		}
		if aws.ToString(page.NextToken) == "" {
			return out, nil
		}
		in = &kin.ListShardsInput{NextToken: page.NextToken}
	}
}

// worker is one shard being read.
type worker struct {
	shard  Shard
	cancel context.CancelFunc
}

// outcome is how a shard's goroutine ended.
type outcome struct {
	shard    string
	finished bool
	err      error
}

// Run reads the stream until ctx ends: it takes leases, reads and checkpoints the shards it
// holds, renews its leases, and looks for new shards and for leases to take. When ctx ends it
// checkpoints every shard it reads and releases their leases, within Grace, and returns nil. It
// returns an error only when the stream cannot be listed at the start (a wrong name, no access).
func (c *Consumer) Run(ctx context.Context) error {
	shards, err := c.listShards(ctx)
	if err != nil {
		return err
	}
	lastSync := c.cfg.Now()
	var (
		view     leaseView
		held     = map[string]Lease{}     // by shard id
		renewed  = map[string]time.Time{} // when each held lease was last renewed
		workers  = map[string]*worker{}
		retryAt  = map[string]time.Time{} // held shards whose goroutine failed, restarted after this
		failures = map[string]int{}
		done     = make(chan outcome)
		wg       sync.WaitGroup
	)
	key := c.cfg.Runner.Key
	start := func(sh Shard) {
		wctx, cancel := context.WithCancel(ctx)
		workers[sh.ID] = &worker{shard: sh, cancel: cancel}
		listedParents := false
		for _, p := range sh.Parents {
			if _, ok := shards[p]; ok {
				listedParents = true
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			fin, err := c.readShard(wctx, sh, listedParents)
			cancel()
			done <- outcome{shard: sh.ID, finished: fin, err: err}
		}()
	}
	stop := func(id string) {
		if w := workers[id]; w != nil {
			w.cancel()
		}
	}
	setLeases := func() { c.count(func(s *Stats) { s.Leases = len(held) }) }
	handle := func(o outcome) {
		delete(workers, o.shard)
		c.mu.Lock()
		delete(c.shards, o.shard)
		c.mu.Unlock()
		l, ok := held[o.shard]
		switch {
		case !ok:
		case o.finished:
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.Grace)
			_, err := c.owned(fctx, l, c.cfg.Leases.Finish)
			cancel()
			if err != nil {
				c.event(EventError, o.shard, err)
			}
			delete(held, o.shard)
			delete(renewed, o.shard)
			lastSync = time.Time{} // list again: the shard's children can start
			setLeases()
		case o.err != nil && ctx.Err() == nil:
			failures[o.shard]++
			retryAt[o.shard] = c.cfg.Now().Add(c.backoff(failures[o.shard] - 1))
		}
	}
	round := func() {
		now := c.cfg.Now()
		// Renew what we hold; a lease that cannot be renewed for its whole duration is as good as lost.
		for _, id := range slices.Sorted(maps.Keys(held)) {
			// Not cancelled with ctx: a renewal cut off in flight may have been applied, leaving
			// this consumer with a stale counter for its release.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.LeaseDuration)
			l, err := c.cfg.Leases.Renew(rctx, held[id], now)
			cancel()
			switch {
			case err == nil:
				held[id], renewed[id] = l, now
				continue
			case ctx.Err() != nil:
				return
			case !errors.Is(err, ErrLeaseLost) && now.Sub(renewed[id]) < c.cfg.LeaseDuration:
				c.event(EventError, id, err)
				continue
			}
			c.event(EventLost, id, err)
			delete(held, id)
			delete(renewed, id)
			stop(id)
		}
		setLeases()
		if now.Sub(lastSync) >= c.cfg.ShardSync {
			s, err := c.listShards(ctx)
			if err != nil {
				c.event(EventError, "", err)
			} else {
				shards, lastSync = s, now
			}
		}
		leases, err := c.cfg.Leases.List(ctx, c.cfg.Runner.App)
		if err != nil {
			c.event(EventError, "", err)
			return
		}
		view.observe(leases, now)
		byShard := make(map[string]Lease, len(leases))
		for _, l := range leases {
			byShard[l.Shard] = l
		}
		var eligible []Lease
		for _, id := range slices.Sorted(maps.Keys(shards)) {
			l, ok := byShard[id]
			if !ok {
				l = Lease{Key: key(id), Shard: id}
			}
			if l.Finished {
				continue
			}
			ready := true
			for _, p := range shards[id].Parents {
				if _, listed := shards[p]; listed && !byShard[p].Finished {
					ready = false
				}
			}
			if !ready {
				continue
			}
			if h, ok := held[id]; ok {
				l = h // our own view of our leases is the newest
			} else if l.Owner == c.owner {
				l.Owner = "" // ours in the table but given up here (renewals failed): free to take again
			}
			eligible = append(eligible, l)
		}
		p := balance(c.owner, eligible, func(l Lease) bool { return view.expired(l, now, c.cfg.LeaseDuration) })
		take := p.take
		if p.steal != nil {
			take = append(take, *p.steal)
		}
		for _, l := range take {
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.LeaseDuration)
			got, err := c.cfg.Leases.Acquire(actx, l, c.owner, now)
			cancel()
			if err != nil {
				if !errors.Is(err, ErrLeaseLost) && ctx.Err() == nil {
					c.event(EventError, l.Shard, err)
				}
				continue
			}
			held[l.Shard], renewed[l.Shard] = got, now
			delete(failures, l.Shard)
			c.event(EventAcquired, l.Shard, nil)
		}
		setLeases()
		// Read every held shard that has no goroutine (new, or failed and due for a retry).
		for _, id := range slices.Sorted(maps.Keys(held)) {
			if workers[id] != nil || now.Before(retryAt[id]) {
				continue
			}
			sh, ok := shards[id]
			if !ok {
				continue // held but no longer listed: it expired from the stream
			}
			start(sh)
		}
	}

	tick := time.NewTicker(c.cfg.RenewEvery)
	defer tick.Stop()
	for ctx.Err() == nil {
		round()
		select {
		case <-ctx.Done():
		case o := <-done:
			handle(o)
			if o.finished {
				continue // at once: list the shard's children
			}
		case <-tick.C:
		}
	}

	// Shutdown: every shard checkpoints (its goroutine does so when its context ends), then the
	// leases are released so that other consumers take them at once.
	gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.Grace)
	defer cancel()
	go func() { wg.Wait(); close(done) }()
	for o := range done {
		handle(o)
	}
	for _, id := range slices.Sorted(maps.Keys(held)) {
		if _, err := c.owned(gctx, held[id], c.cfg.Leases.Release); err != nil {
			c.event(EventError, id, err)
			continue
		}
		c.event(EventReleased, id, nil)
	}
	clear(held)
	// A lease whose acquisition or renewal was cut off in flight may be ours in the table without
	// this consumer knowing it: release those too, rather than leave them to expire.
	if ls, err := c.cfg.Leases.List(gctx, c.cfg.Runner.App); err == nil {
		for _, l := range ls {
			if l.Owner == c.owner && !l.Finished {
				if _, err := c.cfg.Leases.Release(gctx, l); err == nil {
					c.event(EventReleased, l.Shard, nil)
				}
			}
		}
	}
	setLeases()
	return nil
}

// owned applies op (Release, Finish) to a lease this consumer holds. If the lease changed since
// this consumer last wrote it, but is still its own (a write whose answer was lost in flight was
// applied), op is applied again over the lease as it is now.
func (c *Consumer) owned(ctx context.Context, l Lease, op func(context.Context, Lease) (Lease, error)) (Lease, error) {
	got, err := op(ctx, l)
	if !errors.Is(err, ErrLeaseLost) {
		return got, err
	}
	cur, gerr := c.cfg.Leases.Get(ctx, l.Key)
	if gerr != nil || cur.Owner != c.owner {
		return got, err
	}
	return op(ctx, cur)
}

// Quality returns the report's quality counters in the quality chain's terms, for metrics:
// Processed, Passed, Failed and Duplicate from Stats, QualityScore from them (100 with no
// record), and Late counted over the batch's trades with the chain's rule (ingested more than
// maxIngestDelay after the trade). FailedByReason and Warnings are not known here and stay empty.
func (r Report) Quality(maxIngestDelay time.Duration) quality.Stats {
	s := quality.Stats{
		Processed: r.Stats.Records, Passed: r.Stats.Trades, Failed: r.Stats.DeadLetters, Duplicate: r.Stats.Duplicates,
		QualityScore: 100,
	}
	if r.Batch != nil {
		for i := range r.Batch.Trades {
			t := &r.Batch.Trades[i]
			if !t.IngestionTimestamp.IsZero() && t.IngestionTimestamp.After(t.Timestamp.Add(maxIngestDelay)) {
				s.Late++
			}
		}
	}
	if s.Processed > 0 {
		s.QualityScore = float64(s.Passed) / float64(s.Processed) * 100
	}
	return s
}
