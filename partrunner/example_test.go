package partrunner_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/detect"
	"github.com/coattailcapital/ctc/partrunner"
	"github.com/coattailcapital/ctc/quality"
)

// table is a sink with the Iceberg sink's contract (ctc.Committer): what is written becomes
// visible at Commit, and a checkpoint sequence a pipeline has committed is not committed again.
// That is what lets a Runner commit a checkpoint's output again after a crash without doubling it.
type table struct {
	pending, rows ctc.Batch
	last          map[string]int64
}

func (t *table) Write(_ context.Context, b *ctc.Batch) error {
	t.pending.Trades = append(t.pending.Trades, b.Trades...)
	t.pending.DeadLetters = append(t.pending.DeadLetters, b.DeadLetters...)
	t.pending.Output.Append(&b.Output)
	return nil
}

func (t *table) Commit(_ context.Context, cp ctc.Checkpoint) error {
	if cp.Seq > t.last[cp.PipelineID] {
		t.rows.Trades = append(t.rows.Trades, t.pending.Trades...)
		t.rows.DeadLetters = append(t.rows.DeadLetters, t.pending.DeadLetters...)
		t.rows.Output.Append(&t.pending.Output)
		t.last[cp.PipelineID] = cp.Seq
	}
	t.pending = ctc.Batch{}
	return nil
}

// One partition processed by two hosts in turn: the second picks it up where the first
// checkpointed, skips what is delivered again, and the first, which does not know it lost the
// partition, cannot checkpoint over it.
func Example() {
	ctx := context.Background()
	store := &partrunner.MemoryStateStore{} // shared by both hosts, as a DynamoDB table would be
	sink := &table{last: map[string]int64{}}
	cfg := &partrunner.Config{
		App:          "alerts",
		Store:        store,
		NewProcessor: partrunner.Processors(quality.Config{}, detect.DefaultThresholds(), nil),
		Sinks:        []ctc.Sink{sink},
	}
	part := partrunner.Shard{ID: "trades/0", Range: partrunner.FullRange}
	recs := []partrunner.Record{
		{SequenceNumber: "7", PartitionKey: "BTC", Data: []byte(`{"event_id":"0b6a0f3c-9f3e-4bb4-8b1e-2f1f3c1d9a01","exchange":"binance","symbol":"BTC-USDT","price":50000,"quantity":3,"side":"buy","timestamp":"2024-01-15T10:00:00Z"}`)},
		{SequenceNumber: "8", PartitionKey: "BTC", Data: []byte(`not json`)},
	}

	a, err := partrunner.Open(ctx, cfg, part)
	if err != nil {
		panic(err)
	}
	a.Process(recs[:1])
	if err := a.Checkpoint(ctx); err != nil {
		panic(err)
	}

	b, err := partrunner.Open(ctx, cfg, part) // another host takes the partition over
	if err != nil {
		panic(err)
	}
	fmt.Println("resumes after", b.Sequence())
	fmt.Println("processed", b.Process(recs), "of", len(recs), "delivered")
	if err := b.Checkpoint(ctx); err != nil {
		panic(err)
	}

	a.Process(recs[1:])
	err = a.Checkpoint(ctx)
	fmt.Println("old owner's checkpoint conflicts:", errors.Is(err, partrunner.ErrConflict))

	// b's Open committed a's checkpoint again, which the table recognised.
	fmt.Printf("committed: %d trade, %d whale, %d dead letter\n", len(sink.rows.Trades), len(sink.rows.Output.Whales), len(sink.rows.DeadLetters))
	// Output:
	// resumes after 7
	// processed 1 of 2 delivered
	// old owner's checkpoint conflicts: true
	// committed: 1 trade, 1 whale, 1 dead letter
}
