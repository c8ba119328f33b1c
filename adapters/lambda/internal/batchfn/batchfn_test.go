package batchfn

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/ctc/metrics/emf"
	"github.com/coattailcapital/ctc/sink/iceberg"
)

func ptr[T any](v T) *T { return &v }

// The input's fields override the default gate one by one.
func TestGateFromInput(t *testing.T) {
	t.Parallel()
	g := (&Input{MinQualityScore: ptr(99.5), MaxMissingAlertPct: ptr(5.0)}).gate()
	if g.MinQualityScore != 99.5 || g.MinTrades != 1 || g.MaxMissingAlertPct != 5 {
		t.Fatalf("%+v", g)
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
