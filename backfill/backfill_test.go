package backfill_test

import (
	"context"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/backfill"
	"github.com/coattailcapital/ctc/checkpoint"
	"github.com/coattailcapital/ctc/detect"
	"github.com/coattailcapital/ctc/quality"
	"github.com/coattailcapital/ctc/reprocess"
	"github.com/coattailcapital/ctc/sink/iceberg"
	"github.com/coattailcapital/ctc/source/binance"
	"github.com/coattailcapital/ctc/source/binance/binancetest"
)

// rows counts raw_trades' rows and distinct event ids.
func rows(t *testing.T, lake *iceberg.Sink) (n, distinct int) {
	t.Helper()
	seen := map[[16]byte]bool{}
	for batch, err := range lake.ScanTrades(context.Background(), iceberg.ScanOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		for _, tr := range batch {
			seen[tr.EventID] = true
			n++
		}
	}
	return n, len(seen)
}

func TestRerunsAndRetriesLoadEachTradeOnce(t *testing.T) {
	ctx := context.Background()
	srv := binancetest.New(t)
	btc := srv.Skip("BTCUSDT", 2500)
	eth := srv.Skip("ETHUSDT", 1200)
	lake, err := iceberg.Open(ctx, iceberg.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer lake.Close(ctx)
	from := time.UnixMilli(min(btc[0].Time, eth[0].Time))
	to := time.UnixMilli(max(btc[len(btc)-1].Time, eth[len(eth)-1].Time))
	var pages []string
	cfg := backfill.Config{
		History: &binance.History{Endpoint: srv.URL, Sleep: func(context.Context, time.Duration) error { return nil }},
		Symbols: []string{"BTCUSDT", "eth-usdt"}, From: from, To: to,
		Sinks: []ctc.Sink{lake}, PipelineID: "historical_load/test", CommitEvery: 1000,
		Progress: func(sym string, _ time.Time, n int64) { pages = append(pages, sym) },
	}
	want := len(btc) + len(eth)

	// The third request is refused: BTCUSDT stops after its first two pages, 2,000 trades.
	srv.Answer(binancetest.Answer{Status: 400, After: 2})
	rep, err := backfill.Run(ctx, cfg)
	if err == nil {
		t.Fatal("a refused request did not fail the load")
	}
	if n, _ := rows(t, lake); n != 2000 || rep.Symbols["BTCUSDT"] != 2000 {
		t.Fatalf("after the failure raw_trades holds %d rows, report %v; want the 2,000 of two pages", n, rep.Symbols)
	}

	// A retry with a fresh store continues after what the lake holds; a rerun adds nothing.
	for i, what := range []string{"retry", "rerun"} {
		rep, err = backfill.Run(ctx, cfg)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if n, d := rows(t, lake); n != want || d != want {
			t.Fatalf("%s: raw_trades holds %d rows, %d distinct; want %d once each", what, n, d, want)
		}
		wantBTC := int64(len(btc) - 2000)
		if i == 1 {
			wantBTC = 0
		}
		if rep.Symbols["BTCUSDT"] != wantBTC || rep.Quality.Failed != 0 {
			t.Fatalf("%s: report %+v", what, rep)
		}
	}
	if len(pages) == 0 || pages[len(pages)-1] != "ETHUSDT" {
		t.Fatalf("progress %v", pages)
	}
}

func TestResumesFromItsStore(t *testing.T) {
	ctx := context.Background()
	srv := binancetest.New(t)
	btc := srv.Skip("BTCUSDT", 3500)
	lake, err := iceberg.Open(ctx, iceberg.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer lake.Close(ctx)
	store, err := checkpoint.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg := backfill.Config{
		History: &binance.History{Endpoint: srv.URL}, Symbols: []string{"BTCUSDT"},
		From: time.UnixMilli(btc[0].Time), To: time.UnixMilli(btc[len(btc)-1].Time),
		Sinks: []ctc.Sink{lake}, PipelineID: "loader", IDSeparator: "-", Store: store, CommitEvery: 2000,
	}
	srv.Answer(binancetest.Answer{Status: 400, After: 3})
	if _, err := backfill.Run(ctx, cfg); err == nil {
		t.Fatal("a refused request did not fail the load")
	}
	before := len(srv.Requests())
	rep, err := backfill.Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if n, d := rows(t, lake); n != len(btc) || d != len(btc) || rep.Trades != int64(len(btc)) {
		t.Fatalf("raw_trades holds %d rows, %d distinct, report %d; want %d once each", n, d, rep.Trades, len(btc))
	}
	// The resumed run asked only for what was missing: pages 4 (refused before) and the end.
	if got := len(srv.Requests()) - before; got != 1 {
		t.Fatalf("the resumed run made %d requests, want 1", got)
	}
}

func TestConfigErrors(t *testing.T) {
	h := &binance.History{}
	now := time.Now()
	for _, c := range []backfill.Config{
		{Symbols: []string{"BTCUSDT"}, Sinks: []ctc.Sink{nil}, PipelineID: "x"},
		{History: h, Sinks: []ctc.Sink{nil}, PipelineID: "x"},
		{History: h, Symbols: []string{"BTCUSDT"}, PipelineID: "x"},
		{History: h, Symbols: []string{"BTCUSDT"}, Sinks: []ctc.Sink{nil}},
		{History: h, Symbols: []string{"BTCUSDT"}, Sinks: []ctc.Sink{nil}, PipelineID: "x", From: now, To: now.Add(-1)},
	} {
		if _, err := backfill.Run(context.Background(), c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

// A day streamed from the exchange's WebSocket and then backfilled from its REST history holds
// each trade once, and the daily batch's reprocessing passes its quality gate.
func TestStreamedThenBackfilledDayPassesTheBatch(t *testing.T) {
	ctx := context.Background()
	srv := binancetest.New(t)
	lake, err := iceberg.Open(ctx, iceberg.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer lake.Close(ctx)

	// Stream: the live source into the lake, as the consumer does; the stream misses the trades
	// published while it was down (Skip) and the ones before it started.
	before := srv.Skip("BTCUSDT", 1500)
	live, err := binance.New(binance.Config{Symbols: []string{"BTCUSDT"}, StreamURL: srv.WSURL, RESTURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	chain, err := quality.New(quality.Config{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := ctc.NewPipeline(live, ctc.WithChecker(chain), ctc.WithSinks(lake),
		ctc.WithCheckpoints(ctc.CheckpointConfig{Store: checkpoint.NewMemory(), PipelineID: "stream", EveryRecords: 500}))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	if !srv.WaitConnects(1, "btcusdt@aggTrade", 5*time.Second) {
		t.Fatal("the stream did not subscribe")
	}
	streamed := srv.Publish("BTCUSDT", 1000) // two checkpoints: Stats are published at checkpoints
	for deadline := time.Now().Add(10 * time.Second); p.Stats().Records < int64(len(streamed)); {
		if time.Now().After(deadline) {
			t.Fatalf("the stream read %d of %d trades", p.Stats().Records, len(streamed))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := live.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n, _ := rows(t, lake); n != len(streamed) {
		t.Fatalf("the stream wrote %d rows, want %d", n, len(streamed))
	}

	// Backfill the whole range: it loads what the stream missed, and not what it has.
	all := append(before, streamed...)
	rep, err := backfill.Run(ctx, backfill.Config{
		History: &binance.History{Endpoint: srv.URL}, Symbols: []string{"BTCUSDT"},
		From: time.UnixMilli(all[0].Time), To: time.UnixMilli(all[len(all)-1].Time),
		Sinks: []ctc.Sink{lake}, PipelineID: "historical_load/day",
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Trades != int64(len(before)) || rep.Existing != int64(len(streamed)) {
		t.Fatalf("backfill loaded %d and left out %d; want %d and %d", rep.Trades, rep.Existing, len(before), len(streamed))
	}
	if n, d := rows(t, lake); n != len(all) || d != len(all) {
		t.Fatalf("raw_trades holds %d rows, %d distinct; want %d once each", n, d, len(all))
	}

	// The daily batch: reprocess the day and check it.
	ds, err := detect.DefaultThresholds().Detectors()
	if err != nil {
		t.Fatal(err)
	}
	res, _, err := reprocess.RunOnce(ctx, reprocess.Config{Lake: lake, Detectors: ds, RunID: "day"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if v := reprocess.DefaultGate().Check("day", res); !v.Passed || res.Quality.Duplicate != 0 {
		t.Fatalf("the quality gate: %+v (duplicates %d)", v, res.Quality.Duplicate)
	}
}
