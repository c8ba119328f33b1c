package batchfn

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/metrics/emf"
	"github.com/coattailcapital/ctc/sink/iceberg"
	"github.com/coattailcapital/ctc/sink/iceberg/maintain"
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
		`{"task":"historical_load","day":"2024-01-15","exchanges":["coinbase","kraken"]}`,
		`{"task":"reprocess","day":"2024-01-15","snapshot_id":1,"thresholds":{"whale":1}}`,
		`{"task":"quality_check","run_id":"r","min_quality_score":95}`,
		`{"task":"catalog_update","run_id":"r","keep_runs":-1}`,
		`{"task":"reprocess","as_of":"2024-01-15T00:00:00Z","snapshot_id":3}`, `{}`, `[]`, `"x"`, `{"task":1}`,
		`{"task":"maintain","tables":["raw_trades"],"retention_days":-1,"orphan_age_hours":0,"min_input_files":1}`,
		`{"task":"evidence","day":"2024-01-15","days":40}`, `{"task":"evidence","from":"2024-01-16T00:00:00Z","to":"2024-01-15T00:00:00Z"}`,
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

// The maintain input's fields override the default policy one by one.
func TestPolicyFromInput(t *testing.T) {
	t.Parallel()
	p := (&Input{RetentionDays: 3, OrphanAgeHours: 6, Tables: []string{iceberg.RawTrades}}).policy()
	def := maintain.DefaultPolicy()
	if p.Expire.Retention != 72*time.Hour || p.Orphans.Age != 6*time.Hour || p.Expire.MinSnapshots != def.Expire.MinSnapshots ||
		p.Compact.MinInputFiles != def.Compact.MinInputFiles || len(p.Tables) != 1 {
		t.Fatalf("%+v", p)
	}
	h, _ := New(Config{Lake: func(context.Context) (*iceberg.Sink, error) { return nil, errors.New("no lake") }})
	if _, err := h.Run(context.Background(), &Input{Task: TaskMaintain, Tables: []string{"trades"}}); err == nil ||
		!strings.Contains(err.Error(), `batchfn: maintain: table "trades" is not one of`) {
		t.Fatalf("an unknown table: %v", err)
	}
}

// maintain compacts a lake's small files through the handler and keeps its checkpoints.
func TestMaintain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	open := func(ctx context.Context) (*iceberg.Sink, error) { return iceberg.Open(ctx, iceberg.Config{Dir: dir}) }
	lake, err := open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2024, 1, 15, 0, 0, 0, 0, time.UTC)
	for seq := int64(1); seq <= 6; seq++ {
		tr := ctc.Trade{EventID: uuid.New(), Exchange: ctc.Binance, Symbol: "BTC-USDT", Price: 100, Quantity: 1, QuoteVolume: 100,
			Side: ctc.Buy, Timestamp: day.Add(time.Duration(seq) * time.Minute)}
		if err := lake.Write(ctx, &ctc.Batch{Trades: []ctc.Trade{tr}}); err != nil {
			t.Fatal(err)
		}
		if err := lake.Commit(ctx, ctc.Checkpoint{PipelineID: "historical_load/2024-01-15/BTCUSDT", Seq: seq}); err != nil {
			t.Fatal(err)
		}
	}
	if err := lake.Close(ctx); err != nil {
		t.Fatal(err)
	}
	h, _ := New(Config{Lake: open})
	raw, err := h.Handle(ctx, []byte(`{"task":"maintain","tables":["raw_trades"],"min_input_files":2}`))
	if err != nil {
		t.Fatal(err)
	}
	var out MaintainResult
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	if out.Task != TaskMaintain || out.FilesBefore != 6 || out.FilesAfter != 1 || len(out.Tables) != 1 || out.Tables[0].Expire == nil {
		t.Fatalf("%s", raw)
	}
	lake, err = open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lake.Close(ctx)
	cps, err := lake.Committed(ctx, "historical_load/2024-01-15/BTCUSDT")
	if err != nil || cps[iceberg.RawTrades].Seq != 6 {
		t.Fatalf("checkpoints after maintenance: %v, %v", cps, err)
	}
}
