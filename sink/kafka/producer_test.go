package kafka_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/sink/kafka"
)

// clusters maps a producer under test to its cluster, for the conformance suite's read.
var clusters sync.Map

var t0 = time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC)

// trades returns n trades cycling over symbols of three instruments on both exchanges.
func trades(n int) []ctc.Trade {
	symbols := []string{"BTC-USDT", "BTC-USD", "ETH-USDT", "ETH-USD", "SOL-USDT", "SOL-USD"}
	out := make([]ctc.Trade, n)
	for i := range out {
		s := symbols[i%len(symbols)]
		ex := ctc.Binance
		if !strings.HasSuffix(s, "USDT") {
			ex = ctc.Coinbase
		}
		out[i] = ctc.Trade{
			EventID: ctc.NewEventIDInt(ex, s, int64(i)), Exchange: ex, Symbol: s,
			Price: 100 + float64(i%7), Quantity: 1 + float64(i%3), Side: ctc.Buy,
			Timestamp: t0.Add(time.Duration(i) * time.Millisecond),
		}
		out[i].QuoteVolume = out[i].Price * out[i].Quantity
	}
	return out
}

func decode(tb testing.TB, recs []*kgo.Record) []ctc.Trade {
	tb.Helper()
	out := make([]ctc.Trade, len(recs))
	for i, r := range recs {
		if err := json.Unmarshal(r.Value, &out[i]); err != nil {
			tb.Fatalf("record %d is not a trade: %v: %s", i, err, r.Value)
		}
	}
	return out
}

func TestKey(t *testing.T) {
	t.Parallel()
	for sym, want := range map[string]string{"BTC-USDT": "BTC", "BTC-USD": "BTC", "ETH-USDT": "ETH", "DOGE": "DOGE"} {
		if got := kafka.Key(sym); got != want {
			t.Errorf("Key(%q) = %q, want %q", sym, got, want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	for _, c := range []kafka.Config{
		{Topic: "x", DLQTopic: "x"},
		{DLQTopic: kafka.DefaultTopic},
		{MaxDeadLetterBytes: -1},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v: Validate() = nil, want an error", c)
		}
	}
	if err := (kafka.Config{}).Validate(); err != nil {
		t.Errorf("zero Config: %v", err)
	}
	if _, err := kafka.New(nil, kafka.Config{}); err == nil {
		t.Error("New(nil) succeeded")
	}
}

// Both exchanges of an instrument land on one partition, keyed by the instrument, in the order
// written; every trade is there once.
func TestKeysAndPartitions(t *testing.T) {
	t.Parallel()
	c := cluster(t, 4, kafka.DefaultTopic, kafka.DefaultDLQTopic)
	p, err := kafka.New(client(t, c, kafka.ClientOptions()...), kafka.Config{})
	if err != nil {
		t.Fatal(err)
	}
	in := trades(600)
	ctx := t.Context()
	for i := 0; i < len(in); i += 100 {
		if err := p.Write(ctx, &ctc.Batch{Trades: in[i : i+100]}); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	recs := readAll(t, c, p.Topic())
	partOf := map[string]int32{}
	got := map[string][]string{}
	for _, r := range recs {
		var tr ctc.Trade
		if err := json.Unmarshal(r.Value, &tr); err != nil {
			t.Fatal(err)
		}
		k := string(r.Key)
		if k != kafka.Key(tr.Symbol) {
			t.Fatalf("trade of %s keyed %q", tr.Symbol, k)
		}
		if q, ok := partOf[k]; ok && q != r.Partition {
			t.Fatalf("instrument %s on partitions %d and %d", k, q, r.Partition)
		}
		partOf[k] = r.Partition
		got[k] = append(got[k], tr.EventID.String())
	}
	want := map[string][]string{}
	for _, tr := range in {
		want[kafka.Key(tr.Symbol)] = append(want[kafka.Key(tr.Symbol)], tr.EventID.String())
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("per-key order (-want +got):\n%s", d)
	}
	if st := p.Stats(); st.Sent != 600 || st.Dropped != 0 {
		t.Fatalf("Stats = %+v", st)
	}
}

func TestDeadLetters(t *testing.T) {
	t.Parallel()
	c := cluster(t, 1, "t", "t-dlq")
	p, err := kafka.New(client(t, c, kafka.ClientOptions()...), kafka.Config{Topic: "t", DLQTopic: "t-dlq", MaxDeadLetterBytes: 10})
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("é", kafka.MaxDetailBytes)
	dls := []ctc.DeadLetter{
		{Reason: ctc.Malformed, Detail: "unexpected end", Data: []byte(`{"event_id":`), Position: ctc.Position{Partition: "binance", Offset: 7}},
		{Reason: ctc.Invalid, Detail: long, Data: []byte("\xff\x00short")},
	}
	if err := p.Write(t.Context(), &ctc.Batch{DeadLetters: dls}); err != nil {
		t.Fatal(err)
	}
	if err := p.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	recs := readAll(t, c, "t-dlq")
	if len(recs) != 2 {
		t.Fatalf("%d DLQ records, want 2", len(recs))
	}
	d0, err := kafka.DeadLetterOf(recs[0])
	if err != nil {
		t.Fatal(err)
	}
	want0 := kafka.DeadLetter{DeadLetter: ctc.DeadLetter{Reason: ctc.Malformed, Detail: "unexpected end",
		Data: []byte(`{"event_id`), Position: ctc.Position{Partition: "binance", Offset: 7}}, Topic: "t", DataBytes: 12}
	if d := cmp.Diff(want0, d0); d != "" {
		t.Fatalf("truncated dead letter (-want +got):\n%s", d)
	}
	d1, err := kafka.DeadLetterOf(recs[1])
	if err != nil {
		t.Fatal(err)
	}
	if len(d1.Detail) > kafka.MaxDetailBytes || !strings.HasPrefix(long, d1.Detail) || !bytes.Equal(d1.Data, dls[1].Data) {
		t.Fatalf("dead letter with a long detail: %+v", d1)
	}
	if string(recs[1].Key) != string(ctc.Invalid) {
		t.Fatalf("DLQ key %q, want the reason", recs[1].Key)
	}
	if st := p.Stats(); st.DeadLettered != 2 {
		t.Fatalf("Stats = %+v", st)
	}
}

func TestDeadLetterOfRefuses(t *testing.T) {
	t.Parallel()
	for _, hs := range [][]kgo.RecordHeader{
		nil,
		{{Key: kafka.HeaderReason, Value: nil}},
		{{Key: kafka.HeaderReason, Value: []byte("x")}, {Key: kafka.HeaderOffset, Value: []byte("-1")}},
		{{Key: kafka.HeaderReason, Value: []byte("x")}, {Key: kafka.HeaderDataBytes, Value: []byte("2")}},
	} {
		if d, err := kafka.DeadLetterOf(&kgo.Record{Value: []byte("abc"), Headers: hs}); err == nil {
			t.Errorf("headers %v: got %+v, want an error", hs, d)
		}
	}
}

// Produce requests the broker fails with retriable errors are retried by the client; the
// idempotent producer writes each trade once, in order, even when the broker stored a batch whose
// acknowledgement it then failed.
func TestBrokerErrorsRetried(t *testing.T) {
	t.Parallel()
	c := cluster(t, 2, kafka.DefaultTopic, kafka.DefaultDLQTopic)
	var failed atomic.Int32
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		if failed.Add(1) > 3 {
			c.DropControl()
			return nil, nil, false
		}
		c.KeepControl()
		r := req.(*kmsg.ProduceRequest)
		resp := r.ResponseKind().(*kmsg.ProduceResponse)
		for _, tp := range r.Topics {
			rt := kmsg.NewProduceResponseTopic()
			rt.Topic, rt.TopicID = tp.Topic, tp.TopicID
			for _, pp := range tp.Partitions {
				rp := kmsg.NewProduceResponseTopicPartition()
				rp.Partition = pp.Partition
				rp.ErrorCode = kerr.NotEnoughReplicas.Code
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp, nil, true
	})
	p, err := kafka.New(client(t, c, append(kafka.ClientOptions(), kgo.RetryBackoffFn(func(int) time.Duration { return time.Millisecond }), kgo.MetadataMinAge(10*time.Millisecond))...), kafka.Config{})
	if err != nil {
		t.Fatal(err)
	}
	in := trades(300)
	if err := p.Write(t.Context(), &ctc.Batch{Trades: in}); err != nil {
		t.Fatal(err)
	}
	if err := p.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if failed.Load() < 4 {
		t.Fatalf("the broker failed %d produce requests, want 3 and then success", failed.Load())
	}
	got := decode(t, readAll(t, c, p.Topic()))
	if len(got) != len(in) {
		t.Fatalf("%d trades on the topic, want %d", len(got), len(in))
	}
	seen := map[string]bool{}
	for _, tr := range got {
		if seen[tr.EventID.String()] {
			t.Fatalf("trade %s written twice", tr.EventID)
		}
		seen[tr.EventID.String()] = true
	}
}

// A topic that does not exist fails the records, and Flush says so; Stats counts them dropped.
func TestMissingTopic(t *testing.T) {
	t.Parallel()
	c := cluster(t, 1, "other")
	p, err := kafka.New(client(t, c, append(kafka.ClientOptions(), kgo.UnknownTopicRetries(1))...), kafka.Config{Topic: "absent", DLQTopic: "absent-dlq"})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Write(t.Context(), &ctc.Batch{Trades: trades(3)}); err != nil {
		t.Fatal(err)
	}
	err = p.Flush(t.Context())
	if !errors.Is(err, kerr.UnknownTopicOrPartition) {
		t.Fatalf("Flush = %v, want UNKNOWN_TOPIC_OR_PARTITION", err)
	}
	if st := p.Stats(); st.Dropped != 3 {
		t.Fatalf("Stats = %+v", st)
	}
	if err := p.Flush(t.Context()); err != nil {
		t.Fatalf("a second Flush reports the same failure again: %v", err)
	}
}

func TestClosed(t *testing.T) {
	t.Parallel()
	c := cluster(t, 1, "a", "b")
	p, err := kafka.Dial(kafka.Config{Topic: "a", DLQTopic: "b"}, kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := p.Write(context.Background(), &ctc.Batch{Trades: trades(1)}); !errors.Is(err, ctc.ErrClosed) {
		t.Fatalf("Write after Close = %v, want ErrClosed", err)
	}
	if err := p.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func ExampleKey() {
	fmt.Println(kafka.Key("BTC-USDT"), kafka.Key("BTC-USD"), kafka.Key("ETH-USDT"))
	// Output: BTC BTC ETH
}
