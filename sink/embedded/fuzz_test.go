package embedded_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/sink/embedded"
)

// FuzzOpen feeds damaged store files to Open and ReadFile: whatever the bytes, they return an
// error or a store that answers queries, and never panic.
func FuzzOpen(f *testing.F) {
	// Seeds: a real file, and cuts and flips of it.
	dir := f.TempDir()
	path := filepath.Join(dir, "seed.db")
	s, err := embedded.Open(path, embedded.WithJanitorInterval(0))
	if err != nil {
		f.Fatal(err)
	}
	at := time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC)
	b := &ctc.Batch{Output: ctc.Output{
		Alerts: []ctc.Alert{{AlertID: ctc.NewAlertID(ctc.Whale, "binance", "BTC-USDT", "1"), AlertType: ctc.Whale,
			Symbol: "BTC-USDT", Exchange: "binance", Severity: ctc.High, DetectedAt: at, TTLEpoch: 1 << 40, Message: "m"}},
		Volumes: []ctc.VolumeWindow{{Symbol: "BTC-USDT", Exchange: "binance", WindowStart: at, WindowEnd: at.Add(time.Minute)}},
		Spreads: []ctc.SpreadWindow{{Symbol: "BTC", WindowStart: at, WindowEnd: at.Add(30 * time.Second)}},
	}}
	if err := s.Write(context.Background(), b); err != nil {
		f.Fatal(err)
	}
	s.Close(context.Background())
	good, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	flipped := append([]byte(nil), good...)
	flipped[len(flipped)-5] ^= 0xff
	f.Add(flipped)
	f.Add([]byte{})

	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "alerts.db")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := embedded.ReadFile(path); err != nil {
			return
		}
		s, err := embedded.Open(path, embedded.WithJanitorInterval(0), embedded.WithClock(func() time.Time { return at }))
		if err != nil {
			return
		}
		defer s.Close(context.Background())
		if _, err := s.QueryAlerts(context.Background(), ctc.AlertQuery{Limit: 200}); err != nil {
			t.Fatalf("a store that opened must answer queries: %v", err)
		}
	})
}
