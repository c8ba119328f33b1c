package detect_test

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/ctctest"
	"github.com/coattailcapital/ctc/detect"
)

// The oracles below compute what each detector must emit from all the trades at once, with plain
// loops and plain float sums, independently of the window package the detectors stream through.

func volumeOracle(trades []ctc.Trade) ctc.Output {
	const size = int64(time.Minute)
	type key struct{ sym, ex string }
	type agg struct {
		n                                 int64
		quote, pq, qty, buy, sell, hi, lo float64
	}
	windows := map[key]map[int64]*agg{}
	for _, t := range trades {
		k := key{t.Symbol, t.Exchange}
		ts := t.Timestamp.UnixNano()
		start := ts - ((ts%size)+size)%size
		if windows[k] == nil {
			windows[k] = map[int64]*agg{}
		}
		a := windows[k][start]
		if a == nil {
			a = &agg{hi: math.Inf(-1), lo: math.Inf(1)}
			windows[k][start] = a
		}
		a.n++
		a.quote += t.QuoteVolume
		a.pq += t.Price * t.Quantity
		a.qty += t.Quantity
		if t.Side == ctc.Buy {
			a.buy += t.QuoteVolume
		} else {
			a.sell += t.QuoteVolume
		}
		a.hi, a.lo = max(a.hi, t.Price), min(a.lo, t.Price)
	}
	var out ctc.Output
	for k, ws := range windows {
		starts := make([]int64, 0, len(ws))
		for s := range ws {
			starts = append(starts, s)
		}
		slices.Sort(starts)
		var series []float64 // every window of the key from its first, empty ones as zero
		for s := starts[0]; s <= starts[len(starts)-1]; s += size {
			a := ws[s]
			if a == nil {
				series = append(series, 0)
				continue
			}
			st, en := time.Unix(0, s).UTC(), time.Unix(0, s+size).UTC()
			out.Volumes = append(out.Volumes, ctc.VolumeWindow{Symbol: k.sym, Exchange: k.ex,
				WindowStart: st, WindowEnd: en, TradeCount: a.n, TotalVolume: a.quote, AvgPrice: a.pq / a.qty,
				MaxPrice: a.hi, MinPrice: a.lo, BuyVolume: a.buy, SellVolume: a.sell})
			hist := series[max(0, len(series)-60):]
			series = append(series, a.quote)
			if len(hist) < 10 {
				continue
			}
			var mean float64
			for _, v := range hist {
				mean += v
			}
			mean /= float64(len(hist))
			var ss float64
			for _, v := range hist {
				ss += (v - mean) * (v - mean)
			}
			sd := math.Sqrt(ss / float64(len(hist)-1))
			if sd == 0 {
				continue
			}
			z := (a.quote - mean) / sd
			sev, th := ctc.Severity(0), 0.0
			if math.Abs(z) > 3.5 {
				sev, th = ctc.High, 3.5
			} else if math.Abs(z) > 2.5 {
				sev, th = ctc.Medium, 2.5
			} else {
				continue
			}
			out.Alerts = append(out.Alerts, ctc.Alert{
				AlertID:   ctc.NewAlertID(ctc.VolumeSpike, k.ex, k.sym, st.Format("2006-01-02T15:04:05.000Z")),
				AlertType: ctc.VolumeSpike, Symbol: k.sym, Exchange: k.ex, Severity: sev, ZScore: z,
				ThresholdValue: th, ActualValue: a.quote, WindowStart: st, DetectedAt: en,
				TTLEpoch: en.Add(24 * time.Hour).Unix(),
			})
		}
	}
	return out
}

func whaleOracle(trades []ctc.Trade) ctc.Output {
	var out ctc.Output
	for _, t := range trades {
		var sev ctc.Severity
		var th float64
		switch q := t.QuoteVolume; {
		case q > 1e6:
			sev, th = ctc.Critical, 1e6
		case q > 5e5:
			sev, th = ctc.High, 5e5
		case q > 1e5:
			sev, th = ctc.Medium, 1e5
		default:
			continue
		}
		id := ctc.NewAlertID(ctc.Whale, t.Exchange, t.Symbol, t.EventID.String())
		out.Alerts = append(out.Alerts, ctc.Alert{AlertID: id, AlertType: ctc.Whale, Symbol: t.Symbol,
			Exchange: t.Exchange, Severity: sev, ThresholdValue: th, ActualValue: t.QuoteVolume,
			WindowStart: t.Timestamp, DetectedAt: t.Timestamp, TTLEpoch: t.Timestamp.Add(24 * time.Hour).Unix()})
		out.Whales = append(out.Whales, ctc.WhaleTrade{AlertID: id, Severity: sev, ThresholdValue: th,
			DetectedAt: t.Timestamp, Trade: t})
	}
	return out
}

func spreadOracle(trades []ctc.Trade) ctc.Output {
	const size = int64(30 * time.Second)
	type key struct {
		inst  string
		start int64
	}
	type legs struct{ bpq, bq, cpq, cq float64 }
	ws := map[key]*legs{}
	for _, t := range trades {
		var inst string
		var coinbase bool
		switch {
		case t.Exchange == "binance" && strings.HasSuffix(t.Symbol, "-USDT"):
			inst = strings.TrimSuffix(t.Symbol, "-USDT")
		case t.Exchange == "coinbase" && strings.HasSuffix(t.Symbol, "-USD"):
			inst, coinbase = strings.TrimSuffix(t.Symbol, "-USD"), true
		default:
			continue
		}
		ts := t.Timestamp.UnixNano()
		k := key{inst, ts - ((ts%size)+size)%size}
		if ws[k] == nil {
			ws[k] = &legs{}
		}
		if coinbase {
			ws[k].cpq += t.Price * t.Quantity
			ws[k].cq += t.Quantity
		} else {
			ws[k].bpq += t.Price * t.Quantity
			ws[k].bq += t.Quantity
		}
	}
	var out ctc.Output
	for k, l := range ws {
		if l.bq == 0 || l.cq == 0 {
			continue
		}
		b, c := l.bpq/l.bq, l.cpq/l.cq
		pct := (b - c) / c * 100
		st, en := time.Unix(0, k.start).UTC(), time.Unix(0, k.start+size).UTC()
		out.Spreads = append(out.Spreads, ctc.SpreadWindow{Symbol: k.inst, WindowStart: st, WindowEnd: en,
			BinanceVWAP: b, CoinbaseVWAP: c, SpreadPct: pct})
		sev, th := ctc.Severity(0), 0.0
		switch a := math.Abs(pct); {
		case a > 2:
			sev, th = ctc.High, 2
		case a > 1:
			sev, th = ctc.Medium, 1
		case a > 0.5:
			sev, th = ctc.Low, 0.5
		default:
			continue
		}
		out.Alerts = append(out.Alerts, ctc.Alert{
			AlertID:   ctc.NewAlertID(ctc.Spread, "binance-coinbase", k.inst, st.Format("2006-01-02T15:04:05.000Z")),
			AlertType: ctc.Spread, Symbol: k.inst, Exchange: "binance-coinbase", Severity: sev,
			ThresholdValue: th, ActualValue: pct, WindowStart: st, DetectedAt: en,
			TTLEpoch: en.Add(24 * time.Hour).Unix()})
	}
	return out
}

// stripMessages wraps a detector and blanks its alert messages, which the oracles do not
// reproduce word for word.
func stripMessages(d ctc.Detector) ctc.Detector { return messageless{d} }

type messageless struct{ ctc.Detector }

func (m messageless) Observe(t *ctc.Trade, out *ctc.Output) {
	n := len(out.Alerts)
	m.Detector.Observe(t, out)
	blank(out.Alerts[n:])
}

func (m messageless) Advance(t time.Time, out *ctc.Output) {
	n := len(out.Alerts)
	m.Detector.Advance(t, out)
	blank(out.Alerts[n:])
}

func (m messageless) Snapshot() ([]byte, error) { return m.Detector.(ctc.Snapshotter).Snapshot() }
func (m messageless) Restore(b []byte) error    { return m.Detector.(ctc.Snapshotter).Restore(b) }

func blank(as []ctc.Alert) {
	for i := range as {
		as[i].Message = ""
	}
}

func TestVolumeLaws(t *testing.T) {
	t.Parallel()
	ctctest.TestDetector(t, ctctest.DetectorSpec{
		New: func() ctc.Detector {
			d, err := detect.NewVolume(detect.VolumeConfig{})
			if err != nil {
				t.Fatal(err)
			}
			return stripMessages(d)
		},
		Lateness: 30 * time.Second,
		Oracle:   volumeOracle,
	})
}

func TestWhaleLaws(t *testing.T) {
	t.Parallel()
	ctctest.TestDetector(t, ctctest.DetectorSpec{
		New:      func() ctc.Detector { return stripMessages(detect.NewWhale(detect.WhaleConfig{})) },
		Lateness: time.Hour, // per trade: any order gives the same alerts
		Oracle:   whaleOracle,
	})
}

func TestSpreadLaws(t *testing.T) {
	t.Parallel()
	ctctest.TestDetector(t, ctctest.DetectorSpec{
		New: func() ctc.Detector {
			d, err := detect.NewSpread(detect.SpreadConfig{})
			if err != nil {
				t.Fatal(err)
			}
			return stripMessages(d)
		},
		Lateness: 15 * time.Second,
		Oracle:   spreadOracle,
	})
}

var t0 = time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC)

func trade(ex, sym string, id int64, at time.Duration, price, qty float64, side ctc.Side) ctc.Trade {
	return ctc.Trade{EventID: ctc.NewEventIDInt(ex, sym, id), Exchange: ex, Symbol: sym, Price: price,
		Quantity: qty, QuoteVolume: price * qty, Side: side, Timestamp: t0.Add(at)}
}

func TestVolumeSpikeFiresOnceAtWatermark(t *testing.T) {
	t.Parallel()
	d, err := detect.NewVolume(detect.VolumeConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var out ctc.Output
	id := int64(0)
	add := func(at time.Duration, qty float64) {
		id++
		tr := trade("binance", "BTC-USDT", id, at, 100, qty, ctc.Buy)
		d.Observe(&tr, &out)
	}
	// Twelve quiet minutes with slightly different volumes, then a burst in minute 12.
	for m := range 12 {
		add(time.Duration(m)*time.Minute+time.Second, 10+float64(m%3))
	}
	add(12*time.Minute+time.Second, 500)
	if n := len(out.Alerts); n != 0 {
		t.Fatalf("alert before minute 12 closed: %v", out.Alerts)
	}
	// The watermark reaches the end of minute 12 (10:13:00) when event time reaches 10:13:30.
	add(13*time.Minute+29*time.Second, 10)
	if n := len(out.Alerts); n != 0 {
		t.Fatalf("window fired before the watermark reached its end: %v", out.Alerts)
	}
	add(13*time.Minute+30*time.Second, 10)
	if n := len(out.Alerts); n != 1 {
		t.Fatalf("want 1 alert when the watermark reaches 10:13, got %d", n)
	}
	a := out.Alerts[0]
	if a.Severity != ctc.High || a.ThresholdValue != 3.5 || a.ActualValue != 50000 ||
		!a.WindowStart.Equal(t0.Add(12*time.Minute)) || !a.DetectedAt.Equal(t0.Add(13*time.Minute)) ||
		a.TTLEpoch != t0.Add(13*time.Minute+24*time.Hour).Unix() {
		t.Fatalf("unexpected alert %+v", a)
	}
	// A trade for the fired window is late: reported, never re-firing.
	add(12*time.Minute+59*time.Second, 10000)
	if len(out.Late) != 1 || len(out.Alerts) != 1 {
		t.Fatalf("late trade: want 1 late and still 1 alert, got %d late, %d alerts", len(out.Late), len(out.Alerts))
	}
	d.Advance(ctc.EndOfTime, &out)
	if got := len(out.Volumes); got != 14 {
		t.Fatalf("want 14 volume windows after the end of input, got %d", got)
	}
}

func TestVolumeNeedsHistoryAndDeviation(t *testing.T) {
	t.Parallel()
	d, _ := detect.NewVolume(detect.VolumeConfig{})
	var out ctc.Output
	// Identical volumes: stddev 0 never alerts, whatever comes next.
	for m := range 20 {
		tr := trade("coinbase", "ETH-USD", int64(m), time.Duration(m)*time.Minute, 10, 1, ctc.Sell)
		d.Observe(&tr, &out)
	}
	// Nine windows of history are not enough.
	d2, _ := detect.NewVolume(detect.VolumeConfig{})
	var out2 ctc.Output
	for m := range 10 {
		q := 1 + float64(m%2)
		if m == 9 {
			q = 1000
		}
		tr := trade("coinbase", "ETH-USD", int64(m), time.Duration(m)*time.Minute, 10, q, ctc.Sell)
		d2.Observe(&tr, &out2)
	}
	d.Advance(ctc.EndOfTime, &out)
	d2.Advance(ctc.EndOfTime, &out2)
	if len(out.Alerts)+len(out2.Alerts) != 0 {
		t.Fatalf("want no alerts, got %v %v", out.Alerts, out2.Alerts)
	}
}

func TestWhaleSeverities(t *testing.T) {
	t.Parallel()
	d := detect.NewWhale(detect.WhaleConfig{})
	cases := []struct {
		quote float64
		want  ctc.Severity
	}{{100_000, 0}, {100_001, ctc.Medium}, {500_001, ctc.High}, {1_000_000, ctc.High}, {1_000_001, ctc.Critical}}
	for i, c := range cases {
		var out ctc.Output
		tr := trade("binance", "BTC-USDT", int64(i), 0, 1, c.quote, ctc.Buy)
		d.Observe(&tr, &out)
		got := ctc.Severity(0)
		if len(out.Alerts) == 1 {
			got = out.Alerts[0].Severity
			if out.Whales[0].Trade != tr || !out.Alerts[0].DetectedAt.Equal(tr.Timestamp) {
				t.Errorf("whale record does not keep the trade: %+v", out.Whales[0])
			}
		}
		if got != c.want {
			t.Errorf("quote %g: severity %v, want %v", c.quote, got, c.want)
		}
	}
}

func TestSpreadJoin(t *testing.T) {
	t.Parallel()
	d, _ := detect.NewSpread(detect.SpreadConfig{})
	var out ctc.Output
	trades := []ctc.Trade{
		trade("binance", "BTC-USDT", 1, time.Second, 101, 1, ctc.Buy),
		trade("binance", "BTC-USDT", 2, 2*time.Second, 103, 1, ctc.Buy), // VWAP 102
		trade("coinbase", "BTC-USD", 3, 3*time.Second, 100, 2, ctc.Sell),
		trade("binance", "ETH-USDT", 4, 4*time.Second, 10, 1, ctc.Sell), // no Coinbase leg: no row
		trade("coinbase", "BTC-EUR", 5, 5*time.Second, 90, 1, ctc.Sell), // not an instrument
	}
	for i := range trades {
		d.Observe(&trades[i], &out)
	}
	d.Advance(ctc.EndOfTime, &out)
	want := []ctc.SpreadWindow{{Symbol: "BTC", WindowStart: t0, WindowEnd: t0.Add(30 * time.Second),
		BinanceVWAP: 102, CoinbaseVWAP: 100, SpreadPct: 2}}
	if d := cmp.Diff(want, out.Spreads); d != "" {
		t.Fatalf("spreads (-want +got):\n%s", d)
	}
	if len(out.Alerts) != 1 || out.Alerts[0].Severity != ctc.Medium || out.Alerts[0].ThresholdValue != 1 {
		t.Fatalf("want one medium alert (2%% is not > 2%%), got %+v", out.Alerts)
	}
}

func TestSpreadCustomInstruments(t *testing.T) {
	t.Parallel()
	_, err := detect.NewSpread(detect.SpreadConfig{Instruments: []detect.Instrument{{Name: "BTC", Binance: "BTC-USDC", Coinbase: "BTC-USD"}, {Name: "XBT", Binance: "BTC-USDC", Coinbase: "XBT-USD"}}})
	if err == nil || !strings.Contains(err.Error(), "BTC-USDC") {
		t.Fatalf("want an error naming the symbol mapped twice, got %v", err)
	}
	d, err := detect.NewSpread(detect.SpreadConfig{Instruments: []detect.Instrument{{Name: "BTC", Binance: "BTC-USDC", Coinbase: "BTC-USD"}}})
	if err != nil {
		t.Fatal(err)
	}
	var out ctc.Output
	for i, tr := range []ctc.Trade{trade("binance", "BTC-USDC", 1, 0, 100, 1, ctc.Buy), trade("coinbase", "BTC-USD", 2, 0, 100, 1, ctc.Buy)} {
		_ = i
		d.Observe(&tr, &out)
	}
	d.Advance(ctc.EndOfTime, &out)
	if len(out.Spreads) != 1 || out.Spreads[0].SpreadPct != 0 {
		t.Fatalf("want one joined window with 0 spread, got %+v", out.Spreads)
	}
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		err  error
		want string
	}{
		{detect.VolumeConfig{Window: -time.Second}.Validate(), "size"},
		{detect.VolumeConfig{MinHistory: 100}.Validate(), "min history"},
		{detect.VolumeConfig{Medium: 4, High: 3}.Validate(), "medium"},
		{detect.SpreadConfig{Low: 3}.Validate(), "low"},
		{detect.WhaleConfig{Medium: 2e6}.Validate(), "medium"},
	} {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("want an error about %q, got %v", c.want, c.err)
		}
	}
}

func ExampleNewVolume() {
	d, _ := detect.NewVolume(detect.VolumeConfig{})
	var out ctc.Output
	for m := range 12 {
		qty := 10.0 + float64(m%2)
		if m == 11 {
			qty = 100 // the spike
		}
		tr := trade("binance", "BTC-USDT", int64(m), time.Duration(m)*time.Minute, 100, qty, ctc.Buy)
		d.Observe(&tr, &out)
	}
	d.Advance(ctc.EndOfTime, &out)
	for _, a := range out.Alerts {
		fmt.Printf("%s %s %s z=%.1f at %s\n", a.AlertType, a.Severity, a.Symbol, a.ZScore, a.DetectedAt.Format(time.TimeOnly))
	}
	// Output:
	// volume_spike high BTC-USDT z=171.5 at 10:12:00
}
