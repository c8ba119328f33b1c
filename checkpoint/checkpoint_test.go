package checkpoint_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/checkpoint"
)

func TestSaveLoad(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := checkpoint.NewDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := s.Load(ctx, "p1"); st != nil || err != nil {
		t.Fatalf("empty store: got %v, %v", st, err)
	}
	want := &ctc.State{
		Checkpoint: ctc.Checkpoint{PipelineID: "p1", Seq: 7, Position: ctc.Position{Partition: "f.ndjson", Offset: 1234}},
		Detectors:  map[string][]byte{"volume_spike": {0, 1, 2, 255}, "whale": {}},
		Checker:    []byte("dedup"),
		Stats:      ctc.Stats{Records: 1234, Trades: 1200},
	}
	if err := s.Save(ctx, want); err != nil {
		t.Fatal(err)
	}
	want.Checkpoint.Seq = 8
	if err := s.Save(ctx, want); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("state (-saved +loaded):\n%s", d)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("want only the state file left, got %v", entries)
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, _ := checkpoint.NewDir(dir)
	if _, err := s.Load(ctx, "../escape"); err == nil || !strings.Contains(err.Error(), "pipeline id") {
		t.Fatalf("want an id error, got %v", err)
	}
	os.WriteFile(filepath.Join(dir, "p2.state.json"), []byte("{torn"), 0o644)
	if _, err := s.Load(ctx, "p2"); err == nil || !strings.Contains(err.Error(), "not a saved state") {
		t.Fatalf("want a clear error for a damaged file, got %v", err)
	}
}

// A state written by a newer ctc says so instead of loading wrongly.
func TestNewerFormat(t *testing.T) {
	dir := t.TempDir()
	s, _ := checkpoint.NewDir(dir)
	os.WriteFile(filepath.Join(dir, "p3.state.json"), []byte(`{"Format":3,"Checkpoint":{"PipelineID":"p3"}}`), 0o644)
	if _, err := s.Load(context.Background(), "p3"); err == nil || !strings.Contains(err.Error(), "newer ctc") {
		t.Fatalf("want a clear error for a newer format, got %v", err)
	}
}
