package shardrunner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	kin "github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/google/uuid"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/internal/awstest"
	"github.com/coattailcapital/ctc/source/sim"
)

// simTrades are n minutes of the seeded simulator's market (three instruments on two exchanges,
// with injected whales, bursts and dislocations), from a fixed start.
func simTrades(t testing.TB, minutes int, rate float64) []ctc.Trade {
	t.Helper()
	src, err := sim.New(sim.Config{Seed: 7, Start: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC),
		Duration: time.Duration(minutes) * time.Minute, Rate: rate, InjectEvery: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var out []ctc.Trade
	var rec ctc.Record
	for {
		rec.Reset()
		err := src.Next(context.Background(), &rec)
		if errors.Is(err, ctc.ErrEndOfInput) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rec.Trade)
	}
}

// newStream creates a stream with n shards and waits until it is active.
func newStream(t testing.TB, kc *kin.Client, n int32) string {
	t.Helper()
	ctx := context.Background()
	name := awstest.Name(t, "trades")
	if _, err := kc.CreateStream(ctx, &kin.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(n)}); err != nil {
		t.Fatal(err)
	}
	waitActive(t, kc, name)
	return name
}

func waitActive(t testing.TB, kc *kin.Client, stream string) {
	t.Helper()
	awstest.Wait(t, 30*time.Second, "stream "+stream+" to be active", func() bool {
		out, err := kc.DescribeStreamSummary(context.Background(), &kin.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
		return err == nil && out.StreamDescriptionSummary.StreamStatus == ktypes.StreamStatusActive
	})
}

// put writes trades to the stream under their instruments, in order, 500 per call.
func put(t testing.TB, kc *kin.Client, stream string, trades []ctc.Trade, extra ...[]byte) {
	t.Helper()
	var entries []ktypes.PutRecordsRequestEntry
	for _, tr := range trades {
		entries = append(entries, ktypes.PutRecordsRequestEntry{Data: tr.AppendJSON(nil), PartitionKey: aws.String(Instrument(tr.Symbol))})
	}
	for _, b := range extra {
		entries = append(entries, ktypes.PutRecordsRequestEntry{Data: b, PartitionKey: aws.String("BTC")})
	}
	for len(entries) > 0 {
		n := min(500, len(entries))
		out, err := kc.PutRecords(context.Background(), &kin.PutRecordsInput{StreamName: aws.String(stream), Records: entries[:n]})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToInt32(out.FailedRecordCount) != 0 {
			t.Fatalf("%d records failed", aws.ToInt32(out.FailedRecordCount))
		}
		entries = entries[n:]
	}
}

// tables is an in-memory lakehouse with the Iceberg sink's commit contract: each runner gets a
// sink of its own that buffers, and Commit makes the rows visible unless the pipeline already
// committed that checkpoint sequence. It counts every trade and alert committed.
type tables struct {
	mu     sync.Mutex
	last   map[string]int64
	trades map[uuid.UUID]int
	alerts map[uuid.UUID]int
	byType map[ctc.AlertType]int
	types  map[uuid.UUID]ctc.AlertType
	rows   int
	failN  int // fail this many coming commits
}

func newTables() *tables {
	return &tables{last: map[string]int64{}, trades: map[uuid.UUID]int{}, alerts: map[uuid.UUID]int{}, byType: map[ctc.AlertType]int{}, types: map[uuid.UUID]ctc.AlertType{}}
}

func (tb *tables) sink() ctc.Sink { return &tableWriter{tb: tb} }

func (tb *tables) counts() (trades, alerts int) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return len(tb.trades), len(tb.alerts)
}

type tableWriter struct {
	tb      *tables
	pending ctc.Batch
	closed  bool
}

var errInjected = errors.New("injected commit failure")

func (w *tableWriter) Write(_ context.Context, b *ctc.Batch) error {
	w.pending.Trades = append(w.pending.Trades, b.Trades...)
	w.pending.Output.Alerts = append(w.pending.Output.Alerts, b.Output.Alerts...)
	return nil
}

func (w *tableWriter) Commit(_ context.Context, cp ctc.Checkpoint) error {
	tb := w.tb
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if tb.failN > 0 {
		tb.failN--
		return errInjected
	}
	if cp.Seq > tb.last[cp.PipelineID] {
		for _, tr := range w.pending.Trades {
			tb.trades[tr.EventID]++
		}
		for _, a := range w.pending.Output.Alerts {
			tb.alerts[a.AlertID]++
			tb.byType[a.AlertType]++
			tb.types[a.AlertID] = a.AlertType
		}
		tb.rows += len(w.pending.Trades)
		tb.last[cp.PipelineID] = cp.Seq
	}
	w.pending = ctc.Batch{}
	return nil
}

func (w *tableWriter) Close(context.Context) error { w.closed = true; return nil }

// check fails unless every trade of want was committed exactly once and no alert twice.
func (tb *tables) check(t testing.TB, want []ctc.Trade) {
	t.Helper()
	tb.mu.Lock()
	defer tb.mu.Unlock()
	ids := map[uuid.UUID]bool{}
	for _, tr := range want {
		ids[tr.EventID] = true
	}
	for id, n := range tb.trades {
		if n != 1 {
			t.Errorf("trade %s committed %d times", id, n)
		}
		if !ids[id] {
			t.Errorf("trade %s committed but never put", id)
		}
	}
	for id := range ids {
		if tb.trades[id] == 0 {
			t.Errorf("trade %s was never committed", id)
		}
	}
	for id, n := range tb.alerts {
		if n != 1 {
			t.Errorf("alert %s committed %d times", id, n)
		}
	}
}

// splice sits between the Kinesis client and kinesalite and, on demand, rewrites real answers:
// it turns the next GetRecords answers into ProvisionedThroughputExceeded or ExpiredIterator
// errors (the request reached kinesalite), and splits ListShards answers into pages joined by a
// NextToken, checking that a call with a token does not name the stream.
type splice struct {
	base *http.Client

	mu          sync.Mutex
	throttle    int // GetRecords answers to turn into ProvisionedThroughputExceededException
	expire      int // ... into ExpiredIteratorException
	getRecords  int
	iterators   int // GetShardIterator answers returned
	pages       bool
	tokenCalls  int
	badTokenUse int // calls that gave both a NextToken and a StreamName
	pending     []json.RawMessage
}

func (s *splice) Do(r *http.Request) (*http.Response, error) {
	target := r.Header.Get("X-Amz-Target")
	switch target {
	case "Kinesis_20131202.GetRecords":
		res, err := s.base.Do(r)
		if err != nil {
			return nil, err
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.getRecords++
		switch {
		case s.throttle > 0 && res.StatusCode == 200:
			s.throttle--
			res.Body.Close()
			return jsonAnswer(r, 400, `{"__type":"ProvisionedThroughputExceededException","message":"Rate exceeded for shard (spliced)"}`), nil
		case s.expire > 0 && res.StatusCode == 200:
			s.expire--
			res.Body.Close()
			return jsonAnswer(r, 400, `{"__type":"ExpiredIteratorException","message":"Iterator expired (spliced)"}`), nil
		}
		return res, nil
	case "Kinesis_20131202.GetShardIterator":
		res, err := s.base.Do(r)
		if err == nil && res.StatusCode == 200 {
			s.mu.Lock()
			s.iterators++
			s.mu.Unlock()
		}
		return res, err
	case "Kinesis_20131202.ListShards":
		s.mu.Lock()
		pages := s.pages
		s.mu.Unlock()
		if !pages {
			return s.base.Do(r)
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		var in struct {
			StreamName, NextToken string
		}
		_ = json.Unmarshal(body, &in)
		s.mu.Lock()
		defer s.mu.Unlock()
		if in.NextToken != "" {
			s.tokenCalls++
			if in.StreamName != "" {
				s.badTokenUse++
			}
			rest := s.pending
			s.pending = nil
			b, _ := json.Marshal(map[string]any{"Shards": rest})
			return jsonAnswer(r, 200, string(b)), nil
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		res, err := s.base.Do(r)
		if err != nil || res.StatusCode != 200 {
			return res, err
		}
		var out struct{ Shards []json.RawMessage }
		rb, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if err := json.Unmarshal(rb, &out); err != nil || len(out.Shards) < 2 {
			return jsonAnswer(r, 200, string(rb)), nil
		}
		half := len(out.Shards) / 2
		s.pending = out.Shards[half:]
		b, _ := json.Marshal(map[string]any{"Shards": out.Shards[:half], "NextToken": "page-" + strconv.Itoa(half)})
		return jsonAnswer(r, 200, string(b)), nil
	}
	return s.base.Do(r)
}

func jsonAnswer(r *http.Request, code int, body string) *http.Response {
	return &http.Response{
		StatusCode: code, Status: strconv.Itoa(code) + " " + http.StatusText(code), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"application/x-amz-json-1.1"}, "X-Amzn-Requestid": {"spliced"}},
		Body:   io.NopCloser(bytes.NewReader([]byte(body))), ContentLength: int64(len(body)), Request: r,
	}
}

// splicedClient is a Kinesis client for kinesalite through s, without SDK retries, so that the
// consumer itself meets every error.
func splicedClient(t testing.TB, s *splice) *kin.Client {
	ep := awstest.Kinesis(t)
	s.base = &http.Client{}
	return kin.NewFromConfig(ep.Config, func(o *kin.Options) {
		o.BaseEndpoint = aws.String(ep.URL)
		o.HTTPClient = s
		o.RetryMaxAttempts = 1
	})
}

// alertsOf returns the ids of the committed alerts of one type, sorted.
func (tb *tables) alertsOf(typ ctc.AlertType) []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	var out []string
	for id, t := range tb.types {
		if t == typ {
			out = append(out, id.String())
		}
	}
	slices.Sort(out)
	return out
}

// oracleAlerts runs trades, in order, through one processor and returns the ids of the alerts
// of one type, sorted.
func oracleAlerts(t testing.TB, trades []ctc.Trade, typ ctc.AlertType) []string {
	t.Helper()
	p, err := newProc()
	if err != nil {
		t.Fatal(err)
	}
	var rec ctc.Record
	for _, tr := range trades {
		rec.Reset()
		rec.Data = tr.AppendJSON(rec.Data)
		p.Process(&rec)
	}
	var b ctc.Batch
	p.Take(&b)
	var out []string
	for _, a := range b.Output.Alerts {
		if a.AlertType == typ {
			out = append(out, a.AlertID.String())
		}
	}
	slices.Sort(out)
	return out
}
