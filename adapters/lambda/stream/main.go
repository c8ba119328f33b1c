// Command stream is the stream Lambda: a Kinesis event-source mapping's batches through the
// quality chain and detectors, per shard with state that survives across invocations, into the
// DynamoDB alert store and the Iceberg tables, reporting failed records with BatchItemFailures
// (package shardrunner/kinesislambda), with the built-in detectors. Built as bootstrap for provided.al2023 (scripts/build-lambdas.sh);
// configured by the environment variables of package awsenv.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/coattailcapital/ctc/awsenv"
	"github.com/coattailcapital/ctc/shardrunner/kinesislambda"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	h, _, err := kinesislambda.FromEnv(context.Background(), awsenv.FromEnv(os.Getenv), nil, os.Stdout, log)
	if err != nil {
		log.Error("stream: cannot start", "err", err)
		os.Exit(1)
	}
	lambda.Start(func(ctx context.Context, ev events.KinesisEvent) (events.KinesisEventResponse, error) {
		return h.Handle(ctx, &ev)
	})
}
