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
// # Catalogs
//
// With CTC_CATALOG=glue the tables are in the Glue Data Catalog, their files under CTC_WAREHOUSE on
// S3. CTC_CATALOG=sql is for local runs and tests: an Iceberg SQL catalog in a SQLite file, with the
// files in a local directory (CTC_WAREHOUSE a path: the layout of sink/iceberg's Config.Dir, so the
// consumer's and the loader's local warehouses work) or on S3 (CTC_WAREHOUSE s3://…, with
// CTC_CATALOG_URI naming the SQLite file). A SQLite file in a Lambda's /tmp does not outlive the
// container: on AWS use glue.
package awsenv

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/glue"
	sqlcat "github.com/apache/iceberg-go/catalog/sql"
	icebergio "github.com/apache/iceberg-go/io"
	_ "github.com/apache/iceberg-go/io/gocloud/s3" // s3:// warehouses
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	_ "modernc.org/sqlite" // the sql catalog's driver

	"github.com/coattailcapital/ctc/metrics/emf"
	icebergsink "github.com/coattailcapital/ctc/sink/iceberg"
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
		Namespace:        or("CTC_NAMESPACE", icebergsink.DefaultNamespace),
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

// localWarehouse returns the directory of a local warehouse, or "" for an s3:// one.
func (e Env) localWarehouse() (string, error) {
	w := e.Warehouse
	if strings.HasPrefix(w, "s3://") || strings.HasPrefix(w, "s3a://") {
		return "", nil
	}
	if p, ok := strings.CutPrefix(w, "file://"); ok {
		w = p
	}
	if w == "" {
		return "", errors.New("awsenv: CTC_WAREHOUSE is required: s3://bucket/prefix, or a directory with CTC_CATALOG=sql")
	}
	return filepath.Abs(w)
}

// OpenCatalog opens the Iceberg catalog CTC_CATALOG names. close releases it (a no-op for Glue).
func (e Env) OpenCatalog(ctx context.Context, cfg aws.Config) (cat catalog.Catalog, close func() error, err error) {
	switch e.Catalog {
	case "glue":
		if !strings.HasPrefix(e.Warehouse, "s3://") {
			return nil, nil, fmt.Errorf("awsenv: CTC_CATALOG=glue needs CTC_WAREHOUSE=s3://bucket/prefix, got %q", e.Warehouse)
		}
		c, err := glue.NewCatalog(glue.WithAwsConfig(cfg))
		if err != nil {
			return nil, nil, fmt.Errorf("awsenv: open the Glue catalog: %w", err)
		}
		return c, func() error { return nil }, nil
	case "sql":
		dir, err := e.localWarehouse()
		if err != nil {
			return nil, nil, err
		}
		dbPath := e.CatalogURI
		if dbPath == "" {
			if dir == "" {
				return nil, nil, errors.New("awsenv: CTC_CATALOG=sql with an s3:// warehouse needs CTC_CATALOG_URI, the SQLite catalog file")
			}
			dbPath = filepath.Join(dir, "catalog.db")
		}
		props := iceberg.Properties{}
		if dir != "" {
			wh := filepath.Join(dir, "warehouse")
			if err := os.MkdirAll(wh, 0o755); err != nil {
				return nil, nil, fmt.Errorf("awsenv: local warehouse: %w", err)
			}
			props["warehouse"] = (&url.URL{Scheme: "file", Path: filepath.ToSlash(wh)}).String()
		} else {
			props["warehouse"] = e.Warehouse
		}
		for k, v := range e.IOProps() {
			props[k] = v
		}
		dsn := (&url.URL{Scheme: "file", Path: filepath.ToSlash(dbPath),
			RawQuery: "_pragma=busy_timeout(10000)&_pragma=journal_mode(wal)"}).String()
		db, err := sql.Open("sqlite", dsn)
		if err != nil {
			return nil, nil, fmt.Errorf("awsenv: open the SQL catalog %s: %w", dbPath, err)
		}
		c, err := sqlcat.NewCatalog(icebergsink.LocalCatalogName, db, sqlcat.SQLite, props)
		if err != nil {
			return nil, nil, errors.Join(fmt.Errorf("awsenv: open the SQL catalog %s: %w", dbPath, err), db.Close())
		}
		return c, func() error { return errors.Join(c.Close(), db.Close()) }, nil
	}
	return nil, nil, fmt.Errorf("awsenv: CTC_CATALOG must be glue or sql, got %q", e.Catalog)
}

// IOProps are the Iceberg file-IO properties of an S3 warehouse: the region, and the endpoint
// (path-style) of a local S3. Nil for a local warehouse.
func (e Env) IOProps() iceberg.Properties {
	if dir, err := e.localWarehouse(); err != nil || dir != "" {
		return nil
	}
	p := iceberg.Properties{}
	if e.Region != "" {
		p[icebergio.S3Region] = e.Region
	}
	if e.S3Endpoint != "" {
		p[icebergio.S3EndpointURL] = e.S3Endpoint
		p[icebergio.S3ForceVirtualAddressing] = "false"
	}
	return p
}

// LakeConfig is the iceberg sink configuration on cat.
func (e Env) LakeConfig(cat catalog.Catalog) icebergsink.Config {
	c := icebergsink.Config{Namespace: e.Namespace, Catalog: cat, Props: e.IOProps()}
	if dir, _ := e.localWarehouse(); dir == "" {
		c.Warehouse = e.Warehouse
	}
	return c
}
