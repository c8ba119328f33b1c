package kafkarunner_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/coattailcapital/ctc/kafkarunner"
	"github.com/coattailcapital/ctc/partrunner"
)

// BenchmarkConsumer reads 20,000 trades from a four-partition topic of an in-process kfake cluster
// through the quality chain and the default detectors, as a new group each time, checkpointing
// into a memory state store every 100 ms. kfake shares the process and its CPUs, so the figure is
// the engine's and the client's cost together, not a real broker's throughput.
func BenchmarkConsumer(b *testing.B) {
	c := newCluster(b, 4)
	addrs := c.ListenAddrs()
	const n = 20_000
	produce(b, addrs, testTrades(n, 0))
	b.ResetTimer()
	i := 0
	for b.Loop() {
		i++
		cons, err := kafkarunner.New(kafkarunner.Config{
			Client: []kgo.Opt{kgo.SeedBrokers(addrs...)}, Topic: topic, App: fmt.Sprint("bench-", i),
			Store: &partrunner.MemoryStateStore{}, Runner: partrunner.Config{NewProcessor: newProc},
			CheckpointEvery: 100 * time.Millisecond,
		})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- cons.Run(ctx) }()
		for cons.Stats().Records < n {
			time.Sleep(time.Millisecond)
		}
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "records/s")
}
