package ctctest

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/coattailcapital/ctc"
)

// TestStateStore is the conformance suite of a ctc.StateStore (checkpoint.Dir passes it): what a
// checkpoint saves is what a restart loads — the head, every segment a state names with its
// data, the pending output — including segments saved by earlier states and named again without
// data; a new state's segments replace the old ones; pipelines keep apart; Load of a pipeline
// never saved is (nil, nil). newStore returns an empty store; reopen, when set, returns a new
// store over the same storage, as a restarted process opens it.
func TestStateStore(t *testing.T, newStore func(t *testing.T) ctc.StateStore, reopen func(t *testing.T, s ctc.StateStore) ctc.StateStore) {
	t.Helper()
	ctx := context.Background()
	if reopen == nil {
		reopen = func(_ *testing.T, s ctc.StateStore) ctc.StateStore { return s }
	}
	seg := func(name string, n int) ctc.Segment {
		d := make([]byte, n)
		for i := range d {
			d[i] = byte(i*7 + len(name))
		}
		return ctc.Segment{Name: name, Data: d}
	}
	state := func(id string, seq int64, segs ...ctc.Segment) *ctc.State {
		at := time.Date(2026, 1, 5, 10, 0, int(seq), 0, time.UTC)
		return &ctc.State{
			Checkpoint: ctc.Checkpoint{PipelineID: id, Seq: seq, Position: ctc.Position{Partition: "f", Offset: seq * 100}},
			Detectors:  map[string][]byte{"whale": {}, "volume_spike": {1, 2, 3, byte(seq)}},
			Checker:    []byte("head"),
			Segments:   segs,
			Stats:      ctc.Stats{Records: seq * 100, Trades: seq * 90},
			Pending: &ctc.Batch{
				Trades: []ctc.Trade{{EventID: uuid.New(), Exchange: ctc.Binance, Symbol: "BTC-USDT", Price: 1.5,
					Quantity: 2, QuoteVolume: 3, Side: ctc.Buy, Timestamp: at, IngestionTimestamp: at.Add(time.Millisecond)}},
				Output:      ctc.Output{Alerts: []ctc.Alert{{AlertID: uuid.New(), AlertType: ctc.Whale, Symbol: "BTC-USDT", DetectedAt: at, EmittedAt: at}}},
				DeadLetters: []ctc.DeadLetter{{Reason: ctc.Malformed, Detail: "x", Data: []byte("{"), Position: ctc.Position{Partition: "f", Offset: 3}}},
				Position:    ctc.Position{Partition: "f", Offset: seq * 100},
			},
		}
	}
	// want is what a load gives: every segment with its data.
	want := func(st *ctc.State, data map[string][]byte) *ctc.State {
		w := *st
		w.Segments = nil
		for _, g := range st.Segments {
			w.Segments = append(w.Segments, ctc.Segment{Name: g.Name, Data: data[g.Name]})
		}
		return &w
	}
	check := func(t *testing.T, s ctc.StateStore, id string, w *ctc.State) {
		t.Helper()
		got, err := s.Load(ctx, id)
		if err != nil {
			t.Fatalf("Load(%q): %v", id, err)
		}
		if d := cmp.Diff(w, got, cmp.Comparer(func(a, b []byte) bool { return bytes.Equal(a, b) })); d != "" {
			t.Fatalf("Load(%q) (-saved +loaded):\n%s", id, d)
		}
	}

	t.Run("empty", func(t *testing.T) {
		s := newStore(t)
		if st, err := s.Load(ctx, "never-saved"); st != nil || err != nil {
			t.Fatalf("Load of a pipeline never saved: %v, %v; want nil, nil", st, err)
		}
	})

	t.Run("segments carried by name", func(t *testing.T) {
		s := newStore(t)
		data := map[string][]byte{}
		a, b, c := seg("p1/quality/0-a", 1000), seg("p1/quality/1-b", 10), seg("p1/quality/2-c", 0)
		for _, g := range []ctc.Segment{a, b, c} {
			data[g.Name] = g.Data
		}
		first := state("p1", 1, a, b)
		if err := s.Save(ctx, first); err != nil {
			t.Fatal(err)
		}
		check(t, reopen(t, s), "p1", want(first, data))
		// The next checkpoint names a and b again without their data, and adds c.
		second := state("p1", 2, ctc.Segment{Name: a.Name}, ctc.Segment{Name: b.Name}, c)
		if err := s.Save(ctx, second); err != nil {
			t.Fatal(err)
		}
		check(t, reopen(t, s), "p1", want(second, data))
		// Then a expires: the state names only b and c.
		third := state("p1", 3, ctc.Segment{Name: b.Name}, ctc.Segment{Name: c.Name})
		if err := s.Save(ctx, third); err != nil {
			t.Fatal(err)
		}
		check(t, reopen(t, s), "p1", want(third, data))
	})

	t.Run("pipelines apart", func(t *testing.T) {
		s := newStore(t)
		data := map[string][]byte{}
		for i, id := range []string{"p1", "p2"} {
			g := seg(id+"/quality/0-x", 50+i)
			data[g.Name] = g.Data
			if err := s.Save(ctx, state(id, int64(i+1), g)); err != nil {
				t.Fatal(err)
			}
		}
		for i, id := range []string{"p1", "p2"} {
			st := state(id, int64(i+1), ctc.Segment{Name: id + "/quality/0-x"})
			got, err := reopen(t, s).Load(ctx, id)
			if err != nil || got == nil {
				t.Fatalf("Load(%q): %v, %v", id, got, err)
			}
			if got.Checkpoint != st.Checkpoint || len(got.Segments) != 1 || !bytes.Equal(got.Segments[0].Data, data[id+"/quality/0-x"]) {
				t.Fatalf("Load(%q) = %+v", id, got.Checkpoint)
			}
		}
	})

	t.Run("no pending output", func(t *testing.T) {
		s := newStore(t)
		st := state("p1", 4)
		st.Pending = nil
		if err := s.Save(ctx, st); err != nil {
			t.Fatal(err)
		}
		check(t, reopen(t, s), "p1", want(st, nil))
	})
}
