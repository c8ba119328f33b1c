// Command evidence asks whether the alerts in the warehouse were worth acting on: for every alert
// in anomaly_alerts, how the market moved +1 min, +5 min, +15 min and +1 h after it was detected
// (VWAPs from raw_trades), in the alert's direction where it has one, per alert type and
// severity, beside the same statistics for pseudo-alerts at random times on the same markets.
//
//	go run ./adapters/evidence                                   # the default run's ctc-data/warehouse
//	go run ./adapters/evidence -warehouse lake -from 2026-11-25T00:00:00Z -to 2026-11-26T00:00:00Z
//	go run ./adapters/evidence -symbols BTC,ETH-USDT -json > evidence.json
//	go run ./adapters/evidence -out ctc-data/evidence.json       # also the dashboard's panel
//
// It reads the catalog named by the same flags and CTC_* variables as the other commands
// (-warehouse, -catalog, -catalog-uri, -namespace, -s3-endpoint, -region). The computation is in
// package evidence and the reading in evidence/fromlake (which the batch Lambda's evidence task
// runs too); this is flags and printing.
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
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/apache/iceberg-go/utils"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/awsenv"
	"github.com/coattailcapital/ctc/awsenv/lakeenv"
	"github.com/coattailcapital/ctc/evidence"
	"github.com/coattailcapital/ctc/evidence/fromlake"
	"github.com/coattailcapital/ctc/internal/fsx"
	"github.com/coattailcapital/ctc/internal/logflag"
	"github.com/coattailcapital/ctc/sink/iceberg"
)

// defaultWarehouse is where the default run (examples/consumer) keeps its warehouse.
const defaultWarehouse = "ctc-data/warehouse"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

type options struct {
	logs     *logflag.Flags
	env      awsenv.Env
	from, to time.Time
	symbols  map[string]bool
	json     bool
	out      string
	cfg      evidence.Config
}

func parse(args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	o := options{env: awsenv.FromEnv(getenv)}
	fs := flag.NewFlagSet("evidence", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: evidence [flags]

Judges every alert of anomaly_alerts against the trades of raw_trades: the move of the alert's market
at +1m, +5m, +15m and +1h after detected_at (the VWAP around each horizon against the VWAP of the 10 s
up to detected_at), signed by the alert's direction (whales: the taker's side; spreads: the spread
closing; volume spikes have none and are judged by the size of the move), per alert type and
severity, beside pseudo-alerts at random times on the same markets. Prints a table, or JSON with
-json; -out also writes the JSON to a file (the dashboard's evidence panel).

Flags:
`)
		fs.PrintDefaults()
	}
	o.env.RegisterFlags(fs, awsenv.AWS|awsenv.Lake)
	var from, to, symbols string
	var seed int64
	fs.StringVar(&from, "from", "", "only alerts detected at or after this RFC 3339 `time`")
	fs.StringVar(&to, "to", "", "only alerts detected before this RFC 3339 `time`")
	fs.StringVar(&symbols, "symbols", "", "only alerts of these comma-separated `symbols` or instruments (BTC-USDT, or BTC for every BTC market and its spread)")
	fs.BoolVar(&o.json, "json", false, "print the report as JSON instead of a table")
	fs.StringVar(&o.out, "out", "", "also write the JSON report to `FILE` (the consumer serves ctc-data/evidence.json on its dashboard)")
	fs.IntVar(&o.cfg.Baseline, "baseline", evidence.DefaultBaseline, "pseudo-alerts per alert (`N`, up to 1000)")
	fs.Int64Var(&seed, "seed", 1, "`seed` of the pseudo-alerts' random times")
	fs.Float64Var(&o.cfg.Confidence, "confidence", evidence.DefaultConfidence, "`level` of the confidence intervals")
	o.logs = logflag.Register(fs)
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q: every option is a flag", fs.Arg(0))
	}
	o.cfg.Seed = uint64(seed)
	if o.cfg.Baseline == 0 {
		o.cfg.Baseline = -1 // the flag's 0 means none; the library's zero value means the default
	}
	for _, t := range []struct {
		flag, value string
		dst         *time.Time
	}{{"-from", from, &o.from}, {"-to", to, &o.to}} {
		if t.value == "" {
			continue
		}
		v, err := time.Parse(time.RFC3339Nano, t.value)
		if err != nil {
			return o, fmt.Errorf("%s must be RFC 3339 like 2026-11-25T00:00:00Z, got %q", t.flag, t.value)
		}
		*t.dst = v.UTC()
	}
	if !o.from.IsZero() && !o.to.IsZero() && !o.from.Before(o.to) {
		return o, fmt.Errorf("-from (%s) must be before -to (%s)", from, to)
	}
	o.cfg.From, o.cfg.To = o.from, o.to
	for _, s := range strings.Split(symbols, ",") {
		if s = strings.TrimSpace(s); s != "" {
			if o.symbols == nil {
				o.symbols = map[string]bool{}
			}
			o.symbols[s] = true
		}
	}
	if o.env.Warehouse == "" {
		o.env.Warehouse = defaultWarehouse
	}
	if err := o.cfg.Validate(); err != nil {
		return o, err
	}
	return o, nil
}

// wants reports whether the -symbols filter keeps symbol (a market's symbol, or a spread's
// instrument): listed itself, or its instrument listed.
func (o *options) wants(symbol string) bool {
	return o.symbols == nil || o.symbols[symbol] || o.symbols[ctc.InstrumentOf(symbol)]
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	o, err := parse(args, getenv, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "evidence:", err)
		return 2
	}
	log, err := o.logs.New(stderr)
	if err != nil {
		fmt.Fprintln(stderr, "evidence:", err)
		return 2
	}
	rep, err := evaluate(ctx, o, log)
	if err != nil {
		log.Error(err.Error())
		return 1
	}
	b, err := rep.JSON()
	if err != nil {
		log.Error(err.Error())
		return 1
	}
	if o.out != "" {
		if err := fsx.WriteFileAtomic(o.out, b); err != nil {
			log.Error(err.Error())
			return 1
		}
	}
	if o.json {
		_, err = stdout.Write(b)
	} else {
		err = rep.WriteText(stdout)
	}
	if err != nil {
		log.Error(err.Error())
		return 1
	}
	return 0
}

func evaluate(ctx context.Context, o options, log *slog.Logger) (*evidence.Report, error) {
	e := o.env
	var awsCfg aws.Config
	if e.CatalogKind() == "glue" || strings.HasPrefix(e.Warehouse, "s3://") {
		c, err := e.AWSConfig(ctx)
		if err != nil {
			return nil, err
		}
		awsCfg = c
		ctx = utils.WithAwsConfig(ctx, &awsCfg)
	} else if e.CatalogURI == "" {
		// A local warehouse that is not there is a typo, not an empty warehouse to create.
		if _, err := os.Stat(filepath.Join(strings.TrimPrefix(e.Warehouse, "file://"), "catalog.db")); err != nil {
			return nil, fmt.Errorf("-warehouse %s holds no warehouse (%w): run the consumer first (go run ./examples/consumer), or name another with -warehouse", e.Warehouse, err)
		}
	}
	cat, closeCat, err := lakeenv.OpenCatalog(ctx, e, awsCfg)
	if err != nil {
		return nil, err
	}
	defer closeCat()
	lake, err := iceberg.Open(ctx, lakeenv.LakeConfig(e, cat))
	if err != nil {
		return nil, err
	}
	defer lake.Close(context.WithoutCancel(ctx))

	var keep func(string) bool
	if o.symbols != nil {
		keep = o.wants
	}
	start := time.Now()
	rep, err := fromlake.Evaluate(ctx, lake, o.cfg, keep)
	if err != nil {
		return nil, err
	}
	log.Info("evaluated", "alerts", rep.Alerts, "trades", rep.Trades, "took", time.Since(start).Round(time.Millisecond))
	return rep, nil
}
