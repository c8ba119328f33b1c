package lambda_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/coattailcapital/ctc/adapters/lambda/internal/batchfn"
	"github.com/coattailcapital/ctc/internal/awstest"
	"github.com/coattailcapital/ctc/reprocess"
	"github.com/coattailcapital/ctc/sink/iceberg"
	"github.com/coattailcapital/ctc/source/binance/binancetest"
)

// task invokes the batch Lambda with in and decodes its output into out; a function error is
// returned as an error.
func task(t *testing.T, l *awstest.Lambda, in map[string]any, out any) error {
	t.Helper()
	b, _ := json.Marshal(in)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	resp, err := l.Invoke(ctx, b)
	if err != nil {
		return err
	}
	var fe struct{ ErrorMessage string }
	if json.Unmarshal(resp, &fe) == nil && fe.ErrorMessage != "" {
		return &taskError{fe.ErrorMessage}
	}
	if err := json.Unmarshal(resp, out); err != nil {
		t.Fatalf("output %s: %v", resp, err)
	}
	return nil
}

type taskError struct{ msg string }

func (e *taskError) Error() string { return e.msg }

func rawTrades(t *testing.T, dir string) int {
	t.Helper()
	ctx := context.Background()
	lake, err := iceberg.Open(ctx, iceberg.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer lake.Close(ctx)
	n := 0
	for b, err := range lake.ScanTrades(ctx, iceberg.ScanOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		n += len(b)
	}
	return n
}

// The workflow's tasks, in order, through the built batch Lambda under the emulator: a day loaded
// from the Binance test server into a local SQL-catalog warehouse (twice: the retry commits
// nothing again), reprocessed, polled, checked and published; and the ways each step fails.
func TestBatchLambda(t *testing.T) {
	srv := binancetest.New(t)
	btc := srv.Skip("BTCUSDT", 2300) // three pages
	eth := srv.Skip("ETHUSDT", 400)
	day := time.UnixMilli(btc[0].Time).UTC().Format(time.DateOnly)
	if last := time.UnixMilli(eth[len(eth)-1].Time).UTC().Format(time.DateOnly); last != day {
		t.Skip("the test trades straddle midnight UTC; run it again")
	}
	dir := t.TempDir()
	l := awstest.StartLambda(t, bootstrap(t, "batch"), awsEnv(t,
		"CTC_CATALOG=sql", "CTC_WAREHOUSE="+dir, "CTC_BINANCE_ENDPOINT="+srv.URL)...)

	// Binance alone: the Lambda's Coinbase endpoint is the exchange's (batchfn's tests load both
	// exchanges from local servers).
	load := map[string]any{"task": "historical_load", "symbols": []string{"BTCUSDT", "ETH-USDT"}, "day": day, "exchanges": []string{"binance"}}
	var lr batchfn.LoadResult
	if err := task(t, l, load, &lr); err != nil {
		t.Fatal(err)
	}
	if lr.Trades != 2700 || lr.Symbols["BTCUSDT"] != 2300 || lr.Symbols["ETHUSDT"] != 400 || lr.SnapshotID == 0 {
		t.Fatalf("load: %+v", lr)
	}
	var again batchfn.LoadResult
	if err := task(t, l, load, &again); err != nil {
		t.Fatal(err)
	}
	if n := rawTrades(t, dir); n != 2700 {
		t.Fatalf("raw_trades has %d rows after loading the day twice, want 2700", n)
	}
	if again.SnapshotID != lr.SnapshotID {
		t.Fatalf("the repeated load committed: snapshot %d, then %d", lr.SnapshotID, again.SnapshotID)
	}

	var rp batchfn.Result
	if err := task(t, l, map[string]any{"task": "reprocess", "day": day, "snapshot_id": lr.SnapshotID}, &rp); err != nil {
		t.Fatal(err)
	}
	if rp.Status != "SUCCEEDED" || rp.RunID != "reprocess-"+day || rp.Trades != 2700 || rp.Quality == nil || rp.Quality.QualityScore != 100 {
		t.Fatalf("reprocess: %+v", rp)
	}
	var rerun batchfn.Result
	if err := task(t, l, map[string]any{"task": "reprocess", "day": day}, &rerun); err != nil {
		t.Fatal(err)
	}
	if !rerun.FinishedAt.Equal(rp.FinishedAt) {
		t.Fatalf("a run that succeeded ran again: finished %v, then %v", rp.FinishedAt, rerun.FinishedAt)
	}

	var st batchfn.Result
	if err := task(t, l, map[string]any{"task": "reprocess_status", "run_id": rp.RunID}, &st); err != nil {
		t.Fatal(err)
	}
	if st.Status != "SUCCEEDED" || st.Trades != 2700 {
		t.Fatalf("status: %+v", st)
	}
	if err := task(t, l, map[string]any{"task": "reprocess_status", "run_id": "never"}, &st); err != nil || st.Status != "RUNNING" {
		t.Fatalf("status of an unknown run: %+v, %v", st, err)
	}

	var qc batchfn.CheckResult
	if err := task(t, l, map[string]any{"task": "quality_check", "run_id": rp.RunID}, &qc); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(batchfn.CheckResult{Task: "quality_check", Verdict: reprocess.Verdict{RunID: rp.RunID, Passed: true, Score: 100, Trades: 2700, Reasons: []string{}}}, qc); d != "" {
		t.Fatalf("quality_check (-want +got):\n%s", d)
	}
	if err := task(t, l, map[string]any{"task": "quality_check", "run_id": rp.RunID, "min_trades": 5000}, &qc); err != nil {
		t.Fatal(err)
	}
	if qc.Passed || len(qc.Reasons) != 1 || !strings.Contains(qc.Reasons[0], "fewer than 5000") {
		t.Fatalf("quality_check with min_trades 5000: %+v", qc)
	}

	var up batchfn.UpdateResult
	if err := task(t, l, map[string]any{"task": "catalog_update", "run_id": rp.RunID}, &up); err != nil {
		t.Fatal(err)
	}
	if up.RunID != rp.RunID || up.RunsKept != 1 || up.ValidatedAt.IsZero() {
		t.Fatalf("catalog_update: %+v", up)
	}
	ctx := context.Background()
	lake, err := iceberg.Open(ctx, iceberg.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := lake.Table(ctx, iceberg.AnomaliesReprocessed)
	if err != nil {
		t.Fatal(err)
	}
	props := tbl.Properties()
	lake.Close(ctx)
	if props[reprocess.PropValidatedRun] != rp.RunID || props[reprocess.PropValidatedScore] != "100" || props[reprocess.PropRunPrefix+rp.RunID] == "" {
		t.Fatalf("anomalies_reprocessed properties after catalog_update: %v", props)
	}

	t.Run("failures", func(t *testing.T) {
		var out map[string]any
		for _, c := range []struct {
			in   map[string]any
			want string
		}{
			{map[string]any{"task": "nope"}, "task must be one of"},
			{map[string]any{"task": "historical_load", "symbols": []string{"NOPEUSDT"}, "day": day}, "Invalid symbol"},
			{map[string]any{"task": "historical_load", "symbols": []string{"BTCUSDT"}, "day": "yesterday"}, "YYYY-MM-DD"},
			{map[string]any{"task": "reprocess", "snapshot_id": 1, "as_of": "2024-01-01T00:00:00Z"}, "not both"},
			{map[string]any{"task": "quality_check"}, `needs "run_id"`},
			{map[string]any{"task": "catalog_update", "run_id": "never"}, "has not succeeded"},
			{map[string]any{"task": "reprocess", "symbols": 3}, "not a task object"},
		} {
			if err := task(t, l, c.in, &out); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%v: got %v, want an error with %q", c.in, err, c.want)
			}
		}
		// A run that fails is recorded FAILED, polled as FAILED, and does not pass its checks.
		if err := task(t, l, map[string]any{"task": "reprocess", "run_id": "bad", "snapshot_id": 12345}, &out); err == nil {
			t.Fatal("reprocessing an unknown snapshot succeeded")
		}
		var st batchfn.Result
		if err := task(t, l, map[string]any{"task": "reprocess_status", "run_id": "bad"}, &st); err != nil || st.Status != "FAILED" || st.Error == "" {
			t.Fatalf("status of a failed run: %+v, %v", st, err)
		}
		var qc batchfn.CheckResult
		if err := task(t, l, map[string]any{"task": "quality_check", "run_id": "bad"}, &qc); err != nil || qc.Passed {
			t.Fatalf("quality_check of a failed run: %+v, %v", qc, err)
		}
		// Binance down: the load fails (after its retries) rather than loading part of the day.
		srv.RESTDown(true)
		if err := task(t, l, map[string]any{"task": "historical_load", "symbols": []string{"BTCUSDT"}, "day": day}, &out); err == nil {
			t.Fatal("a load with Binance down succeeded")
		}
	})
}
