package backfill_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/backfill"
	"github.com/coattailcapital/ctc/checkpoint"
	"github.com/coattailcapital/ctc/quality"
	"github.com/coattailcapital/ctc/sink/iceberg"
	"github.com/coattailcapital/ctc/source/binance"
	"github.com/coattailcapital/ctc/source/binance/binancetest"
	"github.com/coattailcapital/ctc/source/coinbase"
	"github.com/coattailcapital/ctc/source/coinbase/coinbasetest"
)

// cbTrades scripts n Coinbase trades from id first, one every step from start.
func cbTrades(first int64, n int, start time.Time, step time.Duration) []coinbasetest.Trade {
	out := make([]coinbasetest.Trade, n)
	for i := range out {
		out[i] = coinbasetest.Trade{ID: first + int64(i), Price: fmt.Sprintf("%d.25", 60000+i%40), Size: "0.01", Side: "buy",
			Time: start.Add(time.Duration(i) * step)}
	}
	return out
}

func noSleep(context.Context, time.Duration) error { return nil }

func TestCoinbaseCrashResumeAndRerunLoadEachTradeOnce(t *testing.T) {
	ctx := context.Background()
	bsrv := binancetest.New(t)
	btc := bsrv.Skip("BTCUSDT", 700)
	from, to := time.UnixMilli(btc[0].Time), time.UnixMilli(btc[len(btc)-1].Time)
	cb := coinbasetest.New()
	defer cb.Close()
	// Coinbase trades before, in and after the range, one every 3 ms, the first in the range at
	// from exactly and the last at to's last microsecond (in: To is inclusive to the millisecond).
	before := cbTrades(900_000, 3000, from.Add(-9*time.Second), 3*time.Millisecond)
	in := cbTrades(903_000, 1501, from, to.Sub(from)/1500)
	in[len(in)-1].Time = to.Add(time.Millisecond - time.Microsecond)
	after := cbTrades(904_501, 200, to.Add(time.Millisecond), time.Millisecond)
	if err := cb.Load("BTC-USD", append(append(before, in...), after...)...); err != nil {
		t.Fatal(err)
	}
	lake, err := iceberg.Open(ctx, iceberg.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer lake.Close(ctx)

	crash, cancel := context.WithCancel(ctx)
	defer cancel()
	pages := 0
	cfg := backfill.Config{
		History:  &binance.History{Endpoint: bsrv.URL, Sleep: noSleep},
		Coinbase: &coinbase.History{Endpoint: cb.RESTURL, Sleep: noSleep, PageLimit: 100},
		Symbols:  []string{"BTCUSDT"}, From: from, To: to,
		Sinks: []ctc.Sink{lake}, PipelineID: "historical_load/test", CommitEvery: 500,
		Progress: func(sym string, _ time.Time, n int64) {
			if sym == "BTC-USD" {
				if pages++; pages == 12 {
					cancel() // a crash after 1,200 Coinbase trades: two checkpoints committed
				}
			}
		},
	}
	rep, err := backfill.Run(crash, cfg)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("the crashed run: %v", err)
	}
	if rep.Symbols["BTCUSDT"] != int64(len(btc)) {
		t.Fatalf("the crashed run: %+v", rep)
	}
	n, _ := rows(t, lake)
	crashed := n - len(btc) // what the crashed run committed of Coinbase's trades
	if crashed < 1000 || crashed > 1200 {
		t.Fatalf("after the crash raw_trades holds %d rows: %d of Coinbase, want 1,000 to 1,200", n, crashed)
	}

	// A retry with a fresh store continues after the lake's last commit, without searching again;
	// a rerun loads nothing.
	cfg.Progress = nil
	for i, what := range []string{"retry", "rerun"} {
		calls := len(cb.RESTRequests())
		rep, err := backfill.Run(ctx, cfg)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		want := len(btc) + len(in)
		if n, d := rows(t, lake); n != want || d != want {
			t.Fatalf("%s: raw_trades holds %d rows, %d distinct; want %d once each", what, n, d, want)
		}
		wantCB := int64(len(in) - crashed)
		if i == 1 {
			wantCB = 0
		}
		if rep.Symbols["BTC-USD"] != wantCB || rep.Symbols["BTCUSDT"] != 0 || rep.Exchanges[ctc.Coinbase] != wantCB || rep.Quality.Failed != 0 {
			t.Fatalf("%s: report %+v", what, rep)
		}
		for _, q := range cb.RESTRequests()[calls:] {
			if !q.Has("before") {
				t.Fatalf("%s searched again: %v", what, q)
			}
		}
	}

	// Every Coinbase trade in the lake is one of the range's, decoded as the feed would.
	seen := 0
	for batch, err := range lake.ScanTrades(ctx, iceberg.ScanOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		for _, tr := range batch {
			if tr.Exchange != ctc.Coinbase {
				continue
			}
			seen++
			if tr.Symbol != "BTC-USD" || tr.Side != ctc.Sell || tr.Timestamp.Before(from) || !tr.Timestamp.Before(to.Add(time.Millisecond)) {
				t.Fatalf("trade %+v", tr)
			}
		}
	}
	if seen != len(in) {
		t.Fatalf("%d Coinbase trades in the lake, want %d", seen, len(in))
	}
}

func TestCoinbaseProduct(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"BTCUSDT": "BTC-USD", "btc-usdt": "BTC-USD", "ETH-USD": "ETH-USD", "ETHBTC": "ETH-BTC", "SOLUSDT": "SOL-USD"} {
		if got := backfill.CoinbaseProduct(in); got != want {
			t.Errorf("CoinbaseProduct(%q) = %q, want %q", in, got, want)
		}
	}
}

// A permanent refusal of Coinbase's history fails the load with a clear error, after Binance's.
func TestCoinbaseRefusalFailsTheLoad(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bsrv := binancetest.New(t)
	btc := bsrv.Skip("BTCUSDT", 10)
	cb := coinbasetest.New("ETH-USD") // no BTC-USD: 404
	defer cb.Close()
	lake, err := iceberg.Open(ctx, iceberg.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer lake.Close(ctx)
	rep, err := backfill.Run(ctx, backfill.Config{
		History:  &binance.History{Endpoint: bsrv.URL, Sleep: noSleep},
		Coinbase: &coinbase.History{Endpoint: cb.RESTURL, Sleep: noSleep},
		Symbols:  []string{"BTCUSDT"}, From: time.UnixMilli(btc[0].Time), To: time.UnixMilli(btc[9].Time),
		Sinks: []ctc.Sink{lake}, PipelineID: "p",
	})
	if !coinbase.IsPermanent(err) || rep.Symbols["BTCUSDT"] != 10 || len(cb.RESTRequests()) != 1 {
		t.Fatalf("%v %+v after %d requests", err, rep, len(cb.RESTRequests()))
	}
	t.Log(err)
}

// A Coinbase day streamed from the WebSocket feed and then backfilled from the REST history holds
// each trade once: the two give a trade the same event id, and the backfill leaves out what the
// stream wrote.
func TestCoinbaseStreamedThenBackfilled(t *testing.T) {
	ctx := context.Background()
	srv := coinbasetest.New("BTC-USD") // trade 1000
	defer srv.Close()
	lake, err := iceberg.Open(ctx, iceberg.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer lake.Close(ctx)
	srv.Skip("BTC-USD", 700) // before the stream started: REST only (the last is the stream's last_match)

	live, err := coinbase.New(coinbase.Config{Products: []string{"BTC-USD"}, WSURL: srv.URL, RESTURL: srv.RESTURL})
	if err != nil {
		t.Fatal(err)
	}
	chain, err := quality.New(quality.Config{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := ctc.NewPipeline(live, ctc.WithChecker(chain), ctc.WithSinks(lake),
		ctc.WithCheckpoints(ctc.CheckpointConfig{Store: checkpoint.NewMemory(), PipelineID: "stream", EveryRecords: 100}))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	if !srv.WaitSubscribed(1, 5*time.Second) {
		t.Fatal("the stream did not subscribe")
	}
	for range 399 {
		srv.Match("BTC-USD")
	}
	streamed := 400 // the last_match and the matches: Stats count them at checkpoints, every 100
	for deadline := time.Now().Add(10 * time.Second); p.Stats().Records < int64(streamed); {
		if time.Now().After(deadline) {
			t.Fatalf("the stream read %d of %d trades", p.Stats().Records, streamed)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := live.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n, _ := rows(t, lake); n != streamed {
		t.Fatalf("the stream wrote %d rows, want %d", n, streamed)
	}

	all := srv.History("BTC-USD")
	rep, err := backfill.Run(ctx, backfill.Config{
		Coinbase: &coinbase.History{Endpoint: srv.RESTURL, Sleep: noSleep, PageLimit: 250},
		Products: []string{"BTC-USD"}, From: all[0].Time, To: all[len(all)-1].Time,
		Sinks: []ctc.Sink{lake}, PipelineID: "historical_load/day",
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Trades != int64(len(all)-streamed) || rep.Existing != int64(streamed) {
		t.Fatalf("backfill loaded %d and left out %d; want %d and %d", rep.Trades, rep.Existing, len(all)-streamed, streamed)
	}
	if n, d := rows(t, lake); n != len(all) || d != len(all) {
		t.Fatalf("raw_trades holds %d rows, %d distinct; want %d once each", n, d, len(all))
	}
}
