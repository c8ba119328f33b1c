package embedded_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/sink/embedded"
)

// FuzzOpen feeds arbitrary and damaged files to Open and ReadFile: whatever the bytes, they return
// an error or a store, never panic, and a file they refuse is left as it was, with nothing beside
// it. A store that opened answers every method with a result or an error.
func FuzzOpen(f *testing.F) {
	// Seeds: a real store, cuts and flips of it (a flip in the header, in the schema, in a row),
	// a store of the old format, nothing.
	path := filepath.Join(f.TempDir(), "seed.db")
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
	f.Add(good[:100])
	for _, off := range []int{20, 60, 68, 100, 4096 + 200, len(good) - 100} {
		flipped := bytes.Clone(good)
		flipped[off] ^= 0xff
		f.Add(flipped)
	}
	f.Add([]byte("CTCHOT\x00\x01\x05\x00\x00\x00\x9a\x4b\x11\x7e\x01abcd"))
	f.Add([]byte{})

	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, "alerts.db")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		_, rerr := embedded.ReadFile(path)
		s, err := embedded.Open(path, embedded.WithJanitorInterval(0), embedded.WithClock(func() time.Time { return at }))
		if err != nil {
			if rerr == nil && len(data) > 0 {
				t.Errorf("ReadFile read what Open refused (%v)", err)
			}
			if got, _ := os.ReadFile(path); !bytes.Equal(got, data) {
				t.Fatalf("Open changed a file it refused (%v)", err)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Fatalf("Open left files beside one it refused: %v (%v)", entries, err)
			}
			return
		}
		defer s.Close(ctx)
		// A damaged page shows only when read: every method returns, with data or an error.
		s.QueryAlerts(ctx, ctc.AlertQuery{Limit: 200})
		s.QueryAlerts(ctx, ctc.AlertQuery{Type: ctc.Whale, Symbol: "BTC-USDT", Limit: 200})
		s.Volumes(ctx, "", time.Time{})
		s.Spreads(ctx, "BTC", time.Time{})
		s.Symbols(ctx)
		s.Write(ctx, b)
		s.Stats()
		s.Compact(ctx)
		s.Flush(ctx)
	})
}

// FuzzRoundTrip writes an alert of arbitrary values and reads it back through every access
// pattern and ReadFile: strings of any bytes (NUL, invalid UTF-8, quotes), any float (NaN, -0,
// infinities), any severity and any time come back exactly, or Write refuses a time it cannot
// sort and stores nothing. An expired version then removes it.
func FuzzRoundTrip(f *testing.F) {
	f.Add("volume_spike", "BTC-USDT", "binance", "BTC-USDT volume 4.2σ above the 1 h mean", uint8(3),
		math.Float64bits(4.2), math.Float64bits(3.5), math.Float64bits(2.4e6), int64(1710255600), int64(0), int64(0))
	f.Add("", "", "", "", uint8(0), math.Float64bits(math.NaN()), math.Float64bits(math.Copysign(0, -1)),
		math.Float64bits(math.Inf(-1)), int64(-62135596800), int64(0), int64(-1<<60)) // the zero time
	f.Add("a\x00b", "\xff\xfe", "'; DROP TABLE alerts; --", "\"quoted\"\n\ttabbed\x00", uint8(255),
		uint64(1), math.Float64bits(5e-324), math.Float64bits(math.MaxFloat64), int64(253402300799), int64(999_999_999), int64(1))
	f.Add("whale", "ETH", "coinbase", "far", uint8(4), uint64(0), uint64(0), uint64(0), int64(253402300800), int64(0), int64(0)) // year 10000

	c := newClock(testNow)
	path := filepath.Join(f.TempDir(), "alerts.db")
	s, err := embedded.Open(path, embedded.WithClock(c.Now), embedded.WithJanitorInterval(0))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close(context.Background()) })
	var n uint64

	f.Fuzz(func(t *testing.T, typ, symbol, exchange, message string, sev uint8, z, threshold, actual uint64,
		sec, nsec, emittedOffset int64) {
		ctx := context.Background()
		n++
		var id uuid.UUID
		binary.BigEndian.PutUint64(id[8:], n)
		at := time.Unix(sec, nsec%1e9).In(time.FixedZone("X", int(sec%86400)))
		a := ctc.Alert{AlertID: id, AlertType: ctc.AlertType(typ), Symbol: symbol, Exchange: exchange, Severity: ctc.Severity(sev),
			ZScore: math.Float64frombits(z), ThresholdValue: math.Float64frombits(threshold), ActualValue: math.Float64frombits(actual),
			WindowStart: at.Add(-time.Minute), DetectedAt: at, Message: message, TTLEpoch: testNow.Unix() + 1,
			EmittedAt: at.Add(time.Duration(emittedOffset))}
		if err := s.Write(ctx, batchOf(a)); err != nil {
			if !strings.Contains(err.Error(), "0000-9999") {
				t.Fatalf("Write: %v", err)
			}
			if got, err := s.QueryAlerts(ctx, ctc.AlertQuery{Limit: 1}); err != nil || len(got) != 0 {
				t.Fatalf("a refused alert was stored: %v, %v", got, err)
			}
			return
		}
		for _, q := range []ctc.AlertQuery{
			{Limit: 2}, {Type: a.AlertType, Limit: 2}, {Symbol: a.Symbol, Limit: 2},
			{Type: a.AlertType, Symbol: a.Symbol, Since: a.DetectedAt, Limit: 2},
		} {
			got, err := s.QueryAlerts(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || !sameAlert(got[0], a) {
				t.Fatalf("QueryAlerts(%+v) = %+v, want [%+v]", q, got, a)
			}
		}
		if got, err := s.QueryAlerts(ctx, ctc.AlertQuery{Since: a.DetectedAt.Add(time.Nanosecond), Limit: 2}); err != nil || len(got) != 0 {
			t.Fatalf("since after it: %v, %v", got, err)
		}
		out, err := embedded.ReadFile(path)
		if err != nil || len(out.Alerts) != 1 || !sameAlert(out.Alerts[0], a) {
			t.Fatalf("ReadFile: %+v, %v", out, err)
		}
		expired := a
		expired.TTLEpoch = testNow.Unix()
		if err := s.Write(ctx, batchOf(expired)); err != nil {
			t.Fatal(err)
		}
		if got, err := s.QueryAlerts(ctx, ctc.AlertQuery{Limit: 2}); err != nil || len(got) != 0 {
			t.Fatalf("after an expired version: %v, %v", got, err)
		}
	})
}

// sameAlert compares alerts as the store must keep them: times as instants, floats to the bit
// (any NaN for a NaN).
func sameAlert(a, b ctc.Alert) bool {
	sameFloat := func(x, y float64) bool {
		return math.Float64bits(x) == math.Float64bits(y) || (math.IsNaN(x) && math.IsNaN(y))
	}
	return a.AlertID == b.AlertID && a.AlertType == b.AlertType && a.Symbol == b.Symbol && a.Exchange == b.Exchange &&
		a.Severity == b.Severity && sameFloat(a.ZScore, b.ZScore) && sameFloat(a.ThresholdValue, b.ThresholdValue) &&
		sameFloat(a.ActualValue, b.ActualValue) && a.WindowStart.Equal(b.WindowStart) && a.DetectedAt.Equal(b.DetectedAt) &&
		a.Message == b.Message && a.TTLEpoch == b.TTLEpoch && a.EmittedAt.Equal(b.EmittedAt)
}
