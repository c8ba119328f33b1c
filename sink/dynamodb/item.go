package dynamodb

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/uuid"

	"github.com/coattailcapital/ctc"
)

// The attribute names of the alerts table (DESIGN §3.2, §3.4).
const (
	attrAlertID        = "alert_id"
	attrDetectedAt     = "detected_at"
	attrAlertType      = "alert_type"
	attrSymbol         = "symbol"
	attrExchange       = "exchange"
	attrSeverity       = "severity"
	attrZScore         = "z_score"
	attrThresholdValue = "threshold_value"
	attrActualValue    = "actual_value"
	attrWindowStart    = "window_start"
	attrMessage        = "message"
	attrTTLEpoch       = "ttl_epoch"
	attrEmittedAt      = "emitted_at"
)

// The attribute names of the aggregates table.
const (
	attrSeries       = "series"
	attrSortKey      = "sk"
	attrWindowEnd    = "window_end"
	attrTradeCount   = "trade_count"
	attrTotalVolume  = "total_volume"
	attrAvgPrice     = "avg_price"
	attrMaxPrice     = "max_price"
	attrMinPrice     = "min_price"
	attrBuyVolume    = "buy_volume"
	attrSellVolume   = "sell_volume"
	attrBinanceVWAP  = "binance_vwap"
	attrCoinbaseVWAP = "coinbase_vwap"
	attrSpreadPct    = "spread_pct"
)

// The index names of the alerts table, as in the seed's Terraform.
const (
	TypeTimeIndex   = "type-time-index"
	SymbolTimeIndex = "symbol-time-index"
)

// timeLayout is how every time is stored: RFC 3339 in UTC with exactly nine fractional digits.
// Fixed width makes the lexical order of the strings the order of the instants, which is what the
// detected_at sort key of the table and its indexes needs, and nanoseconds make any time.Time
// round-trip (milliseconds would lose what a caller's clock gave). Years 0000 to 9999 only.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

// formatTime returns t as stored, or an error when its year has no four-digit form.
func formatTime(t time.Time) (string, error) {
	t = t.UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		return "", fmt.Errorf("time %s is outside the years 0000-9999 the table can sort", t.Format(time.RFC3339Nano))
	}
	return t.Format(timeLayout), nil
}

// sinceKey returns the smallest stored time string at or after since: a lower bound for a key
// condition. ok is false when no stored time can be at or after since.
func sinceKey(since time.Time) (key string, ok bool) {
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
		return time.Time{}, err
	}
	return t.UTC(), nil
}

// numberAttr stores a float as a DynamoDB number when the number type holds it exactly (which
// the shortest round-trip decimal form guarantees for finite values in its range), and as a string
// otherwise — NaN, ±Inf, -0 and magnitudes beyond 1e-130..1e125 — so that every float64 but NaN
// payloads round-trips bit for bit.
func numberAttr(f float64) types.AttributeValue {
	a := math.Abs(f)
	if (f == 0 && !math.Signbit(f)) || (a > 1e-129 && a < 9e125) {
		return &types.AttributeValueMemberN{Value: strconv.FormatFloat(f, 'f', -1, 64)}
	}
	return &types.AttributeValueMemberS{Value: strconv.FormatFloat(f, 'g', -1, 64)}
}

func intAttr(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

func strAttr(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

// putOptional sets a string attribute unless it is empty: an absent attribute reads back as "".
func putOptional(item map[string]types.AttributeValue, name, v string) {
	if v != "" {
		item[name] = strAttr(v)
	}
}

// alertItem returns the item of an alert.
func alertItem(a *ctc.Alert) (map[string]types.AttributeValue, error) {
	if a.AlertType == "" || a.Symbol == "" {
		return nil, fmt.Errorf("alert %s has an empty alert_type or symbol, which DynamoDB index keys cannot hold: fix the detector that made it", a.AlertID)
	}
	detected, err := formatTime(a.DetectedAt)
	if err != nil {
		return nil, fmt.Errorf("alert %s: detected_at: %w", a.AlertID, err)
	}
	start, err := formatTime(a.WindowStart)
	if err != nil {
		return nil, fmt.Errorf("alert %s: window_start: %w", a.AlertID, err)
	}
	emitted, err := formatTime(a.EmittedAt)
	if err != nil {
		return nil, fmt.Errorf("alert %s: emitted_at: %w", a.AlertID, err)
	}
	item := map[string]types.AttributeValue{
		attrAlertID:        strAttr(a.AlertID.String()),
		attrDetectedAt:     strAttr(detected),
		attrAlertType:      strAttr(string(a.AlertType)),
		attrSymbol:         strAttr(a.Symbol),
		attrZScore:         numberAttr(a.ZScore),
		attrThresholdValue: numberAttr(a.ThresholdValue),
		attrActualValue:    numberAttr(a.ActualValue),
		attrWindowStart:    strAttr(start),
		attrTTLEpoch:       intAttr(a.TTLEpoch),
		attrEmittedAt:      strAttr(emitted),
	}
	putOptional(item, attrExchange, a.Exchange)
	if a.Severity != ctc.SeverityNone {
		if _, err := ctc.ParseSeverity(a.Severity.String()); err != nil {
			return nil, fmt.Errorf("alert %s: %w", a.AlertID, err)
		}
		item[attrSeverity] = strAttr(a.Severity.String())
	}
	putOptional(item, attrMessage, a.Message)
	return item, nil
}

// reader decodes one item, remembering the first error.
type reader struct {
	item map[string]types.AttributeValue
	err  error
}

func (r *reader) fail(name string, format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("attribute %s: %s", name, fmt.Sprintf(format, args...))
	}
}

// str reads a string attribute; a missing one is "" unless required.
func (r *reader) str(name string, required bool) string {
	v, ok := r.item[name]
	if !ok {
		if required {
			r.fail(name, "missing")
		}
		return ""
	}
	s, ok := v.(*types.AttributeValueMemberS)
	if !ok {
		r.fail(name, "want a string, got %T", v)
		return ""
	}
	return s.Value
}

func (r *reader) time(name string) time.Time {
	s := r.str(name, true)
	if r.err != nil {
		return time.Time{}
	}
	t, err := parseTime(s)
	if err != nil {
		r.fail(name, "%v", err)
	}
	return t
}

func (r *reader) float(name string) float64 {
	var s string
	switch v := r.item[name].(type) {
	case *types.AttributeValueMemberN:
		s = v.Value
	case *types.AttributeValueMemberS:
		s = v.Value
	case nil:
		r.fail(name, "missing")
		return 0
	default:
		r.fail(name, "want a number, got %T", v)
		return 0
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		r.fail(name, "%v", err)
	}
	return f
}

func (r *reader) int(name string) int64 {
	v, ok := r.item[name].(*types.AttributeValueMemberN)
	if !ok {
		r.fail(name, "want a number, got %T", r.item[name])
		return 0
	}
	n, err := strconv.ParseInt(v.Value, 10, 64)
	if err != nil {
		r.fail(name, "%v", err)
	}
	return n
}

// decodeAlert reads an alert item; it fails on an item that alertItem did not write.
func decodeAlert(item map[string]types.AttributeValue) (ctc.Alert, error) {
	r := reader{item: item}
	var a ctc.Alert
	id := r.str(attrAlertID, true)
	if r.err == nil {
		var err error
		if a.AlertID, err = uuid.Parse(id); err != nil {
			r.fail(attrAlertID, "%v", err)
		}
	}
	a.AlertType = ctc.AlertType(r.str(attrAlertType, true))
	a.Symbol = r.str(attrSymbol, true)
	a.Exchange = r.str(attrExchange, false)
	if sev := r.str(attrSeverity, false); sev != "" {
		var err error
		if a.Severity, err = ctc.ParseSeverity(sev); err != nil {
			r.fail(attrSeverity, "%v", err)
		}
	}
	a.ZScore = r.float(attrZScore)
	a.ThresholdValue = r.float(attrThresholdValue)
	a.ActualValue = r.float(attrActualValue)
	a.WindowStart = r.time(attrWindowStart)
	a.DetectedAt = r.time(attrDetectedAt)
	a.Message = r.str(attrMessage, false)
	a.TTLEpoch = r.int(attrTTLEpoch)
	a.EmittedAt = r.time(attrEmittedAt)
	if r.err != nil {
		return ctc.Alert{}, fmt.Errorf("alert item %q: %w (not written by this package?)", id, r.err)
	}
	return a, nil
}

// Series names in the aggregates table: one partition per kind and symbol, and the registries
// of what exists (see the package documentation).
const (
	volumePrefix      = "volume#"
	spreadPrefix      = "spread#"
	registryAlertType = "registry#alert_type"
	registryAlertSym  = "registry#alert_symbol"
	registryVolumeSym = "registry#volume_symbol"
	registrySpreadSym = "registry#spread_symbol"
)

// volumeItem returns the item of a volume window: series volume#SYMBOL, sort key
// window_start#exchange.
func volumeItem(v *ctc.VolumeWindow) (map[string]types.AttributeValue, error) {
	if v.Symbol == "" {
		return nil, fmt.Errorf("volume window at %s has no symbol: fix the aggregator that made it", v.WindowStart.Format(time.RFC3339Nano))
	}
	start, err := formatTime(v.WindowStart)
	if err != nil {
		return nil, fmt.Errorf("volume window of %s: window_start: %w", v.Symbol, err)
	}
	end, err := formatTime(v.WindowEnd)
	if err != nil {
		return nil, fmt.Errorf("volume window of %s: window_end: %w", v.Symbol, err)
	}
	item := map[string]types.AttributeValue{
		attrSeries:      strAttr(volumePrefix + v.Symbol),
		attrSortKey:     strAttr(start + "#" + v.Exchange),
		attrSymbol:      strAttr(v.Symbol),
		attrWindowStart: strAttr(start),
		attrWindowEnd:   strAttr(end),
		attrTradeCount:  intAttr(v.TradeCount),
		attrTotalVolume: numberAttr(v.TotalVolume),
		attrAvgPrice:    numberAttr(v.AvgPrice),
		attrMaxPrice:    numberAttr(v.MaxPrice),
		attrMinPrice:    numberAttr(v.MinPrice),
		attrBuyVolume:   numberAttr(v.BuyVolume),
		attrSellVolume:  numberAttr(v.SellVolume),
		attrTTLEpoch:    intAttr(aggregateTTL(v.WindowEnd)),
	}
	putOptional(item, attrExchange, v.Exchange)
	return item, nil
}

func decodeVolume(item map[string]types.AttributeValue) (ctc.VolumeWindow, error) {
	r := reader{item: item}
	v := ctc.VolumeWindow{
		Symbol:      r.str(attrSymbol, true),
		Exchange:    r.str(attrExchange, false),
		WindowStart: r.time(attrWindowStart),
		WindowEnd:   r.time(attrWindowEnd),
		TradeCount:  r.int(attrTradeCount),
		TotalVolume: r.float(attrTotalVolume),
		AvgPrice:    r.float(attrAvgPrice),
		MaxPrice:    r.float(attrMaxPrice),
		MinPrice:    r.float(attrMinPrice),
		BuyVolume:   r.float(attrBuyVolume),
		SellVolume:  r.float(attrSellVolume),
	}
	if r.err != nil {
		return ctc.VolumeWindow{}, fmt.Errorf("volume item: %w (not written by this package?)", r.err)
	}
	return v, nil
}

// spreadItem returns the item of a spread window: series spread#INSTRUMENT, sort key window_start.
func spreadItem(w *ctc.SpreadWindow) (map[string]types.AttributeValue, error) {
	if w.Symbol == "" {
		return nil, fmt.Errorf("spread window at %s has no symbol: fix the joiner that made it", w.WindowStart.Format(time.RFC3339Nano))
	}
	start, err := formatTime(w.WindowStart)
	if err != nil {
		return nil, fmt.Errorf("spread window of %s: window_start: %w", w.Symbol, err)
	}
	end, err := formatTime(w.WindowEnd)
	if err != nil {
		return nil, fmt.Errorf("spread window of %s: window_end: %w", w.Symbol, err)
	}
	return map[string]types.AttributeValue{
		attrSeries:       strAttr(spreadPrefix + w.Symbol),
		attrSortKey:      strAttr(start),
		attrSymbol:       strAttr(w.Symbol),
		attrWindowStart:  strAttr(start),
		attrWindowEnd:    strAttr(end),
		attrBinanceVWAP:  numberAttr(w.BinanceVWAP),
		attrCoinbaseVWAP: numberAttr(w.CoinbaseVWAP),
		attrSpreadPct:    numberAttr(w.SpreadPct),
		attrTTLEpoch:     intAttr(aggregateTTL(w.WindowEnd)),
	}, nil
}

func decodeSpread(item map[string]types.AttributeValue) (ctc.SpreadWindow, error) {
	r := reader{item: item}
	w := ctc.SpreadWindow{
		Symbol:       r.str(attrSymbol, true),
		WindowStart:  r.time(attrWindowStart),
		WindowEnd:    r.time(attrWindowEnd),
		BinanceVWAP:  r.float(attrBinanceVWAP),
		CoinbaseVWAP: r.float(attrCoinbaseVWAP),
		SpreadPct:    r.float(attrSpreadPct),
	}
	if r.err != nil {
		return ctc.SpreadWindow{}, fmt.Errorf("spread item: %w (not written by this package?)", r.err)
	}
	return w, nil
}

// aggregateTTL is when an aggregate expires: a day after its window ends, as in the embedded store.
func aggregateTTL(windowEnd time.Time) int64 { return windowEnd.Add(ctc.AlertTTL).Unix() }

// ttlOf reads an item's ttl_epoch; an item without one never expires.
func ttlOf(item map[string]types.AttributeValue) int64 {
	if v, ok := item[attrTTLEpoch].(*types.AttributeValueMemberN); ok {
		if n, err := strconv.ParseInt(v.Value, 10, 64); err == nil {
			return n
		}
	}
	return math.MaxInt64
}
