package ctc_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/ctctest"
	"github.com/coattailcapital/ctc/detect"
	"github.com/coattailcapital/ctc/quality"
	"github.com/coattailcapital/ctc/source/replay"
)

// table is a fake table-format sink with the Committer contract: rows become visible only when
// committed, a process death loses what was not, and a checkpoint already committed is not
// committed twice.
type table struct {
	committed ctc.Batch
	seq       int64
	pending   ctc.Batch
	failWrite int // fail the n-th Write from now (a crash); 0 never
	// failCommit fails the n-th Commit from now, losing what was written: the crash between
	// the state save and the commit, which the write-ahead state repairs.
	failCommit int
}

var errCrash = errors.New("crash")

func (t *table) Write(_ context.Context, b *ctc.Batch) error {
	if t.failWrite > 0 {
		t.failWrite--
		if t.failWrite == 0 {
			return errCrash
		}
	}
	t.pending.Trades = append(t.pending.Trades, b.Trades...)
	t.pending.Output.Append(&b.Output)
	return nil
}

func (t *table) Commit(_ context.Context, cp ctc.Checkpoint) error {
	if t.failCommit > 0 {
		t.failCommit--
		if t.failCommit == 0 {
			t.pending = ctc.Batch{}
			return errCrash // after the state was saved, before the commit landed
		}
	}
	if cp.Seq > t.seq {
		t.committed.Trades = append(t.committed.Trades, t.pending.Trades...)
		t.committed.Output.Append(&t.pending.Output)
		t.seq = cp.Seq
	}
	t.pending = ctc.Batch{}
	return nil
}

// restart is what a process death does to the sink: the uncommitted rows are gone.
func (t *table) restart() { t.pending = ctc.Batch{} }

// memState is a StateStore that can fail a Save (a crash before the state is saved). It keeps
// segments as a durable store does: written once, named by later states without their data.
type memState struct {
	st       *ctc.State
	segs     map[string][]byte
	failSave int
}

func (m *memState) Load(context.Context, string) (*ctc.State, error) {
	if m.st == nil {
		return nil, nil
	}
	st := *m.st
	st.Segments = slices.Clone(st.Segments)
	for i := range st.Segments {
		st.Segments[i].Data = m.segs[st.Segments[i].Name]
	}
	if m.st.Pending != nil {
		st.Pending = new(ctc.Batch)
		if err := st.Pending.UnmarshalBinary(m.st.Pending.AppendBinary(nil)); err != nil {
			return nil, err
		}
	}
	return &st, nil
}

func (m *memState) Save(_ context.Context, st *ctc.State) error {
	if m.failSave > 0 {
		m.failSave--
		if m.failSave == 0 {
			return errCrash
		}
	}
	if m.segs == nil {
		m.segs = map[string][]byte{}
	}
	cp := *st
	cp.Segments = nil
	for _, g := range st.Segments {
		if g.Data != nil {
			m.segs[g.Name] = slices.Clone(g.Data)
		} else if _, ok := m.segs[g.Name]; !ok {
			return fmt.Errorf("segment %q named without data, never saved", g.Name)
		}
		cp.Segments = append(cp.Segments, ctc.Segment{Name: g.Name})
	}
	if st.Pending != nil {
		// The pipeline reuses its pending batch: keep a copy, through the binary form.
		cp.Pending = new(ctc.Batch)
		if err := cp.Pending.UnmarshalBinary(st.Pending.AppendBinary(nil)); err != nil {
			return err
		}
	}
	m.st = &cp
	return nil
}

func runOnce(t *rapid.T, trades []ctc.Trade, sink *table, store *memState, every int64) error {
	chain, err := quality.New(quality.Config{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := ctc.NewPipeline(replay.Trades(trades), ctc.WithChecker(chain),
		ctc.WithDetectors(detect.Defaults()...), ctc.WithSinks(sink), ctc.WithBatchSize(7),
		ctc.WithCheckpoints(ctc.CheckpointConfig{Store: store, PipelineID: "test", EveryRecords: every}))
	if err != nil {
		t.Fatal(err)
	}
	return p.Run(context.Background())
}

// Crashing anywhere — while writing a batch, or between a commit and the state save — and
// restarting from the last checkpoint commits exactly what an uninterrupted run commits.
func TestCheckpointCrashRestartIsExactlyOnce(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		trades := ctctest.Trades(ctctest.TradeGen{MaxTrades: 300}).Draw(t, "trades")
		// Some duplicates, so dedup state must survive restarts too.
		for i := range rapid.IntRange(0, 5).Draw(t, "dups") {
			if len(trades) > i {
				trades = slices.Insert(trades, len(trades)-i, trades[i])
			}
		}
		every := rapid.Int64Range(1, 60).Draw(t, "every")

		want := &table{}
		if err := runOnce(t, trades, want, &memState{}, every); err != nil {
			t.Fatal(err)
		}

		got, store := &table{}, &memState{}
		for crashes := 0; ; crashes++ {
			if crashes < 4 {
				got.failWrite = rapid.IntRange(0, 20).Draw(t, "failWrite")
				got.failCommit = rapid.IntRange(0, 6).Draw(t, "failCommit")
				store.failSave = rapid.IntRange(0, 6).Draw(t, "failSave")
			} else {
				got.failWrite, got.failCommit, store.failSave = 0, 0, 0
			}
			err := runOnce(t, trades, got, store, every)
			if err == nil {
				break
			}
			if !errors.Is(err, errCrash) {
				t.Fatalf("run %d: %v", crashes, err)
			}
			got.restart()
		}
		if d := cmp.Diff(want.committed, got.committed); d != "" {
			t.Fatalf("committed rows after crashes differ from an uninterrupted run (-want +got):\n%s", d)
		}
	})
}

// Write-ahead holds a checkpoint's output in memory until the checkpoint: MaxPending bounds it
// by checkpointing early, without changing what is committed.
func TestMaxPendingCheckpointsEarly(t *testing.T) {
	var trades []ctc.Trade
	for seed := 1; len(trades) < 1000; seed++ {
		trades = ctctest.Trades(ctctest.TradeGen{MaxTrades: 3000}).Example(seed)
	}
	run := func(maxPending int) (*table, *memState) {
		chain, _ := quality.New(quality.Config{})
		sink, store := &table{}, &memState{}
		p, err := ctc.NewPipeline(replay.Trades(trades), ctc.WithChecker(chain), ctc.WithDetectors(detect.Defaults()...),
			ctc.WithSinks(sink), ctc.WithBatchSize(10),
			ctc.WithCheckpoints(ctc.CheckpointConfig{Store: store, PipelineID: "p", MaxPending: maxPending}))
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		return sink, store
	}
	whole, wholeState := run(0)
	bounded, boundedState := run(50)
	if wholeState.st.Checkpoint.Seq != 1 {
		t.Fatalf("without a bound: %d checkpoints, want 1 (at the end)", wholeState.st.Checkpoint.Seq)
	}
	if n := boundedState.st.Checkpoint.Seq; n < int64(len(trades)/60) {
		t.Fatalf("with MaxPending 50: %d checkpoints for %d trades", n, len(trades))
	}
	if d := cmp.Diff(whole.committed, bounded.committed); d != "" {
		t.Fatalf("MaxPending changed what was committed (-without +with):\n%s", d)
	}
}

// blind is a table that says it does not read trades (ctc.TradeReader).
type blind struct{ table }

func (*blind) ReadsTrades() bool { return false }

// A checkpoint saves the trades of its output only when some sink reads them.
func TestPendingKeepsTradesOnlyForSinksThatReadThem(t *testing.T) {
	var trades []ctc.Trade
	for seed := 1; len(trades) < 20; seed++ {
		trades = ctctest.Trades(ctctest.TradeGen{MaxTrades: 200}).Example(seed)
	}
	for _, c := range []struct {
		name  string
		sinks []ctc.Sink
		want  bool
	}{
		{"one reads", []ctc.Sink{&blind{}, &table{}}, true},
		{"none reads", []ctc.Sink{&blind{}}, false},
	} {
		chain, _ := quality.New(quality.Config{})
		store := &memState{}
		p, err := ctc.NewPipeline(replay.Trades(trades), ctc.WithChecker(chain), ctc.WithDetectors(detect.Defaults()...),
			ctc.WithSinks(c.sinks...), ctc.WithCheckpoints(ctc.CheckpointConfig{Store: store, PipelineID: "p"}))
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := len(store.st.Pending.Trades) > 0; got != c.want || len(trades) == 0 {
			t.Errorf("%s: pending holds %d trades of %d", c.name, len(store.st.Pending.Trades), len(trades))
		}
		if b := c.sinks[0].(*blind); len(b.committed.Trades) != len(trades)-countDups(trades) {
			t.Errorf("%s: the sink got %d trades, want them all", c.name, len(b.committed.Trades))
		}
	}
}

func countDups(ts []ctc.Trade) int {
	seen, n := map[[16]byte]bool{}, 0
	for _, t := range ts {
		if seen[t.EventID] {
			n++
		}
		seen[t.EventID] = true
	}
	return n
}
