package replay

import (
	"fmt"
	"math"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/internal/jsonscan"
)

// The columns of Binance's public spot aggTrades CSV (data.binance.vision), in file order. The
// futures files have the same first seven columns and no is_best_match; both are accepted.
var csvColumns = [...]string{"agg_id", "price", "qty", "first_id", "last_id", "timestamp",
	"is_buyer_maker", "is_best_match"}

// microsFrom tells the two timestamp units apart: Binance switched its spot files from
// milliseconds to microseconds on 2025-01-01. Milliseconds stay below 1e14 until the year 5138,
// and microseconds are above it for anything after 1973, so the magnitude alone decides.
const microsFrom = 1e14

// ColumnError is why a CSV line did not decode: which column, what it held and what was wrong.
type ColumnError struct {
	// Column is the column's name (agg_id, price, …) or "line" for a problem with the whole line.
	Column string
	// Index is the column's 1-based position, 0 for the whole line.
	Index int
	// Value is the offending text, cut to 64 bytes.
	Value  string
	Reason string
}

func (e *ColumnError) Error() string {
	if e.Index == 0 {
		return "binance aggTrades CSV: " + e.Reason
	}
	return fmt.Sprintf("binance aggTrades CSV column %d (%s): %s, got %q", e.Index, e.Column, e.Reason, e.Value)
}

func columnError(i int, v []byte, reason string) error {
	if len(v) > 64 {
		v = v[:64]
	}
	return &ColumnError{Column: csvColumns[i], Index: i + 1, Value: string(v), Reason: reason}
}

// DecodeCSV parses one line of Binance's public spot aggTrades CSV (no header):
//
//	agg_id,price,qty,first_id,last_id,timestamp,is_buyer_maker,is_best_match
//
// into t, for the given exchange and symbol (the file names the symbol, the lines do not). The
// event id is ctc.NewEventIDInt(exchange, symbol, agg_id), so a trade replayed from a file and
// the same trade seen live deduplicate. On error, which is a *ColumnError naming the column, t is
// left unchanged. It does not allocate unless it fails.
func DecodeCSV(line []byte, exchange, symbol string, t *ctc.Trade) error {
	for len(line) > 0 && (line[len(line)-1] == '\n' || line[len(line)-1] == '\r') {
		line = line[:len(line)-1]
	}
	var cols [len(csvColumns)][]byte
	n := 0
	for start := 0; ; {
		end := start
		for end < len(line) && line[end] != ',' {
			end++
		}
		if n == len(cols) {
			return &ColumnError{Column: "line", Reason: fmt.Sprintf(
				"expected 8 comma-separated columns (%s), got more", csvHeader)}
		}
		cols[n] = line[start:end]
		n++
		if end == len(line) {
			break
		}
		start = end + 1
	}
	if n < len(cols)-1 {
		return &ColumnError{Column: "line", Reason: fmt.Sprintf(
			"expected 8 comma-separated columns (%s), got %d", csvHeader, n)}
	}

	aggID, ok := parseInt(cols[0])
	if !ok {
		return columnError(0, cols[0], "must be a non-negative integer trade id")
	}
	price, ok := parseDecimal(cols[1])
	if !ok || !(price > 0) || math.IsInf(price, 0) {
		return columnError(1, cols[1], "must be a positive decimal number")
	}
	qty, ok := parseDecimal(cols[2])
	if !ok || !(qty > 0) || math.IsInf(qty, 0) {
		return columnError(2, cols[2], "must be a positive decimal number")
	}
	quote := price * qty
	if math.IsInf(quote, 0) {
		return columnError(2, cols[2], "price × qty overflows a float64")
	}
	for i := 3; i <= 4; i++ {
		if _, ok := parseInt(cols[i]); !ok {
			return columnError(i, cols[i], "must be a non-negative integer trade id")
		}
	}
	ts, ok := parseInt(cols[5])
	if !ok || ts == 0 {
		return columnError(5, cols[5], "must be a positive integer (Unix ms, or µs from 2025)")
	}
	maker, ok := parseBool(cols[6])
	if !ok {
		return columnError(6, cols[6], "must be true or false")
	}
	if n == len(cols) {
		if _, ok := parseBool(cols[7]); !ok {
			return columnError(7, cols[7], "must be true or false")
		}
	}

	var when time.Time
	if ts >= microsFrom {
		when = time.UnixMicro(ts).UTC()
	} else {
		when = time.UnixMilli(ts).UTC()
	}
	side := ctc.Buy
	if maker { // the buyer rested on the book, so the seller took liquidity
		side = ctc.Sell
	}
	*t = ctc.Trade{
		EventID:     ctc.NewEventIDInt(exchange, symbol, aggID),
		Exchange:    exchange,
		Symbol:      symbol,
		Price:       price,
		Quantity:    qty,
		QuoteVolume: quote,
		Side:        side,
		Timestamp:   when,
	}
	return nil
}

const csvHeader = "agg_id,price,qty,first_id,last_id,timestamp,is_buyer_maker,is_best_match"

func parseBool(b []byte) (v, ok bool) {
	switch string(b) {
	case "true", "True", "TRUE":
		return true, true
	case "false", "False", "FALSE":
		return false, true
	}
	return false, false
}

// parseInt parses a non-negative decimal int64 made of digits only: no sign, no spaces.
func parseInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	if v > math.MaxInt64 {
		return 0, false
	}
	return int64(v), true
}

// parseDecimal parses an unsigned decimal: digits with an optional fraction and an optional
// exponent, nothing else (no sign, inf, nan, hex or underscores, which strconv would accept),
// with ctc's one float parser (internal/jsonscan, shared with the exchange decoders): exact, and
// without allocating. An overflow is +Inf and an underflow 0, as strconv rounds them; validation
// rejects both later.
func parseDecimal(b []byte) (float64, bool) {
	if len(b) > 0 && (b[0] == '+' || b[0] == '-') {
		return 0, false
	}
	return jsonscan.Decimal(b)
}
