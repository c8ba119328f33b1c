package ctc

import (
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// Processor is ctc's one per-record engine: quality, then detectors, then the completion of
// alerts (ids, TTL, EmittedAt), with its state saved and restored at checkpoints. Every host runs
// it: a Pipeline is a pull loop around one Processor; the Kinesis shard runner keeps one per
// hash-key range of a shard; the stream Lambda runs those runners per invocation.
//
// The caller hands it records with Process, moves event time with Advance, and takes what they
// produced with Take; State and Restore carry everything it remembers (detectors, quality chain,
// counters) between hosts. The same records give the same output however they are split into
// calls and whichever host runs them. It never reads the wall clock unless WithClock is given, in
// which case EmittedAt is processing time. It is not safe for concurrent use.
type Processor struct {
	checker   Checker
	detectors []Detector
	now       func() time.Time

	batch Batch
	stats Stats

	// maxEvent is the newest event time of a trade that passed quality (Pipeline.EventTime, and a
	// live pipeline's idleness); lastArrival is when a live pipeline last saw one.
	maxEvent    time.Time
	lastArrival time.Time
}

// Option configures the engine: it is accepted by NewProcessor and NewPipeline alike.
// WithChecker, WithDetectors and WithClock are Options.
type Option interface {
	PipelineOption
	applyProcessor(*Processor)
}

// PipelineOption configures a Pipeline only: sinks, batching, flushing, idleness, checkpoints.
// Passing one to NewProcessor does not compile: a Processor has none of these.
type PipelineOption interface {
	applyPipeline(*Pipeline)
}

type engineOption func(*Processor)

func (o engineOption) applyProcessor(p *Processor) { o(p) }
func (o engineOption) applyPipeline(p *Pipeline)   { o(&p.pr) }

type pipelineOption func(*Pipeline)

func (o pipelineOption) applyPipeline(p *Pipeline) { o(p) }

// WithChecker sets the quality chain; quality.New provides the standard one. Required.
func WithChecker(c Checker) Option { return engineOption(func(p *Processor) { p.checker = c }) }

// WithDetectors adds detectors. Each sees every trade that passes quality, in order.
func WithDetectors(ds ...Detector) Option {
	return engineOption(func(p *Processor) { p.detectors = append(p.detectors, ds...) })
}

// WithClock makes the engine live: now is processing time, used for EmittedAt and, in a Pipeline,
// idleness and the flush and checkpoint intervals. Sources that block (WebSockets, the paced
// simulator) need it for idleness to work.
func WithClock(now func() time.Time) Option {
	return engineOption(func(p *Processor) { p.now = now })
}

// NewProcessor returns a Processor. WithChecker is required.
func NewProcessor(opts ...Option) (*Processor, error) {
	pr := &Processor{}
	for _, o := range opts {
		o.applyProcessor(pr)
	}
	if err := pr.validate(); err != nil {
		return nil, err
	}
	return pr, nil
}

func (pr *Processor) validate() error {
	if pr.checker == nil {
		return errors.New("ctc: needs a quality checker: add ctc.WithChecker(quality.New(...))")
	}
	return checkDetectors(pr.detectors)
}

// checkDetectors rejects nil detectors and two detectors of one name (their states are saved
// by name).
func checkDetectors(ds []Detector) error {
	seen := map[string]bool{}
	for _, d := range ds {
		if d == nil {
			return errors.New("ctc: nil detector")
		}
		if seen[d.Name()] {
			return fmt.Errorf("ctc: two detectors are named %q", d.Name())
		}
		seen[d.Name()] = true
	}
	return nil
}

// Process runs one record through quality and the detectors. Its trade (when it passes), its
// dead letter (when it fails) and whatever the detectors emit are added to the pending batch.
func (pr *Processor) Process(rec *Record) {
	pr.stats.Records++
	pr.batch.Position = rec.Position
	t := &rec.Trade
	v := pr.checker.Check(rec, t)
	switch v.Status {
	case Fail:
		pr.stats.DeadLetters++
		pr.batch.DeadLetters = append(pr.batch.DeadLetters, newDeadLetter(rec, v))
		return
	case Duplicate:
		pr.stats.Duplicates++
		return
	}
	pr.stats.Trades++
	if t.Timestamp.After(pr.maxEvent) {
		pr.maxEvent = t.Timestamp
	}
	if pr.now != nil {
		pr.lastArrival = pr.now()
	}
	pr.batch.Trades = append(pr.batch.Trades, *t)
	out := &pr.batch.Output
	n := len(out.Alerts)
	for _, d := range pr.detectors {
		d.Observe(t, out)
	}
	pr.finish(n)
}

// deadLetterData is what a dead letter keeps of a record: its original bytes, or, for a source
// that decoded the record itself and kept no bytes, the trade as JSON.
// Bounds of a dead letter, so that a hostile record (a multi-gigabyte line, a 50 MB symbol)
// costs a bounded amount of memory and of every table and file it reaches: its Data keeps the
// record's first MaxDeadLetterData bytes and its Detail says how long the record was; a Detail is
// cut to MaxDeadLetterDetail bytes.
const (
	MaxDeadLetterData   = 4096
	MaxDeadLetterDetail = 1024
)

// newDeadLetter is rec's dead letter for verdict v, within the bounds.
func newDeadLetter(rec *Record, v Verdict) DeadLetter {
	data, detail := deadLetterData(rec), v.Detail
	if len(detail) > MaxDeadLetterDetail {
		detail = cutUTF8(detail, MaxDeadLetterDetail) + "…"
	}
	if len(data) > MaxDeadLetterData {
		detail += fmt.Sprintf(" (the record is %d bytes: its first %d are kept)", len(data), MaxDeadLetterData)
		data = data[:MaxDeadLetterData]
	}
	return DeadLetter{Reason: v.Reason, Detail: detail, Position: rec.Position, Data: append([]byte(nil), data...)}
}

// cutUTF8 cuts s to at most n bytes without splitting a UTF-8 sequence.
func cutUTF8(s string, n int) string {
	for n > 0 && n < len(s) && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func deadLetterData(rec *Record) []byte {
	if len(rec.Data) > 0 || !rec.Decoded {
		return rec.Data
	}
	return rec.Trade.AppendJSON(nil)
}

// Advance moves every detector's event time to t, firing the windows it closes; EndOfTime fires
// them all (the end of a bounded input).
func (pr *Processor) Advance(t time.Time) {
	out := &pr.batch.Output
	n := len(out.Alerts)
	for _, d := range pr.detectors {
		d.Advance(t, out)
	}
	pr.finish(n)
}

// finish completes the alerts emitted since index n: the fields a user's detector may leave to
// the engine (id, TTL) and processing time.
func (pr *Processor) finish(n int) {
	out := &pr.batch.Output
	for i := range out.Alerts[n:] {
		a := &out.Alerts[n+i]
		if a.DetectedAt.IsZero() {
			a.DetectedAt = a.WindowStart
		}
		if a.AlertID == ([16]byte{}) {
			a.AlertID = NewAlertID(a.AlertType, a.Exchange, a.Symbol, WindowKey(a.DetectedAt))
		}
		if a.TTLEpoch == 0 {
			a.TTLEpoch = a.DetectedAt.Add(AlertTTL).Unix()
		}
		if pr.now != nil {
			a.EmittedAt = pr.now().UTC()
		} else {
			a.EmittedAt = a.DetectedAt
		}
	}
	pr.stats.Alerts += int64(len(out.Alerts) - n)
}

// Pending returns the batch of everything produced since the last Take, without removing it.
// The batch is valid until the next call of any other method.
func (pr *Processor) Pending() *Batch { return &pr.batch }

// Take moves the pending batch into dst (which is reset first) and leaves the processor with an
// empty one. dst's slices are reused, so a caller that takes into the same Batch every time
// allocates only as the batches grow.
func (pr *Processor) Take(dst *Batch) {
	pr.stats.Late += int64(len(pr.batch.Output.Late))
	if pr.batch.Len() > 0 {
		pr.stats.Batches++
	}
	dst.Reset()
	pr.batch, *dst = *dst, pr.batch
}

// Checker returns the quality checker the processor runs, for hosts that read its own counters
// (quality.Chain.Stats).
func (pr *Processor) Checker() Checker { return pr.checker }

// Stats returns the processor's counters (Late and Batches count what has been taken).
func (pr *Processor) Stats() Stats { return pr.stats }

// State returns a snapshot of everything the processor remembers, under cp: every detector's
// state (they must all be Snapshotters), the quality chain's (when it is a Snapshotter) and the
// counters. The pending batch is not part of it: Take it first.
//
// Parts that are SegmentSnapshotters (the quality chain's dedup memory) contribute segments:
// those made since the previous State carry their Data, the older live ones only their Name,
// which the StateStore that saved them still holds. State therefore hands each new segment out
// once: a caller whose save fails must Restore its last saved state before it calls State again
// (every host does: a failed checkpoint ends the run or the runner). New segment names start with
// cp.PipelineID, so states of different pipelines can share one store.
func (pr *Processor) State(cp Checkpoint) (*State, error) {
	if pr.batch.Len() > 0 {
		return nil, errors.New("ctc: processor state with a pending batch: Take it first")
	}
	st := &State{Checkpoint: cp, Detectors: make(map[string][]byte, len(pr.detectors)), Stats: pr.stats}
	for _, d := range pr.detectors {
		b, segs, err := snapshotPart(d, cp.PipelineID+"/"+d.Name()+"/")
		if err != nil {
			return nil, fmt.Errorf("ctc: snapshot detector %q: %w", d.Name(), err)
		}
		st.Detectors[d.Name()] = b
		st.Segments = append(st.Segments, segs...)
	}
	if _, ok := pr.checker.(Snapshotter); ok {
		b, segs, err := snapshotPart(pr.checker, cp.PipelineID+"/quality/")
		if err != nil {
			return nil, fmt.Errorf("ctc: snapshot quality chain: %w", err)
		}
		st.Checker = b
		st.Segments = append(st.Segments, segs...)
	}
	return st, nil
}

// snapshotPart snapshots a detector or checker, by segments when it can.
func snapshotPart(part any, prefix string) ([]byte, []Segment, error) {
	switch s := part.(type) {
	case SegmentSnapshotter:
		return s.SnapshotSegments(prefix)
	case Snapshotter:
		b, err := s.Snapshot()
		return b, nil, err
	}
	return nil, nil, errors.New("it does not implement ctc.Snapshotter")
}

// restorePart restores a detector or checker from its head and the state's segments.
func restorePart(part any, head []byte, segs map[string][]byte) error {
	switch s := part.(type) {
	case SegmentSnapshotter:
		return s.RestoreSegments(head, segs)
	case Snapshotter:
		return s.Restore(head)
	}
	return errors.New("it does not implement ctc.Snapshotter")
}

// Restore replaces what the processor remembers with st, as State returned it and a StateStore
// loaded it (every segment with its Data). A nil st is a fresh start and changes nothing.
func (pr *Processor) Restore(st *State) error {
	if st == nil {
		return nil
	}
	segs := make(map[string][]byte, len(st.Segments))
	for _, s := range st.Segments {
		if s.Data == nil {
			return fmt.Errorf("ctc: state %d: segment %q has no data: the state store did not load it", st.Checkpoint.Seq, s.Name)
		}
		segs[s.Name] = s.Data
	}
	for _, d := range pr.detectors {
		b, ok := st.Detectors[d.Name()]
		if !ok {
			return fmt.Errorf("ctc: state %d has no state for detector %q", st.Checkpoint.Seq, d.Name())
		}
		if err := restorePart(d, b, segs); err != nil {
			return fmt.Errorf("ctc: restore detector %q: %w", d.Name(), err)
		}
	}
	if _, ok := pr.checker.(Snapshotter); ok && st.Checker != nil {
		if err := restorePart(pr.checker, st.Checker, segs); err != nil {
			return fmt.Errorf("ctc: restore quality chain: %w", err)
		}
	}
	pr.stats = st.Stats
	pr.batch.Reset()
	pr.batch.Position = st.Checkpoint.Position
	return nil
}
