package lambda_test

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/internal/awstest"
	"github.com/coattailcapital/ctc/shardrunner"
	"github.com/coattailcapital/ctc/sink/dynamodb"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

// bootstrap builds ./<fn> as a Lambda bootstrap for this machine (once per test binary).
func bootstrap(t testing.TB, fn string) string { return awstest.BuildBootstrap(t, fn) }

// awsEnv is the environment of a function using the emulators.
func awsEnv(t testing.TB, extra ...string) []string {
	env := []string{
		"AWS_REGION=" + awstest.Region,
		"AWS_ACCESS_KEY_ID=" + awstest.S3AccessKey, "AWS_SECRET_ACCESS_KEY=" + awstest.S3SecretKey,
		"AWS_EC2_METADATA_DISABLED=true",
		"CTC_DYNAMODB_ENDPOINT=" + awstest.DynamoDB(t).URL,
		"CTC_KINESIS_ENDPOINT=" + awstest.Kinesis(t).URL,
	}
	return append(env, extra...)
}

func invoke(t testing.TB, l *awstest.Lambda, event any, resp any) {
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

// tables creates the DynamoDB alert and aggregate tables and returns their store.
func tables(t testing.TB) (*dynamodb.Store, dynamodb.Config) {
	t.Helper()
	c := awstest.DynamoDBClient(t)
	cfg := dynamodb.Config{AlertsTable: awstest.Name(t, "alerts"), AggregatesTable: awstest.Name(t, "aggs")}
	if err := dynamodb.CreateTables(context.Background(), c, cfg); err != nil {
		t.Fatal(err)
	}
	s, err := dynamodb.New(c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, cfg
}

func stateTable(t testing.TB) string {
	t.Helper()
	name := awstest.Name(t, "state")
	if err := shardrunner.CreateStateTable(context.Background(), awstest.DynamoDBClient(t), name); err != nil {
		t.Fatal(err)
	}
	return name
}

// shardRecords is what GetRecords returned for one shard, as the event-source mapping sees it.
type shardRecords struct {
	shard string
	recs  []types.Record
}

// putAndRead puts trades on a new stream of n shards (partition key: the instrument, as the
// producer writes them) and reads every shard back.
func putAndRead(t testing.TB, trades []ctc.Trade, n int32) (arn string, shards []shardRecords) {
	t.Helper()
	arn, read := awstest.PutAndRead(t, awstest.KinesisClient(t), trades, n)
	for _, sr := range read {
		shards = append(shards, shardRecords{shard: sr.Shard, recs: sr.Records})
	}
	return arn, shards
}

// kinesisEvent wraps records of one shard as the event-source mapping does.
func kinesisEvent(arn, shard string, recs []types.Record) events.KinesisEvent {
	return awstest.KinesisEvent(arn, shard, recs)
}

// marketTrades are n trades, three seconds apart, ending an hour before now (so that their alerts
// are live in the hot store): BTC on Binance and Coinbase with a spread of about 0.8 %, ETH on
// Binance, and a whale every 37th trade.
func marketTrades(n int) []ctc.Trade {
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Minute).Add(-time.Duration(n) * 3 * time.Second)
	syms := []struct {
		ex, sym string
		price   float64
	}{{ctc.Binance, "BTC-USDT", 50_000}, {ctc.Coinbase, "BTC-USD", 50_400}, {ctc.Binance, "ETH-USDT", 3_000}}
	out := make([]ctc.Trade, n)
	for i := range out {
		s := syms[i%len(syms)]
		q := 0.5 + float64(i%5)*0.1
		if i%37 == 0 {
			q = 40
		}
		side := ctc.Buy
		if i%2 == 1 {
			side = ctc.Sell
		}
		ts := base.Add(time.Duration(i) * 3 * time.Second)
		out[i] = ctc.Trade{EventID: ctc.NewEventIDInt(s.ex, s.sym, int64(i)), Exchange: s.ex, Symbol: s.sym,
			Price: s.price + float64(i%7), Quantity: q, Side: side, Timestamp: ts, IngestionTimestamp: ts.Add(time.Second)}
		out[i].QuoteVolume = out[i].Price * out[i].Quantity
	}
	return out
}
