package embedded

import (
	"database/sql"
	"fmt"
	"math"
	"time"

	"github.com/google/uuid"

	"github.com/coattailcapital/ctc"
)

// timeLayout is how times are stored: RFC 3339 in UTC with exactly nine fractional digits, as the
// DynamoDB store keeps them. Fixed width makes text order the order of time.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

// formatTime returns t as stored. Years outside 0000-9999 have no fixed-width form (nor a JSON
// one) and are refused.
func formatTime(t time.Time) (string, error) {
	t = t.UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		return "", fmt.Errorf("time %s is outside the years 0000-9999 the store can sort", t.Format(time.RFC3339Nano))
	}
	return t.Format(timeLayout), nil
}

// sinceKey returns the least stored time at or after since, for a range condition; "" (below
// every stored time) for the zero time, which means no bound. ok is false when no stored time can
// be at or after since.
func sinceKey(since time.Time) (key string, ok bool) {
	if since.IsZero() {
		return "", true
	}
	since = since.UTC()
	switch y := since.Year(); {
	case y < 0:
		return "", true
	case y > 9999:
		return "", false
	}
	return since.Format(timeLayout), true
}

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("a stored time %q does not parse: %w", s, err)
	}
	return t.UTC(), nil
}

// float scans a float column: NULL, which SQLite stores for NaN, is NaN.
type float struct{ p *float64 }

func (f float) Scan(v any) error {
	switch v := v.(type) {
	case float64:
		*f.p = v
	case int64: // a value a sqlite3 shell wrote as an integer
		*f.p = float64(v)
	case nil:
		*f.p = math.NaN()
	default:
		return fmt.Errorf("a float column holds a %T", v)
	}
	return nil
}

// The columns of each kind, in the order of the scan functions and of the insert statements.
const (
	alertColumns = `alert_id, alert_type, symbol, exchange, severity, z_score, threshold_value, actual_value,
	window_start, detected_at, message, ttl_epoch, emitted_at`
	volumeColumns = `symbol, exchange, window_start, window_end, trade_count, total_volume, avg_price, max_price,
	min_price, buy_volume, sell_volume`
	spreadColumns = `symbol, window_start, window_end, binance_vwap, coinbase_vwap, spread_pct`
)

// alertArgs returns a's column values for an insert, ttl_epoch and emitted_at included.
func alertArgs(a *ctc.Alert) ([]any, error) {
	ws, err := formatTime(a.WindowStart)
	if err != nil {
		return nil, fmt.Errorf("embedded: alert %s: window_start: %w", a.AlertID, err)
	}
	da, err := formatTime(a.DetectedAt)
	if err != nil {
		return nil, fmt.Errorf("embedded: alert %s: detected_at: %w", a.AlertID, err)
	}
	ea, err := formatTime(a.EmittedAt)
	if err != nil {
		return nil, fmt.Errorf("embedded: alert %s: emitted_at: %w", a.AlertID, err)
	}
	return []any{a.AlertID.String(), string(a.AlertType), a.Symbol, a.Exchange, int64(a.Severity),
		a.ZScore, a.ThresholdValue, a.ActualValue, ws, da, a.Message, a.TTLEpoch, ea}, nil
}

// volumeArgs returns v's column values and its expiry for an insert.
func volumeArgs(v *ctc.VolumeWindow, expires int64) ([]any, error) {
	ws, err := formatTime(v.WindowStart)
	if err != nil {
		return nil, fmt.Errorf("embedded: volume window %s %s: window_start: %w", v.Symbol, v.Exchange, err)
	}
	we, err := formatTime(v.WindowEnd)
	if err != nil {
		return nil, fmt.Errorf("embedded: volume window %s %s: window_end: %w", v.Symbol, v.Exchange, err)
	}
	return []any{v.Symbol, v.Exchange, ws, we, v.TradeCount, v.TotalVolume, v.AvgPrice, v.MaxPrice,
		v.MinPrice, v.BuyVolume, v.SellVolume, expires}, nil
}

func spreadArgs(w *ctc.SpreadWindow, expires int64) ([]any, error) {
	ws, err := formatTime(w.WindowStart)
	if err != nil {
		return nil, fmt.Errorf("embedded: spread window %s: window_start: %w", w.Symbol, err)
	}
	we, err := formatTime(w.WindowEnd)
	if err != nil {
		return nil, fmt.Errorf("embedded: spread window %s: window_end: %w", w.Symbol, err)
	}
	return []any{w.Symbol, ws, we, w.BinanceVWAP, w.CoinbaseVWAP, w.SpreadPct, expires}, nil
}

// aggregateTTL is when an aggregate ending at windowEnd expires, in Unix seconds: windowEnd +
// ctc.AlertTTL, rounded down as the detectors round an alert's TTLEpoch.
func aggregateTTL(windowEnd time.Time) int64 { return windowEnd.Add(ctc.AlertTTL).Unix() }

// alertScanner reads rows of alertColumns into a, reusing its destinations from row to row.
type alertScanner struct {
	a          ctc.Alert
	id, typ    string
	ws, da, ea string
	sev        int64
	dest       []any
}

func newAlertScanner() *alertScanner {
	s := &alertScanner{}
	s.dest = []any{&s.id, &s.typ, &s.a.Symbol, &s.a.Exchange, &s.sev, float{&s.a.ZScore}, float{&s.a.ThresholdValue},
		float{&s.a.ActualValue}, &s.ws, &s.da, &s.a.Message, &s.a.TTLEpoch, &s.ea}
	return s
}

func (s *alertScanner) scan(rows *sql.Rows) (ctc.Alert, error) {
	if err := rows.Scan(s.dest...); err != nil {
		return ctc.Alert{}, err
	}
	a := s.a
	var err error
	if a.AlertID, err = uuid.Parse(s.id); err != nil {
		return ctc.Alert{}, fmt.Errorf("a stored alert_id %q does not parse: %w", s.id, err)
	}
	a.AlertType, a.Severity = ctc.AlertType(s.typ), ctc.Severity(s.sev)
	if a.WindowStart, err = parseTime(s.ws); err != nil {
		return ctc.Alert{}, err
	}
	if a.DetectedAt, err = parseTime(s.da); err != nil {
		return ctc.Alert{}, err
	}
	if a.EmittedAt, err = parseTime(s.ea); err != nil {
		return ctc.Alert{}, err
	}
	return a, nil
}

func scanVolume(rows *sql.Rows) (ctc.VolumeWindow, error) {
	var v ctc.VolumeWindow
	var ws, we string
	err := rows.Scan(&v.Symbol, &v.Exchange, &ws, &we, &v.TradeCount, float{&v.TotalVolume}, float{&v.AvgPrice},
		float{&v.MaxPrice}, float{&v.MinPrice}, float{&v.BuyVolume}, float{&v.SellVolume})
	if err != nil {
		return v, err
	}
	if v.WindowStart, err = parseTime(ws); err != nil {
		return v, err
	}
	v.WindowEnd, err = parseTime(we)
	return v, err
}

func scanSpread(rows *sql.Rows) (ctc.SpreadWindow, error) {
	var w ctc.SpreadWindow
	var ws, we string
	err := rows.Scan(&w.Symbol, &ws, &we, float{&w.BinanceVWAP}, float{&w.CoinbaseVWAP}, float{&w.SpreadPct})
	if err != nil {
		return w, err
	}
	if w.WindowStart, err = parseTime(ws); err != nil {
		return w, err
	}
	w.WindowEnd, err = parseTime(we)
	return w, err
}

// collect reads every row with scan into a slice, non-nil, and closes rows.
func collect[T any](rows *sql.Rows, scan func(*sql.Rows) (T, error)) ([]T, error) {
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
