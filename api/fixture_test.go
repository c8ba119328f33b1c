package api

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/sink/memory"
)

// The API tests read the in-memory reference store, which passes ctctest.TestAlertStore: what
// they check is served from a store held to the same contract as the embedded and DynamoDB ones.
var _ Store = (*memory.AlertStore)(nil)

// newStore returns a memory store at the clock now, holding the records given.
func newStore(t testing.TB, now func() time.Time, alerts []ctc.Alert, vols []ctc.VolumeWindow, spreads []ctc.SpreadWindow) *memory.AlertStore {
	t.Helper()
	st := memory.NewAlertStore(now)
	if err := st.Write(context.Background(), &ctc.Batch{Output: ctc.Output{Alerts: alerts, Volumes: vols, Spreads: spreads}}); err != nil {
		t.Fatal(err)
	}
	return st
}

// recordingStore records the alert queries the API makes of the store it wraps.
type recordingStore struct {
	Store
	mu      sync.Mutex
	queries []ctc.AlertQuery
}

func (s *recordingStore) QueryAlerts(ctx context.Context, q ctc.AlertQuery) ([]ctc.Alert, error) {
	s.mu.Lock()
	s.queries = append(s.queries, q)
	s.mu.Unlock()
	return s.Store.QueryAlerts(ctx, q)
}

// fixture is a small market: a few alerts of every type and severity, the hostile message the
// dashboard must show as text, volume windows for two symbols and spreads for BTC.
type fixture struct {
	now     time.Time
	alerts  []ctc.Alert // newest first
	volumes []ctc.VolumeWindow
	spreads []ctc.SpreadWindow
}

const hostileMessage = `<img src=x onerror=alert(1)> & "quotes"`

func newFixture(now time.Time) fixture {
	now = now.UTC().Truncate(time.Second)
	mk := func(typ ctc.AlertType, sym, ex string, sev ctc.Severity, ago time.Duration, actual, threshold, z float64, msg string) ctc.Alert {
		at := now.Add(-ago)
		ws := at
		if typ != ctc.Whale {
			ws = at.Add(-time.Minute)
		}
		return ctc.Alert{
			AlertID:   ctc.NewAlertID(typ, ex, sym, ws.String()+msg),
			AlertType: typ, Symbol: sym, Exchange: ex, Severity: sev,
			ZScore: z, ThresholdValue: threshold, ActualValue: actual,
			WindowStart: ws, DetectedAt: at, Message: msg,
			TTLEpoch: at.Add(ctc.AlertTTL).Unix(), EmittedAt: at,
		}
	}
	f := fixture{now: now}
	f.alerts = []ctc.Alert{
		mk(ctc.Whale, "BTC-USDT", ctc.Binance, ctc.Critical, 20*time.Second, 1_520_000, 1_000_000, 0, "whale buy of $1.52M on binance BTC-USDT"),
		mk(ctc.Spread, "BTC", "binance-coinbase", ctc.Medium, 50*time.Second, 1.21, 1, 0, "BTC binance 1.21% above coinbase"),
		mk(ctc.VolumeSpike, "ETH-USD", ctc.Coinbase, ctc.High, 2*time.Minute, 4_200_000, 900_000, 3.9, hostileMessage),
		mk(ctc.Whale, "ETH-USD", ctc.Coinbase, ctc.Medium, 5*time.Minute, 180_000, 100_000, 0, "whale sell of $180K on coinbase ETH-USD"),
		mk(ctc.VolumeSpike, "BTC-USDT", ctc.Binance, ctc.Medium, 9*time.Minute, 2_900_000, 1_000_000, 2.8, "volume spike on binance BTC-USDT, z 2.8"),
		mk(ctc.Spread, "BTC", "binance-coinbase", ctc.Low, 14*time.Minute, -0.64, 0.5, 0, "BTC binance 0.64% below coinbase"),
		mk(ctc.Whale, "BTC-USD", ctc.Coinbase, ctc.High, 30*time.Minute, 640_000, 500_000, 0, "whale buy of $640K on coinbase BTC-USD"),
		// Older than the default 24 h, kept by a store with a longer TTL than the standard one.
		mk(ctc.Whale, "BTC-USDT", ctc.Binance, ctc.Medium, 24*time.Hour+time.Minute, 150_000, 100_000, 0, "older than a day"),
	}
	f.alerts[len(f.alerts)-1].TTLEpoch = now.Add(time.Hour).Unix()
	// Expired: TTL already passed, the store never returns it.
	expired := mk(ctc.Whale, "BTC-USDT", ctc.Binance, ctc.High, 2*time.Hour, 700_000, 500_000, 0, "expired")
	expired.TTLEpoch = now.Add(-time.Second).Unix()
	f.alerts = append(f.alerts, expired)

	// 40 minutes of 60 s windows: BTC-USDT on binance, BTC-USD and ETH-USD on coinbase.
	start := now.Truncate(time.Minute).Add(-40 * time.Minute)
	for i := range 40 {
		ws := start.Add(time.Duration(i) * time.Minute)
		for _, m := range []struct {
			sym, ex string
			base    float64
		}{{"BTC-USDT", ctc.Binance, 900_000}, {"BTC-USD", ctc.Coinbase, 600_000}, {"ETH-USD", ctc.Coinbase, 300_000}} {
			vol := m.base * (1 + 0.35*float64((i*7+len(m.sym))%11)/10)
			if i == 31 {
				vol *= 3.2
			}
			f.volumes = append(f.volumes, ctc.VolumeWindow{
				Symbol: m.sym, Exchange: m.ex, WindowStart: ws, WindowEnd: ws.Add(time.Minute),
				TradeCount: int64(100 + i), TotalVolume: vol, AvgPrice: 64_000 + float64(i), MaxPrice: 64_100, MinPrice: 63_900,
				BuyVolume: vol * 0.55, SellVolume: vol * 0.45,
			})
		}
	}
	// 40 minutes of 30 s spread windows for BTC.
	sstart := now.Truncate(30 * time.Second).Add(-40 * time.Minute)
	for i := range 80 {
		ws := sstart.Add(time.Duration(i) * 30 * time.Second)
		pct := 0.18 * float64((i*5)%9-4) / 4
		switch i {
		case 52:
			pct = -0.64
		case 79:
			pct = 1.21
		}
		cb := 64_000.0
		f.spreads = append(f.spreads, ctc.SpreadWindow{Symbol: "BTC", WindowStart: ws, WindowEnd: ws.Add(30 * time.Second),
			BinanceVWAP: cb * (1 + pct/100), CoinbaseVWAP: cb, SpreadPct: pct})
	}
	return f
}

// store is the in-memory reference store holding the fixture, at the fixture's time.
func (f fixture) store(t testing.TB) *memory.AlertStore {
	return newStore(t, func() time.Time { return f.now }, f.alerts, f.volumes, f.spreads)
}

// visible are the alerts /alerts returns by default: not expired, detected in the last 24 h.
func (f fixture) visible() []ctc.Alert {
	var out []ctc.Alert
	for _, a := range f.alerts {
		if a.TTLEpoch > f.now.Unix() && !a.DetectedAt.Before(f.now.Add(-24*time.Hour)) {
			out = append(out, a)
		}
	}
	return out
}
