package kafkarunner

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/partrunner"
)

// Record is one Kafka record as the host hands it to a partition's runner.
type Record struct {
	Offset int64
	Key    []byte
	Value  []byte
}

// ErrRepartitioned is returned by Run when the topic's partition count differs from the one its
// states were processed under, and Config.AcceptRepartition is not set.
var ErrRepartitioned = errors.New("kafkarunner: the topic's partition count changed")

// Partitions runs the partitions of one topic that a host holds, each through a partrunner.Runner
// whose state is kept under App/topic/partition. It is the part of a Consumer that does not talk
// to Kafka — what the property tests drive — and is not safe for concurrent use.
type Partitions struct {
	cfg   Config
	parts map[int32]*part
}

type part struct {
	r     *partrunner.Runner
	cfg   *partrunner.Config
	sinks []ctc.Sink // this partition's own sinks (Config.NewSinks), closed when it is dropped
}

// NewPartitions returns an empty set of partitions for cfg (validated, with defaults).
func NewPartitions(cfg Config) (*Partitions, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &Partitions{cfg: cfg, parts: map[int32]*part{}}, nil
}

// ID is the shard id a partition's runner goes by, topic/partition: with App/ in front, its state
// key and the pipeline id under which its sinks commit.
func (c *Config) ID(partition int32) string {
	return c.Topic + "/" + strconv.FormatInt(int64(partition), 10)
}

// layoutKey is the state key of the topic's layout (its partition count).
func (c *Config) layoutKey() string { return c.App + "/" + c.Topic }

// CheckLayout compares the topic's partition count with the one its states were processed
// under, recording it the first time. A different count is an error wrapping ErrRepartitioned,
// unless Config.AcceptRepartition is set, in which case the new count is recorded and accepted
// is true.
func (ps *Partitions) CheckLayout(ctx context.Context, partitions int) (accepted bool, err error) {
	key := ps.cfg.layoutKey()
	for attempt := 0; ; attempt++ {
		st, err := ps.cfg.Store.Load(ctx, key)
		if err != nil {
			return false, fmt.Errorf("kafkarunner: load layout of %s: %w", key, err)
		}
		next := &partrunner.ShardState{Version: 1, Shard: ps.cfg.Topic, Sequence: strconv.Itoa(partitions)}
		if st != nil {
			if st.Sequence == next.Sequence {
				return false, nil
			}
			if !ps.cfg.AcceptRepartition {
				return false, fmt.Errorf("%w: %s has %d partitions, its states were processed with %s. "+
					"Kafka puts a key on partition murmur2(key) mod count, so most instruments now land on "+
					"another partition than the one holding their open windows, volume history and dedup "+
					"memory: their windows would restart empty and a trade seen before could pass again. "+
					"Set AcceptRepartition (-kafka-accept-repartition) to go on with that discontinuity, "+
					"or keep the topic at %s partitions (a new topic with the new count and a new App starts clean)",
					ErrRepartitioned, ps.cfg.Topic, partitions, st.Sequence, st.Sequence)
			}
			next.Version = st.Version + 1
		}
		err = ps.cfg.Store.Save(ctx, key, next)
		if err == nil {
			return st != nil, nil
		}
		if !errors.Is(err, partrunner.ErrConflict) || attempt >= 3 {
			return false, fmt.Errorf("kafkarunner: save layout of %s: %w", key, err)
		}
		// Another member recorded it at the same time: compare with what it recorded.
	}
}

// Open opens partition p's runner — restoring its state and committing again the output of a
// checkpoint whose state was saved — replacing any runner p had. It returns the offset to read
// from: the one after the last record processed, or -1 when p was never processed (read from the
// configured start).
func (ps *Partitions) Open(ctx context.Context, p int32) (int64, error) {
	ps.Drop(ctx, p)
	id := ps.cfg.ID(p)
	sinks, err := ps.cfg.NewSinks(ctx, id)
	if err != nil {
		return 0, fmt.Errorf("kafkarunner: sinks of %s: %w", id, err)
	}
	cfg := ps.cfg.Runner // a copy per partition: its own sinks
	cfg.Sinks = append(append([]ctc.Sink(nil), ps.cfg.Runner.Sinks...), sinks...)
	r, err := partrunner.Open(ctx, &cfg, partrunner.Shard{ID: id, Range: partrunner.FullRange})
	if err != nil {
		closeSinks(ctx, sinks)
		return 0, fmt.Errorf("kafkarunner: open %s: %w", id, err)
	}
	ps.parts[p] = &part{r: r, cfg: &cfg, sinks: sinks}
	return next(r), nil
}

// next is the offset after the runner's last record, or -1.
func next(r *partrunner.Runner) int64 {
	s := r.Sequence()
	if s == "" {
		return -1
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return -1 // not written by this package; read from the start, the runner skips what it has
	}
	return n + 1
}

// Held reports whether p is open.
func (ps *Partitions) Held(p int32) bool { return ps.parts[p] != nil }

// List lists the open partitions.
func (ps *Partitions) List() []int32 {
	out := make([]int32, 0, len(ps.parts))
	for p := range ps.parts {
		out = append(out, p)
	}
	return out
}

// Process runs records of p, in offset order, through its runner; records at or before the last
// offset processed are skipped (deliveries again). It returns how many it processed; a partition
// not open processes nothing.
func (ps *Partitions) Process(p int32, recs []Record) int {
	pt := ps.parts[p]
	if pt == nil || len(recs) == 0 {
		return 0
	}
	in := make([]partrunner.Record, len(recs))
	for i, r := range recs {
		in[i] = partrunner.Record{SequenceNumber: strconv.FormatInt(r.Offset, 10), PartitionKey: string(r.Key), Data: r.Value}
	}
	return pt.r.Process(in)
}

// Next is the offset after the last record p processed (checkpointed or not), or -1.
func (ps *Partitions) Next(p int32) int64 {
	if pt := ps.parts[p]; pt != nil {
		return next(pt.r)
	}
	return -1
}

// Checkpoint checkpoints p: saves its state with the output produced since the last checkpoint,
// then writes and commits the sinks. After an error (ErrConflict: another member saved p since
// this one loaded it) p is reopened from its saved state, and seek is the offset to read from
// again; seek is -2 when nothing needs to move.
func (ps *Partitions) Checkpoint(ctx context.Context, p int32) (seek int64, err error) {
	pt := ps.parts[p]
	if pt == nil {
		return -2, nil
	}
	cerr := pt.r.Checkpoint(ctx)
	if cerr == nil {
		return -2, nil
	}
	off, err := ps.Open(ctx, p)
	if err != nil {
		ps.Drop(ctx, p)
		return -2, errors.Join(cerr, err)
	}
	return off, cerr
}

// Stats sums the counters of the open partitions' processors.
func (ps *Partitions) Stats() ctc.Stats {
	var s ctc.Stats
	for _, pt := range ps.parts {
		s.Add(pt.r.Stats())
	}
	return s
}

// Drop forgets p without checkpointing (its partition went to another member, or this host
// stops after a failure), closing its own sinks.
func (ps *Partitions) Drop(ctx context.Context, p int32) {
	if pt := ps.parts[p]; pt != nil {
		closeSinks(ctx, pt.sinks)
		delete(ps.parts, p)
	}
}

func closeSinks(ctx context.Context, sinks []ctc.Sink) {
	for _, s := range sinks {
		if c, ok := s.(ctc.Closer); ok {
			_ = c.Close(ctx)
		}
	}
}
