package jsonl_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/ctctest"
	"github.com/coattailcapital/ctc/sink/jsonl"
)

func TestTradeWriterConformance(t *testing.T) {
	t.Parallel()
	dirs := map[ctc.Sink]string{}
	ctctest.TestSink(t, ctctest.SinkFeatures{Trades: true}, func(t *testing.T) ctc.Sink {
		dir := t.TempDir()
		w, err := jsonl.NewTradeWriter(filepath.Join(dir, jsonl.TradesFile), false)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { w.Close(context.Background()) })
		dirs[w] = dir
		return w
	}, func(t *testing.T, s ctc.Sink) *ctc.Batch {
		c, err := jsonl.Read(dirs[s])
		if err != nil {
			t.Fatal(err)
		}
		return c.Batch()
	})
}

// Appending continues the file after cutting a torn last line; not appending starts afresh.
func TestTradeWriterAppends(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "t.ndjson")
	at := time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC)
	trade := func(i int) ctc.Trade {
		return ctc.Trade{EventID: uuid.NewSHA1(uuid.Nil, []byte{byte(i)}), Exchange: ctc.Binance, Symbol: "BTC-USDT",
			Price: 40_000, Quantity: 0.5, QuoteVolume: 20_000, Side: ctc.Sell, Timestamp: at, IngestionTimestamp: at}
	}
	first := trade(0)
	line := string(first.AppendJSON(nil)) + "\n"
	if err := os.WriteFile(path, []byte(line+`{"event_id":"torn`), 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := jsonl.NewTradeWriter(path, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, &ctc.Batch{Trades: []ctc.Trade{trade(1), trade(2)}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if n := strings.Count(string(b), "\n"); n != 3 || strings.Contains(string(b), "torn") {
		t.Fatalf("after appending two trades: %q", b)
	}
	if err := w.Write(ctx, &ctc.Batch{}); err == nil {
		t.Fatal("Write after Close succeeded")
	}
	w, err = jsonl.NewTradeWriter(path, false)
	if err != nil {
		t.Fatal(err)
	}
	w.Close(ctx)
	if b, _ := os.ReadFile(path); len(b) != 0 {
		t.Fatalf("a new writer kept %d bytes", len(b))
	}
}

// A checkpoint committed again (a restored pipeline's pending output) is dropped, and lines a
// crash left after the last logged commit are cut when the file is reopened.
func TestTradeWriterCommitsEachCheckpointOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "t.ndjson")
	at := time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC)
	batch := func(i int) *ctc.Batch {
		return &ctc.Batch{Trades: []ctc.Trade{{EventID: uuid.NewSHA1(uuid.Nil, []byte{byte(i)}), Exchange: ctc.Binance,
			Symbol: "BTC-USDT", Price: 1, Quantity: 1, QuoteVolume: 1, Side: ctc.Buy, Timestamp: at, IngestionTimestamp: at}}}
	}
	lines := func() int {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Count(string(b), "\n")
	}
	w, err := jsonl.NewTradeWriter(path, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		seq   int64
		id    string
		lines int
	}{{1, "a", 1}, {2, "a", 2}, {2, "a", 2}, {1, "a", 2}, {1, "b", 3}, {3, "a", 4}} {
		if err := w.Write(ctx, batch(int(c.seq))); err != nil {
			t.Fatal(err)
		}
		if err := w.Commit(ctx, ctc.Checkpoint{PipelineID: c.id, Seq: c.seq}); err != nil {
			t.Fatal(err)
		}
		if n := lines(); n != c.lines {
			t.Fatalf("after commit %s/%d: %d lines, want %d", c.id, c.seq, n, c.lines)
		}
	}
	// Written but not committed: not in the file.
	if err := w.Write(ctx, batch(9)); err != nil {
		t.Fatal(err)
	}
	if n := lines(); n != 4 {
		t.Fatalf("an uncommitted write reached the file: %d lines", n)
	}
	w.Close(ctx) // Close appends it without a checkpoint
	// A commit torn by a crash: lines after the logged length.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"event_id":"x"}` + "\n" + `{"ev`)
	f.Close()
	w, err = jsonl.NewTradeWriter(path, true)
	if err != nil {
		t.Fatal(err)
	}
	if n := lines(); n != 5 {
		t.Fatalf("reopened: %d lines, want the 5 logged", n)
	}
	// The log survives the reopen: checkpoint a/3 is not committed again.
	w.Write(ctx, batch(3))
	if err := w.Commit(ctx, ctc.Checkpoint{PipelineID: "a", Seq: 3}); err != nil || lines() != 5 {
		t.Fatalf("a/3 again after reopening: %d lines, %v", lines(), err)
	}
	w.Close(ctx)
}
