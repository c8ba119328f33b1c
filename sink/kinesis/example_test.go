package kinesis_test

import (
	"context"
	"fmt"
	"log"

	"github.com/aws/aws-sdk-go-v2/config"
	awskinesis "github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/quality"
	"github.com/coattailcapital/ctc/sink/kinesis"
	"github.com/coattailcapital/ctc/source/replay"
)

// Both exchanges of an instrument share a partition key, hence a shard.
func ExamplePartitionKey() {
	for _, s := range []string{"BTC-USDT", "BTC-USD", "ETH-USDT"} {
		fmt.Println(s, "→", kinesis.PartitionKey(s))
	}
	// Output:
	// BTC-USDT → BTC
	// BTC-USD → BTC
	// ETH-USDT → ETH
}

// The envelope of a record that could not be put on the trade stream.
func ExampleEnvelope() {
	e := kinesis.Envelope{Reason: kinesis.ReasonRetriesExhausted, ErrorCode: "ProvisionedThroughputExceededException",
		ErrorMessage: "Rate exceeded", Stream: "coattail-trades", PartitionKey: "BTC", Data: []byte(`{"price":1}`)}
	fmt.Println(string(e.AppendJSON(nil)))
	// Output:
	// {"reason":"retries_exhausted","error_code":"ProvisionedThroughputExceededException","error_message":"Rate exceeded","stream":"coattail-trades","partition_key":"BTC","data_bytes":11,"data":{"price":1}}
}

// A producer program: a replay file through the quality chain onto Kinesis, dead letters onto the
// DLQ stream. The AWS configuration comes from the environment (credentials chain, AWS_REGION).
func Example_pipeline() {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Fatal(err)
	}
	prod, err := kinesis.New(awskinesis.NewFromConfig(cfg), kinesis.Config{})
	if err != nil {
		log.Fatal(err)
	}
	src, err := replay.Open("trades.ndjson")
	if err != nil {
		log.Fatal(err)
	}
	chain, _ := quality.New(quality.Config{})
	p, err := ctc.NewPipeline(src, ctc.WithChecker(chain), ctc.WithSinks(prod), ctc.WithBatchSize(500))
	if err != nil {
		log.Fatal(err)
	}
	if err := p.Run(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%+v\n", prod.Stats())
}
