package shardrunner

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/internal/awstest"
	"github.com/coattailcapital/ctc/sink/dynamodb"
	"github.com/coattailcapital/ctc/sink/iceberg"
)

// BenchmarkConsumer measures the consumer end to end: records/s from kinesalite (two shards)
// through the quality chain and the detectors into the DynamoDB alert store (dynalite) and the
// Iceberg tables (a local SQL-catalog warehouse, one sink per shard), with the shard states in
// DynamoDB and S3. Each iteration is a new application reading the same stream from its start
// until every trade is committed; checkpoints every 200 ms. The emulators run on the same
// machine, so the figure is a lower bound of what the code does against AWS.
func BenchmarkConsumer(b *testing.B) {
	ctx := context.Background()
	kc, db := awstest.KinesisClient(b), awstest.DynamoDBClient(b)
	stream := newStream(b, kc, 2)
	trades := simTrades(b, 10, 1)
	put(b, kc, stream, trades)

	leaseTable, stateTable := awstest.Name(b, "leases"), awstest.Name(b, "state")
	if err := CreateLeaseTable(ctx, db, leaseTable); err != nil {
		b.Fatal(err)
	}
	if err := CreateStateTable(ctx, db, stateTable); err != nil {
		b.Fatal(err)
	}
	s3c := awstest.S3Client(b)
	bucket := awstest.Name(b, "state")
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		b.Fatal(err)
	}
	store, err := NewDynamoStateStore(DynamoConfig{Client: db, Table: stateTable, S3: s3c, Bucket: bucket})
	if err != nil {
		b.Fatal(err)
	}
	leases, err := NewLeaseTable(db, leaseTable)
	if err != nil {
		b.Fatal(err)
	}
	alertsCfg := dynamodb.Config{AlertsTable: awstest.Name(b, "alerts"), AggregatesTable: awstest.Name(b, "aggregates")}
	if err := dynamodb.CreateTables(ctx, db, alertsCfg); err != nil {
		b.Fatal(err)
	}
	alerts, err := dynamodb.New(db, alertsCfg)
	if err != nil {
		b.Fatal(err)
	}
	lake, err := iceberg.Open(ctx, iceberg.Config{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer lake.Close(ctx)

	b.ResetTimer()
	for i := range b.N {
		var committed atomic.Int64
		c, err := NewConsumer(ConsumerConfig{
			Client: kc, Stream: stream, Leases: leases,
			Runner: Config{App: fmt.Sprintf("bench-%d", i), Store: store, NewProcessor: newProc, Sinks: []ctc.Sink{alerts}},
			NewSinks: func(ctx context.Context, _ string) ([]ctc.Sink, error) {
				s, err := iceberg.Open(ctx, iceberg.Config{Catalog: lake.Catalog()})
				return []ctc.Sink{s}, err
			},
			CheckpointEvery: 200 * time.Millisecond, LeaseDuration: 3 * time.Second, ShardSync: time.Second,
			OnCheckpoint: func(r Report) { committed.Add(r.Stats.Trades) },
		})
		if err != nil {
			b.Fatal(err)
		}
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- c.Run(rctx) }()
		awstest.Wait(b, 2*time.Minute, "every trade to be committed", func() bool { return committed.Load() >= int64(len(trades)) })
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(trades)*b.N)/b.Elapsed().Seconds(), "records/s")
}
