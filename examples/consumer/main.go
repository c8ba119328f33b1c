// Command consumer is ctc's main job: a market feed through the quality chain and the three
// built-in detectors, alerts printed as they fire.
//
// With no flags it runs the seeded market simulator from the present, paced so that alerts of
// every type appear within half a minute, until Ctrl-C:
//
//	go run ./examples/consumer
//
// With -replay it replays a file as fast as possible, never reading the clock, and writes its
// results as NDJSON under -out; the same file always gives byte-identical outputs:
//
//	go run ./examples/consumer -replay trades.ndjson -out out
//
// Run with -h for every flag.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/detect"
	"github.com/coattailcapital/ctc/quality"
	"github.com/coattailcapital/ctc/sink/console"
	"github.com/coattailcapital/ctc/sink/jsonl"
	"github.com/coattailcapital/ctc/source/replay"
	"github.com/coattailcapital/ctc/source/sim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// config is everything the flags say.
type config struct {
	replay, out        string
	exchange, symbol   string
	seed               int64
	speed              float64
	warmUp, duration   time.Duration
	start              string
	quiet              bool
	whale, zMed, zHigh float64
	spread             float64
	minHistory         int
}

// Exit codes: 0 success, 1 the run failed, 2 the command line or an input file is wrong.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

func parse(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("consumer", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: consumer [flags]

Runs trades through ctc's quality chain and detectors (volume spike, whale, spread) and prints each
alert as it fires. Without -replay the feed is the seeded market simulator, starting at the present
and running until Ctrl-C (or -duration).

Replay mode (-replay FILE) reads unified NDJSON trades, or Binance's public aggTrades CSV when FILE
ends in .csv, as fast as possible without reading the clock, and writes under -out:
alerts.ndjson, volume_aggregates.ndjson, exchange_spreads.ndjson, whale_trades.ndjson, late.ndjson,
dlq.ndjson and quality.json. The same file always gives byte-identical outputs.

Flags:
`)
		fs.PrintDefaults()
	}
	fs.StringVar(&c.replay, "replay", "", "replay `FILE` (NDJSON, or Binance aggTrades CSV if it ends in .csv) instead of the simulator")
	fs.StringVar(&c.out, "out", "", "write NDJSON outputs and quality.json to `DIR` (replay default: ./ctc-out; simulator: none, plus raw_trades.ndjson when set)")
	fs.StringVar(&c.exchange, "exchange", ctc.Binance, "exchange of a CSV replay")
	fs.StringVar(&c.symbol, "symbol", "BTC-USDT", "symbol (BASE-QUOTE) of a CSV replay")
	fs.Int64Var(&c.seed, "seed", 1, "simulator seed: the same seed and -start give the same market")
	fs.Float64Var(&c.speed, "speed", 10, "simulator pace as a multiple of real time; 0 = as fast as possible")
	fs.DurationVar(&c.warmUp, "warmup", 15*time.Minute, "simulator history emitted at once before pacing starts, so the volume detector has a baseline")
	fs.DurationVar(&c.duration, "duration", 0, "stop the simulator after this much event time (0 = until Ctrl-C)")
	fs.StringVar(&c.start, "start", "", "simulator start of the paced part, RFC 3339 (default: now)")
	fs.BoolVar(&c.quiet, "quiet", false, "do not print alerts")
	fs.Float64Var(&c.whale, "whale", 100_000, "whale threshold in quote currency (high and critical are 5× and 10× it)")
	fs.Float64Var(&c.zMed, "z", 2.5, "volume spike |z| threshold for a medium alert")
	fs.Float64Var(&c.zHigh, "z-high", 3.5, "volume spike |z| threshold for a high alert")
	fs.Float64Var(&c.spread, "spread", 0.5, "spread alert threshold in percent (medium and high are 2× and 4× it)")
	fs.IntVar(&c.minHistory, "min-history", 10, "windows of history a key needs before a volume alert")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return c, fmt.Errorf("unexpected argument %q: every option is a flag", fs.Arg(0))
	}
	if c.replay != "" && c.out == "" {
		c.out = "ctc-out"
	}
	switch {
	case c.speed < 0:
		return c, fmt.Errorf("-speed must be >= 0, got %g", c.speed)
	case c.warmUp < 0 || c.duration < 0:
		return c, errors.New("-warmup and -duration must not be negative")
	}
	return c, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, err := parse(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintln(stderr, "consumer:", err)
		return exitUsage
	}
	detectors, err := newDetectors(c)
	if err != nil {
		fmt.Fprintln(stderr, "consumer:", err)
		return exitUsage
	}
	chain, err := quality.New(quality.Config{})
	if err != nil {
		fmt.Fprintln(stderr, "consumer:", err)
		return exitFail
	}

	var (
		src   ctc.Source
		opts  []ctc.Option
		sinks []ctc.Sink
	)
	if c.replay != "" {
		rs, err := replay.Open(c.replay, replay.WithInstrument(c.exchange, c.symbol))
		if err != nil {
			fmt.Fprintln(stderr, "consumer:", err)
			return exitUsage
		}
		defer rs.Close(context.WithoutCancel(ctx))
		src = rs
	} else {
		s, err := newSim(c)
		if err != nil {
			fmt.Fprintln(stderr, "consumer:", err)
			return exitUsage
		}
		src = s
		if c.speed > 0 {
			opts = append(opts, ctc.WithClock(time.Now), ctc.WithIdleTimeout(10*time.Second))
		}
	}
	if !c.quiet {
		sinks = append(sinks, console.New(stdout))
	}
	var files *jsonl.Sink
	if c.out != "" {
		var jopts []jsonl.Option
		if c.replay == "" {
			jopts = append(jopts, jsonl.WithTrades())
		}
		files, err = jsonl.New(c.out, jopts...)
		if err != nil {
			fmt.Fprintln(stderr, "consumer:", err)
			return exitUsage
		}
		sinks = append(sinks, files)
	}

	p, err := ctc.NewPipeline(src, append(opts, ctc.WithChecker(chain), ctc.WithDetectors(detectors...), ctc.WithSinks(sinks...))...)
	if err != nil {
		fmt.Fprintln(stderr, "consumer:", err)
		return exitFail
	}
	if c.replay == "" {
		pace := "as fast as possible"
		if c.speed > 0 {
			pace = fmt.Sprintf("at %g× real time", c.speed)
		}
		fmt.Fprintf(stderr, "consumer: simulating BTC, ETH and SOL on Binance and Coinbase %s (Ctrl-C to stop)\n", pace)
	}
	runErr := p.Run(ctx)
	interrupted := ctx.Err() != nil && errors.Is(runErr, ctx.Err())
	if files != nil {
		if err := files.Close(context.WithoutCancel(ctx)); err != nil && runErr == nil {
			runErr = err
		}
		if err := writeQuality(filepath.Join(c.out, "quality.json"), chain.Stats()); err != nil && runErr == nil {
			runErr = err
		}
	}
	st, q := p.Stats(), chain.Stats()
	fmt.Fprintf(stderr, "consumer: %d records, %d passed, %d dead letters, %d duplicates, %d late, %d alerts; quality score %.2f%%\n",
		q.Processed, q.Passed, q.Failed, q.Duplicate, st.Late, st.Alerts, q.QualityScore)
	if runErr != nil && !interrupted {
		fmt.Fprintln(stderr, "consumer:", runErr)
		return exitFail
	}
	return exitOK
}

func newDetectors(c config) ([]ctc.Detector, error) {
	v, err := detect.NewVolume(detect.VolumeConfig{Medium: c.zMed, High: c.zHigh, MinHistory: c.minHistory})
	if err != nil {
		return nil, err
	}
	wc := detect.WhaleConfig{Medium: c.whale, High: 5 * c.whale, Critical: 10 * c.whale}
	if err := wc.Validate(); err != nil {
		return nil, err
	}
	s, err := detect.NewSpread(detect.SpreadConfig{Low: c.spread, Medium: 2 * c.spread, High: 4 * c.spread})
	if err != nil {
		return nil, err
	}
	return []ctc.Detector{v, detect.NewWhale(wc), s}, nil
}

func newSim(c config) (*sim.Source, error) {
	start := time.Now().UTC().Truncate(time.Millisecond)
	if c.start != "" {
		t, err := time.Parse(time.RFC3339, c.start)
		if err != nil {
			return nil, fmt.Errorf("-start must be RFC 3339 like 2024-01-15T10:00:00Z, got %q", c.start)
		}
		start = t.UTC()
	}
	// The warm-up is history: it ends at the start, so the paced part runs from the present.
	return sim.New(sim.Config{
		Seed:     c.seed,
		Start:    start.Add(-c.warmUp),
		WarmUp:   c.warmUp,
		Duration: durationOrZero(c.warmUp, c.duration),
		Speed:    c.speed,
	})
}

func durationOrZero(warmUp, d time.Duration) time.Duration {
	if d == 0 {
		return 0
	}
	return warmUp + d
}

func writeQuality(path string, s quality.Stats) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
