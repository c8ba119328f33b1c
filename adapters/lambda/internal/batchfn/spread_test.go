package batchfn

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/sink/iceberg"
	"github.com/coattailcapital/ctc/source/binance/binancetest"
	"github.com/coattailcapital/ctc/source/coinbase/coinbasetest"
)

// The batch workflow's historical_load loads a day from both exchanges' REST histories (local
// servers speaking their protocols), so the reprocessed day has both legs of the instrument and
// its spread alerts; loaded from Binance alone, as before, the same day has none.
func TestReprocessedDayHasSpreadAlerts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bsrv := binancetest.New(t)
	btc := bsrv.Skip("BTCUSDT", 1500) // ≈ 100.5 each, 7 ms apart, at the wall clock's time
	first, last := time.UnixMilli(btc[0].Time).UTC(), time.UnixMilli(btc[len(btc)-1].Time).UTC()
	dayStart := first.Truncate(24 * time.Hour)
	if !last.Truncate(24 * time.Hour).Equal(dayStart) {
		t.Skip("the scripted trades straddle midnight UTC; run again")
	}
	day := dayStart.Format(time.DateOnly)

	// Coinbase: the evening before the day, the same seconds as Binance's trades at 99.00
	// (a spread of about +1.5 %), and the next day.
	cb := coinbasetest.New()
	defer cb.Close()
	var trades []coinbasetest.Trade
	add := func(n int, from time.Time, step time.Duration, price string) {
		for i := range n {
			trades = append(trades, coinbasetest.Trade{ID: int64(8_000_000 + len(trades)), Price: price, Size: "0.5",
				Side: []string{"buy", "sell"}[i%2], Time: from.Add(time.Duration(i) * step)})
		}
	}
	add(600, dayStart.Add(-10*time.Minute), time.Second, "98.00")
	add(400, first, last.Sub(first)/400, "99.00")
	add(300, dayStart.Add(24*time.Hour), time.Second, "97.00")
	if err := cb.Load("BTC-USD", trades...); err != nil {
		t.Fatal(err)
	}
	inDay := 400

	for _, c := range []struct {
		exchanges string
		spread    bool
	}{{``, true}, {`,"exchanges":["binance"]`, false}} {
		dir := t.TempDir()
		h, err := New(Config{Lake: func(ctx context.Context) (*iceberg.Sink, error) { return iceberg.Open(ctx, iceberg.Config{Dir: dir}) },
			Binance: bsrv.URL, Coinbase: cb.RESTURL, CoinbaseRate: 1000, Now: func() time.Time { return dayStart.Add(30 * time.Hour) }})
		if err != nil {
			t.Fatal(err)
		}
		raw, err := h.Handle(ctx, []byte(fmt.Sprintf(`{"task":"historical_load","symbols":["BTCUSDT"],"day":%q%s}`, day, c.exchanges)))
		if err != nil {
			t.Fatal(err)
		}
		var load LoadResult
		if err := json.Unmarshal(raw, &load); err != nil {
			t.Fatal(err)
		}
		wantCB := int64(0)
		if c.spread {
			wantCB = int64(inDay)
		}
		if load.Exchanges[ctc.Binance] != int64(len(btc)) || load.Exchanges[ctc.Coinbase] != wantCB || load.Symbols["BTC-USD"] != wantCB {
			t.Fatalf("%s: historical_load %s", c.exchanges, raw)
		}
		raw, err = h.Handle(ctx, []byte(fmt.Sprintf(`{"task":"reprocess","day":%q,"snapshot_id":%d}`, day, load.SnapshotID)))
		if err != nil {
			t.Fatal(err)
		}
		var res Result
		if err := json.Unmarshal(raw, &res); err != nil {
			t.Fatal(err)
		}
		if got := res.Reprocessed[ctc.Spread] > 0; got != c.spread || res.Trades != int64(len(btc))+wantCB {
			t.Fatalf("%s: reprocess %s", c.exchanges, raw)
		}
		t.Logf("exchanges %q: loaded %v; reprocessed %d trades, alerts %v", c.exchanges, load.Exchanges, res.Trades, res.Reprocessed)
	}
}
