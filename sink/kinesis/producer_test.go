package kinesis_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/internal/awstest"
	"github.com/coattailcapital/ctc/sink/kinesis"
)

// setup creates a trade stream of shards shards and a one-shard DLQ stream, and a producer on them
// through tr whose back-off is recorded, not waited for, and always the longest allowed.
func setup(t *testing.T, tr *transport, shards int32, cfg kinesis.Config) (*kinesis.Producer, *sleeps) {
	t.Helper()
	c := client(t, tr)
	cfg.Stream = awstest.Name(t, "trades")
	cfg.DLQStream = awstest.Name(t, "dlq")
	createStream(t, c, cfg.Stream, shards)
	createStream(t, c, cfg.DLQStream, 1)
	s := &sleeps{}
	cfg.Sleep = s.sleep
	cfg.Jitter = func(n int64) int64 { return n }
	p, err := kinesis.New(c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p, s
}

func envelopes(t *testing.T, tr *transport, p *kinesis.Producer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, r := range readAll(t, client(t, tr), p.DLQStream()) {
		var m map[string]any
		if err := json.Unmarshal(r.Data, &m); err != nil {
			t.Fatalf("DLQ record is not JSON: %v: %.200s", err, r.Data)
		}
		out = append(out, m)
	}
	return out
}

func TestPartitionKey(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"BTC-USDT": "BTC", "BTC-USD": "BTC", "ETH-USDT": "ETH", "SOL-USD": "SOL",
		"BTCUSDT": "BTCUSDT", "": "", "-USD": "-USD", "A-B-C": "A",
	} {
		if got := kinesis.PartitionKey(in); got != want {
			t.Errorf("PartitionKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	bad := []kinesis.Config{
		{MaxAttempts: -1},
		{BackoffBase: -time.Second},
		{Grace: -time.Second},
		{MaxRecordBytes: 11 << 20},
		{Stream: "x", DLQStream: "x"},
	}
	for _, c := range bad {
		if err := c.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", c)
		}
	}
	if _, err := kinesis.New(nil, kinesis.Config{}); err == nil {
		t.Error("New(nil client) succeeded")
	}
}

// Everything put on a stream of several shards is read back, each instrument on one shard, in the
// order put.
func TestProducerDeliversEverything(t *testing.T) {
	t.Parallel()
	tr := newTransport()
	p, _ := setup(t, tr, 4, kinesis.Config{})
	in := trades(1300)
	if err := p.Put(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	recs := readAll(t, client(t, tr), p.Stream())
	got := decode(t, recs)
	if len(got) != len(in) {
		t.Fatalf("read %d records, want %d", len(got), len(in))
	}
	// Content: the same trades (compared by id), and per-key order exactly as put.
	sortByID := func(ts []ctc.Trade) []ctc.Trade {
		ts = slices.Clone(ts)
		slices.SortFunc(ts, func(a, b ctc.Trade) int { return bytes.Compare(a.EventID[:], b.EventID[:]) })
		return ts
	}
	if d := cmp.Diff(sortByID(in), sortByID(got)); d != "" {
		t.Fatalf("trades differ (-put +read):\n%s", d)
	}
	if d := cmp.Diff(byKey(in, kinesis.PartitionKey), byKey(got, kinesis.PartitionKey)); d != "" {
		t.Errorf("per-key order differs (-put +read):\n%s", d)
	}
	shardOf := map[string]string{}
	shards := map[string]bool{}
	for i, r := range recs {
		if want := kinesis.PartitionKey(got[i].Symbol); r.Key != want {
			t.Fatalf("record of %s has key %q, want %q", got[i].Symbol, r.Key, want)
		}
		if s, ok := shardOf[r.Key]; ok && s != r.Shard {
			t.Fatalf("key %s is on shards %s and %s", r.Key, s, r.Shard)
		}
		shardOf[r.Key] = r.Shard
		shards[r.Shard] = true
	}
	if len(shardOf) != 3 {
		t.Errorf("keys %v, want BTC, ETH and SOL", shardOf)
	}
	st := p.Stats()
	if want := (kinesis.Stats{Sent: 1300, Requests: 3}); st != want {
		t.Errorf("Stats = %+v, want %+v", st, want)
	}
	if d := cmp.Diff([]int{500, 500, 300}, tr.requests(p.Stream())); d != "" {
		t.Errorf("request sizes (-want +got):\n%s", d)
	}
}

func TestBatchingByCount(t *testing.T) {
	t.Parallel()
	tr := newTransport()
	p, _ := setup(t, tr, 2, kinesis.Config{})
	if err := p.Put(context.Background(), trades(600)); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]int{500, 100}, tr.requests(p.Stream())); d != "" {
		t.Errorf("request sizes (-want +got):\n%s", d)
	}
	if n := len(readAll(t, client(t, tr), p.Stream())); n != 600 {
		t.Errorf("read %d records, want 600", n)
	}
}

// Large records split requests by bytes: five records of 900 KiB fit in 5 MiB, six do not.
func TestBatchingByBytes(t *testing.T) {
	t.Parallel()
	tr := newTransport()
	p, _ := setup(t, tr, 2, kinesis.Config{})
	var recs [][]byte
	var keys []string
	for i := range 7 {
		r := bytes.Repeat([]byte{'a' + byte(i)}, 900<<10)
		recs = append(recs, r)
		keys = append(keys, "K"+string(rune('A'+i%3)))
	}
	if err := p.PutRaw(context.Background(), recs, keys); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]int{5, 2}, tr.requests(p.Stream())); d != "" {
		t.Errorf("request sizes (-want +got):\n%s", d)
	}
	got := readAll(t, client(t, tr), p.Stream())
	if len(got) != 7 {
		t.Fatalf("read %d records, want 7", len(got))
	}
	for _, r := range got {
		if len(r.Data) != 900<<10 {
			t.Errorf("record of %d bytes, want %d", len(r.Data), 900<<10)
		}
	}
}

// Entries a response fails are sent again alone, in their order, until they succeed; a failed
// entry is never overtaken by a later request.
func TestPartialFailureRetried(t *testing.T) {
	t.Parallel()
	tr := newTransport()
	tr.fail = func(n int, keys []string) ([]int, string) {
		switch n {
		case 0: // the tail of the first request is throttled
			return []int{495, 496, 497, 498, 499}, "ProvisionedThroughputExceededException"
		case 1: // and again on the first retry, by KMS this time
			return []int{0, 1, 2, 3, 4}, "KMSThrottlingException"
		case 2: // the second retry hits an internal failure on its last entry only
			return []int{4}, "InternalFailure"
		}
		return nil, ""
	}
	p, s := setup(t, tr, 1, kinesis.Config{BackoffBase: 10 * time.Millisecond, BackoffCap: time.Second})
	in := trades(600, "BTC-USDT")
	if err := p.Put(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]int{500, 5, 5, 1, 100}, tr.requests(p.Stream())); d != "" {
		t.Errorf("request sizes (-want +got):\n%s", d)
	}
	got := decode(t, readAll(t, client(t, tr), p.Stream()))
	if d := cmp.Diff(byKey(in, kinesis.PartitionKey), byKey(got, kinesis.PartitionKey)); d != "" {
		t.Errorf("order differs (-put +read):\n%s", d)
	}
	if d := cmp.Diff([]time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond}, s.all()); d != "" {
		t.Errorf("back-off (-want +got):\n%s", d)
	}
	st := p.Stats()
	if want := (kinesis.Stats{Sent: 600, Retried: 11, Requests: 5, ThrottledRecords: 10}); st != want {
		t.Errorf("Stats = %+v, want %+v", st, want)
	}
	if env := envelopes(t, tr, p); len(env) != 0 {
		t.Errorf("DLQ holds %v, want nothing", env)
	}
}

func TestWholeRequestThrottled(t *testing.T) {
	t.Parallel()
	tr := newTransport()
	tr.throttle = 2
	p, s := setup(t, tr, 1, kinesis.Config{BackoffBase: 10 * time.Millisecond})
	in := trades(50)
	if err := p.Put(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if n := len(readAll(t, client(t, tr), p.Stream())); n != 50 {
		t.Errorf("read %d records, want 50", n)
	}
	if got := len(s.all()); got != 2 {
		t.Errorf("%d back-offs, want 2", got)
	}
	st := p.Stats()
	if want := (kinesis.Stats{Sent: 50, Retried: 100, Requests: 3, ThrottledRequests: 2}); st != want {
		t.Errorf("Stats = %+v, want %+v", st, want)
	}
}

// Entries that keep failing go to the DLQ stream after MaxAttempts, with the last error; the
// back-off doubles up to its cap.
func TestRetriesExhausted(t *testing.T) {
	t.Parallel()
	tr := newTransport()
	var mainStream string
	tr.fail = func(n int, keys []string) ([]int, string) {
		if n == 0 {
			return []int{0, 2}, "ProvisionedThroughputExceededException"
		}
		if n < 5 {
			return []int{0, 1}, "ProvisionedThroughputExceededException"
		}
		return nil, ""
	}
	p, s := setup(t, tr, 1, kinesis.Config{MaxAttempts: 5, BackoffBase: 100 * time.Millisecond, BackoffCap: 250 * time.Millisecond})
	mainStream = p.Stream()
	in := trades(10)
	if err := p.Put(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	ms := time.Millisecond
	if d := cmp.Diff([]time.Duration{100 * ms, 200 * ms, 250 * ms, 250 * ms}, s.all()); d != "" {
		t.Errorf("back-off (-want +got):\n%s", d)
	}
	got := decode(t, readAll(t, client(t, tr), mainStream))
	want := slices.Concat(in[:0:0], in[1:2], in[3:])
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("stream (-want +got):\n%s", d)
	}
	env := envelopes(t, tr, p)
	if len(env) != 2 {
		t.Fatalf("DLQ holds %d envelopes, want 2: %v", len(env), env)
	}
	for i, e := range env {
		if e["reason"] != kinesis.ReasonRetriesExhausted || e["error_code"] != "ProvisionedThroughputExceededException" ||
			e["stream"] != mainStream || e["partition_key"] != kinesis.PartitionKey(in[2*i].Symbol) ||
			!strings.Contains(e["error_message"].(string), "after 5 attempts") {
			t.Errorf("envelope %d = %v", i, e)
		}
		var tr ctc.Trade
		b, _ := json.Marshal(e["data"])
		if err := json.Unmarshal(b, &tr); err != nil || tr.EventID != in[2*i].EventID {
			t.Errorf("envelope %d data = %s (%v), want trade %d", i, b, err, 2*i)
		}
	}
	st := p.Stats()
	if want := (kinesis.Stats{Sent: 8, DeadLettered: 2, Retried: 8, Requests: 6, ThrottledRecords: 10}); st != want {
		t.Errorf("Stats = %+v, want %+v", st, want)
	}
}

// An entry refused with an error retrying cannot cure goes to the DLQ stream at once.
func TestRejectedEntry(t *testing.T) {
	t.Parallel()
	tr := newTransport()
	tr.fail = func(n int, keys []string) ([]int, string) {
		if n == 0 {
			return []int{1}, "KMSAccessDeniedException"
		}
		return nil, ""
	}
	p, s := setup(t, tr, 1, kinesis.Config{})
	if err := p.Put(context.Background(), trades(3)); err != nil {
		t.Fatal(err)
	}
	if n := len(s.all()); n != 0 {
		t.Errorf("%d back-offs, want none", n)
	}
	env := envelopes(t, tr, p)
	if len(env) != 1 || env[0]["reason"] != kinesis.ReasonRejected || env[0]["error_code"] != "KMSAccessDeniedException" {
		t.Errorf("DLQ = %v, want one rejected envelope", env)
	}
	if st := p.Stats(); st.Sent != 2 || st.DeadLettered != 1 || st.Retried != 0 {
		t.Errorf("Stats = %+v", st)
	}
}

// Records that can never be sent (too large, bad key) go to the DLQ stream without a request to
// the trade stream; the oversized one's envelope keeps a prefix and the original size.
func TestUnsendableRecords(t *testing.T) {
	t.Parallel()
	tr := newTransport()
	p, _ := setup(t, tr, 1, kinesis.Config{})
	big := bytes.Repeat([]byte("x"), 1<<20) // with its key, one byte over the limit... and more
	recs := [][]byte{[]byte(`{"n":1}`), big, []byte(`{"n":2}`), []byte(`{"n":3}`), []byte("\xff\xfe")}
	keys := []string{"A", "A", "", strings.Repeat("k", 257), "B"}
	if err := p.PutRaw(context.Background(), recs, keys); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, client(t, tr), p.Stream())
	if len(got) != 2 || string(got[0].Data) != `{"n":1}` || !bytes.Equal(got[1].Data, []byte("\xff\xfe")) {
		t.Errorf("stream = %v, want records 0 and 4", got)
	}
	env := envelopes(t, tr, p)
	if len(env) != 3 {
		t.Fatalf("DLQ = %v, want 3 envelopes", env)
	}
	if e := env[0]; e["reason"] != kinesis.ReasonTooLarge || e["truncated"] != true || e["data_bytes"] != float64(1<<20) ||
		len(e["data"].(string)) == 0 || len(e["data"].(string)) >= 1<<20 {
		t.Errorf("too-large envelope: reason %v truncated %v data_bytes %v", e["reason"], e["truncated"], e["data_bytes"])
	}
	for _, e := range env[1:] {
		if e["reason"] != kinesis.ReasonBadKey {
			t.Errorf("envelope %v, want reason %s", e, kinesis.ReasonBadKey)
		}
	}
	if e := env[1]; sprint(e["data"]) != "map[n:2]" {
		t.Errorf("bad-key envelope data = %v, want the record as JSON", e["data"])
	}
	if st := p.Stats(); st.Sent != 2 || st.DeadLettered != 3 || st.Dropped != 0 {
		t.Errorf("Stats = %+v", st)
	}
	if err := p.PutRaw(context.Background(), recs, keys[:1]); err == nil {
		t.Error("PutRaw with fewer keys than records succeeded")
	}
}

// As a sink, the producer puts the batch's trades on the stream and its dead letters, with their
// reason, on the DLQ stream.
func TestWriteBatch(t *testing.T) {
	t.Parallel()
	tr := newTransport()
	p, _ := setup(t, tr, 2, kinesis.Config{})
	b := &ctc.Batch{
		Trades: trades(4),
		DeadLetters: []ctc.DeadLetter{
			{Reason: ctc.Malformed, Detail: "unexpected end of JSON input", Data: []byte(`{"event_id":`), Position: ctc.Position{Partition: "sim", Offset: 7}},
			{Reason: ctc.Invalid, Detail: "price must be > 0", Data: []byte(`{"price":-1}`), Position: ctc.Position{Partition: "sim", Offset: 9}},
		},
		Output: ctc.Output{Alerts: []ctc.Alert{{Symbol: "BTC-USDT"}}},
	}
	if err := p.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if n := len(readAll(t, client(t, tr), p.Stream())); n != 4 {
		t.Errorf("stream holds %d records, want the 4 trades", n)
	}
	want := []map[string]any{
		{"reason": "malformed", "error_message": "unexpected end of JSON input", "stream": p.Stream(), "partition": "sim", "offset": float64(7), "data_bytes": float64(12), "data": `{"event_id":`},
		{"reason": "invalid", "error_message": "price must be > 0", "stream": p.Stream(), "partition": "sim", "offset": float64(9), "data_bytes": float64(12), "data": map[string]any{"price": float64(-1)}},
	}
	if d := cmp.Diff(want, envelopes(t, tr, p)); d != "" {
		t.Errorf("DLQ (-want +got):\n%s", d)
	}
	if st := p.Stats(); st.Sent != 4 || st.DeadLettered != 2 {
		t.Errorf("Stats = %+v", st)
	}
}

// A cancelled context stops the call; what was not acknowledged is counted as dropped.
func TestContextCancelled(t *testing.T) {
	t.Parallel()
	tr := newTransport()
	p, _ := setup(t, tr, 1, kinesis.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tr.mu.Lock()
	tr.cancelAt, tr.cancel = 1, cancel
	tr.mu.Unlock()
	err := p.Put(ctx, trades(1500))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Put = %v, want context.Canceled", err)
	}
	st := p.Stats()
	if st.Sent != 500 || st.Dropped != 1000 {
		t.Errorf("Stats = %+v, want 500 sent and 1000 dropped", st)
	}
	// Cancelled while backing off from a throttle.
	tr2 := newTransport()
	tr2.throttle = 1
	p2, _ := setup(t, tr2, 1, kinesis.Config{})
	ctx2, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if err := p2.Put(ctx2, trades(10)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put = %v, want context.Canceled", err)
	}
	if st := p2.Stats(); st.Dropped != 10 || st.Sent != 0 {
		t.Errorf("Stats = %+v, want 10 dropped", st)
	}
}

// With a grace period, a call whose context ends mid-way still settles every record it holds.
func TestGraceAfterCancel(t *testing.T) {
	t.Parallel()
	tr := newTransport()
	p, _ := setup(t, tr, 1, kinesis.Config{Grace: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tr.mu.Lock()
	tr.cancelAt, tr.cancel = 1, cancel
	tr.mu.Unlock()
	if err := p.Put(ctx, trades(1500)); err != nil {
		t.Fatalf("Put = %v, want the grace to cover the cancellation", err)
	}
	if st := p.Stats(); st.Sent != 1500 || st.Dropped != 0 {
		t.Errorf("Stats = %+v, want all 1500 sent", st)
	}
	if n := len(readAll(t, client(t, tr), p.Stream())); n != 1500 {
		t.Errorf("stream holds %d records, want 1500", n)
	}
	// A call that starts after the context ended sends nothing, grace or not.
	if err := p.Put(ctx, trades(5)); !errors.Is(err, context.Canceled) {
		t.Errorf("Put after cancel = %v, want context.Canceled", err)
	}
	if st := p.Stats(); st.Dropped != 5 {
		t.Errorf("Dropped = %d, want 5", st.Dropped)
	}
}

// A stream that does not exist is an error at once, not a retry loop.
func TestMissingStream(t *testing.T) {
	t.Parallel()
	tr := newTransport()
	p, err := kinesis.New(client(t, tr), kinesis.Config{Stream: awstest.Name(t, "nope"), DLQStream: awstest.Name(t, "nope-dlq")})
	if err != nil {
		t.Fatal(err)
	}
	err = p.Put(context.Background(), trades(3))
	if err == nil || !strings.Contains(err.Error(), "ResourceNotFound") {
		t.Fatalf("Put = %v, want ResourceNotFoundException", err)
	}
	if st := p.Stats(); st.Dropped != 3 || st.Requests != 1 {
		t.Errorf("Stats = %+v, want 3 dropped after 1 request", st)
	}
}

// When the DLQ stream fails too, the records are counted as dropped and the call says so.
func TestDLQFails(t *testing.T) {
	t.Parallel()
	tr := newTransport()
	c := client(t, tr)
	stream := awstest.Name(t, "trades")
	createStream(t, c, stream, 1)
	p, err := kinesis.New(c, kinesis.Config{Stream: stream, DLQStream: awstest.Name(t, "missing-dlq")})
	if err != nil {
		t.Fatal(err)
	}
	err = p.PutRaw(context.Background(), [][]byte{[]byte("ok"), make([]byte, 2<<20)}, []string{"A", "A"})
	if err == nil {
		t.Fatal("PutRaw succeeded with a missing DLQ stream")
	}
	if st := p.Stats(); st.Sent != 1 || st.Dropped != 1 || st.DeadLettered != 0 {
		t.Errorf("Stats = %+v, want 1 sent, 1 dropped", st)
	}
}

// Stats may be read while calls run (checked by -race), and concurrent calls all arrive.
func TestConcurrentPutAndStats(t *testing.T) {
	t.Parallel()
	tr := newTransport()
	p, _ := setup(t, tr, 2, kinesis.Config{})
	var wg sync.WaitGroup
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			default:
				_ = p.Stats()
			}
		}
	}()
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.Put(context.Background(), trades(100+i)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	close(done)
	if st := p.Stats(); st.Sent != 406 {
		t.Errorf("Sent = %d, want 406", st.Sent)
	}
}
