package partrunner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"pgregory.net/rapid"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/ctctest"
	"github.com/coattailcapital/ctc/detect"
	"github.com/coattailcapital/ctc/quality"
)

// committed is what a table holds for one pipeline, late trades aside.
type committed = ctctest.Committed

// tableSink is a table (ctctest.Table: the Iceberg sink's Committer contract) and one process's
// sink over it, the shape these tests use.
type tableSink struct {
	*ctctest.Table
	*ctctest.TableSink
}

var errCrash = errors.New("crash")

func newTableSink() *tableSink {
	t := ctctest.NewTable()
	return &tableSink{t, t.Sink()}
}

func newProc() (*ctc.Processor, error) {
	chain, err := quality.New(quality.Config{})
	if err != nil {
		return nil, err
	}
	return ctc.NewProcessor(ctc.WithChecker(chain), ctc.WithDetectors(detect.Defaults()...))
}

func seqNo(i int) string { return fmt.Sprint(49_000_000_000 + i) }

// kinesisRecords are the records a producer writes for trades, with a few duplicates and one
// record that is not a trade at all.
func kinesisRecords(t *rapid.T, trades []ctc.Trade) []Record {
	recs := make([]Record, 0, len(trades)+4)
	for _, tr := range trades {
		recs = append(recs, Record{PartitionKey: Instrument(tr.Symbol), Data: tr.AppendJSON(nil)})
	}
	if len(recs) > 2 {
		recs = append(recs, recs[len(recs)/2])
		recs = append(recs, Record{PartitionKey: "BTC", Data: []byte(`{"event_id":`)})
	}
	for i := range recs {
		recs[i].SequenceNumber = seqNo(i)
	}
	return recs
}

// oracle runs records through one plain processor with a fresh state, or st when given.
func oracle(t *rapid.T, st *ctc.State, recs []Record, keep func(symbol string) bool) (committed, *ctc.State) {
	p, err := newProc()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Restore(st); err != nil {
		t.Fatal(err)
	}
	var out committed
	var b ctc.Batch
	for i := range recs {
		rec := ctc.Record{Data: recs[i].Data}
		p.Process(&rec)
	}
	p.Take(&b)
	out.Trades = b.Trades
	out.DeadLetters = b.DeadLetters
	for _, a := range b.Output.Alerts {
		if keep(a.Symbol) {
			out.Output.Alerts = append(out.Output.Alerts, a)
		}
	}
	for _, v := range b.Output.Volumes {
		if keep(v.Symbol) {
			out.Output.Volumes = append(out.Output.Volumes, v)
		}
	}
	for _, s := range b.Output.Spreads {
		if keep(s.Symbol) {
			out.Output.Spreads = append(out.Output.Spreads, s)
		}
	}
	for _, w := range b.Output.Whales {
		if keep(w.Trade.Symbol) {
			out.Output.Whales = append(out.Output.Whales, w)
		}
	}
	next, err := p.State(ctc.Checkpoint{})
	if err != nil {
		t.Fatal(err)
	}
	// The state names the segments it restored without their data, as a store would keep them:
	// hand them on, as a store loading it would.
	if st != nil {
		known := map[string][]byte{}
		for _, g := range st.Segments {
			known[g.Name] = g.Data
		}
		for i, g := range next.Segments {
			if g.Data == nil {
				next.Segments[i].Data = known[g.Name]
			}
		}
	}
	return out, next
}

func all(string) bool { return true }

// fileSink models a sink that writes through to a file (package sink/jsonl): what Write writes
// is there at once and survives a crash; Commit records how far the file was at a checkpoint,
// and Resume (ctc.Resumer) cuts the file back to that, so that a resumed runner writes nothing
// twice. Without the resume, a crash after writing leaves those rows in the file for good.
type fileSink struct {
	rows []ctc.Trade
	at   map[int64]int
}

func (f *fileSink) Write(_ context.Context, b *ctc.Batch) error {
	f.rows = append(f.rows, b.Trades...)
	return nil
}

func (f *fileSink) Commit(_ context.Context, cp ctc.Checkpoint) error {
	if f.at == nil {
		f.at = map[int64]int{}
	}
	f.at[cp.Seq] = len(f.rows)
	return nil
}

func (f *fileSink) Resume(_ context.Context, cp ctc.Checkpoint) error {
	f.rows = f.rows[:f.at[cp.Seq]] // checkpoint 0, or one never committed: the empty file
	return nil
}

// However a shard's records are delivered — in any split, again after a crash, with the host
// dying between saving the state and committing the sinks, or while committing them — the
// sinks end up with exactly what one plain processor produces over the records, once: a table
// (a Committer) and a file written through (a Resumer).
func TestRunnerExactlyOnceAcrossCrashes(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		trades := ctctest.Trades(ctctest.TradeGen{MaxTrades: 250}).Draw(t, "trades")
		recs := kinesisRecords(t, trades)
		want, _ := oracle(t, nil, recs, all)

		ctx := context.Background()
		store, sink, file := &MemoryStateStore{}, newTableSink(), &fileSink{}
		cfg := &Config{App: "app", Store: store, NewProcessor: newProc, Sinks: []ctc.Sink{sink, file}}
		shard := Shard{ID: "shardId-000000000000", Range: FullRange}
		open := func() (*Runner, int) {
			for {
				r, err := Open(ctx, cfg, shard)
				if err == nil {
					// Kinesis delivers again from the checkpoint, sometimes from further back.
					next := 0
					for next < len(recs) && CompareSequence(recs[next].SequenceNumber, r.Sequence()) <= 0 {
						next++
					}
					return r, max(0, next-rapid.IntRange(0, 5).Draw(t, "overlap"))
				}
				if !errors.Is(err, errCrash) {
					t.Fatal(err)
				}
				sink.Crash()
			}
		}
		r, pos := open()
		for crashes := 0; pos < len(recs) || r.dirty; {
			n := rapid.IntRange(0, 40).Draw(t, "n")
			end := min(len(recs), pos+n)
			r.Process(recs[pos:end])
			pos = end
			faults := crashes < 5
			switch {
			case faults && rapid.IntRange(0, 9).Draw(t, "die") == 0:
				crashes++ // the host dies: nothing since the last checkpoint survives
				sink.Crash()
				r, pos = open()
				continue
			case pos < len(recs) && !rapid.Bool().Draw(t, "checkpoint"):
				continue
			}
			if faults {
				sink.FailCommit(rapid.IntRange(0, 3).Draw(t, "failCommit"), errCrash)
				failSave := rapid.IntRange(0, 3).Draw(t, "failSave")
				store.FailSave = func(string, *ShardState) error {
					if failSave--; failSave == 0 {
						return errCrash
					}
					return nil
				}
			} else {
				sink.FailCommit(0, nil)
				store.FailSave = nil
			}
			if err := r.Checkpoint(ctx); err != nil {
				if !errors.Is(err, errCrash) {
					t.Fatal(err)
				}
				crashes++
				sink.Crash()
				sink.FailCommit(0, nil)
				store.FailSave = nil
				r, pos = open()
			}
		}
		got := sink.Committed(cfg.Key(shard.ID))
		if d := cmp.Diff(ctctest.Positionless(want), ctctest.Positionless(got)); d != "" {
			t.Fatalf("committed output differs from one processor over the records (-want +got):\n%s", d)
		}
		if d := cmp.Diff(want.Trades, file.rows, cmpopts.EquateEmpty()); d != "" {
			t.Fatalf("the file written through differs from one processor's trades (-want +got):\n%s", d)
		}
	})
}

// A split and then a merge carry every key's state from parent to child: each range's output
// is what a processor that saw its ancestors' records and then its own produces, for its keys.
func TestRunnerResharding(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		trades := ctctest.Trades(ctctest.TradeGen{MaxTrades: 300}).Draw(t, "trades")
		recs := kinesisRecords(t, trades)
		a := rapid.IntRange(0, len(recs)).Draw(t, "split_at")
		b := rapid.IntRange(a, len(recs)).Draw(t, "merge_at")
		var mid HashKey
		for i := range mid {
			mid[i] = rapid.Byte().Draw(t, "mid")
		}
		mid[0] = 0x20 + mid[0]%0xc0 // keep both sides non-empty
		left := HashRange{Start: FullRange.Start, End: mid}
		next := mid
		for i := len(next) - 1; i >= 0; i-- {
			if next[i]++; next[i] != 0 {
				break
			}
		}
		right := HashRange{Start: next, End: FullRange.End}
		inRange := func(r HashRange) func(string) bool {
			return func(symbol string) bool { return r.Contains(HashOf(Instrument(symbol))) }
		}
		split := func(rs []Record, r HashRange) []Record {
			var out []Record
			for _, k := range rs {
				if r.Contains(HashOf(k.PartitionKey)) {
					out = append(out, k)
				}
			}
			return out
		}

		ctx := context.Background()
		store, sink := &MemoryStateStore{}, newTableSink()
		cfg := &Config{App: "app", Store: store, NewProcessor: newProc, Sinks: []ctc.Sink{sink}}
		parent := Shard{ID: "shardId-0", Range: FullRange}
		l := Shard{ID: "shardId-1", Parents: []string{parent.ID}, Range: left}
		rt := Shard{ID: "shardId-2", Parents: []string{parent.ID}, Range: right}
		merged := Shard{ID: "shardId-3", Parents: []string{l.ID, rt.ID}, Range: FullRange}

		run := func(s Shard, rs []Record) {
			r, err := Open(ctx, cfg, s)
			if err != nil {
				t.Fatal(err)
			}
			for len(rs) > 0 {
				n := min(len(rs), rapid.IntRange(1, 50).Draw(t, "n"))
				r.Process(rs[:n])
				rs = rs[n:]
				if err := r.Checkpoint(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if err := r.Finish(ctx); err != nil {
				t.Fatal(err)
			}
		}
		run(parent, recs[:a])
		run(rt, split(recs[a:b], right)) // either child may go first
		// A parent that has started but not finished keeps its children waiting.
		started, err := Open(ctx, cfg, l)
		if err != nil {
			t.Fatal(err)
		}
		started.Process([]Record{{SequenceNumber: "1", PartitionKey: "x", Data: []byte("{}")}})
		if err := started.Checkpoint(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(ctx, cfg, merged); !errors.Is(err, ErrParentsNotFinished) {
			t.Fatalf("opening a child before its parents finished: got %v, want ErrParentsNotFinished", err)
		}
		if err := store.Save(ctx, cfg.Key(l.ID), &ShardState{Version: 1}); err == nil {
			t.Fatal("a save over a stale version succeeded")
		} else if !errors.Is(err, ErrConflict) {
			t.Fatalf("stale save: got %v, want ErrConflict", err)
		}
		// Start again from nothing, this time in order.
		store.heads = nil
		sink = newTableSink()
		cfg.Sinks = []ctc.Sink{sink}
		run(parent, recs[:a])
		run(rt, split(recs[a:b], right))
		run(l, split(recs[a:b], left))
		run(merged, recs[b:])

		wantP, stP := oracle(t, nil, recs[:a], all)
		wantL, stL := oracle(t, stP, split(recs[a:b], left), inRange(left))
		wantR, stR := oracle(t, stP, split(recs[a:b], right), inRange(right))
		// The merged shard runs its left keys on the left child's state, its right keys on the right's.
		wantML, _ := oracle(t, stL, split(recs[b:], left), inRange(left))
		wantMR, _ := oracle(t, stR, split(recs[b:], right), inRange(right))

		for _, c := range []struct {
			shard string
			want  committed
		}{{parent.ID, wantP}, {l.ID, wantL}, {rt.ID, wantR}} {
			if d := cmp.Diff(ctctest.Positionless(c.want), ctctest.Positionless(sink.Committed(cfg.Key(c.shard)))); d != "" {
				t.Fatalf("%s (-want +got):\n%s", c.shard, d)
			}
		}
		// In the merged shard the two ranges interleave in record order; compare each key's output.
		gotM := sink.Committed(cfg.Key(merged.ID))
		var wantM committed
		wantM.Add(&ctc.Batch{Trades: wantML.Trades, Output: wantML.Output, DeadLetters: wantML.DeadLetters})
		wantM.Add(&ctc.Batch{Trades: wantMR.Trades, Output: wantMR.Output, DeadLetters: wantMR.DeadLetters})
		if d := cmp.Diff(canonical(ctctest.Positionless(wantM)), canonical(ctctest.Positionless(gotM))); d != "" {
			t.Fatalf("merged shard (-want +got):\n%s", d)
		}
	})
}

// canonical orders a committed output so that two interleavings of the same records compare equal.
func canonical(c committed) committed {
	c.Output = ctctest.Canonical(c.Output)
	c.Trades = slices.Clone(c.Trades)
	slices.SortStableFunc(c.Trades, func(a, b ctc.Trade) int { return bytes.Compare(a.EventID[:], b.EventID[:]) })
	c.DeadLetters = slices.Clone(c.DeadLetters)
	slices.SortStableFunc(c.DeadLetters, func(a, b ctc.DeadLetter) int { return bytes.Compare(a.Data, b.Data) })
	return c
}
