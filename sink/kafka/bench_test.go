package kafka_test

import (
	"context"
	"testing"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/sink/kafka"
)

// BenchmarkProducer writes batches of 500 trades to a four-partition topic of an in-process kfake
// cluster, flushing after each batch as a pipeline checkpoint does. kfake shares the process (and
// its CPUs) with the producer, so the figure bounds the client's cost, not a real broker's speed.
func BenchmarkProducer(b *testing.B) {
	c := cluster(b, 4, kafka.DefaultTopic, kafka.DefaultDLQTopic)
	p, err := kafka.New(client(b, c, kafka.ClientOptions()...), kafka.Config{})
	if err != nil {
		b.Fatal(err)
	}
	batch := &ctc.Batch{Trades: trades(500)}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := p.Write(ctx, batch); err != nil {
			b.Fatal(err)
		}
		if err := p.Flush(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch.Trades))/b.Elapsed().Seconds(), "records/s")
}
