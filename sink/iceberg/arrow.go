package iceberg

import (
	"fmt"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/google/uuid"

	"github.com/coattailcapital/ctc"
)

// Writing: each table buffers its rows in an arrow RecordBuilder, whose column builders are
// looked up once by name. The builders are reused from commit to commit.

// builders finds a record builder's column builders by column name.
type builders struct {
	rb  *array.RecordBuilder
	idx map[string]int
}

func newBuilders(rb *array.RecordBuilder) builders {
	idx := make(map[string]int, len(rb.Schema().Fields()))
	for i, f := range rb.Schema().Fields() {
		idx[f.Name] = i
	}
	return builders{rb, idx}
}

func (b builders) field(name string) array.Builder {
	i, ok := b.idx[name]
	if !ok {
		// The arrow schema is built from the same column list; a miss is a bug in this package.
		panic("iceberg: no column " + name)
	}
	return b.rb.Field(i)
}

func (b builders) str(name string) *array.StringBuilder {
	return b.field(name).(*array.StringBuilder)
}
func (b builders) f64(name string) *array.Float64Builder {
	return b.field(name).(*array.Float64Builder)
}
func (b builders) i64(name string) *array.Int64Builder { return b.field(name).(*array.Int64Builder) }
func (b builders) ts(name string) *array.TimestampBuilder {
	return b.field(name).(*array.TimestampBuilder)
}

func micros(t time.Time) arrow.Timestamp { return arrow.Timestamp(t.UnixMicro()) }

// appendOptTime appends t, or null for the zero time (unknown).
func appendOptTime(b *array.TimestampBuilder, t time.Time) {
	if t.IsZero() {
		b.AppendNull()
		return
	}
	b.Append(micros(t))
}

// appendUUID appends u's canonical text without allocating a string.
func appendUUID(b *array.StringBuilder, u *uuid.UUID) {
	const hexdigits = "0123456789abcdef"
	var s [36]byte
	j := 0
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			s[j] = '-'
			j++
		}
		s[j], s[j+1] = hexdigits[c>>4], hexdigits[c&0xf]
		j += 2
	}
	b.BinaryBuilder.Append(s[:])
}

type tradeCols struct {
	eventID, exchange, symbol, side *array.StringBuilder
	price, quantity, quoteVolume    *array.Float64Builder
	timestamp, ingestion            *array.TimestampBuilder
}

func newTradeCols(b builders) tradeCols {
	return tradeCols{
		eventID: b.str("event_id"), exchange: b.str("exchange"), symbol: b.str("symbol"), side: b.str("side"),
		price: b.f64("price"), quantity: b.f64("quantity"), quoteVolume: b.f64("quote_volume"),
		timestamp: b.ts("timestamp"), ingestion: b.ts("ingestion_timestamp"),
	}
}

func (c *tradeCols) reserve(n int) {
	for _, s := range []*array.StringBuilder{c.eventID, c.exchange, c.symbol, c.side} {
		s.Reserve(n)
	}
	c.eventID.ReserveData(36 * n)
	for _, f := range []*array.Float64Builder{c.price, c.quantity, c.quoteVolume} {
		f.Reserve(n)
	}
	c.timestamp.Reserve(n)
	c.ingestion.Reserve(n)
}

func (c *tradeCols) append(t *ctc.Trade) {
	appendUUID(c.eventID, &t.EventID)
	c.exchange.Append(t.Exchange)
	c.symbol.Append(t.Symbol)
	c.price.Append(t.Price)
	c.quantity.Append(t.Quantity)
	c.quoteVolume.Append(t.QuoteVolume)
	c.side.Append(t.Side.String())
	c.timestamp.Append(micros(t.Timestamp))
	appendOptTime(c.ingestion, t.IngestionTimestamp)
}

type alertCols struct {
	alertID, alertType, symbol, exchange, severity, message *array.StringBuilder
	zScore, threshold, actual                               *array.Float64Builder
	windowStart, detectedAt, emittedAt                      *array.TimestampBuilder
	ttl                                                     *array.Int64Builder
	runID                                                   *array.StringBuilder // anomalies_reprocessed only
}

func newAlertCols(b builders, withRunID bool) alertCols {
	c := alertCols{
		alertID: b.str("alert_id"), alertType: b.str("alert_type"), symbol: b.str("symbol"),
		exchange: b.str("exchange"), severity: b.str("severity"), message: b.str("message"),
		zScore: b.f64("z_score"), threshold: b.f64("threshold_value"), actual: b.f64("actual_value"),
		windowStart: b.ts("window_start"), detectedAt: b.ts("detected_at"), emittedAt: b.ts("emitted_at"),
		ttl: b.i64("ttl_epoch"),
	}
	if withRunID {
		c.runID = b.str("run_id")
	}
	return c
}

func (c *alertCols) append(a *ctc.Alert, runID string) {
	appendUUID(c.alertID, &a.AlertID)
	c.alertType.Append(string(a.AlertType))
	c.symbol.Append(a.Symbol)
	c.exchange.Append(a.Exchange)
	c.severity.Append(a.Severity.String())
	c.zScore.Append(a.ZScore)
	c.threshold.Append(a.ThresholdValue)
	c.actual.Append(a.ActualValue)
	c.windowStart.Append(micros(a.WindowStart))
	c.detectedAt.Append(micros(a.DetectedAt))
	c.message.Append(a.Message)
	c.ttl.Append(a.TTLEpoch)
	appendOptTime(c.emittedAt, a.EmittedAt)
	if c.runID != nil {
		c.runID.Append(runID)
	}
}

type volumeCols struct {
	symbol, exchange                                *array.StringBuilder
	start, end                                      *array.TimestampBuilder
	count                                           *array.Int64Builder
	total, avg, maxPrice, minPrice, buyVol, sellVol *array.Float64Builder
}

func newVolumeCols(b builders) volumeCols {
	return volumeCols{
		symbol: b.str("symbol"), exchange: b.str("exchange"), start: b.ts("window_start"), end: b.ts("window_end"),
		count: b.i64("trade_count"), total: b.f64("total_volume"), avg: b.f64("avg_price"),
		maxPrice: b.f64("max_price"), minPrice: b.f64("min_price"), buyVol: b.f64("buy_volume"), sellVol: b.f64("sell_volume"),
	}
}

func (c *volumeCols) append(v *ctc.VolumeWindow) {
	c.symbol.Append(v.Symbol)
	c.exchange.Append(v.Exchange)
	c.start.Append(micros(v.WindowStart))
	c.end.Append(micros(v.WindowEnd))
	c.count.Append(v.TradeCount)
	c.total.Append(v.TotalVolume)
	c.avg.Append(v.AvgPrice)
	c.maxPrice.Append(v.MaxPrice)
	c.minPrice.Append(v.MinPrice)
	c.buyVol.Append(v.BuyVolume)
	c.sellVol.Append(v.SellVolume)
}

type spreadCols struct {
	symbol                 *array.StringBuilder
	start, end             *array.TimestampBuilder
	binance, coinbase, pct *array.Float64Builder
}

func newSpreadCols(b builders) spreadCols {
	return spreadCols{
		symbol: b.str("symbol"), start: b.ts("window_start"), end: b.ts("window_end"),
		binance: b.f64("binance_vwap"), coinbase: b.f64("coinbase_vwap"), pct: b.f64("spread_pct"),
	}
}

func (c *spreadCols) append(s *ctc.SpreadWindow) {
	c.symbol.Append(s.Symbol)
	c.start.Append(micros(s.WindowStart))
	c.end.Append(micros(s.WindowEnd))
	c.binance.Append(s.BinanceVWAP)
	c.coinbase.Append(s.CoinbaseVWAP)
	c.pct.Append(s.SpreadPct)
}

type whaleCols struct {
	alertID, severity *array.StringBuilder
	threshold         *array.Float64Builder
	detectedAt        *array.TimestampBuilder
	trade             tradeCols
}

func newWhaleCols(b builders) whaleCols {
	return whaleCols{
		alertID: b.str("alert_id"), severity: b.str("severity"), threshold: b.f64("threshold_value"),
		detectedAt: b.ts("detected_at"), trade: newTradeCols(b),
	}
}

func (c *whaleCols) append(w *ctc.WhaleTrade) {
	appendUUID(c.alertID, &w.AlertID)
	c.severity.Append(w.Severity.String())
	c.threshold.Append(w.ThresholdValue)
	c.detectedAt.Append(micros(w.DetectedAt))
	c.trade.append(&w.Trade)
}

// Reading: a record batch's columns, found by name, decoded into ctc records.

type stringArray interface {
	IsNull(int) bool
	Value(int) string
}

type columns struct {
	rec arrow.RecordBatch
	err error
	// intern holds one copy of each short, repetitive string (symbols, exchanges, sides, types), so
	// that decoding a million trades does not allocate a million "BTC-USDT"s — and so that no
	// decoded string points into arrow memory.
	intern map[string]string
}

func (c *columns) col(name string) arrow.Array {
	idx := c.rec.Schema().FieldIndices(name)
	if len(idx) == 0 {
		if c.err == nil {
			c.err = fmt.Errorf("column %s missing from the scan", name)
		}
		return nil
	}
	return c.rec.Column(idx[0])
}

// str reads a string column; interned strings are shared, others are copied out of arrow memory.
func (c *columns) str(name string, intern bool) func(i int) string {
	a, ok := c.col(name).(stringArray)
	if !ok {
		c.fail(name, "string")
		return func(int) string { return "" }
	}
	if !intern {
		return func(i int) string { return strings.Clone(a.Value(i)) }
	}
	return func(i int) string {
		v := a.Value(i)
		if s, ok := c.intern[v]; ok {
			return s
		}
		s := strings.Clone(v)
		c.intern[s] = s
		return s
	}
}

func (c *columns) fail(name, want string) {
	if c.err == nil {
		typ := "missing"
		if a := c.col(name); a != nil {
			typ = a.DataType().String()
		}
		c.err = fmt.Errorf("column %s: want %s, got %s", name, want, typ)
	}
}

func (c *columns) f64(name string) func(i int) float64 {
	a, ok := c.col(name).(*array.Float64)
	if !ok {
		c.fail(name, "double")
		return func(int) float64 { return 0 }
	}
	return a.Value
}

func (c *columns) i64(name string) func(i int) int64 {
	a, ok := c.col(name).(*array.Int64)
	if !ok {
		c.fail(name, "long")
		return func(int) int64 { return 0 }
	}
	return a.Value
}

// ts reads a timestamp column in UTC; null reads as the zero time.
func (c *columns) ts(name string) func(i int) time.Time {
	a, ok := c.col(name).(*array.Timestamp)
	if !ok {
		c.fail(name, "timestamp")
		return func(int) time.Time { return time.Time{} }
	}
	unit := a.DataType().(*arrow.TimestampType).Unit
	return func(i int) time.Time {
		if a.IsNull(i) {
			return time.Time{}
		}
		v := int64(a.Value(i))
		switch unit {
		case arrow.Second:
			return time.Unix(v, 0).UTC()
		case arrow.Millisecond:
			return time.UnixMilli(v).UTC()
		case arrow.Nanosecond:
			return time.Unix(0, v).UTC()
		}
		return time.UnixMicro(v).UTC()
	}
}

func (c *columns) uuid(name string) func(i int) uuid.UUID {
	s := c.str(name, false)
	return func(i int) uuid.UUID {
		u, err := uuid.Parse(s(i))
		if err != nil && c.err == nil {
			c.err = fmt.Errorf("column %s row %d: %w", name, i, err)
		}
		return u
	}
}

func parseSide(s string) ctc.Side {
	v, _ := ctc.ParseSide(s) // "unknown" (the zero Side, written as such) reads back as the zero Side
	return v
}

func parseSeverity(s string) ctc.Severity {
	v, _ := ctc.ParseSeverity(s) // likewise "none"
	return v
}

type tradeReader struct {
	eventID                      func(int) uuid.UUID
	exchange, symbol, side       func(int) string
	price, quantity, quoteVolume func(int) float64
	timestamp, ingestion         func(int) time.Time
}

func newTradeReader(c *columns) tradeReader {
	return tradeReader{
		eventID: c.uuid("event_id"), exchange: c.str("exchange", true), symbol: c.str("symbol", true),
		side: c.str("side", true), price: c.f64("price"), quantity: c.f64("quantity"),
		quoteVolume: c.f64("quote_volume"), timestamp: c.ts("timestamp"), ingestion: c.ts("ingestion_timestamp"),
	}
}

func (r *tradeReader) read(i int) ctc.Trade {
	return ctc.Trade{
		EventID: r.eventID(i), Exchange: r.exchange(i), Symbol: r.symbol(i), Price: r.price(i),
		Quantity: r.quantity(i), QuoteVolume: r.quoteVolume(i), Side: parseSide(r.side(i)),
		Timestamp: r.timestamp(i), IngestionTimestamp: r.ingestion(i),
	}
}

// decodeTrades appends the trades of rec to dst.
func decodeTrades(dst []ctc.Trade, rec arrow.RecordBatch, intern map[string]string) ([]ctc.Trade, error) {
	c := &columns{rec: rec, intern: intern}
	r := newTradeReader(c)
	if c.err != nil {
		return dst, c.err
	}
	for i := range int(rec.NumRows()) {
		dst = append(dst, r.read(i))
	}
	return dst, c.err
}

// decodeAlerts appends the alerts of rec to dst.
func decodeAlerts(dst []ctc.Alert, rec arrow.RecordBatch, intern map[string]string) ([]ctc.Alert, error) {
	c := &columns{rec: rec, intern: intern}
	id, typ, sym, exch, sev, msg := c.uuid("alert_id"), c.str("alert_type", true), c.str("symbol", true),
		c.str("exchange", true), c.str("severity", true), c.str("message", false)
	z, thr, act := c.f64("z_score"), c.f64("threshold_value"), c.f64("actual_value")
	ws, det, emit := c.ts("window_start"), c.ts("detected_at"), c.ts("emitted_at")
	ttl := c.i64("ttl_epoch")
	if c.err != nil {
		return dst, c.err
	}
	for i := range int(rec.NumRows()) {
		dst = append(dst, ctc.Alert{
			AlertID: id(i), AlertType: ctc.AlertType(typ(i)), Symbol: sym(i), Exchange: exch(i),
			Severity: parseSeverity(sev(i)), ZScore: z(i), ThresholdValue: thr(i), ActualValue: act(i),
			WindowStart: ws(i), DetectedAt: det(i), Message: msg(i), TTLEpoch: ttl(i), EmittedAt: emit(i),
		})
	}
	return dst, c.err
}
