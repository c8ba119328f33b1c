package api_test

import (
	"bufio"
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/api"
	"github.com/coattailcapital/ctc/quality"
)

// sliceStore is the smallest Store: alerts in a slice, newest first, and no aggregates.
type sliceStore []ctc.Alert

func (s sliceStore) QueryAlerts(_ context.Context, q ctc.AlertQuery) ([]ctc.Alert, error) {
	var out []ctc.Alert
	for _, a := range s {
		if (q.Type == "" || a.AlertType == q.Type) && (q.Symbol == "" || a.Symbol == q.Symbol) &&
			!a.DetectedAt.Before(q.Since) && len(out) < q.Limit {
			out = append(out, a)
		}
	}
	return out, nil
}

func (s sliceStore) Volumes(context.Context, string, time.Time) ([]ctc.VolumeWindow, error) {
	return nil, nil
}

func (s sliceStore) Spreads(context.Context, string, time.Time) ([]ctc.SpreadWindow, error) {
	return nil, nil
}

func (s sliceStore) Symbols(context.Context) ([]string, error) { return []string{"BTC-USDT"}, nil }

var now = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)

func whale() ctc.Alert {
	at := now.Add(-time.Minute)
	return ctc.Alert{
		AlertID:   ctc.NewAlertID(ctc.Whale, ctc.Binance, "BTC-USDT", "42"),
		AlertType: ctc.Whale, Symbol: "BTC-USDT", Exchange: ctc.Binance, Severity: ctc.Critical,
		ThresholdValue: 1_000_000, ActualValue: 1_520_000, WindowStart: at, DetectedAt: at,
		Message: "whale buy of $1.52M on binance BTC-USDT", TTLEpoch: at.Add(ctc.AlertTTL).Unix(), EmittedAt: at,
	}
}

// Serve the newest whale alert.
func Example() {
	h, err := api.New(api.Config{Store: sliceStore{whale()}, Now: func() time.Time { return now }})
	if err != nil {
		log.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/alerts?type=whale&limit=1", nil))
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	fmt.Println(rec.Body)
	// Output:
	// 200 application/json
	// {"alerts":[{"alert_id":"ab36206a-f1db-57ce-872f-de10078849fa","alert_type":"whale","symbol":"BTC-USDT","exchange":"binance","severity":"critical","z_score":null,"threshold_value":1000000,"actual_value":1520000,"window_start":"2025-03-14T15:08:26.000Z","detected_at":"2025-03-14T15:08:26.000Z","message":"whale buy of $1.52M on binance BTC-USDT","ttl_epoch":1742051306,"emitted_at":"2025-03-14T15:08:26.000Z"}],"count":1,"next":"MTc0MTk2NDkwNjAwMDAwMDAwMC5hYjM2MjA2YS1mMWRiLTU3Y2UtODcyZi1kZTEwMDc4ODQ5ZmE"}
}

// A bad parameter is a 400 that names the parameter and what it allows.
func Example_badParameter() {
	h, err := api.New(api.Config{Store: sliceStore{whale()}})
	if err != nil {
		log.Fatal(err)
	}
	for _, target := range []string{"/alerts?limit=500", "/alerts?type=Whale", "/alerts?order=asc"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		fmt.Println(rec.Code, rec.Body)
	}
	// Output:
	// 400 {"error":"limit must be 1..200, got 500","parameter":"limit","allowed":"1..200"}
	// 400 {"error":"type must be an alert type: 1 to 64 lower-case letters, digits or '_', starting with a letter (volume_spike, whale, spread, or a detector's own), got \"Whale\"","parameter":"type","allowed":"an alert type: 1 to 64 lower-case letters, digits or '_', starting with a letter (volume_spike, whale, spread, or a detector's own)"}
	// 400 {"error":"unknown parameter \"order\": this endpoint takes type, symbol, limit, since, view, cursor","parameter":"order","allowed":"type, symbol, limit, since, view, cursor"}
}

// Export a pipeline's and a quality chain's counters next to the API's own metrics at /prometheus.
func ExampleNewCollector() {
	reg := prometheus.NewRegistry()
	pipelineStats := func() ctc.Stats { return ctc.Stats{Records: 1000, Trades: 990, Alerts: 3} }
	qualityStats := func() quality.Stats {
		return quality.Stats{Processed: 1000, Passed: 990, Failed: 10, QualityScore: 99,
			FailedByReason: map[ctc.Reason]int64{ctc.Invalid: 10}}
	}
	reg.MustRegister(api.NewCollector(pipelineStats, qualityStats))
	h, err := api.New(api.Config{Store: sliceStore{}, Registerer: reg, Quality: qualityStats})
	if err != nil {
		log.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/prometheus", nil))
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "ctc_pipeline_records") || strings.HasPrefix(line, "ctc_quality_") {
			fmt.Println(line)
		}
	}
	// Output:
	// ctc_pipeline_records_total 1000
	// ctc_quality_duplicate_total 0
	// ctc_quality_failed_total{reason="incomplete"} 0
	// ctc_quality_failed_total{reason="invalid"} 10
	// ctc_quality_failed_total{reason="malformed"} 0
	// ctc_quality_late_total 0
	// ctc_quality_passed_total 990
	// ctc_quality_processed_total 1000
	// ctc_quality_score_ratio 0.99
	// ctc_quality_warnings_total 0
}

// Run the API and the dashboard on localhost until ctx ends.
func ExampleNewServer() {
	h, err := api.New(api.Config{Store: sliceStore{}})
	if err != nil {
		log.Fatal(err)
	}
	srv := api.NewServer("127.0.0.1:8080", h)
	ctx, stop := context.WithTimeout(context.Background(), time.Hour)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	fmt.Println("dashboard at http://" + srv.Addr)
	if err := srv.ListenAndServe(); err != http.ErrServerClosed {
		log.Fatal(err)
	}
}
