package evidence

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/detect"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// steady returns trades of one market every second over [from, to), at price(t).
func steady(exchange, symbol string, from, to time.Duration, price func(time.Duration) float64) []ctc.Trade {
	var out []ctc.Trade
	for d := from; d < to; d += time.Second {
		p := price(d)
		out = append(out, ctc.Trade{
			EventID: ctc.NewEventIDInt(exchange, symbol, int64(d/time.Second)+1_000_000), Exchange: exchange, Symbol: symbol,
			Price: p, Quantity: 1, QuoteVolume: p, Side: ctc.Buy, Timestamp: t0.Add(d),
		})
	}
	return out
}

func alert(typ ctc.AlertType, sev ctc.Severity, exchange, symbol string, at time.Duration, msg string, actual float64) ctc.Alert {
	return ctc.Alert{
		AlertID:   ctc.NewAlertID(typ, exchange, symbol, msg+at.String()),
		AlertType: typ, Severity: sev, Exchange: exchange, Symbol: symbol,
		DetectedAt: t0.Add(at), WindowStart: t0.Add(at), Message: msg, ActualValue: actual,
	}
}

func group(t *testing.T, r *Report, typ ctc.AlertType, sev string) Group {
	t.Helper()
	for _, g := range r.Groups {
		if g.AlertType == typ && g.Severity == sev {
			return g
		}
	}
	t.Fatalf("no group %s/%s in %+v", typ, sev, r.Groups)
	return Group{}
}

func near(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-6*max(1, math.Abs(want)) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// A price that steps from 100 to 101 thirty seconds after the alerts: every horizon reads +1 %.
func TestKnownMoves(t *testing.T) {
	t.Parallel()
	step := func(d time.Duration) float64 {
		if d < 30*time.Second {
			return 100
		}
		return 101
	}
	var tr Trades
	tr.Add(steady(ctc.Binance, "BTC-USDT", -time.Hour, 2*time.Hour, step)...)
	alerts := []ctc.Alert{
		alert(ctc.Whale, ctc.High, ctc.Binance, "BTC-USDT", 0, "BTC-USDT on binance: $600.0k buy of 10 at 100.00 (over $500.0k)", 600_000),
		alert(ctc.Whale, ctc.Medium, ctc.Binance, "BTC-USDT", 0, "BTC-USDT on binance: $200.0k sell of 2 at 100.00 (over $100.0k)", 200_000),
		alert(detect.WhaleCluster, ctc.Medium, ctc.Binance, "BTC-USDT", 0, "BTC-USDT on binance: $150.0k buy split into a cluster of 6 orders", 150_000),
		alert(ctc.VolumeSpike, ctc.High, ctc.Binance, "BTC-USDT", 0, "BTC-USDT on binance: $1.92M traded in 1m0s", 1.92e6),
	}
	r, err := Evaluate(Config{Baseline: -1}, alerts, &tr)
	if err != nil {
		t.Fatal(err)
	}
	if r.Alerts != 4 || r.Trades != 3*3600 {
		t.Errorf("alerts, trades = %d, %d", r.Alerts, r.Trades)
	}
	for _, c := range []struct {
		typ     ctc.AlertType
		sev     string
		measure string
		want    float64
		hits    int
	}{
		{ctc.Whale, "high", MeasureSigned, 100, 1},
		{ctc.Whale, "medium", MeasureSigned, -100, 0},
		{detect.WhaleCluster, "medium", MeasureSigned, 100, 1},
		{ctc.VolumeSpike, "high", MeasureAbsolute, 100, 1}, // no baseline: a hit is a move above 0
	} {
		g := group(t, r, c.typ, c.sev)
		if g.Measure != c.measure || g.Alerts != 1 || len(g.Horizons) != 4 {
			t.Errorf("%s/%s: measure %s, %d alerts, %d horizons", c.typ, c.sev, g.Measure, g.Alerts, len(g.Horizons))
		}
		for _, h := range g.Horizons {
			s := h.Alerts
			if s.N != 1 || s.NoData != 0 || s.Hits != c.hits {
				t.Errorf("%s/%s %s: n %d, no data %d, hits %d", c.typ, c.sev, h.Horizon, s.N, s.NoData, s.Hits)
			}
			near(t, string(c.typ)+" "+h.Horizon+" mean", s.Mean, c.want)
			near(t, string(c.typ)+" "+h.Horizon+" median", s.Median, c.want)
			if s.MeanCI != nil {
				t.Errorf("one value has no interval, got %+v", s.MeanCI)
			}
		}
	}
	// The whale type has two severities: an "all" group after them.
	g := group(t, r, ctc.Whale, "all")
	near(t, "whale all +1m mean", g.Horizons[0].Alerts.Mean, 0)
	var order []string
	for _, g := range r.Groups {
		order = append(order, string(g.AlertType)+"/"+g.Severity)
	}
	if got, want := strings.Join(order, " "), "volume_spike/high whale/medium whale/high whale/all whale_cluster/medium"; got != want {
		t.Errorf("groups %s, want %s", got, want)
	}
}

// The entry window is the 10 s up to detected_at, inclusive; each horizon a window around it.
func TestWindows(t *testing.T) {
	t.Parallel()
	// One trade per second at price = seconds after t0 + 1000.
	lin := func(d time.Duration) float64 { return 1000 + d.Seconds() }
	var tr Trades
	tr.Add(steady(ctc.Coinbase, "ETH-USD", 0, 2*time.Hour, lin)...)
	a := alert(ctc.Whale, ctc.Medium, ctc.Coinbase, "ETH-USD", 100*time.Second, "ETH-USD on coinbase: $150.0k buy of 50 at 1100.00", 150_000)
	r, err := Evaluate(Config{Baseline: -1}, []ctc.Alert{a}, &tr)
	if err != nil {
		t.Fatal(err)
	}
	// Entry: trades at 90..100 s, VWAP 1095. +1m: 150..170 s, VWAP 1160. +5m: 370..430, 1400.
	entry := 1095.0
	for i, want := range []float64{1160, 1400, 1000 + 1000, 1000 + 3700} {
		h := r.Groups[0].Horizons[i]
		near(t, "move "+h.Horizon, h.Alerts.Mean, (want/entry-1)*1e4)
	}
}

// Spread alerts are judged by the Binance leg's return minus the Coinbase leg's, in the direction
// that closes the spread.
func TestSpreadConvergence(t *testing.T) {
	t.Parallel()
	var tr Trades
	tr.Add(steady(ctc.Binance, "SOL-USDT", -time.Hour, 2*time.Hour, func(d time.Duration) float64 {
		if d < 30*time.Second {
			return 101.5
		}
		return 100
	})...)
	tr.Add(steady(ctc.Coinbase, "SOL-USD", -time.Hour, 2*time.Hour, func(time.Duration) float64 { return 100 })...)
	// A configured pair, under another instrument name.
	tr.Add(steady(ctc.Binance, "XSOL-USDT", -time.Hour, 2*time.Hour, func(time.Duration) float64 { return 100 })...)
	tr.Add(steady(ctc.Coinbase, "XSOL-USD", -time.Hour, 2*time.Hour, func(d time.Duration) float64 {
		if d < 30*time.Second {
			return 102
		}
		return 100
	})...)
	alerts := []ctc.Alert{
		alert(ctc.Spread, ctc.Medium, detect.SpreadExchange, "SOL", 0, "SOL: spread +1.500%", 1.5),
		alert(ctc.Spread, ctc.High, detect.SpreadExchange, "SOLX", 0, "SOLX: spread -1.961%", -1.96),
	}
	cfg := Config{Baseline: -1, Pairs: []detect.Instrument{{Name: "SOLX", Binance: "XSOL-USDT", Coinbase: "XSOL-USD"}}}
	r, err := Evaluate(cfg, alerts, &tr)
	if err != nil {
		t.Fatal(err)
	}
	med := group(t, r, ctc.Spread, "medium")
	if med.Measure != MeasureConvergence {
		t.Errorf("measure %s", med.Measure)
	}
	near(t, "SOL convergence", med.Horizons[0].Alerts.Mean, -(100/101.5-1)*1e4)
	high := group(t, r, ctc.Spread, "high")
	near(t, "SOLX convergence", high.Horizons[0].Alerts.Mean, -(100.0/102-1)*1e4)
	if high.Horizons[0].Alerts.Hits != 1 {
		t.Errorf("a closing spread is a hit")
	}
}

// A horizon without trades is "no data", never guessed; an alert on a market without trades
// counts as no data at every horizon and draws no baseline.
func TestNoData(t *testing.T) {
	t.Parallel()
	var tr Trades
	// Trades until 10 minutes after the alert only, with a hole around +1 min.
	tr.Add(steady(ctc.Binance, "BTC-USDT", -time.Hour, 40*time.Second, func(time.Duration) float64 { return 100 })...)
	tr.Add(steady(ctc.Binance, "BTC-USDT", 81*time.Second, 10*time.Minute, func(time.Duration) float64 { return 100 })...)
	alerts := []ctc.Alert{
		alert(ctc.Whale, ctc.Medium, ctc.Binance, "BTC-USDT", 0, "BTC-USDT on binance: $150.0k buy of 1 at 100.00", 150_000),
		alert(ctc.Whale, ctc.Medium, ctc.Binance, "DOGE-USDT", 0, "DOGE-USDT on binance: $150.0k buy of 1 at 0.10", 150_000),
		alert(ctc.Whale, ctc.Medium, ctc.Binance, "BTC-USDT", time.Second, "BTC-USDT on binance: $150.0k of 1 at 100.00 (no side)", 150_000),
	}
	r, err := Evaluate(Config{Baseline: 5}, alerts, &tr)
	if err != nil {
		t.Fatal(err)
	}
	g := group(t, r, ctc.Whale, "medium")
	if g.Alerts != 3 || g.Undirected != 1 || g.PseudoAlerts != 5 {
		t.Errorf("alerts %d, undirected %d, pseudo %d; want 3, 1, 5", g.Alerts, g.Undirected, g.PseudoAlerts)
	}
	for i, want := range []struct{ n, none int }{{0, 2}, {1, 1}, {0, 2}, {0, 2}} {
		if s := g.Horizons[i].Alerts; s.N != want.n || s.NoData != want.none {
			t.Errorf("%s: n %d, no data %d; want %d, %d", g.Horizons[i].Horizon, s.N, s.NoData, want.n, want.none)
		}
	}
}

func TestDirectionOf(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		a    ctc.Alert
		want Direction
	}{
		{ctc.Alert{AlertType: ctc.Whale, Message: "ETH-USDT on binance: $251.3k buy of 83.7 at 3002.10 (over $100.0k)"}, Up},
		{ctc.Alert{AlertType: ctc.Whale, Message: "ETH-USD on coinbase: $1.50M sell of 500 at 3000.00 (over $1.00M)"}, Down},
		{ctc.Alert{AlertType: detect.WhaleCluster, Message: "SOL-USDT on binance: $150.0k sell split into a cluster of 6 orders (6 trades) over 2.5s"}, Down},
		{ctc.Alert{AlertType: ctc.Whale, Message: "garbled"}, None},
		{ctc.Alert{AlertType: ctc.Spread, ActualValue: 1.2}, Down},
		{ctc.Alert{AlertType: ctc.Spread, ActualValue: -0.7}, Up},
		{ctc.Alert{AlertType: ctc.VolumeSpike, Message: "BTC-USDT on binance: $1.92M buy traded"}, None},
	} {
		if got := DirectionOf(c.a); got != c.want {
			t.Errorf("DirectionOf(%s %q, %v) = %v, want %v", c.a.AlertType, c.a.Message, c.a.ActualValue, got, c.want)
		}
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	for _, c := range []Config{
		{Horizons: []Horizon{{0, time.Second}}},
		{Horizons: []Horizon{{time.Minute, -time.Second}}},
		{Confidence: 1.5},
		{Reference: -time.Second},
		{Baseline: 5000},
		{From: t0, To: t0},
		{Pairs: []detect.Instrument{{Name: "X"}}},
	} {
		if _, err := Evaluate(c, nil, nil); err == nil {
			t.Errorf("Evaluate(%+v) accepted it", c)
		}
	}
	r, err := Evaluate(Config{}, nil, nil)
	if err != nil || r.Alerts != 0 || len(r.Groups) != 0 || len(r.Horizons) != 4 {
		t.Fatalf("empty input: %+v, %v", r, err)
	}
}

func TestStats(t *testing.T) {
	t.Parallel()
	// Student t quantiles from the tables.
	for _, c := range []struct{ p, df, want float64 }{
		{0.975, 1, 12.706204736}, {0.975, 2, 4.302652730}, {0.975, 10, 2.228138852},
		{0.975, 30, 2.042272456}, {0.995, 5, 4.032142984}, {0.975, 1e9, 1.959963985},
	} {
		if got := tQuantile(c.p, c.df); math.Abs(got-c.want) > 1e-6 {
			t.Errorf("tQuantile(%v, %v) = %v, want %v", c.p, c.df, got, c.want)
		}
	}
	// Wilson: 8 of 10 at 95 % is [0.4902, 0.9433].
	w := wilson(8, 10, normalQuantile(0.975))
	if math.Abs(w.Low-0.490162) > 1e-5 || math.Abs(w.High-0.943318) > 1e-5 {
		t.Errorf("wilson(8, 10) = %+v", w)
	}
	if w := wilson(0, 5, 1.96); w.Low != 0 || w.High <= 0 {
		t.Errorf("wilson(0, 5) = %+v", w)
	}
	if wilson(0, 0, 1.96) != nil {
		t.Error("wilson of nothing must be nil")
	}
	if got := median([]float64{3, 1, 2, 10}); got != 2.5 {
		t.Errorf("median = %v", got)
	}
	m, v := moments([]float64{1, 2, 3, 4})
	ci := meanInterval(m, v, 4, 0.95)
	// mean 2.5, s = 1.290994, t(0.975, 3) = 3.182446
	if h := 3.182446305 * 1.290994449 / 2; math.Abs(ci.Low-(2.5-h)) > 1e-6 || math.Abs(ci.High-(2.5+h)) > 1e-6 {
		t.Errorf("mean interval %+v", ci)
	}
	if e := welch(1, 0, 5, 1, 0, 5, 0.95); e.Low != 0 || e.High != 0 {
		t.Errorf("welch of constants %+v", e)
	}
}

// Pseudo-alerts stay inside [From, To) and the market's trades, and depend on the seed.
func TestBaselineBounds(t *testing.T) {
	t.Parallel()
	var tr Trades
	tr.Add(steady(ctc.Binance, "BTC-USDT", -2*time.Hour, 3*time.Hour, func(d time.Duration) float64 { return 100 + d.Hours() })...)
	a := alert(ctc.Whale, ctc.Medium, ctc.Binance, "BTC-USDT", 0, "BTC-USDT on binance: $150.0k buy of 1 at 100.00", 150_000)
	cfg := Config{Baseline: 200, From: t0.Add(-time.Hour), To: t0.Add(time.Hour)}
	r1, _ := Evaluate(cfg, []ctc.Alert{a}, &tr)
	cfg.Seed = 7
	r2, _ := Evaluate(cfg, []ctc.Alert{a}, &tr)
	b1, b2 := r1.Groups[0].Horizons[0].Baseline, r2.Groups[0].Horizons[0].Baseline
	if b1.N != 200 || b1.NoData != 0 || b1 == b2 {
		t.Errorf("baselines %+v, %+v", b1, b2)
	}
	// The price rises 1 %/h: every +1h move is about +100 bp.
	near(t, "+1h baseline median", math.Round(r1.Groups[0].Horizons[3].Baseline.Median/10), 10)
}

// Prices no quality chain passes make no data, never a NaN that would spoil the statistics and
// the JSON.
func TestBadPricesAreNoData(t *testing.T) {
	t.Parallel()
	var tr Trades
	tr.Add(steady(ctc.Binance, "BTC-USDT", -time.Hour, 2*time.Hour, func(d time.Duration) float64 {
		switch {
		case d >= 45*time.Second && d <= 75*time.Second: // around +1m
			return math.NaN()
		case d >= 4*time.Minute && d <= 6*time.Minute: // around +5m
			return 0
		case d >= 14*time.Minute && d <= 16*time.Minute: // around +15m
			return math.Inf(1)
		}
		return 100
	})...)
	a := alert(ctc.Whale, ctc.Medium, ctc.Binance, "BTC-USDT", 0, "BTC-USDT on binance: $150.0k buy of 1 at 100.00", 150_000)
	r, err := Evaluate(Config{}, []ctc.Alert{a}, &tr)
	if err != nil {
		t.Fatal(err)
	}
	h := r.Groups[0].Horizons
	if h[0].Alerts.NoData != 1 || h[1].Alerts.NoData != 1 || h[2].Alerts.NoData != 1 || h[3].Alerts.N != 1 {
		t.Errorf("horizons %+v", h)
	}
	if _, err := json.Marshal(r); err != nil {
		t.Errorf("the report does not marshal: %v", err)
	}
}

// Report.JSON is encoding/json's indented form and a newline, and reads back as the report.
func TestReportJSON(t *testing.T) {
	t.Parallel()
	var tr Trades
	tr.Add(steady(ctc.Binance, "BTC-USDT", -time.Hour, 2*time.Hour, func(time.Duration) float64 { return 100 })...)
	r, err := Evaluate(Config{Seed: 1}, []ctc.Alert{alert(ctc.Whale, ctc.High, ctc.Binance, "BTC-USDT", 0, "BTC-USDT on binance: $600.0k buy of 10 at 100.00 (over $500.0k)", 600_000)}, &tr)
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.JSON()
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.MarshalIndent(r, "", "  ")
	if string(b) != string(want)+"\n" {
		t.Fatalf("JSON is not the indented encoding and a newline:\n%s", b)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil || back.Alerts != 1 || back.Trades != r.Trades {
		t.Fatalf("read back: %+v, %v", back, err)
	}
}
