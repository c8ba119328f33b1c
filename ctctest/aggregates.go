package ctctest

import (
	"cmp"
	"context"
	"math"
	"slices"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/coattailcapital/ctc"
)

// AggregateStore is what the API and the dashboard read besides alerts: the volume and spread
// windows behind the charts, and the symbols of the picker. The embedded, in-memory and DynamoDB
// stores serve it; TestAlertStore checks it unless AlertStoreFeatures.NoAggregates says the store
// keeps alerts only.
type AggregateStore interface {
	ctc.AlertStore
	// Volumes returns the live volume windows of symbol ("" for every symbol), on every exchange,
	// that start at or after since (the zero time: no bound), oldest first, then by symbol and
	// exchange. A window lives until WindowEnd + ctc.AlertTTL.
	Volumes(ctx context.Context, symbol string, since time.Time) ([]ctc.VolumeWindow, error)
	// Spreads returns the live spread windows of an instrument ("" for every one), as Volumes.
	Spreads(ctx context.Context, instrument string, since time.Time) ([]ctc.SpreadWindow, error)
	// Symbols returns, sorted, every symbol a live alert, volume window or spread window carries.
	Symbols(ctx context.Context) ([]string, error)
}

// aggregateHistory is two hours of volume windows (two symbols on two exchanges, a minute each)
// and spread windows (two instruments, 30 s each) ending at now, with values whose bits a store
// must keep exactly, and some windows already past their TTL.
func aggregateHistory(now time.Time) ([]ctc.VolumeWindow, []ctc.SpreadWindow) {
	var vs []ctc.VolumeWindow
	var ss []ctc.SpreadWindow
	odd := []float64{0.1, 1e-8, 123456789.123456, math.Nextafter(1, 2), 3e11, 42}
	for i := range 120 {
		start := now.Add(-2 * time.Hour).Add(time.Duration(i) * time.Minute)
		if i%17 == 0 {
			start = start.Add(-25 * time.Hour) // expired: its end is more than a day old
		}
		for _, m := range []struct{ sym, ex string }{{"BTC-USDT", ctc.Binance}, {"BTC-USD", ctc.Coinbase}, {"ETH-USDT", ctc.Binance}} {
			v := odd[(i+len(m.sym))%len(odd)]
			vs = append(vs, ctc.VolumeWindow{Symbol: m.sym, Exchange: m.ex, WindowStart: start, WindowEnd: start.Add(time.Minute),
				TradeCount: int64(i + 1), TotalVolume: v * 1000, AvgPrice: v, MaxPrice: v * 1.01, MinPrice: v * 0.99,
				BuyVolume: v * 600, SellVolume: v * 400})
		}
		for _, inst := range []string{"BTC", "ETH"} {
			for half := range 2 {
				s := start.Add(time.Duration(half) * 30 * time.Second)
				ss = append(ss, ctc.SpreadWindow{Symbol: inst, WindowStart: s, WindowEnd: s.Add(30 * time.Second),
					BinanceVWAP: 60000 + float64(i), CoinbaseVWAP: 60010 + float64(half), SpreadPct: odd[i%len(odd)] - 0.5})
			}
		}
	}
	return vs, ss
}

func (s *alertSuite) aggregates(t *testing.T) {
	if s.f.NoAggregates {
		t.Skip("the store keeps alerts only (AlertStoreFeatures.NoAggregates)")
	}
	f := s.open(t, alertNow)
	st, ok := f.st.(AggregateStore)
	if !ok {
		t.Fatalf("%T has no Volumes, Spreads and Symbols: implement ctctest.AggregateStore, or set AlertStoreFeatures.NoAggregates", f.st)
	}
	ctx := t.Context()
	vs, ss := aggregateHistory(alertNow)
	// In several batches, the last one written twice (a re-committed checkpoint).
	for i := 0; i < len(vs); i += 50 {
		b := &ctc.Batch{Output: ctc.Output{Volumes: vs[i:min(i+50, len(vs))], Spreads: ss[min(i, len(ss)):min(i+50, len(ss))]}}
		if err := st.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
		if i+50 >= len(vs) {
			if err := st.Write(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(ss) > len(vs) {
		if err := st.Write(ctx, &ctc.Batch{Output: ctc.Output{Spreads: ss[len(vs):]}}); err != nil {
			t.Fatal(err)
		}
	}
	alert := ctc.Alert{AlertID: ctc.NewAlertID(ctc.Whale, ctc.Binance, "SOL-USDT", "1"), AlertType: ctc.Whale, Symbol: "SOL-USDT",
		Exchange: ctc.Binance, Severity: ctc.High, DetectedAt: alertNow.Add(-time.Minute), WindowStart: alertNow.Add(-time.Minute),
		TTLEpoch: alertNow.Add(-time.Minute).Add(ctc.AlertTTL).Unix()}
	if err := st.Write(ctx, &ctc.Batch{Output: ctc.Output{Alerts: []ctc.Alert{alert}}}); err != nil {
		t.Fatal(err)
	}

	live := func(end time.Time) bool { return end.Add(ctc.AlertTTL).Unix() > alertNow.Unix() }
	exact := gocmp.Options{
		gocmp.Comparer(func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }),
		gocmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) }),
		cmpopts.EquateEmpty(),
	}
	since := alertNow.Add(-time.Hour)
	for _, sym := range []string{"", "BTC-USDT", "ETH-USDT", "XRP-USDT"} {
		for _, from := range []time.Time{{}, since} {
			var want []ctc.VolumeWindow
			for _, v := range vs {
				if live(v.WindowEnd) && (sym == "" || v.Symbol == sym) && !v.WindowStart.Before(from) {
					want = append(want, v)
				}
			}
			slices.SortFunc(want, func(a, b ctc.VolumeWindow) int {
				return cmp.Or(a.WindowStart.Compare(b.WindowStart), cmp.Compare(a.Symbol, b.Symbol), cmp.Compare(a.Exchange, b.Exchange))
			})
			got, err := st.Volumes(ctx, sym, from)
			if err != nil {
				t.Fatal(err)
			}
			if got == nil {
				t.Errorf("Volumes(%q, %v) returned nil: want an empty, non-nil slice", sym, from)
			}
			if d := gocmp.Diff(want, got, exact); d != "" {
				t.Errorf("Volumes(%q, since %v) (-want +got):\n%s", sym, from, d)
			}
		}
	}
	for _, inst := range []string{"", "BTC", "XRP"} {
		for _, from := range []time.Time{{}, since} {
			var want []ctc.SpreadWindow
			for _, w := range ss {
				if live(w.WindowEnd) && (inst == "" || w.Symbol == inst) && !w.WindowStart.Before(from) {
					want = append(want, w)
				}
			}
			slices.SortFunc(want, func(a, b ctc.SpreadWindow) int {
				return cmp.Or(a.WindowStart.Compare(b.WindowStart), cmp.Compare(a.Symbol, b.Symbol))
			})
			got, err := st.Spreads(ctx, inst, from)
			if err != nil {
				t.Fatal(err)
			}
			if got == nil {
				t.Errorf("Spreads(%q, %v) returned nil: want an empty, non-nil slice", inst, from)
			}
			if d := gocmp.Diff(want, got, exact); d != "" {
				t.Errorf("Spreads(%q, since %v) (-want +got):\n%s", inst, from, d)
			}
		}
	}
	syms, err := st.Symbols(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"BTC", "BTC-USD", "BTC-USDT", "ETH", "ETH-USDT", "SOL-USDT"}; !slices.Equal(syms, want) {
		t.Errorf("Symbols() = %q, want %q (every symbol of a live alert, volume or spread window, sorted)", syms, want)
	}

	// A day later every window has expired, and only a later alert's symbol is left.
	f.clock.add(ctc.AlertTTL + 2*time.Minute)
	if got, err := st.Volumes(ctx, "", time.Time{}); err != nil || len(got) != 0 {
		t.Errorf("a day after: Volumes = %d windows, %v; want none", len(got), err)
	}
	if got, err := st.Spreads(ctx, "", time.Time{}); err != nil || len(got) != 0 {
		t.Errorf("a day after: Spreads = %d windows, %v; want none", len(got), err)
	}
	if s.f.SymbolsLinger > 0 {
		f.clock.add(s.f.SymbolsLinger)
	}
	if got, err := st.Symbols(ctx); err != nil || len(got) != 0 {
		t.Errorf("a day after (and AlertStoreFeatures.SymbolsLinger %v): Symbols = %q, %v; want none", s.f.SymbolsLinger, got, err)
	}
}
