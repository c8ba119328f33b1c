package iceberg_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/coattailcapital/ctc"
	icesink "github.com/coattailcapital/ctc/sink/iceberg"
)

// Writers in separate sinks (as separate processes are) commit to one warehouse at once: every
// commit lands, none fails after its work was done, and two writers of one pipeline still commit
// each checkpoint once.
func TestConcurrentWritersCommitEverythingOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := t.Context()
	openSink(t, dir) // creates the tables once
	const seqs, per = 8, 25
	type writer struct {
		pipeline string
		first    int // the first trade of its batches
	}
	// "a" twice: the same pipeline run by two processes, batch for batch the same.
	writers := []writer{{"a", 0}, {"a", 0}, {"b", 10_000}, {"c", 20_000}}
	var wg sync.WaitGroup
	errs := make(chan error, len(writers))
	for _, w := range writers {
		s := openSink(t, dir)
		wg.Go(func() {
			for seq := 1; seq <= seqs; seq++ {
				if err := s.Write(ctx, genBatch(w.first+seq*per, per)); err != nil {
					errs <- err
					return
				}
				cp := ctc.Checkpoint{PipelineID: w.pipeline, Seq: int64(seq), Position: ctc.Position{Partition: "p", Offset: int64(seq)}}
				if err := s.Commit(ctx, cp); err != nil {
					errs <- fmt.Errorf("%s/%d: %w", w.pipeline, seq, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	rows := scanRows(t, loadTable(t, freshCatalog(t, dir), icesink.RawTrades))
	ids := map[string]int{}
	for _, r := range rows {
		ids[str(r, "event_id")]++
	}
	if want := 3 * seqs * per; len(rows) != want || len(ids) != want {
		t.Fatalf("raw_trades holds %d rows, %d distinct; want %d once each", len(rows), len(ids), want)
	}
}
