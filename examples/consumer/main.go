// Command consumer is ctc's main job: a market feed through the quality chain and the three
// built-in detectors into the lakehouse and the hot alert store, with the REST API and the
// dashboard on localhost, and alerts printed as they fire.
//
// With no flags it runs the seeded market simulator from the present, paced so that alerts of
// every type appear within half a minute, until Ctrl-C; run again, it continues the same market
// from its last checkpoint (-fresh starts a new one):
//
//	go run ./examples/consumer
//
// With -replay it replays a file as fast as possible, never reading the clock, and writes its
// results as NDJSON under -out (and, with -warehouse, to Iceberg tables); the same file always gives
// byte-identical outputs. Running the same replay again continues it from its last checkpoint — a
// replay that was killed finishes, one that finished writes nothing twice:
//
//	go run ./examples/consumer -replay trades.ndjson -out out
//
// Run with -h for every flag.
package main

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/api"
	"github.com/coattailcapital/ctc/checkpoint"
	"github.com/coattailcapital/ctc/detect"
	"github.com/coattailcapital/ctc/incident"
	"github.com/coattailcapital/ctc/internal/fsx"
	"github.com/coattailcapital/ctc/internal/logflag"
	"github.com/coattailcapital/ctc/internal/progress"
	"github.com/coattailcapital/ctc/notify"
	"github.com/coattailcapital/ctc/quality"
	"github.com/coattailcapital/ctc/sink/console"
	"github.com/coattailcapital/ctc/sink/embedded"
	"github.com/coattailcapital/ctc/sink/iceberg"
	"github.com/coattailcapital/ctc/sink/jsonl"
	"github.com/coattailcapital/ctc/source/feed"
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
	replay, out, warehouse string
	resume                 bool
	every                  int64
	exchange, symbol       string
	data, addr             string
	seed                   int64
	speed                  float64
	warmUp, duration       time.Duration
	start                  string
	quiet                  bool
	thresholds             detect.Thresholds
	live                   bool
	symbols                string
	capture                string
	endpoints              endpoints
	cpuProfile, memProfile string
	fresh                  bool
	notify                 string
	apiKeys                string
	logs                   *logflag.Flags
	evidence               string
}

// Exit codes: 0 success, 1 the run failed, 2 the command line or an input file is wrong.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

func parse(args []string, stderr io.Writer) (config, error) {
	c := config{thresholds: detect.DefaultThresholds()}
	fs := flag.NewFlagSet("consumer", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: consumer [flags]

Runs trades through ctc's quality chain and detectors (volume spike, whale, spread) and prints each
alert as it fires.

Without -replay the feed is the seeded market simulator, starting at the present and running until
Ctrl-C (or -duration). Its alerts, aggregates and trades go to an Iceberg warehouse and the hot alert
store under -data, and the REST API and dashboard are served on -addr.

Replay mode (-replay FILE) reads unified NDJSON trades, or Binance's public aggTrades CSV when FILE
ends in .csv, as fast as possible without reading the clock, and writes under -out:
alerts.ndjson, volume_aggregates.ndjson, exchange_spreads.ndjson, whale_trades.ndjson, late.ndjson,
dlq.ndjson and quality.json (and, with -warehouse DIR, the Iceberg tables). The same file always gives
byte-identical outputs. A replay checkpoints every -checkpoint-every records; run the same command
again (after a crash, or at any time) and it continues from its last checkpoint, exactly once: a
finished replay writes nothing twice. A warehouse that already holds the replay while -out has no
state of it is refused, as is one holding the file replayed with other thresholds.

The simulator continues the market recorded in -data from its last checkpoint when run again
(after a crash or Ctrl-C), with the same event ids, unless -fresh or -start asks for another.

Flags:
`)
		fs.PrintDefaults()
	}
	fs.StringVar(&c.replay, "replay", "", "replay `FILE` (NDJSON, or Binance aggTrades CSV if it ends in .csv) instead of the simulator")
	fs.StringVar(&c.out, "out", "", "write NDJSON outputs and quality.json to `DIR` (replay default: ./ctc-out; simulator: none, plus raw_trades.ndjson when set)")
	fs.StringVar(&c.warehouse, "warehouse", "", "replay: also write the Iceberg tables to a local warehouse in `DIR`")
	fs.BoolVar(&c.resume, "resume", false, "replay: continue from the last checkpoint in -out (a rerun does so anyway; this also finds a checkpoint written by an older build)")
	fs.Int64Var(&c.every, "checkpoint-every", 50_000, "replay: checkpoint (commit the tables, save the state) every `N` records")
	fs.StringVar(&c.exchange, "exchange", ctc.Binance, "exchange of a CSV replay")
	fs.StringVar(&c.symbol, "symbol", "BTC-USDT", "symbol (BASE-QUOTE) of a CSV replay")
	fs.StringVar(&c.data, "data", "ctc-data", "simulator: `DIR` for the warehouse (DIR/warehouse), the alert store (DIR/alerts.db) and checkpoints")
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "simulator: serve the REST API and dashboard on this `address`; \"off\" to serve nothing")
	c.logs = logflag.Register(fs)
	fs.StringVar(&c.apiKeys, "api-keys", "", "require one of the API keys in this `file` (one a line) on the API; the dashboard asks for one and keeps a session cookie")
	fs.Int64Var(&c.seed, "seed", 1, "simulator seed: the same seed and -start give the same market")
	fs.Float64Var(&c.speed, "speed", 10, "simulator pace as a multiple of real time; 0 = as fast as possible")
	fs.DurationVar(&c.warmUp, "warmup", 15*time.Minute, "simulator history emitted at once before pacing starts, so the volume detector has a baseline")
	fs.DurationVar(&c.duration, "duration", 0, "stop the simulator after this much event time (0 = until Ctrl-C)")
	fs.StringVar(&c.start, "start", "", "simulator start of the paced part, RFC 3339 (default: now)")
	fs.BoolVar(&c.quiet, "quiet", false, "do not print alerts")
	fs.StringVar(&c.notify, "notify", "", "deliver alerts to webhooks, Slack, Discord or Telegram as routed by this JSON `file` (package notify; secrets as env:NAME or file:PATH in it, never on the command line)")
	fs.StringVar(&c.evidence, "evidence", "", "simulator: show this evidence report (adapters/evidence -out `FILE`) in the dashboard's evidence panel, read at each request (default: DIR/evidence.json under -data)")
	fs.BoolVar(&c.fresh, "fresh", false, "simulator: start a new market instead of continuing the one in -data from its last checkpoint")
	c.thresholds.RegisterFlags(fs)
	fs.StringVar(&c.capture, "capture", "", "replay: FILE is a raw frame capture (cryptofeed format) of this `exchange` (binance or coinbase), decoded as the live source decodes it")
	fs.BoolVar(&c.live, "live", false, "watch the real markets: Binance and Coinbase WebSockets instead of the simulator (needs the internet)")
	fs.StringVar(&c.endpoints.binanceWS, "binance-ws", "wss://stream.binance.com:9443", "-live: Binance WebSocket base `URL` (a testnet, or a local test server)")
	fs.StringVar(&c.endpoints.binanceREST, "binance-rest", "https://api.binance.com", "-live: Binance REST base `URL`, for gap repair")
	fs.StringVar(&c.endpoints.coinbaseWS, "coinbase-ws", "wss://ws-feed.exchange.coinbase.com", "-live: Coinbase Exchange feed `URL`")
	fs.StringVar(&c.endpoints.coinbaseREST, "coinbase-rest", "https://api.exchange.coinbase.com", "-live: Coinbase Exchange REST base `URL`, for gap repair")
	fs.StringVar(&c.symbols, "symbols", "BTC,ETH,SOL", "-live: base assets to watch, comma-separated (Binance X-USDT and Coinbase X-USD)")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of the run to `FILE` (go tool pprof)")
	fs.StringVar(&c.memProfile, "memprofile", "", "write a heap profile at the end of the run to `FILE` (go tool pprof)")
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
	case c.every < 1:
		return c, fmt.Errorf("-checkpoint-every must be >= 1, got %d", c.every)
	case c.capture != "" && c.capture != ctc.Binance && c.capture != ctc.Coinbase:
		return c, fmt.Errorf("-capture must be binance or coinbase, got %q", c.capture)
	case c.capture != "" && c.replay == "":
		return c, errors.New("-capture says what -replay FILE is: give -replay too")
	case c.live && c.replay != "":
		return c, errors.New("-live and -replay exclude each other")
	case c.replay == "" && (c.resume || c.warehouse != ""):
		return c, errors.New("-resume and -warehouse go with -replay (the simulator always writes its warehouse under -data)")
	}
	return c, nil
}

// job is one run's wiring: what to close at the end, in order.
type job struct {
	src     ctc.Source
	sinks   []ctc.Sink
	opts    []ctc.PipelineOption
	closers []func(context.Context) error
	files   *jsonl.Sink
	feeds   map[string]func() feed.StatsSnapshot // live sources' counters, for /prometheus
	// progress reports how far a replay is through its file (read, size), or is nil.
	progress func() (read, size int64)
	// incidents is how the dashboard's alert list groups alerts: the notifier's policy when
	// -notify is given, else the defaults.
	incidents *incident.Policy
}

func (j *job) closeAll(ctx context.Context) error {
	var errs []error
	for i := len(j.closers) - 1; i >= 0; i-- {
		errs = append(errs, j.closers[i](ctx))
	}
	return errors.Join(errs...)
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
	log, err := c.logs.New(stderr)
	if err != nil {
		fmt.Fprintln(stderr, "consumer:", err)
		return exitUsage
	}
	fail := func(code int, err error) int {
		log.Error(err.Error())
		return code
	}
	stopProfiles, err := profile(c.cpuProfile, c.memProfile)
	if err != nil {
		return fail(exitUsage, err)
	}
	defer stopProfiles()
	detectors, err := c.thresholds.Detectors()
	if err != nil {
		return fail(exitUsage, err)
	}
	chain, err := quality.New(quality.Config{})
	if err != nil {
		return fail(exitFail, err)
	}
	j := job{incidents: &incident.Policy{}}
	defer func() { _ = j.closeAll(context.WithoutCancel(ctx)) }()
	if !c.quiet {
		j.sinks = append(j.sinks, console.New(stdout))
	}
	if c.notify != "" {
		n, err := notify.Open(c.notify, notify.WithLogger(log))
		if err != nil {
			return fail(exitUsage, err)
		}
		j.sinks = append(j.sinks, n)
		j.closers = append(j.closers, n.Close)
		j.incidents = n.Incidents()
	}
	if c.replay != "" {
		if code, err := c.replayJob(ctx, &j); err != nil {
			return fail(code, err)
		}
	} else if code, err := c.simJob(ctx, &j, log); err != nil {
		return fail(code, err)
	}

	reg := prometheus.NewRegistry()
	obs, err := api.NewSinkObserver(reg)
	if err != nil {
		return fail(exitFail, err)
	}
	p, err := ctc.NewPipeline(j.src, append(j.opts, ctc.WithChecker(chain), ctc.WithDetectors(detectors...),
		ctc.WithSinks(j.sinks...), ctc.WithObserver(obs))...)
	if err != nil {
		return fail(exitFail, err)
	}
	if c.replay == "" && c.addr != "off" {
		if j.feeds != nil {
			reg.MustRegister(api.NewFeedCollector(j.feeds))
		}
		cfg := api.Config{SpreadThreshold: c.thresholds.Spread, Incidents: j.incidents, Logger: log,
			Evidence: api.EvidenceFile(cmp.Or(c.evidence, filepath.Join(c.data, "evidence.json")))}
		if c.apiKeys != "" {
			if cfg.Keys, err = api.ReadKeyFile(c.apiKeys); err != nil {
				return fail(exitUsage, fmt.Errorf("-api-keys: %w", err))
			}
		} else if !api.Loopback(c.addr) {
			log.Warn("the API is open to anyone who can reach it; give -api-keys FILE to require a key", "addr", c.addr)
		}
		simulated, speed := !c.live, 0.0
		if simulated {
			speed = c.speed
		}
		cfg.Market = func() api.Market { return api.Market{EventTime: p.EventTime(), Simulated: simulated, Speed: speed} }
		stopServer, url, err := serve(c.addr, reg, j.sinks, p, chain, cfg)
		if err != nil {
			return fail(exitUsage, err)
		}
		defer stopServer()
		log.Info("dashboard and API on "+url, "url", url, "data", c.data)
	}
	if c.live {
		log.Info("watching Binance and Coinbase (Ctrl-C to stop)", "symbols", c.symbols)
	} else if c.replay == "" {
		pace := "as fast as possible"
		if c.speed > 0 {
			pace = fmt.Sprintf("at %g× real time", c.speed)
		}
		log.Info("simulating BTC, ETH and SOL on Binance and Coinbase " + pace + " (Ctrl-C to stop)")
		if c.speed > 1 {
			log.Info("simulated time runs faster than the clock, so alerts are stamped ahead of it; the dashboard shows the market time beside the update time", "speed", c.speed)
		}
	}

	stopProgress := showReplayProgress(j.progress, stderr)
	runErr := p.Run(ctx)
	stopProgress(runErr == nil)
	interrupted := ctx.Err() != nil && errors.Is(runErr, ctx.Err())
	if err := j.closeAll(context.WithoutCancel(ctx)); err != nil && runErr == nil {
		runErr = err
	}
	j.closers = nil
	if c.out != "" && (runErr == nil || interrupted) {
		if err := writeQuality(filepath.Join(c.out, "quality.json"), chain.Stats()); err != nil && runErr == nil {
			runErr = err
		}
	}
	st, q := p.Stats(), chain.Stats()
	log.Info(fmt.Sprintf("%d records, %d passed, %d dead letters, %d duplicates, %d late, %d alerts; quality score %.2f%%",
		q.Processed, q.Passed, q.Failed, q.Duplicate, st.Late, st.Alerts, q.QualityScore),
		"records", q.Processed, "passed", q.Passed, "dead_letters", q.Failed, "duplicates", q.Duplicate, "late", st.Late,
		"alerts", st.Alerts, "quality_score", q.QualityScore)
	if runErr != nil && !interrupted {
		return fail(exitFail, runErr)
	}
	if c.replay != "" && q.Processed > 0 && q.Passed == 0 && !interrupted {
		return fail(exitFail, fmt.Errorf("none of the %d records of %s passed the quality checks (%d malformed, %d incomplete, %d invalid, %d duplicates): is it a file of trades? The reasons are in %s",
			q.Processed, c.replay, q.FailedByReason[ctc.Malformed], q.FailedByReason[ctc.Incomplete], q.FailedByReason[ctc.Invalid], q.Duplicate,
			filepath.Join(c.out, jsonl.DeadLettersFile)))
	}
	return exitOK
}

// replayJob wires a bounded replay: the file, NDJSON outputs, optionally the warehouse, and
// checkpoints in -out so that a killed replay can -resume exactly once.
func (c config) replayJob(ctx context.Context, j *job) (int, error) {
	if c.capture != "" {
		src, closeFile, err := captureSource(c.replay, c.capture)
		if err != nil {
			return exitUsage, err
		}
		j.src = src
		j.closers = append(j.closers, closeFile)
	} else {
		rs, err := replay.Open(c.replay, replay.WithInstrument(c.exchange, c.symbol))
		if err != nil {
			return exitUsage, err
		}
		j.src = rs
		j.closers = append(j.closers, rs.Close)
		j.progress = rs.Progress
	}

	stateDir := filepath.Join(c.out, "_state")
	states, err := checkpoint.NewDir(stateDir)
	if err != nil {
		return exitUsage, err
	}
	id, resuming, err := c.replayID(ctx, states)
	if err != nil {
		return exitUsage, err
	}
	j.files, err = jsonl.New(c.out, jsonl.WithAppend())
	if err != nil {
		return exitUsage, err
	}
	j.sinks = append(j.sinks, j.files)
	j.closers = append(j.closers, j.files.Close)
	if c.warehouse != "" {
		lake, err := iceberg.Open(ctx, iceberg.Config{Dir: c.warehouse})
		if err != nil {
			return exitUsage, err
		}
		j.sinks = append(j.sinks, lake)
		j.closers = append(j.closers, lake.Close)
		if !resuming {
			// No state of this replay in -out: the warehouse must not hold it either, or its rows
			// would be written twice.
			held, err := lake.Pipelines(ctx, strings.TrimSuffix(id, c.settingsTag()))
			if err != nil {
				return exitFail, err
			}
			for other, cp := range held {
				if other == id {
					return exitUsage, fmt.Errorf("-warehouse %s already holds this replay of %s (pipeline %s, checkpoint %d at %v), but %s has no state of it: "+
						"run it with the -out it was written with to continue it (or find it complete), or use another -warehouse",
						c.warehouse, c.replay, id, cp.Seq, cp.Position, c.out)
				}
				return exitUsage, fmt.Errorf("-warehouse %s already holds %s replayed with other settings (pipeline %s): "+
					"reprocess the warehouse (adapters/reprocess) to try other thresholds, or use another -warehouse", c.warehouse, c.replay, other)
			}
		}
	}
	j.opts = append(j.opts, ctc.WithCheckpoints(ctc.CheckpointConfig{Store: states, PipelineID: id, EveryRecords: c.every}))
	return exitOK, nil
}

// replayID names the replay's pipeline after what it reads — the file's name and first MiB — and
// the settings that shape its output, so that running the same replay again is recognised, and
// reports whether -out holds a state of it to resume. A rerun resumes whether or not -resume is
// given (a finished replay resumes at its end and writes nothing again); -resume only insists
// that there is something to resume.
func (c config) replayID(ctx context.Context, states *checkpoint.Dir) (id string, resuming bool, err error) {
	f, err := os.Open(c.replay)
	if err != nil {
		return "", false, err
	}
	defer f.Close()
	h := sha256.New()
	h.Write([]byte(filepath.Base(c.replay)))
	h.Write([]byte{0})
	if _, err := io.CopyN(h, f, 1<<20); err != nil && !errors.Is(err, io.EOF) {
		return "", false, err
	}
	id = "replay-" + hex.EncodeToString(h.Sum(nil))[:16] + c.settingsTag()
	st, err := states.Load(ctx, id)
	if err != nil {
		return "", false, err
	}
	if st == nil && c.resume {
		// A replay started by an older build recorded its id in _state/current.
		if b, err := os.ReadFile(filepath.Join(c.out, "_state", "current")); err == nil {
			old := strings.TrimSpace(string(b))
			if st, err := states.Load(ctx, old); err == nil && st != nil {
				return old, true, nil
			}
		}
		// Nothing to resume (killed before its first checkpoint, which commits nothing before it
		// is saved): start afresh.
	}
	return id, st != nil, nil
}

// settingsTag is the part of a replay's pipeline id that stands for the settings shaping its
// output: the thresholds, and how the file is read.
func (c config) settingsTag() string {
	h := sha256.New()
	fmt.Fprintf(h, "%+v|%s|%s|%s", c.thresholds, c.capture, c.exchange, c.symbol)
	return "-" + hex.EncodeToString(h.Sum(nil))[:8]
}

// simJob wires the default run: the simulator (or the live markets) into the warehouse and the
// hot store under -data, checkpointing every minute so the tables are committed as it goes and
// at Ctrl-C. A simulated market continues after a crash or restart from its last checkpoint —
// the same market, the same event ids, the alerts the hot store already shows committed to the
// warehouse too — unless -start names another one or -fresh asks for a new one.
func (c config) simJob(ctx context.Context, j *job, log *slog.Logger) (int, error) {
	if err := os.MkdirAll(c.data, 0o755); err != nil {
		return exitUsage, err
	}
	states, err := checkpoint.NewDir(filepath.Join(c.data, "checkpoints"))
	if err != nil {
		return exitUsage, err
	}
	start := time.Now().UTC().Truncate(time.Millisecond)
	if c.start != "" {
		t, err := time.Parse(time.RFC3339, c.start)
		if err != nil {
			return exitUsage, fmt.Errorf("-start must be RFC 3339 like 2024-01-15T10:00:00Z, got %q", c.start)
		}
		start = t.UTC()
	}
	var id string
	if c.live {
		// A live feed cannot be read again from a position: each run is a pipeline of its own.
		id = fmt.Sprintf("live-%d", start.UnixMilli())
		src, feeds, err := liveSource(ctx, c.symbols, c.endpoints, log)
		if err != nil {
			return exitFail, err
		}
		j.src, j.feeds = src, feeds
		j.closers = append(j.closers, src.Close)
		cl, err := detect.NewCluster(c.thresholds.ClusterConfig())
		if err != nil {
			return exitUsage, err
		}
		j.opts = append(j.opts, ctc.WithDetectors(cl))
	} else {
		run, resumed, err := c.simRun(ctx, states, start)
		if err != nil {
			return exitUsage, err
		}
		if resumed != nil {
			log.Info("continuing the simulated market; -fresh starts a new one",
				"opened", run.Start.Add(-run.WarmUp).Format(time.RFC3339), "checkpoint", resumed.Seq, "trade", resumed.Position.Offset)
		}
		// The warm-up is history: it ends at the start, so the paced part runs from the present.
		s, err := sim.New(sim.Config{
			Seed:          run.Seed,
			Start:         run.Start.Add(-run.WarmUp),
			WarmUp:        run.WarmUp,
			Duration:      durationOrZero(run.WarmUp, c.duration),
			Speed:         c.speed,
			WhaleClusters: run.WhaleClusters,
		})
		if err != nil {
			return exitUsage, err
		}
		j.src, id = s, run.ID
		if run.WhaleClusters {
			cl, err := detect.NewCluster(c.thresholds.ClusterConfig())
			if err != nil {
				return exitUsage, err
			}
			j.opts = append(j.opts, ctc.WithDetectors(cl))
		}
	}
	store, err := embedded.Open(filepath.Join(c.data, "alerts.db"))
	if err != nil {
		return exitUsage, err
	}
	j.sinks = append(j.sinks, store)
	j.closers = append(j.closers, store.Close)
	lake, err := iceberg.Open(ctx, iceberg.Config{Dir: filepath.Join(c.data, "warehouse")})
	if err != nil {
		return exitUsage, err
	}
	j.sinks = append(j.sinks, lake)
	j.closers = append(j.closers, lake.Close)
	if c.out != "" {
		j.files, err = jsonl.New(c.out, jsonl.WithTrades(), jsonl.WithAppend())
		if err != nil {
			return exitUsage, err
		}
		j.sinks = append(j.sinks, j.files)
		j.closers = append(j.closers, j.files.Close)
	}
	ck := ctc.CheckpointConfig{Store: states, PipelineID: id, Interval: time.Minute}
	if c.speed > 0 || c.live {
		j.opts = append(j.opts, ctc.WithClock(time.Now), ctc.WithIdleTimeout(10*time.Second))
	} else {
		ck.EveryRecords = 100_000
	}
	j.opts = append(j.opts, ctc.WithCheckpoints(ck))
	return exitOK, nil
}

// simRun is the simulated market a default run watches: the one recorded in -data when there is
// one to continue, else a new one opening at start (recorded for the next run).
type simRun struct {
	ID     string        `json:"pipeline_id"`
	Seed   int64         `json:"seed"`
	Start  time.Time     `json:"start"`
	WarmUp time.Duration `json:"warm_up"`
	// WhaleClusters: the market injects split-order whales and the run detects them
	// (detect.Cluster). Markets recorded before it existed continue without.
	WhaleClusters bool `json:"whale_clusters"`
}

// simRun returns the run to go on with, and the checkpoint it resumes from (nil for a new run).
func (c config) simRun(ctx context.Context, states *checkpoint.Dir, start time.Time) (simRun, *ctc.Checkpoint, error) {
	path := filepath.Join(c.data, "market.json")
	if c.start == "" && !c.fresh {
		var last simRun
		if b, err := os.ReadFile(path); err == nil && json.Unmarshal(b, &last) == nil && last.Seed == c.seed && last.ID != "" {
			st, err := states.Load(ctx, last.ID)
			if err != nil {
				return simRun{}, nil, err
			}
			if st != nil {
				return last, &st.Checkpoint, nil
			}
		}
	}
	run := simRun{Seed: c.seed, Start: start, WarmUp: c.warmUp, WhaleClusters: true,
		ID: fmt.Sprintf("sim-%d-%d", c.seed, start.UnixMilli())}
	st, err := states.Load(ctx, run.ID)
	if err != nil {
		return simRun{}, nil, err
	}
	b, err := json.Marshal(run)
	if err != nil {
		return simRun{}, nil, err
	}
	if err := fsx.WriteFileAtomic(path, b); err != nil {
		return simRun{}, nil, err
	}
	if st != nil {
		return run, &st.Checkpoint, nil
	}
	return run, nil, nil
}

// serve starts the API and dashboard over the hot store, with Prometheus metrics of the pipeline,
// the quality chain and (registered on reg already) the sinks. It returns a function that shuts the server down.
func serve(addr string, reg *prometheus.Registry, sinks []ctc.Sink, p *ctc.Pipeline, chain *quality.Chain, cfg api.Config) (func(), string, error) {
	for _, s := range sinks {
		if st, ok := s.(api.Store); ok {
			cfg.Store = st
		}
	}
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		api.NewCollector(p.Stats, chain.Stats))
	cfg.Quality, cfg.Registerer = chain.Stats, reg
	h, err := api.New(cfg)
	if err != nil {
		return nil, "", err
	}
	url, stop, err := api.Start(addr, h)
	if err != nil {
		return nil, "", fmt.Errorf("cannot serve the dashboard on %s: %w (choose another with -addr)", addr, err)
	}
	return stop, url, nil
}

// bigReplay is the file size from which a replay reports its progress on a non-terminal stderr
// (on a terminal, always): a small file is done before a line would help.
const bigReplay = 64 << 20

// showReplayProgress reports a replay's progress on stderr every half second, through the
// commands' one progress helper, until the returned function is called (with whether the run
// completed, which shows 100 %).
func showReplayProgress(progressOf func() (read, size int64), stderr io.Writer) func(done bool) {
	if progressOf == nil {
		return func(bool) {}
	}
	if _, size := progressOf(); size == 0 || (size < bigReplay && !progress.IsTerminal(stderr)) {
		return func(bool) {}
	}
	bar := progress.New(stderr, "consumer", "MiB")
	update := func() {
		read, size := progressOf()
		bar.Update("replay", float64(read)/float64(size), read>>20)
	}
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			update()
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return func(done bool) {
		close(stop)
		<-stopped
		if done {
			update()
		}
		bar.Done()
	}
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

// profile starts a CPU profile into cpu and arranges a heap profile into mem, for whoever
// measures a run; the returned function ends both.
func profile(cpu, mem string) (func(), error) {
	var stops []func()
	if cpu != "" {
		f, err := os.Create(cpu)
		if err != nil {
			return nil, err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return nil, err
		}
		stops = append(stops, func() { pprof.StopCPUProfile(); f.Close() })
	}
	if mem != "" {
		stops = append(stops, func() {
			if f, err := os.Create(mem); err == nil {
				_ = pprof.WriteHeapProfile(f)
				f.Close()
			}
		})
	}
	return func() {
		for _, s := range stops {
			s()
		}
	}, nil
}
