// Command reprocess re-runs the detectors over the trades in the Iceberg warehouse, with the
// thresholds given on the command line, writes the alerts to anomalies_reprocessed and prints how
// they differ from anomaly_alerts.
//
//	go run ./adapters/reprocess -warehouse ctc-data/warehouse -whale 50000
//	go run ./adapters/reprocess -warehouse ctc-data/warehouse -as-of 2024-01-15T11:00:00Z
//	go run ./adapters/reprocess -warehouse ctc-data/warehouse -from 2024-01-15T10:00:00Z -to 2024-01-15T12:00:00Z
//	go run ./adapters/reprocess -warehouse ctc-data/warehouse -run-id day-2024-01-15 -publish
//
// Every run is registered under its run id (reprocess.RunOnce), as the daily workflow's are: a
// run id that already succeeded is not run again. With -publish a run that passes the quality
// gate (-min-quality-score, -min-trades, -max-missing-alert-pct) becomes the published
// reprocessed result (reprocess.Publish), exactly as the workflow's catalog_update publishes it.
//
// Business logic lives in package reprocess; this is flags, progress and printing.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/coattailcapital/ctc/detect"
	"github.com/coattailcapital/ctc/internal/logflag"
	"github.com/coattailcapital/ctc/internal/progress"
	"github.com/coattailcapital/ctc/reprocess"
	"github.com/coattailcapital/ctc/sink/iceberg"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, progress.IsTerminal(os.Stderr)))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, tty bool) int {
	fs := flag.NewFlagSet("reprocess", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: reprocess -warehouse DIR [flags]

Reads raw_trades from the local Iceberg warehouse — as of a snapshot id or a time (time travel), or a
time range of the current snapshot — runs the quality chain and detectors with the thresholds given
here, writes the alerts to anomalies_reprocessed under a run id, and prints how they differ from
anomaly_alerts over the same range.

Flags:
`)
		fs.PrintDefaults()
	}
	var (
		warehouse, asOf, from, to, runID string
		snapshot                         int64
		publish                          bool
	)
	th := detect.DefaultThresholds()
	gate := reprocess.DefaultGate()
	fs.StringVar(&warehouse, "warehouse", "", "the local warehouse `DIR` (the consumer's is ctc-data/warehouse)")
	fs.Int64Var(&snapshot, "snapshot", 0, "read raw_trades as of this snapshot `id` (0: the current one)")
	fs.StringVar(&asOf, "as-of", "", "read raw_trades as it was at this RFC 3339 `time` (time travel)")
	fs.StringVar(&from, "from", "", "only trades at or after this RFC 3339 `time`")
	fs.StringVar(&to, "to", "", "only trades before this RFC 3339 `time`")
	fs.StringVar(&runID, "run-id", "", "name of the run in anomalies_reprocessed (default: reprocess-<now>)")
	th.RegisterFlags(fs)
	fs.BoolVar(&publish, "publish", false, "publish the run as the current reprocessed result when it passes the quality gate")
	fs.Float64Var(&gate.MinQualityScore, "min-quality-score", gate.MinQualityScore, "with -publish: the lowest quality `score` (%) that passes")
	fs.Int64Var(&gate.MinTrades, "min-trades", gate.MinTrades, "with -publish: the fewest `trades` a run may have reprocessed")
	fs.Float64Var(&gate.MaxMissingAlertPct, "max-missing-alert-pct", gate.MaxMissingAlertPct, "with -publish: the largest share (`%`) of live alerts that may be missing")
	logs := logflag.Register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	log, lerr := logs.New(stderr)
	if lerr != nil {
		fmt.Fprintln(stderr, "reprocess:", lerr)
		return 2
	}
	usage := func(err error) int {
		fmt.Fprintln(stderr, "reprocess:", err) // a command-line mistake: plain, like the flag package's own
		return 2
	}
	if fs.NArg() > 0 {
		return usage(fmt.Errorf("unexpected argument %q: every option is a flag", fs.Arg(0)))
	}
	if warehouse == "" {
		return usage(errors.New("-warehouse is required"))
	}
	if _, err := os.Stat(warehouse); err != nil {
		return usage(fmt.Errorf("-warehouse: %w", err))
	}
	var scan iceberg.ScanOptions
	scan.SnapshotID = snapshot
	for _, t := range []struct {
		flag, value string
		dst         *time.Time
	}{{"-as-of", asOf, &scan.AsOf}, {"-from", from, &scan.From}, {"-to", to, &scan.To}} {
		if t.value == "" {
			continue
		}
		v, err := time.Parse(time.RFC3339Nano, t.value)
		if err != nil {
			return usage(fmt.Errorf("%s must be RFC 3339 like 2024-01-15T10:00:00Z, got %q", t.flag, t.value))
		}
		*t.dst = v.UTC()
	}
	if snapshot != 0 && asOf != "" {
		return usage(errors.New("give -snapshot or -as-of, not both"))
	}
	detectors, err := th.Detectors()
	if err != nil {
		return usage(err)
	}
	if runID == "" {
		runID = "reprocess-" + time.Now().UTC().Format("20060102T150405Z")
	}
	lake, err := iceberg.Open(ctx, iceberg.Config{Dir: warehouse})
	if err != nil {
		log.Error(err.Error())
		return 1
	}
	defer lake.Close(context.WithoutCancel(ctx))

	bar := progress.New(stderr, "reprocess", "trades", progress.WithTerminal(tty), progress.WithEvery(time.Second))
	update := func(phase string, done, total int64) {
		frac := -1.0
		if total > 0 {
			frac = float64(done) / float64(total)
		}
		bar.Update(phase, frac, done)
	}
	res, report, err := reprocess.RunOnce(ctx, reprocess.Config{Lake: lake, Scan: scan, Detectors: detectors, RunID: runID, Progress: update}, time.Now())
	bar.Done()
	if err != nil {
		log.Error(err.Error())
		return 1
	}
	if report == nil {
		fmt.Fprintf(stdout, "run %s already succeeded at %s (%d trades): not run again; choose another -run-id to run again\n",
			runID, res.FinishedAt.Format(time.RFC3339), res.Trades)
	} else if err := report.WriteText(stdout); err != nil {
		log.Error(err.Error())
		return 1
	}
	if !publish {
		return 0
	}
	v := gate.Check(runID, res)
	if !v.Passed {
		log.Error("run not published: "+strings.Join(v.Reasons, "; "), "run", runID)
		return 1
	}
	pub, err := reprocess.Publish(ctx, lake, runID, reprocess.DefaultRetention(), time.Now())
	if err != nil {
		log.Error(err.Error())
		return 1
	}
	fmt.Fprintf(stdout, "\npublished run %s (quality %.2f %%); kept %d run records, removed %d\n", runID, v.Score, pub.RunsKept, pub.RunsRemoved)
	return 0
}
