package shardrunner

import (
	"context"
	"fmt"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/detect"
	"github.com/coattailcapital/ctc/quality"
)

// The runner's own tests, with the fuller versions of these helpers, are in package partrunner;
// these serve the tests of what shardrunner adds (the consumer, leases, the DynamoDB store).

func newProc() (*ctc.Processor, error) {
	chain, err := quality.New(quality.Config{})
	if err != nil {
		return nil, err
	}
	return ctc.NewProcessor(ctc.WithChecker(chain), ctc.WithDetectors(detect.Defaults()...))
}

func seqNo(i int) string { return fmt.Sprint(49_000_000_000 + i) }

// committed is what a table-like sink holds for one pipeline, late trades aside.
type committed struct {
	Trades      []ctc.Trade
	Output      ctc.Output
	DeadLetters []ctc.DeadLetter
}

// tableSink has the Committer contract of the Iceberg sink: rows become visible at Commit, and a
// checkpoint sequence already committed by a pipeline is not committed again.
type tableSink struct {
	pending ctc.Batch
	last    map[string]int64
	rows    map[string]*committed
}

func newTableSink() *tableSink {
	return &tableSink{last: map[string]int64{}, rows: map[string]*committed{}}
}

func (s *tableSink) Write(_ context.Context, b *ctc.Batch) error {
	s.pending.Trades = append(s.pending.Trades, b.Trades...)
	s.pending.Output.Append(&b.Output)
	s.pending.DeadLetters = append(s.pending.DeadLetters, b.DeadLetters...)
	return nil
}

func (s *tableSink) Commit(_ context.Context, cp ctc.Checkpoint) error {
	if cp.Seq > s.last[cp.PipelineID] {
		c := s.rows[cp.PipelineID]
		if c == nil {
			c = &committed{}
			s.rows[cp.PipelineID] = c
		}
		c.Trades = append(c.Trades, s.pending.Trades...)
		o := s.pending.Output
		o.Late = nil
		c.Output.Append(&o)
		c.DeadLetters = append(c.DeadLetters, s.pending.DeadLetters...)
		s.last[cp.PipelineID] = cp.Seq
	}
	s.pending = ctc.Batch{}
	return nil
}

func (s *tableSink) of(pipelineID string) committed {
	if c := s.rows[pipelineID]; c != nil {
		return *c
	}
	return committed{}
}
