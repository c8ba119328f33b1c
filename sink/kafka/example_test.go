package kafka_test

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/sink/kafka"
)

// A producer program writes what its quality chain passes to the trade topic, and what it refuses
// to the DLQ topic; here an in-process kfake cluster stands in for the brokers.
func Example_pipeline() {
	c, err := kfake.NewCluster(kfake.SeedTopics(3, kafka.DefaultTopic, kafka.DefaultDLQTopic))
	if err != nil {
		panic(err)
	}
	defer c.Close()
	p, err := kafka.Dial(kafka.Config{}, kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	b := &ctc.Batch{
		Trades:      trades(6),
		DeadLetters: []ctc.DeadLetter{{Reason: ctc.Malformed, Detail: "unexpected end of JSON", Data: []byte(`{"price":`)}},
	}
	if err := p.Write(ctx, b); err != nil {
		panic(err)
	}
	if err := p.Close(ctx); err != nil { // flushes
		panic(err)
	}
	fmt.Printf("%+v\n", p.Stats())
	// Output: {Sent:6 DeadLettered:1 Dropped:0}
}
