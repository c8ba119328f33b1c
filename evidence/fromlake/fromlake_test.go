package fromlake_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/detect"
	"github.com/coattailcapital/ctc/evidence"
	"github.com/coattailcapital/ctc/evidence/fromlake"
	"github.com/coattailcapital/ctc/quality"
	"github.com/coattailcapital/ctc/sink/iceberg"
	"github.com/coattailcapital/ctc/source/sim"
)

// t0 is 40 minutes before midnight UTC, so that the simulated hour spans two days.
var t0 = time.Date(2024, 1, 15, 23, 20, 0, 0, time.UTC)

// simulated writes the simulator's trades and alerts (whales, spread dislocations, volume spikes)
// over d from t0 to a warehouse in a new directory, and returns it open.
func simulated(t *testing.T, d time.Duration) *iceberg.Sink {
	t.Helper()
	ctx := context.Background()
	src, err := sim.New(sim.Config{Seed: 7, Start: t0, Duration: d, InjectEvery: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	lake, err := iceberg.Open(ctx, iceberg.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lake.Close(ctx) })
	chain, _ := quality.New(quality.Config{})
	p, err := ctc.NewPipeline(src, ctc.WithChecker(chain), ctc.WithDetectors(detect.Defaults()...), ctc.WithSinks(lake))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
	return lake
}

// direct is the evaluation written out without package fromlake: every alert of the range, and
// the trades of the span Config.Span gives for the range (or its alerts where it is unbounded).
func direct(t *testing.T, lake *iceberg.Sink, cfg evidence.Config, keep func(string) bool) *evidence.Report {
	t.Helper()
	ctx := context.Background()
	all, err := lake.ScanAlerts(ctx, iceberg.AnomalyAlerts, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var alerts []ctc.Alert
	for _, a := range all {
		if (cfg.From.IsZero() || !a.DetectedAt.Before(cfg.From)) && (cfg.To.IsZero() || a.DetectedAt.Before(cfg.To)) && (keep == nil || keep(a.Symbol)) {
			alerts = append(alerts, a)
		}
	}
	var trades evidence.Trades
	if len(alerts) > 0 {
		first, last := cfg.From, cfg.To
		if first.IsZero() {
			first = alerts[0].DetectedAt
		}
		if last.IsZero() {
			last = alerts[len(alerts)-1].DetectedAt
		}
		from, to := cfg.Span(first, last)
		for b, err := range lake.ScanTrades(ctx, iceberg.ScanOptions{}) {
			if err != nil {
				t.Fatal(err)
			}
			for _, tr := range b {
				if !tr.Timestamp.Before(from) && !tr.Timestamp.After(to) && (keep == nil || keep(tr.Symbol)) {
					trades.Add(tr)
				}
			}
		}
	}
	r, err := evidence.Evaluate(cfg, alerts, &trades)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestEvaluate(t *testing.T) {
	lake := simulated(t, time.Hour)
	day2 := time.Date(2024, 1, 16, 0, 0, 0, 0, time.UTC)
	btc := func(s string) bool { return ctc.InstrumentOf(s) == "BTC" }
	for _, c := range []struct {
		name string
		cfg  evidence.Config
		keep func(string) bool
	}{
		{"everything", evidence.Config{Seed: 1}, nil},
		{"the second day", evidence.Config{Seed: 1, From: day2, To: day2.Add(24 * time.Hour)}, nil},
		{"the first day's BTC", evidence.Config{Seed: 2, To: day2, Baseline: 5}, btc},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := fromlake.Evaluate(context.Background(), lake, c.cfg, c.keep)
			if err != nil {
				t.Fatal(err)
			}
			want := direct(t, lake, c.cfg, c.keep)
			if got.Alerts == 0 || got.Trades == 0 {
				t.Fatalf("judged %d alerts over %d trades: the simulated hour has both", got.Alerts, got.Trades)
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Fatalf("(-direct +fromlake):\n%s", d)
			}
			again, _ := fromlake.Evaluate(context.Background(), lake, c.cfg, c.keep)
			a, _ := json.Marshal(got)
			b, _ := json.Marshal(again)
			if string(a) != string(b) {
				t.Fatal("two evaluations of the same warehouse differ")
			}
		})
	}
}

// A warehouse without alerts in the range gives an empty report, and a bad Config an error before
// anything is read.
func TestEvaluateEmptyAndInvalid(t *testing.T) {
	lake := simulated(t, 10*time.Minute)
	r, err := fromlake.Evaluate(context.Background(), lake, evidence.Config{From: t0.Add(48 * time.Hour)}, nil)
	if err != nil || r.Alerts != 0 || r.Trades != 0 || len(r.Groups) != 0 {
		t.Fatalf("%+v, %v", r, err)
	}
	if _, err := fromlake.Evaluate(context.Background(), lake, evidence.Config{Baseline: 5000}, nil); err == nil {
		t.Fatal("a Baseline over 1000 was accepted")
	}
}

// Both scans read the snapshot current when Evaluate starts: trades committed between them (a
// pipeline writing while the report is made) change nothing, where the second scan of a newer
// snapshot would give trades the first did not and fail the evaluation.
func TestEvaluateReadsOneSnapshot(t *testing.T) {
	lake := simulated(t, 10*time.Minute)
	ctx := context.Background()
	cfg := evidence.Config{Seed: 1}
	want, err := fromlake.Evaluate(ctx, lake, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	var more []ctc.Trade
	for b, err := range lake.ScanTrades(ctx, iceberg.ScanOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		for _, tr := range b[:min(len(b), 50)] {
			tr.EventID[0] ^= 0xff // other trades at the same times
			tr.Price *= 2
			more = append(more, tr)
		}
	}
	committed, calls := false, 0
	keep := func(string) bool {
		// keep is asked of the alerts first (a few dozen), then of the trades of the first scan
		// (some 27,000): commit in the middle of the first scan.
		if calls++; calls == want.Trades/2 {
			committed = true
			if err := lake.Write(ctx, &ctc.Batch{Trades: more}); err != nil {
				t.Fatal(err)
			}
			if err := lake.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
		return true
	}
	got, err := fromlake.Evaluate(ctx, lake, cfg, keep)
	if err != nil {
		t.Fatal(err)
	}
	if !committed {
		t.Fatal("nothing was committed during the evaluation")
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("a commit between the scans changed the report (-before +during):\n%s", d)
	}
	after, err := fromlake.Evaluate(ctx, lake, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if after.Trades != want.Trades+len(more) {
		t.Fatalf("after the commit: %d trades, want %d", after.Trades, want.Trades+len(more))
	}
}
