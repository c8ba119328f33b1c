// Package batchfn holds the batch Lambda's tasks: the steps of the Step Functions workflow
// (historical load → reprocess → wait/poll → quality checks → choice → catalog update). One
// function runs them all; the input's "task" field chooses one. Every task takes and returns one
// JSON object (Input, Output), so the workflow passes each task's output, or fields of it, to the
// next with its ResultPath and Parameters. Fields a task does not take are ignored.
//
// # Tasks
//
//	historical_load   {"task":"historical_load","symbols":["BTCUSDT","ETHUSDT"],"day":"2024-01-15"}
//	  → {"task","day","from","to","trades","symbols":{"BTCUSDT":N,…},"snapshot_id"}
//	  Binance aggregate trades of the day (from the REST API, CTC_BINANCE_ENDPOINT) appended to
//	  raw_trades. symbols defaults to DefaultSymbols, day to yesterday (UTC). Each symbol commits every 100 pages under the
//	  pipeline id historical_load/DAY/SYMBOL with increasing checkpoint numbers, so a retried or
//	  repeated load of the same day commits nothing twice. snapshot_id is raw_trades' snapshot
//	  after the load, for the reprocess step's time travel.
//
//	reprocess         {"task":"reprocess","day":"2024-01-15","snapshot_id":N,"run_id":"…","thresholds":{…}}
//	  → the run's Result: {"run_id","status":"SUCCEEDED","trades","quality":{…},"original":{…},
//	    "reprocessed":{…},"only_original","only_reprocessed","changed","snapshot_id","finished_at"}
//	  Runs package reprocess over raw_trades — at snapshot_id, or as_of (RFC 3339), or the current
//	  snapshot; only the day's trades when day is set (or from/to) — writes anomalies_reprocessed
//	  under run_id (default reprocess-DAY) and records the Result as the table property
//	  ctc.run.RUN_ID of anomalies_reprocessed (status FAILED with the error when it fails). A run
//	  id that already SUCCEEDED is not run again: its recorded Result is returned, so a retried
//	  task does not append its alerts twice. thresholds: {"whale","z_medium","z_high","spread",
//	  "min_history"}, default DESIGN §4's.
//
//	reprocess_status  {"task":"reprocess_status","run_id":"…"} → the recorded Result, whose status
//	  is SUCCEEDED or FAILED; RUNNING when nothing is recorded yet. Reprocessing runs inside the
//	  reprocess task, so by the time the workflow polls, the run is recorded.
//
//	quality_check     {"task":"quality_check","run_id":"…","min_quality_score":95,"min_trades":1,
//	                   "max_missing_alert_pct":100}
//	  → {"task","run_id","passed":bool,"score","trades","reasons":[…]}
//	  Checks the recorded run: its quality score (passed / processed × 100 of the quality chain
//	  over the trades read; duplicates in raw_trades lower it) at least min_quality_score
//	  (default 95), at least min_trades trades (default 1), and at most max_missing_alert_pct % of
//	  the live pipeline's alerts missing from the reprocessed ones (default 100: not checked).
//	  reasons says what failed. A run that is not SUCCEEDED does not pass.
//
//	catalog_update    {"task":"catalog_update","run_id":"…","keep_runs":30,"expire_days":30}
//	  → {"task","run_id","validated_at","runs_kept","runs_removed","snapshots_before","snapshots_after"}
//	  Publishes a run that passed its checks: sets anomalies_reprocessed's table properties
//	  ctc.validated-run, ctc.validated-score and ctc.validated-at (what readers and the dashboard
//	  take as the current reprocessed result), keeps the keep_runs newest ctc.run.* records and
//	  removes the older ones, and expires anomalies_reprocessed's snapshots older than expire_days
//	  (keeping at least 10). Only anomalies_reprocessed is expired: the other tables' snapshot
//	  summaries carry the pipelines' checkpoints, which must not be forgotten. Refuses a run that
//	  is not SUCCEEDED.
//
// Every task writes an EMF line with BatchJobSuccess or BatchJobFailure (dimension Job = the
// task). A task that fails returns an error, which the workflow catches.
package batchfn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/iceberg-go/table"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/detect"
	"github.com/coattailcapital/ctc/metrics/emf"
	"github.com/coattailcapital/ctc/quality"
	"github.com/coattailcapital/ctc/reprocess"
	"github.com/coattailcapital/ctc/sink/iceberg"
	"github.com/coattailcapital/ctc/source/binance"
	"github.com/coattailcapital/ctc/source/feed"
)

// The task names.
const (
	TaskHistoricalLoad  = "historical_load"
	TaskReprocess       = "reprocess"
	TaskReprocessStatus = "reprocess_status"
	TaskQualityCheck    = "quality_check"
	TaskCatalogUpdate   = "catalog_update"
)

// The statuses of a run.
const (
	StatusSucceeded = "SUCCEEDED"
	StatusRunning   = "RUNNING"
	StatusFailed    = "FAILED"
)

// Table properties of anomalies_reprocessed that the tasks keep.
const (
	PropRunPrefix      = "ctc.run."
	PropValidatedRun   = "ctc.validated-run"
	PropValidatedScore = "ctc.validated-score"
	PropValidatedAt    = "ctc.validated-at"
)

// DefaultSymbols are the Binance symbols historical_load loads when the input names none: the
// instruments the live pipeline watches.
var DefaultSymbols = []string{"BTCUSDT", "ETHUSDT", "SOLUSDT"}

// Defaults of the inputs.
const (
	DefaultMinQualityScore = 95.0
	DefaultKeepRuns        = 30
	DefaultExpireDays      = 30
	commitEveryPages       = 100
)

// Input is every task's input; each task reads the fields it documents.
type Input struct {
	Task string `json:"task"`

	Symbols []string `json:"symbols,omitempty"`
	Day     string   `json:"day,omitempty"`

	RunID      string           `json:"run_id,omitempty"`
	SnapshotID int64            `json:"snapshot_id,omitempty"`
	AsOf       *time.Time       `json:"as_of,omitempty"`
	From       *time.Time       `json:"from,omitempty"`
	To         *time.Time       `json:"to,omitempty"`
	Thresholds *ThresholdsInput `json:"thresholds,omitempty"`

	MinQualityScore    *float64 `json:"min_quality_score,omitempty"`
	MinTrades          *int64   `json:"min_trades,omitempty"`
	MaxMissingAlertPct *float64 `json:"max_missing_alert_pct,omitempty"`

	KeepRuns   int `json:"keep_runs,omitempty"`
	ExpireDays int `json:"expire_days,omitempty"`
}

// ThresholdsInput overrides detect.DefaultThresholds field by field.
type ThresholdsInput struct {
	Whale      *float64 `json:"whale,omitempty"`
	ZMedium    *float64 `json:"z_medium,omitempty"`
	ZHigh      *float64 `json:"z_high,omitempty"`
	Spread     *float64 `json:"spread,omitempty"`
	MinHistory *int     `json:"min_history,omitempty"`
}

// Result is what a reprocess run records and returns.
type Result struct {
	Task            string                `json:"task"`
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

// LoadResult is historical_load's output.
type LoadResult struct {
	Task       string           `json:"task"`
	Day        string           `json:"day"`
	From       time.Time        `json:"from"`
	To         time.Time        `json:"to"`
	Trades     int64            `json:"trades"`
	Symbols    map[string]int64 `json:"symbols"`
	SnapshotID int64            `json:"snapshot_id,omitempty"`
}

// CheckResult is quality_check's output.
type CheckResult struct {
	Task    string   `json:"task"`
	RunID   string   `json:"run_id"`
	Passed  bool     `json:"passed"`
	Score   float64  `json:"score"`
	Trades  int64    `json:"trades"`
	Reasons []string `json:"reasons"`
}

// UpdateResult is catalog_update's output.
type UpdateResult struct {
	Task            string    `json:"task"`
	RunID           string    `json:"run_id"`
	ValidatedAt     time.Time `json:"validated_at"`
	RunsKept        int       `json:"runs_kept"`
	RunsRemoved     int       `json:"runs_removed"`
	SnapshotsBefore int       `json:"snapshots_before"`
	SnapshotsAfter  int       `json:"snapshots_after"`
}

// Config configures a Handler.
type Config struct {
	// Lake opens the warehouse for one task (an iceberg.Sink on a catalog opened once per
	// container). Required.
	Lake func(ctx context.Context) (*iceberg.Sink, error)
	// Binance is the REST base URL of historical_load; default https://api.binance.com.
	Binance string
	// HTTPClient makes historical_load's requests; default a client with a 15 s timeout.
	HTTPClient *http.Client
	// Now is the clock of default days, run ids and validation times; default time.Now.
	Now func() time.Time
	// Metrics, when set, receives BatchJobSuccess/BatchJobFailure per task.
	Metrics *emf.Logger
	// Log receives progress and failures; default discard.
	Log *slog.Logger
}

// Handler runs the tasks.
type Handler struct{ cfg Config }

// New returns a Handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Lake == nil {
		return nil, errors.New("batchfn: Config.Lake is required")
	}
	if cfg.Binance == "" {
		cfg.Binance = "https://api.binance.com"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Handler{cfg: cfg}, nil
}

// Handle decodes the input, runs its task and encodes the output.
func (h *Handler) Handle(ctx context.Context, raw json.RawMessage) (json.RawMessage, error) {
	var in Input
	// Unknown fields are ignored: the workflow merges its execution input into the first task's.
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, fmt.Errorf("batchfn: the input is not a task object: %w", err)
	}
	out, err := h.Run(ctx, &in)
	if m := h.cfg.Metrics; m != nil && in.Task != "" {
		if merr := m.BatchJob(in.Task, err); merr != nil {
			h.cfg.Log.WarnContext(ctx, "batchfn: metrics", "err", merr)
		}
	}
	if err != nil {
		return nil, err
	}
	return json.Marshal(out)
}

// Run runs one task and returns its output.
func (h *Handler) Run(ctx context.Context, in *Input) (any, error) {
	switch in.Task {
	case TaskHistoricalLoad:
		return h.historicalLoad(ctx, in)
	case TaskReprocess:
		return h.reprocess(ctx, in)
	case TaskReprocessStatus:
		return h.status(ctx, in)
	case TaskQualityCheck:
		return h.qualityCheck(ctx, in)
	case TaskCatalogUpdate:
		return h.catalogUpdate(ctx, in)
	}
	return nil, fmt.Errorf("batchfn: task must be one of %s, %s, %s, %s, %s; got %q",
		TaskHistoricalLoad, TaskReprocess, TaskReprocessStatus, TaskQualityCheck, TaskCatalogUpdate, in.Task)
}

// day parses in.Day (default: yesterday, UTC) into [start, start+24h).
func (h *Handler) day(in *Input) (string, time.Time, error) {
	if in.Day == "" {
		d := h.cfg.Now().UTC().AddDate(0, 0, -1)
		return d.Format(time.DateOnly), time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC), nil
	}
	t, err := time.Parse(time.DateOnly, in.Day)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("batchfn: day must be YYYY-MM-DD, got %q", in.Day)
	}
	return in.Day, t, nil
}

func (h *Handler) historicalLoad(ctx context.Context, in *Input) (*LoadResult, error) {
	day, start, err := h.day(in)
	if err != nil {
		return nil, err
	}
	symbols := in.Symbols
	if len(symbols) == 0 {
		symbols = DefaultSymbols
	}
	res := &LoadResult{Task: TaskHistoricalLoad, Day: day, From: start, To: start.Add(24*time.Hour - time.Millisecond),
		Symbols: map[string]int64{}}
	lake, err := h.cfg.Lake(ctx)
	if err != nil {
		return nil, err
	}
	defer lake.Close(context.WithoutCancel(ctx))
	hist := &binance.History{Endpoint: h.cfg.Binance, WeightLimit: 6000, MaxRetries: 3, Client: h.cfg.HTTPClient,
		Backoff: feed.Backoff{Initial: 500 * time.Millisecond, Max: 10 * time.Second}}
	for _, sym := range symbols {
		sym = strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(sym), "-", ""))
		if sym == "" {
			return nil, errors.New("batchfn: historical_load: an empty symbol")
		}
		id := TaskHistoricalLoad + "/" + day + "/" + sym
		var seq, n int64
		pages := 0
		var b ctc.Batch
		commit := func(next int64) error {
			seq++
			return lake.Commit(ctx, ctc.Checkpoint{PipelineID: id, Seq: seq, Position: ctc.Position{Partition: sym, Offset: next}})
		}
		next := int64(-1)
		err := hist.Load(ctx, sym, res.From, res.To, -1, func(page []binance.AggTrade, nextID int64) error {
			b.Trades = b.Trades[:0]
			for i := range page {
				b.Trades = append(b.Trades, page[i].Trade)
			}
			if err := lake.Write(ctx, &b); err != nil {
				return err
			}
			n += int64(len(page))
			next = nextID
			if pages++; pages%commitEveryPages == 0 {
				return commit(next)
			}
			return nil
		})
		if err == nil && pages%commitEveryPages != 0 {
			err = commit(next)
		}
		if err != nil {
			return nil, fmt.Errorf("batchfn: historical_load %s %s: %w", sym, day, err)
		}
		res.Symbols[sym] = n
		res.Trades += n
		h.cfg.Log.InfoContext(ctx, "batchfn: loaded", "symbol", sym, "day", day, "trades", n)
	}
	tbl, err := lake.Table(ctx, iceberg.RawTrades)
	if err != nil {
		return nil, err
	}
	if s := tbl.CurrentSnapshot(); s != nil {
		res.SnapshotID = s.SnapshotID
	}
	return res, nil
}

func (in *Input) thresholds() (detect.Thresholds, error) {
	th := detect.DefaultThresholds()
	if t := in.Thresholds; t != nil {
		set := func(dst *float64, v *float64) {
			if v != nil {
				*dst = *v
			}
		}
		set(&th.Whale, t.Whale)
		set(&th.ZMedium, t.ZMedium)
		set(&th.ZHigh, t.ZHigh)
		set(&th.Spread, t.Spread)
		if t.MinHistory != nil {
			th.MinHistory = *t.MinHistory
		}
	}
	if _, err := th.Detectors(); err != nil {
		return th, fmt.Errorf("batchfn: thresholds: %w", err)
	}
	return th, nil
}

func (h *Handler) reprocess(ctx context.Context, in *Input) (*Result, error) {
	opt := iceberg.ScanOptions{SnapshotID: in.SnapshotID}
	if in.AsOf != nil {
		opt.AsOf = *in.AsOf
	}
	if opt.SnapshotID != 0 && !opt.AsOf.IsZero() {
		return nil, errors.New("batchfn: reprocess takes snapshot_id or as_of, not both")
	}
	runID := in.RunID
	if in.Day != "" {
		day, start, err := h.day(in)
		if err != nil {
			return nil, err
		}
		opt.From, opt.To = start, start.Add(24*time.Hour)
		if runID == "" {
			runID = "reprocess-" + day
		}
	}
	if in.From != nil {
		opt.From = *in.From
	}
	if in.To != nil {
		opt.To = *in.To
	}
	if runID == "" {
		runID = "reprocess-" + h.cfg.Now().UTC().Format("20060102T150405Z")
	}
	th, err := in.thresholds()
	if err != nil {
		return nil, err
	}
	lake, err := h.cfg.Lake(ctx)
	if err != nil {
		return nil, err
	}
	defer lake.Close(context.WithoutCancel(ctx))
	if prev, err := recorded(ctx, lake, runID); err != nil {
		return nil, err
	} else if prev != nil && prev.Status == StatusSucceeded {
		return prev, nil
	}
	ds, _ := th.Detectors()
	rep, runErr := reprocess.Run(ctx, reprocess.Config{Lake: lake, Scan: opt, Detectors: ds, RunID: runID})
	res := &Result{Task: TaskReprocess, RunID: runID, Status: StatusSucceeded, FinishedAt: h.cfg.Now().UTC()}
	if runErr != nil {
		res.Status, res.Error = StatusFailed, runErr.Error()
	} else {
		q := rep.Quality
		res.Trades, res.Quality = rep.Trades, &q
		res.Original, res.Reprocessed = rep.Original, rep.Reprocessed
		res.OnlyOriginal, res.OnlyReprocessed, res.Changed = len(rep.OnlyOriginal), len(rep.OnlyReprocessed), len(rep.Changed)
		res.SnapshotID = in.SnapshotID
	}
	if err := record(ctx, lake, res); err != nil {
		return nil, errors.Join(runErr, err)
	}
	if runErr != nil {
		return nil, fmt.Errorf("batchfn: reprocess %s: %w", runID, runErr)
	}
	return res, nil
}

func (h *Handler) status(ctx context.Context, in *Input) (*Result, error) {
	if in.RunID == "" {
		return nil, errors.New(`batchfn: reprocess_status needs "run_id"`)
	}
	lake, err := h.cfg.Lake(ctx)
	if err != nil {
		return nil, err
	}
	defer lake.Close(context.WithoutCancel(ctx))
	res, err := recorded(ctx, lake, in.RunID)
	if err != nil {
		return nil, err
	}
	if res == nil {
		return &Result{Task: TaskReprocessStatus, RunID: in.RunID, Status: StatusRunning}, nil
	}
	res.Task = TaskReprocessStatus
	return res, nil
}

func (h *Handler) qualityCheck(ctx context.Context, in *Input) (*CheckResult, error) {
	if in.RunID == "" {
		return nil, errors.New(`batchfn: quality_check needs "run_id"`)
	}
	lake, err := h.cfg.Lake(ctx)
	if err != nil {
		return nil, err
	}
	defer lake.Close(context.WithoutCancel(ctx))
	res, err := recorded(ctx, lake, in.RunID)
	if err != nil {
		return nil, err
	}
	return Check(res, in), nil
}

// Check applies quality_check's thresholds to a recorded run (nil: never recorded).
func Check(res *Result, in *Input) *CheckResult {
	out := &CheckResult{Task: TaskQualityCheck, RunID: in.RunID, Reasons: []string{}}
	if res == nil {
		out.Reasons = append(out.Reasons, fmt.Sprintf("run %s is not recorded: run the reprocess task first", in.RunID))
		return out
	}
	if res.Status != StatusSucceeded {
		out.Reasons = append(out.Reasons, fmt.Sprintf("run %s is %s: %s", in.RunID, res.Status, res.Error))
		return out
	}
	minScore, minTrades, maxMissing := DefaultMinQualityScore, int64(1), 100.0
	if in.MinQualityScore != nil {
		minScore = *in.MinQualityScore
	}
	if in.MinTrades != nil {
		minTrades = *in.MinTrades
	}
	if in.MaxMissingAlertPct != nil {
		maxMissing = *in.MaxMissingAlertPct
	}
	out.Trades = res.Trades
	out.Score = 100
	if res.Quality != nil {
		out.Score = res.Quality.QualityScore
	}
	if out.Score < minScore {
		out.Reasons = append(out.Reasons, fmt.Sprintf("quality score %.2f %% is below %.2f %% (%d of %d records passed)",
			out.Score, minScore, res.Quality.Passed, res.Quality.Processed))
	}
	if res.Trades < minTrades {
		out.Reasons = append(out.Reasons, fmt.Sprintf("%d trades reprocessed, fewer than %d: is the day loaded?", res.Trades, minTrades))
	}
	orig := 0
	for _, n := range res.Original {
		orig += n
	}
	if orig > 0 {
		if pct := float64(res.OnlyOriginal) / float64(orig) * 100; pct > maxMissing {
			out.Reasons = append(out.Reasons, fmt.Sprintf("%.1f %% of the live alerts (%d of %d) are missing from the reprocessed ones, more than %.1f %%",
				pct, res.OnlyOriginal, orig, maxMissing))
		}
	}
	out.Passed = len(out.Reasons) == 0
	return out
}

func (h *Handler) catalogUpdate(ctx context.Context, in *Input) (*UpdateResult, error) {
	if in.RunID == "" {
		return nil, errors.New(`batchfn: catalog_update needs "run_id"`)
	}
	keep, days := in.KeepRuns, in.ExpireDays
	if keep <= 0 {
		keep = DefaultKeepRuns
	}
	if days <= 0 {
		days = DefaultExpireDays
	}
	lake, err := h.cfg.Lake(ctx)
	if err != nil {
		return nil, err
	}
	defer lake.Close(context.WithoutCancel(ctx))
	res, err := recorded(ctx, lake, in.RunID)
	if err != nil {
		return nil, err
	}
	if res == nil || res.Status != StatusSucceeded {
		return nil, fmt.Errorf("batchfn: catalog_update: run %s has not succeeded: only a run that passed its checks is published", in.RunID)
	}
	score := 100.0
	if res.Quality != nil {
		score = res.Quality.QualityScore
	}
	out := &UpdateResult{Task: TaskCatalogUpdate, RunID: in.RunID, ValidatedAt: h.cfg.Now().UTC().Truncate(time.Second)}
	err = update(ctx, lake, func(tbl *table.Table, tx *table.Transaction) error {
		out.SnapshotsBefore = len(tbl.Metadata().Snapshots())
		runs := runRecords(tbl)
		out.RunsKept, out.RunsRemoved = min(len(runs), keep), max(0, len(runs)-keep)
		var drop []string
		for _, r := range runs[min(len(runs), keep):] {
			if r.RunID != in.RunID {
				drop = append(drop, PropRunPrefix+r.RunID)
			}
		}
		if len(drop) > 0 {
			if err := tx.RemoveProperties(drop); err != nil {
				return err
			}
		}
		if err := tx.SetProperties(map[string]string{
			PropValidatedRun: in.RunID, PropValidatedScore: strconv.FormatFloat(score, 'f', -1, 64),
			PropValidatedAt: out.ValidatedAt.Format(time.RFC3339),
		}); err != nil {
			return err
		}
		return tx.ExpireSnapshots(table.WithOlderThan(time.Duration(days)*24*time.Hour), table.WithRetainLast(10))
	})
	if err != nil {
		return nil, fmt.Errorf("batchfn: catalog_update: %w", err)
	}
	tbl, err := lake.Table(ctx, iceberg.AnomaliesReprocessed)
	if err != nil {
		return nil, err
	}
	out.SnapshotsAfter = len(tbl.Metadata().Snapshots())
	return out, nil
}

// recorded returns the Result recorded for runID, or nil.
func recorded(ctx context.Context, lake *iceberg.Sink, runID string) (*Result, error) {
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
		return nil, fmt.Errorf("batchfn: the record of run %s is not a result: %w", runID, err)
	}
	return &r, nil
}

// runRecords returns the recorded runs, newest first.
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

func record(ctx context.Context, lake *iceberg.Sink, res *Result) error {
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	return update(ctx, lake, func(_ *table.Table, tx *table.Transaction) error {
		return tx.SetProperties(map[string]string{PropRunPrefix + res.RunID: string(b)})
	})
}

// update commits one change of anomalies_reprocessed' metadata, retrying when another writer
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
