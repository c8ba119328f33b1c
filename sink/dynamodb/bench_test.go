package dynamodb_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/sink/dynamodb"
)

// BenchmarkWrite writes batches of 100 alerts (4 BatchWriteItem calls each) into dynalite.
func BenchmarkWrite(b *testing.B) {
	st := newStore(b, nil, dynamodb.Config{Now: func() time.Time { return testNow }})
	batches := make([][]ctc.Alert, 16)
	for i := range batches {
		batches[i] = alerts(100, fmt.Sprint("bench", i))
	}
	i := 0
	for ; b.Loop(); i++ {
		if err := st.Write(b.Context(), &ctc.Batch{Output: ctc.Output{Alerts: batches[i%len(batches)]}}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(i*100)/b.Elapsed().Seconds(), "alerts/s")
}

// BenchmarkQuery runs the dashboard's queries — 50 newest of a type, of a symbol, of everything —
// over 2000 stored alerts.
func BenchmarkQuery(b *testing.B) {
	st := newStore(b, nil, dynamodb.Config{Now: func() time.Time { return testNow }})
	for i := range 20 {
		if err := st.Write(b.Context(), &ctc.Batch{Output: ctc.Output{Alerts: alerts(100, fmt.Sprint("q", i))}}); err != nil {
			b.Fatal(err)
		}
	}
	qs := []ctc.AlertQuery{
		{Type: ctc.Whale, Limit: 50},
		{Symbol: "BTC-USDT", Limit: 50},
		{Type: ctc.VolumeSpike, Symbol: "ETH-USDT", Limit: 50},
		{Limit: 50},
	}
	i := 0
	for ; b.Loop(); i++ {
		got, err := st.QueryAlerts(b.Context(), qs[i%len(qs)])
		if err != nil || len(got) != 50 {
			b.Fatalf("QueryAlerts(%+v): %d alerts, %v", qs[i%len(qs)], len(got), err)
		}
	}
	b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "queries/s")
}
