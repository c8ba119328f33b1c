package kinesis_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/internal/awstest"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

// transport sits between the SDK and kinesalite. It counts PutRecords requests and, on demand,
// makes Kinesis's failure modes happen for real requests: it answers whole requests with a
// throttling error, or removes chosen entries from a request before kinesalite sees it and splices
// a per-entry failure into kinesalite's answer at their places — so the stream holds exactly what
// the producer was told was stored.
type transport struct {
	base *http.Client

	mu       sync.Mutex
	streams  []string // the stream of each PutRecords request, in order
	sizes    []int    // the number of entries of each PutRecords request
	bodies   []int    // the body size of each
	throttle int      // answer this many coming PutRecords requests with a throttling error
	// fail, when set, returns the entry indices of request n (0-based, counting every PutRecords)
	// to fail and the error code to fail them with.
	fail func(n int, keys []string) (idx []int, code string)
	// cancel, when set, is called at PutRecords request n.
	cancelAt int
	cancel   func()
}

func newTransport() *transport {
	return &transport{base: &http.Client{}, cancelAt: -1}
}

type putRequest struct {
	Records    []json.RawMessage
	StreamName string
}

type putEntry struct {
	PartitionKey string
}

func (t *transport) Do(r *http.Request) (*http.Response, error) {
	if r.Header.Get("X-Amz-Target") != "Kinesis_20131202.PutRecords" {
		return t.base.Do(r)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	var req putRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, err
	}
	keys := make([]string, len(req.Records))
	for i, raw := range req.Records {
		var e putEntry
		_ = json.Unmarshal(raw, &e)
		keys[i] = e.PartitionKey
	}
	t.mu.Lock()
	n := len(t.sizes)
	t.streams = append(t.streams, req.StreamName)
	t.sizes = append(t.sizes, len(req.Records))
	t.bodies = append(t.bodies, len(body))
	throttle := t.throttle > 0
	if throttle {
		t.throttle--
	}
	var idx []int
	var code string
	if t.fail != nil {
		idx, code = t.fail(n, keys)
	}
	if n == t.cancelAt && t.cancel != nil {
		t.cancel()
	}
	t.mu.Unlock()
	if throttle {
		return jsonResponse(r, 400, `{"__type":"ProvisionedThroughputExceededException","message":"Rate exceeded for stream (injected)"}`), nil
	}
	if len(idx) == 0 {
		r.Body = io.NopCloser(bytes.NewReader(body))
		return t.base.Do(r)
	}
	kept := make([]json.RawMessage, 0, len(req.Records))
	for i, raw := range req.Records {
		if !slices.Contains(idx, i) {
			kept = append(kept, raw)
		}
	}
	var resp struct {
		FailedRecordCount int
		Records           []map[string]any
	}
	if len(kept) > 0 {
		nb, _ := json.Marshal(putRequest{Records: kept, StreamName: req.StreamName})
		r2 := r.Clone(r.Context())
		r2.Body = io.NopCloser(bytes.NewReader(nb))
		r2.ContentLength = int64(len(nb))
		r2.Header.Set("Content-Length", strconv.Itoa(len(nb)))
		res, err := t.base.Do(r2)
		if err != nil {
			return nil, err
		}
		rb, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			return jsonResponse(r, res.StatusCode, string(rb)), nil
		}
		if err := json.Unmarshal(rb, &resp); err != nil {
			return nil, err
		}
	}
	out := make([]map[string]any, 0, len(req.Records))
	j := 0
	for i := range req.Records {
		if slices.Contains(idx, i) {
			out = append(out, map[string]any{"ErrorCode": code, "ErrorMessage": "injected failure of entry " + strconv.Itoa(i)})
			continue
		}
		out = append(out, resp.Records[j])
		j++
	}
	resp.Records = out
	resp.FailedRecordCount += len(idx)
	b, _ := json.Marshal(resp)
	return jsonResponse(r, 200, string(b)), nil
}

func jsonResponse(r *http.Request, status int, body string) *http.Response {
	return &http.Response{
		StatusCode:    status,
		Status:        strconv.Itoa(status) + " " + http.StatusText(status),
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{"Content-Type": {"application/x-amz-json-1.1"}, "X-Amzn-Requestid": {"injected"}},
		Body:          io.NopCloser(bytes.NewReader([]byte(body))),
		ContentLength: int64(len(body)),
		Request:       r,
	}
}

// requests returns the number of PutRecords requests to stream and their entry counts.
func (t *transport) requests(stream string) []int {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []int
	for i, s := range t.streams {
		if s == stream {
			out = append(out, t.sizes[i])
		}
	}
	return out
}

func (t *transport) maxBody() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Max(t.bodies)
}

// client returns a Kinesis client for kinesalite through t, without the SDK's own retries, so that
// the producer sees every injected failure.
func client(tb testing.TB, t *transport) *kinesis.Client {
	ep := awstest.Kinesis(tb)
	return kinesis.NewFromConfig(ep.Config, func(o *kinesis.Options) {
		o.BaseEndpoint = aws.String(ep.URL)
		o.HTTPClient = t
		o.RetryMaxAttempts = 1
	})
}

// createStream creates a stream of shards shards and waits until it is active.
func createStream(tb testing.TB, c *kinesis.Client, name string, shards int32) {
	tb.Helper()
	ctx := context.Background()
	if _, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: &name, ShardCount: &shards}); err != nil {
		tb.Fatalf("CreateStream %s: %v", name, err)
	}
	awstest.Wait(tb, 10*time.Second, "stream "+name+" to be active", func() bool {
		out, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: &name})
		return err == nil && out.StreamDescriptionSummary.StreamStatus == types.StreamStatusActive
	})
}

// record is one record read back, with its shard.
type record struct {
	Shard, Key string
	Data       []byte
}

// readAll reads every record of every shard of the stream, each shard in order, shards in the
// order ListShards gives them.
func readAll(tb testing.TB, c *kinesis.Client, name string) []record {
	tb.Helper()
	ctx := context.Background()
	shards, err := c.ListShards(ctx, &kinesis.ListShardsInput{StreamName: &name})
	if err != nil {
		tb.Fatalf("ListShards %s: %v", name, err)
	}
	var out []record
	for _, sh := range shards.Shards {
		it, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: &name, ShardId: sh.ShardId,
			ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
		if err != nil {
			tb.Fatalf("GetShardIterator: %v", err)
		}
		iter := it.ShardIterator
		for iter != nil {
			res, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter, StreamARN: nil})
			if err != nil {
				tb.Fatalf("GetRecords: %v", err)
			}
			for _, r := range res.Records {
				out = append(out, record{Shard: *sh.ShardId, Key: *r.PartitionKey, Data: r.Data})
			}
			if len(res.Records) == 0 {
				break
			}
			iter = res.NextShardIterator
		}
	}
	return out
}

var t0 = time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC)

// trades returns n trades cycling over symbols, each with a distinct id and time.
func trades(n int, symbols ...string) []ctc.Trade {
	if len(symbols) == 0 {
		symbols = []string{"BTC-USDT", "BTC-USD", "ETH-USDT", "ETH-USD", "SOL-USDT", "SOL-USD"}
	}
	out := make([]ctc.Trade, n)
	for i := range out {
		s := symbols[i%len(symbols)]
		ex := ctc.Binance
		if len(s) > 4 && s[len(s)-4:] != "USDT" {
			ex = ctc.Coinbase
		}
		out[i] = ctc.Trade{
			EventID:   ctc.NewEventIDInt(ex, s, int64(i)),
			Exchange:  ex,
			Symbol:    s,
			Price:     100 + float64(i%7),
			Quantity:  1 + float64(i%3),
			Side:      ctc.Buy,
			Timestamp: t0.Add(time.Duration(i) * time.Millisecond),
		}
		out[i].QuoteVolume = out[i].Price * out[i].Quantity
	}
	return out
}

// decode reads trades back from records.
func decode(tb testing.TB, recs []record) []ctc.Trade {
	tb.Helper()
	out := make([]ctc.Trade, len(recs))
	for i, r := range recs {
		if err := json.Unmarshal(r.Data, &out[i]); err != nil {
			tb.Fatalf("record %d is not a trade: %v: %s", i, err, r.Data)
		}
	}
	return out
}

// byKey groups the event ids of trades by partition key, in order.
func byKey(ts []ctc.Trade, key func(string) string) map[string][]string {
	m := map[string][]string{}
	for _, t := range ts {
		k := key(t.Symbol)
		m[k] = append(m[k], t.EventID.String())
	}
	return m
}

// sleeps records the back-off waits without waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.d)
}

func sprint(v any) string { return fmt.Sprintf("%+v", v) }
