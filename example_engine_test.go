package ctc_test

import (
	"context"
	"fmt"
	"os"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/checkpoint"
	"github.com/coattailcapital/ctc/detect"
	"github.com/coattailcapital/ctc/quality"
)

// The engine driven by hand, as a host that receives records in batches does (the stream
// Lambda, a shard runner): Process, then Take what came out; State to checkpoint, Restore on
// another host to continue exactly where the first stopped — the duplicate is still recognised.
func ExampleProcessor() {
	newEngine := func() (*ctc.Processor, *quality.Chain) {
		chain, _ := quality.New(quality.Config{})
		pr, err := ctc.NewProcessor(ctc.WithChecker(chain), ctc.WithDetectors(detect.Defaults()...))
		if err != nil {
			panic(err)
		}
		return pr, chain
	}
	whale := `{"event_id":"6f1c7c52-0f5e-5d2c-9a57-0d8e5b7e1a11","exchange":"binance","symbol":"BTC-USDT","price":60000,"quantity":12.5,"side":"buy","timestamp":"2024-01-15T10:30:00.123Z"}`

	first, _ := newEngine()
	first.Process(&ctc.Record{Data: []byte(whale)})
	var out ctc.Batch
	first.Take(&out)
	fmt.Println("first host:", len(out.Trades), "trade,", len(out.Output.Alerts), "alert")
	st, err := first.State(ctc.Checkpoint{PipelineID: "shard-1", Seq: 1})
	if err != nil {
		panic(err)
	}

	second, chain := newEngine()
	if err := second.Restore(st); err != nil {
		panic(err)
	}
	second.Process(&ctc.Record{Data: []byte(whale)}) // delivered again
	second.Take(&out)
	fmt.Println("second host:", len(out.Trades), "trades,", chain.Stats().Duplicate, "duplicate")
	// Output:
	// first host: 1 trade, 1 alert
	// second host: 0 trades, 1 duplicate
}

// Checkpoints in files: the state is saved with each checkpoint's output before the sinks commit
// (write-ahead), and a pipeline started again with the same id resumes after the last checkpoint.
// A checkpoint writes the dedup ids since the previous one as a segment, not the whole hour.
func ExampleWithCheckpoints() {
	dir, _ := os.MkdirTemp("", "ctc-example-*")
	defer os.RemoveAll(dir)
	store, err := checkpoint.NewDir(dir)
	if err != nil {
		panic(err)
	}
	var lines []string
	for i := range 6 {
		lines = append(lines, fmt.Sprintf(`{"event_id":"6f1c7c52-0f5e-5d2c-9a57-0d8e5b7e1a%02d","exchange":"binance","symbol":"BTC-USDT","price":60000,"quantity":0.5,"side":"buy","timestamp":"2024-01-15T10:30:0%d.000Z"}`, i, i))
	}
	run := func() *ctc.State {
		src := &lineSource{lines: lines}
		chain, _ := quality.New(quality.Config{})
		p, err := ctc.NewPipeline(src, ctc.WithChecker(chain), ctc.WithDetectors(detect.Defaults()...),
			ctc.WithCheckpoints(ctc.CheckpointConfig{Store: store, PipelineID: "replay-1", EveryRecords: 2}))
		if err != nil {
			panic(err)
		}
		if err := p.Run(context.Background()); err != nil {
			panic(err)
		}
		st, _ := store.Load(context.Background(), "replay-1")
		return st
	}
	st := run()
	fmt.Println("checkpoint", st.Checkpoint.Seq, "after record", st.Checkpoint.Position.Offset, "with", len(st.Segments), "dedup segments")
	st = run() // the same id again: it resumes after record 6, with nothing left to do
	fmt.Println("checkpoint", st.Checkpoint.Seq, "after record", st.Checkpoint.Position.Offset, "records counted", st.Stats.Records)
	// Output:
	// checkpoint 4 after record 6 with 3 dedup segments
	// checkpoint 5 after record 6 records counted 6
}

// lineSource is a seekable source over lines, at positions 1..n.
type lineSource struct {
	lines []string
	next  int
}

func (s *lineSource) Next(_ context.Context, rec *ctc.Record) error {
	if s.next >= len(s.lines) {
		return ctc.ErrEndOfInput
	}
	rec.Data = append(rec.Data[:0], s.lines[s.next]...)
	s.next++
	rec.Position = ctc.Position{Partition: "lines", Offset: int64(s.next)}
	return nil
}

func (s *lineSource) Seek(_ context.Context, after ctc.Position) error {
	s.next = int(after.Offset)
	return nil
}
