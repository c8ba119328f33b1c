package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
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
	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	awskinesis "github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/internal/awstest"
	"github.com/coattailcapital/ctc/shardrunner"
	ctciceberg "github.com/coattailcapital/ctc/sink/iceberg"
	"github.com/coattailcapital/ctc/source/sim"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds the command once per test binary.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ctc-consumer-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "consumer")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// world is a stream with trades on it, and the local servers' endpoints.
type world struct {
	t                 *testing.T
	kc                *awskinesis.Client
	db                *ddb.Client
	stream            string
	kinesis, dynamo   string
	s3                string
	last              map[string]string // the last sequence number put on each shard
	trades            []ctc.Trade
	mu                sync.Mutex
	stateTable, lease string
	stateBucket       string
}

func newWorld(t *testing.T, shards int32) *world {
	t.Helper()
	w := &world{t: t, kc: awstest.KinesisClient(t), db: awstest.DynamoDBClient(t), last: map[string]string{}}
	w.kinesis, w.dynamo, w.s3 = awstest.Kinesis(t).URL, awstest.DynamoDB(t).URL, awstest.S3(t).URL
	w.stream = awstest.Name(t, "trades")
	ctx := context.Background()
	if _, err := w.kc.CreateStream(ctx, &awskinesis.CreateStreamInput{StreamName: aws.String(w.stream), ShardCount: aws.Int32(shards)}); err != nil {
		t.Fatal(err)
	}
	awstest.Wait(t, 30*time.Second, "the stream to be active", func() bool {
		out, err := w.kc.DescribeStreamSummary(ctx, &awskinesis.DescribeStreamSummaryInput{StreamName: aws.String(w.stream)})
		return err == nil && out.StreamDescriptionSummary.StreamStatus == ktypes.StreamStatusActive
	})
	w.stateTable, w.lease = awstest.Name(t, "state"), awstest.Name(t, "leases")
	// Shard states outgrow a DynamoDB item quickly (an hour of event ids for dedup, a checkpoint's
	// output): they overflow to S3.
	w.stateBucket = awstest.Name(t, "states")
	if _, err := awstest.S3Client(t).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(w.stateBucket)}); err != nil {
		t.Fatal(err)
	}
	return w
}

// simTrades are the simulator's trades of the last minutes, so that the alert store (which hides
// alerts older than a day) shows their alerts.
func simTrades(t *testing.T, minutes int) []ctc.Trade {
	t.Helper()
	src, err := sim.New(sim.Config{Seed: 3, Start: time.Now().UTC().Truncate(time.Minute).Add(-time.Duration(minutes+1) * time.Minute),
		Duration: time.Duration(minutes) * time.Minute, Rate: 1, InjectEvery: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var out []ctc.Trade
	var rec ctc.Record
	for {
		rec.Reset()
		if err := src.Next(context.Background(), &rec); errors.Is(err, ctc.ErrEndOfInput) {
			return out
		} else if err != nil {
			t.Fatal(err)
		}
		out = append(out, rec.Trade)
	}
}

func (w *world) put(trades []ctc.Trade) {
	w.t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.trades = append(w.trades, trades...)
	for len(trades) > 0 {
		n := min(500, len(trades))
		var entries []ktypes.PutRecordsRequestEntry
		for _, tr := range trades[:n] {
			entries = append(entries, ktypes.PutRecordsRequestEntry{Data: tr.AppendJSON(nil), PartitionKey: aws.String(shardrunner.Instrument(tr.Symbol))})
		}
		out, err := w.kc.PutRecords(context.Background(), &awskinesis.PutRecordsInput{StreamName: aws.String(w.stream), Records: entries})
		if err != nil {
			w.t.Fatal(err)
		}
		for _, r := range out.Records {
			if r.ErrorCode != nil {
				w.t.Fatalf("put failed: %s", aws.ToString(r.ErrorMessage))
			}
			w.last[aws.ToString(r.ShardId)] = aws.ToString(r.SequenceNumber)
		}
		trades = trades[n:]
	}
}

// proc is one consumer process.
type proc struct {
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	exited         chan struct{} // closed when the process has exited, with err set
	err            error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
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

// app is one consumer application: its tables, its warehouse.
type app struct {
	name, warehouse, alerts, aggregates string
	extra                               []string
}

func (w *world) newApp(name string) app {
	return app{name: name, warehouse: filepath.Join(w.t.TempDir(), "lake"),
		alerts: awstest.Name(w.t, "alerts"), aggregates: awstest.Name(w.t, "aggregates")}
}

func (w *world) start(a app, owner string) *proc {
	w.t.Helper()
	args := append([]string{
		"-stream", w.stream, "-app", a.name, "-owner", owner, "-create-tables",
		"-state-table", w.stateTable, "-state-bucket", w.stateBucket, "-leases-table", w.lease,
		"-alerts-table", a.alerts, "-aggregates-table", a.aggregates,
		"-warehouse", a.warehouse,
		"-kinesis-endpoint", w.kinesis, "-dynamodb-endpoint", w.dynamo, "-s3-endpoint", w.s3,
		"-checkpoint-every", "300ms", "-lease-duration", "1500ms", "-shard-sync", "500ms", "-grace", "20s",
	}, a.extra...)
	cmd := exec.Command(binary(w.t), args...)
	cmd.Env = append(os.Environ(), "AWS_REGION="+awstest.Region, "AWS_ACCESS_KEY_ID="+awstest.S3AccessKey,
		"AWS_SECRET_ACCESS_KEY="+awstest.S3SecretKey, "AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	p := &proc{cmd: cmd, stdout: &syncBuffer{}, stderr: &syncBuffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	go func() { p.err = cmd.Wait(); close(p.exited) }()
	w.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.exited
		if w.t.Failed() {
			w.t.Logf("%s stderr:\n%s", owner, p.stderr.String())
		}
	})
	return p
}

// stop sends SIGTERM and waits for a clean exit.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		if p.err != nil {
			t.Fatalf("consumer exited with %v:\n%s", p.err, p.stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("consumer did not stop within 60s of SIGTERM:\n%s", p.stderr.String())
	}
}

// owners counts the leases each process holds.
func (w *world) owners(appName string) map[string]int {
	lt, err := shardrunner.NewLeaseTable(w.db, w.lease)
	if err != nil {
		w.t.Fatal(err)
	}
	ls, err := lt.List(context.Background(), appName)
	if err != nil {
		return nil // the table may not exist yet
	}
	out := map[string]int{}
	for _, l := range ls {
		if l.Owner != "" && !l.Finished {
			out[l.Owner]++
		}
	}
	return out
}

// caughtUp reports whether every shard's saved state of appName has reached the last record put.
func (w *world) caughtUp(appName string) bool {
	out, err := w.db.Scan(context.Background(), &ddb.ScanInput{TableName: aws.String(w.stateTable), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return false
	}
	seq := map[string]string{}
	for _, item := range out.Items {
		k, _ := item["shard_key"].(*types.AttributeValueMemberS)
		s, _ := item["sequence"].(*types.AttributeValueMemberS)
		if k != nil && s != nil {
			seq[k.Value] = s.Value
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for shard, last := range w.last {
		if seq[appName+"/"+shard] != last {
			return false
		}
	}
	return true
}

// result is what an application committed: the lake's rows and the alert store's alert ids.
type result struct {
	Trades        []string
	Alerts        []ctc.Alert
	Rows          map[string]string // total-records of each table
	StoreAlertIDs []string
}

func (w *world) result(a app, props iceberg.Properties) result {
	w.t.Helper()
	ctx := context.Background()
	cfg := ctciceberg.Config{Dir: a.warehouse, Props: props}
	if strings.HasPrefix(a.warehouse, "s3://") {
		cfg.Dir = filepath.Dir(a.extra[slices.Index(a.extra, "-catalog-uri")+1])
	}
	lake, err := ctciceberg.Open(ctx, cfg)
	if err != nil {
		w.t.Fatal(err)
	}
	defer lake.Close(ctx)
	var r result
	for trades, err := range lake.ScanTrades(ctx, ctciceberg.ScanOptions{}) {
		if err != nil {
			w.t.Fatal(err)
		}
		for _, tr := range trades {
			r.Trades = append(r.Trades, tr.EventID.String())
		}
	}
	slices.Sort(r.Trades)
	if r.Alerts, err = lake.ScanAlerts(ctx, ctciceberg.AnomalyAlerts, time.Time{}, time.Time{}); err != nil {
		w.t.Fatal(err)
	}
	r.Rows = map[string]string{}
	for _, name := range []string{ctciceberg.VolumeAggregates, ctciceberg.WhaleTrades, ctciceberg.ExchangeSpreads} {
		tbl, err := lake.Table(ctx, name)
		if err != nil {
			w.t.Fatal(err)
		}
		if s := tbl.CurrentSnapshot(); s != nil && s.Summary != nil {
			r.Rows[name] = s.Summary.Properties["total-records"]
		}
	}
	in := &ddb.ScanInput{TableName: aws.String(a.alerts)}
	for {
		out, err := w.db.Scan(ctx, in)
		if err != nil {
			w.t.Fatal(err)
		}
		for _, item := range out.Items {
			r.StoreAlertIDs = append(r.StoreAlertIDs, item["alert_id"].(*types.AttributeValueMemberS).Value)
		}
		if len(out.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	slices.Sort(r.StoreAlertIDs)
	return r
}

func (r result) check(t *testing.T, want []ctc.Trade, what string) {
	t.Helper()
	ids := make([]string, len(want))
	for i, tr := range want {
		ids[i] = tr.EventID.String()
	}
	slices.Sort(ids)
	if d := cmp.Diff(ids, r.Trades); d != "" {
		t.Errorf("%s: raw_trades is not every trade once (-want +got):\n%s", what, d)
	}
	var alertIDs []string
	for _, a := range r.Alerts {
		alertIDs = append(alertIDs, a.AlertID.String())
	}
	slices.Sort(alertIDs)
	if len(alertIDs) == 0 {
		t.Errorf("%s: no alert", what)
	}
	if d := cmp.Diff(alertIDs, r.StoreAlertIDs); d != "" {
		t.Errorf("%s: the alert store differs from anomaly_alerts (-lake +store):\n%s", what, d)
	}
	if d := cmp.Diff(slices.Compact(slices.Clone(alertIDs)), alertIDs); d != "" {
		t.Errorf("%s: an alert is in anomaly_alerts twice:\n%s", what, d)
	}
}

// Two processes split the shards through the lease table; one is killed (SIGKILL) and the other
// takes its shards over. The tables and the alert store end up exactly as a single uninterrupted
// consumer leaves them over the same records.
func TestTwoProcessesAndAKill(t *testing.T) {
	w := newWorld(t, 4)
	trades := simTrades(t, 30)
	third := len(trades) / 3
	w.put(trades[:third])

	shared := w.newApp("shared")
	a := w.start(shared, "a")
	awstest.Wait(t, 60*time.Second, "a to hold every lease", func() bool { return w.owners(shared.name)["a"] == 4 })
	b := w.start(shared, "b")
	awstest.Wait(t, 60*time.Second, "a and b to hold two leases each", func() bool {
		o := w.owners(shared.name)
		return o["a"] == 2 && o["b"] == 2
	})
	w.put(trades[third : 2*third])
	// Kill a while it reads: what it processed since its last checkpoint is lost, and b redoes it.
	_ = a.cmd.Process.Signal(syscall.SIGKILL)
	<-a.exited
	awstest.Wait(t, 60*time.Second, "b to take a's shards", func() bool { return w.owners(shared.name)["b"] == 4 })
	w.put(trades[2*third:])
	awstest.Wait(t, 90*time.Second, "b to read every record", func() bool { return w.caughtUp(shared.name) })
	b.stop(t)
	if !strings.Contains(b.stdout.String(), `"CoatTail/Quality"`) || !strings.Contains(b.stdout.String(), `"AnomalyCount"`) {
		t.Errorf("no EMF quality and alert metrics on b's stdout:\n%.2000s", b.stdout.String())
	}

	ref := w.newApp("reference")
	r := w.start(ref, "ref")
	awstest.Wait(t, 90*time.Second, "the reference consumer to read every record", func() bool { return w.caughtUp(ref.name) })
	r.stop(t)

	got, want := w.result(shared, nil), w.result(ref, nil)
	want.check(t, trades, "reference")
	got.check(t, trades, "after the kill")
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("two processes and a kill differ from one uninterrupted consumer (-want +got):\n%s", d)
	}
}

// The Iceberg tables on S3 (s3rver) with the SQL catalog in a local file.
func TestIcebergOnS3(t *testing.T) {
	w := newWorld(t, 1)
	trades := simTrades(t, 12)
	w.put(trades)
	ctx := context.Background()
	bucket := awstest.Name(t, "lake")
	if _, err := awstest.S3Client(t).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	a := w.newApp("s3app")
	a.warehouse = "s3://" + bucket + "/lake"
	a.extra = []string{"-catalog-uri", filepath.Join(t.TempDir(), "catalog.db"), "-emf=false"}
	p := w.start(a, "solo")
	awstest.Wait(t, 90*time.Second, "the consumer to read every record", func() bool { return w.caughtUp(a.name) })
	p.stop(t)
	if strings.Contains(p.stdout.String(), "_aws") {
		t.Error("-emf=false still wrote metrics")
	}
	res := w.result(a, iceberg.Properties{
		icebergio.S3EndpointURL: w.s3, icebergio.S3Region: awstest.Region,
		icebergio.S3AccessKeyID: awstest.S3AccessKey, icebergio.S3SecretAccessKey: awstest.S3SecretKey,
	})
	res.check(t, trades, "s3")
	objs, err := awstest.S3Client(t).ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String("lake/")})
	if err != nil {
		t.Fatal(err)
	}
	if len(objs.Contents) == 0 {
		t.Error("no object under s3://" + bucket + "/lake")
	}
}

func TestFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		env  map[string]string
		want string // an error substring, or "" for success
	}{
		{[]string{"-catalog", "hive"}, nil, "-catalog must be sql or glue"},
		{[]string{"-catalog", "glue", "-warehouse", "lake"}, nil, "needs an s3:// -warehouse"},
		{[]string{"-start", "middle"}, nil, "-start must be"},
		{[]string{"-checkpoint-every", "0s"}, nil, "must be > 0"},
		{[]string{"extra"}, nil, "unexpected argument"},
		{nil, map[string]string{"CTC_CATALOG": "nope"}, "-catalog must be sql or glue"},
		{[]string{"-catalog", "sql"}, map[string]string{"CTC_CATALOG": "nope"}, ""}, // the flag wins
		{nil, map[string]string{"CTC_STREAM": "s", "CTC_APP": "x", "CTC_START": "latest"}, ""},
	} {
		var stderr bytes.Buffer
		o, err := parse(c.args, func(k string) string { return c.env[k] }, &stderr)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%v %v: %v", c.args, c.env, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%v %v: error %v, want one containing %q", c.args, c.env, err, c.want)
		}
		if c.env["CTC_STREAM"] == "s" && (o.env.Stream != "s" || o.env.App != "x" || o.env.Start != "latest") {
			t.Errorf("environment fallbacks not used: %+v", o)
		}
	}
	if code := run(context.Background(), []string{"-h"}, &bytes.Buffer{}, &bytes.Buffer{}); code != exitOK {
		t.Errorf("-h exits %d", code)
	}
	if code := run(context.Background(), []string{"-start", "x"}, &bytes.Buffer{}, &bytes.Buffer{}); code != exitUsage {
		t.Errorf("a bad flag exits %d, want %d", code, exitUsage)
	}
}
