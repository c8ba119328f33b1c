package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	awskinesis "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/google/go-cmp/cmp"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/internal/awstest"
	"github.com/coattailcapital/ctc/sink/kinesis"
	"github.com/coattailcapital/ctc/source/binance/binancetest"
	"github.com/coattailcapital/ctc/source/coinbase/coinbasetest"
	"github.com/coattailcapital/ctc/source/sim"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

// kinesalite starts the server, points the SDK's default chain at fixed credentials, and creates
// a trade stream of shards shards and a DLQ stream. It returns the flags that name them.
func kinesalite(t *testing.T, shards int32) (c *awskinesis.Client, stream, dlq string, flags []string) {
	t.Helper()
	ep := awstest.Kinesis(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "ctc-test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "ctc-test")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	c = awstest.KinesisClient(t)
	stream, dlq = awstest.Name(t, "trades"), awstest.Name(t, "dlq")
	for _, s := range []struct {
		name   string
		shards int32
	}{{stream, shards}, {dlq, 1}} {
		if _, err := c.CreateStream(context.Background(), &awskinesis.CreateStreamInput{StreamName: &s.name, ShardCount: &s.shards}); err != nil {
			t.Fatal(err)
		}
		awstest.Wait(t, 10*time.Second, "stream "+s.name, func() bool {
			out, err := c.DescribeStreamSummary(context.Background(), &awskinesis.DescribeStreamSummaryInput{StreamName: &s.name})
			return err == nil && out.StreamDescriptionSummary.StreamStatus == types.StreamStatusActive
		})
	}
	return c, stream, dlq, []string{"-stream", stream, "-dlq-stream", dlq, "-kinesis-endpoint", ep.URL, "-region", awstest.Region}
}

// readAll returns the data of every record of the stream, shard by shard, each in order.
func readAll(t *testing.T, c *awskinesis.Client, name string) (data [][]byte, keys []string) {
	t.Helper()
	ctx := context.Background()
	shards, err := c.ListShards(ctx, &awskinesis.ListShardsInput{StreamName: &name})
	if err != nil {
		t.Fatal(err)
	}
	for _, sh := range shards.Shards {
		it, err := c.GetShardIterator(ctx, &awskinesis.GetShardIteratorInput{StreamName: &name, ShardId: sh.ShardId,
			ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
		if err != nil {
			t.Fatal(err)
		}
		for iter := it.ShardIterator; iter != nil; {
			res, err := c.GetRecords(ctx, &awskinesis.GetRecordsInput{ShardIterator: iter})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range res.Records {
				data = append(data, r.Data)
				keys = append(keys, *r.PartitionKey)
			}
			if len(res.Records) == 0 {
				break
			}
			iter = res.NextShardIterator
		}
	}
	return data, keys
}

func trades(t *testing.T, data [][]byte) []ctc.Trade {
	t.Helper()
	out := make([]ctc.Trade, len(data))
	for i, d := range data {
		if err := json.Unmarshal(d, &out[i]); err != nil {
			t.Fatalf("record %d is not a trade: %v: %s", i, err, d)
		}
	}
	return out
}

// ids groups event ids by partition key, in order.
func ids(ts []ctc.Trade) map[string][]string {
	m := map[string][]string{}
	for _, t := range ts {
		k := kinesis.PartitionKey(t.Symbol)
		m[k] = append(m[k], t.EventID.String())
	}
	return m
}

// The simulator's trades all arrive, each instrument in order, and equal the simulator's own.
func TestSimulatorToKinesis(t *testing.T) {
	c, stream, dlq, flags := kinesalite(t, 3)
	const n = 1500
	start := "2024-01-15T10:00:00Z"
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append(flags, "-sim", "-speed", "0", "-start", start, "-max-trades", "1500", "-seed", "7"), &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
	}
	// The same simulation, read directly.
	s, err := sim.New(sim.Config{Seed: 7, Start: time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	var want []ctc.Trade
	var rec ctc.Record
	for range n {
		rec.Reset()
		if err := s.Next(context.Background(), &rec); err != nil {
			t.Fatal(err)
		}
		want = append(want, rec.Trade)
	}
	data, keys := readAll(t, c, stream)
	got := trades(t, data)
	if len(got) != n {
		t.Fatalf("stream holds %d trades, want %d; stdout: %s", len(got), n, stdout.String())
	}
	for i, k := range keys {
		if k != kinesis.PartitionKey(got[i].Symbol) {
			t.Fatalf("trade of %s has key %s", got[i].Symbol, k)
		}
	}
	if d := cmp.Diff(ids(want), ids(got)); d != "" {
		t.Errorf("per-instrument order (-simulator +stream):\n%s", d)
	}
	byID := map[string]ctc.Trade{}
	for _, tr := range got {
		byID[tr.EventID.String()] = tr
	}
	for _, w := range want {
		g := byID[w.EventID.String()]
		if g.Price != w.Price || g.Quantity != w.Quantity || g.Side != w.Side || !g.Timestamp.Equal(w.Timestamp) || g.Symbol != w.Symbol {
			t.Fatalf("trade %s differs:\n got %v\nwant %v", w.EventID, &g, &w)
		}
	}
	if dl, _ := readAll(t, c, dlq); len(dl) != 0 {
		t.Errorf("DLQ holds %d records, want none", len(dl))
	}
	if !strings.Contains(stdout.String(), "1500 records, 1500 sent, 0 dead-lettered") {
		t.Errorf("summary: %s", stdout.String())
	}
}

// Records that fail quality land on the DLQ stream with their reason and position; duplicates are
// dropped; valid trades arrive.
func TestReplayDeadLetters(t *testing.T) {
	c, stream, dlq, flags := kinesalite(t, 1)
	lines := []string{
		`{"event_id":"9f1c7a52-3f3e-5b8e-9a8e-1d2c3b4a5f60","exchange":"binance","symbol":"BTC-USDT","price":42000.5,"quantity":0.5,"quote_volume":21000.25,"side":"buy","timestamp":"2024-01-15T10:00:00.000Z"}`,
		`{"event_id":`,
		`{"event_id":"9f1c7a52-3f3e-5b8e-9a8e-1d2c3b4a5f61","exchange":"coinbase","symbol":"BTC-USD","price":-1,"quantity":1,"side":"sell","timestamp":"2024-01-15T10:00:01.000Z"}`,
		`{"event_id":"9f1c7a52-3f3e-5b8e-9a8e-1d2c3b4a5f60","exchange":"binance","symbol":"BTC-USDT","price":42000.5,"quantity":0.5,"quote_volume":21000.25,"side":"buy","timestamp":"2024-01-15T10:00:00.000Z"}`,
		`{"event_id":"9f1c7a52-3f3e-5b8e-9a8e-1d2c3b4a5f62","exchange":"coinbase","symbol":"ETH-USD","price":2500,"quantity":2,"side":"sell","timestamp":"2024-01-15T10:00:02.000Z"}`,
	}
	file := filepath.Join(t.TempDir(), "trades.ndjson")
	if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), append(flags, "-replay", file), &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
	}
	data, _ := readAll(t, c, stream)
	got := trades(t, data)
	if len(got) != 2 || got[0].Symbol != "BTC-USDT" || got[1].Symbol != "ETH-USD" {
		t.Errorf("stream = %v, want the BTC-USDT and ETH-USD trades", got)
	}
	dl, _ := readAll(t, c, dlq)
	var env []map[string]any
	for _, d := range dl {
		var m map[string]any
		if err := json.Unmarshal(d, &m); err != nil {
			t.Fatal(err)
		}
		env = append(env, m)
	}
	if len(env) != 2 {
		t.Fatalf("DLQ holds %v, want 2 envelopes", env)
	}
	if env[0]["reason"] != "malformed" || env[0]["data"] != `{"event_id":` || env[0]["partition"] != "trades.ndjson" || env[0]["offset"] != float64(2) || env[0]["stream"] != stream {
		t.Errorf("malformed envelope = %v", env[0])
	}
	if env[1]["reason"] != "invalid" || !strings.Contains(env[1]["error_message"].(string), "price") || env[1]["offset"] != float64(3) {
		t.Errorf("invalid envelope = %v", env[1])
	}
	if want := "5 records, 2 sent, 2 dead-lettered (2 failed quality), 1 duplicates dropped, 0 lost"; !strings.Contains(stdout.String(), want) {
		t.Errorf("summary %q lacks %q", stdout.String(), want)
	}
}

// -live reads the exchanges (here local servers that speak their protocols) until Ctrl-C.
func TestLiveToKinesis(t *testing.T) {
	c, stream, _, flags := kinesalite(t, 2)
	bn := binancetest.New(t)
	cb := coinbasetest.New("BTC-USD")
	defer cb.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append(flags, "-live", "-symbols", "btc", "-binance-ws", bn.WSURL, "-binance-rest", bn.URL,
			"-coinbase-ws", cb.URL, "-coinbase-rest", cb.RESTURL), &stdout, &stderr)
	}()
	if !bn.WaitConnects(1, "btcusdt@aggTrade", 10*time.Second) || !cb.WaitSubscribed(1, 10*time.Second) {
		cancel()
		<-done
		t.Fatalf("the live sources did not subscribe; stderr:\n%s", stderr.String())
	}
	bn.Publish("BTCUSDT", 5)
	for range 4 {
		cb.Match("BTC-USD")
	}
	// 5 Binance trades; Coinbase: the last_match sent on subscribing, then 4.
	var got []ctc.Trade
	awstest.Wait(t, 15*time.Second, "10 trades on the stream", func() bool {
		data, _ := readAll(t, c, stream)
		got = trades(t, data)
		return len(got) >= 10
	})
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d after Ctrl-C; stderr:\n%s", code, stderr.String())
	}
	data, keys := readAll(t, c, stream)
	got = trades(t, data)
	count := map[string]int{}
	for i, tr := range got {
		count[tr.Exchange]++
		if keys[i] != "BTC" {
			t.Errorf("trade of %s has key %s, want BTC", tr.Symbol, keys[i])
		}
	}
	if count[ctc.Binance] != 5 || count[ctc.Coinbase] != 5 {
		t.Errorf("trades by exchange %v, want 5 and 5", count)
	}
}

func TestUsageAndEnvironment(t *testing.T) {
	for _, args := range [][]string{
		{"-live", "-replay", "x"},
		{"-speed", "-1"},
		{"-batch", "0"},
		{"-max-attempts", "0"},
		{"-stream", "a", "-dlq-stream", "a"},
		{"-live", "-symbols", " , "},
		{"extra"},
		{"-replay", filepath.Join(t.TempDir(), "missing.ndjson")},
		{"-start", "yesterday"},
	} {
		var stderr bytes.Buffer
		t.Setenv("AWS_ACCESS_KEY_ID", "x")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "x")
		t.Setenv("AWS_REGION", "us-east-1")
		if code := run(context.Background(), args, io.Discard, &stderr); code != exitUsage {
			t.Errorf("%v: exit %d, want %d; stderr: %s", args, code, exitUsage, stderr.String())
		}
	}
	if code := run(context.Background(), []string{"-h"}, io.Discard, io.Discard); code != exitOK {
		t.Errorf("-h: exit %d", code)
	}
	t.Setenv("CTC_STREAM", "env-stream")
	t.Setenv("CTC_DLQ_STREAM", "env-dlq")
	t.Setenv("CTC_KINESIS_ENDPOINT", "http://127.0.0.1:1")
	t.Setenv("CTC_SYMBOLS", "eth")
	o, err := parse([]string{"-live"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.env.Stream != "env-stream" || o.env.DLQStream != "env-dlq" || o.env.KinesisEndpoint != "http://127.0.0.1:1" || o.env.Region != "us-east-1" ||
		!slices.Equal(o.live.Bases, []string{"ETH"}) {
		t.Errorf("environment not used: %+v", o)
	}
	if o, _ := parse([]string{"-stream", "flag-stream"}, io.Discard); o.env.Stream != "flag-stream" {
		t.Errorf("the flag did not win over CTC_STREAM: %q", o.env.Stream)
	}
}

// A stream that does not exist fails the run with exit 1, and says how many records were lost.
func TestMissingStream(t *testing.T) {
	_, _, _, flags := kinesalite(t, 1)
	flags[1] = awstest.Name(t, "missing")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append(flags, "-speed", "0", "-max-trades", "10"), &stdout, &stderr)
	if code != exitFail || !strings.Contains(stderr.String(), "ResourceNotFound") {
		t.Errorf("exit %d, stderr %s; want 1 and ResourceNotFound", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "10 lost") {
		t.Errorf("summary: %s", stdout.String())
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
