package embedded

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/coattailcapital/ctc"
)

// QueryAlerts returns the live alerts q selects, newest first (by DetectedAt, then AlertID
// descending), at most q.Limit of them: a walk of the index of q's type and symbol from the newest
// entry back to q.Since. The result is empty, not nil, when nothing matches.
func (s *Store) QueryAlerts(ctx context.Context, q ctc.AlertQuery) ([]ctc.Alert, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if q.Limit < 1 {
		return nil, fmt.Errorf("embedded: limit must be >= 1, got %d", q.Limit)
	}
	since, ok := sinceKey(q.Since)
	if !ok {
		return []ctc.Alert{}, s.ifClosed()
	}
	i := 0
	if q.Type != "" {
		i |= 1
	}
	if q.Symbol != "" {
		i |= 2
	}
	now := s.now().Unix()
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.db == nil {
		return nil, ErrClosed
	}
	before, beforeID := noBefore, ""
	if !q.Before.IsZero() {
		switch k, ok := sinceKey(q.Before.DetectedAt); {
		case !ok: // after year 9999: every stored alert comes after it
		case k == "": // before year 0: none does
			return []ctc.Alert{}, s.ifClosed()
		default:
			before, beforeID = k, q.Before.AlertID.String()
		}
	}
	rows, err := s.st.alerts[i].QueryContext(ctx, since, now, int64(q.Limit), string(q.Type), q.Symbol, before, beforeID)
	if err != nil {
		return nil, s.txError(ctx, err)
	}
	defer rows.Close()
	out := make([]ctc.Alert, 0, min(q.Limit, 64))
	sc := newAlertScanner()
	for rows.Next() {
		a, err := sc.scan(rows)
		if err != nil {
			return nil, s.txError(ctx, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, s.txError(ctx, err)
	}
	return out, nil
}

// noBefore is the bound of a query without Before: greater than every stored detected_at.
const noBefore = "~"

// ifClosed returns ErrClosed after Close, for an answer found without the database.
func (s *Store) ifClosed() error {
	if s.closed.Load() {
		return ErrClosed
	}
	return nil
}

// Volumes returns the live volume windows of symbol on every exchange (of every symbol if symbol is
// ""), that start at or after since (the zero time: no bound), oldest first, then by symbol and
// exchange: what a chart of the last hours plots.
func (s *Store) Volumes(ctx context.Context, symbol string, since time.Time) ([]ctc.VolumeWindow, error) {
	return series(ctx, s, s.st.volumesAll, s.st.volumesSymbol, symbol, since, scanVolume)
}

// Spreads returns the live spread windows of symbol (an instrument, such as BTC; every one if
// symbol is "") that start at or after since, oldest first, then by symbol.
func (s *Store) Spreads(ctx context.Context, symbol string, since time.Time) ([]ctc.SpreadWindow, error) {
	return series(ctx, s, s.st.spreadsAll, s.st.spreadsSymbol, symbol, since, scanSpread)
}

// series runs the query of one aggregate's windows: every symbol's, or one symbol's.
func series[T any](ctx context.Context, s *Store, all, bySymbol *sql.Stmt, symbol string, since time.Time,
	scan func(*sql.Rows) (T, error)) ([]T, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	key, ok := sinceKey(since)
	if !ok {
		return []T{}, s.ifClosed()
	}
	now := s.now().Unix()
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.db == nil {
		return nil, ErrClosed
	}
	stmt := all
	if symbol != "" {
		stmt = bySymbol
	}
	rows, err := stmt.QueryContext(ctx, key, now, symbol)
	if err != nil {
		return nil, s.txError(ctx, err)
	}
	out, err := collect(rows, scan)
	if err != nil {
		return nil, s.txError(ctx, err)
	}
	return out, nil
}

// Symbols returns, sorted, every symbol that a live alert, volume window or spread window carries:
// the choices of the dashboard's picker. Spread windows and spread alerts carry an instrument
// (BTC), the others a market symbol (BTC-USDT).
func (s *Store) Symbols(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := s.now().Unix()
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.db == nil {
		return nil, ErrClosed
	}
	rows, err := s.st.symbols.QueryContext(ctx, now)
	if err != nil {
		return nil, s.txError(ctx, err)
	}
	out, err := collect(rows, func(rows *sql.Rows) (string, error) {
		var sym string
		err := rows.Scan(&sym)
		return sym, err
	})
	if err != nil {
		return nil, s.txError(ctx, err)
	}
	return out, nil
}
