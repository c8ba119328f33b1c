package iceberg_test

import (
	"testing"

	"github.com/coattailcapital/ctc"
)

// BenchmarkAppendRawTrades measures the sink's whole write path for raw_trades: Write of a batch
// of 100,000 trades (copied into arrow builders), then one Commit (partitioning by day and symbol,
// Parquet encoding, manifests, the catalog swap). rows/s is trades committed per second of
// wall-clock time; run it with -cpu 1 for the one-core figure.
func BenchmarkAppendRawTrades(b *testing.B) {
	const rows = 100_000
	s := openSink(b, b.TempDir())
	batch := &ctc.Batch{Trades: genTrades(0, rows)}
	ctx := b.Context()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := s.Write(ctx, batch); err != nil {
			b.Fatal(err)
		}
		if err := s.Commit(ctx, ctc.Checkpoint{PipelineID: "bench", Seq: int64(i + 1)}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}
