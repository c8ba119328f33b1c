package reprocess_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/uuid"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/detect"
	"github.com/coattailcapital/ctc/quality"
	"github.com/coattailcapital/ctc/reprocess"
	"github.com/coattailcapital/ctc/sink/iceberg"
)

func TestGate(t *testing.T) {
	good := &reprocess.Result{Status: reprocess.StatusSucceeded, Trades: 1000, Quality: &quality.Stats{Processed: 1000, Passed: 990, QualityScore: 99},
		Original: map[ctc.AlertType]int{ctc.Whale: 8, ctc.Spread: 2}, OnlyOriginal: 1}
	for _, c := range []struct {
		name    string
		res     *reprocess.Result
		gate    func(*reprocess.Gate)
		passed  bool
		reasons []string
	}{
		{"defaults", good, nil, true, nil},
		{"score", good, func(g *reprocess.Gate) { g.MinQualityScore = 99.5 }, false, []string{"quality score 99.00 % is below 99.50 % (990 of 1000 records passed)"}},
		{"trades", good, func(g *reprocess.Gate) { g.MinTrades = 1001 }, false, []string{"1000 trades reprocessed, fewer than 1001: is the day loaded?"}},
		{"missing alerts", good, func(g *reprocess.Gate) { g.MaxMissingAlertPct = 5 }, false,
			[]string{"10.0 % of the live alerts (1 of 10) are missing from the reprocessed ones, more than 5.0 %"}},
		{"all at once", good, func(g *reprocess.Gate) { *g = reprocess.Gate{MinQualityScore: 100, MinTrades: 5000} }, false, []string{
			"quality score 99.00 % is below 100.00 % (990 of 1000 records passed)",
			"1000 trades reprocessed, fewer than 5000: is the day loaded?",
			"10.0 % of the live alerts (1 of 10) are missing from the reprocessed ones, more than 0.0 %"}},
		{"empty day", &reprocess.Result{Status: reprocess.StatusSucceeded, Quality: &quality.Stats{QualityScore: 100}}, nil, false,
			[]string{"0 trades reprocessed, fewer than 1: is the day loaded?"}},
		{"failed run", &reprocess.Result{Status: reprocess.StatusFailed, Error: "boom"}, nil, false, []string{"run r is FAILED: boom"}},
		{"never run", nil, nil, false, []string{"run r is not recorded: run the reprocess task first"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := reprocess.DefaultGate()
			if c.gate != nil {
				c.gate(&g)
			}
			got := g.Check("r", c.res)
			if c.reasons == nil {
				c.reasons = []string{}
			}
			if got.Passed != c.passed || !cmp.Equal(c.reasons, got.Reasons) {
				t.Fatalf("got passed=%v %q, want %v %q", got.Passed, got.Reasons, c.passed, c.reasons)
			}
		})
	}
}

// A registered run is recorded once, not run again when it succeeded, and published with its
// retention applied; a failed run is recorded FAILED and cannot be published.
func TestRunOnceThenPublish(t *testing.T) {
	ctx := context.Background()
	lake, err := iceberg.Open(ctx, iceberg.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer lake.Close(ctx)
	start := time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC)
	var b ctc.Batch
	for i := range 500 {
		at := start.Add(time.Duration(i) * time.Second)
		price := 40_000.0
		qty := 0.01
		if i == 250 {
			qty = 10 // a whale
		}
		b.Trades = append(b.Trades, ctc.Trade{EventID: uuid.NewSHA1(uuid.Nil, []byte{byte(i), byte(i >> 8)}), Exchange: ctc.Binance,
			Symbol: "BTC-USDT", Price: price, Quantity: qty, QuoteVolume: price * qty, Side: ctc.Buy, Timestamp: at, IngestionTimestamp: at})
	}
	if err := lake.Write(ctx, &b); err != nil {
		t.Fatal(err)
	}
	if err := lake.Commit(ctx, ctc.Checkpoint{PipelineID: "test", Seq: 1}); err != nil {
		t.Fatal(err)
	}
	ds, err := detect.DefaultThresholds().Detectors()
	if err != nil {
		t.Fatal(err)
	}
	cfg := reprocess.Config{Lake: lake, Detectors: ds, RunID: "day-1"}
	first := time.Date(2024, 1, 16, 1, 0, 0, 0, time.UTC)
	res, rep, err := reprocess.RunOnce(ctx, cfg, first)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != reprocess.StatusSucceeded || res.Trades != 500 || rep == nil || res.Reprocessed[ctc.Whale] != 1 || !res.FinishedAt.Equal(first) {
		t.Fatalf("first run: %+v", res)
	}
	again, rep, err := reprocess.RunOnce(ctx, cfg, first.Add(time.Hour))
	if err != nil || rep != nil || !again.FinishedAt.Equal(first) {
		t.Fatalf("a succeeded run ran again: %+v, report %v, %v", again, rep, err)
	}
	if got, err := reprocess.Recorded(ctx, lake, "day-1"); err != nil || !cmp.Equal(got, res, cmpopts.EquateEmpty()) {
		t.Fatalf("recorded (-want +got) %v:\n%s", err, cmp.Diff(res, got, cmpopts.EquateEmpty()))
	}

	bad := cfg
	bad.RunID, bad.Scan = "bad", iceberg.ScanOptions{SnapshotID: 12345}
	if res, _, err := reprocess.RunOnce(ctx, bad, first); err == nil || res.Status != reprocess.StatusFailed {
		t.Fatalf("a run over a missing snapshot: %+v, %v", res, err)
	}
	if _, err := reprocess.Publish(ctx, lake, "bad", reprocess.Retention{}, first); err == nil {
		t.Fatal("a failed run was published")
	}
	for i := range 3 {
		old := cfg
		old.RunID = fmt.Sprintf("older-%d", i)
		if _, _, err := reprocess.RunOnce(ctx, old, first.Add(-time.Duration(i+1)*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	pub, err := reprocess.Publish(ctx, lake, "day-1", reprocess.Retention{KeepRuns: 2}, first.Add(90*time.Second+time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if pub.RunsKept != 2 || pub.RunsRemoved != 3 || !pub.ValidatedAt.Equal(first.Add(90*time.Second)) {
		t.Fatalf("publication %+v", pub)
	}
	runs, err := reprocess.Runs(ctx, lake)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range runs {
		ids = append(ids, r.RunID)
	}
	if !cmp.Equal(ids, []string{"day-1", "bad"}) {
		t.Fatalf("runs kept %v, want the two newest", ids)
	}
	tbl, err := lake.Table(ctx, iceberg.AnomaliesReprocessed)
	if err != nil {
		t.Fatal(err)
	}
	if p := tbl.Properties(); p[reprocess.PropValidatedRun] != "day-1" || p[reprocess.PropValidatedScore] != "100" {
		t.Fatalf("properties %v", p)
	}
}
