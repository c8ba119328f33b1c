// Command producer puts market trades on a Kinesis stream: the exchanges (or the simulator, or a
// replay file) through ctc's quality chain into sink/kinesis, valid trades onto the trade stream
// partitioned by instrument, and what fails quality — malformed, incomplete, invalid records — onto
// the DLQ stream with its reason (DESIGN §7).
//
//	go run ./adapters/producer                                   # the simulator, in real time
//	go run ./adapters/producer -live -symbols BTC,ETH            # Binance and Coinbase
//	go run ./adapters/producer -replay trades.ndjson             # a file, as fast as possible
//	CTC_KINESIS_ENDPOINT=http://127.0.0.1:4567 go run ./adapters/producer -speed 0 -max-trades 10000
//
// With -kafka-brokers (CTC_KAFKA_BROKERS) the trades go to a Kafka topic instead (sink/kafka: keyed
// by instrument, dead letters to a DLQ topic), with the TLS and SASL flags of package kafkaenv:
//
//	go run ./adapters/producer -kafka-brokers 127.0.0.1:9092 -speed 0 -duration 2h
//
// AWS configuration is the SDK's default chain (environment, shared files, SSO, instance role):
// the same binary runs against AWS and, with an endpoint override, against kinesalite.
//
// # Flags
//
// Each flag falls back to an environment variable when not given; a flag on the command line wins.
// The AWS ones are package awsenv's, shared with the consumer and the Lambda functions.
//
//	-stream NAME             CTC_STREAM            trade stream (default coattail-trades)
//	-dlq-stream NAME         CTC_DLQ_STREAM        dead-letter stream (default coattail-trades-dlq)
//	-region REGION           AWS_REGION            AWS region (default: the SDK's configuration)
//	-kinesis-endpoint URL    CTC_KINESIS_ENDPOINT  Kinesis endpoint override, e.g. a local kinesalite
//	-sim                                       the seeded market simulator (the default source)
//	-live                                      Binance and Coinbase WebSockets instead
//	-symbols LIST        CTC_SYMBOLS           -live: base assets, comma-separated (default BTC,ETH,SOL)
//	-binance-ws URL, -binance-rest URL, -coinbase-ws URL, -coinbase-rest URL
//	                                           -live: exchange endpoints (testnets, local servers)
//	-replay FILE                               unified NDJSON, or Binance aggTrades CSV when FILE ends in .csv
//	-exchange, -symbol                         -replay of a CSV: its exchange and symbol
//	-seed N, -speed X, -start TIME             simulator: seed, pace (× real time, 0 = as fast as
//	                                           possible; default 1), start (default now)
//	-duration D                                simulator: stop after D of event time (0 = no limit)
//	-max-trades N                              stop after N records from the source (0 = no limit)
//	-batch N                                   records per batch handed to Kinesis (default 500)
//	-max-attempts N                            attempts per record before it is dead-lettered (default 8)
//	-grace D                                   on Ctrl-C or SIGTERM, time to put what was read (default 10s)
//	-log-level L, -log-format F                log records on stderr: debug|info|warn|error, text|json
//	-kafka-brokers, -kafka-topic, -kafka-dlq-topic, -kafka-tls, -kafka-tls-ca, -kafka-sasl, -kafka-user
//	                                           Kafka instead of Kinesis (package kafkaenv: CTC_KAFKA_*)
//
// A live run (-live, or the simulator with -speed > 0) stops on Ctrl-C or SIGTERM, putting what it
// holds first (within -grace); a bounded one (-replay, -max-trades, the simulator at -speed 0 with
// -duration) ends with its input. It prints what it sent, dead-lettered and dropped. Exit codes:
// 0 success (also after Ctrl-C), 1 the run failed or records were dropped, 2 the command line is
// wrong.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/awsenv"
	"github.com/coattailcapital/ctc/awsenv/kafkaenv"
	"github.com/coattailcapital/ctc/internal/logflag"
	"github.com/coattailcapital/ctc/quality"
	"github.com/coattailcapital/ctc/sink/kafka"
	"github.com/coattailcapital/ctc/sink/kinesis"
	"github.com/coattailcapital/ctc/source/feed"
	"github.com/coattailcapital/ctc/source/live"
	"github.com/coattailcapital/ctc/source/replay"
	"github.com/coattailcapital/ctc/source/sim"

	// Root certificates for a container with no /etc/ssl (the scratch image deploy/image builds):
	// used only where the system has none, so that TLS to the exchanges and AWS works there.
	_ "golang.org/x/crypto/x509roots/fallback"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

type options struct {
	env                      awsenv.Env
	kafka                    kafkaenv.Env
	logs                     *logflag.Flags
	log                      *slog.Logger
	useSim, useLive          bool
	live                     live.Config
	replay, exchange, symbol string
	seed                     int64
	speed                    float64
	start                    string
	duration                 time.Duration
	maxTrades                int64
	batch, maxAttempts       int
	grace                    time.Duration
}

func parse(args []string, stderr io.Writer) (options, error) {
	o := options{env: awsenv.FromEnv(os.Getenv), kafka: kafkaenv.FromEnv(os.Getenv)}
	if o.env.DLQStream == "" {
		o.env.DLQStream = kinesis.DefaultDLQStream
	}
	fs := flag.NewFlagSet("producer", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: producer [flags]

Puts trades from the simulator (default), the live exchanges (-live) or a file (-replay) through the
quality chain onto a Kinesis stream, and records that fail quality onto the DLQ stream.
Flags fall back to the environment variables named in their description.

Flags:
`)
		fs.PrintDefaults()
	}
	o.env.RegisterFlags(fs, awsenv.AWS|awsenv.Stream)
	o.kafka.RegisterFlags(fs, false)
	fs.BoolVar(&o.useSim, "sim", false, "read the seeded market simulator (the default)")
	fs.BoolVar(&o.useLive, "live", false, "read the Binance and Coinbase WebSockets (needs the internet)")
	fs.StringVar(&o.env.Symbols, "symbols", o.env.Symbols, "-live: base `assets`, comma-separated: Binance X-USDT and Coinbase X-USD (CTC_SYMBOLS)")
	fs.StringVar(&o.live.BinanceWS, "binance-ws", live.BinanceWS, "-live: Binance WebSocket base `URL`")
	fs.StringVar(&o.live.BinanceREST, "binance-rest", live.BinanceREST, "-live: Binance REST base `URL`, for gap repair")
	fs.StringVar(&o.live.CoinbaseWS, "coinbase-ws", live.CoinbaseWS, "-live: Coinbase Exchange feed `URL`")
	fs.StringVar(&o.live.CoinbaseREST, "coinbase-rest", live.CoinbaseREST, "-live: Coinbase Exchange REST base `URL`, for gap repair")
	fs.StringVar(&o.replay, "replay", "", "replay `FILE`: unified NDJSON, or Binance aggTrades CSV when it ends in .csv")
	fs.StringVar(&o.exchange, "exchange", ctc.Binance, "-replay of a CSV: its exchange")
	fs.StringVar(&o.symbol, "symbol", "BTC-USDT", "-replay of a CSV: its symbol (BASE-QUOTE)")
	fs.Int64Var(&o.seed, "seed", 1, "simulator seed")
	fs.Float64Var(&o.speed, "speed", 1, "simulator pace as a multiple of real time; 0 = as fast as possible")
	fs.StringVar(&o.start, "start", "", "simulator start, RFC 3339 (default: now)")
	fs.DurationVar(&o.duration, "duration", 0, "simulator: stop after this much event time (0 = no limit)")
	fs.Int64Var(&o.maxTrades, "max-trades", 0, "stop after `N` records from the source (0 = no limit)")
	fs.IntVar(&o.batch, "batch", kinesis.MaxRequestRecords, "records per batch handed to Kinesis")
	fs.IntVar(&o.maxAttempts, "max-attempts", kinesis.DefaultMaxAttempts, "attempts per record before it is dead-lettered")
	fs.DurationVar(&o.grace, "grace", 10*time.Second, "on Ctrl-C or SIGTERM, time allowed to put the records already read")
	o.logs = logflag.Register(fs)
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected argument %q: every option is a flag", fs.Arg(0))
	case boolCount(o.useSim, o.useLive, o.replay != "") > 1:
		return o, errors.New("-sim, -live and -replay exclude each other: choose one source")
	case o.speed < 0:
		return o, fmt.Errorf("-speed must be >= 0, got %g", o.speed)
	case o.duration < 0 || o.maxTrades < 0 || o.grace < 0:
		return o, errors.New("-duration, -max-trades and -grace must not be negative")
	case o.batch < 1:
		return o, fmt.Errorf("-batch must be >= 1, got %d", o.batch)
	case o.maxAttempts < 1:
		return o, fmt.Errorf("-max-attempts must be >= 1, got %d", o.maxAttempts)
	case o.env.Stream == "" || o.env.DLQStream == "" || o.env.Stream == o.env.DLQStream:
		return o, fmt.Errorf("-stream and -dlq-stream must be two different names, got %q and %q", o.env.Stream, o.env.DLQStream)
	}
	if o.kafka.Enabled() {
		if err := o.kafka.Validate(); err != nil {
			return o, err
		}
	}
	if o.useLive {
		if o.live.Bases = live.ParseBases(o.env.Symbols); len(o.live.Bases) == 0 {
			return o, errors.New("-symbols names no asset")
		}
	}
	return o, nil
}

func boolCount(bs ...bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parse(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintln(stderr, "producer:", err)
		return exitUsage
	}
	if o.log, err = o.logs.New(stderr); err != nil {
		fmt.Fprintln(stderr, "producer:", err)
		return exitUsage
	}
	fail := func(code int, err error) int {
		o.log.Error(err.Error())
		return code
	}

	if o.kafka.Enabled() {
		return o.runKafka(ctx, stdout, stderr)
	}
	awsCfg, err := o.env.AWSConfig(ctx)
	if err != nil {
		return fail(exitFail, err)
	}
	prod, err := kinesis.New(o.env.Kinesis(awsCfg), kinesis.Config{Stream: o.env.Stream, DLQStream: o.env.DLQStream, MaxAttempts: o.maxAttempts, Grace: o.grace})
	if err != nil {
		return fail(exitUsage, err)
	}

	p, chain, closeSrc, code, err := o.pipeline(ctx, prod, stderr)
	if err != nil {
		return fail(code, err)
	}
	defer func() { _ = closeSrc(context.WithoutCancel(ctx)) }()
	o.log.Info(o.describe()+" → kinesis", "stream", o.env.Stream, "dlq_stream", o.env.DLQStream)
	runErr := p.Run(ctx)
	interrupted := ctx.Err() != nil && errors.Is(runErr, ctx.Err())
	q, st := chain.Stats(), prod.Stats()
	fmt.Fprintf(stdout, "producer: %d records, %d sent, %d dead-lettered (%d failed quality), %d duplicates dropped, %d lost; %d requests, %d retried, %d throttled\n",
		q.Processed, st.Sent, st.DeadLettered, q.Failed, q.Duplicate, st.Dropped, st.Requests, st.Retried, st.ThrottledRecords+st.ThrottledRequests)
	if runErr != nil && !interrupted {
		return fail(exitFail, runErr)
	}
	if st.Dropped > 0 {
		return fail(exitFail, fmt.Errorf("%d records were neither put on %s nor dead-lettered", st.Dropped, o.env.Stream))
	}
	return exitOK
}

// runKafka is run with a Kafka producer (sink/kafka) as the pipeline's sink.
func (o options) runKafka(ctx context.Context, stdout, stderr io.Writer) int {
	fail := func(code int, err error) int {
		o.log.Error(err.Error())
		return code
	}
	var creds aws.CredentialsProvider
	if o.kafka.SASL == kafkaenv.SASLMSKIAM {
		awsCfg, err := o.env.AWSConfig(ctx)
		if err != nil {
			return fail(exitFail, err)
		}
		creds = awsCfg.Credentials
	}
	kopts, err := o.kafka.ClientOptions(creds)
	if err != nil {
		return fail(exitUsage, err)
	}
	prod, err := kafka.Dial(kafka.Config{Topic: o.kafka.Topic, DLQTopic: o.kafka.DLQTopic}, kopts...)
	if err != nil {
		return fail(exitUsage, err)
	}
	p, chain, closeSrc, code, err := o.pipeline(ctx, prod, stderr)
	if err != nil {
		return fail(code, err)
	}
	defer func() { _ = closeSrc(context.WithoutCancel(ctx)) }()
	o.log.Info(o.describe()+" → kafka", "topic", o.kafka.Topic, "brokers", o.kafka.Brokers, "dlq_topic", o.kafka.DLQTopic)
	runErr := p.Run(ctx)
	interrupted := ctx.Err() != nil && errors.Is(runErr, ctx.Err())
	gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), max(o.grace, time.Second))
	closeErr := prod.Close(gctx) // waits for the acknowledgements
	cancel()
	q, st := chain.Stats(), prod.Stats()
	fmt.Fprintf(stdout, "producer: %d records, %d sent, %d dead-lettered (%d failed quality), %d duplicates dropped, %d lost\n",
		q.Processed, st.Sent, st.DeadLettered, q.Failed, q.Duplicate, st.Dropped)
	switch {
	case runErr != nil && !interrupted:
		return fail(exitFail, runErr)
	case closeErr != nil:
		return fail(exitFail, closeErr)
	}
	return exitOK
}

// pipeline builds the producer's pipeline into sink: the chosen source (bounded by -max-trades),
// the quality chain, and the batching; a live source runs it in processing time. The returned
// function closes the source; on error, code is the exit code to give.
func (o options) pipeline(ctx context.Context, sink ctc.Sink, stderr io.Writer) (*ctc.Pipeline, *quality.Chain, func(context.Context) error, int, error) {
	src, liveRun, closeSrc, err := o.source(ctx, stderr)
	if err != nil {
		return nil, nil, nil, exitUsage, err
	}
	if o.maxTrades > 0 {
		src = feed.Limit(src, o.maxTrades)
	}
	chain, err := quality.New(quality.Config{})
	if err != nil {
		_ = closeSrc(context.WithoutCancel(ctx))
		return nil, nil, nil, exitFail, err
	}
	opts := []ctc.PipelineOption{ctc.WithChecker(chain), ctc.WithSinks(sink), ctc.WithBatchSize(o.batch), ctc.WithShutdownGrace(o.grace)}
	if liveRun {
		// A live pipeline hands a batch over as soon as its source has nothing more waiting, so a
		// trade reaches the broker within moments of arriving.
		opts = append(opts, ctc.WithClock(time.Now))
	}
	p, err := ctc.NewPipeline(src, opts...)
	if err != nil {
		_ = closeSrc(context.WithoutCancel(ctx))
		return nil, nil, nil, exitFail, err
	}
	return p, chain, closeSrc, exitOK, nil
}

func (o options) describe() string {
	switch {
	case o.useLive:
		return "Binance and Coinbase (" + strings.Join(o.live.Bases, ",") + ")"
	case o.replay != "":
		return "replay of " + o.replay
	}
	pace := "as fast as possible"
	if o.speed > 0 {
		pace = fmt.Sprintf("at %g× real time", o.speed)
	}
	return "simulator " + pace
}

// source builds the chosen source; live reports whether it runs in processing time.
func (o options) source(ctx context.Context, stderr io.Writer) (src ctc.Source, liveRun bool, closeFn func(context.Context) error, err error) {
	noop := func(context.Context) error { return nil }
	switch {
	case o.useLive:
		cfg := o.live
		cfg.OnGap = func(g feed.Gap) {
			o.log.Warn(g.String(), "exchange", g.Exchange, "symbol", g.Symbol, "repaired", g.Repaired)
		}
		s, err := live.New(ctx, cfg)
		if err != nil {
			return nil, false, nil, err
		}
		return s, true, s.Close, nil
	case o.replay != "":
		s, err := replay.Open(o.replay, replay.WithInstrument(o.exchange, o.symbol))
		if err != nil {
			return nil, false, nil, err
		}
		return s, false, s.Close, nil
	}
	start := time.Now().UTC().Truncate(time.Millisecond)
	if o.start != "" {
		t, err := time.Parse(time.RFC3339, o.start)
		if err != nil {
			return nil, false, nil, fmt.Errorf("-start must be RFC 3339 like 2024-01-15T10:00:00Z, got %q", o.start)
		}
		start = t.UTC()
	}
	s, err := sim.New(sim.Config{Seed: o.seed, Start: start, Duration: o.duration, Speed: o.speed})
	if err != nil {
		return nil, false, nil, err
	}
	return s, o.speed > 0, noop, nil
}
