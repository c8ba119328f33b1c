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

// State is what a pipeline saves at each checkpoint: where it is, and the state of everything
// that remembers (detectors, the quality chain's dedup memory and counters).
type State struct {
	Checkpoint Checkpoint
	// Detectors holds each Snapshotter detector's snapshot by detector name.
	Detectors map[string][]byte
	// Checker holds the quality chain's snapshot, when it is a Snapshotter.
	Checker []byte
	// Stats are the pipeline's counters at the checkpoint, so that they survive restarts too.
	Stats Stats
}

// StateStore keeps a pipeline's latest State. Save must be atomic: after a crash, Load returns
// either the previous state or the new one, never a mix. Load returns (nil, nil) when there is none.
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
	// EveryRecords checkpoints after every so many records read. Checkpoints at fixed record counts
	// fall at the same place when a run is repeated, which is what lets a restarted replay re-run
	// a checkpoint whose commit landed and have its sinks recognise it. 0 disables.
	EveryRecords int64
	// Interval checkpoints a live pipeline (WithClock) every so much processing time; default 60 s.
	Interval time.Duration
}

// WithCheckpoints makes the pipeline save its state at checkpoints and resume from the last one.
//
// At each checkpoint the pipeline writes its batch, calls Commit on every Committer sink (Flush on
// other Flushers) with the checkpoint, then saves its State. On start it loads the last State,
// restores every detector (each must be a Snapshotter) and the checker (when a Snapshotter), and
// seeks the source (a Seeker) past the checkpoint's position. A checkpoint is also taken at the
// end of input and on shutdown.
func WithCheckpoints(c CheckpointConfig) Option {
	return func(p *Pipeline) {
		if c.Interval == 0 {
			c.Interval = time.Minute
		}
		p.ckpt = &c
	}
}

func (c *CheckpointConfig) validate(p *Pipeline) error {
	switch {
	case c.Store == nil:
		return errors.New("ctc: checkpoints need a state store")
	case c.PipelineID == "":
		return errors.New("ctc: checkpoints need a pipeline id")
	case c.EveryRecords < 0 || c.Interval < 0:
		return errors.New("ctc: checkpoint intervals must not be negative")
	}
	for _, d := range p.detectors {
		if _, ok := d.(Snapshotter); !ok {
			return fmt.Errorf("ctc: detector %q cannot be checkpointed: it does not implement ctc.Snapshotter", d.Name())
		}
	}
	return nil
}

// restore loads the last checkpoint, if any, into the detectors, checker and source.
func (p *Pipeline) restore(ctx context.Context) error {
	st, err := p.ckpt.Store.Load(ctx, p.ckpt.PipelineID)
	if err != nil {
		return fmt.Errorf("ctc: load checkpoint: %w", err)
	}
	cp := Checkpoint{PipelineID: p.ckpt.PipelineID}
	if st != nil {
		cp = st.Checkpoint
	}
	for _, s := range p.sinks {
		if r, ok := s.(Resumer); ok {
			if err := r.Resume(ctx, cp); err != nil {
				return fmt.Errorf("ctc: resume sink %T at checkpoint %d: %w", s, cp.Seq, err)
			}
		}
	}
	if st == nil {
		return nil
	}
	for _, d := range p.detectors {
		b, ok := st.Detectors[d.Name()]
		if !ok {
			return fmt.Errorf("ctc: checkpoint %d has no state for detector %q", st.Checkpoint.Seq, d.Name())
		}
		if err := d.(Snapshotter).Restore(b); err != nil {
			return fmt.Errorf("ctc: restore detector %q: %w", d.Name(), err)
		}
	}
	if s, ok := p.checker.(Snapshotter); ok && st.Checker != nil {
		if err := s.Restore(st.Checker); err != nil {
			return fmt.Errorf("ctc: restore quality chain: %w", err)
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
	p.stats = st.Stats
	p.batch.Position = st.Checkpoint.Position
	p.publish()
	return nil
}

// checkpoint writes the batch, commits the sinks and saves the state.
func (p *Pipeline) checkpoint(ctx context.Context) error {
	if err := p.write(ctx); err != nil {
		return err
	}
	p.sinceCkpt = 0
	p.seq++
	cp := Checkpoint{PipelineID: p.ckpt.PipelineID, Seq: p.seq, Position: p.batch.Position}
	for i, s := range p.sinks {
		var err error
		switch s := s.(type) {
		case Committer:
			err = p.call(i, "commit", func() error { return s.Commit(ctx, cp) })
		case Flusher:
			err = p.call(i, "flush", func() error { return s.Flush(ctx) })
		}
		if err != nil {
			return fmt.Errorf("ctc: checkpoint %d: sink %T: %w", cp.Seq, s, err)
		}
	}
	st := &State{Checkpoint: cp, Detectors: make(map[string][]byte, len(p.detectors))}
	for _, d := range p.detectors {
		b, err := d.(Snapshotter).Snapshot()
		if err != nil {
			return fmt.Errorf("ctc: checkpoint %d: snapshot detector %q: %w", cp.Seq, d.Name(), err)
		}
		st.Detectors[d.Name()] = b
	}
	if s, ok := p.checker.(Snapshotter); ok {
		b, err := s.Snapshot()
		if err != nil {
			return fmt.Errorf("ctc: checkpoint %d: snapshot quality chain: %w", cp.Seq, err)
		}
		st.Checker = b
	}
	p.stats.Flushes++
	st.Stats = p.stats
	if err := p.ckpt.Store.Save(ctx, st); err != nil {
		return fmt.Errorf("ctc: checkpoint %d: save state: %w", cp.Seq, err)
	}
	p.publish()
	return nil
}
