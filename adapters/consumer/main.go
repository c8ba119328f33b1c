// Command consumer reads the trade stream from Kinesis and runs it through ctc's quality chain and
// detectors into the lakehouse (Iceberg tables) and the hot alert store (DynamoDB), shard by shard,
// sharing the shards with the other consumer processes of the same application (DESIGN §7).
//
//	go run ./adapters/consumer -warehouse ctc-warehouse                     # SQL catalog, local files
//	go run ./adapters/consumer -catalog glue -warehouse s3://bucket/lake    # Glue, S3 (AWS)
//
// Start as many processes as there are shards to spare: they share the shards through the lease
// table, each taking about as many as the others, and when one stops or dies the others take its
// shards over (at once after a clean stop, after -lease-duration after a crash). Each shard
// checkpoints every -checkpoint-every: its state (detectors, dedup, position) to the state table,
// then its output to the Iceberg tables and the alert store, exactly once (see package shardrunner).
//
// AWS configuration is the SDK's default chain (environment, shared files, SSO, instance role);
// the endpoint flags point the clients at local servers (kinesalite, dynalite, an S3-compatible
// store), as the tests do.
//
// # Flags
//
// Each flag falls back to an environment variable when not given; a flag on the command line wins.
//
//	-stream NAME            CTC_STREAM             trade stream (default coattail-trades)
//	-app NAME               CTC_APP                application: names leases, states and Iceberg pipelines (default coattail-consumer)
//	-state-table NAME       CTC_STATE_TABLE        shard states (default coattail-shard-state)
//	-state-bucket NAME      CTC_STATE_BUCKET       S3 bucket for shard states too large for an item (optional)
//	-leases-table NAME      CTC_LEASES_TABLE       shard leases (default coattail-shard-leases)
//	-alerts-table NAME      CTC_ALERTS_TABLE       hot alert store (default coattail-alerts)
//	-aggregates-table NAME  CTC_AGGREGATES_TABLE   volume and spread windows (default coattail-aggregates)
//	-catalog sql|glue       CTC_CATALOG            Iceberg catalog (default sql)
//	-warehouse DIR|s3://…   CTC_WAREHOUSE          sql: a local DIR (DIR/catalog.db, DIR/warehouse) or an
//	                                               s3:// location (the catalog then in -catalog-dir); glue: s3://…
//	-catalog-dir DIR        CTC_CATALOG_DIR        sql with an s3:// warehouse: where catalog.db lives (default ctc-catalog)
//	-namespace NAME         CTC_NAMESPACE          Iceberg namespace / Glue database (default coattail)
//	-kinesis-endpoint URL   CTC_KINESIS_ENDPOINT   endpoint overrides, for local servers
//	-dynamodb-endpoint URL  CTC_DYNAMODB_ENDPOINT
//	-s3-endpoint URL        CTC_S3_ENDPOINT        (also the Iceberg file IO's; path-style addressing)
//	-region REGION          AWS_REGION
//	-start trim_horizon|latest  CTC_START          where shards without a checkpoint start (default trim_horizon)
//	-checkpoint-every D                            checkpoint interval per shard (default 60s)
//	-lease-duration D, -shard-sync D, -grace D     lease expiry (10s), shard re-listing (60s), shutdown grace (30s)
//	-owner NAME             CTC_OWNER              this process's name in the lease table (default host-pid-random)
//	-create-tables                                 create the DynamoDB tables first (local use)
//	-emf                                           CloudWatch EMF metric lines on stdout at each checkpoint (default true)
//	-whale, -z, -z-high, -spread, -min-history     detector thresholds (detect.Thresholds)
//
// It runs until SIGINT or SIGTERM, then checkpoints every shard it reads and releases their leases
// within -grace. Exit codes: 0 success, 1 the run failed, 2 the command line is wrong.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog/glue"
	icebergio "github.com/apache/iceberg-go/io"
	_ "github.com/apache/iceberg-go/io/gocloud/s3" // s3:// warehouses
	"github.com/apache/iceberg-go/utils"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awskinesis "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/detect"
	"github.com/coattailcapital/ctc/metrics/emf"
	"github.com/coattailcapital/ctc/quality"
	"github.com/coattailcapital/ctc/shardrunner"
	"github.com/coattailcapital/ctc/sink/dynamodb"
	ctciceberg "github.com/coattailcapital/ctc/sink/iceberg"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

type options struct {
	stream, app                                 string
	stateTable, stateBucket, leasesTable        string
	alertsTable, aggregatesTable                string
	catalog, warehouse, catalogDir, namespace   string
	kinesisEndpoint, dynamoEndpoint, s3Endpoint string
	region, start, owner                        string
	checkpointEvery, leaseDuration, sync, grace time.Duration
	createTables, emf                           bool
	thresholds                                  detect.Thresholds
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func parse(args []string, stderr io.Writer) (options, error) {
	o := options{thresholds: detect.DefaultThresholds()}
	fs := flag.NewFlagSet("consumer", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: consumer [flags]

Reads the trade stream from Kinesis through the quality chain and the detectors into Iceberg tables
and the DynamoDB alert store, sharing the shards with the application's other consumer processes.
Flags fall back to the environment variables named in their description.

Flags:
`)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.stream, "stream", env("CTC_STREAM", "coattail-trades"), "trade stream `name` (CTC_STREAM)")
	fs.StringVar(&o.app, "app", env("CTC_APP", "coattail-consumer"), "application `name`: its leases, shard states and Iceberg pipeline ids (CTC_APP)")
	fs.StringVar(&o.stateTable, "state-table", env("CTC_STATE_TABLE", shardrunner.DefaultStateTable), "DynamoDB table of shard states (CTC_STATE_TABLE)")
	fs.StringVar(&o.stateBucket, "state-bucket", env("CTC_STATE_BUCKET", ""), "S3 `bucket` for shard states too large for a DynamoDB item (CTC_STATE_BUCKET)")
	fs.StringVar(&o.leasesTable, "leases-table", env("CTC_LEASES_TABLE", shardrunner.DefaultLeaseTable), "DynamoDB table of shard leases (CTC_LEASES_TABLE)")
	fs.StringVar(&o.alertsTable, "alerts-table", env("CTC_ALERTS_TABLE", dynamodb.DefaultAlertsTable), "DynamoDB alerts table (CTC_ALERTS_TABLE)")
	fs.StringVar(&o.aggregatesTable, "aggregates-table", env("CTC_AGGREGATES_TABLE", dynamodb.DefaultAggregatesTable), "DynamoDB aggregates table (CTC_AGGREGATES_TABLE)")
	fs.StringVar(&o.catalog, "catalog", env("CTC_CATALOG", "sql"), "Iceberg catalog: sql or glue (CTC_CATALOG)")
	fs.StringVar(&o.warehouse, "warehouse", env("CTC_WAREHOUSE", "ctc-warehouse"), "Iceberg warehouse: a local `DIR` or s3://bucket/prefix (CTC_WAREHOUSE)")
	fs.StringVar(&o.catalogDir, "catalog-dir", env("CTC_CATALOG_DIR", "ctc-catalog"), "sql catalog with an s3:// warehouse: `DIR` of catalog.db (CTC_CATALOG_DIR)")
	fs.StringVar(&o.namespace, "namespace", env("CTC_NAMESPACE", ctciceberg.DefaultNamespace), "Iceberg namespace or Glue database (CTC_NAMESPACE)")
	fs.StringVar(&o.kinesisEndpoint, "kinesis-endpoint", env("CTC_KINESIS_ENDPOINT", ""), "Kinesis endpoint `URL` override (CTC_KINESIS_ENDPOINT)")
	fs.StringVar(&o.dynamoEndpoint, "dynamodb-endpoint", env("CTC_DYNAMODB_ENDPOINT", ""), "DynamoDB endpoint `URL` override (CTC_DYNAMODB_ENDPOINT)")
	fs.StringVar(&o.s3Endpoint, "s3-endpoint", env("CTC_S3_ENDPOINT", ""), "S3 endpoint `URL` override, path-style (CTC_S3_ENDPOINT)")
	fs.StringVar(&o.region, "region", os.Getenv("AWS_REGION"), "AWS `region` (AWS_REGION; default: the SDK's configuration)")
	fs.StringVar(&o.start, "start", env("CTC_START", "trim_horizon"), "where shards without a checkpoint start: trim_horizon or latest (CTC_START)")
	fs.StringVar(&o.owner, "owner", env("CTC_OWNER", ""), "this process's `name` in the lease table (CTC_OWNER; default host-pid-random)")
	fs.DurationVar(&o.checkpointEvery, "checkpoint-every", shardrunner.DefaultCheckpointEvery, "checkpoint each shard this often")
	fs.DurationVar(&o.leaseDuration, "lease-duration", shardrunner.DefaultLeaseDuration, "a lease not renewed for this long is taken over")
	fs.DurationVar(&o.sync, "shard-sync", shardrunner.DefaultShardSync, "list the stream's shards this often, for resharding")
	fs.DurationVar(&o.grace, "grace", shardrunner.DefaultGrace, "on SIGINT or SIGTERM, time allowed for the final checkpoints")
	fs.BoolVar(&o.createTables, "create-tables", false, "create the DynamoDB tables (states, leases, alerts, aggregates) if missing: for local use")
	fs.BoolVar(&o.emf, "emf", true, "write CloudWatch embedded-metric-format lines to stdout at each checkpoint")
	o.thresholds.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	s3wh := strings.HasPrefix(o.warehouse, "s3://")
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected argument %q: every option is a flag", fs.Arg(0))
	case o.stream == "" || o.app == "":
		return o, errors.New("-stream and -app must not be empty")
	case o.catalog != "sql" && o.catalog != "glue":
		return o, fmt.Errorf("-catalog must be sql or glue, got %q", o.catalog)
	case o.catalog == "glue" && !s3wh:
		return o, fmt.Errorf("-catalog glue needs an s3:// -warehouse, got %q", o.warehouse)
	case o.warehouse == "":
		return o, errors.New("-warehouse must not be empty")
	case o.start != "trim_horizon" && o.start != "latest":
		return o, fmt.Errorf("-start must be trim_horizon or latest, got %q", o.start)
	case o.checkpointEvery <= 0 || o.leaseDuration <= 0 || o.sync <= 0 || o.grace < 0:
		return o, errors.New("-checkpoint-every, -lease-duration and -shard-sync must be > 0, -grace >= 0")
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parse(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintln(stderr, "consumer:", err)
		return exitUsage
	}
	if err := consume(ctx, o, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "consumer:", err)
		return exitFail
	}
	return exitOK
}

func consume(ctx context.Context, o options, stdout, stderr io.Writer) error {
	if _, err := o.thresholds.Detectors(); err != nil { // each processor makes its own below
		return err
	}
	var loadOpts []func(*config.LoadOptions) error
	if o.region != "" {
		loadOpts = append(loadOpts, config.WithRegion(o.region))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return fmt.Errorf("AWS configuration: %w", err)
	}
	kc := awskinesis.NewFromConfig(awsCfg, func(k *awskinesis.Options) {
		if o.kinesisEndpoint != "" {
			k.BaseEndpoint = aws.String(o.kinesisEndpoint)
		}
	})
	db := ddb.NewFromConfig(awsCfg, func(d *ddb.Options) {
		if o.dynamoEndpoint != "" {
			d.BaseEndpoint = aws.String(o.dynamoEndpoint)
		}
	})
	s3c := s3.NewFromConfig(awsCfg, func(s *s3.Options) {
		if o.s3Endpoint != "" {
			s.BaseEndpoint = aws.String(o.s3Endpoint)
			s.UsePathStyle = true
		}
	})
	alertsCfg := dynamodb.Config{AlertsTable: o.alertsTable, AggregatesTable: o.aggregatesTable}
	if o.createTables {
		if err := shardrunner.CreateStateTable(ctx, db, o.stateTable); err != nil {
			return err
		}
		if err := shardrunner.CreateLeaseTable(ctx, db, o.leasesTable); err != nil {
			return err
		}
		if err := dynamodb.CreateTables(ctx, db, alertsCfg); err != nil {
			return err
		}
	}
	stateCfg := shardrunner.DynamoConfig{Client: db, Table: o.stateTable}
	if o.stateBucket != "" {
		stateCfg.S3, stateCfg.Bucket, stateCfg.Prefix = s3c, o.stateBucket, o.app
	}
	states, err := shardrunner.NewDynamoStateStore(stateCfg)
	if err != nil {
		return err
	}
	leases, err := shardrunner.NewLeaseTable(db, o.leasesTable)
	if err != nil {
		return err
	}
	alerts, err := dynamodb.New(db, alertsCfg)
	if err != nil {
		return err
	}

	// The Iceberg file IO finds the AWS configuration (credentials, region) in the context.
	ctx = utils.WithAwsConfig(ctx, &awsCfg)
	lake, err := openLake(ctx, o, awsCfg)
	if err != nil {
		return err
	}
	defer lake.Close(context.WithoutCancel(ctx))

	chain, err := quality.New(quality.Config{})
	if err != nil {
		return err
	}
	maxDelay := chain.Config().MaxIngestDelay
	var metrics *emf.Logger
	if o.emf {
		if metrics, err = emf.New(stdout, emf.Config{}); err != nil {
			return err
		}
	}
	start := shardrunner.TrimHorizon
	if o.start == "latest" {
		start = shardrunner.Latest
	}
	c, err := shardrunner.NewConsumer(shardrunner.ConsumerConfig{
		Client: kc, Stream: o.stream, Leases: leases, Owner: o.owner, Start: start,
		Runner: shardrunner.Config{
			App: o.app, Store: states, Sinks: []ctc.Sink{alerts},
			NewProcessor: shardrunner.Processors(quality.Config{}, o.thresholds, nil),
		},
		NewSinks: func(ctx context.Context, shard string) ([]ctc.Sink, error) {
			s, err := lake.shardSink(ctx)
			if err != nil {
				return nil, err
			}
			return []ctc.Sink{s}, nil
		},
		CheckpointEvery: o.checkpointEvery, LeaseDuration: o.leaseDuration, ShardSync: o.sync, Grace: o.grace,
		OnEvent: func(e shardrunner.Event) {
			switch e.Kind {
			case shardrunner.EventCheckpointed, shardrunner.EventThrottled:
				return // frequent: counted in the stats and the metrics
			}
			if e.Err != nil {
				fmt.Fprintf(stderr, "consumer: %s %s: %v\n", e.Kind, e.Shard, e.Err)
				return
			}
			fmt.Fprintf(stderr, "consumer: %s %s\n", e.Kind, e.Shard)
		},
		OnCheckpoint: func(r shardrunner.Report) {
			if metrics == nil {
				return
			}
			err := metrics.Quality(r.Quality(maxDelay))
			if err == nil && r.Batch != nil {
				err = metrics.Batch(r.Batch)
			}
			if err != nil {
				fmt.Fprintln(stderr, "consumer: metrics:", err)
			}
		},
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "consumer: %s reading %s as %s (Ctrl-C to stop)\n", c.Owner(), o.stream, o.app)
	if err := c.Run(ctx); err != nil {
		return err
	}
	s := c.Stats()
	fmt.Fprintf(stderr, "consumer: stopped: %d records, %d checkpoints, %d throttled reads\n", s.Records, s.Checkpoints, s.Throttled)
	return nil
}

// lake opens the Iceberg tables once (creating them if need be) and a sink per shard runner on
// the same catalog.
type lake struct {
	root  *ctciceberg.Sink
	cfg   ctciceberg.Config // for the shards' sinks
	close func() error
}

func openLake(ctx context.Context, o options, awsCfg aws.Config) (*lake, error) {
	props := iceberg.Properties{}
	if o.s3Endpoint != "" {
		props[icebergio.S3EndpointURL] = o.s3Endpoint
	}
	if awsCfg.Region != "" {
		props[icebergio.S3Region] = awsCfg.Region
	}
	s3wh := strings.HasPrefix(o.warehouse, "s3://")
	var rootCfg ctciceberg.Config
	switch {
	case o.catalog == "glue":
		cat, err := glue.NewCatalog(glue.WithAwsConfig(awsCfg))
		if err != nil {
			return nil, fmt.Errorf("glue catalog: %w", err)
		}
		rootCfg = ctciceberg.Config{Namespace: o.namespace, Catalog: cat, Warehouse: o.warehouse, Props: props}
	case s3wh:
		// The SQL catalog in a local file, the tables' files in S3.
		p := iceberg.Properties{"warehouse": o.warehouse}
		for k, v := range props {
			p[k] = v
		}
		rootCfg = ctciceberg.Config{Namespace: o.namespace, Dir: o.catalogDir, Props: p}
	default:
		if u, err := url.Parse(o.warehouse); err == nil && u.Scheme != "" && len(u.Scheme) > 1 {
			return nil, fmt.Errorf("-warehouse %q: want a local directory or s3://bucket/prefix", o.warehouse)
		}
		rootCfg = ctciceberg.Config{Namespace: o.namespace, Dir: o.warehouse}
	}
	root, err := ctciceberg.Open(ctx, rootCfg)
	if err != nil {
		return nil, err
	}
	l := &lake{root: root, cfg: ctciceberg.Config{Namespace: o.namespace, Catalog: root.Catalog()}}
	if len(props) > 0 && (s3wh || o.catalog == "glue") {
		l.cfg.Props = props
	}
	return l, nil
}

func (l *lake) shardSink(ctx context.Context) (*ctciceberg.Sink, error) {
	return ctciceberg.Open(ctx, l.cfg)
}

func (l *lake) Close(ctx context.Context) error { return l.root.Close(ctx) }
