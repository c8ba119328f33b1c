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
// byte once encoded. Its memory does not grow with the trades: it reads them twice with an
// evidence.Plan. It starts no goroutines beyond the scans'.
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
//
// It judges them with an evidence.Plan: two scans of the trades (of one snapshot of raw_trades),
// in memory bounded by the alerts' windows, whatever the number of trades. raw_trades holds each
// trade once when checkpointing pipelines write it (a re-run checkpoint's rows are dropped, not
// committed twice); a trade loaded twice (two loads of one day under different pipeline ids) is
// counted twice, where evidence.Trades would count it once.
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
	p, err := evidence.NewPlan(cfg, alerts)
	if err != nil {
		return nil, err
	}
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
		// Two scans of the same snapshot, so that the second reads what the first did even while
		// a pipeline commits: the first finds each market's first and last trade, the second sums
		// the trades into the windows they fix.
		tbl, err := lake.Table(ctx, iceberg.RawTrades)
		if err != nil {
			return nil, err
		}
		snap := tbl.CurrentSnapshot()
		if snap != nil {
			scan.SnapshotID = snap.SnapshotID
		}
		pass := func(f func(...ctc.Trade)) error {
			if snap == nil {
				return nil // no snapshot yet: no trades
			}
			for batch, err := range lake.ScanTrades(ctx, scan) {
				if err != nil {
					return err
				}
				if keep != nil {
					batch = slices.DeleteFunc(batch, func(t ctc.Trade) bool { return !keep(t.Symbol) })
				}
				f(batch...)
			}
			return nil
		}
		if err := pass(p.Observe); err != nil {
			return nil, err
		}
		p.Seal()
		if p.Windows() > 0 {
			if err := pass(p.Accumulate); err != nil {
				return nil, err
			}
		}
	} else {
		p.Seal()
	}
	return p.Report()
}
