// Command lambda is examples/customdetector as the stream Lambda: the built-in detectors plus
// the imbalance detector, on a Kinesis event-source mapping's batches, per shard with state that
// survives across invocations, into the DynamoDB alert store and the Iceberg tables. It is the
// whole of what a service that imports ctc writes to deploy its own detector:
//
//	bash scripts/build-lambdas.sh     # builds build/lambda/customdetector.zip (provided.al2023, arm64)
//
// and points the stream function of deploy/terraform at that zip (README, "Writing your own
// detector"). Configured by the CTC_* environment (package awsenv).
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/awsenv"
	"github.com/coattailcapital/ctc/detect"
	"github.com/coattailcapital/ctc/examples/customdetector/imbalance"
	"github.com/coattailcapital/ctc/quality"
	"github.com/coattailcapital/ctc/shardrunner/kinesislambda"
)

// newProcessor builds one engine: the standard quality chain, the built-in detectors and ours.
// The handler calls it once per hash-key range of a shard; every call must build the same.
func newProcessor() (*ctc.Processor, error) {
	chain, err := quality.New(quality.Config{})
	if err != nil {
		return nil, err
	}
	mine, err := imbalance.New(0.85, 100)
	if err != nil {
		return nil, err
	}
	return ctc.NewProcessor(ctc.WithChecker(chain), ctc.WithDetectors(append(detect.Defaults(), mine)...))
}

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	h, _, err := kinesislambda.FromEnv(context.Background(), awsenv.FromEnv(os.Getenv), newProcessor, os.Stdout, log)
	if err != nil {
		log.Error("customdetector lambda: cannot start", "err", err)
		os.Exit(1)
	}
	lambda.Start(func(ctx context.Context, ev events.KinesisEvent) (events.KinesisEventResponse, error) {
		return h.Handle(ctx, &ev)
	})
}
