package kinesis_test

import (
	"context"
	"testing"

	"github.com/coattailcapital/ctc/internal/awstest"
	"github.com/coattailcapital/ctc/sink/kinesis"
)

// BenchmarkProducer puts batches of 500 trades (one PutRecords request each) into a four-shard
// kinesalite stream from one goroutine. kinesalite, a Node.js process on the same machine, is the
// bottleneck: the figure bounds what one producer does against a local server, not against AWS.
func BenchmarkProducer(b *testing.B) {
	c := awstest.KinesisClient(b)
	cfg := kinesis.Config{Stream: awstest.Name(b, "trades"), DLQStream: awstest.Name(b, "dlq")}
	createStream(b, c, cfg.Stream, 4)
	createStream(b, c, cfg.DLQStream, 1)
	p, err := kinesis.New(c, cfg)
	if err != nil {
		b.Fatal(err)
	}
	batch := trades(500)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := p.Put(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "records/s")
	if st := p.Stats(); st.Sent != int64(b.N*len(batch)) {
		b.Fatalf("Stats = %+v", st)
	}
}
