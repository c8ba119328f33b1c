package iceberg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/coattailcapital/ctc"
)

// ScanOptions selects what ScanTrades reads: which snapshot of raw_trades (time travel), and which
// event-time range of it.
type ScanOptions struct {
	// SnapshotID reads the table as of that snapshot; 0 means the current snapshot.
	SnapshotID int64
	// AsOf reads the snapshot that was current at that time (time travel); the zero time means the
	// current snapshot. At most one of SnapshotID and AsOf may be set. A time before the table's
	// first snapshot reads nothing.
	AsOf time.Time
	// From and To keep trades with From <= timestamp < To; a zero bound is no bound. The range is
	// pushed down to Iceberg as a row filter, so whole days (partitions) and files outside it are
	// never read.
	From, To time.Time
}

// ScanTrades reads raw_trades with opt. It returns an iterator of batches of trades, one per arrow
// record batch the scan produces: range over it with
//
//	for trades, err := range sink.ScanTrades(ctx, opt) { … }
//
// Each batch is a new slice that the caller may keep. A failure (a bad option, an unknown snapshot
// id, a read error) is yielded as the iterator's last error. Trades come in file order —
// partition by partition, that is by day and symbol — not in event-time order: sort them (by
// Timestamp, then EventID) before feeding them to detectors.
func (s *Sink) ScanTrades(ctx context.Context, opt ScanOptions) iter.Seq2[[]ctc.Trade, error] {
	return func(yield func([]ctc.Trade, error) bool) {
		recs, err := s.scan(ctx, RawTrades, opt, "timestamp", nil)
		if err != nil {
			yield(nil, err)
			return
		}
		intern := map[string]string{}
		for rec, err := range recs {
			if err != nil {
				yield(nil, fmt.Errorf("iceberg: scan %s: %w", RawTrades, err))
				return
			}
			trades, err := decodeTrades(nil, rec, intern)
			rec.Release()
			if err != nil {
				yield(nil, fmt.Errorf("iceberg: scan %s: %w", RawTrades, err))
				return
			}
			if len(trades) > 0 && !yield(trades, nil) {
				return
			}
		}
	}
}

// ScanAlerts reads the alerts of the current snapshot of tableName (AnomalyAlerts or
// AnomaliesReprocessed, where it returns every run's) detected in [from, to) — a zero bound is no
// bound — sorted by DetectedAt, then AlertID.
func (s *Sink) ScanAlerts(ctx context.Context, tableName string, from, to time.Time) ([]ctc.Alert, error) {
	if tableName != AnomalyAlerts && tableName != AnomaliesReprocessed {
		return nil, fmt.Errorf("iceberg: ScanAlerts reads %s or %s, not %q", AnomalyAlerts, AnomaliesReprocessed, tableName)
	}
	return s.scanAlerts(ctx, tableName, from, to, nil)
}

// ScanRun reads the alerts WriteReprocessed wrote for runID to anomalies_reprocessed, detected in
// [from, to), sorted as ScanAlerts sorts them.
func (s *Sink) ScanRun(ctx context.Context, runID string, from, to time.Time) ([]ctc.Alert, error) {
	return s.scanAlerts(ctx, AnomaliesReprocessed, from, to, iceberg.EqualTo(iceberg.Reference("run_id"), runID))
}

func (s *Sink) scanAlerts(ctx context.Context, name string, from, to time.Time, filter iceberg.BooleanExpression) ([]ctc.Alert, error) {
	recs, err := s.scan(ctx, name, ScanOptions{From: from, To: to}, "detected_at", filter)
	if err != nil {
		return nil, err
	}
	var alerts []ctc.Alert
	intern := map[string]string{}
	for rec, err := range recs {
		if err != nil {
			return nil, fmt.Errorf("iceberg: scan %s: %w", name, err)
		}
		alerts, err = decodeAlerts(alerts, rec, intern)
		rec.Release()
		if err != nil {
			return nil, fmt.Errorf("iceberg: scan %s: %w", name, err)
		}
	}
	slices.SortFunc(alerts, func(a, b ctc.Alert) int {
		if c := a.DetectedAt.Compare(b.DetectedAt); c != 0 {
			return c
		}
		return bytes.Compare(a.AlertID[:], b.AlertID[:])
	})
	return alerts, nil
}

// scan plans a scan of table name at the snapshot opt selects, keeping rows whose column col is in
// [opt.From, opt.To) and that match filter (if not nil). Every record the iterator yields must be
// released.
func (s *Sink) scan(ctx context.Context, name string, opt ScanOptions, col string, filter iceberg.BooleanExpression) (iter.Seq2[arrow.RecordBatch, error], error) {
	if opt.SnapshotID != 0 && !opt.AsOf.IsZero() {
		return nil, errors.New("iceberg: ScanOptions: set SnapshotID or AsOf, not both")
	}
	if !opt.From.IsZero() && !opt.To.IsZero() && !opt.From.Before(opt.To) {
		return nil, fmt.Errorf("iceberg: ScanOptions: From (%s) must be before To (%s)", opt.From, opt.To)
	}
	tbl, err := s.Table(ctx, name)
	if err != nil {
		return nil, err
	}
	snap := tbl.CurrentSnapshot()
	switch {
	case opt.SnapshotID != 0:
		if snap = tbl.SnapshotByID(opt.SnapshotID); snap == nil {
			return nil, fmt.Errorf("iceberg: table %s has no snapshot %d", name, opt.SnapshotID)
		}
	case !opt.AsOf.IsZero():
		snap = tbl.SnapshotAsOf(opt.AsOf.UnixMilli(), true)
	}
	if snap == nil { // an empty table, or a time before its first snapshot
		return func(func(arrow.RecordBatch, error) bool) {}, nil
	}
	if !opt.From.IsZero() {
		filter = and(filter, iceberg.GreaterThanEqual(iceberg.Reference(col), iceberg.Timestamp(opt.From.UnixMicro())))
	}
	if !opt.To.IsZero() {
		filter = and(filter, iceberg.LessThan(iceberg.Reference(col), iceberg.Timestamp(opt.To.UnixMicro())))
	}
	opts := []table.ScanOption{table.WithSnapshotID(snap.SnapshotID)}
	if filter != nil {
		opts = append(opts, table.WithRowFilter(filter))
	}
	_, recs, err := tbl.Scan(opts...).ToArrowRecords(ctx)
	if err != nil {
		return nil, fmt.Errorf("iceberg: scan %s: %w", name, err)
	}
	return recs, nil
}

func and(a, b iceberg.BooleanExpression) iceberg.BooleanExpression {
	if a == nil {
		return b
	}
	return iceberg.NewAnd(a, b)
}

// WriteReprocessed appends alerts to anomalies_reprocessed with run_id = runID, in one commit
// whose snapshot summary carries SummaryRunID. It is independent of Write and Commit: nothing
// buffered for the other tables is committed. Each call is a new commit, so calling it twice with
// the same alerts stores them twice.
func (s *Sink) WriteReprocessed(ctx context.Context, runID string, alerts []ctc.Alert) error {
	if runID == "" {
		return errors.New("iceberg: WriteReprocessed needs a run id")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if len(alerts) == 0 {
		return nil
	}
	b := s.reproc
	defer b.discard()
	for i := range alerts {
		s.rerun.append(&alerts[i], runID)
	}
	b.seal()
	tbl, err := s.load(ctx, AnomaliesReprocessed)
	if err != nil {
		return err
	}
	if err := appendRecords(ctx, tbl, b.schema, b.pending, iceberg.Properties{SummaryRunID: runID}); err != nil {
		return fmt.Errorf("iceberg: commit %s: %w", AnomaliesReprocessed, err)
	}
	return nil
}

// EventIDs returns the event ids raw_trades holds (current snapshot) of one exchange and symbol
// with from <= timestamp <= to: what a backfill of that range must not load again. The range is
// pushed down, so only its days are read.
func (s *Sink) EventIDs(ctx context.Context, exchange, symbol string, from, to time.Time) (map[[16]byte]struct{}, error) {
	ids := map[[16]byte]struct{}{}
	for trades, err := range s.ScanTrades(ctx, ScanOptions{From: from, To: to.Add(time.Millisecond)}) {
		if err != nil {
			return nil, err
		}
		for i := range trades {
			if tr := &trades[i]; tr.Exchange == exchange && tr.Symbol == symbol {
				ids[tr.EventID] = struct{}{}
			}
		}
	}
	return ids, nil
}
