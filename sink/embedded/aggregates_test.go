package embedded_test

import (
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/sink/embedded"
)

func vol(symbol, exchange string, start time.Time, total float64) ctc.VolumeWindow {
	return ctc.VolumeWindow{Symbol: symbol, Exchange: exchange, WindowStart: start, WindowEnd: start.Add(time.Minute),
		TradeCount: 42, TotalVolume: total, AvgPrice: 67_000, MaxPrice: 67_050, MinPrice: 66_950, BuyVolume: total / 2, SellVolume: total / 2}
}

func spr(symbol string, start time.Time, pct float64) ctc.SpreadWindow {
	return ctc.SpreadWindow{Symbol: symbol, WindowStart: start, WindowEnd: start.Add(30 * time.Second),
		BinanceVWAP: 67_000 * (1 + pct/100), CoinbaseVWAP: 67_000, SpreadPct: pct}
}

func TestAggregates(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	c := newClock(testNow)
	s, _ := open(t, embedded.WithClock(c.Now))
	t0 := testNow.Add(-time.Hour) // 14:00
	m := time.Minute
	v1 := vol("BTC-USDT", ctc.Binance, t0, 1e6)
	v2 := vol("BTC-USDT", ctc.Binance, t0.Add(m), 2e6)
	v3 := vol("BTC-USD", ctc.Coinbase, t0, 3e6)
	v4 := vol("ETH-USDT", ctc.Binance, t0.Add(m), 4e6)
	v5 := vol("BTC-USDT", ctc.Coinbase, t0.Add(m), 5e6) // same symbol on another exchange
	old := vol("BTC-USDT", ctc.Binance, testNow.Add(-ctc.AlertTTL-m), 9e6)
	edge := vol("BTC-USDT", ctc.Binance, testNow.Add(-ctc.AlertTTL-m+time.Second).Add(-time.Second), 8e6) // window_end + 24 h == now
	s1 := spr("BTC", t0, 0.12)
	s2 := spr("BTC", t0.Add(30*time.Second), -0.7)
	s3 := spr("ETH", t0, 0.05)
	expiredAlert := genAlerts(12, 1, testNow.Add(-ctc.AlertTTL-m), time.Minute)[0]
	liveAlert := genAlerts(13, 1, testNow, time.Minute)[0]
	liveAlert.Symbol = "SOL-USDT"
	expiredAlert.Symbol = "DOGE-USDT"
	// Out of order, as detectors of several keys emit them.
	mustWrite(t, s, &ctc.Batch{Output: ctc.Output{
		Alerts:  []ctc.Alert{expiredAlert, liveAlert},
		Volumes: []ctc.VolumeWindow{v4, v2, old, v1, edge, v3, v5},
		Spreads: []ctc.SpreadWindow{s2, s3, s1},
	}})

	volumes := func(symbol string, since time.Time, want ...ctc.VolumeWindow) {
		t.Helper()
		got, err := s.Volumes(ctx, symbol, since)
		if err != nil || got == nil {
			t.Fatalf("Volumes(%q): %v, %v", symbol, got, err)
		}
		if diff := cmp.Diff(append([]ctc.VolumeWindow{}, want...), got); diff != "" {
			t.Errorf("Volumes(%q, %s) (-want +got):\n%s", symbol, since.Format(time.TimeOnly), diff)
		}
	}
	spreads := func(symbol string, since time.Time, want ...ctc.SpreadWindow) {
		t.Helper()
		got, err := s.Spreads(ctx, symbol, since)
		if err != nil || got == nil {
			t.Fatalf("Spreads(%q): %v, %v", symbol, got, err)
		}
		if diff := cmp.Diff(append([]ctc.SpreadWindow{}, want...), got); diff != "" {
			t.Errorf("Spreads(%q, %s) (-want +got):\n%s", symbol, since.Format(time.TimeOnly), diff)
		}
	}
	symbols := func(want ...string) {
		t.Helper()
		got, err := s.Symbols(ctx)
		if err != nil || got == nil {
			t.Fatalf("Symbols: %v, %v", got, err)
		}
		if diff := cmp.Diff(append([]string{}, want...), got); diff != "" {
			t.Errorf("Symbols (-want +got):\n%s", diff)
		}
	}

	volumes("BTC-USDT", time.Time{}, v1, v2, v5)
	volumes("BTC-USDT", t0.Add(m), v2, v5)
	volumes("BTC-USDT", t0.Add(m+time.Nanosecond))
	volumes("", time.Time{}, v3, v1, v2, v5, v4)
	volumes("ETH-USDT", t0, v4)
	volumes("XRP-USDT", time.Time{})
	spreads("BTC", time.Time{}, s1, s2)
	spreads("", t0, s1, s3, s2)
	spreads("BTC", t0.Add(time.Second), s2)
	spreads("BTC-USDT", time.Time{})
	symbols("BTC", "BTC-USD", "BTC-USDT", "ETH", "ETH-USDT", "SOL-USDT")

	// A recomputed window replaces the stored one.
	v1b := v1
	v1b.TotalVolume, v1b.TradeCount = 1.5e6, 43
	s1b := s1
	s1b.SpreadPct = 0.13
	mustWrite(t, s, &ctc.Batch{Output: ctc.Output{Volumes: []ctc.VolumeWindow{v1b}, Spreads: []ctc.SpreadWindow{s1b}}})
	volumes("BTC-USDT", time.Time{}, v1b, v2, v5)
	spreads("BTC", time.Time{}, s1b, s2)

	// Windows expire a day after they end, at exactly window_end + 24 h: the 14:00 volume windows
	// (ending 14:01) and every spread window (ending by 14:01) first.
	c.set(t0.Add(m).Add(ctc.AlertTTL).Add(-time.Nanosecond))
	volumes("", time.Time{}, v3, v1b, v2, v5, v4)
	spreads("", time.Time{}, s2) // the 14:00 ones ended at 14:00:30
	c.set(t0.Add(m).Add(ctc.AlertTTL))
	volumes("", time.Time{}, v2, v5, v4)
	spreads("", time.Time{})
	symbols("BTC-USDT", "ETH-USDT", "SOL-USDT")
	c.set(t0.Add(2 * m).Add(ctc.AlertTTL))
	volumes("", time.Time{})
	symbols("SOL-USDT")
	c.add(time.Hour)
	symbols()

	// The records expired on arrival (old, edge, expiredAlert) were never stored.
	st := s.Stats()
	if st.Volumes != 5 || st.Spreads != 3 || st.Alerts != 1 {
		t.Errorf("held before the janitor runs: %+v; want 5 volumes, 3 spreads, 1 alert", st)
	}
	if err := s.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Volumes != 0 || st.Spreads != 0 || st.Alerts != 0 {
		t.Errorf("after Compact: %+v", st)
	}
}

// Records already expired cost nothing, unless they replace a stored version.
func TestExpiredWrites(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	c := newClock(testNow)
	s, path := open(t, embedded.WithClock(c.Now))
	x := genAlerts(14, 1, testNow, time.Minute)[0]
	xDead := x
	xDead.TTLEpoch = testNow.Unix()

	old := genAlerts(15, 50, testNow.Add(-ctc.AlertTTL), time.Hour)
	empty := s.Stats()
	mustWrite(t, s, &ctc.Batch{Output: ctc.Output{Alerts: old, Volumes: []ctc.VolumeWindow{vol("BTC-USDT", ctc.Binance, testNow.Add(-48*time.Hour), 1)}}})
	if st := s.Stats(); st.Alerts != 0 || st.Volumes != 0 || st.FileBytes != empty.FileBytes {
		t.Errorf("a batch of expired records was stored: %+v, empty %+v", st, empty)
	}

	count := func() int {
		got, err := s.QueryAlerts(ctx, ctc.AlertQuery{Limit: math.MaxInt})
		if err != nil {
			t.Fatal(err)
		}
		return len(got)
	}
	mustWrite(t, s, batchOf(x))
	mustWrite(t, s, batchOf(xDead)) // a rewrite that expires it
	if n := count(); n != 0 {
		t.Errorf("after an expired rewrite: %d alerts, want 0", n)
	}
	mustWrite(t, s, batchOf(x, xDead)) // the later one wins, in a batch too
	if n := count(); n != 0 {
		t.Errorf("after [live, expired]: %d alerts, want 0", n)
	}
	mustWrite(t, s, batchOf(xDead, x))
	if n := count(); n != 1 {
		t.Errorf("after [expired, live]: %d alerts, want 1", n)
	}
	mustWrite(t, s, batchOf(append(old[:3:3], x, xDead)...))
	if n := count(); n != 0 {
		t.Errorf("after [expired others, live, expired]: %d alerts, want 0", n)
	}
	mustClose(t, s)
	s = mustOpen(t, path, c)
	if st := s.Stats(); st.Alerts != 0 {
		t.Errorf("after reopening: %d alerts held, want 0", st.Alerts)
	}
}

func TestWriteTradesOnlyIsFree(t *testing.T) {
	s, _ := open(t)
	empty := s.Stats()
	b := &ctc.Batch{Trades: make([]ctc.Trade, 500), DeadLetters: make([]ctc.DeadLetter, 3),
		Output: ctc.Output{Whales: make([]ctc.WhaleTrade, 2), Late: make([]ctc.LateTrade, 4)}}
	if n := testing.AllocsPerRun(100, func() { s.Write(t.Context(), b) }); n != 0 {
		t.Errorf("Write of a batch without alerts or aggregates: %v allocations, want 0", n)
	}
	if st := s.Stats(); st.FileBytes != empty.FileBytes || st.Writes != 0 {
		t.Errorf("stats %+v, empty %+v", st, empty)
	}
}

// A record the store cannot keep fails its batch, which stores nothing, and names the record.
func TestBadRecordFailsTheBatch(t *testing.T) {
	t.Parallel()
	s, path := open(t)
	now := time.Now().Truncate(time.Millisecond)
	good := genAlerts(16, 2, now, time.Minute)
	far := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) // no fixed-width RFC 3339 form
	badAlert := good[1]
	badAlert.DetectedAt = far
	badVolume := vol("BTC-USDT", ctc.Binance, now, 1)
	badVolume.WindowEnd = far
	for name, tc := range map[string]struct {
		b    *ctc.Batch
		want string
	}{
		"alert":  {batchOf(good[0], badAlert), "alert " + badAlert.AlertID.String() + ": detected_at"},
		"volume": {&ctc.Batch{Output: ctc.Output{Alerts: good, Volumes: []ctc.VolumeWindow{badVolume}}}, "volume window BTC-USDT binance: window_end"},
	} {
		err := s.Write(t.Context(), tc.b)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "0000-9999") {
			t.Errorf("%s: Write: %v, want an error naming %q", name, err, tc.want)
		}
		if st := s.Stats(); st.Alerts != 0 || st.Volumes != 0 || st.Writes != 0 {
			t.Errorf("%s: a failed batch stored something: %+v", name, st)
		}
	}
	mustWrite(t, s, batchOf(good...))
	if out, err := embedded.ReadFile(path); err != nil || len(out.Alerts) != 2 {
		t.Errorf("after the failures: %v alerts in the file, %v", len(out.Alerts), err)
	}
}

// The zero time and times far from the present survive the text form.
func TestTimesRoundTrip(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "hot.ctc")
	c := newClock(time.Unix(-1<<40, 0))
	s := mustOpen(t, path, c)
	times := []time.Time{{}, time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2500, 6, 1, 12, 0, 0, 999_999_999, time.FixedZone("X", -3600)), time.Unix(0, 0)}
	var alerts []ctc.Alert
	for i, at := range times {
		a := genAlerts(uint64(17+i), 1, testNow, time.Minute)[0]
		a.DetectedAt, a.WindowStart, a.EmittedAt, a.TTLEpoch = at, at, time.Time{}, math.MaxInt64
		alerts = append(alerts, a)
	}
	mustWrite(t, s, batchOf(alerts...))
	before := snap(t, s)
	mustClose(t, s)
	s = mustOpen(t, path, c)
	after := snap(t, s)
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("(-before +after reopen):\n%s", diff)
	}
	for _, a := range after.Alerts {
		if !a.EmittedAt.IsZero() || a.DetectedAt.Location() != time.UTC {
			t.Errorf("alert %s: emitted_at %v, detected_at in %v", a.AlertID, a.EmittedAt, a.DetectedAt.Location())
		}
	}
	if len(after.Alerts) != len(times) {
		t.Errorf("%d alerts, want %d", len(after.Alerts), len(times))
	}
}
