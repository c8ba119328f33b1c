// Command loader downloads the trades of symbols in a time range from the exchanges' REST
// histories — Binance aggregate trades (GET /api/v3/aggTrades, 1000 a request, paged by id) and
// Coinbase Exchange trades (GET /products/{id}/trades, found by trade id, see
// coinbase.HistorySource) — and writes them as unified NDJSON, one ctc.Trade a line.
//
//	go run ./adapters/loader -symbols BTCUSDT,ETHUSDT -from 2024-01-15T10:00:00Z -to 2024-01-15T11:00:00Z -out trades.ndjson -state trades.state
//
// -exchange chooses binance, coinbase or both (the default: a range with both legs of each
// instrument is what the spread detector needs). The symbols are Binance's; Coinbase's products
// follow by the default instrument rule (BTCUSDT → BTC-USD), or -products names them.
//
// The download runs through the one engine (package backfill): each symbol's trades pass the
// quality chain and reach the sinks at checkpoints, one every -commit-every pages.
//
// With -warehouse it also appends the trades to raw_trades in a local Iceberg warehouse. Each
// commit carries a checkpoint of the pipeline loader-FROM-TO-SYMBOL, so a download of the same
// range — resumed, or run again — continues after what the warehouse holds and never commits a
// trade twice.
//
// With -state DIR it is resumable: the directory keeps each symbol's checkpoints, and a rerun
// with the same directory appends to -out after the last one. A crash between a checkpoint's
// save and its write can repeat that checkpoint's lines in -out; their event ids are the same,
// so a replay's dedup drops them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/backfill"
	"github.com/coattailcapital/ctc/checkpoint"
	"github.com/coattailcapital/ctc/internal/logflag"
	"github.com/coattailcapital/ctc/internal/progress"
	"github.com/coattailcapital/ctc/quality"
	"github.com/coattailcapital/ctc/sink/console"
	"github.com/coattailcapital/ctc/sink/iceberg"
	"github.com/coattailcapital/ctc/sink/jsonl"
	"github.com/coattailcapital/ctc/source/binance"
	"github.com/coattailcapital/ctc/source/coinbase"
	"github.com/coattailcapital/ctc/source/feed"
	"github.com/coattailcapital/ctc/source/replay"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, progress.IsTerminal(os.Stderr)))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, tty bool) int {
	fs := flag.NewFlagSet("loader", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var symbols, from, to, out, statePath, endpoint, warehouse, csvPath string
	var exchange, cbEndpoint, products string
	var cbRate float64
	var commitEvery int
	var weight int
	var timeout time.Duration
	fs.StringVar(&symbols, "symbols", "", "comma-separated Binance `symbols`, e.g. BTCUSDT,ETHUSDT (they name the Coinbase products too)")
	fs.StringVar(&from, "from", "", "start of the range, RFC 3339 `time` (inclusive)")
	fs.StringVar(&to, "to", "", "end of the range, RFC 3339 `time` (inclusive)")
	fs.StringVar(&out, "out", "", "NDJSON output `file`")
	fs.StringVar(&statePath, "state", "", "resume state `directory` (created if absent)")
	fs.StringVar(&csvPath, "csv", "", "convert Binance's public daily aggTrades CSV `file` (data.binance.vision) instead of calling the REST API; -symbols names its one symbol")
	fs.StringVar(&warehouse, "warehouse", "", "also append the trades to raw_trades in the local Iceberg warehouse in `DIR`")
	fs.IntVar(&commitEvery, "commit-every", 100, "checkpoint (write -out, commit -warehouse, save -state) every `N` pages of 1,000 trades")
	fs.StringVar(&endpoint, "endpoint", "https://api.binance.com", "REST base `URL`")
	fs.IntVar(&weight, "weight-limit", 6000, "request weight allowed per minute")
	fs.StringVar(&exchange, "exchange", "both", "`exchange` to load: binance, coinbase or both")
	fs.StringVar(&cbEndpoint, "coinbase-endpoint", coinbase.DefaultRESTURL, "Coinbase Exchange REST base `URL`")
	fs.StringVar(&products, "products", "", "comma-separated Coinbase `products` (default: those of -symbols, BTCUSDT → BTC-USD)")
	fs.Float64Var(&cbRate, "coinbase-rps", coinbase.DefaultRequestsPerSecond, "Coinbase requests per second (its public limit is 10 per IP)")
	fs.DurationVar(&timeout, "timeout", 15*time.Second, "timeout of one HTTP request")
	logs := logflag.Register(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	log, err := logs.New(stderr)
	if err != nil {
		fmt.Fprintln(stderr, "loader:", err)
		return 2
	}
	fail := func(format string, a ...any) int {
		log.Error(fmt.Sprintf(format, a...))
		return 1
	}
	if csvPath != "" {
		if symbols == "" || out == "" || strings.Contains(symbols, ",") {
			fmt.Fprintln(stderr, "loader: -csv needs -out and one symbol in -symbols")
			return 2
		}
		return convertCSV(ctx, csvPath, symbols, out, warehouse, stdout, stderr)
	}
	if symbols == "" && products == "" || from == "" || to == "" || out == "" {
		fmt.Fprintln(stderr, "loader: -symbols (or -products), -from, -to and -out are required")
		fs.Usage()
		return 2
	}
	fromT, err := time.Parse(time.RFC3339, from)
	if err != nil {
		return fail("-from: %v", err)
	}
	toT, err := time.Parse(time.RFC3339, to)
	if err != nil {
		return fail("-to: %v", err)
	}
	if toT.Before(fromT) {
		return fail("-to is before -from")
	}
	if commitEvery < 1 {
		return fail("-commit-every must be >= 1, got %d", commitEvery)
	}
	if exchange != "binance" && exchange != "coinbase" && exchange != "both" {
		fmt.Fprintf(stderr, "loader: -exchange must be binance, coinbase or both, got %q\n", exchange)
		return 2
	}
	if !(cbRate > 0) {
		return fail("-coinbase-rps must be > 0, got %v", cbRate)
	}
	cfg := backfill.Config{
		From: fromT, To: toT, CommitEvery: int64(commitEvery) * 1000,
		// One name per range, so that loading it again is recognised in the warehouse.
		PipelineID: fmt.Sprintf("loader-%d-%d", fromT.UnixMilli(), toT.UnixMilli()), IDSeparator: "-",
	}
	backoff := feed.Backoff{Initial: 500 * time.Millisecond, Max: 10 * time.Second}
	if exchange != "coinbase" {
		cfg.History = &binance.History{Endpoint: endpoint, WeightLimit: weight, MaxRetries: 3,
			Client: &http.Client{Timeout: timeout}, Backoff: backoff}
	}
	if exchange != "binance" {
		cfg.Coinbase = &coinbase.History{Endpoint: cbEndpoint, RequestsPerSecond: cbRate,
			Client: &http.Client{Timeout: timeout}, Backoff: backoff}
	}
	for _, sym := range strings.Split(symbols, ",") {
		if sym = strings.TrimSpace(sym); sym != "" {
			cfg.Symbols = append(cfg.Symbols, sym)
		}
	}
	for _, p := range strings.Split(products, ",") {
		if p = strings.TrimSpace(p); p != "" {
			cfg.Products = append(cfg.Products, p)
		}
	}
	resuming := false
	if statePath != "" {
		if fi, err := os.Stat(statePath); err == nil {
			if !fi.IsDir() {
				return fail("-state %s is a file (an older loader's state): remove it, or name a directory", statePath)
			}
			resuming = true
		}
		if cfg.Store, err = checkpoint.NewDir(statePath); err != nil {
			return fail("%v", err)
		}
	}
	file, err := jsonl.NewTradeWriter(out, resuming)
	if err != nil {
		return fail("%v", err)
	}
	defer file.Close(context.WithoutCancel(ctx))
	cfg.Sinks = []ctc.Sink{file}
	if warehouse != "" {
		lake, err := iceberg.Open(ctx, iceberg.Config{Dir: warehouse})
		if err != nil {
			return fail("%v", err)
		}
		defer lake.Close(context.WithoutCancel(ctx))
		cfg.Sinks = append(cfg.Sinks, lake)
	}
	bar := progress.New(stderr, "loader", "trades", progress.WithTerminal(tty))
	span := toT.Sub(fromT)
	var current string
	var count int64
	cfg.Progress = func(sym string, last time.Time, n int64) {
		if current != "" && current != sym {
			bar.Update(current, 1, count) // the previous symbol's range is done
		}
		current, count = sym, n
		frac := 1.0
		if span > 0 {
			frac = float64(last.Sub(fromT)) / float64(span)
		}
		bar.Update(sym, frac, n)
	}
	rep, err := backfill.Run(ctx, cfg)
	if current != "" && err == nil {
		bar.Update(current, 1, count) // the range is done even when its last trades came before its end
	}
	bar.Done()
	if err != nil {
		if ctx.Err() != nil {
			return fail("interrupted; rerun with the same -state to continue")
		}
		var ne net.Error
		var oe *net.OpError
		if errors.As(err, &oe) || errors.As(err, &ne) {
			at := endpoint
			if strings.Contains(err.Error(), "backfill: coinbase ") {
				at = cbEndpoint
			}
			return fail("cannot reach %s: %v", at, err)
		}
		return fail("%v", err)
	}
	if err := file.Close(ctx); err != nil {
		return fail("%v", err)
	}
	fmt.Fprintf(stdout, "loader: wrote %d trades to %s\n", rep.Trades, out)
	if q := rep.Quality; q.Failed > 0 {
		fmt.Fprintf(stdout, "loader: %d trades failed the quality checks and were left out: %v\n", q.Failed, q.FailedByReason)
	}
	return 0
}

// convertCSV writes a public aggTrades CSV file as unified NDJSON (and to raw_trades with a
// warehouse) through the one engine: the replay source decodes it, the quality chain checks it,
// and the lines that do not decode are dead letters, printed on stderr and counted; they stop
// nothing.
func convertCSV(ctx context.Context, path, symbol, out, warehouse string, stdout, stderr io.Writer) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "loader: "+format+"\n", a...)
		return 1
	}
	sym := symbol
	if !strings.Contains(sym, "-") {
		sym = (*binance.SymbolMap)(nil).Normalize([]byte(sym))
	}
	if !strings.Contains(sym, "-") {
		return fail("cannot tell the quote asset of %q: give it as BASE-QUOTE, e.g. BTC-USDT", symbol)
	}
	src, err := replay.Open(path, replay.WithFormat(replay.BinanceCSV), replay.WithInstrument(ctc.Binance, sym))
	if err != nil {
		return fail("%v", err)
	}
	defer src.Close(ctx)
	file, err := jsonl.NewTradeWriter(out, false)
	if err != nil {
		return fail("%v", err)
	}
	defer file.Close(context.WithoutCancel(ctx))
	sinks := []ctc.Sink{file, console.New(stderr, console.DeadLetters())}
	if warehouse != "" {
		lake, err := iceberg.Open(ctx, iceberg.Config{Dir: warehouse})
		if err != nil {
			return fail("%v", err)
		}
		defer lake.Close(context.WithoutCancel(ctx))
		sinks = append(sinks, lake)
	}
	chain, err := quality.New(quality.Config{})
	if err != nil {
		return fail("%v", err)
	}
	p, err := ctc.NewPipeline(src, ctc.WithChecker(chain), ctc.WithSinks(sinks...))
	if err != nil {
		return fail("%v", err)
	}
	if err := p.Run(ctx); err != nil {
		return fail("%v", err)
	}
	if err := file.Close(ctx); err != nil {
		return fail("%v", err)
	}
	q := chain.Stats()
	fmt.Fprintf(stdout, "loader: wrote %d trades to %s (%d lines did not decode or pass the quality checks, %d duplicates)\n",
		q.Passed, out, q.Failed, q.Duplicate)
	return 0
}
