package ctc_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/checkpoint"
	"github.com/coattailcapital/ctc/ctctest"
	"github.com/coattailcapital/ctc/detect"
	"github.com/coattailcapital/ctc/quality"
	"github.com/coattailcapital/ctc/source/replay"
)

// collected is everything a run produced, in order.
type collected struct {
	Trades      []ctc.Trade
	Output      ctc.Output
	DeadLetters []ctc.DeadLetter
}

func (c *collected) add(b *ctc.Batch) {
	c.Trades = append(c.Trades, b.Trades...)
	c.Output.Append(&b.Output)
	c.DeadLetters = append(c.DeadLetters, b.DeadLetters...)
}

type collectSink struct{ c collected }

func (s *collectSink) Write(_ context.Context, b *ctc.Batch) error { s.c.add(b); return nil }

func newProcessor(t *rapid.T) *ctc.Processor {
	chain, err := quality.New(quality.Config{})
	if err != nil {
		t.Fatal(err)
	}
	pr, err := ctc.NewProcessor(ctc.WithChecker(chain), ctc.WithDetectors(detect.Defaults()...))
	if err != nil {
		t.Fatal(err)
	}
	return pr
}

// records reads a source to its end, copying each record.
func records(t *rapid.T, src ctc.Source) []ctc.Record {
	var out []ctc.Record
	for {
		var rec ctc.Record
		err := src.Next(context.Background(), &rec)
		if errors.Is(err, ctc.ErrEndOfInput) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		rec.Data = append([]byte(nil), rec.Data...)
		out = append(out, rec)
	}
}

// A Processor fed the records in any split into calls — with its state saved, encoded and
// restored into a fresh processor between calls, as a Lambda does between invocations — produces
// exactly what a Pipeline produces over the same records.
func TestProcessorEqualsPipeline(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		trades := ctctest.Trades(ctctest.TradeGen{MaxTrades: 300}).Draw(t, "trades")
		if len(trades) > 3 {
			trades = append(trades, trades[1], trades[len(trades)/2]) // duplicates
		}

		chain, err := quality.New(quality.Config{})
		if err != nil {
			t.Fatal(err)
		}
		sink := &collectSink{}
		p, err := ctc.NewPipeline(replay.Trades(trades), ctc.WithChecker(chain),
			ctc.WithDetectors(detect.Defaults()...), ctc.WithSinks(sink), ctc.WithBatchSize(5))
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Run(context.Background()); err != nil {
			t.Fatal(err)
		}

		recs := records(t, replay.Trades(trades))
		dir, err := os.MkdirTemp("", "ctc-processor-*")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		store, err := checkpoint.NewDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var got collected
		var b ctc.Batch
		pr := newProcessor(t)
		for i := 0; i < len(recs); {
			n := rapid.IntRange(1, 40).Draw(t, "batch")
			for ; n > 0 && i < len(recs); n, i = n-1, i+1 {
				pr.Process(&recs[i])
			}
			pr.Take(&b)
			got.add(&b)
			if rapid.Bool().Draw(t, "restart") {
				st, err := pr.State(ctc.Checkpoint{PipelineID: "shard", Seq: int64(i), Position: recs[i-1].Position})
				if err != nil {
					t.Fatal(err)
				}
				// Through a real store, which keeps the segments the state names without data.
				if err := store.Save(context.Background(), st); err != nil {
					t.Fatal(err)
				}
				dec, err := store.Load(context.Background(), "shard")
				if err != nil {
					t.Fatal(err)
				}
				pr = newProcessor(t)
				if err := pr.Restore(dec); err != nil {
					t.Fatal(err)
				}
			}
		}
		pr.Advance(ctc.EndOfTime)
		pr.Take(&b)
		got.add(&b)

		if d := cmp.Diff(sink.c, got); d != "" {
			t.Fatalf("processor differs from pipeline (-pipeline +processor):\n%s", d)
		}
		ps, qs := p.Stats(), pr.Stats()
		if ps.Records != qs.Records || ps.Trades != qs.Trades || ps.DeadLetters != qs.DeadLetters ||
			ps.Duplicates != qs.Duplicates || ps.Alerts != qs.Alerts || ps.Late != qs.Late {
			t.Fatalf("stats differ: pipeline %+v, processor %+v", ps, qs)
		}
	})
}

// A pipeline-only option (sinks, checkpoints, batching) passed to NewProcessor does not compile:
// ctc.PipelineOption is not a ctc.Option. What is left to check at run time is the checker.
func TestProcessorNeedsChecker(t *testing.T) {
	chain, err := quality.New(quality.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ctc.NewProcessor(); err == nil {
		t.Error("NewProcessor without a checker succeeded")
	}
	pr, err := ctc.NewProcessor(ctc.WithChecker(chain))
	if err != nil {
		t.Fatal(err)
	}
	rec := ctc.Record{Data: []byte(`{"not":"a trade"}`)}
	pr.Process(&rec)
	if _, err := pr.State(ctc.Checkpoint{}); err == nil {
		t.Error("State with a pending batch succeeded")
	}
	var b ctc.Batch
	pr.Take(&b)
	if len(b.DeadLetters) != 1 {
		t.Fatalf("got %d dead letters, want 1", len(b.DeadLetters))
	}
	if _, err := pr.State(ctc.Checkpoint{}); err != nil {
		t.Fatal(err)
	}
}
