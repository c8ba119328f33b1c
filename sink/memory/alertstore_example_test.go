package memory_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/sink/memory"
)

func ExampleAlertStore() {
	ctx := context.Background()
	now := time.Date(2024, 3, 12, 15, 0, 0, 0, time.UTC)
	s := memory.NewAlertStore(func() time.Time { return now })

	var alerts []ctc.Alert
	for i, sym := range []string{"BTC-USDT", "ETH-USDT", "BTC-USDT"} {
		at := now.Add(-time.Duration(3-i) * time.Minute)
		alerts = append(alerts, ctc.Alert{
			AlertID:   ctc.NewAlertID(ctc.Whale, ctc.Binance, sym, fmt.Sprint("trade-", i)),
			AlertType: ctc.Whale, Symbol: sym, Exchange: ctc.Binance, Severity: ctc.High,
			ActualValue: 600_000 + float64(i)*1000, DetectedAt: at, TTLEpoch: at.Add(ctc.AlertTTL).Unix(),
		})
	}
	if err := s.Write(ctx, &ctc.Batch{Output: ctc.Output{Alerts: alerts}}); err != nil {
		fmt.Println(err)
	}
	got, _ := s.QueryAlerts(ctx, ctc.AlertQuery{Symbol: "BTC-USDT", Limit: 50})
	for _, a := range got {
		fmt.Println(a.DetectedAt.Format(time.TimeOnly), a.Symbol, a.ActualValue)
	}
	_, err := s.QueryAlerts(ctx, ctc.AlertQuery{Limit: 0})
	fmt.Println(err)

	// A test of an API server can make the store fail.
	s.FailQueries(1, errors.New("store unavailable"))
	_, err = s.QueryAlerts(ctx, ctc.AlertQuery{Limit: 50})
	fmt.Println(err)

	// A day later every alert has expired.
	now = now.Add(ctc.AlertTTL)
	got, _ = s.QueryAlerts(ctx, ctc.AlertQuery{Limit: 50})
	fmt.Println(len(got), "alerts")
	// Output:
	// 14:59:00 BTC-USDT 602000
	// 14:57:00 BTC-USDT 600000
	// memory: limit must be >= 1, got 0
	// store unavailable
	// 0 alerts
}
