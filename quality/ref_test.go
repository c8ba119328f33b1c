package quality

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/google/uuid"
)

// refDecode is the slow reference for Decode, written on top of encoding/json: the same rules,
// stated as plainly as possible. It returns the trade, the reason ("" when valid) and the field
// at fault.
func refDecode(data []byte) (ctc.Trade, ctc.Reason, string) {
	var t ctc.Trade
	if !json.Valid(data) {
		return t, ctc.Malformed, ""
	}
	if trimmed := bytes.TrimLeft(data, " \t\r\n"); len(trimmed) == 0 || trimmed[0] != '{' {
		return t, ctc.Malformed, ""
	}
	var m map[string]json.RawMessage // duplicate keys: the last one wins
	if err := json.Unmarshal(data, &m); err != nil {
		return t, ctc.Malformed, ""
	}
	str := func(k string) (string, bool) {
		raw, ok := m[k]
		if !ok || len(raw) == 0 || raw[0] != '"' {
			return "", false
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			panic(err)
		}
		return s, true
	}
	num := func(k string) (float64, bool) {
		raw, ok := m[k]
		if !ok || len(raw) == 0 || !(raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') {
			return 0, false
		}
		v, err := strconv.ParseFloat(string(raw), 64)
		if err != nil && !math.IsInf(v, 0) {
			panic(err)
		}
		return v, v > 0 && !math.IsInf(v, 0)
	}
	isNull := func(k string) bool {
		raw, ok := m[k]
		return !ok || string(raw) == "null"
	}
	parseID := func(s string) (uuid.UUID, bool) {
		if len(s) != 36 {
			return uuid.UUID{}, false
		}
		u, err := uuid.Parse(s)
		return u, err == nil
	}
	parseTS := func(s string) (time.Time, bool) {
		ts, err := time.Parse(time.RFC3339, s)
		return ts.UTC(), err == nil
	}
	inRange := func(ts time.Time) bool { return ts.Year() >= 1 && ts.Year() <= 9999 }

	// Completeness.
	for _, k := range []string{"event_id", "exchange", "symbol", "price", "quantity", "timestamp"} {
		if isNull(k) || string(m[k]) == `""` {
			return t, ctc.Incomplete, k
		}
		if s, ok := str(k); ok && k == "event_id" {
			if u, ok := parseID(s); ok && u == (uuid.UUID{}) {
				return t, ctc.Incomplete, k // the nil UUID
			}
		}
		if s, ok := str(k); ok && k == "timestamp" {
			if ts, ok := parseTS(s); ok && ts.IsZero() {
				return t, ctc.Incomplete, k // the zero time
			}
		}
	}
	// Validity, in the documented order.
	var ok bool
	if t.Price, ok = num("price"); !ok {
		return t, ctc.Invalid, "price"
	}
	if t.Quantity, ok = num("quantity"); !ok {
		return t, ctc.Invalid, "quantity"
	}
	s, _ := str("event_id")
	if t.EventID, ok = parseID(s); !ok {
		return t, ctc.Invalid, "event_id"
	}
	s, ok = str("timestamp")
	if t.Timestamp, ok = parseTS(s); !ok || !isString(m["timestamp"]) || !inRange(t.Timestamp) {
		return t, ctc.Invalid, "timestamp"
	}
	switch s, _ := str("side"); s {
	case "buy":
		t.Side = ctc.Buy
	case "sell":
		t.Side = ctc.Sell
	default:
		return t, ctc.Invalid, "side"
	}
	if t.Exchange, ok = str("exchange"); !ok {
		return t, ctc.Invalid, "exchange"
	}
	if t.Symbol, ok = str("symbol"); !ok {
		return t, ctc.Invalid, "symbol"
	}
	if !isNull("quote_volume") {
		if t.QuoteVolume, ok = num("quote_volume"); !ok {
			return t, ctc.Invalid, "quote_volume"
		}
	}
	if !isNull("ingestion_timestamp") {
		s, isStr := str("ingestion_timestamp")
		if t.IngestionTimestamp, ok = parseTS(s); !ok || !isStr || !inRange(t.IngestionTimestamp) {
			return t, ctc.Invalid, "ingestion_timestamp"
		}
		if t.IngestionTimestamp.IsZero() {
			t.IngestionTimestamp = time.Time{} // the zero time: unknown, as if absent
		}
	}
	pq := t.Price * t.Quantity
	if !(pq > 0 && !math.IsInf(pq, 0)) {
		return t, ctc.Invalid, "price"
	}
	if isNull("quote_volume") {
		t.QuoteVolume = pq
	}
	return t, "", ""
}

func isString(raw json.RawMessage) bool { return len(raw) > 0 && raw[0] == '"' }
