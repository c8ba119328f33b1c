package ctctest

import (
	"context"
	"errors"
	"sync"

	"github.com/coattailcapital/ctc"
)

// Table is an in-memory model of a lakehouse table, for tests of hosts and runners that claim
// exactly-once output (partrunner, shardrunner, kafkarunner, or your own): it has the contract
// of the Iceberg sink's ctc.Committer. A process writes through a [TableSink] (Table.Sink), which
// buffers until Commit; Commit under a checkpoint makes the buffer visible for the checkpoint's
// pipeline, unless that pipeline has already committed a sequence as high (a checkpoint
// committed again after a crash is skipped, as Iceberg skips it); a process death
// (TableSink.Crash) loses what was written and not committed. Committed returns what a pipeline
// holds, to compare with an oracle. A Table and its sinks are safe for concurrent use.
type Table struct {
	mu      sync.Mutex
	last    map[string]int64
	rows    map[string]*Committed
	failIn  int
	failErr error
}

// Committed is what a table holds for one pipeline: trades, the output (late trades left out:
// they are the late_trades table's, not this model's) and dead letters, in commit order.
type Committed struct {
	Trades      []ctc.Trade
	Output      ctc.Output
	DeadLetters []ctc.DeadLetter
}

// Add appends b's records to c, as a commit of b would (late trades left out).
func (c *Committed) Add(b *ctc.Batch) {
	c.Trades = append(c.Trades, b.Trades...)
	o := b.Output
	o.Late = nil
	c.Output.Append(&o)
	c.DeadLetters = append(c.DeadLetters, b.DeadLetters...)
}

// NewTable returns an empty table.
func NewTable() *Table {
	return &Table{last: map[string]int64{}, rows: map[string]*Committed{}}
}

// Sink returns a new process's sink over the table, with an empty buffer.
func (t *Table) Sink() *TableSink { return &TableSink{t: t} }

// ErrCommitFailed is the error of a Commit made to fail by FailCommit with a nil error.
var ErrCommitFailed = errors.New("ctctest: commit failed (injected)")

// FailCommit makes the n-th Commit from now (on any of the table's sinks) fail with err
// (ErrCommitFailed if nil), losing that sink's buffer as a process dying in the middle of a
// commit would; n 0 cancels it.
func (t *Table) FailCommit(n int, err error) {
	if err == nil {
		err = ErrCommitFailed
	}
	t.mu.Lock()
	t.failIn, t.failErr = n, err
	t.mu.Unlock()
}

// Committed returns a copy of what pipelineID holds (the zero Committed for none).
func (t *Table) Committed(pipelineID string) Committed {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.rows[pipelineID]
	if c == nil {
		return Committed{}
	}
	var out Committed
	out.Add(&ctc.Batch{Trades: c.Trades, Output: c.Output, DeadLetters: c.DeadLetters})
	return out
}

// LastCommitted returns the highest checkpoint sequence pipelineID has committed (0 for none).
func (t *Table) LastCommitted(pipelineID string) int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.last[pipelineID]
}

// TableSink is one process's writer of a Table: a ctc.Sink and ctc.Committer.
type TableSink struct {
	t       *Table
	mu      sync.Mutex
	pending ctc.Batch
}

var _ ctc.Committer = (*TableSink)(nil)

// Write buffers b's records until Commit.
func (s *TableSink) Write(_ context.Context, b *ctc.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending.Trades = append(s.pending.Trades, b.Trades...)
	s.pending.Output.Append(&b.Output)
	s.pending.DeadLetters = append(s.pending.DeadLetters, b.DeadLetters...)
	return nil
}

// Commit makes the buffer visible for cp's pipeline unless the pipeline has committed cp.Seq
// (or a later sequence) already, and empties it either way.
func (s *TableSink) Commit(_ context.Context, cp ctc.Checkpoint) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.failIn > 0 {
		if t.failIn--; t.failIn == 0 {
			s.pending = ctc.Batch{}
			return t.failErr
		}
	}
	if cp.Seq > t.last[cp.PipelineID] {
		c := t.rows[cp.PipelineID]
		if c == nil {
			c = &Committed{}
			t.rows[cp.PipelineID] = c
		}
		c.Add(&s.pending)
		t.last[cp.PipelineID] = cp.Seq
	}
	s.pending = ctc.Batch{}
	return nil
}

// Crash loses what was written and not committed, as the death of the sink's process does.
func (s *TableSink) Crash() {
	s.mu.Lock()
	s.pending = ctc.Batch{}
	s.mu.Unlock()
}

// Positionless returns a copy of c without what depends on delivery — dead letters' record
// positions — for comparing a host's output with an oracle that does not model positions.
func Positionless(c Committed) Committed {
	c.DeadLetters = append([]ctc.DeadLetter(nil), c.DeadLetters...)
	for i := range c.DeadLetters {
		c.DeadLetters[i].Position = ctc.Position{}
	}
	return c
}
