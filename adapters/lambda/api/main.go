// Command api is the API Lambda: API Gateway HTTP API events (payload 2.0) served by the same
// net/http handler as the local server (api.New), reading the DynamoDB alert store. Built as
// bootstrap for provided.al2023 (scripts/build-lambdas.sh); configured by the environment
// variables of package awsenv: CTC_ALERTS_TABLE, CTC_AGGREGATES_TABLE, CTC_CORS_ORIGINS,
// AWS_REGION (CTC_DYNAMODB_ENDPOINT for a local DynamoDB), and CTC_EVIDENCE_URI: the S3 object the
// batch workflow's evidence step writes, served at /evidence (read at each request; missing: 404
// and the dashboard's evidence panel stays hidden; CTC_S3_ENDPOINT for a local S3).
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/coattailcapital/ctc/adapters/lambda/internal/apigw"
	"github.com/coattailcapital/ctc/api"
	"github.com/coattailcapital/ctc/awsenv"
	"github.com/coattailcapital/ctc/detect"
	"github.com/coattailcapital/ctc/incident"
	"github.com/coattailcapital/ctc/sink/dynamodb"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	h, err := handler(context.Background(), awsenv.FromEnv(os.Getenv), log)
	if err != nil {
		log.Error("api: cannot start", "err", err)
		os.Exit(1)
	}
	lambda.Start(apigw.Handler(h))
}

func handler(ctx context.Context, e awsenv.Env, log *slog.Logger) (http.Handler, error) {
	cfg, err := e.AWSConfig(ctx)
	if err != nil {
		return nil, err
	}
	store, err := dynamodb.New(e.DynamoDB(cfg), dynamodb.Config{AlertsTable: e.AlertsTable, AggregatesTable: e.AggregatesTable})
	if err != nil {
		return nil, err
	}
	var evidence func(context.Context) ([]byte, error)
	if e.EvidenceURI != "" {
		obj, err := awsenv.ParseS3URI(e.EvidenceURI)
		if err != nil {
			return nil, fmt.Errorf("api: CTC_EVIDENCE_URI: %w", err)
		}
		s3c := e.S3(cfg)
		evidence = api.EvidenceReader(obj.String(), func(ctx context.Context) (io.ReadCloser, error) { return obj.Open(ctx, s3c) })
	}
	// API Gateway and Lambda cannot stream: /alerts/stream answers 501 at once and the dashboard
	// polls /alerts instead.
	// The alert list groups incidents with the default policy (package incident), as the
	// notifier does by default.
	return api.New(api.Config{Store: store, CORSOrigins: e.CORSOrigins, Logger: log, NoStream: true,
		SpreadThreshold: detect.DefaultThresholds().Spread, Incidents: &incident.Policy{}, Evidence: evidence})
}
