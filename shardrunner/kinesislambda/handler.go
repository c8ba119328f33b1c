// Package kinesislambda is the stream Lambda's handler as a library: a Kinesis event-source
// mapping's batches through the same per-shard shardrunner.Runner the consumer runs, so that for the
// same records it emits exactly what the consumer emits, however the mapping splits them into
// batches and however often it retries one. It runs whatever engine Config.NewProcessor builds —
// the built-in detectors (shardrunner.Processors) or your own beside them — so a service that imports
// ctc builds its own stream Lambda with a main of a few lines (examples/customdetector/lambda):
//
//	h, _, err := kinesislambda.FromEnv(ctx, awsenv.FromEnv(os.Getenv), newProcessor, os.Stdout, log)
//	...
//	lambda.Start(func(ctx context.Context, ev events.KinesisEvent) (events.KinesisEventResponse, error) {
//		return h.Handle(ctx, &ev)
//	})
//
// # One invocation
//
// The records are grouped by shard (the shard id is the part of each eventID before the colon;
// the mapping sends one shard per invocation, and several groups are handled one after the
// other). For each shard the handler opens a Runner on the shard's state in the state store,
// processes the records (those the state already holds, delivered again by a retry, are skipped)
// and checkpoints: the new state is saved with its output, then the output is written to the
// sinks and committed. The shard's parents and hash-key range come from ListShards on the stream
// named by the eventSourceARN, listed once per container and again when a shard is not in the
// list (a child after a reshard). The mapping delivers a child only after all of its parents'
// records succeeded, so the handler opens children with shardrunner.Shard.ParentsDone.
//
// # Failures
//
// When a shard fails (its state cannot be loaded or saved, a sink cannot be committed, another
// owner saved the state first) Process returns a *BatchError naming the first record whose
// processing is not durable, and Handle puts it in the response's BatchItemFailures: the first record after the sequence number the stored state holds.
// The mapping retries from it; the records before it are in the state and are not processed
// again. When the state holds every record but the sinks were not committed, the last record is
// named: its redelivery reopens the shard, which commits the saved output again (idempotently),
// and is then skipped. An event that is not a Kinesis event (a record without a shard in its
// eventID) fails the invocation with an error.
//
// # Sinks and metrics
//
// Config.Sinks (the DynamoDB alert store) are shared by every invocation of a container;
// Config.NewSinks makes the sinks of one invocation (an Iceberg sink on a catalog opened once per
// container). Dead letters go to the DLQ stream when Config.DeadLetters is set, at least once:
// once per container, again when another container reopens a shard whose last checkpoint it
// cannot know was sent. Each invocation writes one EMF line of
// quality counters (what this invocation's records did to the quality chains) and one of alert
// counts.
package kinesislambda

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/aws/aws-lambda-go/events"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/metrics/emf"
	"github.com/coattailcapital/ctc/quality"
	"github.com/coattailcapital/ctc/shardrunner"
	sinkkinesis "github.com/coattailcapital/ctc/sink/kinesis"
)

// DefaultApp is the application name of the stream Lambda's shard states and commits.
const DefaultApp = "ctc-stream-lambda"

// ShardLister lists a stream's shards; *shardrunner.Client implements it.
type ShardLister = shardrunner.ShardLister

// Config configures a Handler.
type Config struct {
	// App names the shard states (App/shard-id) and the pipeline ids of the Iceberg commits;
	// default DefaultApp. A consumer reading the same stream must use another name.
	App string
	// Store keeps the shard states (shardrunner.DynamoStateStore on AWS). Required.
	Store shardrunner.StateStore
	// Shards lists the streams' shards. Required.
	Shards ShardLister
	// NewProcessor builds the engine of one hash-key range: the quality chain and the detectors,
	// built the same way at every call. shardrunner.Processors builds the built-in ones; add your own
	// detectors to ctc.WithDetectors. Required.
	NewProcessor func() (*ctc.Processor, error)
	// Sinks are shared by all invocations and must write through (the DynamoDB alert store).
	Sinks []ctc.Sink
	// NewSinks, when set, returns the sinks of one invocation (an Iceberg sink); those that are
	// ctc.Closers are closed when it ends.
	NewSinks func(ctx context.Context) ([]ctc.Sink, error)
	// DeadLetters, when set, receives the dead letters on its DLQ stream.
	DeadLetters *sinkkinesis.Producer
	// Metrics, when set, receives the quality and alert counts of each invocation.
	Metrics *emf.Logger
	// Log receives what failed; default discard.
	Log *slog.Logger
}

// Handler handles the stream Lambda's invocations. Lambda runs one invocation at a time per
// container, but a Handler is safe for concurrent use anyway, provided that no two concurrent
// invocations carry the same shard (which the state store's conditional saves would refuse).
type Handler struct {
	cfg Config

	mu      sync.Mutex
	shards  map[string]map[string]shardrunner.Shard // stream → shard id → shard
	sentDLQ map[string]int64                        // pipeline id → last checkpoint whose dead letters were sent
}

// New returns a Handler.
func New(cfg Config) (*Handler, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("kinesislambda: Config.Store is required")
	case cfg.Shards == nil:
		return nil, errors.New("kinesislambda: Config.Shards is required")
	case cfg.NewProcessor == nil:
		return nil, errors.New("kinesislambda: Config.NewProcessor is required (shardrunner.Processors builds the built-in detectors)")
	}
	if cfg.App == "" {
		cfg.App = DefaultApp
	}
	// Build one engine now, so that a configuration that cannot build one fails at start, not
	// at the first record.
	if _, err := cfg.NewProcessor(); err != nil {
		return nil, fmt.Errorf("kinesislambda: %w", err)
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Handler{cfg: cfg, shards: map[string]map[string]shardrunner.Shard{}, sentDLQ: map[string]int64{}}, nil
}

// group is one shard's records of an event.
type group struct {
	stream, shard string
	recs          []events.KinesisEventRecord
}

// ParseEventID splits a Kinesis event record's eventID, "shardId-000000000000:4954…", into the
// shard id and the sequence number.
func ParseEventID(id string) (shard, seq string, err error) {
	shard, seq, ok := strings.Cut(id, ":")
	if !ok || shard == "" || seq == "" {
		return "", "", fmt.Errorf("eventID %q is not shard-id:sequence-number", id)
	}
	return shard, seq, nil
}

// StreamName returns the stream name of a Kinesis stream ARN,
// arn:aws:kinesis:region:account:stream/NAME.
func StreamName(arn string) (string, error) {
	i := strings.LastIndex(arn, ":stream/")
	if !strings.HasPrefix(arn, "arn:") || i < 0 || len(arn) == i+len(":stream/") {
		return "", fmt.Errorf("eventSourceARN %q is not a Kinesis stream ARN (arn:aws:kinesis:REGION:ACCOUNT:stream/NAME)", arn)
	}
	name := arn[i+len(":stream/"):]
	if j := strings.IndexByte(name, '/'); j >= 0 { // a consumer ARN: stream/NAME/consumer/…
		name = name[:j]
	}
	return name, nil
}

func groups(ev *events.KinesisEvent) ([]group, error) {
	var gs []group
	idx := map[string]int{}
	for i := range ev.Records {
		r := &ev.Records[i]
		shard, _, err := ParseEventID(r.EventID)
		if err != nil {
			return nil, fmt.Errorf("kinesislambda: record %d: %w", i, err)
		}
		stream, err := StreamName(r.EventSourceArn)
		if err != nil {
			return nil, fmt.Errorf("kinesislambda: record %d: %w", i, err)
		}
		if r.Kinesis.SequenceNumber == "" {
			return nil, fmt.Errorf("kinesislambda: record %d has no shardrunner.sequenceNumber", i)
		}
		k := stream + "\x00" + shard
		j, ok := idx[k]
		if !ok {
			j = len(gs)
			idx[k] = j
			gs = append(gs, group{stream: stream, shard: shard})
		}
		gs[j].recs = append(gs[j].recs, *r)
	}
	return gs, nil
}

// BatchError says where a shard's batch must be delivered again from: the records before Retry
// are durable (in the saved state, their output committed), Retry and those after it are not.
// Err is why. The Lambda adapter turns it into a BatchItemFailure; another host would seek its
// reader back to Retry.
type BatchError struct {
	Stream, Shard string
	// Retry is the sequence number of the first record to deliver again.
	Retry string
	Err   error
}

func (e *BatchError) Error() string {
	return fmt.Sprintf("kinesislambda: %s/%s: retry from %s: %v", e.Stream, e.Shard, e.Retry, e.Err)
}

func (e *BatchError) Unwrap() error { return e.Err }

// Handle processes one event. Shards that fail are reported in BatchItemFailures (one per shard,
// from its BatchError); the error is non-nil only for an event that is not a Kinesis event.
func (h *Handler) Handle(ctx context.Context, ev *events.KinesisEvent) (events.KinesisEventResponse, error) {
	var resp events.KinesisEventResponse
	gs, err := groups(ev)
	if err != nil {
		return resp, err
	}
	for _, g := range gs {
		if err := h.Process(ctx, g.stream, g.shard, g.recs); err != nil {
			var be *BatchError
			if !errors.As(err, &be) {
				return resp, err
			}
			h.cfg.Log.ErrorContext(ctx, "kinesislambda: shard failed", "stream", g.stream, "shard", g.shard, "retry", be.Retry, "err", be.Err)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.KinesisBatchItemFailure{ItemIdentifier: be.Retry})
		}
	}
	return resp, nil
}

// Process runs one shard's records, in order, through its Runner and checkpoints. It returns nil
// or a *BatchError naming the first record to deliver again.
func (h *Handler) Process(ctx context.Context, stream, shardID string, recs []events.KinesisEventRecord) error {
	if len(recs) == 0 {
		return nil
	}
	g := &group{stream: stream, shard: shardID, recs: recs}
	fail := func(retry string, err error) error {
		return &BatchError{Stream: stream, Shard: shardID, Retry: retry, Err: err}
	}
	log := h.cfg.Log.With("stream", g.stream, "shard", g.shard)
	shard, err := h.shard(ctx, g.stream, g.shard)
	if err != nil {
		return fail(g.recs[0].Kinesis.SequenceNumber, fmt.Errorf("cannot find the shard: %w", err))
	}
	sinks := append([]ctc.Sink(nil), h.cfg.Sinks...)
	if h.cfg.NewSinks != nil {
		own, err := h.cfg.NewSinks(ctx)
		if err != nil {
			return fail(g.recs[0].Kinesis.SequenceNumber, fmt.Errorf("cannot open the invocation's sinks: %w", err))
		}
		defer closeAll(context.WithoutCancel(ctx), own, log)
		sinks = append(sinks, own...)
	}
	if h.cfg.DeadLetters != nil {
		sinks = append(sinks, &deadLetters{p: h.cfg.DeadLetters, h: h})
	}
	counter := &alertCounter{}
	sinks = append(sinks, counter)

	cfg := &shardrunner.Config{App: h.cfg.App, Store: h.cfg.Store, Sinks: sinks, NewProcessor: h.cfg.NewProcessor}
	r, err := shardrunner.Open(ctx, cfg, shard)
	if err != nil {
		return fail(h.retryFrom(ctx, cfg.Key(g.shard), g.recs), fmt.Errorf("cannot open the shard: %w", err))
	}
	before := qualityStats(r)
	counter.armed = true // what Open re-committed was counted by the invocation that produced it
	krecs := make([]shardrunner.Record, len(g.recs))
	for i := range g.recs {
		k := &g.recs[i].Kinesis
		krecs[i] = shardrunner.Record{SequenceNumber: k.SequenceNumber, PartitionKey: k.PartitionKey, Data: k.Data,
			ArrivalTime: k.ApproximateArrivalTimestamp.Time}
	}
	r.Process(krecs)
	err = r.Checkpoint(ctx)
	if m := h.cfg.Metrics; m != nil {
		if err := m.Quality(emf.Since(before, qualityStats(r))); err != nil {
			log.WarnContext(ctx, "kinesislambda: quality metrics", "err", err)
		}
		if err := m.Alerts(counter.n); err != nil {
			log.WarnContext(ctx, "kinesislambda: alert metrics", "err", err)
		}
	}
	if err != nil {
		return fail(h.retryFrom(ctx, cfg.Key(g.shard), g.recs), fmt.Errorf("checkpoint: %w", err))
	}
	return nil
}

// retryFrom returns the first record whose processing the stored state does not hold, or the
// last record when it holds them all (its sinks then need the commit that failed).
func (h *Handler) retryFrom(ctx context.Context, key string, recs []events.KinesisEventRecord) string {
	st, err := h.cfg.Store.Load(ctx, key)
	if err != nil || st == nil {
		return recs[0].Kinesis.SequenceNumber
	}
	for i := range recs {
		if shardrunner.CompareSequence(recs[i].Kinesis.SequenceNumber, st.Sequence) > 0 {
			return recs[i].Kinesis.SequenceNumber
		}
	}
	return recs[len(recs)-1].Kinesis.SequenceNumber
}

// shard returns the shard's parents and range, listing the stream's shards when the shard is
// not known yet. A shard the listing does not have (closed and past the stream's retention) is
// taken as a shard without parents over the whole key range.
func (h *Handler) shard(ctx context.Context, stream, id string) (shardrunner.Shard, error) {
	h.mu.Lock()
	s, ok := h.shards[stream][id]
	h.mu.Unlock()
	if ok {
		return s, nil
	}
	all, err := shardrunner.ListShards(ctx, h.cfg.Shards, stream)
	if err != nil {
		return shardrunner.Shard{}, err
	}
	for id, s := range all {
		s.ParentsDone = true
		all[id] = s
	}
	h.mu.Lock()
	h.shards[stream] = all
	h.mu.Unlock()
	s, ok = all[id]
	if !ok {
		h.cfg.Log.WarnContext(ctx, "kinesislambda: shard not listed; processing it without parents", "stream", stream, "shard", id)
		s = shardrunner.Shard{ID: id, Range: shardrunner.FullRange}
	}
	s.ParentsDone = true
	return s, nil
}

// qualityStats sums the quality counters of a runner's engines, for those whose checker keeps
// them (quality.Chain does).
func qualityStats(r *shardrunner.Runner) quality.Stats {
	var s quality.Stats
	for _, p := range r.Processors() {
		c, ok := p.Checker().(interface{ Stats() quality.Stats })
		if !ok {
			continue
		}
		s.Add(c.Stats())
	}
	return s
}

func closeAll(ctx context.Context, sinks []ctc.Sink, log *slog.Logger) {
	for _, s := range sinks {
		if c, ok := s.(ctc.Closer); ok {
			if err := c.Close(ctx); err != nil {
				log.WarnContext(ctx, "kinesislambda: close sink", "sink", fmt.Sprintf("%T", s), "err", err)
			}
		}
	}
}

// deadLetters sends only the dead letters of a checkpoint to the DLQ stream (the trades are on
// the trade stream already), at Commit. A Runner commits its last checkpoint's output again each
// time the shard is opened, because it cannot know whether that commit finished; the handler
// remembers the checkpoints whose dead letters it sent, so that a container sends each only once
// (a new container may send the last one again: at least once).
type deadLetters struct {
	p       *sinkkinesis.Producer
	h       *Handler
	pending []ctc.DeadLetter
}

var _ ctc.Committer = (*deadLetters)(nil)

func (d *deadLetters) Write(_ context.Context, b *ctc.Batch) error {
	d.pending = append(d.pending, b.DeadLetters...)
	return nil
}

func (d *deadLetters) Commit(ctx context.Context, cp ctc.Checkpoint) error {
	dls := d.pending
	d.pending = nil
	d.h.mu.Lock()
	sent := d.h.sentDLQ[cp.PipelineID]
	d.h.mu.Unlock()
	if len(dls) == 0 || cp.Seq <= sent {
		return nil
	}
	if err := d.p.Write(ctx, &ctc.Batch{DeadLetters: dls, Position: cp.Position}); err != nil {
		return err
	}
	d.h.mu.Lock()
	d.h.sentDLQ[cp.PipelineID] = cp.Seq
	d.h.mu.Unlock()
	return nil
}

// alertCounter counts the alerts written once armed.
type alertCounter struct {
	armed bool
	n     emf.AlertCounts
}

func (a *alertCounter) Write(_ context.Context, b *ctc.Batch) error {
	if a.armed {
		c := emf.CountAlerts(b.Output.Alerts)
		a.n.Anomalies += c.Anomalies
		a.n.Whales += c.Whales
		a.n.Spreads += c.Spreads
	}
	return nil
}
