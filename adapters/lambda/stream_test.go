package lambda_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/awsenv"
	"github.com/coattailcapital/ctc/awsenv/lakeenv"
	"github.com/coattailcapital/ctc/detect"
	"github.com/coattailcapital/ctc/internal/awstest"
	"github.com/coattailcapital/ctc/quality"
	"github.com/coattailcapital/ctc/sink/dynamodb"
	"github.com/coattailcapital/ctc/sink/iceberg"
)

// oracle runs each shard's records, in order, through one plain processor, as the consumer does:
// the alert ids and the number of trades that pass.
func oracle(t *testing.T, shards []shardRecords) (alerts []uuid.UUID, trades int) {
	t.Helper()
	for _, sh := range shards {
		chain, err := quality.New(quality.Config{})
		if err != nil {
			t.Fatal(err)
		}
		ds, err := detect.DefaultThresholds().Detectors()
		if err != nil {
			t.Fatal(err)
		}
		p, err := ctc.NewProcessor(ctc.WithChecker(chain), ctc.WithDetectors(ds...))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range sh.recs {
			p.Process(&ctc.Record{Data: r.Data})
		}
		var b ctc.Batch
		p.Take(&b)
		for _, a := range b.Output.Alerts {
			alerts = append(alerts, a.AlertID)
		}
		trades += len(b.Trades)
	}
	slices.SortFunc(alerts, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	return alerts, trades
}

// streamRun is one stream Lambda with tables and a warehouse of its own.
type streamRun struct {
	l     *awstest.Lambda
	store *dynamodb.Store
	lake  awsenv.Env // where its Iceberg tables are
}

// startStream starts a stream Lambda on new tables and a new local warehouse; extra
// variables override.
func startStream(t *testing.T, extra ...string) *streamRun {
	store, cfg := tables(t)
	r := &streamRun{store: store}
	vars := append([]string{
		"CTC_ALERTS_TABLE=" + cfg.AlertsTable, "CTC_AGGREGATES_TABLE=" + cfg.AggregatesTable,
		"CTC_STATE_TABLE=" + stateTable(t), "CTC_CATALOG=sql", "CTC_WAREHOUSE=" + t.TempDir(),
	}, extra...)
	r.lake = awsenv.FromEnv(func(k string) string {
		v := ""
		for _, kv := range vars {
			if name, val, _ := strings.Cut(kv, "="); name == k {
				v = val
			}
		}
		return v
	})
	r.lake.Region = awstest.Region
	r.l = awstest.StartLambda(t, bootstrap(t, "stream"), awsEnv(t, vars...)...)
	return r
}

// openLake opens the run's warehouse as the Lambda does.
func (r *streamRun) openLake(t *testing.T) *iceberg.Sink {
	t.Helper()
	ctx := context.Background()
	// The function's credentials come from its environment; the test's S3 reads from here.
	t.Setenv("AWS_ACCESS_KEY_ID", awstest.S3AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", awstest.S3SecretKey)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	cat, closeCat, err := lakeenv.OpenCatalog(ctx, r.lake, aws.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeCat() })
	lake, err := iceberg.Open(ctx, lakeenv.LakeConfig(r.lake, cat))
	if err != nil {
		t.Fatal(err)
	}
	return lake
}

func (r *streamRun) deliver(t *testing.T, ev events.KinesisEvent) events.KinesisEventResponse {
	t.Helper()
	var resp events.KinesisEventResponse
	invoke(t, r.l, ev, &resp)
	return resp
}

// deliverAll delivers ev as the event-source mapping does: a response naming a record is
// followed by a delivery from that record. (dynalite now and then makes the SDK repeat a
// conditional state save that had landed; the function then names the last record, whose
// redelivery commits the saved checkpoint.) It fails the test after three tries.
func (r *streamRun) deliverAll(t *testing.T, ev events.KinesisEvent) {
	t.Helper()
	for tries := 0; ; tries++ {
		resp := r.deliver(t, ev)
		if len(resp.BatchItemFailures) == 0 {
			return
		}
		if tries == 2 {
			t.Fatalf("failures after %d deliveries: %+v", tries+1, resp.BatchItemFailures)
		}
		from := resp.BatchItemFailures[0].ItemIdentifier
		i := slices.IndexFunc(ev.Records, func(r events.KinesisEventRecord) bool { return r.Kinesis.SequenceNumber == from })
		if i < 0 {
			t.Fatalf("the response names %s, which the event does not hold", from)
		}
		t.Logf("redelivering from record %d of %d", i, len(ev.Records))
		ev.Records = ev.Records[i:]
	}
}

// check compares what the run stored with the oracle's alerts and trade count.
func (r *streamRun) check(t *testing.T, wantAlerts []uuid.UUID, wantTrades int) {
	t.Helper()
	ctx := context.Background()
	got, err := r.store.QueryAlerts(ctx, ctc.AlertQuery{Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]uuid.UUID, len(got))
	for i, a := range got {
		ids[i] = a.AlertID
	}
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	if d := cmp.Diff(wantAlerts, ids); d != "" {
		t.Errorf("alerts in DynamoDB differ from the consumer's (-want +got):\n%s", d)
	}
	lake := r.openLake(t)
	defer lake.Close(ctx)
	n := 0
	for b, err := range lake.ScanTrades(ctx, iceberg.ScanOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		n += len(b)
	}
	if n != wantTrades {
		t.Errorf("raw_trades has %d rows, want %d (each passed trade once)", n, wantTrades)
	}
	alerts, err := lake.ScanAlerts(ctx, iceberg.AnomalyAlerts, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	lakeIDs := make([]uuid.UUID, len(alerts))
	for i, a := range alerts {
		lakeIDs[i] = a.AlertID
	}
	slices.SortFunc(lakeIDs, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	if d := cmp.Diff(wantAlerts, lakeIDs); d != "" {
		t.Errorf("anomaly_alerts differ from the consumer's alerts (-want +got):\n%s", d)
	}
}

// Records read from kinesalite, delivered by the built stream Lambda under the emulator, give the
// consumer's alerts in DynamoDB and Iceberg — delivered whole, or split into batches with a
// batch delivered twice and one delivered again from further back.
func TestStreamLambda(t *testing.T) {
	arn, shards := putAndRead(t, marketTrades(600), 2)
	wantAlerts, wantTrades := oracle(t, shards)
	if len(wantAlerts) < 10 || len(wantAlerts) >= 200 {
		t.Fatalf("the test market gives %d alerts; want between 10 and 200", len(wantAlerts))
	}
	t.Logf("%d shards, %d trades pass, %d alerts", len(shards), wantTrades, len(wantAlerts))

	t.Run("whole", func(t *testing.T) {
		r := startStream(t)
		for _, sh := range shards {
			r.deliverAll(t, kinesisEvent(arn, sh.shard, sh.recs))
		}
		r.check(t, wantAlerts, wantTrades)
	})

	t.Run("split and retried", func(t *testing.T) {
		r := startStream(t)
		calls := 0
		defer func() { t.Logf("%d invocations", calls) }()
		for _, sh := range shards {
			recs := sh.recs
			sizes := []int{1, 17, 50, 3, 100, 29}
			for i, pos := 0, 0; pos < len(recs); i++ {
				end := min(len(recs), pos+sizes[i%len(sizes)])
				batches := [][]types.Record{recs[pos:end]}
				switch i % 4 {
				case 1: // the mapping retries a batch that succeeded (its response was lost)
					batches = append(batches, recs[pos:end])
				case 2: // it delivers again from further back
					batches = append(batches, recs[max(0, pos-7):end])
				}
				for _, b := range batches {
					calls++
					r.deliverAll(t, kinesisEvent(arn, sh.shard, b))
				}
				pos = end
			}
		}
		r.check(t, wantAlerts, wantTrades)
	})

	// The deployment's layout: the warehouse on S3 (s3rver here; the catalog a SQL one, as Glue
	// cannot run locally) and large shard states in the raw bucket.
	t.Run("s3 warehouse", func(t *testing.T) {
		bucket := awstest.Name(t, "lake")
		if _, err := awstest.S3Client(t).CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: &bucket}); err != nil {
			t.Fatal(err)
		}
		r := startStream(t, "CTC_WAREHOUSE=s3://"+bucket+"/warehouse", "CTC_CATALOG_URI="+filepath.Join(t.TempDir(), "catalog.db"),
			"CTC_S3_ENDPOINT="+awstest.S3(t).URL, "CTC_RAW_BUCKET="+bucket)
		for _, sh := range shards {
			for pos := 0; pos < len(sh.recs); pos += 150 {
				r.deliverAll(t, kinesisEvent(arn, sh.shard, sh.recs[pos:min(len(sh.recs), pos+150)]))
			}
		}
		r.check(t, wantAlerts, wantTrades)
		tbl, err := r.openLake(t).Table(context.Background(), iceberg.RawTrades)
		if err != nil {
			t.Fatal(err)
		}
		if loc := tbl.Location(); !strings.HasPrefix(loc, "s3://"+bucket+"/warehouse/") {
			t.Fatalf("raw_trades is at %s, not in the S3 warehouse", loc)
		}
	})

	t.Run("state table missing", func(t *testing.T) {
		r := startStream(t, "CTC_STATE_TABLE="+awstest.Name(t, "missing"))
		sh := shards[0]
		resp := r.deliver(t, kinesisEvent(arn, sh.shard, sh.recs[:20]))
		want := []events.KinesisBatchItemFailure{{ItemIdentifier: aws.ToString(sh.recs[0].SequenceNumber)}}
		if d := cmp.Diff(want, resp.BatchItemFailures); d != "" {
			t.Fatalf("BatchItemFailures (-want +got):\n%s", d)
		}
	})

	t.Run("not a kinesis event", func(t *testing.T) {
		r := startStream(t)
		ev := kinesisEvent(arn, shards[0].shard, shards[0].recs[:1])
		ev.Records[0].EventID = "no-colon"
		b, _ := json.Marshal(ev)
		out, err := r.l.Invoke(context.Background(), b)
		if err == nil && !strings.Contains(string(out), "eventID") {
			t.Fatalf("a malformed event was accepted: %s", out)
		}
	})
}
