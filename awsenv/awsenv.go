// Package awsenv is the one configuration surface of ctc's AWS programs — the consumer, the
// producer and the three Lambda functions: the CTC_* environment variables the deployment
// (deploy/terraform) sets, the command-line flags that override them, their defaults (the
// library's constants), and the AWS clients built from them.
//
// # Variables and flags
//
// FromEnv reads the variables; RegisterFlags adds the flags of the groups a command uses, each
// defaulting to its variable, so a flag on the command line wins over the environment, which
// wins over the default.
//
//	flag                 variable                       default
//	-region              AWS_REGION                     the SDK's configuration (set by Lambda)
//	                                                    (group AWS)
//	-stream              CTC_STREAM                     coattail-trades (sink/kinesis.DefaultStream)
//	-dlq-stream          CTC_DLQ_STREAM                 the producer: coattail-trades-dlq; the stream
//	                                                    Lambda forwards dead letters only when set
//	-kinesis-endpoint    CTC_KINESIS_ENDPOINT           (group Stream)
//	-alerts-table        CTC_ALERTS_TABLE               coattail-alerts (sink/dynamodb)
//	-aggregates-table    CTC_AGGREGATES_TABLE           coattail-aggregates (sink/dynamodb)
//	-dynamodb-endpoint   CTC_DYNAMODB_ENDPOINT          (group Store)
//	-app                 CTC_APP                        coattail-consumer: leases, states, pipeline ids
//	-state-table         CTC_STATE_TABLE                coattail-shard-state (shardrunner)
//	-state-bucket        CTC_STATE_BUCKET, else CTC_RAW_BUCKET: S3 bucket for shard states too
//	                                                    large for an item (under shard-state/)
//	-leases-table        CTC_LEASES_TABLE               coattail-shard-leases (shardrunner)
//	-start               CTC_START                      trim_horizon, or latest
//	-owner               CTC_OWNER                      host-pid-random (group Shards)
//	-catalog             CTC_CATALOG                    glue for an s3:// warehouse without a
//	                                                    catalog URI, else sql
//	-catalog-uri         CTC_CATALOG_URI                sql: the SQLite catalog file (default
//	                                                    <warehouse>/catalog.db for a local warehouse)
//	-namespace           CTC_NAMESPACE                  coattail (sink/iceberg.DefaultNamespace)
//	-warehouse           CTC_WAREHOUSE                  s3://bucket/prefix, or a local directory
//	-s3-endpoint         CTC_S3_ENDPOINT                (group Lake; S3 then uses path-style)
//	                     CTC_CORS_ORIGINS               the API's allowed origins, comma-separated
//	                     CTC_METRICS_NAMESPACE_QUALITY  EMF namespaces (emf.QualityNamespace,
//	                     CTC_METRICS_NAMESPACE_ALERTS   emf.AlertsNamespace, emf.BatchNamespace)
//	                     CTC_METRICS_NAMESPACE_BATCH
//	                     CTC_BINANCE_ENDPOINT           the batch Lambda's Binance REST base URL
//	                     CTC_COINBASE_ENDPOINT          the batch Lambda's Coinbase Exchange REST base URL
//	                     CTC_SYMBOLS                    the producer's -live base assets (BTC,ETH,SOL)
//	                     CTC_EVIDENCE_URI               s3://bucket/key of the evidence report: the
//	                                                    batch Lambda's evidence task writes it, the API
//	                                                    Lambda serves it at /evidence (unset: neither)
//
// An endpoint variable points a client at a local emulator (kinesalite, dynalite, s3rver).
// Credentials come from the SDK's default chain (the function's role on AWS).
//
// # S3 objects
//
// S3Object is one object named by an s3://bucket/key URI, as CTC_EVIDENCE_URI names one: Put
// writes it whole in one PutObject, Open reads it, a missing object reading as fs.ErrNotExist.
//
// The Iceberg catalog the variables name is opened by package lakeenv, apart from this one so
// that the API Lambda, which reads only DynamoDB, does not link Iceberg. The Kafka variables
// (CTC_KAFKA_*, the producer's and consumer's -kafka-* flags) are package kafkaenv's, apart for
// the same reason.
package awsenv

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/coattailcapital/ctc/metrics/emf"
	"github.com/coattailcapital/ctc/shardrunner"
	ctcdynamodb "github.com/coattailcapital/ctc/sink/dynamodb"
	sinkkinesis "github.com/coattailcapital/ctc/sink/kinesis"
)

// Defaults that are not another package's constant.
const (
	DefaultApp     = "coattail-consumer"
	DefaultBinance = "https://api.binance.com"
	// DefaultCoinbase is coinbase.DefaultRESTURL (not imported here, to keep awsenv light).
	DefaultCoinbase = "https://api.exchange.coinbase.com"
	DefaultSymbols  = "BTC,ETH,SOL"
)

// Env is the configuration the variables (and flags) give.
type Env struct {
	Stream, DLQStream                 string
	AlertsTable, AggregatesTable      string
	App                               string
	StateTable, LeasesTable           string
	StateBucket                       string
	Start, Owner                      string
	Catalog, CatalogURI               string
	Namespace, Warehouse              string
	CORSOrigins                       []string
	QualityNS, AlertsNS, BatchNS      string
	Region                            string
	DynamoDBEndpoint, KinesisEndpoint string
	S3Endpoint                        string
	Binance                           string
	Coinbase                          string
	Symbols                           string
	EvidenceURI                       string
}

// FromEnv reads the variables with getenv (os.Getenv), applying the defaults.
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
		AlertsTable:      or("CTC_ALERTS_TABLE", ctcdynamodb.DefaultAlertsTable),
		AggregatesTable:  or("CTC_AGGREGATES_TABLE", ctcdynamodb.DefaultAggregatesTable),
		App:              or("CTC_APP", DefaultApp),
		StateTable:       or("CTC_STATE_TABLE", shardrunner.DefaultStateTable),
		LeasesTable:      or("CTC_LEASES_TABLE", shardrunner.DefaultLeaseTable),
		StateBucket:      or("CTC_STATE_BUCKET", or("CTC_RAW_BUCKET", "")),
		Start:            or("CTC_START", "trim_horizon"),
		Owner:            or("CTC_OWNER", ""),
		Catalog:          or("CTC_CATALOG", ""),
		CatalogURI:       or("CTC_CATALOG_URI", ""),
		Namespace:        or("CTC_NAMESPACE", ""),
		Warehouse:        or("CTC_WAREHOUSE", ""),
		QualityNS:        or("CTC_METRICS_NAMESPACE_QUALITY", emf.QualityNamespace),
		AlertsNS:         or("CTC_METRICS_NAMESPACE_ALERTS", emf.AlertsNamespace),
		BatchNS:          or("CTC_METRICS_NAMESPACE_BATCH", emf.BatchNamespace),
		Region:           or("AWS_REGION", or("AWS_DEFAULT_REGION", "")),
		DynamoDBEndpoint: or("CTC_DYNAMODB_ENDPOINT", ""),
		KinesisEndpoint:  or("CTC_KINESIS_ENDPOINT", ""),
		S3Endpoint:       or("CTC_S3_ENDPOINT", ""),
		Binance:          or("CTC_BINANCE_ENDPOINT", DefaultBinance),
		Coinbase:         or("CTC_COINBASE_ENDPOINT", DefaultCoinbase),
		Symbols:          or("CTC_SYMBOLS", DefaultSymbols),
		EvidenceURI:      or("CTC_EVIDENCE_URI", ""),
	}
	for _, o := range strings.Split(getenv("CTC_CORS_ORIGINS"), ",") {
		if o = strings.TrimSpace(o); o != "" {
			e.CORSOrigins = append(e.CORSOrigins, o)
		}
	}
	return e
}

// Groups selects the flags RegisterFlags adds.
type Groups uint

// The flag groups.
const (
	AWS    Groups = 1 << iota // -region
	Stream                    // -stream, -dlq-stream, -kinesis-endpoint
	Store                     // -alerts-table, -aggregates-table, -dynamodb-endpoint
	Shards                    // -app, -state-table, -state-bucket, -leases-table, -start, -owner, and the DynamoDB and S3 endpoints
	Lake                      // -catalog, -catalog-uri, -namespace, -warehouse, -s3-endpoint
)

// RegisterFlags adds the flags of groups to fs, bound to e's fields: call it after FromEnv, so
// that each flag defaults to its variable.
func (e *Env) RegisterFlags(fs *flag.FlagSet, groups Groups) {
	seen := map[string]bool{}
	str := func(p *string, name, env, usage string) {
		if !seen[name] {
			seen[name] = true
			fs.StringVar(p, name, *p, usage+" ("+env+")")
		}
	}
	if groups&AWS != 0 {
		str(&e.Region, "region", "AWS_REGION", "AWS `region` (default: the SDK's configuration)")
	}
	if groups&Stream != 0 {
		str(&e.Stream, "stream", "CTC_STREAM", "trade stream `name`")
		str(&e.DLQStream, "dlq-stream", "CTC_DLQ_STREAM", "dead-letter stream `name`")
		str(&e.KinesisEndpoint, "kinesis-endpoint", "CTC_KINESIS_ENDPOINT", "Kinesis endpoint `URL` override, e.g. a local kinesalite")
	}
	if groups&Store != 0 {
		str(&e.AlertsTable, "alerts-table", "CTC_ALERTS_TABLE", "DynamoDB alerts `table`")
		str(&e.AggregatesTable, "aggregates-table", "CTC_AGGREGATES_TABLE", "DynamoDB aggregates `table`")
		str(&e.DynamoDBEndpoint, "dynamodb-endpoint", "CTC_DYNAMODB_ENDPOINT", "DynamoDB endpoint `URL` override, e.g. a local dynalite")
	}
	if groups&Shards != 0 {
		str(&e.App, "app", "CTC_APP", "application `name`: its leases, shard states and Iceberg pipeline ids")
		str(&e.StateTable, "state-table", "CTC_STATE_TABLE", "DynamoDB `table` of shard states")
		str(&e.StateBucket, "state-bucket", "CTC_STATE_BUCKET", "S3 `bucket` for shard states too large for a DynamoDB item")
		str(&e.LeasesTable, "leases-table", "CTC_LEASES_TABLE", "DynamoDB `table` of shard leases")
		str(&e.Start, "start", "CTC_START", "where shards without a checkpoint start: trim_horizon or latest")
		str(&e.Owner, "owner", "CTC_OWNER", "this process's `name` in the lease table (default host-pid-random)")
		str(&e.DynamoDBEndpoint, "dynamodb-endpoint", "CTC_DYNAMODB_ENDPOINT", "DynamoDB endpoint `URL` override, e.g. a local dynalite")
		str(&e.S3Endpoint, "s3-endpoint", "CTC_S3_ENDPOINT", "S3 endpoint `URL` override, path-style, e.g. a local s3rver")
	}
	if groups&Lake != 0 {
		str(&e.Catalog, "catalog", "CTC_CATALOG", "Iceberg catalog: sql or glue (default glue for an s3:// warehouse without -catalog-uri, else sql)")
		str(&e.CatalogURI, "catalog-uri", "CTC_CATALOG_URI", "sql catalog: the SQLite `file` (default <warehouse>/catalog.db for a local warehouse)")
		str(&e.Namespace, "namespace", "CTC_NAMESPACE", "Iceberg namespace or Glue database (default coattail)")
		str(&e.Warehouse, "warehouse", "CTC_WAREHOUSE", "Iceberg warehouse: a local `DIR` or s3://bucket/prefix")
		str(&e.S3Endpoint, "s3-endpoint", "CTC_S3_ENDPOINT", "S3 endpoint `URL` override, path-style, e.g. a local s3rver")
	}
}

// StartPosition is Start as the shard runner takes it.
func (e Env) StartPosition() (shardrunner.StartPosition, error) {
	switch strings.ToLower(e.Start) {
	case "trim_horizon":
		return shardrunner.TrimHorizon, nil
	case "latest":
		return shardrunner.Latest, nil
	}
	return "", fmt.Errorf("awsenv: CTC_START (-start) must be trim_horizon or latest, got %q", e.Start)
}

// CatalogKind is the catalog the configuration names: Catalog when set, else glue for an s3://
// warehouse without a CatalogURI, else sql.
func (e Env) CatalogKind() string {
	switch {
	case e.Catalog != "":
		return e.Catalog
	case strings.HasPrefix(e.Warehouse, "s3://") && e.CatalogURI == "":
		return "glue"
	}
	return "sql"
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
