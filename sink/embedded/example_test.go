package embedded_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/sink/embedded"
)

func Example() {
	dir, err := os.MkdirTemp("", "ctc-hot")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "alerts.db")
	ctx := context.Background()

	// A fixed clock keeps the example's output stable; a live store reads time.Now.
	now := time.Date(2024, 3, 12, 15, 0, 0, 0, time.UTC)
	clock := embedded.WithClock(func() time.Time { return now })
	s, err := embedded.Open(path, clock)
	if err != nil {
		log.Fatal(err)
	}

	whaleAt := now.Add(-90 * time.Second)
	spikeEnd := now.Add(-time.Minute)
	b := &ctc.Batch{Output: ctc.Output{
		Alerts: []ctc.Alert{{
			AlertID:   ctc.NewAlertID(ctc.Whale, ctc.Binance, "BTC-USDT", "trade-3001234567"),
			AlertType: ctc.Whale, Symbol: "BTC-USDT", Exchange: ctc.Binance, Severity: ctc.Critical,
			ThresholdValue: 1_000_000, ActualValue: 1_250_000, WindowStart: whaleAt, DetectedAt: whaleAt,
			Message: "BTC-USDT on binance: $1.25M buy of 18.6 🐋", TTLEpoch: whaleAt.Add(ctc.AlertTTL).Unix(),
		}, {
			AlertID:   ctc.NewAlertID(ctc.VolumeSpike, ctc.Binance, "ETH-USDT", ctc.WindowKey(spikeEnd.Add(-time.Minute))),
			AlertType: ctc.VolumeSpike, Symbol: "ETH-USDT", Exchange: ctc.Binance, Severity: ctc.High, ZScore: 4.2,
			ThresholdValue: 3.5, ActualValue: 2_400_000, WindowStart: spikeEnd.Add(-time.Minute), DetectedAt: spikeEnd,
			Message: "ETH-USDT volume 4.2σ above the 1 h mean", TTLEpoch: spikeEnd.Add(ctc.AlertTTL).Unix(),
		}},
		Volumes: []ctc.VolumeWindow{{
			Symbol: "ETH-USDT", Exchange: ctc.Binance, WindowStart: spikeEnd.Add(-time.Minute), WindowEnd: spikeEnd,
			TradeCount: 1843, TotalVolume: 2_400_000, AvgPrice: 3481.2, MaxPrice: 3490, MinPrice: 3470,
			BuyVolume: 1_500_000, SellVolume: 900_000,
		}},
	}}
	if err := s.Write(ctx, b); err != nil {
		log.Fatal(err)
	}
	// A replay after a restart writes the same alerts again: they are stored once.
	if err := s.Write(ctx, b); err != nil {
		log.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil { // durable from here on
		log.Fatal(err)
	}

	latest, _ := s.QueryAlerts(ctx, ctc.AlertQuery{Limit: 50})
	for _, a := range latest {
		fmt.Printf("%s %-8s %-12s %s: %s\n", a.DetectedAt.Format(time.TimeOnly), a.Severity, a.AlertType, a.Symbol, a.Message)
	}
	whales, _ := s.QueryAlerts(ctx, ctc.AlertQuery{Type: ctc.Whale, Since: now.Add(-time.Hour), Limit: 50})
	fmt.Println("whales in the last hour:", len(whales))
	volumes, _ := s.Volumes(ctx, "ETH-USDT", now.Add(-time.Hour))
	fmt.Printf("ETH-USDT windows: %d, last $%.1fM over %d trades\n", len(volumes), volumes[0].TotalVolume/1e6, volumes[0].TradeCount)
	symbols, _ := s.Symbols(ctx)
	fmt.Println("symbols:", symbols)
	if err := s.Close(ctx); err != nil {
		log.Fatal(err)
	}

	// Everything survives a restart.
	s, err = embedded.Open(path, clock)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close(ctx)
	again, _ := s.QueryAlerts(ctx, ctc.AlertQuery{Symbol: "BTC-USDT", Limit: 50})
	fmt.Println("after reopening:", len(again), "BTC-USDT alert")
	// Output:
	// 14:59:00 high     volume_spike ETH-USDT: ETH-USDT volume 4.2σ above the 1 h mean
	// 14:58:30 critical whale        BTC-USDT: BTC-USDT on binance: $1.25M buy of 18.6 🐋
	// whales in the last hour: 1
	// ETH-USDT windows: 1, last $2.4M over 1843 trades
	// symbols: [BTC-USDT ETH-USDT]
	// after reopening: 1 BTC-USDT alert
}

// The store is an SQLite database: anything that reads SQLite reads it, here database/sql with
// the driver the package uses (the sqlite3 shell does as well), while the Store has it open.
func Example_sqlite() {
	dir, err := os.MkdirTemp("", "ctc-hot")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "alerts.db")
	ctx := context.Background()
	s, err := embedded.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close(ctx)
	now := time.Now()
	var alerts []ctc.Alert
	for i, sym := range []string{"BTC-USDT", "ETH-USDT", "BTC-USDT"} {
		at := now.Add(-time.Duration(i) * time.Minute)
		alerts = append(alerts, ctc.Alert{
			AlertID: ctc.NewAlertID(ctc.Whale, ctc.Binance, sym, fmt.Sprint("trade-", i)), AlertType: ctc.Whale, Symbol: sym,
			Exchange: ctc.Binance, Severity: ctc.High, WindowStart: at, DetectedAt: at, TTLEpoch: at.Add(ctc.AlertTTL).Unix(),
		})
	}
	if err := s.Write(ctx, &ctc.Batch{Output: ctc.Output{Alerts: alerts}}); err != nil {
		log.Fatal(err)
	}

	db, err := sql.Open("sqlite", path) // registered by modernc.org/sqlite, which the package imports
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT symbol, count(*) FROM alerts WHERE ttl_epoch > unixepoch() GROUP BY symbol ORDER BY symbol`)
	if err != nil {
		log.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var symbol string
		var n int
		if err := rows.Scan(&symbol, &n); err != nil {
			log.Fatal(err)
		}
		fmt.Println(symbol, n)
	}
	// Output:
	// BTC-USDT 2
	// ETH-USDT 1
}
