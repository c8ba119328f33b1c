package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/awsenv"
	"github.com/coattailcapital/ctc/awsenv/lakeenv"
	"github.com/coattailcapital/ctc/examples/customdetector/imbalance"
	"github.com/coattailcapital/ctc/internal/awstest"
	"github.com/coattailcapital/ctc/shardrunner"
	"github.com/coattailcapital/ctc/sink/dynamodb"
	"github.com/coattailcapital/ctc/sink/iceberg"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

// pressure is a market with buy pressure: four minutes of BTC-USDT on Binance, 150 trades a
// minute of which 19 in 20 are buys, two hours before now (so that the alerts are live in the hot
// store), and a quieter ETH-USDT beside it.
func pressure() []ctc.Trade {
	base := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Minute)
	var out []ctc.Trade
	for m := range 4 {
		for i := range 150 {
			ts := base.Add(time.Duration(m)*time.Minute + time.Duration(i)*390*time.Millisecond)
			side := ctc.Buy
			if i%20 == 0 {
				side = ctc.Sell
			}
			for _, s := range []struct {
				sym   string
				price float64
			}{{"BTC-USDT", 60_000}, {"ETH-USDT", 3_000}} {
				if s.sym == "ETH-USDT" && i%3 != 0 {
					continue
				}
				q := 0.01 + float64(i%7)*0.001
				out = append(out, ctc.Trade{
					EventID: ctc.NewEventIDInt(ctc.Binance, s.sym, int64(m*1000+i)), Exchange: ctc.Binance, Symbol: s.sym,
					Price: s.price, Quantity: q, QuoteVolume: s.price * q, Side: side, Timestamp: ts,
					IngestionTimestamp: ts.Add(50 * time.Millisecond),
				})
			}
		}
	}
	return out
}

// The customdetector stream Lambda, built and run under the Runtime Interface Emulator with
// records read from kinesalite, stores the imbalance detector's alerts in DynamoDB and in the
// Iceberg anomaly_alerts table — exactly the alerts one engine computes over the records.
func TestCustomDetectorLambda(t *testing.T) {
	ctx := context.Background()
	bootstrap := awstest.BuildBootstrap(t, ".")

	// The trades on a stream of one shard, read back as the event-source mapping reads them.
	trades := pressure()
	arn, shards := awstest.PutAndRead(t, awstest.KinesisClient(t), trades, 1)
	if len(shards) != 1 || len(shards[0].Records) != len(trades) {
		t.Fatalf("read back %d shards", len(shards))
	}

	// What one engine computes over the records: the oracle.
	p, err := newProcessor()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range shards[0].Records {
		p.Process(&ctc.Record{Data: r.Data})
	}
	// No Advance(EndOfTime): the Lambda's event time ends with its records, leaving the last
	// minute's window open, and so does the oracle's.
	var b ctc.Batch
	p.Take(&b)
	var want []uuid.UUID
	for _, a := range b.Output.Alerts {
		if a.AlertType == imbalance.BuyPressure {
			want = append(want, a.AlertID)
		}
	}
	sortIDs(want)
	if len(want) < 2 {
		t.Fatalf("the market gives %d buy_pressure alerts; want at least 2", len(want))
	}

	ddb := awstest.DynamoDBClient(t)
	tables := dynamodb.Config{AlertsTable: awstest.Name(t, "alerts"), AggregatesTable: awstest.Name(t, "aggs")}
	if err := dynamodb.CreateTables(ctx, ddb, tables); err != nil {
		t.Fatal(err)
	}
	state := awstest.Name(t, "state")
	if err := shardrunner.CreateStateTable(ctx, ddb, state); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{
		"AWS_REGION": awstest.Region, "AWS_ACCESS_KEY_ID": awstest.S3AccessKey, "AWS_SECRET_ACCESS_KEY": awstest.S3SecretKey,
		"AWS_EC2_METADATA_DISABLED": "true",
		"CTC_DYNAMODB_ENDPOINT":     awstest.DynamoDB(t).URL, "CTC_KINESIS_ENDPOINT": awstest.Kinesis(t).URL,
		"CTC_ALERTS_TABLE": tables.AlertsTable, "CTC_AGGREGATES_TABLE": tables.AggregatesTable,
		"CTC_STATE_TABLE": state, "CTC_CATALOG": "sql", "CTC_WAREHOUSE": t.TempDir(),
	}
	var env []string
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	l := awstest.StartLambda(t, bootstrap, env...)

	// Two invocations, as the mapping would split the shard.
	recs := shards[0].Records
	for _, part := range [][]types.Record{recs[:len(recs)/2], recs[len(recs)/2:]} {
		ev, err := json.Marshal(awstest.KinesisEvent(arn, shards[0].Shard, part))
		if err != nil {
			t.Fatal(err)
		}
		ictx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		out, err := l.Invoke(ictx, ev)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		var resp events.KinesisEventResponse
		if err := json.Unmarshal(out, &resp); err != nil || len(resp.BatchItemFailures) > 0 {
			t.Fatalf("response %s: %v", out, err)
		}
	}

	store, err := dynamodb.New(ddb, tables)
	if err != nil {
		t.Fatal(err)
	}
	hot, err := store.QueryAlerts(ctx, ctc.AlertQuery{Type: imbalance.BuyPressure, Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, alertIDs(hot)); d != "" {
		t.Errorf("buy_pressure alerts in DynamoDB (-want +got):\n%s", d)
	}

	e := awsenv.FromEnv(func(k string) string { return vars[k] })
	t.Setenv("AWS_ACCESS_KEY_ID", awstest.S3AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", awstest.S3SecretKey)
	cat, closeCat, err := lakeenv.OpenCatalog(ctx, e, aws.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer closeCat()
	lake, err := iceberg.Open(ctx, lakeenv.LakeConfig(e, cat))
	if err != nil {
		t.Fatal(err)
	}
	defer lake.Close(ctx)
	rows, err := lake.ScanAlerts(ctx, iceberg.AnomalyAlerts, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	rows = slices.DeleteFunc(rows, func(a ctc.Alert) bool { return a.AlertType != imbalance.BuyPressure })
	if d := cmp.Diff(want, alertIDs(rows)); d != "" {
		t.Errorf("buy_pressure rows of anomaly_alerts (-want +got):\n%s", d)
	}
	t.Logf("%d trades, %d buy_pressure alerts in DynamoDB and Iceberg", len(trades), len(want))
}

func alertIDs(as []ctc.Alert) []uuid.UUID {
	ids := make([]uuid.UUID, len(as))
	for i, a := range as {
		ids[i] = a.AlertID
	}
	sortIDs(ids)
	return ids
}

func sortIDs(ids []uuid.UUID) {
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
}
