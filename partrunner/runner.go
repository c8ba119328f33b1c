package partrunner

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/coattailcapital/ctc"
)

// Record is one record of a partition as a host received it: from Kinesis GetRecords, a Lambda
// event, or a Kafka fetch.
type Record struct {
	// SequenceNumber is the record's position in its partition, a decimal integer without leading
	// zeros (a Kinesis sequence number, a Kafka offset): records are processed in its order and
	// skipped when at or before the last one processed (CompareSequence).
	SequenceNumber string
	// PartitionKey is the key the producer wrote the record under; its hash (HashOf) routes the
	// record to a hash-key range of the shard.
	PartitionKey string
	// Data is the record's payload: one trade as unified JSON (DESIGN §3.1).
	Data []byte
	// ArrivalTime is when the log accepted the record. Processing never reads it (event time
	// comes from the trade); it is there for hosts that report lag.
	ArrivalTime time.Time
}

// Shard is what a runner needs to know of a shard (a Kinesis shard, a Kafka partition).
type Shard struct {
	// ID names the shard within the application; with Config.App in front it is the state key.
	ID string
	// Parents are the shard's ParentShardId and AdjacentParentShardId, when it has them: the
	// shards it was split or merged from.
	Parents []string
	// Range is the shard's HashKeyRange; FullRange for a log that does not partition by hash
	// key ranges (Kafka).
	Range HashRange
	// ParentsDone asserts that every parent has been processed to its end, for hosts that know it
	// although the parents' states do not say so: the Lambda event-source mapping delivers a
	// child's records only after it has delivered all of its parents' records successfully, but
	// it never tells the function that a parent ended, so the parents' states are never marked
	// Finished. With it set, Open inherits the parents' states as they are.
	ParentsDone bool
}

// Config configures the runners of one application.
type Config struct {
	// App names the application: state keys are App/shard-id, and so are the pipeline ids under
	// which the sinks commit. Two applications reading one stream need two names. Required.
	App string
	// Store keeps the shard states. Required.
	Store StateStore
	// NewProcessor returns a fresh processor with the application's quality chain and detectors;
	// it is called once per hash-key range of a shard's ancestry. Every call must configure the
	// processor the same way. Required.
	NewProcessor func() (*ctc.Processor, error)
	// Sinks receive each checkpoint's output: Write, then Commit (ctc.Committer) or Flush
	// (ctc.Flusher). Each runner needs sinks of its own when a sink buffers per pipeline (as the
	// Iceberg sink does); sinks that write through (the alert stores) may be shared if they are
	// safe for concurrent use. A ctc.Resumer sink (files written through, the notifier's
	// incident state) is resumed by Open at the shard's last checkpoint known committed, as
	// ctc.Pipeline resumes its sinks; it must be the runner's own.
	Sinks []ctc.Sink
	// PartitionKey maps a symbol to the partition key its trades are written under; default
	// Instrument, the producer's default rule. With a producer configured with an instrument map,
	// give that map's Of (ctc.Instruments.Of).
	PartitionKey func(symbol string) string
}

// Instrument is the partition key the producer (sink/kinesis) writes a symbol's trades under:
// its base asset (BTC-USDT and BTC-USD → BTC), so that both exchanges of one instrument share a
// shard and the spread detector sees them together.
func Instrument(symbol string) string { return ctc.InstrumentOf(symbol) }

// Key is the state key and pipeline id of a shard: App/shard-id.
func (c *Config) Key(shardID string) string { return c.App + "/" + shardID }

// Validate reports a Config that Open would refuse: one without App, Store or NewProcessor.
func (c *Config) Validate() error {
	switch {
	case c.App == "":
		return errors.New("partrunner: Config.App is required")
	case c.Store == nil:
		return errors.New("partrunner: Config.Store is required")
	case c.NewProcessor == nil:
		return errors.New("partrunner: Config.NewProcessor is required")
	}
	return nil
}

// ErrParentsNotFinished is returned by Open for a shard whose parent has been started but not
// finished: a child shard starts only after its parents end, so that records stay in order.
var ErrParentsNotFinished = errors.New("partrunner: a parent shard is not finished")

// Runner processes one shard: it routes the shard's records through processors restored from
// the shard's state, and checkpoints — saves the state, then writes and commits the sinks.
//
// The same records give the same output whichever host runs them (the consumer, the stream
// Lambda) and however they are split into Process calls and checkpoints: processing never reads
// the clock, records already processed are skipped when delivered again, and the state carries
// everything else.
//
// Resharding keeps per-key state without moving it between processors: a child shard starts
// from its parents' states, keeping of each of their hash-key ranges the part inside its own
// range, and routes each record to the range holding its partition key's hash; a range's output
// is kept only for keys inside it. The windows of a key therefore continue across a split or a
// merge exactly where its parent left them.
//
// A Runner is not safe for concurrent use.
type Runner struct {
	cfg    *Config
	shard  Shard
	key    string
	st     ShardState
	ranges []rangeProc
	out    ctc.Batch // produced since the last checkpoint
	take   ctc.Batch
	dirty  bool
	err    error // a failed checkpoint leaves the runner unusable: reopen it
}

type rangeProc struct {
	r HashRange
	p *ctc.Processor
}

// Open returns a runner for shard, restoring its state or, for a shard never processed,
// starting from its parents' states. When the state holds a checkpoint's output it is written
// and committed again (idempotently) before Open returns.
func Open(ctx context.Context, cfg *Config, shard Shard) (*Runner, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.PartitionKey == nil {
		cfg.PartitionKey = Instrument
	}
	r := &Runner{cfg: cfg, shard: shard, key: cfg.Key(shard.ID)}
	st, err := cfg.Store.Load(ctx, r.key)
	if err != nil {
		return nil, fmt.Errorf("partrunner: load state of %s: %w", r.key, err)
	}
	if st != nil {
		r.st = *st
	} else {
		r.st = ShardState{Shard: shard.ID}
		if err := r.inherit(ctx); err != nil {
			return nil, err
		}
	}
	for _, rs := range r.st.Ranges {
		p, err := cfg.NewProcessor()
		if err != nil {
			return nil, err
		}
		if err := p.Restore(rs.State); err != nil {
			return nil, fmt.Errorf("partrunner: restore %s range %v: %w", r.key, rs.Range, err)
		}
		r.ranges = append(r.ranges, rangeProc{r: rs.Range, p: p})
	}
	// Resumer sinks go back to the last checkpoint known committed — the one before a state with
	// pending output, whose commit may or may not have landed — before that output is committed
	// again: the order ctc.Pipeline keeps.
	resumeAt := ctc.Checkpoint{PipelineID: r.key, Seq: r.st.Seq}
	if r.st.Pending != nil {
		resumeAt.Seq--
	}
	for _, s := range cfg.Sinks {
		if rs, ok := s.(ctc.Resumer); ok {
			if err := rs.Resume(ctx, resumeAt); err != nil {
				return nil, fmt.Errorf("partrunner: resume sink %T of %s at checkpoint %d: %w", s, r.key, resumeAt.Seq, err)
			}
		}
	}
	if r.st.Pending != nil {
		if err := r.commit(ctx, r.st.Pending); err != nil {
			return nil, fmt.Errorf("partrunner: re-commit checkpoint %d of %s: %w", r.st.Seq, r.key, err)
		}
	}
	return r, nil
}

// inherit builds a new shard's ranges from its parents' final states.
func (r *Runner) inherit(ctx context.Context) error {
	for _, id := range r.shard.Parents {
		if id == "" {
			continue
		}
		ps, err := r.cfg.Store.Load(ctx, r.cfg.Key(id))
		if err != nil {
			return fmt.Errorf("partrunner: load state of parent %s: %w", id, err)
		}
		if ps == nil {
			continue // never processed here (expired, or read before this application existed)
		}
		if !ps.Finished && !r.shard.ParentsDone {
			return fmt.Errorf("%w: %s, parent of %s", ErrParentsNotFinished, id, r.shard.ID)
		}
		for _, rs := range ps.Ranges {
			if in, ok := rs.Range.Intersect(r.shard.Range); ok {
				r.st.Ranges = append(r.st.Ranges, RangeState{Range: in, State: rs.State})
			}
		}
	}
	if len(r.st.Ranges) == 0 {
		r.st.Ranges = []RangeState{{Range: r.shard.Range}}
	}
	return nil
}

// Processors returns the shard's engines, one per hash-key range of its ancestry, for hosts that
// read their counters (Processor.Stats, or the quality chain's through Processor.Checker).
func (r *Runner) Processors() []*ctc.Processor {
	ps := make([]*ctc.Processor, len(r.ranges))
	for i, rp := range r.ranges {
		ps[i] = rp.p
	}
	return ps
}

// Sequence is the sequence number of the last record processed, where reading resumes (after
// it); empty when the shard has not been read.
func (r *Runner) Sequence() string { return r.st.Sequence }

// Finished reports whether the shard's state says it is finished.
func (r *Runner) Finished() bool { return r.st.Finished }

// Stats sums the counters of the shard's processors.
func (r *Runner) Stats() ctc.Stats {
	var s ctc.Stats
	for _, rp := range r.ranges {
		s.Add(rp.p.Stats())
	}
	return s
}

// Process runs records, in shard order, through the processors. Records at or before the last
// processed sequence number are skipped: they are deliveries again of what the state already
// holds. It returns how many records it processed.
func (r *Runner) Process(recs []Record) int {
	if r.err != nil {
		return 0
	}
	n := 0
	var rec ctc.Record
	for i := range recs {
		k := &recs[i]
		if CompareSequence(k.SequenceNumber, r.st.Sequence) <= 0 {
			continue
		}
		rp := r.route(HashOf(k.PartitionKey))
		r.st.Records++
		rec.Reset()
		rec.Data = append(rec.Data, k.Data...)
		rec.Position = ctc.Position{Partition: r.shard.ID, Offset: r.st.Records}
		rp.p.Process(&rec)
		r.st.Sequence = k.SequenceNumber
		r.collect(rp)
		n++
	}
	if n > 0 {
		r.dirty = true
	}
	return n
}

func (r *Runner) route(h HashKey) *rangeProc {
	for i := range r.ranges {
		if r.ranges[i].r.Contains(h) {
			return &r.ranges[i]
		}
	}
	// Kinesis never puts a key outside its shard's range (and a Kafka partition's range is
	// FullRange); a record that says otherwise is still processed, by the first range, rather
	// than lost.
	return &r.ranges[0]
}

// collect moves what rp produced into the checkpoint's output, keeping only the output whose
// keys rp's range owns.
func (r *Runner) collect(rp *rangeProc) {
	rp.p.Take(&r.take)
	b := &r.take
	r.out.Trades = append(r.out.Trades, b.Trades...)
	r.out.DeadLetters = append(r.out.DeadLetters, b.DeadLetters...)
	r.out.Position = b.Position
	o, in := &r.out.Output, func(symbol string) bool { return rp.r.Contains(HashOf(r.cfg.PartitionKey(symbol))) }
	for _, a := range b.Output.Alerts {
		if in(a.Symbol) {
			o.Alerts = append(o.Alerts, a)
		}
	}
	for _, v := range b.Output.Volumes {
		if in(v.Symbol) {
			o.Volumes = append(o.Volumes, v)
		}
	}
	for _, s := range b.Output.Spreads {
		if in(s.Symbol) {
			o.Spreads = append(o.Spreads, s)
		}
	}
	for _, w := range b.Output.Whales {
		if in(w.Trade.Symbol) {
			o.Whales = append(o.Whales, w)
		}
	}
	for _, l := range b.Output.Late {
		if in(l.Trade.Symbol) {
			o.Late = append(o.Late, l)
		}
	}
}

// Checkpoint saves the state with the output produced since the last checkpoint, then writes
// and commits it to the sinks. It does nothing when no record was processed since. An error
// wrapping ErrConflict means another host owns the shard now. After any error the runner is
// unusable; Open it again (which finishes a checkpoint whose state was saved).
func (r *Runner) Checkpoint(ctx context.Context) error {
	if r.err != nil {
		return r.err
	}
	if !r.dirty {
		return nil
	}
	if err := r.save(ctx, false); err != nil {
		r.err = err
		return err
	}
	r.dirty = false
	return nil
}

// Finish checkpoints and marks the shard finished, so that its children can start. Call it once
// the shard has ended (GetRecords returned no next iterator, or the Lambda event source
// reported the end of the shard).
func (r *Runner) Finish(ctx context.Context) error {
	if err := r.Checkpoint(ctx); err != nil {
		return err
	}
	if r.st.Finished {
		return nil
	}
	if err := r.save(ctx, true); err != nil {
		r.err = err
		return err
	}
	return nil
}

func (r *Runner) save(ctx context.Context, finish bool) error {
	next := r.st
	next.Version++
	next.Finished = finish
	next.Ranges = make([]RangeState, len(r.ranges))
	for i, rp := range r.ranges {
		// Each range names its segments apart: key/range start in hex/part/…
		id := r.key + "/" + hex.EncodeToString(rp.r.Start[:])
		st, err := rp.p.State(ctc.Checkpoint{PipelineID: id, Seq: r.st.Seq + 1})
		if err != nil {
			return fmt.Errorf("partrunner: checkpoint %s: %w", r.key, err)
		}
		next.Ranges[i] = RangeState{Range: rp.r, State: st}
	}
	var out *ctc.Batch
	if !finish {
		next.Seq++
		out = &ctc.Batch{
			Trades:      r.out.Trades,
			DeadLetters: r.out.DeadLetters,
			Position:    ctc.Position{Partition: r.shard.ID, Offset: r.st.Records},
		}
		out.Output = r.out.Output
		out.Output.Late = nil
		next.Pending = out
	} else {
		next.Pending = nil
	}
	if err := r.cfg.Store.Save(ctx, r.key, &next); err != nil {
		return fmt.Errorf("partrunner: save state of %s: %w", r.key, err)
	}
	r.st = next
	if out != nil {
		// The sinks see the late trades too (a console may report them); the saved state does not
		// keep them, and neither table stores them.
		out.Output.Late = r.out.Output.Late
		err := r.commit(ctx, out)
		r.out = ctc.Batch{}
		if err != nil {
			return fmt.Errorf("partrunner: checkpoint %d of %s: %w", next.Seq, r.key, err)
		}
	}
	return nil
}

// commit writes b to every sink and commits it under the state's checkpoint sequence.
func (r *Runner) commit(ctx context.Context, b *ctc.Batch) error {
	return ctc.CommitBatch(ctx, r.cfg.Sinks, b, ctc.Checkpoint{PipelineID: r.key, Seq: r.st.Seq, Position: b.Position})
}
