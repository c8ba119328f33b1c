// Command batch is the batch Lambda: the Step Functions workflow's tasks — historical_load,
// reprocess, reprocess_status, quality_check, catalog_update, maintain, evidence — chosen by the
// input's "task" field, each taking and returning one JSON object (package batchfn documents the
// shapes). Built as bootstrap for provided.al2023 (scripts/build-lambdas.sh); configured by the
// environment variables of package awsenv (evidence writes its report to CTC_EVIDENCE_URI).
package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/coattailcapital/ctc/adapters/lambda/internal/batchfn"
	"github.com/coattailcapital/ctc/awsenv"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	h, _, err := batchfn.FromEnv(context.Background(), awsenv.FromEnv(os.Getenv), os.Stdout, log)
	if err != nil {
		log.Error("batch: cannot start", "err", err)
		os.Exit(1)
	}
	lambda.Start(func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
		return h.Handle(ctx, in)
	})
}
