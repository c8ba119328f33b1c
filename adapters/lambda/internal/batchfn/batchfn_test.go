package batchfn

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/metrics/emf"
	"github.com/coattailcapital/ctc/quality"
	"github.com/coattailcapital/ctc/sink/iceberg"
)

func ptr[T any](v T) *T { return &v }

func TestCheck(t *testing.T) {
	t.Parallel()
	good := &Result{Status: StatusSucceeded, Trades: 1000, Quality: &quality.Stats{Processed: 1000, Passed: 990, QualityScore: 99},
		Original: map[ctc.AlertType]int{ctc.Whale: 8, ctc.Spread: 2}, OnlyOriginal: 1}
	for _, c := range []struct {
		name    string
		res     *Result
		in      Input
		passed  bool
		reasons []string
	}{
		{"defaults", good, Input{}, true, nil},
		{"score", good, Input{MinQualityScore: ptr(99.5)}, false, []string{"quality score 99.00 % is below 99.50 % (990 of 1000 records passed)"}},
		{"trades", good, Input{MinTrades: ptr(int64(1001))}, false, []string{"1000 trades reprocessed, fewer than 1001: is the day loaded?"}},
		{"missing alerts", good, Input{MaxMissingAlertPct: ptr(5.0)}, false,
			[]string{"10.0 % of the live alerts (1 of 10) are missing from the reprocessed ones, more than 5.0 %"}},
		{"all at once", good, Input{MinQualityScore: ptr(100.0), MinTrades: ptr(int64(5000)), MaxMissingAlertPct: ptr(0.0)}, false, []string{
			"quality score 99.00 % is below 100.00 % (990 of 1000 records passed)",
			"1000 trades reprocessed, fewer than 5000: is the day loaded?",
			"10.0 % of the live alerts (1 of 10) are missing from the reprocessed ones, more than 0.0 %"}},
		{"empty day", &Result{Status: StatusSucceeded, Quality: &quality.Stats{QualityScore: 100}}, Input{}, false,
			[]string{"0 trades reprocessed, fewer than 1: is the day loaded?"}},
		{"failed run", &Result{Status: StatusFailed, Error: "boom"}, Input{RunID: "r"}, false, []string{"run r is FAILED: boom"}},
		{"never run", nil, Input{RunID: "r"}, false, []string{"run r is not recorded: run the reprocess task first"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := Check(c.res, &c.in)
			if c.reasons == nil {
				c.reasons = []string{}
			}
			if got.Passed != c.passed || !cmp.Equal(c.reasons, got.Reasons) {
				t.Fatalf("got passed=%v %q, want %v %q", got.Passed, got.Reasons, c.passed, c.reasons)
			}
		})
	}
}

func TestThresholds(t *testing.T) {
	t.Parallel()
	in := Input{Thresholds: &ThresholdsInput{Whale: ptr(50_000.0), MinHistory: ptr(3)}}
	th, err := in.thresholds()
	if err != nil || th.Whale != 50_000 || th.MinHistory != 3 || th.ZMedium != 2.5 {
		t.Fatalf("%+v %v", th, err)
	}
	in.Thresholds.Whale = ptr(-1.0)
	if _, err := in.thresholds(); err == nil {
		t.Fatal("a negative whale threshold was accepted")
	}
}

func TestDay(t *testing.T) {
	t.Parallel()
	h, _ := New(Config{Lake: func(context.Context) (*iceberg.Sink, error) { return nil, errors.New("no lake") },
		Now: func() time.Time { return time.Date(2024, 3, 1, 1, 0, 0, 0, time.FixedZone("X", 5*3600)) }})
	day, start, err := h.day(&Input{})
	if err != nil || day != "2024-02-28" || !start.Equal(time.Date(2024, 2, 28, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("default day: %s %v %v", day, start, err)
	}
}

// Whatever JSON a task receives, the handler answers with an output or an error, never a panic.
func FuzzHandle(f *testing.F) {
	for _, s := range []string{
		`{"task":"historical_load","symbols":["BTCUSDT"],"day":"2024-01-15"}`,
		`{"task":"reprocess","day":"2024-01-15","snapshot_id":1,"thresholds":{"whale":1}}`,
		`{"task":"quality_check","run_id":"r","min_quality_score":95}`,
		`{"task":"catalog_update","run_id":"r","keep_runs":-1}`,
		`{"task":"reprocess","as_of":"2024-01-15T00:00:00Z","snapshot_id":3}`, `{}`, `[]`, `"x"`, `{"task":1}`,
	} {
		f.Add([]byte(s))
	}
	h, _ := New(Config{Lake: func(context.Context) (*iceberg.Sink, error) { return nil, errors.New("no lake in the fuzz test") },
		Now: func() time.Time { return time.Unix(0, 0) }})
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := h.Handle(context.Background(), b)
		if err == nil && !json.Valid(out) {
			t.Fatalf("output %q is not JSON", out)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "batchfn: ") && !strings.Contains(err.Error(), "no lake") {
			t.Fatalf("error %q does not say where it comes from", err)
		}
	})
}

// Every task writes BatchJobSuccess or BatchJobFailure under its name.
func TestMetrics(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	m, err := emf.New(&out, emf.Config{Now: func() time.Time { return time.Unix(1700000000, 0) }})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := New(Config{Lake: func(context.Context) (*iceberg.Sink, error) { return nil, errors.New("no lake") }, Metrics: m})
	if _, err := h.Handle(context.Background(), []byte(`{"task":"quality_check","run_id":"r"}`)); err == nil {
		t.Fatal("a task without its lake succeeded")
	}
	var line struct {
		Job                              string
		BatchJobSuccess, BatchJobFailure float64
	}
	if err := json.Unmarshal([]byte(out.String()), &line); err != nil {
		t.Fatalf("%s: %v", out.String(), err)
	}
	if line.Job != "quality_check" || line.BatchJobSuccess != 0 || line.BatchJobFailure != 1 {
		t.Fatalf("metrics line %s", out.String())
	}
}
