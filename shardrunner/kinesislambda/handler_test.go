package kinesislambda_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	kin "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/detect"
	"github.com/coattailcapital/ctc/internal/awstest"
	"github.com/coattailcapital/ctc/metrics/emf"
	"github.com/coattailcapital/ctc/quality"
	"github.com/coattailcapital/ctc/shardrunner"
	"github.com/coattailcapital/ctc/shardrunner/kinesislambda"
	sinkkinesis "github.com/coattailcapital/ctc/sink/kinesis"
	"github.com/coattailcapital/ctc/sink/memory"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

// stream is a kinesalite stream of the test.
type stream struct {
	c         *kin.Client
	name, arn string
}

func newStream(t *testing.T, shards int32) *stream {
	t.Helper()
	ctx := context.Background()
	s := &stream{c: awstest.KinesisClient(t), name: awstest.Name(t, "s")}
	if _, err := s.c.CreateStream(ctx, &kin.CreateStreamInput{StreamName: &s.name, ShardCount: &shards}); err != nil {
		t.Fatal(err)
	}
	s.waitActive(t)
	return s
}

func (s *stream) waitActive(t *testing.T) {
	t.Helper()
	awstest.Wait(t, 10*time.Second, "stream "+s.name, func() bool {
		out, err := s.c.DescribeStreamSummary(context.Background(), &kin.DescribeStreamSummaryInput{StreamName: &s.name})
		if err == nil && out.StreamDescriptionSummary.StreamStatus == types.StreamStatusActive {
			s.arn = aws.ToString(out.StreamDescriptionSummary.StreamARN)
			return true
		}
		return false
	})
}

func (s *stream) put(t *testing.T, trades []ctc.Trade) {
	t.Helper()
	for _, tr := range trades {
		if _, err := s.c.PutRecord(context.Background(), &kin.PutRecordInput{StreamName: &s.name, Data: tr.AppendJSON(nil),
			PartitionKey: aws.String(shardrunner.Instrument(tr.Symbol))}); err != nil {
			t.Fatal(err)
		}
	}
}

// read returns every shard's records, by shard id.
func (s *stream) read(t *testing.T) map[string][]types.Record {
	t.Helper()
	ctx := context.Background()
	ls, err := s.c.ListShards(ctx, &kin.ListShardsInput{StreamName: &s.name})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]types.Record{}
	for _, sh := range ls.Shards {
		it, err := s.c.GetShardIterator(ctx, &kin.GetShardIteratorInput{StreamName: &s.name, ShardId: sh.ShardId,
			ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
		if err != nil {
			t.Fatal(err)
		}
		id := aws.ToString(sh.ShardId)
		out[id] = nil
		for iter := it.ShardIterator; iter != nil; {
			res, err := s.c.GetRecords(ctx, &kin.GetRecordsInput{ShardIterator: iter})
			if err != nil {
				t.Fatal(err)
			}
			out[id] = append(out[id], res.Records...)
			if len(res.Records) == 0 {
				break
			}
			iter = res.NextShardIterator
		}
	}
	return out
}

func event(arn, shard string, recs []types.Record) *events.KinesisEvent {
	ev := &events.KinesisEvent{}
	for _, r := range recs {
		ev.Records = append(ev.Records, events.KinesisEventRecord{
			EventID: shard + ":" + aws.ToString(r.SequenceNumber), EventSource: "aws:kinesis", EventSourceArn: arn,
			EventName: "aws:kinesis:record", EventVersion: "1.0", AwsRegion: awstest.Region,
			Kinesis: events.KinesisRecord{Data: r.Data, PartitionKey: aws.ToString(r.PartitionKey),
				SequenceNumber: aws.ToString(r.SequenceNumber), KinesisSchemaVersion: "1.0"},
		})
	}
	return ev
}

// market returns n trades of BTC (Binance and Coinbase, about 0.8 % apart) and ETH, 3 s apart,
// with a whale every 37th.
func market(n int, offset int) []ctc.Trade {
	base := time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC)
	syms := []struct {
		ex, sym string
		price   float64
	}{{ctc.Binance, "BTC-USDT", 50_000}, {ctc.Coinbase, "BTC-USD", 50_400}, {ctc.Binance, "ETH-USDT", 3_000}}
	out := make([]ctc.Trade, n)
	for j := range out {
		i := j + offset
		s := syms[i%len(syms)]
		q := 0.5 + float64(i%5)*0.1
		if i%37 == 0 {
			q = 40
		}
		ts := base.Add(time.Duration(i) * 3 * time.Second)
		out[j] = ctc.Trade{EventID: ctc.NewEventIDInt(s.ex, s.sym, int64(i)), Exchange: s.ex, Symbol: s.sym,
			Price: s.price + float64(i%7), Quantity: q, Side: ctc.Side(1 + i%2), Timestamp: ts}
		out[j].QuoteVolume = out[j].Price * out[j].Quantity
	}
	return out
}

func newProcessor(t *testing.T) *ctc.Processor {
	t.Helper()
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
	return p
}

func ids(alerts []ctc.Alert) []uuid.UUID {
	out := make([]uuid.UUID, 0, len(alerts))
	for _, a := range alerts {
		out = append(out, a.AlertID)
	}
	slices.SortFunc(out, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	return slices.Compact(out)
}

func handler(t *testing.T, store shardrunner.StateStore, sinks ...ctc.Sink) *kinesislambda.Handler {
	t.Helper()
	h, err := kinesislambda.New(kinesislambda.Config{Store: store, Shards: awstest.KinesisClient(t), NewProcessor: builtins, Sinks: sinks})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// After a SplitShard the mapping delivers the children only after the parent: the handler opens
// them over the parent's state (which never says it is finished), and each key continues where
// the parent left it, as one processor over the key's records would.
func TestSplitShard(t *testing.T) {
	ctx := context.Background()
	s := newStream(t, 1)
	first, second := market(300, 0), market(300, 300)
	s.put(t, first)
	parent := "shardId-000000000000"
	half := new(big.Int).Lsh(big.NewInt(1), 127) // BTC's key hashes below it, ETH's above
	if _, err := s.c.SplitShard(ctx, &kin.SplitShardInput{StreamName: &s.name, ShardToSplit: &parent,
		NewStartingHashKey: aws.String(half.String())}); err != nil {
		t.Fatal(err)
	}
	s.waitActive(t)
	s.put(t, second)
	recs := s.read(t)
	if len(recs) != 3 || len(recs[parent]) != 300 {
		t.Fatalf("shards after the split: %d, parent records %d", len(recs), len(recs[parent]))
	}

	// The oracle: the parent's records through one processor, then each key's later records
	// through a processor continuing from the parent's state.
	p := newProcessor(t)
	for _, r := range recs[parent] {
		p.Process(&ctc.Record{Data: r.Data})
	}
	var b ctc.Batch
	p.Take(&b)
	want := slices.Clone(b.Output.Alerts)
	st, err := p.State(ctc.Checkpoint{})
	if err != nil {
		t.Fatal(err)
	}
	for _, inst := range []string{"BTC", "ETH"} {
		q := newProcessor(t)
		if err := q.Restore(st); err != nil {
			t.Fatal(err)
		}
		for _, tr := range second {
			if shardrunner.Instrument(tr.Symbol) == inst {
				q.Process(&ctc.Record{Data: tr.AppendJSON(nil)})
			}
		}
		q.Take(&b)
		for _, a := range b.Output.Alerts {
			if shardrunner.Instrument(a.Symbol) == inst {
				want = append(want, a)
			}
		}
	}

	sink := memory.New()
	h := handler(t, &shardrunner.MemoryStateStore{}, sink)
	order := []string{parent}
	for id := range recs {
		if id != parent {
			order = append(order, id)
		}
	}
	for _, id := range order {
		resp, err := h.Handle(ctx, event(s.arn, id, recs[id]))
		if err != nil || len(resp.BatchItemFailures) > 0 {
			t.Fatalf("shard %s: %v %+v", id, err, resp.BatchItemFailures)
		}
	}
	c := sink.Contents()
	if d := cmp.Diff(ids(want), ids(c.Output.Alerts)); d != "" {
		t.Fatalf("alerts (-want +got):\n%s", d)
	}
	if len(c.Trades) != 600 {
		t.Fatalf("%d trades, want 600", len(c.Trades))
	}
}

// failingStore fails its saves on demand.
func TestFailures(t *testing.T) {
	ctx := context.Background()
	s := newStream(t, 1)
	s.put(t, market(120, 0))
	shard := "shardId-000000000000"
	recs := s.read(t)[shard]
	seq := func(i int) string { return aws.ToString(recs[i].SequenceNumber) }
	failures := func(resp events.KinesisEventResponse) []string {
		var out []string
		for _, f := range resp.BatchItemFailures {
			out = append(out, f.ItemIdentifier)
		}
		return out
	}

	t.Run("state save fails", func(t *testing.T) {
		store := &shardrunner.MemoryStateStore{}
		h := handler(t, store)
		if resp, _ := h.Handle(ctx, event(s.arn, shard, recs[:40])); len(resp.BatchItemFailures) > 0 {
			t.Fatal(resp)
		}
		for _, fail := range []error{errors.New("dynamodb unavailable"), shardrunner.ErrConflict} {
			store.FailSave = func(string, *shardrunner.ShardState) error { return fail }
			// The second batch overlaps the first: its first records are in the state already.
			resp, err := h.Handle(ctx, event(s.arn, shard, recs[30:80]))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff([]string{seq(40)}, failures(resp)); d != "" {
				t.Fatalf("%v: failures (-want +got):\n%s", fail, d)
			}
		}
		store.FailSave = nil
		if resp, _ := h.Handle(ctx, event(s.arn, shard, recs[40:80])); len(resp.BatchItemFailures) > 0 {
			t.Fatal(resp)
		}
	})

	t.Run("sink commit fails", func(t *testing.T) {
		sink := memory.New()
		h := handler(t, &shardrunner.MemoryStateStore{}, sink)
		sink.FailWrites(1, nil)
		// The state is saved with the output, then the sink fails: the last record is named, so
		// that its redelivery reopens the shard and commits the saved output.
		resp, err := h.Handle(ctx, event(s.arn, shard, recs[:60]))
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff([]string{seq(59)}, failures(resp)); d != "" {
			t.Fatalf("failures (-want +got):\n%s", d)
		}
		if n := len(sink.Contents().Trades); n != 0 {
			t.Fatalf("the failed write stored %d trades", n)
		}
		if resp, _ := h.Handle(ctx, event(s.arn, shard, recs[59:])); len(resp.BatchItemFailures) > 0 {
			t.Fatal(resp)
		}
		if n := len(sink.Contents().Trades); n != 120 {
			t.Fatalf("%d trades after the retry, want 120", n)
		}
	})

	t.Run("stream unknown", func(t *testing.T) {
		h := handler(t, &shardrunner.MemoryStateStore{})
		arn := strings.Replace(s.arn, s.name, "no-such-stream", 1)
		resp, err := h.Handle(ctx, event(arn, shard, recs[:5]))
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff([]string{seq(0)}, failures(resp)); d != "" {
			t.Fatalf("failures (-want +got):\n%s", d)
		}
	})

	t.Run("not a kinesis event", func(t *testing.T) {
		h := handler(t, &shardrunner.MemoryStateStore{})
		for _, mutate := range []func(*events.KinesisEventRecord){
			func(r *events.KinesisEventRecord) { r.EventID = "shardId-000000000000" },
			func(r *events.KinesisEventRecord) { r.EventSourceArn = "arn:aws:sqs:us-east-1:0:queue" },
			func(r *events.KinesisEventRecord) { r.Kinesis.SequenceNumber = "" },
		} {
			ev := event(s.arn, shard, recs[:2])
			mutate(&ev.Records[1])
			if _, err := h.Handle(ctx, ev); err == nil {
				t.Fatalf("accepted %+v", ev.Records[1])
			}
		}
	})
}

// Each invocation writes what its own records did: quality counters and alert counts, nothing
// for records delivered again; dead letters go to the DLQ stream.
func TestMetrics(t *testing.T) {
	ctx := context.Background()
	s := newStream(t, 1)
	trades := market(100, 0)
	s.put(t, trades)
	s.c.PutRecord(ctx, &kin.PutRecordInput{StreamName: &s.name, Data: []byte(`{"not":"a trade"}`), PartitionKey: aws.String("BTC")})
	s.put(t, trades[:3]) // duplicates
	shard := "shardId-000000000000"
	recs := s.read(t)[shard]

	var out bytes.Buffer
	m, err := emf.New(&out, emf.Config{Now: func() time.Time { return time.Unix(1700000000, 0) }})
	if err != nil {
		t.Fatal(err)
	}
	dlq := newStream(t, 1)
	prod, err := sinkkinesis.New(s.c, sinkkinesis.Config{Stream: s.name, DLQStream: dlq.name})
	if err != nil {
		t.Fatal(err)
	}
	h, err := kinesislambda.New(kinesislambda.Config{Store: &shardrunner.MemoryStateStore{}, Shards: s.c, NewProcessor: builtins, Metrics: m, DeadLetters: prod})
	if err != nil {
		t.Fatal(err)
	}
	type counts struct {
		RecordsProcessed, RecordsPassed, RecordsFailed, RecordsDuplicate, QualityScore float64
		AnomalyCount, WhaleCount                                                       float64
	}
	deliver := func(rs []types.Record) counts {
		out.Reset()
		if resp, err := h.Handle(ctx, event(s.arn, shard, rs)); err != nil || len(resp.BatchItemFailures) > 0 {
			t.Fatal(err, resp)
		}
		var c counts
		for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			if err := json.Unmarshal([]byte(line), &c); err != nil {
				t.Fatalf("%s: %v", line, err)
			}
		}
		return c
	}
	whales := 0
	for _, tr := range trades {
		if tr.QuoteVolume >= 100_000 {
			whales++
		}
	}
	got := deliver(recs)
	want := counts{RecordsProcessed: 104, RecordsPassed: 100, RecordsFailed: 1, RecordsDuplicate: 3, QualityScore: 100.0 * 100 / 104,
		WhaleCount: float64(whales)}
	got.AnomalyCount = 0 // the volume and spread alerts depend on the windows; whales are counted exactly
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("metrics (-want +got):\n%s", d)
	}
	if got := deliver(recs[90:]); got != (counts{QualityScore: 100}) {
		t.Fatalf("metrics of a redelivery: %+v", got)
	}
	// The record that is not a trade went to the DLQ stream, with its reason and position.
	var envs []sinkkinesis.Envelope
	for _, rs := range dlq.read(t) {
		for _, r := range rs {
			e, err := sinkkinesis.ParseEnvelope(r.Data)
			if err != nil {
				t.Fatal(err)
			}
			envs = append(envs, e)
		}
	}
	if len(envs) != 1 || string(envs[0].Data) != `{"not":"a trade"}` || envs[0].Reason == "" ||
		envs[0].Stream != s.name || envs[0].Position.Partition != shard || envs[0].Position.Offset != 101 {
		t.Fatalf("DLQ: %+v", envs)
	}
}

// builtins builds the engines of the built-in detectors, as the stream Lambda's main does.
var builtins = shardrunner.Processors(quality.Config{}, detect.DefaultThresholds(), nil)
