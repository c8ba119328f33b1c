package ctc

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Seeker is implemented by sources that can resume after a checkpointed position. A pipeline
// restoring a checkpoint calls Seek once, before the first Next.
type Seeker interface {
	Seek(ctx context.Context, after Position) error
}

// State is what a checkpoint saves: where the engine is, the state of everything that remembers
// (detectors, the quality chain's dedup memory and counters), and the output the checkpoint
// commits (write-ahead).
type State struct {
	Checkpoint Checkpoint
	// Detectors holds each detector's snapshot (its head, for a SegmentSnapshotter) by name.
	Detectors map[string][]byte
	// Checker holds the quality chain's snapshot (its head, for a SegmentSnapshotter).
	Checker []byte
	// Segments are the immutable pieces of state that grow with time (the dedup memory of the
	// last hour): every live one by name, with Data for those new since the previous checkpoint.
	// A StateStore writes each segment once, keeps it while a saved state names it, and loads
	// every named segment with its Data.
	Segments []Segment `json:",omitempty"`
	// Stats are the engine's counters at the checkpoint, so that they survive restarts too.
	Stats Stats
	// Pending is the output of this checkpoint, saved with the state before the sinks commit it:
	// a host that dies between the save and the commit finds it here and commits it again, which
	// the sinks recognise (Committer) or ignore (idempotent writes). Nil in a state saved by an
	// older ctc, whose checkpoints committed first and saved after.
	Pending *Batch `json:"-"`
}

// Segment is one immutable piece of a State: written once, under a name no other segment of the
// store has, and deleted when no saved state names it any more.
type Segment struct {
	Name string
	// Data is the segment's bytes: set for a segment new in this state, and in every state a
	// store loads; nil for a segment an earlier state of the same pipeline saved.
	Data []byte `json:",omitempty"`
}

// SegmentSnapshotter is implemented by stateful parts whose state grows with event time, so that
// a checkpoint costs what changed rather than what is remembered: the quality chain's dedup
// memory is one (an hour of event ids). The engine prefers it to Snapshotter.
type SegmentSnapshotter interface {
	Snapshotter
	// SnapshotSegments returns a small head and the part's live segments: those made since the
	// previous call with their Data, the older ones by Name alone. Segments the part no longer
	// needs (expired) are left out, and the store drops them. New names start with prefix.
	SnapshotSegments(prefix string) (head []byte, segs []Segment, err error)
	// RestoreSegments restores the part from a head SnapshotSegments returned, looking up the
	// segments it names in segs (name → Data). It also accepts what Snapshot returns.
	RestoreSegments(head []byte, segs map[string][]byte) error
}

// StateStore keeps a pipeline's latest State. Save must be atomic: after a crash, Load returns
// either the previous state or the new one, never a mix. Load returns (nil, nil) when there is
// none, and fills every segment's Data and the Pending batch.
type StateStore interface {
	Load(ctx context.Context, pipelineID string) (*State, error)
	Save(ctx context.Context, s *State) error
}

// CheckpointConfig makes a pipeline checkpoint and resume (WithCheckpoints).
type CheckpointConfig struct {
	// Store keeps the state. Required.
	Store StateStore
	// PipelineID names the pipeline in its state and in what its Committer sinks commit. Required.
	PipelineID string
	// EveryRecords checkpoints after every so many records read. 0 disables.
	EveryRecords int64
	// Interval checkpoints a live pipeline (WithClock) every so much processing time; default 60 s.
	Interval time.Duration
	// MaxPending bounds the output a checkpoint holds in memory until it is saved (write-ahead):
	// a bounded pipeline also checkpoints when that many records (trades, alerts, aggregates,
	// dead letters) are waiting; default 250,000. Checkpoint boundaries never change outputs.
	MaxPending int
}

// WithCheckpoints makes the pipeline save its state at checkpoints and resume from the last one.
//
// The protocol is write-ahead, the one every ctc host uses (the Kinesis shard runner, the stream
// Lambda): at each checkpoint the pipeline saves its State together with the output the
// checkpoint covers (State.Pending), then commits every sink (CommitBatch). On start it loads the
// last State, restores every detector (each must be a Snapshotter) and the checker, resumes
// Resumer sinks at the checkpoint before it, writes and commits the pending output again (a no-op
// for sinks that have it), and seeks the source (a Seeker) past the checkpoint's position. A
// checkpoint is also taken at the end of input and on shutdown.
func WithCheckpoints(c CheckpointConfig) PipelineOption {
	return pipelineOption(func(p *Pipeline) {
		if c.Interval == 0 {
			c.Interval = time.Minute
		}
		if c.MaxPending == 0 {
			c.MaxPending = 250_000
		}
		p.ckpt = &c
	})
}

func (c *CheckpointConfig) validate(p *Pipeline) error {
	switch {
	case c.Store == nil:
		return errors.New("ctc: checkpoints need a state store")
	case c.PipelineID == "":
		return errors.New("ctc: checkpoints need a pipeline id")
	case c.EveryRecords < 0 || c.Interval < 0 || c.MaxPending < 0:
		return errors.New("ctc: checkpoint intervals must not be negative")
	}
	for _, d := range p.pr.detectors {
		if _, ok := d.(Snapshotter); !ok {
			return fmt.Errorf("ctc: detector %q cannot be checkpointed: it does not implement ctc.Snapshotter", d.Name())
		}
	}
	return nil
}

// CommitBatch delivers one checkpoint's output: it writes b to every sink (when b holds anything)
// and commits it under cp (Committer) or flushes (Flusher). Repeating it after a crash is
// harmless: Committers skip a checkpoint they have, the alert stores are idempotent on alert id.
// It is the second half of the write-ahead checkpoint every host runs, after saving the state.
func CommitBatch(ctx context.Context, sinks []Sink, b *Batch, cp Checkpoint) error {
	for _, s := range sinks {
		if b != nil && b.Len() > 0 {
			if err := s.Write(ctx, b); err != nil {
				return fmt.Errorf("sink %T: write: %w", s, err)
			}
		}
		if err := commitSink(ctx, s, cp); err != nil {
			return err
		}
	}
	return nil
}

func commitSink(ctx context.Context, s Sink, cp Checkpoint) error {
	switch s := s.(type) {
	case Committer:
		if err := s.Commit(ctx, cp); err != nil {
			return fmt.Errorf("sink %T: commit %d: %w", s, cp.Seq, err)
		}
	case Flusher:
		if err := s.Flush(ctx); err != nil {
			return fmt.Errorf("sink %T: flush: %w", s, err)
		}
	}
	return nil
}

// restore loads the last checkpoint, if any, into the detectors, checker, sinks and source.
func (p *Pipeline) restore(ctx context.Context) error {
	st, err := p.ckpt.Store.Load(ctx, p.ckpt.PipelineID)
	if err != nil {
		return fmt.Errorf("ctc: load checkpoint: %w", err)
	}
	// The sinks go back to the last checkpoint known committed: the one before a state with
	// pending output, whose commit may or may not have landed.
	resumeAt := Checkpoint{PipelineID: p.ckpt.PipelineID}
	if st != nil {
		resumeAt = st.Checkpoint
		if st.Pending != nil {
			resumeAt = Checkpoint{PipelineID: p.ckpt.PipelineID, Seq: st.Checkpoint.Seq - 1}
		}
	}
	for _, s := range p.sinks {
		if r, ok := s.(Resumer); ok {
			if err := r.Resume(ctx, resumeAt); err != nil {
				return fmt.Errorf("ctc: resume sink %T at checkpoint %d: %w", s, resumeAt.Seq, err)
			}
		}
	}
	if st == nil {
		return nil
	}
	if err := p.pr.Restore(st); err != nil {
		return err
	}
	if st.Pending != nil {
		if err := CommitBatch(ctx, p.sinks, st.Pending, st.Checkpoint); err != nil {
			return fmt.Errorf("ctc: commit checkpoint %d again: %w", st.Checkpoint.Seq, err)
		}
	}
	sk, ok := p.src.(Seeker)
	if !ok {
		return fmt.Errorf("ctc: source %T cannot resume from checkpoint %d: it does not implement ctc.Seeker", p.src, st.Checkpoint.Seq)
	}
	if err := sk.Seek(ctx, st.Checkpoint.Position); err != nil {
		return fmt.Errorf("ctc: resume source after %v: %w", st.Checkpoint.Position, err)
	}
	p.seq = st.Checkpoint.Seq
	p.publish()
	return nil
}

// checkpoint writes the batch, saves the state with the checkpoint's output, then commits the sinks.
func (p *Pipeline) checkpoint(ctx context.Context) error {
	if err := p.write(ctx); err != nil {
		return err
	}
	p.sinceCkpt = 0
	p.seq++
	cp := Checkpoint{PipelineID: p.ckpt.PipelineID, Seq: p.seq, Position: p.pr.batch.Position}
	p.pr.stats.Flushes++
	st, err := p.pr.State(cp)
	if err != nil {
		return fmt.Errorf("ctc: checkpoint %d: %w", cp.Seq, err)
	}
	p.pending.Position = cp.Position
	st.Pending = &p.pending
	if err := p.ckpt.Store.Save(ctx, st); err != nil {
		return fmt.Errorf("ctc: checkpoint %d: save state: %w", cp.Seq, err)
	}
	for i, s := range p.sinks {
		op := "flush"
		if _, ok := s.(Committer); ok {
			op = "commit"
		}
		if err := p.call(i, op, func() error { return commitSink(ctx, s, cp) }); err != nil {
			return fmt.Errorf("ctc: checkpoint %d: %w", cp.Seq, err)
		}
	}
	p.pending.Reset()
	p.publish()
	return nil
}
