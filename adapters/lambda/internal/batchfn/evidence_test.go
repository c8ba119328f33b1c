package batchfn

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/evidence"
	"github.com/coattailcapital/ctc/sink/iceberg"
)

// evidenceLake writes a warehouse of BTC-USDT trades every 10 s from 2024-01-14 00:00 to
// 2024-01-17 02:00 UTC and a whale alert at noon of each of the three days (and one at 00:30 on
// the 17th), and returns its opener.
func evidenceLake(t *testing.T) func(context.Context) (*iceberg.Sink, error) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	open := func(ctx context.Context) (*iceberg.Sink, error) { return iceberg.Open(ctx, iceberg.Config{Dir: dir}) }
	lake, err := open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2024, 1, 14, 0, 0, 0, 0, time.UTC)
	var b ctc.Batch
	for i, ts := 0, start; ts.Before(start.Add(74 * time.Hour)); i, ts = i+1, ts.Add(10*time.Second) {
		p := 40_000 + float64(i%360)
		b.Trades = append(b.Trades, ctc.Trade{EventID: ctc.NewEventIDInt(ctc.Binance, "BTC-USDT", int64(i)), Exchange: ctc.Binance,
			Symbol: "BTC-USDT", Price: p, Quantity: 0.5, QuoteVolume: p * 0.5, Side: ctc.Buy, Timestamp: ts, IngestionTimestamp: ts})
	}
	for i, at := range []time.Time{start.Add(12 * time.Hour), start.Add(36 * time.Hour), start.Add(60 * time.Hour), start.Add(72*time.Hour + 30*time.Minute)} {
		b.Output.Alerts = append(b.Output.Alerts, ctc.Alert{AlertID: ctc.NewAlertID(ctc.Whale, ctc.Binance, "BTC-USDT", at.String()),
			AlertType: ctc.Whale, Symbol: "BTC-USDT", Exchange: ctc.Binance, Severity: ctc.High, ThresholdValue: 500_000,
			ActualValue: 600_000 + float64(i), WindowStart: at, DetectedAt: at, Message: "BTC-USDT on binance: $600.0k buy of 15 at 40000.00",
			TTLEpoch: at.Add(ctc.AlertTTL).Unix(), EmittedAt: at})
	}
	if err := lake.Write(ctx, &b); err != nil {
		t.Fatal(err)
	}
	if err := lake.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := lake.Close(ctx); err != nil {
		t.Fatal(err)
	}
	return open
}

// The evidence task judges the alerts of its window and hands the whole report to PutEvidence.
func TestEvidenceTask(t *testing.T) {
	t.Parallel()
	open := evidenceLake(t)
	var put [][]byte
	putErr := error(nil)
	h, _ := New(Config{Lake: open, EvidenceURI: "s3://b/evidence/latest.json",
		PutEvidence: func(_ context.Context, b []byte) error { put = append(put, b); return putErr },
		Now:         func() time.Time { return time.Date(2024, 1, 17, 1, 0, 0, 0, time.UTC) }})
	day := func(d int) time.Time { return time.Date(2024, 1, d, 0, 0, 0, 0, time.UTC) }
	for _, c := range []struct {
		in       string
		from, to time.Time
		alerts   int
	}{
		{`{"task":"evidence","day":"2024-01-15","days":1}`, day(15), day(16), 1},
		{`{"task":"evidence","day":"2024-01-16","days":2}`, day(15), day(17), 2},
		{`{"task":"evidence","day":"2024-01-17","days":1}`, day(17), day(18), 1},
		{`{"task":"evidence","day":"2024-01-17"}`, day(11), day(18), 4}, // DefaultEvidenceDays: a week
		{`{"task":"evidence"}`, day(10), day(17), 3},                    // the week ending yesterday
		{`{"task":"evidence","day":"2024-01-16","from":"2024-01-14T13:00:00Z"}`, day(14).Add(13 * time.Hour), day(17), 2},
	} {
		put = nil
		raw, err := h.Handle(context.Background(), []byte(c.in))
		if err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		var out EvidenceResult
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatal(err)
		}
		if len(put) != 1 {
			t.Fatalf("%s: %d reports written, want 1", c.in, len(put))
		}
		var rep evidence.Report
		if err := json.Unmarshal(put[0], &rep); err != nil {
			t.Fatalf("%s: the report written is not a report: %v", c.in, err)
		}
		want := EvidenceResult{Task: TaskEvidence, From: c.from, To: c.to, Alerts: c.alerts, Trades: rep.Trades,
			URI: "s3://b/evidence/latest.json", Bytes: len(put[0])}
		if out != want || rep.Alerts != c.alerts || rep.Trades == 0 || rep.Seed != 1 || rep.BaselinePerAlert != evidence.DefaultBaseline {
			t.Errorf("%s:\n got %+v (report: %d alerts, %d trades, seed %d)\nwant %+v", c.in, out, rep.Alerts, rep.Trades, rep.Seed, want)
		}
	}

	for _, c := range []struct{ in, want string }{
		{`{"task":"evidence","days":32}`, "days must be 1..31, got 32"},
		{`{"task":"evidence","days":-1}`, "days must be 1..31, got -1"},
		{`{"task":"evidence","day":"16/01/2024"}`, "day must be YYYY-MM-DD"},
		{`{"task":"evidence","from":"2024-01-20T00:00:00Z"}`, "must be before"},
	} {
		if _, err := h.Handle(context.Background(), []byte(c.in)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.in, err, c.want)
		}
	}
	putErr = errors.New("AccessDenied")
	if _, err := h.Handle(context.Background(), []byte(`{"task":"evidence","day":"2024-01-15","days":1}`)); err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Errorf("a failed write: %v", err)
	}
	h, _ = New(Config{Lake: open})
	if _, err := h.Handle(context.Background(), []byte(`{"task":"evidence"}`)); err == nil || !strings.Contains(err.Error(), "CTC_EVIDENCE_URI") {
		t.Errorf("without CTC_EVIDENCE_URI: %v", err)
	}
}
