// Package streamfn is the stream Lambda's handler: a Kinesis event-source mapping's batches
// through the same per-shard kinesis.Runner the consumer runs, so that for the same records it
// emits exactly what the consumer emits, however the mapping splits them into batches and however
// often it retries one.
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
// records succeeded, so the handler opens children with kinesis.Shard.ParentsDone.
//
// # Failures
//
// When a shard fails (its state cannot be loaded or saved, a sink cannot be committed, another
// owner saved the state first) the response names, in BatchItemFailures, the first record whose
// processing is not durable: the first record after the sequence number the stored state holds.
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
package streamfn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	kin "github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/detect"
	"github.com/coattailcapital/ctc/metrics/emf"
	"github.com/coattailcapital/ctc/quality"
	sinkkinesis "github.com/coattailcapital/ctc/sink/kinesis"
	"github.com/coattailcapital/ctc/source/kinesis"
)

// DefaultApp is the application name of the stream Lambda's shard states and commits.
const DefaultApp = "ctc-stream-lambda"

// ShardLister lists a stream's shards; *kinesis.Client implements it.
type ShardLister interface {
	ListShards(ctx context.Context, in *kin.ListShardsInput, opts ...func(*kin.Options)) (*kin.ListShardsOutput, error)
}

// Config configures a Handler.
type Config struct {
	// App names the shard states (App/shard-id) and the pipeline ids of the Iceberg commits;
	// default DefaultApp. A consumer reading the same stream must use another name.
	App string
	// Store keeps the shard states (kinesis.DynamoStateStore on AWS). Required.
	Store kinesis.StateStore
	// Shards lists the streams' shards. Required.
	Shards ShardLister
	// Quality configures the quality chain and Thresholds the detectors, as the consumer's; the
	// zero Thresholds are detect.DefaultThresholds.
	Quality    quality.Config
	Thresholds detect.Thresholds
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
	shards  map[string]map[string]kinesis.Shard // stream → shard id → shard
	sentDLQ map[string]int64                    // pipeline id → last checkpoint whose dead letters were sent
}

// New returns a Handler.
func New(cfg Config) (*Handler, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("streamfn: Config.Store is required")
	case cfg.Shards == nil:
		return nil, errors.New("streamfn: Config.Shards is required")
	}
	if cfg.App == "" {
		cfg.App = DefaultApp
	}
	if cfg.Thresholds == (detect.Thresholds{}) {
		cfg.Thresholds = detect.DefaultThresholds()
	}
	if _, err := cfg.Thresholds.Detectors(); err != nil {
		return nil, fmt.Errorf("streamfn: %w", err)
	}
	if err := cfg.Quality.Validate(); err != nil {
		return nil, fmt.Errorf("streamfn: %w", err)
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Handler{cfg: cfg, shards: map[string]map[string]kinesis.Shard{}, sentDLQ: map[string]int64{}}, nil
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
			return nil, fmt.Errorf("streamfn: record %d: %w", i, err)
		}
		stream, err := StreamName(r.EventSourceArn)
		if err != nil {
			return nil, fmt.Errorf("streamfn: record %d: %w", i, err)
		}
		if r.Kinesis.SequenceNumber == "" {
			return nil, fmt.Errorf("streamfn: record %d has no kinesis.sequenceNumber", i)
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

// Handle processes one event. Shards that fail are reported in BatchItemFailures; the error is
// non-nil only for an event that is not a Kinesis event.
func (h *Handler) Handle(ctx context.Context, ev *events.KinesisEvent) (events.KinesisEventResponse, error) {
	var resp events.KinesisEventResponse
	gs, err := groups(ev)
	if err != nil {
		return resp, err
	}
	for _, g := range gs {
		if seq := h.run(ctx, &g); seq != "" {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.KinesisBatchItemFailure{ItemIdentifier: seq})
		}
	}
	return resp, nil
}

// run processes one shard's records and returns "" or the sequence number to retry from.
func (h *Handler) run(ctx context.Context, g *group) string {
	log := h.cfg.Log.With("stream", g.stream, "shard", g.shard)
	shard, err := h.shard(ctx, g.stream, g.shard)
	if err != nil {
		log.ErrorContext(ctx, "streamfn: cannot find the shard", "err", err)
		return g.recs[0].Kinesis.SequenceNumber
	}
	sinks := append([]ctc.Sink(nil), h.cfg.Sinks...)
	if h.cfg.NewSinks != nil {
		own, err := h.cfg.NewSinks(ctx)
		if err != nil {
			log.ErrorContext(ctx, "streamfn: cannot open the invocation's sinks", "err", err)
			return g.recs[0].Kinesis.SequenceNumber
		}
		defer closeAll(context.WithoutCancel(ctx), own, log)
		sinks = append(sinks, own...)
	}
	if h.cfg.DeadLetters != nil {
		sinks = append(sinks, &deadLetters{p: h.cfg.DeadLetters, h: h})
	}
	counter := &alertCounter{}
	sinks = append(sinks, counter)

	var chains []*quality.Chain
	cfg := &kinesis.Config{App: h.cfg.App, Store: h.cfg.Store, Sinks: sinks,
		NewProcessor: kinesis.Processors(h.cfg.Quality, h.cfg.Thresholds, func(c *quality.Chain) { chains = append(chains, c) })}
	r, err := kinesis.Open(ctx, cfg, shard)
	if err != nil {
		log.ErrorContext(ctx, "streamfn: cannot open the shard", "err", err)
		return h.retryFrom(ctx, cfg.Key(g.shard), g.recs)
	}
	before := sumStats(chains)
	counter.armed = true // what Open re-committed was counted by the invocation that produced it
	recs := make([]kinesis.Record, len(g.recs))
	for i := range g.recs {
		k := &g.recs[i].Kinesis
		recs[i] = kinesis.Record{SequenceNumber: k.SequenceNumber, PartitionKey: k.PartitionKey, Data: k.Data,
			ArrivalTime: k.ApproximateArrivalTimestamp.Time}
	}
	r.Process(recs)
	err = r.Checkpoint(ctx)
	if m := h.cfg.Metrics; m != nil {
		if err := m.Quality(emf.Since(before, sumStats(chains))); err != nil {
			log.WarnContext(ctx, "streamfn: quality metrics", "err", err)
		}
		if err := m.Alerts(counter.n); err != nil {
			log.WarnContext(ctx, "streamfn: alert metrics", "err", err)
		}
	}
	if err != nil {
		log.ErrorContext(ctx, "streamfn: checkpoint failed", "err", err)
		return h.retryFrom(ctx, cfg.Key(g.shard), g.recs)
	}
	return ""
}

// retryFrom returns the first record whose processing the stored state does not hold, or the
// last record when it holds them all (its sinks then need the commit that failed).
func (h *Handler) retryFrom(ctx context.Context, key string, recs []events.KinesisEventRecord) string {
	st, err := h.cfg.Store.Load(ctx, key)
	if err != nil || st == nil {
		return recs[0].Kinesis.SequenceNumber
	}
	for i := range recs {
		if kinesis.CompareSequence(recs[i].Kinesis.SequenceNumber, st.Sequence) > 0 {
			return recs[i].Kinesis.SequenceNumber
		}
	}
	return recs[len(recs)-1].Kinesis.SequenceNumber
}

// shard returns the shard's parents and range, listing the stream's shards when the shard is
// not known yet. A shard the listing does not have (closed and past the stream's retention) is
// taken as a shard without parents over the whole key range.
func (h *Handler) shard(ctx context.Context, stream, id string) (kinesis.Shard, error) {
	h.mu.Lock()
	s, ok := h.shards[stream][id]
	h.mu.Unlock()
	if ok {
		return s, nil
	}
	all, err := ListShards(ctx, h.cfg.Shards, stream)
	if err != nil {
		return kinesis.Shard{}, err
	}
	h.mu.Lock()
	h.shards[stream] = all
	h.mu.Unlock()
	s, ok = all[id]
	if !ok {
		h.cfg.Log.WarnContext(ctx, "streamfn: shard not listed; processing it without parents", "stream", stream, "shard", id)
		s = kinesis.Shard{ID: id, Range: kinesis.FullRange}
	}
	s.ParentsDone = true
	return s, nil
}

// ListShards lists every shard of a stream with its parents and hash-key range.
func ListShards(ctx context.Context, client ShardLister, stream string) (map[string]kinesis.Shard, error) {
	out := map[string]kinesis.Shard{}
	in := &kin.ListShardsInput{StreamName: aws.String(stream)}
	for {
		page, err := client.ListShards(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("streamfn: list the shards of %s: %w", stream, err)
		}
		for _, s := range page.Shards {
			id := aws.ToString(s.ShardId)
			sh := kinesis.Shard{ID: id, ParentsDone: true}
			for _, p := range []*string{s.ParentShardId, s.AdjacentParentShardId} {
				if aws.ToString(p) != "" {
					sh.Parents = append(sh.Parents, *p)
				}
			}
			if s.HashKeyRange == nil {
				return nil, fmt.Errorf("streamfn: shard %s of %s has no hash key range", id, stream)
			}
			r, err := kinesis.ParseHashRange(aws.ToString(s.HashKeyRange.StartingHashKey), aws.ToString(s.HashKeyRange.EndingHashKey))
			if err != nil {
				return nil, fmt.Errorf("streamfn: shard %s of %s: %w", id, stream, err)
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

func sumStats(chains []*quality.Chain) quality.Stats {
	var s quality.Stats
	for _, c := range chains {
		x := c.Stats()
		s.Processed += x.Processed
		s.Passed += x.Passed
		s.Failed += x.Failed
		s.Duplicate += x.Duplicate
		s.Late += x.Late
		s.Warnings += x.Warnings
	}
	return s
}

func closeAll(ctx context.Context, sinks []ctc.Sink, log *slog.Logger) {
	for _, s := range sinks {
		if c, ok := s.(ctc.Closer); ok {
			if err := c.Close(ctx); err != nil {
				log.WarnContext(ctx, "streamfn: close sink", "sink", fmt.Sprintf("%T", s), "err", err)
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
