// Package fromlake judges the alerts of an Iceberg warehouse (package sink/iceberg) with package
// evidence: the alerts of anomaly_alerts detected in the evaluation's [Config.From, Config.To),
// against the trades of raw_trades their evaluation reads (Config.Span). It is what
// adapters/evidence and the batch Lambda's evidence task run; package evidence itself reads no
// store, so that a program with its own store links no Iceberg.
//
//	lake, err := iceberg.Open(ctx, iceberg.Config{Dir: "ctc-data/warehouse"})
//	…
//	report, err := fromlake.Evaluate(ctx, lake, evidence.Config{From: from, To: to, Seed: 1}, nil)
//
// Evaluate reads no clock: the same warehouse contents and Config give the same report, byte for
// byte once encoded. It starts no goroutines beyond the scans'.
package fromlake

import (
	"context"
	"slices"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/evidence"
	"github.com/coattailcapital/ctc/sink/iceberg"
)

// Evaluate reads the alerts of anomaly_alerts detected in [cfg.From, cfg.To) (a zero bound is no
// bound) and the trades of raw_trades that judging them reads, and returns evidence.Evaluate's
// report. keep, when not nil, keeps only the alerts and trades of the symbols it accepts: an
// alert's symbol (a spread alert's is its instrument) and a trade's.
func Evaluate(ctx context.Context, lake *iceberg.Sink, cfg evidence.Config, keep func(symbol string) bool) (*evidence.Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	alerts, err := lake.ScanAlerts(ctx, iceberg.AnomalyAlerts, cfg.From, cfg.To)
	if err != nil {
		return nil, err
	}
	if keep != nil {
		alerts = slices.DeleteFunc(alerts, func(a ctc.Alert) bool { return !keep(a.Symbol) })
	}
	var trades evidence.Trades
	if len(alerts) > 0 {
		// ScanAlerts sorts by detected_at: the first and last alerts bound the trades read, or the
		// range itself where it is bounded (pseudo-alerts are drawn over all of it).
		first, last := alerts[0].DetectedAt, alerts[len(alerts)-1].DetectedAt
		if !cfg.From.IsZero() {
			first = cfg.From
		}
		if !cfg.To.IsZero() {
			last = cfg.To
		}
		from, to := cfg.Span(first, last)
		scan := iceberg.ScanOptions{From: from, To: to.Add(time.Millisecond)} // Span is inclusive, ScanOptions.To exclusive
		for batch, err := range lake.ScanTrades(ctx, scan) {
			if err != nil {
				return nil, err
			}
			if keep != nil {
				batch = slices.DeleteFunc(batch, func(t ctc.Trade) bool { return !keep(t.Symbol) })
			}
			trades.Add(batch...)
		}
	}
	return evidence.Evaluate(cfg, alerts, &trades)
}
