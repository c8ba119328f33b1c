package ctc_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/detect"
	"github.com/coattailcapital/ctc/quality"
	"github.com/coattailcapital/ctc/source/replay"
	"github.com/coattailcapital/ctc/source/sim"
)

// simNDJSON returns an hour of the seeded simulator (≈ 108,000 trades, with its injected whales,
// bursts and dislocations) as NDJSON.
func simNDJSON(b *testing.B) ([]byte, int) { return simNDJSONFor(b, time.Hour) }

func simNDJSONFor(b *testing.B, d time.Duration) ([]byte, int) {
	b.Helper()
	src, err := sim.New(sim.Config{Seed: 1, Start: time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC), Duration: d})
	if err != nil {
		b.Fatal(err)
	}
	var buf []byte
	var rec ctc.Record
	n := 0
	for src.Next(context.Background(), &rec) == nil {
		buf = rec.Trade.AppendJSON(buf)
		buf = append(buf, '\n')
		n++
	}
	return buf, n
}

// discard is a sink that only counts.
type discard struct{ alerts int }

func (d *discard) Write(_ context.Context, b *ctc.Batch) error {
	d.alerts += len(b.Output.Alerts)
	return nil
}

// BenchmarkPipelineReplay measures the whole replay path on one goroutine: NDJSON bytes → replay
// source → decode and quality chain (with dedup) → volume, whale and spread detectors → a sink.
// One op is one trade.
func BenchmarkPipelineReplay(b *testing.B) {
	data, n := simNDJSON(b)
	b.SetBytes(int64(len(data) / n))
	b.ReportAllocs()
	b.ResetTimer()
	done := 0
	for done < b.N {
		b.StopTimer()
		src, _ := replay.New(bytes.NewReader(data))
		chain, _ := quality.New(quality.Config{})
		sink := &discard{}
		p, err := ctc.NewPipeline(src, ctc.WithChecker(chain), ctc.WithDetectors(detect.Defaults()...), ctc.WithSinks(sink))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := p.Run(context.Background()); err != nil {
			b.Fatal(err)
		}
		if sink.alerts == 0 {
			b.Fatal("no alerts: the benchmark is not exercising the detectors")
		}
		done += n
	}
	b.ReportMetric(float64(done)/b.Elapsed().Seconds(), "trades/s")
}

// BenchmarkPipelineSteadyState is BenchmarkPipelineReplay measured only after the pipeline has
// seen an hour of trades, when its dedup memory, windows and batches have reached their working
// size: what a long-running consumer costs per trade. One op is one trade.
func BenchmarkPipelineSteadyState(b *testing.B) {
	data, n := simNDJSONFor(b, 2*time.Hour)
	b.ReportAllocs()
	done := 0
	b.ResetTimer()
	b.StopTimer()
	for done < b.N {
		src, _ := replay.New(bytes.NewReader(data))
		chain, _ := quality.New(quality.Config{})
		p, err := ctc.NewPipeline(&warmUp{Source: src, after: n / 2, b: b}, ctc.WithChecker(chain),
			ctc.WithDetectors(detect.Defaults()...), ctc.WithSinks(&discard{}))
		if err != nil {
			b.Fatal(err)
		}
		if err := p.Run(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		done += n - n/2
	}
	b.ReportMetric(float64(done)/b.Elapsed().Seconds(), "trades/s")
}

// warmUp starts the benchmark timer after its first records.
type warmUp struct {
	ctc.Source
	n, after int
	b        *testing.B
}

func (w *warmUp) Next(ctx context.Context, rec *ctc.Record) error {
	w.n++
	if w.n == w.after+1 {
		w.b.StartTimer()
	}
	return w.Source.Next(ctx, rec)
}

// BenchmarkDetectors measures the three detectors alone over decoded trades. One op is one trade.
func BenchmarkDetectors(b *testing.B) {
	data, n := simNDJSON(b)
	trades := make([]ctc.Trade, 0, n)
	for line := range bytes.Lines(data) {
		var t ctc.Trade
		if err := quality.Decode(bytes.TrimSuffix(line, []byte("\n")), &t); err != nil {
			b.Fatal(err)
		}
		trades = append(trades, t)
	}
	for _, d := range detect.Defaults() {
		b.Run(d.Name(), func(b *testing.B) {
			b.ReportAllocs()
			var out ctc.Output
			det := d
			i := 0
			for b.Loop() {
				if i == len(trades) {
					b.StopTimer()
					det = fresh(d.Name())
					i = 0
					b.StartTimer()
				}
				det.Observe(&trades[i], &out)
				out.Reset()
				i++
			}
		})
	}
}

func fresh(name string) ctc.Detector {
	for _, d := range detect.Defaults() {
		if d.Name() == name {
			return d
		}
	}
	panic(name)
}
