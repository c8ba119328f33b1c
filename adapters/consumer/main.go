// Command consumer reads the trade stream from Kinesis and runs it through ctc's quality chain and
// detectors into the lakehouse (Iceberg tables) and the hot alert store (DynamoDB), shard by shard,
// sharing the shards with the other consumer processes of the same application (DESIGN §7).
//
//	go run ./adapters/consumer -warehouse ctc-warehouse          # SQL catalog, local files
//	go run ./adapters/consumer -warehouse s3://bucket/lake       # Glue, S3 (AWS)
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
// The AWS flags and their CTC_* environment variables are package awsenv's, shared with the
// producer and the Lambda functions (a flag on the command line wins over the variable, which
// wins over the library's default): -region; -stream, -kinesis-endpoint; -alerts-table,
// -aggregates-table, -dynamodb-endpoint; -app, -state-table, -state-bucket, -leases-table,
// -start, -owner; -catalog, -catalog-uri, -namespace, -warehouse, -s3-endpoint. The warehouse
// defaults to the local directory ctc-warehouse (DIR/catalog.db, DIR/warehouse); an s3:// one
// uses Glue unless -catalog-uri names a SQLite catalog file. The consumer's own:
//
//	-checkpoint-every D                            checkpoint interval per shard (default 60s)
//	-lease-duration D, -shard-sync D, -grace D     lease expiry (10s), shard re-listing (60s), shutdown grace (30s)
//	-create-tables                                 create the DynamoDB tables first (local use)
//	-emf                                           CloudWatch EMF metric lines on stdout at each checkpoint (default true)
//	-whale, -z, -z-high, -spread, -min-history     detector thresholds (detect.Thresholds)
//	-alerts-db FILE                                alerts and aggregates in a local SQLite file (sink/embedded), not DynamoDB
//	-addr ADDR, -api-keys FILE                     serve the REST API and the dashboard over the alert store
//	-log-level L, -log-format F                    log records on stderr: debug|info|warn|error, text|json
//
// With -kafka-brokers (CTC_KAFKA_BROKERS) it reads a Kafka topic in a consumer group instead
// (package kafkarunner): the partitions are shared by the group's cooperative-sticky rebalancing,
// not by the lease table; their states go to the state table, or to -kafka-state-dir on one
// machine; the sinks are the same. The Kafka flags (-kafka-topic, -kafka-group, -kafka-tls,
// -kafka-tls-ca, -kafka-sasl, -kafka-user, -kafka-accept-repartition) are package kafkaenv's.
// With -kafka-state-dir, -alerts-db and a local -warehouse nothing is in AWS: a Kafka shop runs
// the whole streaming side on its own machines, no AWS account needed.
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
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/apache/iceberg-go/utils"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/api"
	"github.com/coattailcapital/ctc/awsenv"
	"github.com/coattailcapital/ctc/awsenv/kafkaenv"
	"github.com/coattailcapital/ctc/awsenv/lakeenv"
	"github.com/coattailcapital/ctc/detect"
	"github.com/coattailcapital/ctc/incident"
	"github.com/coattailcapital/ctc/internal/logflag"
	"github.com/coattailcapital/ctc/kafkarunner"
	"github.com/coattailcapital/ctc/metrics/emf"
	"github.com/coattailcapital/ctc/quality"
	"github.com/coattailcapital/ctc/shardrunner"
	"github.com/coattailcapital/ctc/sink/dynamodb"
	"github.com/coattailcapital/ctc/sink/embedded"
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
	env                                         awsenv.Env
	kafka                                       kafkaenv.Env
	logs                                        *logflag.Flags
	log                                         *slog.Logger
	checkpointEvery, leaseDuration, sync, grace time.Duration
	createTables, emf                           bool
	thresholds                                  detect.Thresholds
	alertsDB, addr, apiKeys                     string
}

// defaultWarehouse is the local warehouse of a consumer given none.
const defaultWarehouse = "ctc-warehouse"

func parse(args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	o := options{env: awsenv.FromEnv(getenv), kafka: kafkaenv.FromEnv(getenv), thresholds: detect.DefaultThresholds()}
	if o.env.Warehouse == "" {
		o.env.Warehouse = defaultWarehouse
	}
	fs := flag.NewFlagSet("consumer", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: consumer [flags]

Reads the trade stream from Kinesis (or Kafka, with -kafka-brokers) through the quality chain and the
detectors into Iceberg tables and the alert store (DynamoDB, or a SQLite file with -alerts-db),
sharing the shards with the application's other consumer processes.
Flags fall back to the environment variables named in their description.

Flags:
`)
		fs.PrintDefaults()
	}
	o.env.RegisterFlags(fs, awsenv.AWS|awsenv.Stream|awsenv.Store|awsenv.Shards|awsenv.Lake)
	o.kafka.RegisterFlags(fs, true)
	fs.DurationVar(&o.checkpointEvery, "checkpoint-every", shardrunner.DefaultCheckpointEvery, "checkpoint each shard this often")
	fs.DurationVar(&o.leaseDuration, "lease-duration", shardrunner.DefaultLeaseDuration, "a lease not renewed for this long is taken over")
	fs.DurationVar(&o.sync, "shard-sync", shardrunner.DefaultShardSync, "list the stream's shards this often, for resharding")
	fs.DurationVar(&o.grace, "grace", shardrunner.DefaultGrace, "on SIGINT or SIGTERM, time allowed for the final checkpoints")
	fs.BoolVar(&o.createTables, "create-tables", false, "create the DynamoDB tables (states, leases, alerts, aggregates) if missing: for local use")
	fs.BoolVar(&o.emf, "emf", true, "write CloudWatch embedded-metric-format lines to stdout at each checkpoint")
	fs.StringVar(&o.alertsDB, "alerts-db", getenv("CTC_ALERTS_DB"), "keep alerts and aggregates in this SQLite `file` (package sink/embedded) instead of the DynamoDB tables; the processes of one machine can share it (env CTC_ALERTS_DB)")
	fs.StringVar(&o.addr, "addr", "", "serve the REST API and the dashboard over the alert store on this `address` (e.g. 127.0.0.1:8080); off when empty")
	fs.StringVar(&o.apiKeys, "api-keys", "", "with -addr, require one of the API keys in this `file` (one a line)")
	o.thresholds.RegisterFlags(fs)
	o.logs = logflag.Register(fs)
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	e := &o.env
	_, startErr := e.StartPosition()
	switch kind := e.CatalogKind(); {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected argument %q: every option is a flag", fs.Arg(0))
	case e.Stream == "" || e.App == "":
		return o, errors.New("-stream and -app must not be empty")
	case kind != "sql" && kind != "glue":
		return o, fmt.Errorf("-catalog must be sql or glue, got %q", kind)
	case kind == "glue" && !strings.HasPrefix(e.Warehouse, "s3://"):
		return o, fmt.Errorf("-catalog glue needs an s3:// -warehouse, got %q", e.Warehouse)
	case startErr != nil:
		return o, errors.New("-start must be trim_horizon or latest")
	case o.checkpointEvery <= 0 || o.leaseDuration <= 0 || o.sync <= 0 || o.grace < 0:
		return o, errors.New("-checkpoint-every, -lease-duration and -shard-sync must be > 0, -grace >= 0")
	case o.apiKeys != "" && o.addr == "":
		return o, errors.New("-api-keys needs -addr: the keys guard the API it serves")
	}
	if o.kafka.Enabled() {
		if err := o.kafka.Validate(); err != nil {
			return o, err
		}
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parse(args, os.Getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintln(stderr, "consumer:", err)
		return exitUsage
	}
	if o.log, err = o.logs.New(stderr); err != nil {
		fmt.Fprintln(stderr, "consumer:", err)
		return exitUsage
	}
	if err := consume(ctx, o, stdout, stderr); err != nil {
		o.log.Error(err.Error())
		return exitFail
	}
	return exitOK
}

func consume(ctx context.Context, o options, stdout, stderr io.Writer) error {
	if _, err := o.thresholds.Detectors(); err != nil { // each processor makes its own below
		return err
	}
	e := o.env
	awsCfg, err := e.AWSConfig(ctx)
	if err != nil {
		return err
	}
	kc, db := e.Kinesis(awsCfg), e.DynamoDB(awsCfg)
	alertsCfg := dynamodb.Config{AlertsTable: e.AlertsTable, AggregatesTable: e.AggregatesTable}
	// On Kafka with -kafka-state-dir and -alerts-db, nothing is in DynamoDB: with a local
	// warehouse the consumer needs no AWS account at all.
	fileStates := o.kafka.Enabled() && o.kafka.StateDir != ""
	if o.createTables { // the tables this run uses
		if !fileStates {
			if err := shardrunner.CreateStateTable(ctx, db, e.StateTable); err != nil {
				return err
			}
		}
		if !o.kafka.Enabled() {
			if err := shardrunner.CreateLeaseTable(ctx, db, e.LeasesTable); err != nil {
				return err
			}
		}
		if o.alertsDB == "" {
			if err := dynamodb.CreateTables(ctx, db, alertsCfg); err != nil {
				return err
			}
		}
	}
	var states shardrunner.StateStore
	if fileStates {
		if states, err = kafkarunner.NewFileStateStore(o.kafka.StateDir); err != nil {
			return err
		}
	} else {
		stateCfg := shardrunner.DynamoConfig{Client: db, Table: e.StateTable}
		if e.StateBucket != "" {
			stateCfg.S3, stateCfg.Bucket, stateCfg.Prefix = e.S3(awsCfg), e.StateBucket, e.App
		}
		if states, err = shardrunner.NewDynamoStateStore(stateCfg); err != nil {
			return err
		}
	}
	var alerts hotStore
	if o.alertsDB != "" {
		es, err := embedded.Open(o.alertsDB)
		if err != nil {
			return fmt.Errorf("-alerts-db: %w", err)
		}
		defer es.Close(context.WithoutCancel(ctx))
		alerts = es
	} else if alerts, err = dynamodb.New(db, alertsCfg); err != nil {
		return err
	}
	if o.addr != "" {
		stopServer, url, err := o.serve(alerts)
		if err != nil {
			return err
		}
		defer stopServer()
		o.log.Info("dashboard and API on "+url, "url", url)
	}

	// The Iceberg file IO finds the AWS configuration (credentials, region) in the context.
	ctx = utils.WithAwsConfig(ctx, &awsCfg)
	cat, closeCat, err := lakeenv.OpenCatalog(ctx, e, awsCfg)
	if err != nil {
		return err
	}
	defer closeCat()
	lakeCfg := lakeenv.LakeConfig(e, cat)
	// The tables are created (if need be) once, before the shards' sinks open them.
	root, err := ctciceberg.Open(ctx, lakeCfg)
	if err != nil {
		return err
	}
	defer root.Close(context.WithoutCancel(ctx))

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
	if o.kafka.Enabled() {
		return o.consumeKafka(ctx, awsCfg, states, alerts, lakeCfg, stderr)
	}
	leases, err := shardrunner.NewLeaseTable(db, e.LeasesTable)
	if err != nil {
		return err
	}
	start, _ := e.StartPosition() // checked by parse
	c, err := shardrunner.NewConsumer(shardrunner.ConsumerConfig{
		Client: kc, Stream: e.Stream, Leases: leases, Owner: e.Owner, Start: start,
		Runner: shardrunner.Config{
			App: e.App, Store: states, Sinks: []ctc.Sink{alerts},
			NewProcessor: shardrunner.Processors(quality.Config{}, o.thresholds, nil),
		},
		NewSinks: func(ctx context.Context, shard string) ([]ctc.Sink, error) {
			s, err := ctciceberg.Open(ctx, lakeCfg)
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
				o.log.Error(string(e.Kind), "shard", e.Shard, "err", e.Err)
				return
			}
			o.log.Info(string(e.Kind), "shard", e.Shard)
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
				o.log.Error("metrics", "err", err)
			}
		},
	})
	if err != nil {
		return err
	}
	o.log.Info("reading the stream (Ctrl-C to stop)", "owner", c.Owner(), "stream", e.Stream, "app", e.App)
	if err := c.Run(ctx); err != nil {
		return err
	}
	s := c.Stats()
	o.log.Info("stopped", "records", s.Records, "checkpoints", s.Checkpoints, "throttled_reads", s.Throttled)
	return nil
}

// consumeKafka reads the Kafka topic in a consumer group into the same sinks (package kafkarunner).
func (o options) consumeKafka(ctx context.Context, awsCfg aws.Config, states shardrunner.StateStore, alerts ctc.Sink,
	lakeCfg ctciceberg.Config, stderr io.Writer) error {
	kopts, err := o.kafka.ClientOptions(awsCfg.Credentials)
	if err != nil {
		return err
	}
	start, _ := o.env.StartPosition()
	c, err := kafkarunner.New(kafkarunner.Config{
		Client: kopts, Topic: o.kafka.Topic, Group: o.kafka.Group, App: o.env.App, Store: states,
		Runner: shardrunner.Config{Sinks: []ctc.Sink{alerts},
			NewProcessor: shardrunner.Processors(quality.Config{}, o.thresholds, nil)},
		NewSinks: func(ctx context.Context, id string) ([]ctc.Sink, error) {
			s, err := ctciceberg.Open(ctx, lakeCfg)
			if err != nil {
				return nil, err
			}
			return []ctc.Sink{s}, nil
		},
		StartAtEnd: start == shardrunner.Latest, CheckpointEvery: o.checkpointEvery, Grace: o.grace,
		AcceptRepartition: o.kafka.AcceptRepartition,
		OnEvent: func(e kafkarunner.Event) {
			switch e.Kind {
			case kafkarunner.EventCheckpointed:
				return // frequent
			}
			if e.Err != nil {
				o.log.Error(string(e.Kind), "partition", e.Partition, "err", e.Err)
				return
			}
			o.log.Info(string(e.Kind), "partition", e.Partition)
		},
	})
	if err != nil {
		return err
	}
	o.log.Info("reading the kafka topic (Ctrl-C to stop)", "topic", o.kafka.Topic, "brokers", o.kafka.Brokers, "group_app", o.env.App)
	if err := c.Run(ctx); err != nil {
		return err
	}
	st := c.Stats()
	o.log.Info("stopped", "records", st.Records, "checkpoints", st.Checkpoints, "conflicts", st.Conflicts)
	return nil
}

// hotStore is the alert store the consumer writes and its API reads: DynamoDB, or the embedded
// SQLite store with -alerts-db.
type hotStore interface {
	ctc.Sink
	api.Store
}

// serve starts the REST API and the dashboard on -addr over the alert store, its alert list
// grouped into incidents as the notifier groups them, and returns the function that stops it.
func (o options) serve(store api.Store) (stop func(), url string, err error) {
	cfg := api.Config{Store: store, SpreadThreshold: o.thresholds.Spread, Incidents: &incident.Policy{}, Logger: o.log}
	if o.apiKeys != "" {
		if cfg.Keys, err = api.ReadKeyFile(o.apiKeys); err != nil {
			return nil, "", fmt.Errorf("-api-keys: %w", err)
		}
	} else if !api.Loopback(o.addr) {
		o.log.Warn("the API is open to anyone who can reach it; give -api-keys FILE to require a key", "addr", o.addr)
	}
	h, err := api.New(cfg)
	if err != nil {
		return nil, "", err
	}
	if url, stop, err = api.Start(o.addr, h); err != nil {
		return nil, "", fmt.Errorf("-addr: %w", err)
	}
	return stop, url, nil
}
