package partrunner

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/ctctest"
)

// A host that knows the parents are done (the Lambda event-source mapping, which delivers a
// child only after its parents but never says that a parent ended) opens the child with
// ParentsDone over parents whose states are not marked Finished, and the child continues every
// key exactly where the parent left it.
func TestRunnerParentsDone(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		trades := ctctest.Trades(ctctest.TradeGen{MaxTrades: 200}).Draw(t, "trades")
		recs := kinesisRecords(t, trades)
		a := rapid.IntRange(0, len(recs)).Draw(t, "split_at")

		ctx := context.Background()
		store, sink := &MemoryStateStore{}, newTableSink()
		cfg := &Config{App: "app", Store: store, NewProcessor: newProc, Sinks: []ctc.Sink{sink}}
		parent := Shard{ID: "shardId-0", Range: FullRange}
		child := Shard{ID: "shardId-1", Parents: []string{parent.ID}, Range: FullRange}

		r, err := Open(ctx, cfg, parent)
		if err != nil {
			t.Fatal(err)
		}
		r.Process(recs[:a])
		if err := r.Checkpoint(ctx); err != nil {
			t.Fatal(err)
		}
		if a > 0 { // a parent never read leaves no state, and a child never waits for it
			if _, err := Open(ctx, cfg, child); !errors.Is(err, ErrParentsNotFinished) {
				t.Fatalf("child without ParentsDone: got %v, want ErrParentsNotFinished", err)
			}
		}
		child.ParentsDone = true
		c, err := Open(ctx, cfg, child)
		if err != nil {
			t.Fatal(err)
		}
		c.Process(recs[a:])
		if err := c.Checkpoint(ctx); err != nil {
			t.Fatal(err)
		}

		wantP, st := oracle(t, nil, recs[:a], all)
		wantC, _ := oracle(t, st, recs[a:], all)
		for _, x := range []struct {
			shard string
			want  committed
		}{{parent.ID, wantP}, {child.ID, wantC}} {
			if d := cmp.Diff(ctctest.Positionless(x.want), ctctest.Positionless(sink.Committed(cfg.Key(x.shard)))); d != "" {
				t.Fatalf("%s (-want +got):\n%s", x.shard, d)
			}
		}
	})
}
