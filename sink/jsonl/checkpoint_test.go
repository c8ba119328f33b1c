package jsonl_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/sink/jsonl"
)

func alertBatch(n int) *ctc.Batch {
	at := time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC)
	var b ctc.Batch
	for i := range n {
		b.Output.Alerts = append(b.Output.Alerts, ctc.Alert{AlertType: ctc.Whale, Symbol: "BTC-USDT",
			Severity: ctc.High, DetectedAt: at.Add(time.Duration(i) * time.Second), Message: "m"})
	}
	return &b
}

// A crash after checkpoint 2 leaves rows written past it; resuming at 2 cuts exactly those.
func TestResumeCutsWhatFollowsTheCheckpoint(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := jsonl.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	cp := ctc.Checkpoint{PipelineID: "p"}
	for seq := int64(1); seq <= 2; seq++ {
		if err := s.Write(ctx, alertBatch(2)); err != nil {
			t.Fatal(err)
		}
		cp.Seq = seq
		if err := s.Commit(ctx, cp); err != nil {
			t.Fatal(err)
		}
	}
	s.Write(ctx, alertBatch(5)) // never committed
	s.Close(ctx)
	path := filepath.Join(dir, jsonl.AlertsFile)
	if n := lines(t, path); n != 9 {
		t.Fatalf("want 9 lines before the restart, got %d", n)
	}

	s2, err := jsonl.New(dir, jsonl.WithAppend())
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Resume(ctx, ctc.Checkpoint{PipelineID: "p", Seq: 2}); err != nil {
		t.Fatal(err)
	}
	s2.Write(ctx, alertBatch(1))
	s2.Close(ctx)
	if n := lines(t, path); n != 5 {
		t.Fatalf("want the 4 committed lines and 1 new one after resuming, got %d", n)
	}

	s3, _ := jsonl.New(dir, jsonl.WithAppend())
	defer s3.Close(ctx)
	err = s3.Resume(ctx, ctc.Checkpoint{PipelineID: "other", Seq: 2})
	if err == nil || !strings.Contains(err.Error(), "cannot resume exactly") {
		t.Fatalf("want a refusal to resume another pipeline's checkpoint, got %v", err)
	}
	if err := s3.Resume(ctx, ctc.Checkpoint{PipelineID: "p"}); err != nil {
		t.Fatal(err)
	}
	if n := lines(t, path); n != 0 {
		t.Fatalf("resuming at seq 0 starts afresh, got %d lines", n)
	}
}

func lines(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "\n")
}
