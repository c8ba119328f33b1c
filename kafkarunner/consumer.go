package kafkarunner

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/partrunner"
)

// Defaults of Config's zero fields.
const (
	DefaultTopic           = "coattail-trades"
	DefaultCheckpointEvery = 10 * time.Second
	DefaultMaxPollRecords  = 10_000
	DefaultGrace           = 30 * time.Second
)

// Config configures a Consumer.
type Config struct {
	// Client are the kgo options of the consumer's client besides the group's: brokers
	// (kgo.SeedBrokers), TLS, SASL. Required: at least the brokers.
	Client []kgo.Opt
	// Topic is the trade topic; default DefaultTopic.
	Topic string
	// Group is the consumer group; default App.
	Group string
	// App names the application: partition states are kept under App/topic/partition, which is
	// also the pipeline id the sinks commit under. Required.
	App string
	// Store keeps the partition states; its saves must be conditional on the state's version
	// (partrunner.StateStore): shardrunner.DynamoStateStore, FileStateStore, or
	// partrunner.MemoryStateStore in one process. Required. Runner.Store is set to it.
	Store partrunner.StateStore
	// Runner configures the partitions' runners: NewProcessor (required), PartitionKey (the
	// producer's instrument rule; default partrunner.Instrument), and Sinks shared by every
	// partition (write-through sinks safe for concurrent use, such as the alert stores).
	Runner partrunner.Config
	// NewSinks returns the sinks of one partition, for sinks that buffer per pipeline (the Iceberg
	// sink); id is topic/partition. It is called each time a partition opens; the sinks that
	// implement ctc.Closer are closed when it is dropped. Optional.
	NewSinks func(ctx context.Context, id string) ([]ctc.Sink, error)
	// StartAtEnd makes a partition without a state start at its end (new records only) instead of
	// its earliest offset. Kafka's committed offsets are not consulted either way: the state store
	// says where a partition is.
	StartAtEnd bool
	// CheckpointEvery is how often the held partitions are checkpointed; default 10 s. They are
	// also checkpointed when revoked and when Run stops.
	CheckpointEvery time.Duration
	// MaxPollRecords bounds the records processed between two chances to rebalance; default
	// DefaultMaxPollRecords.
	MaxPollRecords int
	// Grace bounds the final checkpoints when Run's context ends; default 30 s.
	Grace time.Duration
	// AcceptRepartition lets Run go on when the topic's partition count differs from the one its
	// states were processed under, accepting that the keys that moved restart their windows and
	// dedup memory on their new partition. Default: refuse, Run returns ErrRepartitioned.
	AcceptRepartition bool
	// Now is the clock of checkpoint intervals (never of processing); default time.Now.
	Now func() time.Time
	// OnEvent, when set, is called for what happens to partitions (from Run's goroutine and
	// kgo's group goroutine, never concurrently).
	OnEvent func(Event)
}

// EventKind says what an Event reports.
type EventKind string

// The events.
const (
	EventAssigned      EventKind = "assigned"      // the partition's runner opened
	EventRevoked       EventKind = "revoked"       // checkpointed and handed over in a rebalance
	EventLost          EventKind = "lost"          // dropped without checkpoint (the group session ended)
	EventConflict      EventKind = "conflict"      // a checkpoint found that another member saved the partition: reopened from its state
	EventCheckpointed  EventKind = "checkpointed"  // a checkpoint of the partition
	EventCommitFailed  EventKind = "commit-failed" // committing Kafka offsets (a convenience) failed
	EventRepartitioned EventKind = "repartitioned" // the partition count changed and AcceptRepartition let it go on
	EventFetchError    EventKind = "fetch-error"   // a fetch error kgo reported; it retries
)

// Event is one thing that happened to a partition.
type Event struct {
	Kind      EventKind
	Partition int32
	Err       error
}

func (c *Config) validate() error {
	switch {
	case c.App == "":
		return errors.New("kafkarunner: Config.App is required")
	case c.Store == nil:
		return errors.New("kafkarunner: Config.Store is required")
	case c.Runner.NewProcessor == nil:
		return errors.New("kafkarunner: Config.Runner.NewProcessor is required")
	case c.CheckpointEvery < 0 || c.Grace < 0 || c.MaxPollRecords < 0:
		return errors.New("kafkarunner: CheckpointEvery, Grace and MaxPollRecords must not be negative")
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.Topic == "" {
		c.Topic = DefaultTopic
	}
	if c.Group == "" {
		c.Group = c.App
	}
	c.Runner.App, c.Runner.Store = c.App, c.Store
	if c.Runner.PartitionKey == nil {
		c.Runner.PartitionKey = partrunner.Instrument
	}
	if c.NewSinks == nil {
		c.NewSinks = func(context.Context, string) ([]ctc.Sink, error) { return nil, nil }
	}
	if c.CheckpointEvery == 0 {
		c.CheckpointEvery = DefaultCheckpointEvery
	}
	if c.MaxPollRecords == 0 {
		c.MaxPollRecords = DefaultMaxPollRecords
	}
	if c.Grace == 0 {
		c.Grace = DefaultGrace
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.OnEvent == nil {
		c.OnEvent = func(Event) {}
	}
	return c
}

func (c *Config) start() kgo.Offset {
	if c.StartAtEnd {
		return kgo.NewOffset().AtEnd()
	}
	return kgo.NewOffset().AtStart()
}

// Stats is a snapshot of what a consumer has done.
type Stats struct {
	// Records counts the records processed (not counting deliveries again of processed records).
	Records int64
	// Checkpoints counts partition checkpoints that saved a state.
	Checkpoints int64
	// Conflicts counts checkpoints refused because another member had saved the partition.
	Conflicts int64
	// Held is the number of partitions held now.
	Held int
}

// Consumer reads a topic in a consumer group and runs every partition it is assigned through the
// one engine, with exactly-once output into its sinks (see the package documentation).
type Consumer struct {
	cfg Config
	mu  sync.Mutex // guards ps, starts, seeks and fatal: Run's goroutine and kgo's group callbacks
	ps  *Partitions
	// starts are the offsets of partitions just assigned, for the AdjustFetchOffsetsFn (-1: no
	// state); seeks are those of partitions reopened after a conflict, for Run to set.
	starts     map[int32]int64
	seeks      map[int32]int64
	fatal      error
	records    atomic.Int64
	ckpts      atomic.Int64
	conflicts  atomic.Int64
	held       atomic.Int64
	cl         *kgo.Client
	cancelPoll context.CancelFunc
}

// New returns a consumer for cfg; Run starts it.
func New(cfg Config) (*Consumer, error) {
	ps, err := NewPartitions(cfg)
	if err != nil {
		return nil, err
	}
	if len(cfg.Client) == 0 {
		return nil, errors.New("kafkarunner: Config.Client needs the brokers: kgo.SeedBrokers(...)")
	}
	return &Consumer{cfg: ps.cfg, ps: ps, starts: map[int32]int64{}, seeks: map[int32]int64{}}, nil
}

// Stats returns the counters; safe to call from any goroutine.
func (c *Consumer) Stats() Stats {
	return Stats{Records: c.records.Load(), Checkpoints: c.ckpts.Load(), Conflicts: c.conflicts.Load(), Held: int(c.held.Load())}
}

// Run joins the group and processes the partitions it is assigned until ctx ends (then it
// checkpoints them within Grace, commits their offsets and leaves the group) or a partition
// cannot be opened or checkpointed for a reason other than a conflict (then it returns the
// error, without checkpointing: the next owner restores the partitions from their states). A
// Consumer runs once.
func (c *Consumer) Run(ctx context.Context) error {
	cfg := &c.cfg
	opts := append([]kgo.Opt{}, cfg.Client...)
	opts = append(opts,
		kgo.ConsumerGroup(cfg.Group),
		kgo.ConsumeTopics(cfg.Topic),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.ConsumeResetOffset(cfg.start()),
		kgo.OnPartitionsAssigned(c.assigned),
		kgo.OnPartitionsRevoked(c.revoked),
		kgo.OnPartitionsLost(c.lost),
		kgo.AdjustFetchOffsetsFn(c.adjust),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("kafkarunner: %w", err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	c.mu.Lock()
	c.cl, c.cancelPoll = cl, cancel
	fatal := c.fatal // a callback may have run already
	c.mu.Unlock()
	if fatal != nil {
		cancel()
	}

	last := cfg.Now()
	for {
		wait := cfg.CheckpointEvery - cfg.Now().Sub(last)
		pctx, pcancel := context.WithTimeout(runCtx, max(wait, time.Millisecond))
		fs := cl.PollRecords(pctx, cfg.MaxPollRecords)
		pcancel()
		fs.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) && !errors.Is(err, kgo.ErrClientClosed) {
				cfg.OnEvent(Event{Kind: EventFetchError, Partition: p, Err: err})
			}
		})
		c.mu.Lock()
		fs.EachPartition(func(ftp kgo.FetchTopicPartition) {
			if ftp.Topic != cfg.Topic || len(ftp.Records) == 0 {
				return
			}
			recs := make([]Record, len(ftp.Records))
			for i, r := range ftp.Records {
				recs[i] = Record{Offset: r.Offset, Key: r.Key, Value: r.Value}
			}
			c.records.Add(int64(c.ps.Process(ftp.Partition, recs)))
		})
		stopping := runCtx.Err() != nil || c.fatal != nil
		if !stopping && cfg.Now().Sub(last) >= cfg.CheckpointEvery {
			// A checkpoint is not cut short when Run's context ends: stop's final one follows.
			cctx, ccancel := context.WithTimeout(context.WithoutCancel(runCtx), cfg.Grace)
			c.checkpointAll(cctx, c.ps.List())
			ccancel()
			last = cfg.Now()
		}
		if len(c.seeks) > 0 && c.fatal == nil {
			set := map[int32]kgo.EpochOffset{}
			for p, off := range c.seeks {
				set[p] = kgo.EpochOffset{Epoch: -1, Offset: off}
			}
			clear(c.seeks)
			cl.SetOffsets(map[string]map[int32]kgo.EpochOffset{cfg.Topic: set})
		}
		fatal := c.fatal
		c.mu.Unlock()
		if fatal != nil || runCtx.Err() != nil {
			return c.stop(ctx, fatal)
		}
		cl.AllowRebalance()
	}
}

// stop ends Run: after a fatal error it drops everything (the states are the truth) and closes
// the client; else it checkpoints what it holds within Grace and leaves the group.
func (c *Consumer) stop(ctx context.Context, fatal error) error {
	gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.Grace)
	defer cancel()
	c.mu.Lock()
	if fatal == nil {
		c.checkpointAll(gctx, c.ps.List())
		fatal = c.fatal
	}
	for _, p := range c.ps.List() {
		c.ps.Drop(gctx, p)
	}
	c.held.Store(0)
	c.mu.Unlock()
	c.cl.AllowRebalance()
	c.cl.Close() // leaves the group; the revoke callback finds nothing left to checkpoint
	return fatal
}

// checkpointAll checkpoints ps (c.mu held), then commits their offsets to Kafka — a convenience
// for tools that show a group's lag: the states say where the partitions are.
func (c *Consumer) checkpointAll(ctx context.Context, ps []int32) {
	offs := map[int32]kgo.EpochOffset{}
	for _, p := range ps {
		seek, err := c.ps.Checkpoint(ctx, p)
		switch {
		case err == nil:
			c.ckpts.Add(1)
			c.cfg.OnEvent(Event{Kind: EventCheckpointed, Partition: p})
			if n := c.ps.Next(p); n >= 0 {
				offs[p] = kgo.EpochOffset{Epoch: -1, Offset: n}
			}
		case errors.Is(err, partrunner.ErrConflict) && c.ps.Held(p):
			c.conflicts.Add(1)
			c.cfg.OnEvent(Event{Kind: EventConflict, Partition: p, Err: err})
			if seek < 0 {
				seek = c.startOffset()
			}
			c.seeks[p] = seek
		default:
			c.setFatal(fmt.Errorf("kafkarunner: checkpoint of %s: %w", c.cfg.ID(p), err))
		}
	}
	if len(offs) == 0 || c.cl == nil {
		return
	}
	c.cl.CommitOffsetsSync(ctx, map[string]map[int32]kgo.EpochOffset{c.cfg.Topic: offs},
		func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, _ *kmsg.OffsetCommitResponse, err error) {
			if err != nil {
				c.cfg.OnEvent(Event{Kind: EventCommitFailed, Partition: -1, Err: err})
			}
		})
}

// startOffset is the offset SetOffsets takes for a partition with no state: the earliest. (A
// configured Start of "latest" applies only at assignment, through the reset offset.)
func (c *Consumer) startOffset() int64 { return 0 }

func (c *Consumer) setFatal(err error) {
	if c.fatal == nil {
		c.fatal = err
		if c.cancelPoll != nil {
			c.cancelPoll()
		}
	}
}

// assigned opens the runners of newly assigned partitions (kgo's group goroutine; with
// BlockRebalanceOnPoll never while Run processes).
func (c *Consumer) assigned(ctx context.Context, cl *kgo.Client, assigned map[string][]int32) {
	parts := assigned[c.cfg.Topic]
	if len(parts) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cl = cl // Run may not have stored it yet
	if c.fatal != nil {
		return
	}
	if err := c.checkLayout(ctx); err != nil {
		c.setFatal(err)
		return
	}
	for _, p := range parts {
		off, err := c.ps.Open(ctx, p)
		if err != nil {
			c.setFatal(err)
			return
		}
		c.starts[p] = off
		c.held.Store(int64(len(c.ps.parts)))
		c.cfg.OnEvent(Event{Kind: EventAssigned, Partition: p})
	}
}

// checkLayout compares the topic's partition count, as the brokers say now, with the states'.
func (c *Consumer) checkLayout(ctx context.Context) error {
	tds, err := kadm.NewClient(c.cl).ListTopics(ctx, c.cfg.Topic)
	if err != nil {
		return fmt.Errorf("kafkarunner: describe topic %s: %w", c.cfg.Topic, err)
	}
	td, ok := tds[c.cfg.Topic]
	if !ok || td.Err != nil {
		return fmt.Errorf("kafkarunner: describe topic %s: %v", c.cfg.Topic, td.Err)
	}
	accepted, err := c.ps.CheckLayout(ctx, len(td.Partitions))
	if accepted {
		c.cfg.OnEvent(Event{Kind: EventRepartitioned, Partition: -1})
	}
	return err
}

// adjust replaces the committed offsets kgo fetched for the new partitions with the states'.
func (c *Consumer) adjust(_ context.Context, offsets map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for p := range offsets[c.cfg.Topic] {
		off, ok := c.starts[p]
		switch {
		case !ok:
			continue
		case off < 0:
			offsets[c.cfg.Topic][p] = c.cfg.start()
		default:
			offsets[c.cfg.Topic][p] = kgo.NewOffset().At(off).WithEpoch(-1)
		}
		delete(c.starts, p)
	}
	return offsets, nil
}

// revoked checkpoints the partitions handed to another member, then drops them.
func (c *Consumer) revoked(ctx context.Context, cl *kgo.Client, revoked map[string][]int32) {
	parts := revoked[c.cfg.Topic]
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cl = cl
	var held []int32
	for _, p := range parts {
		if c.ps.Held(p) {
			held = append(held, p)
		}
	}
	if c.fatal == nil {
		c.checkpointAll(ctx, held)
	}
	for _, p := range held {
		c.ps.Drop(ctx, p)
		delete(c.seeks, p)
		delete(c.starts, p)
		c.cfg.OnEvent(Event{Kind: EventRevoked, Partition: p})
	}
	c.held.Store(int64(len(c.ps.parts)))
}

// lost drops partitions without a checkpoint: the session ended, another member may hold them.
func (c *Consumer) lost(ctx context.Context, _ *kgo.Client, lost map[string][]int32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range lost[c.cfg.Topic] {
		if c.ps.Held(p) {
			c.ps.Drop(ctx, p)
			delete(c.seeks, p)
			delete(c.starts, p)
			c.cfg.OnEvent(Event{Kind: EventLost, Partition: p})
		}
	}
	c.held.Store(int64(len(c.ps.parts)))
}
