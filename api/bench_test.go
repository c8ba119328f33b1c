package api

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/sink/memory"
)

// benchStore holds n alerts spread over the last 24 h, of every type, on a few symbols.
func benchStore(b *testing.B, n int, now time.Time) *memory.AlertStore {
	types := []ctc.AlertType{ctc.VolumeSpike, ctc.Whale, ctc.Spread}
	syms := []string{"BTC-USDT", "ETH-USDT", "SOL-USDT", "BTC-USD", "ETH-USD"}
	alerts := make([]ctc.Alert, n)
	step := 24 * time.Hour / time.Duration(n+1)
	for i := range alerts {
		at := now.Add(-time.Duration(i+1) * step)
		typ, sym := types[i%len(types)], syms[i%len(syms)]
		alerts[i] = ctc.Alert{
			AlertID: ctc.NewAlertID(typ, ctc.Binance, sym, ctc.WindowKey(at)), AlertType: typ, Symbol: sym,
			Exchange: ctc.Binance, Severity: ctc.Severity(1 + i%4), ZScore: 3.1, ThresholdValue: 100_000,
			ActualValue: 123_456.78, WindowStart: at.Add(-time.Minute), DetectedAt: at,
			Message: fmt.Sprintf("whale buy of $123.5K on binance %s", sym), TTLEpoch: at.Add(ctc.AlertTTL).Unix(), EmittedAt: at,
		}
	}
	return newStore(b, func() time.Time { return now }, alerts, nil, nil)
}

func benchHandler(b *testing.B) http.Handler {
	now := time.Now().UTC()
	st := benchStore(b, 100_000, now)
	h, err := New(Config{Store: st, Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	// The memory store orders its alerts at the first query after a write: not the handler's cost.
	if _, err := st.QueryAlerts(context.Background(), ctc.AlertQuery{Limit: 1}); err != nil {
		b.Fatal(err)
	}
	return h
}

// BenchmarkAlertsHandler measures GET /alerts?limit=50 in the handler alone, against a store
// holding 100,000 alerts.
func BenchmarkAlertsHandler(b *testing.B) {
	h := benchHandler(b)
	req := httptest.NewRequest(http.MethodGet, "/alerts?limit=50", nil)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkAlertsLoopback measures GET /alerts?limit=50 end to end: a real server (NewServer) on
// 127.0.0.1 and parallel keep-alive clients, 4 per GOMAXPROCS. It reports requests per second and
// the 99th percentile of the request latency seen by the clients.
func BenchmarkAlertsLoopback(b *testing.B) {
	h := benchHandler(b)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := NewServer(ln.Addr().String(), h)
	go srv.Serve(ln)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}()
	tr := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	url := "http://" + ln.Addr().String() + "/alerts?limit=50"

	var mu sync.Mutex
	var all []time.Duration
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		lat := make([]time.Duration, 0, 4096)
		defer func() {
			mu.Lock()
			all = append(all, lat...)
			mu.Unlock()
		}()
		for pb.Next() {
			start := time.Now()
			resp, err := client.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK {
				b.Errorf("status %d, %v", resp.StatusCode, err)
				return
			}
			lat = append(lat, time.Since(start))
		}
	})
	elapsed := b.Elapsed()
	b.StopTimer()
	if len(all) == 0 {
		return
	}
	slices.Sort(all)
	pct := func(p float64) float64 { return float64(all[int(float64(len(all)-1)*p)]) / float64(time.Millisecond) }
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "req/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
