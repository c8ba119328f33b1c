package ctc

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// TimeLayout is how every ctc timestamp is written: RFC 3339, UTC, milliseconds.
const TimeLayout = "2006-01-02T15:04:05.000Z07:00"

// AppendTime appends t in TimeLayout, in UTC. The zero time is written as null by the JSON
// encoders, never through this function.
func AppendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(b, TimeLayout)
	}
	hour, minute, sec := t.Clock()
	ms := t.Nanosecond() / 1e6
	// Written by hand: time.AppendFormat was 40 % of the NDJSON encoders' time.
	return append(b,
		byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-',
		byte('0'+int(month)/10), byte('0'+int(month)%10), '-',
		byte('0'+day/10), byte('0'+day%10), 'T',
		byte('0'+hour/10), byte('0'+hour%10), ':',
		byte('0'+minute/10), byte('0'+minute%10), ':',
		byte('0'+sec/10), byte('0'+sec%10), '.',
		byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), 'Z')
}

// The encoders below write the exact field names of DESIGN §3 in a fixed order, with timestamps in
// TimeLayout and floats in their shortest exact form, so the same records always give the same
// bytes. They are hand-written because encoding/json would write RFC 3339 with nanoseconds and
// costs an allocation per field.

type enc struct{ b []byte }

func (e *enc) key(k string) {
	if len(e.b) > 0 && e.b[len(e.b)-1] != '{' {
		e.b = append(e.b, ',')
	}
	e.b = append(e.b, '"')
	e.b = append(e.b, k...)
	e.b = append(e.b, '"', ':')
}

func (e *enc) str(k, v string) {
	e.key(k)
	e.b = AppendJSONString(e.b, v)
}

func (e *enc) num(k string, v float64) {
	e.key(k)
	e.b = appendFloat(e.b, v)
}

func (e *enc) int(k string, v int64) {
	e.key(k)
	e.b = strconv.AppendInt(e.b, v, 10)
}

func (e *enc) time(k string, t time.Time) {
	e.key(k)
	if t.IsZero() {
		e.b = append(e.b, "null"...)
		return
	}
	e.b = append(e.b, '"')
	e.b = AppendTime(e.b, t)
	e.b = append(e.b, '"')
}

func (e *enc) uuid(k string, u uuid.UUID) {
	e.key(k)
	e.b = append(e.b, '"')
	var s [36]byte
	hexUUID(s[:], u)
	e.b = append(e.b, s[:]...)
	e.b = append(e.b, '"')
}

func hexUUID(dst []byte, u uuid.UUID) {
	const hexdigits = "0123456789abcdef"
	j := 0
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst[j] = '-'
			j++
		}
		dst[j] = hexdigits[c>>4]
		dst[j+1] = hexdigits[c&0xf]
		j += 2
	}
}

// appendFloat writes v in its shortest form that parses back to the same float64. Non-finite
// values, which validation keeps out of every record, are written as null rather than as invalid JSON.
func appendFloat(b []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(b, "null"...)
	}
	if v == 0 {
		return append(b, '0') // also folds -0
	}
	abs := math.Abs(v)
	if abs < 1e-6 || abs >= 1e21 {
		return strconv.AppendFloat(b, v, 'g', -1, 64)
	}
	return strconv.AppendFloat(b, v, 'f', -1, 64)
}

// AppendJSONString appends s as a JSON string, escaping what JSON requires, the HTML-sensitive
// <, > and &, and U+2028/U+2029, and replacing invalid UTF-8 with U+FFFD: the escaping of every
// ctc encoder, for code that writes JSON of its own around ctc records.
func AppendJSONString(b []byte, s string) []byte {
	const hexdigits = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexdigits[c>>4], hexdigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexdigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// AppendJSON appends the trade's JSON object (DESIGN §3.1).
func (t *Trade) AppendJSON(b []byte) []byte {
	e := enc{append(b, '{')}
	t.fields(&e)
	return append(e.b, '}')
}

func (t *Trade) fields(e *enc) {
	e.uuid("event_id", t.EventID)
	e.str("exchange", t.Exchange)
	e.str("symbol", t.Symbol)
	e.num("price", t.Price)
	e.num("quantity", t.Quantity)
	e.num("quote_volume", t.QuoteVolume)
	e.str("side", t.Side.String())
	e.time("timestamp", t.Timestamp)
	if !t.IngestionTimestamp.IsZero() {
		e.time("ingestion_timestamp", t.IngestionTimestamp)
	}
}

// MarshalJSON implements json.Marshaler.
func (t Trade) MarshalJSON() ([]byte, error) { return t.AppendJSON(nil), nil }

type tradeJSON struct {
	EventID            uuid.UUID  `json:"event_id"`
	Exchange           string     `json:"exchange"`
	Symbol             string     `json:"symbol"`
	Price              float64    `json:"price"`
	Quantity           float64    `json:"quantity"`
	QuoteVolume        float64    `json:"quote_volume"`
	Side               Side       `json:"side"`
	Timestamp          time.Time  `json:"timestamp"`
	IngestionTimestamp *time.Time `json:"ingestion_timestamp"`
}

// UnmarshalJSON implements json.Unmarshaler. It is the lenient, general path (it accepts what
// encoding/json accepts); the pipeline validates records with the quality package's decoder.
func (t *Trade) UnmarshalJSON(b []byte) error {
	var v tradeJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*t = Trade{EventID: v.EventID, Exchange: v.Exchange, Symbol: v.Symbol, Price: v.Price,
		Quantity: v.Quantity, QuoteVolume: v.QuoteVolume, Side: v.Side, Timestamp: v.Timestamp.UTC()}
	if v.IngestionTimestamp != nil {
		t.IngestionTimestamp = v.IngestionTimestamp.UTC()
	}
	return nil
}

// AppendJSON appends the alert's JSON object (DESIGN §3.2).
func (a *Alert) AppendJSON(b []byte) []byte {
	e := enc{append(b, '{')}
	e.uuid("alert_id", a.AlertID)
	e.str("alert_type", string(a.AlertType))
	e.str("symbol", a.Symbol)
	e.str("exchange", a.Exchange)
	e.str("severity", a.Severity.String())
	if a.ZScore == 0 { // not a statistical alert (whale, spread, cluster): the field does not apply
		e.key("z_score")
		e.b = append(e.b, "null"...)
	} else {
		e.num("z_score", a.ZScore)
	}
	e.num("threshold_value", a.ThresholdValue)
	e.num("actual_value", a.ActualValue)
	e.time("window_start", a.WindowStart)
	e.time("detected_at", a.DetectedAt)
	e.str("message", a.Message)
	e.int("ttl_epoch", a.TTLEpoch)
	e.time("emitted_at", a.EmittedAt)
	return append(e.b, '}')
}

// MarshalJSON implements json.Marshaler.
func (a Alert) MarshalJSON() ([]byte, error) { return a.AppendJSON(nil), nil }

type alertJSON struct {
	AlertID        uuid.UUID `json:"alert_id"`
	AlertType      AlertType `json:"alert_type"`
	Symbol         string    `json:"symbol"`
	Exchange       string    `json:"exchange"`
	Severity       Severity  `json:"severity"`
	ZScore         *float64  `json:"z_score"`
	ThresholdValue *float64  `json:"threshold_value"`
	ActualValue    *float64  `json:"actual_value"`
	WindowStart    time.Time `json:"window_start"`
	DetectedAt     time.Time `json:"detected_at"`
	Message        string    `json:"message"`
	TTLEpoch       int64     `json:"ttl_epoch"`
	EmittedAt      time.Time `json:"emitted_at"`
}

// UnmarshalJSON implements json.Unmarshaler.
func (a *Alert) UnmarshalJSON(b []byte) error {
	var v alertJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*a = Alert{AlertID: v.AlertID, AlertType: v.AlertType, Symbol: v.Symbol, Exchange: v.Exchange,
		Severity: v.Severity, ZScore: deref(v.ZScore), ThresholdValue: deref(v.ThresholdValue),
		ActualValue: deref(v.ActualValue), WindowStart: utc(v.WindowStart), DetectedAt: utc(v.DetectedAt),
		Message: v.Message, TTLEpoch: v.TTLEpoch, EmittedAt: utc(v.EmittedAt)}
	return nil
}

func deref(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// AppendJSON appends the window's JSON object (a volume_aggregates row).
func (v *VolumeWindow) AppendJSON(b []byte) []byte {
	e := enc{append(b, '{')}
	e.str("symbol", v.Symbol)
	e.str("exchange", v.Exchange)
	e.time("window_start", v.WindowStart)
	e.time("window_end", v.WindowEnd)
	e.int("trade_count", v.TradeCount)
	e.num("total_volume", v.TotalVolume)
	e.num("avg_price", v.AvgPrice)
	e.num("max_price", v.MaxPrice)
	e.num("min_price", v.MinPrice)
	e.num("buy_volume", v.BuyVolume)
	e.num("sell_volume", v.SellVolume)
	return append(e.b, '}')
}

// MarshalJSON implements json.Marshaler.
func (v VolumeWindow) MarshalJSON() ([]byte, error) { return v.AppendJSON(nil), nil }

type volumeJSON struct {
	Symbol      string    `json:"symbol"`
	Exchange    string    `json:"exchange"`
	WindowStart time.Time `json:"window_start"`
	WindowEnd   time.Time `json:"window_end"`
	TradeCount  int64     `json:"trade_count"`
	TotalVolume float64   `json:"total_volume"`
	AvgPrice    float64   `json:"avg_price"`
	MaxPrice    float64   `json:"max_price"`
	MinPrice    float64   `json:"min_price"`
	BuyVolume   float64   `json:"buy_volume"`
	SellVolume  float64   `json:"sell_volume"`
}

// UnmarshalJSON implements json.Unmarshaler.
func (v *VolumeWindow) UnmarshalJSON(b []byte) error {
	var w volumeJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*v = VolumeWindow(w)
	v.WindowStart, v.WindowEnd = utc(v.WindowStart), utc(v.WindowEnd)
	return nil
}

// AppendJSON appends the window's JSON object (an exchange_spreads row).
func (s *SpreadWindow) AppendJSON(b []byte) []byte {
	e := enc{append(b, '{')}
	e.str("symbol", s.Symbol)
	e.time("window_start", s.WindowStart)
	e.time("window_end", s.WindowEnd)
	e.num("binance_vwap", s.BinanceVWAP)
	e.num("coinbase_vwap", s.CoinbaseVWAP)
	e.num("spread_pct", s.SpreadPct)
	return append(e.b, '}')
}

// MarshalJSON implements json.Marshaler.
func (s SpreadWindow) MarshalJSON() ([]byte, error) { return s.AppendJSON(nil), nil }

type spreadJSON struct {
	Symbol       string    `json:"symbol"`
	WindowStart  time.Time `json:"window_start"`
	WindowEnd    time.Time `json:"window_end"`
	BinanceVWAP  float64   `json:"binance_vwap"`
	CoinbaseVWAP float64   `json:"coinbase_vwap"`
	SpreadPct    float64   `json:"spread_pct"`
}

// UnmarshalJSON implements json.Unmarshaler.
func (s *SpreadWindow) UnmarshalJSON(b []byte) error {
	var w spreadJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*s = SpreadWindow(w)
	s.WindowStart, s.WindowEnd = utc(s.WindowStart), utc(s.WindowEnd)
	return nil
}

// AppendJSON appends the whale record: the alert's id, severity, threshold and detection time,
// then every field of the trade, flat (a whale_trades row).
func (w *WhaleTrade) AppendJSON(b []byte) []byte {
	e := enc{append(b, '{')}
	e.uuid("alert_id", w.AlertID)
	e.str("severity", w.Severity.String())
	e.num("threshold_value", w.ThresholdValue)
	e.time("detected_at", w.DetectedAt)
	w.Trade.fields(&e)
	return append(e.b, '}')
}

// MarshalJSON implements json.Marshaler.
func (w WhaleTrade) MarshalJSON() ([]byte, error) { return w.AppendJSON(nil), nil }

// UnmarshalJSON implements json.Unmarshaler.
func (w *WhaleTrade) UnmarshalJSON(b []byte) error {
	var v struct {
		AlertID        uuid.UUID `json:"alert_id"`
		Severity       Severity  `json:"severity"`
		ThresholdValue float64   `json:"threshold_value"`
		DetectedAt     time.Time `json:"detected_at"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	var t Trade
	if err := t.UnmarshalJSON(b); err != nil {
		return err
	}
	*w = WhaleTrade{AlertID: v.AlertID, Severity: v.Severity, ThresholdValue: v.ThresholdValue,
		DetectedAt: utc(v.DetectedAt), Trade: t}
	return nil
}

// AppendJSON appends the late record: the detector and the trade's fields, flat.
func (l *LateTrade) AppendJSON(b []byte) []byte {
	e := enc{append(b, '{')}
	e.str("detector", l.Detector)
	l.Trade.fields(&e)
	return append(e.b, '}')
}

// MarshalJSON implements json.Marshaler.
func (l LateTrade) MarshalJSON() ([]byte, error) { return l.AppendJSON(nil), nil }

// AppendJSON appends the dead letter. The original bytes are kept exactly: as the string "data"
// when they are valid UTF-8, otherwise base64 in "data_base64".
func (d *DeadLetter) AppendJSON(b []byte) []byte {
	e := enc{append(b, '{')}
	e.str("reason", string(d.Reason))
	e.str("detail", d.Detail)
	e.str("partition", d.Position.Partition)
	e.int("offset", d.Position.Offset)
	if utf8.Valid(d.Data) {
		e.str("data", string(d.Data))
	} else {
		e.key("data_base64")
		e.b = append(e.b, '"')
		e.b = base64.StdEncoding.AppendEncode(e.b, d.Data)
		e.b = append(e.b, '"')
	}
	return append(e.b, '}')
}

// MarshalJSON implements json.Marshaler.
func (d DeadLetter) MarshalJSON() ([]byte, error) { return d.AppendJSON(nil), nil }

// UnmarshalJSON implements json.Unmarshaler.
func (d *DeadLetter) UnmarshalJSON(b []byte) error {
	var v struct {
		Reason     Reason  `json:"reason"`
		Detail     string  `json:"detail"`
		Partition  string  `json:"partition"`
		Offset     int64   `json:"offset"`
		Data       *string `json:"data"`
		DataBase64 []byte  `json:"data_base64"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*d = DeadLetter{Reason: v.Reason, Detail: v.Detail, Position: Position{v.Partition, v.Offset}, Data: v.DataBase64}
	if v.Data != nil {
		d.Data = []byte(*v.Data)
	}
	return nil
}

// String describes the trade on one line.
func (t *Trade) String() string {
	return fmt.Sprintf("%s %s %s %g @ %g (%s) %s", t.Exchange, t.Symbol, t.Side, t.Quantity, t.Price,
		t.EventID, t.Timestamp.UTC().Format(TimeLayout))
}
