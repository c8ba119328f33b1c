// Package batchfn holds the batch Lambda's tasks: the steps of the Step Functions workflow
// (historical load → reprocess → wait/poll → quality checks → choice → catalog update → lake
// maintenance → evidence). One function runs them all; the input's "task" field chooses one. Every task
// takes and returns one JSON object (Input, Output), so the workflow passes each task's output,
// or fields of it, to the next with its ResultPath and Parameters. Fields a task does not take
// are ignored.
//
// # Tasks
//
//	historical_load   {"task":"historical_load","symbols":["BTCUSDT","ETHUSDT"],"day":"2024-01-15",
//	                   "exchanges":["binance","coinbase"]}
//	  → {"task","day","from","to","trades","symbols":{"BTCUSDT":N,"BTC-USD":N,…},
//	    "exchanges":{"binance":N,"coinbase":N},"snapshot_id"}
//	  The day's trades of both exchanges appended to raw_trades through the one engine (package
//	  backfill): Binance aggregate trades (REST API at CTC_BINANCE_ENDPOINT) and Coinbase Exchange
//	  trades of the same instruments (BTCUSDT → BTC-USD, Config.Coinbase), so that the reprocessed
//	  day has both legs of every instrument and its spread alerts. exchanges defaults to both,
//	  symbols to DefaultSymbols, day to yesterday (UTC). Each symbol commits every 100 pages under
//	  the pipeline id historical_load/DAY/SYMBOL (the Coinbase product for Coinbase) and a retried
//	  or repeated load continues after its last commit, so it commits nothing twice. snapshot_id is
//	  raw_trades' snapshot after the load, for the reprocess step's time travel.
//
//	reprocess         {"task":"reprocess","day":"2024-01-15","snapshot_id":N,"run_id":"…","thresholds":{…}}
//	  → the run's Result: {"run_id","status":"SUCCEEDED","trades","quality":{…},"original":{…},
//	    "reprocessed":{…},"only_original","only_reprocessed","changed","snapshot_id","finished_at"}
//	  Runs package reprocess (RunOnce) over raw_trades — at snapshot_id, or as_of (RFC 3339), or the current
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
//	  Checks the recorded run with reprocess.Gate: its quality score (passed / processed × 100 of the quality chain
//	  over the trades read; duplicates in raw_trades lower it) at least min_quality_score
//	  (default 95), at least min_trades trades (default 1), and at most max_missing_alert_pct % of
//	  the live pipeline's alerts missing from the reprocessed ones (default 100: not checked).
//	  reasons says what failed. A run that is not SUCCEEDED does not pass.
//
//	catalog_update    {"task":"catalog_update","run_id":"…","keep_runs":30,"expire_days":30}
//	  → {"task","run_id","validated_at","runs_kept","runs_removed","snapshots_before","snapshots_after"}
//	  Publishes a run that passed its checks (reprocess.Publish): sets anomalies_reprocessed's table properties
//	  ctc.validated-run, ctc.validated-score and ctc.validated-at (what readers and the dashboard
//	  take as the current reprocessed result), keeps the keep_runs newest ctc.run.* records and
//	  removes the older ones, and expires anomalies_reprocessed's snapshots older than expire_days
//	  (keeping at least 10). Only anomalies_reprocessed is expired: the other tables' snapshot
//	  summaries carry the pipelines' checkpoints, which must not be forgotten. Refuses a run that
//	  is not SUCCEEDED.
//
//	maintain          {"task":"maintain","tables":["raw_trades"],"retention_days":7,"min_snapshots":10,
//	                   "orphan_age_hours":24,"min_input_files":5}
//	  → {"task","tables":[{"table","compact":{…},"expire":{…},"orphans":{…}},…],"files_before",
//	    "files_after","snapshots_expired","checkpoints_carried","orphans_removed"}
//	  Lake maintenance (package sink/iceberg/maintain, Run): in each table (default all), merges
//	  partitions with at least min_input_files small files (default 5), expires the snapshots older
//	  than retention_days (default 7) beyond the min_snapshots newest (default 10) — copying forward
//	  every pipeline checkpoint the expiry would cut off, so exactly-once resumption is unaffected;
//	  anomalies_reprocessed's history is catalog_update's — and removes files no snapshot
//	  references that are older than orphan_age_hours (default 24, at least 1). The output leaves
//	  out the orphan files' names. A table that fails does not stop the others; the task then
//	  fails, naming them.
//
//	evidence          {"task":"evidence","day":"2024-01-15","days":7}
//	  → {"task","from","to","alerts","trades","uri","bytes"}
//	  Judges the alerts of anomaly_alerts detected in the days days ending with day — [day −
//	  (days − 1), day + 1), UTC; day defaults to yesterday, days to 7 (at most 31); from and to
//	  (RFC 3339) override either bound — against raw_trades (package evidence/fromlake: the
//	  trades from 10 s before the window to 1 h 30 s after it, read twice by an evidence.Plan,
//	  never held: memory grows with the alerts — under 1 KB at peak per window, 105 of them per
//	  alert (itself and 20 pseudo-alerts, an entry window and 4 horizons each): ~550 MB for 7,000
//	  alerts, measured; the scan adds a few hundred MB of its own. Time grows with
//	  the trades: the two scans process an estimated 0.5–0.75 M trades a second
//	  (DefaultEvidenceDays), so the 900 s timeout holds some 450 M trades, a week at ~750
//	  trades/s; give a busier market fewer days or run adapters/evidence on a host), with
//	  adapters/evidence's defaults (20 pseudo-alerts per alert, seed 1), so the
//	  report is byte for byte what `go run ./adapters/evidence -from … -to … -json` prints over the
//	  same warehouse. Writes it (indented JSON) in one PutObject to CTC_EVIDENCE_URI, where the API
//	  Lambda serves it at /evidence: a reader sees the previous report or this one, whole. Fails
//	  when CTC_EVIDENCE_URI is not set. alerts is the number of alerts judged, bytes the
//	  report's size.
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
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/backfill"
	"github.com/coattailcapital/ctc/detect"
	"github.com/coattailcapital/ctc/evidence"
	"github.com/coattailcapital/ctc/evidence/fromlake"
	"github.com/coattailcapital/ctc/metrics/emf"
	"github.com/coattailcapital/ctc/reprocess"
	"github.com/coattailcapital/ctc/sink/iceberg"
	"github.com/coattailcapital/ctc/sink/iceberg/maintain"
	"github.com/coattailcapital/ctc/source/binance"
	"github.com/coattailcapital/ctc/source/coinbase"
	"github.com/coattailcapital/ctc/source/feed"
)

// The task names.
const (
	TaskHistoricalLoad  = "historical_load"
	TaskReprocess       = "reprocess"
	TaskReprocessStatus = "reprocess_status"
	TaskQualityCheck    = "quality_check"
	TaskCatalogUpdate   = "catalog_update"
	TaskMaintain        = "maintain"
	TaskEvidence        = "evidence"
)

// DefaultEvidenceDays is the evidence task's window when the input gives no days: the week
// ending with the processed day. Memory no longer bounds it (evidence/fromlake reads the trades
// twice with an evidence.Plan and holds none), time does: two scans at an estimated 0.5–0.75 M
// trades a second (0.75 M per CPU-second measured on amd64; a 3008 MB function has 1.7 vCPU of
// Graviton) make a week of today's six markets (~25 M trades a day, ~175 M) some 250–350 s of
// the 900 s timeout. At the design load of 1,000 trades/s (86 M a day) a week is ~600 M trades,
// 800–1,200 s: past the timeout, so such a deployment passes "days" of 3 or 4. MaxEvidenceDays
// bounds what an input may ask.
const (
	DefaultEvidenceDays = 7
	MaxEvidenceDays     = 31
)

// DefaultSymbols are the Binance symbols historical_load loads when the input names none: the
// instruments the live pipeline watches.
var DefaultSymbols = []string{"BTCUSDT", "ETHUSDT", "SOLUSDT"}

// Input is every task's input; each task reads the fields it documents.
type Input struct {
	Task string `json:"task"`

	Symbols   []string `json:"symbols,omitempty"`
	Day       string   `json:"day,omitempty"`
	Exchanges []string `json:"exchanges,omitempty"`

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

	Tables         []string `json:"tables,omitempty"`
	RetentionDays  int      `json:"retention_days,omitempty"`
	MinSnapshots   int      `json:"min_snapshots,omitempty"`
	OrphanAgeHours int      `json:"orphan_age_hours,omitempty"`
	MinInputFiles  int      `json:"min_input_files,omitempty"`

	Days int `json:"days,omitempty"`
}

// ThresholdsInput overrides detect.DefaultThresholds field by field.
type ThresholdsInput struct {
	Whale      *float64 `json:"whale,omitempty"`
	ZMedium    *float64 `json:"z_medium,omitempty"`
	ZHigh      *float64 `json:"z_high,omitempty"`
	Spread     *float64 `json:"spread,omitempty"`
	MinHistory *int     `json:"min_history,omitempty"`
}

// Result is what reprocess and reprocess_status return: the run as the registry records it.
type Result struct {
	Task string `json:"task"`
	reprocess.Result
}

// LoadResult is historical_load's output.
type LoadResult struct {
	Task       string           `json:"task"`
	Day        string           `json:"day"`
	From       time.Time        `json:"from"`
	To         time.Time        `json:"to"`
	Trades     int64            `json:"trades"`
	Symbols    map[string]int64 `json:"symbols"`
	Exchanges  map[string]int64 `json:"exchanges"`
	SnapshotID int64            `json:"snapshot_id,omitempty"`
}

// CheckResult is quality_check's output.
type CheckResult struct {
	Task string `json:"task"`
	reprocess.Verdict
}

// UpdateResult is catalog_update's output.
type UpdateResult struct {
	Task string `json:"task"`
	reprocess.Publication
}

// MaintainResult is maintain's output.
type MaintainResult struct {
	Task string `json:"task"`
	maintain.Report
}

// EvidenceResult is evidence's output.
type EvidenceResult struct {
	Task string `json:"task"`
	// From and To are the window of detected_at judged, [From, To).
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Alerts and Trades are the report's: the alerts judged and the trades read.
	Alerts int `json:"alerts"`
	Trades int `json:"trades"`
	// URI is where the report went (CTC_EVIDENCE_URI), Bytes its size.
	URI   string `json:"uri"`
	Bytes int    `json:"bytes"`
}

// Config configures a Handler.
type Config struct {
	// Lake opens the warehouse for one task (an iceberg.Sink on a catalog opened once per
	// container). Required.
	Lake func(ctx context.Context) (*iceberg.Sink, error)
	// Binance is the REST base URL of historical_load; default https://api.binance.com.
	Binance string
	// Coinbase is the Coinbase Exchange REST base URL of historical_load; default
	// coinbase.DefaultRESTURL.
	Coinbase string
	// CoinbaseRate paces historical_load's Coinbase requests a second; default
	// coinbase.DefaultRequestsPerSecond.
	CoinbaseRate float64
	// HTTPClient makes historical_load's requests; default a client with a 15 s timeout.
	HTTPClient *http.Client
	// Now is the clock of default days, run ids and validation times; default time.Now.
	Now func() time.Time
	// PutEvidence writes the evidence task's report (an evidence.Report, JSON) whole where the API
	// reads it, and EvidenceURI names that place; FromEnv sets them from CTC_EVIDENCE_URI (one S3
	// PutObject). Without PutEvidence the evidence task fails.
	PutEvidence func(ctx context.Context, report []byte) error
	EvidenceURI string
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
	if cfg.Coinbase == "" {
		cfg.Coinbase = coinbase.DefaultRESTURL
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
	case TaskMaintain:
		return h.maintain(ctx, in)
	case TaskEvidence:
		return h.evidence(ctx, in)
	}
	return nil, fmt.Errorf("batchfn: task must be one of %s, %s, %s, %s, %s, %s, %s; got %q",
		TaskHistoricalLoad, TaskReprocess, TaskReprocessStatus, TaskQualityCheck, TaskCatalogUpdate, TaskMaintain, TaskEvidence, in.Task)
}

// withLake opens the warehouse for one task, once its input is known to be valid, and runs do on it.
func withLake[T any](ctx context.Context, h *Handler, do func(*iceberg.Sink) (T, error)) (T, error) {
	lake, err := h.cfg.Lake(ctx)
	if err != nil {
		var zero T
		return zero, err
	}
	defer lake.Close(context.WithoutCancel(ctx))
	return do(lake)
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
	exchanges := map[string]bool{}
	for _, e := range in.Exchanges {
		if e != ctc.Binance && e != ctc.Coinbase {
			return nil, fmt.Errorf("batchfn: exchanges must name %s or %s, got %q", ctc.Binance, ctc.Coinbase, e)
		}
		exchanges[e] = true
	}
	if len(exchanges) == 0 {
		exchanges[ctc.Binance], exchanges[ctc.Coinbase] = true, true
	}
	res := &LoadResult{Task: TaskHistoricalLoad, Day: day, From: start, To: start.Add(24*time.Hour - time.Millisecond)}
	return withLake(ctx, h, func(lake *iceberg.Sink) (*LoadResult, error) { return h.load(ctx, lake, res, symbols, exchanges) })
}

// load runs backfill over the day into the lake.
func (h *Handler) load(ctx context.Context, lake *iceberg.Sink, res *LoadResult, symbols []string, exchanges map[string]bool) (*LoadResult, error) {
	day := res.Day
	backoff := feed.Backoff{Initial: 500 * time.Millisecond, Max: 10 * time.Second}
	cfg := backfill.Config{
		Symbols: symbols, From: res.From, To: res.To, Sinks: []ctc.Sink{lake},
		PipelineID: TaskHistoricalLoad + "/" + day,
		Progress: func(sym string, last time.Time, n int64) {
			h.cfg.Log.DebugContext(ctx, "batchfn: loading", "symbol", sym, "day", day, "until", last, "trades", n)
		},
	}
	if exchanges[ctc.Binance] {
		cfg.History = &binance.History{Endpoint: h.cfg.Binance, WeightLimit: 6000, MaxRetries: 3, Client: h.cfg.HTTPClient, Backoff: backoff}
	}
	if exchanges[ctc.Coinbase] {
		cfg.Coinbase = &coinbase.History{Endpoint: h.cfg.Coinbase, RequestsPerSecond: h.cfg.CoinbaseRate, Client: h.cfg.HTTPClient, Backoff: backoff}
	}
	rep, err := backfill.Run(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("batchfn: historical_load %s: %w", day, err)
	}
	res.Trades, res.Symbols, res.Exchanges = rep.Trades, rep.Symbols, rep.Exchanges
	h.cfg.Log.InfoContext(ctx, "batchfn: loaded", "day", day, "trades", rep.Trades, "symbols", rep.Symbols)
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
	ds, _ := th.Detectors()
	return withLake(ctx, h, func(lake *iceberg.Sink) (*Result, error) {
		res, _, err := reprocess.RunOnce(ctx, reprocess.Config{Lake: lake, Scan: opt, Detectors: ds, RunID: runID}, h.cfg.Now())
		if err != nil {
			return nil, fmt.Errorf("batchfn: reprocess %s: %w", runID, err)
		}
		return &Result{Task: TaskReprocess, Result: *res}, nil
	})
}

func (h *Handler) status(ctx context.Context, in *Input) (*Result, error) {
	if in.RunID == "" {
		return nil, errors.New(`batchfn: reprocess_status needs "run_id"`)
	}
	return withLake(ctx, h, func(lake *iceberg.Sink) (*Result, error) {
		res, err := reprocess.Recorded(ctx, lake, in.RunID)
		if err != nil {
			return nil, err
		}
		if res == nil {
			res = &reprocess.Result{RunID: in.RunID, Status: reprocess.StatusRunning}
		}
		return &Result{Task: TaskReprocessStatus, Result: *res}, nil
	})
}

func (h *Handler) qualityCheck(ctx context.Context, in *Input) (*CheckResult, error) {
	if in.RunID == "" {
		return nil, errors.New(`batchfn: quality_check needs "run_id"`)
	}
	return withLake(ctx, h, func(lake *iceberg.Sink) (*CheckResult, error) {
		res, err := reprocess.Recorded(ctx, lake, in.RunID)
		if err != nil {
			return nil, err
		}
		return &CheckResult{Task: TaskQualityCheck, Verdict: *in.gate().Check(in.RunID, res)}, nil
	})
}

// gate is reprocess.DefaultGate with the input's overrides.
func (in *Input) gate() reprocess.Gate {
	g := reprocess.DefaultGate()
	if in.MinQualityScore != nil {
		g.MinQualityScore = *in.MinQualityScore
	}
	if in.MinTrades != nil {
		g.MinTrades = *in.MinTrades
	}
	if in.MaxMissingAlertPct != nil {
		g.MaxMissingAlertPct = *in.MaxMissingAlertPct
	}
	return g
}

func (h *Handler) catalogUpdate(ctx context.Context, in *Input) (*UpdateResult, error) {
	if in.RunID == "" {
		return nil, errors.New(`batchfn: catalog_update needs "run_id"`)
	}
	r := reprocess.DefaultRetention()
	if in.KeepRuns > 0 {
		r.KeepRuns = in.KeepRuns
	}
	if in.ExpireDays > 0 {
		r.ExpireAfter = time.Duration(in.ExpireDays) * 24 * time.Hour
	}
	return withLake(ctx, h, func(lake *iceberg.Sink) (*UpdateResult, error) {
		pub, err := reprocess.Publish(ctx, lake, in.RunID, r, h.cfg.Now())
		if err != nil {
			return nil, fmt.Errorf("batchfn: catalog_update: %w", err)
		}
		return &UpdateResult{Task: TaskCatalogUpdate, Publication: *pub}, nil
	})
}

// policy is maintain.DefaultPolicy with the input's overrides.
func (in *Input) policy() maintain.Policy {
	p := maintain.DefaultPolicy()
	if len(in.Tables) > 0 {
		p.Tables = in.Tables
	}
	if in.RetentionDays > 0 {
		p.Expire.Retention = time.Duration(in.RetentionDays) * 24 * time.Hour
	}
	if in.MinSnapshots > 0 {
		p.Expire.MinSnapshots = in.MinSnapshots
	}
	if in.OrphanAgeHours > 0 {
		p.Orphans.Age = time.Duration(in.OrphanAgeHours) * time.Hour
	}
	if in.MinInputFiles > 0 {
		p.Compact.MinInputFiles = in.MinInputFiles
	}
	return p
}

func (h *Handler) maintain(ctx context.Context, in *Input) (*MaintainResult, error) {
	p := in.policy()
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("batchfn: %w", err)
	}
	return withLake(ctx, h, func(lake *iceberg.Sink) (*MaintainResult, error) {
		rep, err := maintain.Run(ctx, lake, p)
		if rep != nil {
			for _, t := range rep.Tables {
				if t.Orphans != nil {
					t.Orphans.Files = nil // thousands of names would not fit the workflow's state
				}
			}
			h.cfg.Log.InfoContext(ctx, "batchfn: maintained", "files_before", rep.FilesBefore, "files_after", rep.FilesAfter,
				"snapshots_expired", rep.SnapshotsExpired, "checkpoints_carried", rep.Carried, "orphans_removed", rep.OrphansRemoved)
		}
		if err != nil {
			return nil, fmt.Errorf("batchfn: maintain: %w", err)
		}
		return &MaintainResult{Task: TaskMaintain, Report: *rep}, nil
	})
}

// evidenceConfig is the evaluation of the evidence task: adapters/evidence's defaults over the
// window [from, to).
func evidenceConfig(from, to time.Time) evidence.Config {
	return evidence.Config{From: from, To: to, Seed: 1}
}

func (h *Handler) evidence(ctx context.Context, in *Input) (*EvidenceResult, error) {
	if h.cfg.PutEvidence == nil {
		return nil, errors.New("batchfn: the evidence task writes its report to CTC_EVIDENCE_URI (s3://bucket/key), which is not set")
	}
	days := in.Days
	if days == 0 {
		days = DefaultEvidenceDays
	}
	if days < 1 || days > MaxEvidenceDays {
		return nil, fmt.Errorf("batchfn: days must be 1..%d, got %d", MaxEvidenceDays, in.Days)
	}
	_, start, err := h.day(in)
	if err != nil {
		return nil, err
	}
	from, to := start.AddDate(0, 0, -(days-1)), start.AddDate(0, 0, 1)
	if in.From != nil {
		from = in.From.UTC()
	}
	if in.To != nil {
		to = in.To.UTC()
	}
	cfg := evidenceConfig(from, to)
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("batchfn: %w", err)
	}
	return withLake(ctx, h, func(lake *iceberg.Sink) (*EvidenceResult, error) {
		rep, err := fromlake.Evaluate(ctx, lake, cfg, nil)
		if err != nil {
			return nil, fmt.Errorf("batchfn: evidence %s – %s: %w", from.Format(time.RFC3339), to.Format(time.RFC3339), err)
		}
		b, err := rep.JSON() // as adapters/evidence -json prints it
		if err != nil {
			return nil, fmt.Errorf("batchfn: evidence: %w", err)
		}
		if err := h.cfg.PutEvidence(ctx, b); err != nil {
			return nil, fmt.Errorf("batchfn: evidence: %w", err)
		}
		h.cfg.Log.InfoContext(ctx, "batchfn: evidence written", "uri", h.cfg.EvidenceURI, "alerts", rep.Alerts, "trades", rep.Trades, "bytes", len(b))
		return &EvidenceResult{Task: TaskEvidence, From: from, To: to, Alerts: rep.Alerts, Trades: rep.Trades, URI: h.cfg.EvidenceURI, Bytes: len(b)}, nil
	})
}
