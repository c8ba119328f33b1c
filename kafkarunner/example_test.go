package kafkarunner_test

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/kafkarunner"
	"github.com/coattailcapital/ctc/partrunner"
	"github.com/coattailcapital/ctc/sink/kafka"
	"github.com/coattailcapital/ctc/sink/memory"
)

// A consumer group member reads the trade topic through the quality chain and the detectors into
// an alert store, keeping each partition's state in a store every member shares. Here an
// in-process kfake cluster stands in for the brokers.
func Example() {
	c, err := kfake.NewCluster(kfake.SeedTopics(3, "coattail-trades", "coattail-trades-dlq"))
	if err != nil {
		panic(err)
	}
	defer c.Close()
	brokers := kgo.SeedBrokers(c.ListenAddrs()...)

	// The producer side: trades keyed by instrument.
	p, err := kafka.Dial(kafka.Config{}, brokers)
	if err != nil {
		panic(err)
	}
	trades := testTrades(600, 0)
	if err := p.Write(context.Background(), &ctc.Batch{Trades: trades}); err != nil {
		panic(err)
	}
	if err := p.Close(context.Background()); err != nil {
		panic(err)
	}

	alerts := memory.NewAlertStore(func() time.Time { return trades[len(trades)-1].Timestamp })
	cons, err := kafkarunner.New(kafkarunner.Config{
		Client: []kgo.Opt{brokers},
		App:    "example",
		Store:  &partrunner.MemoryStateStore{}, // shardrunner.DynamoStateStore across hosts
		Runner: partrunner.Config{
			NewProcessor: newProc, // partrunner.Processors(quality.Config{}, detect.DefaultThresholds(), nil)
			Sinks:        []ctc.Sink{alerts},
		},
	})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cons.Run(ctx) }()
	for cons.Stats().Records < int64(len(trades)) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel() // checkpoints every partition, then leaves the group
	if err := <-done; err != nil {
		panic(err)
	}
	whales, _ := alerts.QueryAlerts(context.Background(), ctc.AlertQuery{Type: ctc.Whale, Limit: 200})
	fmt.Println("records:", cons.Stats().Records, "whale alerts:", len(whales))
	// Output: records: 600 whale alerts: 7
}
