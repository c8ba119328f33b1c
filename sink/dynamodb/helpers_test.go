package dynamodb_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/internal/awstest"
)

// interceptor sits between the SDK and dynalite. It counts calls by operation and can make
// BatchWriteItem fail the ways DynamoDB does under load: by leaving items unprocessed — it then
// really withholds them from the server and lists them in the server's real answer — or by
// refusing the call as throttled. The server stays real; only these two answers are edited.
type interceptor struct {
	mu sync.Mutex
	// calls counts requests by operation (Query, BatchWriteItem, …).
	calls map[string]int
	// withhold is how many items to withhold from each of the next withholdCalls BatchWriteItem
	// calls (-1 calls: every call).
	withhold, withholdCalls int
	// withheld counts the items withheld so far.
	withheld int
	// throttleCalls is how many of the next BatchWriteItem calls to refuse as throttled (-1: all).
	throttleCalls int
	// onBatchWrite, if set, is called before every BatchWriteItem call is handled.
	onBatchWrite func()
	// items records, per BatchWriteItem call that reached the server, how many puts it carried.
	items []int
}

func (c *interceptor) count(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[op]
}

func (c *interceptor) Do(req *http.Request) (*http.Response, error) {
	op := req.Header.Get("X-Amz-Target")
	op = op[strings.LastIndexByte(op, '.')+1:]
	c.mu.Lock()
	if c.calls == nil {
		c.calls = map[string]int{}
	}
	c.calls[op]++
	hook := c.onBatchWrite
	throttle := op == "BatchWriteItem" && c.throttleCalls != 0
	if throttle && c.throttleCalls > 0 {
		c.throttleCalls--
	}
	withhold := 0
	if op == "BatchWriteItem" && !throttle && c.withholdCalls != 0 {
		withhold = c.withhold
		if c.withholdCalls > 0 {
			c.withholdCalls--
		}
	}
	c.mu.Unlock()
	if op == "BatchWriteItem" && hook != nil {
		hook()
	}
	if throttle {
		body := `{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"throttled by the test"}`
		return &http.Response{
			StatusCode: http.StatusBadRequest, Status: "400 Bad Request", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header:        http.Header{"Content-Type": {"application/x-amz-json-1.0"}},
			Body:          io.NopCloser(strings.NewReader(body)),
			ContentLength: int64(len(body)), Request: req,
		}, nil
	}
	if op != "BatchWriteItem" {
		return http.DefaultTransport.RoundTrip(req)
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	var in map[string]json.RawMessage
	var items map[string][]json.RawMessage
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(in["RequestItems"], &items); err != nil {
		return nil, err
	}
	held := map[string][]json.RawMessage{}
	tables := make([]string, 0, len(items))
	for t := range items {
		tables = append(tables, t)
	}
	slices.Sort(tables)
	for _, t := range tables {
		n := min(withhold, len(items[t])-1) // a request must keep at least one item
		if n > 0 {
			held[t] = items[t][len(items[t])-n:]
			items[t] = items[t][:len(items[t])-n]
			withhold -= n
		}
	}
	sent := 0
	for _, ws := range items {
		sent += len(ws)
	}
	c.mu.Lock()
	c.items = append(c.items, sent)
	for _, ws := range held {
		c.withheld += len(ws)
	}
	c.mu.Unlock()
	if in["RequestItems"], err = json.Marshal(items); err != nil {
		return nil, err
	}
	if body, err = json.Marshal(in); err != nil {
		return nil, err
	}
	req = req.Clone(req.Context())
	req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	req.Header.Set("Content-Length", fmt.Sprint(len(body)))
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusOK || len(held) == 0 {
		return resp, err
	}
	rb, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	var out map[string]json.RawMessage
	if err := json.Unmarshal(rb, &out); err != nil {
		return nil, err
	}
	var un map[string][]json.RawMessage
	if raw, ok := out["UnprocessedItems"]; ok {
		if err := json.Unmarshal(raw, &un); err != nil {
			return nil, err
		}
	}
	if un == nil {
		un = map[string][]json.RawMessage{}
	}
	for t, ws := range held {
		un[t] = append(un[t], ws...)
	}
	if out["UnprocessedItems"], err = json.Marshal(un); err != nil {
		return nil, err
	}
	if rb, err = json.Marshal(out); err != nil {
		return nil, err
	}
	resp.Header.Del("X-Amz-Crc32") // the SDK checks it against the body, which is edited
	resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(rb)), int64(len(rb))
	return resp, nil
}

// interceptedClient is a dynalite client whose calls go through c, with the SDK's own retries
// off, so that every retry a test sees is the Store's.
func interceptedClient(t testing.TB, c *interceptor) *ddb.Client {
	ep := awstest.DynamoDB(t)
	return ddb.NewFromConfig(ep.Config, func(o *ddb.Options) {
		o.BaseEndpoint = aws.String(ep.URL)
		o.HTTPClient = c
		o.RetryMaxAttempts = 1
	})
}

// testNow is the present of the tests other than the suite's.
var testNow = time.Date(2024, 3, 13, 9, 30, 0, 0, time.UTC)

// alerts returns n alerts of a few types and symbols, one a second back from testNow, live.
func alerts(n int, tag string) []ctc.Alert {
	types := []ctc.AlertType{ctc.VolumeSpike, ctc.Whale, ctc.Spread}
	symbols := []string{"BTC-USDT", "ETH-USDT", "BTC"}
	out := make([]ctc.Alert, n)
	for i := range out {
		typ, sym := types[i%3], symbols[(i/3)%3]
		at := testNow.Add(-time.Duration(i+1) * time.Second)
		out[i] = ctc.Alert{
			AlertID: ctc.NewAlertID(typ, ctc.Binance, sym, fmt.Sprint(tag, i)), AlertType: typ, Symbol: sym,
			Exchange: ctc.Binance, Severity: ctc.High, ZScore: float64(i) / 7, ThresholdValue: 3, ActualValue: float64(i) * 1.1,
			WindowStart: at.Add(-time.Minute), DetectedAt: at, Message: fmt.Sprint("alert ", tag, i),
			TTLEpoch: at.Add(ctc.AlertTTL).Unix(), EmittedAt: at.Add(time.Millisecond),
		}
	}
	return out
}

func ids(as []ctc.Alert) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.AlertID.String()
	}
	return out
}
