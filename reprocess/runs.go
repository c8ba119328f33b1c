package reprocess

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/iceberg-go/table"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/quality"
	"github.com/coattailcapital/ctc/sink/iceberg"
)

// The statuses of a recorded run.
const (
	StatusSucceeded = "SUCCEEDED"
	StatusRunning   = "RUNNING" // not recorded yet
	StatusFailed    = "FAILED"
)

// Table properties of anomalies_reprocessed: the run registry and the published run.
const (
	// PropRunPrefix + run id holds the run's Result as JSON.
	PropRunPrefix = "ctc.run."
	// PropValidatedRun, PropValidatedScore and PropValidatedAt name the run readers take as the
	// current reprocessed result (Publish), its quality score and when it was published.
	PropValidatedRun   = "ctc.validated-run"
	PropValidatedScore = "ctc.validated-score"
	PropValidatedAt    = "ctc.validated-at"
)

// Result is what the registry records of a run: its status and the figures of its Report.
type Result struct {
	RunID           string                `json:"run_id"`
	Status          string                `json:"status"`
	Error           string                `json:"error,omitempty"`
	Trades          int64                 `json:"trades"`
	Quality         *quality.Stats        `json:"quality,omitempty"`
	Original        map[ctc.AlertType]int `json:"original,omitempty"`
	Reprocessed     map[ctc.AlertType]int `json:"reprocessed,omitempty"`
	OnlyOriginal    int                   `json:"only_original"`
	OnlyReprocessed int                   `json:"only_reprocessed"`
	Changed         int                   `json:"changed"`
	SnapshotID      int64                 `json:"snapshot_id,omitempty"`
	FinishedAt      time.Time             `json:"finished_at"`
}

// RunOnce runs c as a registered run: a run id that already SUCCEEDED is not run again (its
// recorded Result is returned, so a retried workflow step does not append its alerts twice);
// otherwise the run's Result — SUCCEEDED, or FAILED with the error — is recorded in
// anomalies_reprocessed's properties, stamped with now. The Report is nil when the run was not
// run again or failed.
func RunOnce(ctx context.Context, c Config, now time.Time) (*Result, *Report, error) {
	if err := c.validate(); err != nil {
		return nil, nil, err
	}
	if prev, err := Recorded(ctx, c.Lake, c.RunID); err != nil {
		return nil, nil, err
	} else if prev != nil && prev.Status == StatusSucceeded {
		return prev, nil, nil
	}
	rep, runErr := Run(ctx, c)
	res := &Result{RunID: c.RunID, Status: StatusSucceeded, FinishedAt: now.UTC()}
	if runErr != nil {
		res.Status, res.Error = StatusFailed, runErr.Error()
	} else {
		q := rep.Quality
		res.Trades, res.Quality = rep.Trades, &q
		res.Original, res.Reprocessed = rep.Original, rep.Reprocessed
		res.OnlyOriginal, res.OnlyReprocessed, res.Changed = len(rep.OnlyOriginal), len(rep.OnlyReprocessed), len(rep.Changed)
		res.SnapshotID = c.Scan.SnapshotID
	}
	if err := Record(ctx, c.Lake, res); err != nil {
		return nil, nil, errors.Join(runErr, err)
	}
	if runErr != nil {
		return res, nil, runErr
	}
	return res, rep, nil
}

// Recorded returns the Result recorded for runID, or nil when there is none.
func Recorded(ctx context.Context, lake *iceberg.Sink, runID string) (*Result, error) {
	tbl, err := lake.Table(ctx, iceberg.AnomaliesReprocessed)
	if err != nil {
		return nil, err
	}
	v, ok := tbl.Properties()[PropRunPrefix+runID]
	if !ok {
		return nil, nil
	}
	var r Result
	if err := json.Unmarshal([]byte(v), &r); err != nil {
		return nil, fmt.Errorf("reprocess: the record of run %s is not a result: %w", runID, err)
	}
	return &r, nil
}

// Record records res under its run id, replacing an earlier record of the same run.
func Record(ctx context.Context, lake *iceberg.Sink, res *Result) error {
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	return update(ctx, lake, func(_ *table.Table, tx *table.Transaction) error {
		return tx.SetProperties(map[string]string{PropRunPrefix + res.RunID: string(b)})
	})
}

// Runs returns the recorded runs, newest first.
func Runs(ctx context.Context, lake *iceberg.Sink) ([]Result, error) {
	tbl, err := lake.Table(ctx, iceberg.AnomaliesReprocessed)
	if err != nil {
		return nil, err
	}
	return runRecords(tbl), nil
}

func runRecords(tbl *table.Table) []Result {
	var rs []Result
	for k, v := range tbl.Properties() {
		if strings.HasPrefix(k, PropRunPrefix) {
			var r Result
			if json.Unmarshal([]byte(v), &r) == nil {
				r.RunID = strings.TrimPrefix(k, PropRunPrefix)
				rs = append(rs, r)
			}
		}
	}
	slices.SortFunc(rs, func(a, b Result) int {
		if c := b.FinishedAt.Compare(a.FinishedAt); c != 0 {
			return c
		}
		return strings.Compare(b.RunID, a.RunID)
	})
	return rs
}

// Gate is the quality gate a run must pass before it is published.
type Gate struct {
	// MinQualityScore is the lowest quality score (passed / processed × 100 of the quality chain
	// over the trades read; duplicates in raw_trades lower it) that passes.
	MinQualityScore float64
	// MinTrades is the fewest trades a run may have reprocessed: fewer means the day is not loaded.
	MinTrades int64
	// MaxMissingAlertPct is the largest share, in %, of the live pipeline's alerts that may be
	// missing from the reprocessed ones; 100 does not check.
	MaxMissingAlertPct float64
}

// DefaultGate is the daily workflow's: a score of at least 95 %, at least one trade, missing
// alerts not checked.
func DefaultGate() Gate { return Gate{MinQualityScore: 95, MinTrades: 1, MaxMissingAlertPct: 100} }

// Verdict is a Gate's decision on one run.
type Verdict struct {
	RunID  string  `json:"run_id"`
	Passed bool    `json:"passed"`
	Score  float64 `json:"score"`
	Trades int64   `json:"trades"`
	// Reasons says what failed; empty when the run passed.
	Reasons []string `json:"reasons"`
}

// Check decides on the run recorded as res (nil: never recorded). A run that did not succeed
// does not pass.
func (g Gate) Check(runID string, res *Result) *Verdict {
	out := &Verdict{RunID: runID, Reasons: []string{}}
	if res == nil {
		out.Reasons = append(out.Reasons, fmt.Sprintf("run %s is not recorded: run the reprocess task first", runID))
		return out
	}
	if res.Status != StatusSucceeded {
		out.Reasons = append(out.Reasons, fmt.Sprintf("run %s is %s: %s", runID, res.Status, res.Error))
		return out
	}
	out.Trades = res.Trades
	out.Score = 100
	if res.Quality != nil {
		out.Score = res.Quality.QualityScore
	}
	if out.Score < g.MinQualityScore {
		out.Reasons = append(out.Reasons, fmt.Sprintf("quality score %.2f %% is below %.2f %% (%d of %d records passed)",
			out.Score, g.MinQualityScore, res.Quality.Passed, res.Quality.Processed))
	}
	if res.Trades < g.MinTrades {
		out.Reasons = append(out.Reasons, fmt.Sprintf("%d trades reprocessed, fewer than %d: is the day loaded?", res.Trades, g.MinTrades))
	}
	orig := 0
	for _, n := range res.Original {
		orig += n
	}
	if orig > 0 {
		if pct := float64(res.OnlyOriginal) / float64(orig) * 100; pct > g.MaxMissingAlertPct {
			out.Reasons = append(out.Reasons, fmt.Sprintf("%.1f %% of the live alerts (%d of %d) are missing from the reprocessed ones, more than %.1f %%",
				pct, res.OnlyOriginal, orig, g.MaxMissingAlertPct))
		}
	}
	out.Passed = len(out.Reasons) == 0
	return out
}

// Retention is what Publish keeps of anomalies_reprocessed's history.
type Retention struct {
	// KeepRuns is how many of the newest run records are kept (the published one always is).
	KeepRuns int
	// ExpireAfter is the age beyond which snapshots of anomalies_reprocessed are expired; at
	// least RetainLast snapshots are kept whatever their age.
	ExpireAfter time.Duration
	RetainLast  int
}

// DefaultRetention keeps 30 runs and 30 days of snapshots, and at least 10 snapshots.
func DefaultRetention() Retention {
	return Retention{KeepRuns: 30, ExpireAfter: 30 * 24 * time.Hour, RetainLast: 10}
}

// Publication is what Publish did.
type Publication struct {
	RunID           string    `json:"run_id"`
	ValidatedAt     time.Time `json:"validated_at"`
	RunsKept        int       `json:"runs_kept"`
	RunsRemoved     int       `json:"runs_removed"`
	SnapshotsBefore int       `json:"snapshots_before"`
	SnapshotsAfter  int       `json:"snapshots_after"`
}

// Publish makes a run that succeeded the current reprocessed result: it sets PropValidatedRun,
// PropValidatedScore and PropValidatedAt (now, to the second), keeps r.KeepRuns run records and
// expires snapshots of anomalies_reprocessed as r says, in one metadata commit. Only
// anomalies_reprocessed is expired: the other tables' snapshot summaries carry the pipelines'
// checkpoints, which must not be forgotten. It refuses a run that has not succeeded; check it
// with a Gate first.
func Publish(ctx context.Context, lake *iceberg.Sink, runID string, r Retention, now time.Time) (*Publication, error) {
	def := DefaultRetention()
	if r.KeepRuns <= 0 {
		r.KeepRuns = def.KeepRuns
	}
	if r.ExpireAfter <= 0 {
		r.ExpireAfter = def.ExpireAfter
	}
	if r.RetainLast <= 0 {
		r.RetainLast = def.RetainLast
	}
	res, err := Recorded(ctx, lake, runID)
	if err != nil {
		return nil, err
	}
	if res == nil || res.Status != StatusSucceeded {
		return nil, fmt.Errorf("reprocess: publish: run %s has not succeeded: only a run that passed its checks is published", runID)
	}
	score := 100.0
	if res.Quality != nil {
		score = res.Quality.QualityScore
	}
	out := &Publication{RunID: runID, ValidatedAt: now.UTC().Truncate(time.Second)}
	err = update(ctx, lake, func(tbl *table.Table, tx *table.Transaction) error {
		out.SnapshotsBefore = len(tbl.Metadata().Snapshots())
		runs := runRecords(tbl)
		keep := min(len(runs), r.KeepRuns)
		out.RunsKept, out.RunsRemoved = keep, len(runs)-keep
		var drop []string
		for _, old := range runs[keep:] {
			if old.RunID != runID {
				drop = append(drop, PropRunPrefix+old.RunID)
			}
		}
		if len(drop) > 0 {
			if err := tx.RemoveProperties(drop); err != nil {
				return err
			}
		}
		if err := tx.SetProperties(map[string]string{
			PropValidatedRun: runID, PropValidatedScore: strconv.FormatFloat(score, 'f', -1, 64),
			PropValidatedAt: out.ValidatedAt.Format(time.RFC3339),
		}); err != nil {
			return err
		}
		return tx.ExpireSnapshots(table.WithOlderThan(r.ExpireAfter), table.WithRetainLast(r.RetainLast))
	})
	if err != nil {
		return nil, fmt.Errorf("reprocess: publish: %w", err)
	}
	tbl, err := lake.Table(ctx, iceberg.AnomaliesReprocessed)
	if err != nil {
		return nil, err
	}
	out.SnapshotsAfter = len(tbl.Metadata().Snapshots())
	return out, nil
}

// update commits one change of anomalies_reprocessed's metadata, retrying when another writer
// committed first.
func update(ctx context.Context, lake *iceberg.Sink, change func(*table.Table, *table.Transaction) error) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		var tbl *table.Table
		if tbl, err = lake.Table(ctx, iceberg.AnomaliesReprocessed); err != nil {
			return err
		}
		tx := tbl.NewTransaction()
		if err = change(tbl, tx); err != nil {
			return err
		}
		if _, err = tx.Commit(ctx); err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return err
		}
	}
	return fmt.Errorf("commit %s: %w", iceberg.AnomaliesReprocessed, err)
}
