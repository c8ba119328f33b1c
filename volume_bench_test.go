package ctc_test

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/checkpoint"
	"github.com/coattailcapital/ctc/detect"
	"github.com/coattailcapital/ctc/quality"
	"github.com/coattailcapital/ctc/sink/jsonl"
	"github.com/coattailcapital/ctc/source/replay"
	"github.com/coattailcapital/ctc/source/sim"
)

// The benchmarks in this file run at real volume — millions of trades, thousands a second of
// event time, dozens of instruments, real sinks, default checkpoints — because a small stream
// hides costs that grow with the state. They take seconds per op, so the test command's
// one-pass benchmark run skips them (it sets CTC_BENCH_QUICK=1), as does -short; run them with
//
//	COUNT=6 bash scripts/bench.sh . 'Volume'
func skipQuick(b *testing.B) {
	if testing.Short() || os.Getenv("CTC_BENCH_QUICK") == "1" {
		b.Skip("a volume benchmark: skipped under -short and CTC_BENCH_QUICK=1")
	}
}

// writeMarket writes n trades of the simulator over instruments, each (instrument, exchange)
// trading at rate per second, as NDJSON — the DESIGN §3.1 record — to a file in dir.
func writeMarket(b *testing.B, dir string, n, instruments int, rate float64) string {
	b.Helper()
	src, err := sim.New(sim.Config{Seed: 1, Start: time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC),
		Instruments: sim.ManyInstruments(instruments), Rate: rate, Jitter: 2 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, "trades.ndjson")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var rec ctc.Record
	var line []byte
	for range n {
		rec.Reset()
		if err := src.Next(context.Background(), &rec); err != nil {
			b.Fatal(err)
		}
		line = append(rec.Trade.AppendJSON(line[:0]), '\n')
		w.Write(line)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkVolumeReplay2M is what `examples/consumer -replay FILE -out DIR` does, in process: 2
// million trades (20 instruments on both exchanges, 2,000 trades a second of event time) from an
// NDJSON file through the quality chain and the three detectors into the NDJSON sink, with a
// checkpoint (state, pending output, commit) every 50,000 records, the consumer's default. One op
// is the whole replay.
func BenchmarkVolumeReplay2M(b *testing.B) {
	skipQuick(b)
	const n = 2_000_000
	path := writeMarket(b, b.TempDir(), n, 20, 50)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		out := b.TempDir()
		src, err := replay.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		files, err := jsonl.New(out, jsonl.WithAppend())
		if err != nil {
			b.Fatal(err)
		}
		states, err := checkpoint.NewDir(filepath.Join(out, "_state"))
		if err != nil {
			b.Fatal(err)
		}
		chain, _ := quality.New(quality.Config{})
		p, err := ctc.NewPipeline(src, ctc.WithChecker(chain), ctc.WithDetectors(detect.Defaults()...),
			ctc.WithSinks(files), ctc.WithCheckpoints(ctc.CheckpointConfig{Store: states, PipelineID: "bench", EveryRecords: 50_000}))
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		b.StartTimer()
		if err := p.Run(context.Background()); err != nil {
			b.Fatal(err)
		}
		if err := files.Close(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if s := p.Stats(); s.Trades != n || s.Alerts == 0 {
			b.Fatalf("stats %+v", s)
		}
		src.Close(context.Background())
		b.StartTimer()
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "trades/s")
}

// countingStore counts what a checkpoint writes of the state proper: the head (detector states,
// the quality chain's head) and the new segments. The pending output — the checkpoint's own
// output, written once — is counted apart.
type countingStore struct {
	ctc.StateStore
	saves, state, pending atomic.Int64
	maxState              atomic.Int64
}

func (s *countingStore) Save(ctx context.Context, st *ctc.State) error {
	n := int64(len(st.Checker))
	for _, d := range st.Detectors {
		n += int64(len(d))
	}
	for _, g := range st.Segments {
		n += int64(len(g.Data))
	}
	s.saves.Add(1)
	s.state.Add(n)
	if n > s.maxState.Load() {
		s.maxState.Store(n)
	}
	if st.Pending != nil {
		s.pending.Add(int64(len(st.Pending.AppendBinary(nil))))
	}
	return s.StateStore.Save(ctx, st)
}

// peakHeap samples the live heap while a run goes on.
func peakHeap(stop <-chan struct{}) <-chan uint64 {
	res := make(chan uint64, 1)
	go func() {
		var peak uint64
		var ms runtime.MemStats
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				res <- peak
				return
			case <-t.C:
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
			}
		}
	}()
	return res
}

// hourPipeline is an hour of live traffic as the consumer sees it — 1,000 trades a second over 40
// instruments (3.6 million trades) — with a checkpoint every 60,000 records, one a minute, into
// store.
func hourPipeline(b *testing.B, store ctc.StateStore) *ctc.Pipeline {
	b.Helper()
	src, err := sim.New(sim.Config{Seed: 2, Start: time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC),
		Instruments: sim.ManyInstruments(40), Rate: 12.5, Jitter: 2 * time.Second, Duration: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	chain, _ := quality.New(quality.Config{})
	p, err := ctc.NewPipeline(src, ctc.WithChecker(chain), ctc.WithDetectors(detect.Defaults()...),
		ctc.WithSinks(&discard{}), ctc.WithCheckpoints(ctc.CheckpointConfig{Store: store, PipelineID: "hour", EveryRecords: 60_000}))
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// restoreHour loads the hour's last checkpoint from dir into a fresh engine, as a restarted
// consumer does, and returns its quality chain.
func restoreHour(b *testing.B, dir ctc.StateStore) *quality.Chain {
	b.Helper()
	st, err := dir.Load(context.Background(), "hour")
	if err != nil {
		b.Fatal(err)
	}
	chain, _ := quality.New(quality.Config{})
	pr, err := ctc.NewProcessor(ctc.WithChecker(chain), ctc.WithDetectors(detect.Defaults()...))
	if err != nil {
		b.Fatal(err)
	}
	if err := pr.Restore(st); err != nil {
		b.Fatal(err)
	}
	return chain
}

// BenchmarkVolumeStateHour runs hourPipeline into the file state store. It reports the state
// bytes a checkpoint writes (mean and largest; the pending output apart), the time to load and
// restore the last state into a fresh engine, and the peak live heap. One op is the whole hour.
func BenchmarkVolumeStateHour(b *testing.B) {
	skipQuick(b)
	var restore time.Duration
	var peak uint64
	var store *countingStore
	var trades int64
	for range b.N {
		b.StopTimer()
		dir, err := checkpoint.NewDir(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		store = &countingStore{StateStore: dir}
		p := hourPipeline(b, store)
		runtime.GC()
		stop := make(chan struct{})
		heap := peakHeap(stop)
		b.StartTimer()
		if err := p.Run(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		close(stop)
		peak = max(peak, <-heap)
		trades += p.Stats().Records

		runtime.GC()
		start := time.Now()
		chain := restoreHour(b, dir)
		restore = max(restore, time.Since(start))
		if got, want := chain.Stats().Processed, p.Stats().Records; got != want {
			b.Fatalf("restored chain has processed %d, want %d", got, want)
		}
		b.StartTimer()
	}
	saves := store.saves.Load()
	b.ReportMetric(float64(trades)/b.Elapsed().Seconds(), "trades/s")
	b.ReportMetric(float64(store.state.Load())/float64(saves), "state-B/ckpt")
	b.ReportMetric(float64(store.maxState.Load()), "max-state-B/ckpt")
	b.ReportMetric(float64(store.pending.Load())/float64(saves), "pending-B/ckpt")
	b.ReportMetric(restore.Seconds()*1000, "restore-ms")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
}

// BenchmarkVolumeRestoreHour measures what a restarted consumer pays after hourPipeline's hour:
// loading the last checkpoint (head and the segments of the dedup window) from the file store
// and restoring it into a fresh engine. One op is one restore.
func BenchmarkVolumeRestoreHour(b *testing.B) {
	skipQuick(b)
	dir, err := checkpoint.NewDir(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	if err := hourPipeline(b, dir).Run(context.Background()); err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	b.ResetTimer()
	for range b.N {
		restoreHour(b, dir)
	}
}
