package iceberg_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	sqlcat "github.com/apache/iceberg-go/catalog/sql"
	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"

	"github.com/coattailcapital/ctc"
	icesink "github.com/coattailcapital/ctc/sink/iceberg"
)

// Everything in these helpers reads the warehouse with iceberg-go alone — a SQL catalog of its
// own on catalog.db, scans, arrow arrays — never through the sink, so that the tests check what
// any Iceberg reader sees.

func openSink(t testing.TB, dir string) *icesink.Sink {
	t.Helper()
	s, err := icesink.Open(t.Context(), icesink.Config{Dir: dir})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(t.Context()); err != nil && !errors.Is(err, icesink.ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// freshCatalog opens the local warehouse's catalog the way the iceberg CLI does: through
// iceberg-go's catalog registry, with a database/sql driver and dialect.
func freshCatalog(t testing.TB, dir string) catalog.Catalog {
	t.Helper()
	cat, err := catalog.Load(t.Context(), "default", iceberg.Properties{
		"type":                string(catalog.SQL),
		"uri":                 "file:" + filepath.Join(dir, "catalog.db"),
		sqlcat.DriverKey:      "sqlite",
		sqlcat.DialectKey:     string(sqlcat.SQLite),
		"init_catalog_tables": "false",
	})
	if err != nil {
		t.Fatalf("load SQL catalog: %v", err)
	}
	t.Cleanup(func() {
		if c, ok := cat.(catalog.Closer); ok {
			_ = c.Close()
		}
	})
	return cat
}

func loadTable(t testing.TB, cat catalog.Catalog, name string) *table.Table {
	t.Helper()
	tbl, err := cat.LoadTable(t.Context(), catalog.ToIdentifier(icesink.DefaultNamespace, name))
	if err != nil {
		t.Fatalf("LoadTable %s: %v", name, err)
	}
	return tbl
}

// row is one table row: column name → string, float64, int64, time.Time (UTC) or nil (null).
type row map[string]any

// scanRows reads every row of tbl with iceberg-go's scan.
func scanRows(t testing.TB, tbl *table.Table, opts ...table.ScanOption) []row {
	t.Helper()
	at, err := tbl.Scan(opts...).ToArrowTable(t.Context())
	if err != nil {
		t.Fatalf("scan %s: %v", tbl.Identifier(), err)
	}
	defer at.Release()
	return tableRows(t, at)
}

func tableRows(t testing.TB, at arrow.Table) []row {
	t.Helper()
	var rows []row
	tr := array.NewTableReader(at, 0)
	defer tr.Release()
	for tr.Next() {
		rec := tr.RecordBatch()
		for i := range int(rec.NumRows()) {
			r := row{}
			for j, f := range rec.Schema().Fields() {
				r[f.Name] = value(t, f.Name, rec.Column(j), i)
			}
			rows = append(rows, r)
		}
	}
	return sortRows(rows)
}

func value(t testing.TB, name string, a arrow.Array, i int) any {
	if a.IsNull(i) {
		return nil
	}
	switch a := a.(type) {
	case *array.String:
		return a.Value(i)
	case *array.LargeString:
		return a.Value(i)
	case *array.Float64:
		return a.Value(i)
	case *array.Int64:
		return a.Value(i)
	case *array.Timestamp:
		typ := a.DataType().(*arrow.TimestampType)
		if typ.TimeZone != "UTC" {
			t.Fatalf("column %s: %s, want a UTC timestamp (timestamptz)", name, typ)
		}
		if typ.Unit != arrow.Microsecond {
			t.Fatalf("column %s: %s, want microseconds", name, typ)
		}
		return time.UnixMicro(int64(a.Value(i))).UTC()
	}
	t.Fatalf("column %s: unexpected arrow type %s", name, a.DataType())
	return nil
}

func sortRows(rows []row) []row {
	slices.SortFunc(rows, func(a, b row) int {
		ka, kb := fmt.Sprint(map[string]any(a)), fmt.Sprint(map[string]any(b))
		switch {
		case ka < kb:
			return -1
		case ka > kb:
			return 1
		}
		return 0
	})
	return rows
}

// The rows a correct sink stores for each record, written out independently of the sink.

func optTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

func tradeRow(tr ctc.Trade) row {
	return row{
		"event_id": tr.EventID.String(), "exchange": tr.Exchange, "symbol": tr.Symbol, "price": tr.Price,
		"quantity": tr.Quantity, "quote_volume": tr.QuoteVolume, "side": tr.Side.String(),
		"timestamp": tr.Timestamp.UTC(), "ingestion_timestamp": optTime(tr.IngestionTimestamp),
	}
}

func alertRow(a ctc.Alert) row {
	return row{
		"alert_id": a.AlertID.String(), "alert_type": string(a.AlertType), "symbol": a.Symbol, "exchange": a.Exchange,
		"severity": a.Severity.String(), "z_score": a.ZScore, "threshold_value": a.ThresholdValue,
		"actual_value": a.ActualValue, "window_start": a.WindowStart.UTC(), "detected_at": a.DetectedAt.UTC(),
		"message": a.Message, "ttl_epoch": a.TTLEpoch, "emitted_at": optTime(a.EmittedAt),
	}
}

func volumeRow(v ctc.VolumeWindow) row {
	return row{
		"symbol": v.Symbol, "exchange": v.Exchange, "window_start": v.WindowStart.UTC(), "window_end": v.WindowEnd.UTC(),
		"trade_count": v.TradeCount, "total_volume": v.TotalVolume, "avg_price": v.AvgPrice,
		"max_price": v.MaxPrice, "min_price": v.MinPrice, "buy_volume": v.BuyVolume, "sell_volume": v.SellVolume,
	}
}

func whaleRow(w ctc.WhaleTrade) row {
	r := tradeRow(w.Trade)
	r["alert_id"], r["severity"], r["threshold_value"], r["detected_at"] =
		w.AlertID.String(), w.Severity.String(), w.ThresholdValue, w.DetectedAt.UTC()
	return r
}

func spreadRow(s ctc.SpreadWindow) row {
	return row{
		"symbol": s.Symbol, "window_start": s.WindowStart.UTC(), "window_end": s.WindowEnd.UTC(),
		"binance_vwap": s.BinanceVWAP, "coinbase_vwap": s.CoinbaseVWAP, "spread_pct": s.SpreadPct,
	}
}

func mapRows[T any](recs []T, f func(T) row) []row {
	rows := make([]row, 0, len(recs))
	for _, r := range recs {
		rows = append(rows, f(r))
	}
	return sortRows(rows)
}

// wantRows returns the rows of every table a correct sink stores for b, by table name.
func wantRows(b *ctc.Batch) map[string][]row {
	return map[string][]row{
		icesink.RawTrades:        mapRows(b.Trades, tradeRow),
		icesink.AnomalyAlerts:    mapRows(b.Output.Alerts, alertRow),
		icesink.VolumeAggregates: mapRows(b.Output.Volumes, volumeRow),
		icesink.WhaleTrades:      mapRows(b.Output.Whales, whaleRow),
		icesink.ExchangeSpreads:  mapRows(b.Output.Spreads, spreadRow),
	}
}

// The reverse, for the conformance suite's read function: rows back into records.

func str(r row, k string) string { s, _ := r[k].(string); return s }
func f64(r row, k string) float64 {
	v, _ := r[k].(float64)
	return v
}
func tm(r row, k string) time.Time { v, _ := r[k].(time.Time); return v }

func rowTrade(r row) ctc.Trade {
	side, _ := ctc.ParseSide(str(r, "side"))
	return ctc.Trade{
		EventID: uuid.MustParse(str(r, "event_id")), Exchange: str(r, "exchange"), Symbol: str(r, "symbol"),
		Price: f64(r, "price"), Quantity: f64(r, "quantity"), QuoteVolume: f64(r, "quote_volume"), Side: side,
		Timestamp: tm(r, "timestamp"), IngestionTimestamp: tm(r, "ingestion_timestamp"),
	}
}

func rowAlert(r row) ctc.Alert {
	sev, _ := ctc.ParseSeverity(str(r, "severity"))
	return ctc.Alert{
		AlertID: uuid.MustParse(str(r, "alert_id")), AlertType: ctc.AlertType(str(r, "alert_type")),
		Symbol: str(r, "symbol"), Exchange: str(r, "exchange"), Severity: sev, ZScore: f64(r, "z_score"),
		ThresholdValue: f64(r, "threshold_value"), ActualValue: f64(r, "actual_value"),
		WindowStart: tm(r, "window_start"), DetectedAt: tm(r, "detected_at"), Message: str(r, "message"),
		TTLEpoch: r["ttl_epoch"].(int64), EmittedAt: tm(r, "emitted_at"),
	}
}

// readBatch reads every table of the warehouse in dir into one batch, with a catalog of its own.
func readBatch(t testing.TB, dir string) *ctc.Batch {
	t.Helper()
	cat := freshCatalog(t, dir)
	b := &ctc.Batch{}
	for _, r := range scanRows(t, loadTable(t, cat, icesink.RawTrades)) {
		b.Trades = append(b.Trades, rowTrade(r))
	}
	for _, r := range scanRows(t, loadTable(t, cat, icesink.AnomalyAlerts)) {
		b.Output.Alerts = append(b.Output.Alerts, rowAlert(r))
	}
	for _, r := range scanRows(t, loadTable(t, cat, icesink.VolumeAggregates)) {
		b.Output.Volumes = append(b.Output.Volumes, ctc.VolumeWindow{
			Symbol: str(r, "symbol"), Exchange: str(r, "exchange"), WindowStart: tm(r, "window_start"),
			WindowEnd: tm(r, "window_end"), TradeCount: r["trade_count"].(int64), TotalVolume: f64(r, "total_volume"),
			AvgPrice: f64(r, "avg_price"), MaxPrice: f64(r, "max_price"), MinPrice: f64(r, "min_price"),
			BuyVolume: f64(r, "buy_volume"), SellVolume: f64(r, "sell_volume"),
		})
	}
	for _, r := range scanRows(t, loadTable(t, cat, icesink.WhaleTrades)) {
		sev, _ := ctc.ParseSeverity(str(r, "severity"))
		b.Output.Whales = append(b.Output.Whales, ctc.WhaleTrade{
			AlertID: uuid.MustParse(str(r, "alert_id")), Severity: sev, ThresholdValue: f64(r, "threshold_value"),
			DetectedAt: tm(r, "detected_at"), Trade: rowTrade(r),
		})
	}
	for _, r := range scanRows(t, loadTable(t, cat, icesink.ExchangeSpreads)) {
		b.Output.Spreads = append(b.Output.Spreads, ctc.SpreadWindow{
			Symbol: str(r, "symbol"), WindowStart: tm(r, "window_start"), WindowEnd: tm(r, "window_end"),
			BinanceVWAP: f64(r, "binance_vwap"), CoinbaseVWAP: f64(r, "coinbase_vwap"), SpreadPct: f64(r, "spread_pct"),
		})
	}
	return b
}

// A small deterministic market: four instruments on two exchanges, starting two minutes before
// midnight so that every table gets rows in two day partitions.

var epoch = time.Date(2024, 3, 12, 23, 58, 0, 0, time.UTC)

var instruments = []struct {
	exchange, symbol string
	price            float64
}{
	{ctc.Binance, "BTC-USDT", 67_250}, {ctc.Coinbase, "BTC-USD", 67_262.5},
	{ctc.Binance, "ETH-USDT", 3_480.25}, {ctc.Coinbase, "ETH-USD", 3_480.5},
}

// genTrades returns n trades numbered from first, 250 ms apart, at millisecond times.
func genTrades(first, n int) []ctc.Trade {
	r := rand.New(rand.NewPCG(uint64(first), 7))
	trades := make([]ctc.Trade, n)
	for i := range trades {
		k := first + i
		in := instruments[r.IntN(len(instruments))]
		price := float64(int64(in.price*(1+r.NormFloat64()/1000)*100)) / 100
		qty := float64(1+r.IntN(500_000)) / 100_000
		ts := epoch.Add(time.Duration(k) * 250 * time.Millisecond).Add(time.Duration(r.IntN(250)) * time.Millisecond)
		tr := ctc.Trade{
			EventID: ctc.NewEventIDInt(in.exchange, in.symbol, int64(k)), Exchange: in.exchange, Symbol: in.symbol,
			Price: price, Quantity: qty, QuoteVolume: price * qty, Side: ctc.Side(1 + r.IntN(2)), Timestamp: ts,
		}
		if k%3 != 0 {
			tr.IngestionTimestamp = ts.Add(time.Duration(3+r.IntN(400)) * time.Millisecond)
		}
		trades[i] = tr
	}
	return trades
}

// genBatch returns a batch with n trades from first and one record of every other kind per ten
// trades, derived from them.
func genBatch(first, n int) *ctc.Batch {
	b := &ctc.Batch{Trades: genTrades(first, n), Position: ctc.Position{Partition: "replay.ndjson", Offset: int64(first + n - 1)}}
	for i := 0; i < n; i += 10 {
		tr := b.Trades[i]
		start := tr.Timestamp.Truncate(time.Minute)
		end := start.Add(time.Minute)
		a := ctc.Alert{
			AlertID:   ctc.NewAlertID(ctc.VolumeSpike, tr.Exchange, tr.Symbol, fmt.Sprint(ctc.WindowKey(start), first+i)),
			AlertType: ctc.VolumeSpike,
			Symbol:    tr.Symbol, Exchange: tr.Exchange, Severity: ctc.Severity(1 + i/10%4), ZScore: 2.5 + float64(i)/100,
			ThresholdValue: 2.5, ActualValue: tr.QuoteVolume * 40, WindowStart: start, DetectedAt: end,
			Message:  fmt.Sprintf("volume %.1fσ above the 1 h mean — \"%s\"", 2.5+float64(i)/100, tr.Symbol),
			TTLEpoch: end.Add(ctc.AlertTTL).Unix(),
		}
		if i%20 == 0 {
			a.EmittedAt = end.Add(1500 * time.Millisecond)
		}
		b.Output.Alerts = append(b.Output.Alerts, a)
		b.Output.Volumes = append(b.Output.Volumes, ctc.VolumeWindow{
			Symbol: tr.Symbol, Exchange: tr.Exchange, WindowStart: start, WindowEnd: end, TradeCount: int64(10 + i),
			TotalVolume: tr.QuoteVolume * 10, AvgPrice: tr.Price, MaxPrice: tr.Price * 1.001, MinPrice: tr.Price * 0.999,
			BuyVolume: tr.QuoteVolume * 4, SellVolume: tr.QuoteVolume * 6,
		})
		wt := tr
		wt.Quantity *= 100
		wt.QuoteVolume = wt.Price * wt.Quantity
		b.Output.Whales = append(b.Output.Whales, ctc.WhaleTrade{
			AlertID:  ctc.NewAlertID(ctc.Whale, wt.Exchange, wt.Symbol, wt.EventID.String()),
			Severity: ctc.Medium, ThresholdValue: 100_000, DetectedAt: wt.Timestamp, Trade: wt,
		})
		sstart := tr.Timestamp.Truncate(30 * time.Second)
		bin, cb := tr.Price, tr.Price*(1+float64(i%7)/1000)
		b.Output.Spreads = append(b.Output.Spreads, ctc.SpreadWindow{
			Symbol: tr.Symbol[:3], WindowStart: sstart, WindowEnd: sstart.Add(30 * time.Second),
			BinanceVWAP: bin, CoinbaseVWAP: cb, SpreadPct: (bin - cb) / cb * 100,
		})
	}
	return b
}

// appendBatch appends a copy of b's records to all.
func appendBatch(all, b *ctc.Batch) {
	all.Trades = append(all.Trades, b.Trades...)
	all.Output.Append(&b.Output)
}
