package ctc

import (
	"errors"
	"fmt"
	"time"
)

// Processor is the push-style counterpart of Pipeline, for hosts that receive records in batches
// instead of pulling them from a Source: a Lambda invoked with a batch of Kinesis records, or a
// consumer that reads many shards and keeps one Processor per shard. The caller hands it records
// with Process, moves event time with Advance, and takes what they produced with Take; State and
// Restore carry everything it remembers (detectors, quality chain, counters) between hosts.
//
// A Processor runs exactly the code a Pipeline runs for each record (quality, then detectors,
// then the alert completion of ids, TTL and EmittedAt), so the same records give the same output
// whichever of the two runs them and however the records are split into calls. It never reads the
// wall clock unless WithClock is given, in which case EmittedAt is processing time, as in a live
// Pipeline. It is not safe for concurrent use.
type Processor struct {
	p Pipeline
}

// NewProcessor returns a Processor. It takes the Pipeline options that concern processing:
// WithChecker (required), WithDetectors and WithClock. Options about sources, sinks, batching,
// flushing and checkpoints do not apply to a Processor and are rejected.
func NewProcessor(opts ...Option) (*Processor, error) {
	pr := &Processor{}
	p := &pr.p
	for _, o := range opts {
		o(p)
	}
	switch {
	case p.checker == nil:
		return nil, errors.New("ctc: processor needs a quality checker: add ctc.WithChecker(quality.New(...))")
	case len(p.sinks) > 0:
		return nil, errors.New("ctc: a processor has no sinks: write what Take returns yourself")
	case p.ckpt != nil:
		return nil, errors.New("ctc: a processor does not checkpoint: save State() yourself")
	case p.idleTimeout != 0 || p.observer != nil:
		return nil, errors.New("ctc: a processor takes only WithChecker, WithDetectors and WithClock")
	}
	if err := checkDetectors(p.detectors); err != nil {
		return nil, err
	}
	return pr, nil
}

// Process runs one record through quality and the detectors. Its trade (when it passes), its
// dead letter (when it fails) and whatever the detectors emit are added to the pending batch.
func (pr *Processor) Process(rec *Record) { pr.p.process(rec) }

// Advance moves every detector's event time to t, firing the windows it closes; EndOfTime fires
// them all (the end of a bounded input).
func (pr *Processor) Advance(t time.Time) { pr.p.advance(t) }

// Pending returns the batch of everything produced since the last Take, without removing it.
// The batch is valid until the next call of any other method.
func (pr *Processor) Pending() *Batch { return &pr.p.batch }

// Take moves the pending batch into dst (which is reset first) and leaves the processor with an
// empty one. dst's slices are reused, so a caller that takes into the same Batch every time
// allocates only as the batches grow.
func (pr *Processor) Take(dst *Batch) {
	p := &pr.p
	p.stats.Late += int64(len(p.batch.Output.Late))
	if p.batch.Len() > 0 {
		p.stats.Batches++
	}
	dst.Reset()
	p.batch, *dst = *dst, p.batch
}

// Stats returns the processor's counters (Late and Batches count what has been taken).
func (pr *Processor) Stats() Stats { return pr.p.stats }

// State returns a snapshot of everything the processor remembers, under cp: every detector's
// state (they must all be Snapshotters), the quality chain's (when it is a Snapshotter) and the
// counters. The pending batch is not part of it: Take it first.
func (pr *Processor) State(cp Checkpoint) (*State, error) {
	p := &pr.p
	if p.batch.Len() > 0 {
		return nil, errors.New("ctc: processor state with a pending batch: Take it first")
	}
	st := &State{Checkpoint: cp, Detectors: make(map[string][]byte, len(p.detectors)), Stats: p.stats}
	for _, d := range p.detectors {
		s, ok := d.(Snapshotter)
		if !ok {
			return nil, fmt.Errorf("ctc: detector %q cannot be saved: it does not implement ctc.Snapshotter", d.Name())
		}
		b, err := s.Snapshot()
		if err != nil {
			return nil, fmt.Errorf("ctc: snapshot detector %q: %w", d.Name(), err)
		}
		st.Detectors[d.Name()] = b
	}
	if s, ok := p.checker.(Snapshotter); ok {
		b, err := s.Snapshot()
		if err != nil {
			return nil, fmt.Errorf("ctc: snapshot quality chain: %w", err)
		}
		st.Checker = b
	}
	return st, nil
}

// Restore replaces what the processor remembers with st, as State returned it. A nil st is a
// fresh start and changes nothing.
func (pr *Processor) Restore(st *State) error {
	if st == nil {
		return nil
	}
	p := &pr.p
	for _, d := range p.detectors {
		b, ok := st.Detectors[d.Name()]
		if !ok {
			return fmt.Errorf("ctc: state %d has no state for detector %q", st.Checkpoint.Seq, d.Name())
		}
		s, ok := d.(Snapshotter)
		if !ok {
			return fmt.Errorf("ctc: detector %q cannot be restored: it does not implement ctc.Snapshotter", d.Name())
		}
		if err := s.Restore(b); err != nil {
			return fmt.Errorf("ctc: restore detector %q: %w", d.Name(), err)
		}
	}
	if s, ok := p.checker.(Snapshotter); ok && st.Checker != nil {
		if err := s.Restore(st.Checker); err != nil {
			return fmt.Errorf("ctc: restore quality chain: %w", err)
		}
	}
	p.stats = st.Stats
	p.batch.Reset()
	p.batch.Position = st.Checkpoint.Position
	return nil
}
