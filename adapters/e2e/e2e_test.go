// Package e2e runs the AWS data path of DESIGN §7 end to end on the local API-compatible servers:
// the simulator through the producer onto Kinesis (kinesalite), the consumer into Iceberg on S3
// (s3rver) and the alert store on DynamoDB (dynalite), the API Lambda answering from that store,
// and the stream Lambda giving the same alerts from the same records. Every piece is the built
// command or bootstrap binary a deployment runs.
package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apache/iceberg-go"
	icebergio "github.com/apache/iceberg-go/io"
	_ "github.com/apache/iceberg-go/io/gocloud/s3" // the lake on s3rver
	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	kin "github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/internal/awstest"
	"github.com/coattailcapital/ctc/shardrunner"
	"github.com/coattailcapital/ctc/sink/dynamodb"
	ctciceberg "github.com/coattailcapital/ctc/sink/iceberg"
)

var bin string // the folder of the built commands

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "ctc-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = d
	code := awstest.Main(m)
	os.RemoveAll(d)
	os.Exit(code)
}

var builds sync.Map

// build builds the main package at pkg (relative to the module root) once, as a Lambda bootstrap
// when lambda is set.
func build(t *testing.T, pkg string, lambda bool) string {
	t.Helper()
	v, _ := builds.LoadOrStore(pkg, new(struct {
		once sync.Once
		path string
		err  error
	}))
	b := v.(*struct {
		once sync.Once
		path string
		err  error
	})
	b.once.Do(func() {
		b.path = filepath.Join(bin, strings.ReplaceAll(pkg, "/", "_"), filepath.Base(pkg))
		args := []string{"build", "-o", b.path}
		if lambda {
			b.path = filepath.Join(filepath.Dir(b.path), "bootstrap")
			args = []string{"build", "-tags", "lambda.norpc", "-o", b.path}
		}
		cmd := exec.Command("go", append(args, "./"+pkg)...)
		cmd.Dir = "../.."
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build ./%s: %v\n%s", pkg, err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// awsEnv is the environment of every command: the emulators' fixed credentials and nothing from
// the machine's own AWS configuration.
func awsEnv(extra ...string) []string {
	return append(append(os.Environ(),
		"AWS_REGION="+awstest.Region, "AWS_ACCESS_KEY_ID="+awstest.S3AccessKey, "AWS_SECRET_ACCESS_KEY="+awstest.S3SecretKey,
		"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null"), extra...)
}

func run(t *testing.T, name string, args []string, env []string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return string(out)
}

func alertIDs(alerts []ctc.Alert) []string {
	ids := make([]string, len(alerts))
	for i, a := range alerts {
		ids[i] = a.AlertID.String()
	}
	slices.Sort(ids)
	return ids
}

// everyAlert reads a store's alerts, however many, newest first.
func everyAlert(t *testing.T, s *dynamodb.Store) []ctc.Alert {
	t.Helper()
	as, err := s.QueryAlerts(context.Background(), ctc.AlertQuery{Limit: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	return as
}

func newStore(t *testing.T, alerts, aggregates string) *dynamodb.Store {
	t.Helper()
	s, err := dynamodb.New(awstest.DynamoDBClient(t), dynamodb.Config{AlertsTable: alerts, AggregatesTable: aggregates})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The simulator → producer → Kinesis → consumer → Iceberg on S3 + DynamoDB → API Lambda; and the
// same records through the stream Lambda, in other batches and with a retry, give the same alerts.
func TestAWSDataPath(t *testing.T) {
	ctx := context.Background()
	kc, s3c := awstest.KinesisClient(t), awstest.S3Client(t)
	kURL, dURL, sURL := awstest.Kinesis(t).URL, awstest.DynamoDB(t).URL, awstest.S3(t).URL
	stream, dlq := awstest.Name(t, "trades"), awstest.Name(t, "dlq")
	for _, s := range []string{stream, dlq} {
		if _, err := kc.CreateStream(ctx, &kin.CreateStreamInput{StreamName: aws.String(s), ShardCount: aws.Int32(2)}); err != nil {
			t.Fatal(err)
		}
	}
	var arn string
	awstest.Wait(t, 30*time.Second, "the streams to be active", func() bool {
		for _, s := range []string{dlq, stream} {
			out, err := kc.DescribeStreamSummary(ctx, &kin.DescribeStreamSummaryInput{StreamName: aws.String(s)})
			if err != nil || out.StreamDescriptionSummary.StreamStatus != ktypes.StreamStatusActive {
				return false
			}
			arn = aws.ToString(out.StreamDescriptionSummary.StreamARN)
		}
		return true
	})
	bucket := awstest.Name(t, "lake")
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}

	// 1. Twenty minutes of the simulated market, ending now, through the producer.
	start := time.Now().UTC().Truncate(time.Minute).Add(-21 * time.Minute)
	out := run(t, build(t, "adapters/producer", false), []string{"-stream", stream, "-dlq-stream", dlq, "-kinesis-endpoint", kURL,
		"-seed", "7", "-speed", "0", "-start", start.Format(time.RFC3339), "-duration", "20m"}, awsEnv())
	t.Logf("producer: %s", strings.TrimSpace(out))
	shards := awstest.ReadShards(t, kc, stream)
	last, records := map[string]string{}, 0
	for _, s := range shards {
		if len(s.Records) > 0 {
			last[s.Shard] = aws.ToString(s.Records[len(s.Records)-1].SequenceNumber)
		}
		records += len(s.Records)
	}
	if records < 1000 || len(last) != 2 {
		t.Fatalf("the producer put %d records on %d shards; want ≥ 1000 on both", records, len(last))
	}

	// 2. The consumer, until its state has every record of every shard; then SIGTERM.
	const app = "e2e-consumer"
	stateTable, alerts, aggregates := awstest.Name(t, "state"), awstest.Name(t, "alerts"), awstest.Name(t, "aggs")
	catalogDir := filepath.Join(t.TempDir(), "catalog")
	cmd := exec.Command(build(t, "adapters/consumer", false),
		"-stream", stream, "-app", app, "-create-tables", "-state-table", stateTable, "-state-bucket", bucket,
		"-leases-table", awstest.Name(t, "leases"), "-alerts-table", alerts, "-aggregates-table", aggregates,
		"-warehouse", "s3://"+bucket+"/lake", "-catalog-uri", filepath.Join(catalogDir, "catalog.db"),
		"-kinesis-endpoint", kURL, "-dynamodb-endpoint", dURL, "-s3-endpoint", sURL, "-checkpoint-every", "2s")
	cmd.Env = awsEnv()
	var logs syncBuffer
	cmd.Stderr = &logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		if t.Failed() {
			t.Logf("consumer stderr:\n%s", tail(logs.String(), 4000))
		}
	})
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	states := newStateStore(t, stateTable, bucket)
	awstest.Wait(t, 3*time.Minute, "the consumer to read every record", func() bool {
		for id, seq := range last {
			st, err := states.Load(ctx, app+"/"+id)
			if err != nil {
				t.Logf("state of %s: %v", id, err)
			}
			if err != nil || st == nil || st.Sequence != seq {
				return false
			}
		}
		return true
	})
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("consumer: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the consumer did not stop within a minute of SIGTERM")
	}

	store := newStore(t, alerts, aggregates)
	consumerAlerts := everyAlert(t, store)
	if len(consumerAlerts) == 0 {
		t.Fatal("the consumer stored no alert: the simulator's injected whales and bursts should give some")
	}
	lake, err := ctciceberg.Open(ctx, ctciceberg.Config{Dir: catalogDir, Props: iceberg.Properties{
		icebergio.S3EndpointURL: sURL, icebergio.S3Region: awstest.Region,
		icebergio.S3AccessKeyID: awstest.S3AccessKey, icebergio.S3SecretAccessKey: awstest.S3SecretKey,
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer lake.Close(ctx)
	lakeAlerts, err := lake.ScanAlerts(ctx, ctciceberg.AnomalyAlerts, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(alertIDs(consumerAlerts), alertIDs(lakeAlerts)); d != "" {
		t.Errorf("anomaly_alerts on S3 differ from the alerts in DynamoDB (-dynamodb +iceberg):\n%s", d)
	}
	trades := 0
	for b, err := range lake.ScanTrades(ctx, ctciceberg.ScanOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		trades += len(b)
	}
	if trades != records {
		t.Errorf("raw_trades on S3 has %d rows; the stream has %d records (all valid, none repeated)", trades, records)
	}

	// 3. The API Lambda answers GET /alerts from the consumer's store: every alert in the raw view
	// (its default view groups them into incidents).
	api := awstest.StartLambda(t, build(t, "adapters/lambda/api", true), awsEnv(
		"CTC_ALERTS_TABLE="+alerts, "CTC_AGGREGATES_TABLE="+aggregates, "CTC_DYNAMODB_ENDPOINT="+dURL)...)
	q := url.Values{"limit": {"200"}, "since": {start.Format(time.RFC3339)}, "view": {"raw"}}
	req := events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: "$default", RawPath: "/alerts", RawQueryString: q.Encode(),
		Headers: map[string]string{"accept": "application/json"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: "/alerts", Protocol: "HTTP/1.1", SourceIP: "127.0.0.1"},
		}}
	var resp events.APIGatewayV2HTTPResponse
	invoke(t, api, req, &resp)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /alerts: %d %s", resp.StatusCode, resp.Body)
	}
	var body struct {
		Alerts []ctc.Alert `json:"alerts"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
		t.Fatalf("GET /alerts body %q: %v", resp.Body, err)
	}
	want, err := store.QueryAlerts(ctx, ctc.AlertQuery{Limit: 200, Since: start})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(alertIDs(want), alertIDs(body.Alerts)); d != "" || len(body.Alerts) == 0 {
		t.Errorf("GET /alerts through the API Lambda differs from the store (%d alerts) (-store +api):\n%s", len(body.Alerts), d)
	}

	// 4. The same records through the stream Lambda, in random batches, one delivered twice.
	lAlerts, lAggs, lState := awstest.Name(t, "lalerts"), awstest.Name(t, "laggs"), awstest.Name(t, "lstate")
	if err := dynamodb.CreateTables(ctx, awstest.DynamoDBClient(t), dynamodb.Config{AlertsTable: lAlerts, AggregatesTable: lAggs}); err != nil {
		t.Fatal(err)
	}
	if err := shardrunner.CreateStateTable(ctx, awstest.DynamoDBClient(t), lState); err != nil {
		t.Fatal(err)
	}
	lDir := t.TempDir()
	sl := awstest.StartLambda(t, build(t, "adapters/lambda/stream", true), awsEnv(
		"CTC_ALERTS_TABLE="+lAlerts, "CTC_AGGREGATES_TABLE="+lAggs, "CTC_STATE_TABLE="+lState,
		"CTC_CATALOG=sql", "CTC_WAREHOUSE="+lDir, "CTC_STREAM="+stream, "CTC_RAW_BUCKET="+bucket,
		"CTC_DYNAMODB_ENDPOINT="+dURL, "CTC_KINESIS_ENDPOINT="+kURL, "CTC_S3_ENDPOINT="+sURL)...)
	rng := rand.New(rand.NewPCG(7, 11))
	for _, s := range shards {
		for i := 0; i < len(s.Records); {
			n := min(len(s.Records)-i, 1+rng.IntN(400))
			ev := awstest.KinesisEvent(arn, s.Shard, s.Records[i:i+n])
			for range 1 + rng.IntN(2) { // sometimes twice: a retried batch
				var r events.KinesisEventResponse
				invoke(t, sl, ev, &r)
				if len(r.BatchItemFailures) > 0 {
					t.Fatalf("stream Lambda reported failures: %+v", r.BatchItemFailures)
				}
			}
			i += n
		}
	}
	lambdaAlerts := everyAlert(t, newStore(t, lAlerts, lAggs))
	if d := cmp.Diff(consumerAlerts, lambdaAlerts); d != "" {
		t.Errorf("the stream Lambda's alerts differ from the consumer's (-consumer +lambda):\n%s", d)
	}
	t.Logf("%d records, %d alerts; the API returned %d", records, len(consumerAlerts), len(body.Alerts))
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

func newStateStore(t *testing.T, table, bucket string) *shardrunner.DynamoStateStore {
	t.Helper()
	s, err := shardrunner.NewDynamoStateStore(shardrunner.DynamoConfig{Client: awstest.DynamoDBClient(t), Table: table,
		S3: awstest.S3Client(t), Bucket: bucket})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func invoke(t *testing.T, l *awstest.Lambda, event, resp any) {
	t.Helper()
	b, err := json.Marshal(event)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := l.Invoke(ctx, b)
	if err != nil {
		t.Fatalf("invoke: %v", err)
	}
	if err := json.Unmarshal(out, resp); err != nil {
		t.Fatalf("response %s: %v", out, err)
	}
}
