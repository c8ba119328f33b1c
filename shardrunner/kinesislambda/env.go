package kinesislambda

import (
	"context"
	"errors"
	"io"
	"log/slog"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/awsenv"
	"github.com/coattailcapital/ctc/awsenv/lakeenv"
	"github.com/coattailcapital/ctc/detect"
	"github.com/coattailcapital/ctc/quality"
	"github.com/coattailcapital/ctc/shardrunner"
	"github.com/coattailcapital/ctc/sink/dynamodb"
	"github.com/coattailcapital/ctc/sink/iceberg"
	sinkkinesis "github.com/coattailcapital/ctc/sink/kinesis"
)

// StatePrefix is where, in CTC_RAW_BUCKET, the shard states too large for a DynamoDB item go.
const StatePrefix = "shard-state"

// FromEnv builds the stream Lambda's handler from the environment (package awsenv): shard states
// in CTC_STATE_TABLE (large ones in CTC_RAW_BUCKET), alerts and aggregates in the DynamoDB tables,
// the Iceberg tables through the CTC_CATALOG catalog (opened here, once per container), dead
// letters on CTC_DLQ_STREAM when it is set, and EMF metrics on metrics (os.Stdout). newProcessor
// builds the engine (Config.NewProcessor); nil runs the built-in detectors with their default
// thresholds and the default quality chain. close releases the catalog.
func FromEnv(ctx context.Context, e awsenv.Env, newProcessor func() (*ctc.Processor, error), metrics io.Writer, log *slog.Logger) (h *Handler, close func() error, err error) {
	if newProcessor == nil {
		newProcessor = shardrunner.Processors(quality.Config{}, detect.DefaultThresholds(), nil)
	}
	cfg, err := e.AWSConfig(ctx)
	if err != nil {
		return nil, nil, err
	}
	ddb := e.DynamoDB(cfg)
	sc := shardrunner.DynamoConfig{Client: ddb, Table: e.StateTable}
	if e.StateBucket != "" {
		sc.S3, sc.Bucket, sc.Prefix = e.S3(cfg), e.StateBucket, StatePrefix
	}
	store, err := shardrunner.NewDynamoStateStore(sc)
	if err != nil {
		return nil, nil, err
	}
	alerts, err := dynamodb.New(ddb, dynamodb.Config{AlertsTable: e.AlertsTable, AggregatesTable: e.AggregatesTable})
	if err != nil {
		return nil, nil, err
	}
	em, err := e.Metrics(metrics)
	if err != nil {
		return nil, nil, err
	}
	kc := e.Kinesis(cfg)
	c := Config{Store: store, Shards: kc, NewProcessor: newProcessor, Sinks: []ctc.Sink{alerts}, Metrics: em, Log: log}
	if e.DLQStream != "" {
		if c.DeadLetters, err = sinkkinesis.New(kc, sinkkinesis.Config{Stream: e.Stream, DLQStream: e.DLQStream}); err != nil {
			return nil, nil, err
		}
	}
	cat, closeCat, err := lakeenv.OpenCatalog(ctx, e, cfg)
	if err != nil {
		return nil, nil, err
	}
	lake := lakeenv.LakeConfig(e, cat)
	c.NewSinks = func(ctx context.Context) ([]ctc.Sink, error) {
		s, err := iceberg.Open(ctx, lake)
		if err != nil {
			return nil, err
		}
		return []ctc.Sink{s}, nil
	}
	if h, err = New(c); err != nil {
		return nil, nil, errors.Join(err, closeCat())
	}
	return h, closeCat, nil
}
