// Package reprocess re-runs detectors over history: it reads raw_trades from the Iceberg
// warehouse as of a snapshot or a time (time travel), or over a time range of the current
// snapshot, runs them through the same quality chain and detectors as the live pipeline (with the
// thresholds it is given), writes the alerts to anomalies_reprocessed under a run id, and reports
// how they differ from anomaly_alerts over the same range.
//
// The trades are sorted by (timestamp, event id) before detection, since a table scan returns
// them partition by partition; the detectors' results do not depend on arrival order within their
// lateness, so this reproduces the live run's alerts for the same thresholds. Windows cut by the
// edges of a From/To range see only part of their trades, so alerts at the edges may differ.
// The selected trades are held in memory (about 150 bytes each): select a range for large tables.
package reprocess

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/quality"
	"github.com/coattailcapital/ctc/sink/iceberg"
	"github.com/coattailcapital/ctc/sink/memory"
	"github.com/coattailcapital/ctc/source/replay"
)

// Config is one reprocessing run.
type Config struct {
	// Lake is the warehouse to read raw_trades and anomaly_alerts from and write
	// anomalies_reprocessed to. Required.
	Lake *iceberg.Sink
	// Scan selects the snapshot and the time range of raw_trades.
	Scan iceberg.ScanOptions
	// Detectors are the detectors to run, configured with the thresholds to try. Required.
	Detectors []ctc.Detector
	// Quality configures the quality chain; the zero value is the default chain.
	Quality quality.Config
	// RunID names the run in anomalies_reprocessed. Required.
	RunID string
	// Progress, when set, is called as the run advances: in phase "read" with the trades read so
	// far (total -1: unknown), in phase "detect" with trades processed of total.
	Progress func(phase string, done, total int64)
}

// Report is what a run found, against what the live pipeline found over the same range.
type Report struct {
	RunID  string
	Trades int64
	// Quality holds the quality chain's counters over the trades read: a table holding a trade
	// twice (a load committed twice) shows as duplicates and a lower score.
	Quality quality.Stats
	// Original and Reprocessed count alerts by type.
	Original, Reprocessed map[ctc.AlertType]int
	// OnlyOriginal and OnlyReprocessed are the alerts (by alert_id) found by one side only;
	// Changed are those both found with a different severity, sorted by detection time.
	OnlyOriginal, OnlyReprocessed []ctc.Alert
	Changed                       []Change
}

// Change is an alert both runs raised, with different severities.
type Change struct {
	Original, Reprocessed ctc.Alert
}

func (c Config) validate() error {
	switch {
	case c.Lake == nil:
		return errors.New("reprocess: Config.Lake is required")
	case len(c.Detectors) == 0:
		return errors.New("reprocess: at least one detector is required")
	case c.RunID == "":
		return errors.New("reprocess: Config.RunID is required")
	}
	return nil
}

// Run reprocesses and reports.
func Run(ctx context.Context, c Config) (*Report, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	progress := c.Progress
	if progress == nil {
		progress = func(string, int64, int64) {}
	}
	var trades []ctc.Trade
	for batch, err := range c.Lake.ScanTrades(ctx, c.Scan) {
		if err != nil {
			return nil, fmt.Errorf("reprocess: read raw_trades: %w", err)
		}
		trades = append(trades, batch...)
		progress("read", int64(len(trades)), -1)
	}
	sort.SliceStable(trades, func(i, j int) bool {
		a, b := &trades[i], &trades[j]
		if c := a.Timestamp.Compare(b.Timestamp); c != 0 {
			return c < 0
		}
		return slices.Compare(a.EventID[:], b.EventID[:]) < 0
	})

	chain, err := quality.New(c.Quality)
	if err != nil {
		return nil, fmt.Errorf("reprocess: %w", err)
	}
	out := memory.New()
	total := int64(len(trades))
	p, err := ctc.NewPipeline(&counting{Source: replay.Trades(trades), every: 10_000, total: total, progress: progress},
		ctc.WithChecker(chain), ctc.WithDetectors(c.Detectors...), ctc.WithSinks(out))
	if err != nil {
		return nil, fmt.Errorf("reprocess: %w", err)
	}
	if err := p.Run(ctx); err != nil {
		return nil, fmt.Errorf("reprocess: %w", err)
	}
	progress("detect", total, total)
	found := out.Contents().Output.Alerts
	if err := c.Lake.WriteReprocessed(ctx, c.RunID, found); err != nil {
		return nil, fmt.Errorf("reprocess: write anomalies_reprocessed: %w", err)
	}
	original, err := c.Lake.ScanAlerts(ctx, iceberg.AnomalyAlerts, c.Scan.From, c.Scan.To)
	if err != nil {
		return nil, fmt.Errorf("reprocess: read anomaly_alerts: %w", err)
	}
	r := Compare(original, found)
	r.RunID, r.Trades, r.Quality = c.RunID, total, chain.Stats()
	return r, nil
}

// Compare reports the difference between two sets of alerts, matched by alert id.
func Compare(original, reprocessed []ctc.Alert) *Report {
	r := &Report{Original: counts(original), Reprocessed: counts(reprocessed)}
	byID := make(map[[16]byte]ctc.Alert, len(reprocessed))
	for _, a := range reprocessed {
		byID[a.AlertID] = a
	}
	seen := make(map[[16]byte]bool, len(original))
	for _, a := range original {
		seen[a.AlertID] = true
		b, ok := byID[a.AlertID]
		switch {
		case !ok:
			r.OnlyOriginal = append(r.OnlyOriginal, a)
		case a.Severity != b.Severity:
			r.Changed = append(r.Changed, Change{a, b})
		}
	}
	for _, a := range reprocessed {
		if !seen[a.AlertID] {
			r.OnlyReprocessed = append(r.OnlyReprocessed, a)
		}
	}
	byTime := func(a, b ctc.Alert) int {
		return cmp.Or(a.DetectedAt.Compare(b.DetectedAt), slices.Compare(a.AlertID[:], b.AlertID[:]))
	}
	slices.SortFunc(r.OnlyOriginal, byTime)
	slices.SortFunc(r.OnlyReprocessed, byTime)
	slices.SortFunc(r.Changed, func(a, b Change) int { return byTime(a.Original, b.Original) })
	return r
}

func counts(alerts []ctc.Alert) map[ctc.AlertType]int {
	m := map[ctc.AlertType]int{}
	for _, a := range alerts {
		m[a.AlertType]++
	}
	return m
}

// WriteText prints the report for a person: counts per type, then the alerts only one side has.
func (r *Report) WriteText(w io.Writer) error {
	types := map[ctc.AlertType]bool{}
	for t := range r.Original {
		types[t] = true
	}
	for t := range r.Reprocessed {
		types[t] = true
	}
	names := make([]string, 0, len(types))
	for t := range types {
		names = append(names, string(t))
	}
	slices.Sort(names)
	ew := &errWriter{w: w}
	ew.printf("run %s: %d trades reprocessed\n\n", r.RunID, r.Trades)
	ew.printf("%-14s %10s %12s %8s\n", "alert type", "original", "reprocessed", "change")
	for _, n := range names {
		o, p := r.Original[ctc.AlertType(n)], r.Reprocessed[ctc.AlertType(n)]
		ew.printf("%-14s %10d %12d %+8d\n", n, o, p, p-o)
	}
	section := func(title string, alerts []ctc.Alert) {
		ew.printf("\n%s: %d\n", title, len(alerts))
		for _, a := range alerts {
			ew.printf("  %s  %-8s %-12s %s\n", ctc.AppendTime(nil, a.DetectedAt), a.Severity, a.AlertType, a.Message)
		}
	}
	section("only in anomaly_alerts", r.OnlyOriginal)
	section("only in anomalies_reprocessed", r.OnlyReprocessed)
	ew.printf("\nsame alert, different severity: %d\n", len(r.Changed))
	for _, c := range r.Changed {
		ew.printf("  %s  %-12s %s: %s → %s\n", ctc.AppendTime(nil, c.Original.DetectedAt), c.Original.AlertType,
			c.Original.Symbol, c.Original.Severity, c.Reprocessed.Severity)
	}
	return ew.err
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}

// counting reports progress every so many records.
type counting struct {
	ctc.Source
	n, every, total int64
	progress        func(string, int64, int64)
}

func (c *counting) Next(ctx context.Context, rec *ctc.Record) error {
	err := c.Source.Next(ctx, rec)
	if err == nil {
		c.n++
		if c.n%c.every == 0 {
			c.progress("detect", c.n, c.total)
		}
	}
	return err
}
