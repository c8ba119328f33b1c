package memory_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/ctctest"
	"github.com/coattailcapital/ctc/sink/memory"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	ctctest.TestSink(t, ctctest.SinkFeatures{
		Trades: true, Alerts: true, Volumes: true, Spreads: true, Whales: true, DeadLetters: true, Late: true,
	}, func(t *testing.T) ctc.Sink {
		return memory.New()
	}, func(t *testing.T, s ctc.Sink) *ctc.Batch {
		c := s.(*memory.Sink).Contents()
		return c.Batch()
	})
}

func batch(offset int64, data string) *ctc.Batch {
	return &ctc.Batch{
		Trades:      []ctc.Trade{{Exchange: ctc.Binance, Symbol: "BTC-USDT", Price: 67000, Quantity: 0.5, Side: ctc.Buy}},
		DeadLetters: []ctc.DeadLetter{{Reason: ctc.Malformed, Data: []byte(data), Position: ctc.Position{Partition: "p", Offset: offset}}},
		Position:    ctc.Position{Partition: "p", Offset: offset},
	}
}

func TestFailWrites(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := memory.New()
	boom := errors.New("throttled")
	s.FailWrites(2, boom)
	for i := range 2 {
		if err := s.Write(ctx, batch(1, "a")); !errors.Is(err, boom) {
			t.Fatalf("write %d: got %v, want %v", i, err, boom)
		}
	}
	if c := s.Contents(); c.Batches != 0 || len(c.Trades) != 0 || len(c.DeadLetters) != 0 {
		t.Fatalf("failed writes stored something: %+v", c)
	}
	if err := s.Write(ctx, batch(2, "b")); err != nil {
		t.Fatalf("write after the injected failures: %v", err)
	}
	c := s.Contents()
	if c.Batches != 1 || len(c.Trades) != 1 || c.Position.Offset != 2 {
		t.Fatalf("after one good write: batches=%d trades=%d position=%v", c.Batches, len(c.Trades), c.Position)
	}
}

func TestFailWritesForever(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := memory.New()
	s.FailWrites(-1, nil)
	for range 5 {
		if err := s.Write(ctx, batch(1, "a")); !errors.Is(err, memory.ErrInjected) {
			t.Fatalf("got %v, want ErrInjected", err)
		}
	}
	s.FailWrites(0, nil)
	if err := s.Write(ctx, batch(1, "a")); err != nil {
		t.Fatalf("after clearing the failure: %v", err)
	}
}

func TestFailFlushes(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := memory.New()
	boom := errors.New("disk full")
	s.FailFlushes(1, boom)
	if err := s.Flush(ctx); !errors.Is(err, boom) {
		t.Fatalf("got %v, want %v", err, boom)
	}
	if err := s.Write(ctx, batch(1, "a")); err != nil {
		t.Fatalf("a flush failure must not affect writes: %v", err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatalf("second flush: %v", err)
	}
	if c := s.Contents(); c.Flushes != 1 || c.Batches != 1 {
		t.Fatalf("flushes=%d batches=%d, want 1 and 1", c.Flushes, c.Batches)
	}
}

// A call refused for its context or after Close must leave an injected failure for the call the
// test meant it for.
func TestFaultNotConsumedByRefusedCalls(t *testing.T) {
	t.Parallel()
	s := memory.New()
	s.FailWrites(1, nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Write(ctx, batch(1, "a")); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled write: %v", err)
	}
	if err := s.Write(t.Context(), batch(1, "a")); !errors.Is(err, memory.ErrInjected) {
		t.Fatalf("got %v, want the injected failure", err)
	}
}

func TestClose(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := memory.New()
	if err := s.Write(ctx, batch(1, "a")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := s.Write(ctx, batch(2, "b")); !errors.Is(err, memory.ErrClosed) {
		t.Fatalf("Write after Close: got %v, want ErrClosed", err)
	}
	if err := s.Flush(ctx); !errors.Is(err, memory.ErrClosed) {
		t.Fatalf("Flush after Close: got %v, want ErrClosed", err)
	}
	if c := s.Contents(); c.Batches != 1 || c.Position.Offset != 1 {
		t.Fatalf("contents after Close: batches=%d position=%v", c.Batches, c.Position)
	}
}

// Contents must be a copy: a test that edits what it read must not change what the sink holds.
func TestContentsIsACopy(t *testing.T) {
	t.Parallel()
	s := memory.New()
	if err := s.Write(t.Context(), batch(1, "abc")); err != nil {
		t.Fatal(err)
	}
	c := s.Contents()
	c.DeadLetters[0].Data[0] = 'X'
	c.Trades[0].Price = -1
	want := batch(1, "abc")
	got := s.Contents()
	if diff := cmp.Diff(want.Trades, got.Trades); diff != "" {
		t.Errorf("trades changed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want.DeadLetters, got.DeadLetters); diff != "" {
		t.Errorf("dead letters changed (-want +got):\n%s", diff)
	}
}

// Run with -race: Contents may be read while a pipeline writes.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	s := memory.New()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 200 {
			if err := s.Write(context.Background(), batch(int64(i), "x")); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for range 200 {
		_ = s.Contents()
		_ = s.Flush(context.Background())
	}
	<-done
	if c := s.Contents(); c.Batches != 200 || len(c.Trades) != 200 {
		t.Fatalf("batches=%d trades=%d, want 200 each", c.Batches, len(c.Trades))
	}
}
