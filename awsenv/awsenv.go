// Package awsenv reads the Lambda functions' configuration from the environment variables the
// deployment (deploy/terraform) sets, and builds the AWS clients and the Iceberg catalog from it.
//
// # Variables
//
//	CTC_STREAM                     the trade stream (default coattail-trades)
//	CTC_DLQ_STREAM                 the dead-letter stream; empty: dead letters are only counted
//	CTC_ALERTS_TABLE               DynamoDB alerts table (default coattail-alerts)
//	CTC_AGGREGATES_TABLE           DynamoDB aggregates table (default coattail-aggregates)
//	CTC_STATE_TABLE                DynamoDB table of the stream Lambda's shard states (default coattail-shard-state)
//	CTC_LEASES_TABLE               DynamoDB lease table (the consumer's; read here only to pass on)
//	CTC_CATALOG                    glue (default) or sql
//	CTC_CATALOG_URI                sql only: the SQLite catalog file (default <CTC_WAREHOUSE>/catalog.db for a local warehouse)
//	CTC_NAMESPACE                  the Iceberg namespace, a Glue database (default coattail)
//	CTC_WAREHOUSE                  where new tables go: s3://bucket/prefix, or a local directory with CTC_CATALOG=sql
//	CTC_RAW_BUCKET                 the raw bucket: large shard states are kept there (under shard-state/)
//	CTC_CORS_ORIGINS               comma-separated origins the API allows ("*": any)
//	CTC_METRICS_NAMESPACE_QUALITY  EMF namespaces (default CoatTail/Quality, CoatTail/Alerts, CoatTail/Batch)
//	CTC_METRICS_NAMESPACE_ALERTS
//	CTC_METRICS_NAMESPACE_BATCH
//	AWS_REGION                     set by Lambda
//	CTC_DYNAMODB_ENDPOINT          local emulators: when set, the service's endpoint URL (S3 then
//	CTC_KINESIS_ENDPOINT           uses path-style addressing)
//	CTC_S3_ENDPOINT
//	CTC_BINANCE_ENDPOINT           the batch Lambda's Binance REST base URL (default https://api.binance.com)
//
// Credentials come from the SDK's default chain (the function's role on AWS).
//
// The Iceberg catalog the variables name is opened by package lakeenv, apart from this one so
// that the API Lambda, which reads only DynamoDB, does not link Iceberg.
package awsenv

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/coattailcapital/ctc/metrics/emf"
	sinkkinesis "github.com/coattailcapital/ctc/sink/kinesis"
)

// Env is the configuration the variables give.
type Env struct {
	Stream, DLQStream                 string
	AlertsTable, AggregatesTable      string
	StateTable, LeasesTable           string
	Catalog, CatalogURI               string
	Namespace, Warehouse              string
	RawBucket                         string
	CORSOrigins                       []string
	QualityNS, AlertsNS, BatchNS      string
	Region                            string
	DynamoDBEndpoint, KinesisEndpoint string
	S3Endpoint                        string
	Binance                           string
}

// FromEnv reads the variables with getenv (os.Getenv in a Lambda), applying the defaults.
func FromEnv(getenv func(string) string) Env {
	or := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	e := Env{
		Stream:           or("CTC_STREAM", sinkkinesis.DefaultStream),
		DLQStream:        or("CTC_DLQ_STREAM", ""),
		AlertsTable:      or("CTC_ALERTS_TABLE", "coattail-alerts"),
		AggregatesTable:  or("CTC_AGGREGATES_TABLE", "coattail-aggregates"),
		StateTable:       or("CTC_STATE_TABLE", "coattail-shard-state"),
		LeasesTable:      or("CTC_LEASES_TABLE", ""),
		Catalog:          or("CTC_CATALOG", "glue"),
		CatalogURI:       or("CTC_CATALOG_URI", ""),
		Namespace:        or("CTC_NAMESPACE", "coattail"),
		Warehouse:        or("CTC_WAREHOUSE", ""),
		RawBucket:        or("CTC_RAW_BUCKET", ""),
		QualityNS:        or("CTC_METRICS_NAMESPACE_QUALITY", emf.QualityNamespace),
		AlertsNS:         or("CTC_METRICS_NAMESPACE_ALERTS", emf.AlertsNamespace),
		BatchNS:          or("CTC_METRICS_NAMESPACE_BATCH", emf.BatchNamespace),
		Region:           or("AWS_REGION", or("AWS_DEFAULT_REGION", "")),
		DynamoDBEndpoint: or("CTC_DYNAMODB_ENDPOINT", ""),
		KinesisEndpoint:  or("CTC_KINESIS_ENDPOINT", ""),
		S3Endpoint:       or("CTC_S3_ENDPOINT", ""),
		Binance:          or("CTC_BINANCE_ENDPOINT", "https://api.binance.com"),
	}
	for _, o := range strings.Split(getenv("CTC_CORS_ORIGINS"), ",") {
		if o = strings.TrimSpace(o); o != "" {
			e.CORSOrigins = append(e.CORSOrigins, o)
		}
	}
	return e
}

// AWSConfig loads the SDK configuration: the default credential chain, in Region.
func (e Env) AWSConfig(ctx context.Context) (aws.Config, error) {
	var opts []func(*config.LoadOptions) error
	if e.Region != "" {
		opts = append(opts, config.WithRegion(e.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("awsenv: load the AWS configuration: %w", err)
	}
	return cfg, nil
}

// DynamoDB returns a DynamoDB client (on CTC_DYNAMODB_ENDPOINT when set).
func (e Env) DynamoDB(cfg aws.Config) *dynamodb.Client {
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if e.DynamoDBEndpoint != "" {
			o.BaseEndpoint = aws.String(e.DynamoDBEndpoint)
		}
	})
}

// Kinesis returns a Kinesis client (on CTC_KINESIS_ENDPOINT when set).
func (e Env) Kinesis(cfg aws.Config) *kinesis.Client {
	return kinesis.NewFromConfig(cfg, func(o *kinesis.Options) {
		if e.KinesisEndpoint != "" {
			o.BaseEndpoint = aws.String(e.KinesisEndpoint)
		}
	})
}

// S3 returns an S3 client (on CTC_S3_ENDPOINT, path-style, when set).
func (e Env) S3(cfg aws.Config) *s3.Client {
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		if e.S3Endpoint != "" {
			o.BaseEndpoint = aws.String(e.S3Endpoint)
			o.UsePathStyle = true
		}
	})
}

// Metrics returns the EMF logger writing to w (os.Stdout in a Lambda) under the configured
// namespaces.
func (e Env) Metrics(w io.Writer) (*emf.Logger, error) {
	return emf.New(w, emf.Config{QualityNamespace: e.QualityNS, AlertsNamespace: e.AlertsNS, BatchNamespace: e.BatchNS})
}
