package kafkarunner_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/kafkarunner"
	"github.com/coattailcapital/ctc/partrunner"
	icesink "github.com/coattailcapital/ctc/sink/iceberg"
	"github.com/coattailcapital/ctc/sink/kafka"
	"github.com/coattailcapital/ctc/sink/memory"
)

const topic = "trades"

func newCluster(t testing.TB, partitions int32, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(partitions, topic, "dlq"),
		kfake.GroupMinSessionTimeout(100 * time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// testTrades are n valid trades of three instruments on both exchanges over n seconds, with
// whales and a volume burst, so that every detector has something to say.
func testTrades(n int, from int) []ctc.Trade {
	t0 := time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC)
	syms := []struct{ ex, sym string }{{ctc.Binance, "BTC-USDT"}, {ctc.Coinbase, "BTC-USD"}, {ctc.Binance, "ETH-USDT"},
		{ctc.Coinbase, "ETH-USD"}, {ctc.Binance, "SOL-USDT"}, {ctc.Coinbase, "SOL-USD"}}
	out := make([]ctc.Trade, n)
	for j := range out {
		i := from + j
		s := syms[i%len(syms)]
		price := 100 + float64(i%5)
		if s.ex == ctc.Coinbase && i%40 < 20 {
			price *= 1.02 // a spread
		}
		qty := 1 + float64(i%3)
		if i%97 == 0 {
			qty = 5000 // a whale
		}
		ts := t0.Add(time.Duration(i) * 200 * time.Millisecond)
		out[j] = ctc.Trade{EventID: ctc.NewEventIDInt(s.ex, s.sym, int64(i)), Exchange: s.ex, Symbol: s.sym,
			Price: price, Quantity: qty, QuoteVolume: price * qty, Side: ctc.Buy, Timestamp: ts, IngestionTimestamp: ts}
	}
	return out
}

func produce(t testing.TB, addrs []string, trades []ctc.Trade) {
	t.Helper()
	p, err := kafka.Dial(kafka.Config{Topic: topic, DLQTopic: "dlq"}, kgo.SeedBrokers(addrs...))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Write(context.Background(), &ctc.Batch{Trades: trades}); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// partitionLogs reads every partition of the topic back, in offset order.
func partitionLogs(t testing.TB, addrs []string) map[int32][]kafkarunner.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	total := int64(0)
	offs := map[int32]kgo.Offset{}
	ends.Each(func(o kadm.ListedOffset) { total += o.Offset; offs[o.Partition] = kgo.NewOffset().AtStart() })
	rd, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: offs}))
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	out := map[int32][]kafkarunner.Record{}
	for n := int64(0); n < total; {
		fs := rd.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d records", n, total)
		}
		fs.EachRecord(func(r *kgo.Record) {
			out[r.Partition] = append(out[r.Partition], kafkarunner.Record{Offset: r.Offset, Key: r.Key, Value: r.Value})
			n++
		})
	}
	return out
}

// waitFor polls cond until it holds or d passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func fast(addrs []string) []kgo.Opt {
	return []kgo.Opt{kgo.SeedBrokers(addrs...), kgo.SessionTimeout(1500 * time.Millisecond),
		kgo.HeartbeatInterval(100 * time.Millisecond), kgo.MetadataMinAge(50 * time.Millisecond),
		kgo.MetadataMaxAge(200 * time.Millisecond), kgo.RetryBackoffFn(func(int) time.Duration { return 10 * time.Millisecond })}
}

// Trades produced with sink/kafka and consumed through the engine into an Iceberg warehouse and
// an alert store equal, table by table, one engine run once over each partition's records — with
// the broker dropping the first fetches and offset commits on the floor.
func TestRoundTripIcebergAndAlertStore(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 3)
	addrs := c.ListenAddrs()
	trades := testTrades(1500, 0)
	produce(t, addrs, trades)

	var fetchFails, commitFails atomic.Int32
	for key, n := range map[kmsg.Key]*atomic.Int32{kmsg.Fetch: &fetchFails, kmsg.OffsetCommit: &commitFails} {
		c.ControlKey(int16(key), func(kmsg.Request) (kmsg.Response, error, bool) {
			if n.Add(1) > 2 {
				c.DropControl()
				return nil, nil, false
			}
			c.KeepControl()
			return nil, fmt.Errorf("injected %v failure", key), true // the broker closes the connection
		})
	}

	dir := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	root, err := icesink.Open(ctx, icesink.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close(context.Background())
	alerts := memory.NewAlertStore(func() time.Time { return time.Date(2024, 1, 15, 12, 0, 0, 0, time.UTC) })
	cons, err := kafkarunner.New(kafkarunner.Config{
		Client: fast(addrs), Topic: topic, App: "app", Store: &partrunner.MemoryStateStore{},
		Runner: partrunner.Config{NewProcessor: newProc, Sinks: []ctc.Sink{alerts}},
		NewSinks: func(ctx context.Context, id string) ([]ctc.Sink, error) {
			s, err := icesink.Open(ctx, icesink.Config{Dir: dir})
			return []ctc.Sink{s}, err
		},
		CheckpointEvery: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cons.Run(ctx) }()
	waitFor(t, 30*time.Second, "every record", func() bool { return cons.Stats().Records == int64(len(trades)) })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if fetchFails.Load() < 3 || commitFails.Load() < 1 {
		t.Fatalf("the injected failures did not all happen: fetch %d, commit %d", fetchFails.Load(), commitFails.Load())
	}

	var want committed
	for _, recs := range partitionLogs(t, addrs) {
		o := oracle(t, recs)
		want.Add(&ctc.Batch{Trades: o.Trades, Output: o.Output, DeadLetters: o.DeadLetters})
	}
	var got committed
	for ts, err := range root.ScanTrades(t.Context(), icesink.ScanOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		got.Trades = append(got.Trades, ts...)
	}
	got.Output.Alerts, err = root.ScanAlerts(t.Context(), icesink.AnomalyAlerts, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(want.Output.Alerts) == 0 || len(want.Trades) != len(trades) {
		t.Fatalf("the oracle has %d trades and %d alerts", len(want.Trades), len(want.Output.Alerts))
	}
	sortTrades(want.Trades)
	sortTrades(got.Trades)
	if d := cmp.Diff(want.Trades, got.Trades, cmpTime); d != "" {
		t.Fatalf("raw_trades (-want +got):\n%s", d)
	}
	if d := cmp.Diff(alertIDs(want.Output.Alerts), alertIDs(got.Output.Alerts)); d != "" {
		t.Fatalf("anomaly_alerts (-want +got):\n%s", d)
	}
	stored, err := alerts.QueryAlerts(t.Context(), ctc.AlertQuery{Limit: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(alertIDs(want.Output.Alerts), alertIDs(stored)); d != "" {
		t.Fatalf("alert store (-want +got):\n%s", d)
	}
}

var cmpTime = cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })

func sortTrades(ts []ctc.Trade) {
	slices.SortFunc(ts, func(a, b ctc.Trade) int { return bytes.Compare(a.EventID[:], b.EventID[:]) })
}

// alertIDs lists alerts by id, each once; a repeated id shows as "id ×2".
func alertIDs(as []ctc.Alert) []string {
	n := map[string]int{}
	for _, a := range as {
		n[a.AlertID.String()+" "+string(a.AlertType)]++
	}
	var out []string
	for id, k := range n {
		if k > 1 {
			id += fmt.Sprintf(" ×%d", k)
		}
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// Adding partitions while the consumer runs stops it with ErrRepartitioned, which says why.
func TestAddingPartitionsIsRefused(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 2)
	addrs := c.ListenAddrs()
	produce(t, addrs, testTrades(100, 0))
	cons, err := kafkarunner.New(kafkarunner.Config{
		Client: fast(addrs), Topic: topic, App: "app", Store: &partrunner.MemoryStateStore{},
		Runner: partrunner.Config{NewProcessor: newProc}, CheckpointEvery: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cons.Run(t.Context()) }()
	waitFor(t, 20*time.Second, "the first records", func() bool { return cons.Stats().Records == 100 })
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).CreatePartitions(t.Context(), 2, topic); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errorsIs(err, kafkarunner.ErrRepartitioned) || !strings.Contains(err.Error(), "4 partitions") {
			t.Fatalf("Run = %v, want ErrRepartitioned naming the new count", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the consumer did not notice the new partitions")
	}
}
