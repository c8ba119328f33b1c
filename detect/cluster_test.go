package detect_test

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/ctctest"
	"github.com/coattailcapital/ctc/detect"
	"github.com/coattailcapital/ctc/quality"
	"github.com/coattailcapital/ctc/sink/memory"
	"github.com/coattailcapital/ctc/source/sim"
)

// clusterParams are a ClusterConfig's effective values, spelled out for the oracle.
type clusterParams struct {
	medium, high, critical float64
	maxGap                 time.Duration
	minOrders              int
	minOrder, minShare     float64
}

var defaultClusterParams = clusterParams{medium: 1e5, high: 5e5, critical: 1e6, maxGap: 2 * time.Second,
	minOrders: 3, minOrder: 1e4, minShare: 0.5}

// clusterOracle computes the clusters of all the trades at once: orders are the trades of one
// (exchange, symbol, side, timestamp); chains of eligible orders per (exchange, symbol, side) are
// cut where the gap exceeds maxGap; the flow is summed afresh over every order in each chain's span.
func clusterOracle(p clusterParams) func([]ctc.Trade) ctc.Output {
	return func(trades []ctc.Trade) ctc.Output {
		type key struct {
			ex, sym string
			side    ctc.Side
			ts      int64
		}
		type order struct {
			key
			quote, pq, qty float64
			n              int64
		}
		byKey := map[key]*order{}
		var orders []*order
		for _, t := range trades {
			k := key{t.Exchange, t.Symbol, t.Side, t.Timestamp.UnixNano()}
			o := byKey[k]
			if o == nil {
				o = &order{key: k}
				byKey[k] = o
				orders = append(orders, o)
			}
			o.quote += t.QuoteVolume
			o.pq += t.Price * t.Quantity
			o.qty += t.Quantity
			o.n++
		}
		slices.SortStableFunc(orders, func(a, b *order) int { return cmp.Compare(a.ts, b.ts) })
		var out ctc.Output
		emit := func(chain []*order) {
			var sum, pq, qty float64
			var trades int64
			for _, o := range chain {
				sum += o.quote
				pq += o.pq
				qty += o.qty
				trades += o.n
			}
			first, last := chain[0], chain[len(chain)-1]
			var flow float64
			for _, o := range orders {
				if o.ex == first.ex && o.sym == first.sym && o.ts >= first.ts && o.ts <= last.ts && o.quote <= p.medium {
					flow += o.quote
				}
			}
			var sev ctc.Severity
			var th float64
			switch {
			case len(chain) < p.minOrders || sum/flow < p.minShare:
				return
			case sum > p.critical:
				sev, th = ctc.Critical, p.critical
			case sum > p.high:
				sev, th = ctc.High, p.high
			case sum > p.medium:
				sev, th = ctc.Medium, p.medium
			default:
				return
			}
			at0, at1 := time.Unix(0, first.ts).UTC(), time.Unix(0, last.ts).UTC()
			out.Alerts = append(out.Alerts, ctc.Alert{
				AlertID: ctc.NewAlertID("whale_cluster", first.ex, first.sym,
					first.side.String()+"|"+at0.Format("2006-01-02T15:04:05.000Z")),
				AlertType: "whale_cluster", Symbol: first.sym, Exchange: first.ex, Severity: sev,
				ThresholdValue: th, ActualValue: sum, WindowStart: at0, DetectedAt: at1,
				TTLEpoch: at1.Add(24 * time.Hour).Unix()})
		}
		type lane struct {
			ex, sym string
			side    ctc.Side
		}
		chains := map[lane][]*order{}
		for _, o := range orders {
			if o.quote < p.minOrder || o.quote > p.medium {
				continue
			}
			l := lane{o.ex, o.sym, o.side}
			if c := chains[l]; len(c) > 0 && time.Duration(o.ts-c[len(c)-1].ts) > p.maxGap {
				emit(c)
				chains[l] = nil
			}
			chains[l] = append(chains[l], o)
		}
		for _, c := range chains {
			if len(c) > 0 {
				emit(c)
			}
		}
		return out
	}
}

var clusterT0 = time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC)

// clusterTrades generates trades in time order on three instruments, as episodes: a whale
// splitting an order (2–20 orders of one size ±10 %, on one instrument and side, gaps up to a
// little over MaxGap and exactly MaxGap too), with or without other traders' orders around it on
// the same instrument; and ordinary flow (orders of every size on any instrument and side, whales
// and orders of exactly $100,000, the largest that is not a whale, included). Orders have one to
// three fills at the same instant, and orders at the same instant on one instrument and side are
// one order.
func clusterTrades() *rapid.Generator[[]ctc.Trade] {
	keys := [][2]string{{ctc.Binance, "BTC-USDT"}, {ctc.Coinbase, "BTC-USD"}, {ctc.Binance, "ETH-USDT"}}
	sides := []ctc.Side{ctc.Buy, ctc.Sell}
	return rapid.Custom(func(t *rapid.T) []ctc.Trade {
		at := clusterT0
		var trades []ctc.Trade
		order := func(k int, side ctc.Side, size float64, fills int) {
			for range fills {
				price, qty := 100.0, size/100
				if size != 100_000 {
					price = math.Round(100*(1+rapid.Float64Range(-0.001, 0.001).Draw(t, "noise"))*100) / 100
					qty = math.Max(math.Round(size/float64(fills)/price*1e6)/1e6, 1e-6)
				}
				ex, sym := keys[k][0], keys[k][1]
				trades = append(trades, ctc.Trade{EventID: ctc.NewEventIDInt(ex, sym, int64(len(trades))),
					Exchange: ex, Symbol: sym, Price: price, Quantity: qty, QuoteVolume: price * qty, Side: side,
					Timestamp: at, IngestionTimestamp: at.Add(5 * time.Millisecond)})
			}
		}
		gap := func() {
			switch rapid.IntRange(0, 9).Draw(t, "gap") {
			case 0: // the same instant
			case 1:
				at = at.Add(2 * time.Second)
			case 2:
				at = at.Add(time.Duration(rapid.Int64Range(2001, 4000).Draw(t, "over")) * time.Millisecond)
			default:
				at = at.Add(time.Duration(rapid.Int64Range(1, 1999).Draw(t, "within")) * time.Millisecond)
			}
		}
		anySize := func() (float64, int) {
			switch rapid.IntRange(0, 9).Draw(t, "size") {
			case 0:
				return 100_000, 1
			case 1:
				return rapid.Float64Range(100_001, 400_000).Draw(t, "whale"), rapid.IntRange(1, 3).Draw(t, "fills")
			case 2, 3, 4:
				return rapid.Float64Range(9_000, 99_000).Draw(t, "mid"), rapid.IntRange(1, 3).Draw(t, "fills")
			}
			return rapid.Float64Range(50, 9_000).Draw(t, "small"), rapid.IntRange(1, 3).Draw(t, "fills")
		}
		for range rapid.IntRange(0, 8).Draw(t, "episodes") {
			at = at.Add(time.Duration(rapid.Int64Range(0, 20_000).Draw(t, "pause")) * time.Millisecond)
			if rapid.Bool().Draw(t, "split") {
				k, side := rapid.IntRange(0, len(keys)-1).Draw(t, "key"), rapid.SampledFrom(sides).Draw(t, "side")
				size := rapid.Float64Range(9_000, 99_000).Draw(t, "chunk")
				busy := rapid.IntRange(0, 4).Draw(t, "busy")
				for i := range rapid.IntRange(2, 20).Draw(t, "chunks") {
					if i > 0 {
						at = at.Add(time.Duration(rapid.SampledFrom([]int64{100, 500, 1000, 1999, 2000, 2001}).Draw(t, "step")) * time.Millisecond)
					}
					order(k, side, min(size*rapid.Float64Range(0.9, 1.1).Draw(t, "jitter"), 99_999), rapid.IntRange(1, 3).Draw(t, "fills"))
					for range rapid.IntRange(0, busy).Draw(t, "others") {
						q, f := anySize()
						order(k, rapid.SampledFrom(sides).Draw(t, "other side"), q, f)
					}
				}
				continue
			}
			for range rapid.IntRange(1, 15).Draw(t, "orders") {
				gap()
				q, f := anySize()
				order(rapid.IntRange(0, len(keys)-1).Draw(t, "key"), rapid.SampledFrom(sides).Draw(t, "side"), q, f)
			}
		}
		return trades
	})
}

func newCluster(t testing.TB, cfg detect.ClusterConfig) *detect.Cluster {
	t.Helper()
	d, err := detect.NewCluster(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// The laws of every detector, against the batch oracle, with the defaults and with other settings,
// on inputs made of splitting whales and on ctctest's general trades.
func TestClusterLaws(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		cfg   detect.ClusterConfig
		p     clusterParams
		gen   *rapid.Generator[[]ctc.Trade]
		lateL time.Duration
	}{
		{"defaults", detect.ClusterConfig{}, defaultClusterParams, clusterTrades(), 15 * time.Second},
		{"tight", detect.ClusterConfig{MaxGap: 700 * time.Millisecond, MinOrders: 2, MinOrder: 20_000, MinShare: 0.8, Lateness: 3 * time.Second},
			clusterParams{medium: 1e5, high: 5e5, critical: 1e6, maxGap: 700 * time.Millisecond, minOrders: 2, minOrder: 20_000, minShare: 0.8},
			clusterTrades(), 3 * time.Second},
		{"no floor, no share", detect.ClusterConfig{Medium: 50_000, High: 200_000, Critical: 300_000, MinOrder: -1, MinShare: -1, MaxGap: 5 * time.Second},
			clusterParams{medium: 5e4, high: 2e5, critical: 3e5, maxGap: 5 * time.Second, minOrders: 3, minOrder: 0, minShare: 0},
			clusterTrades(), 15 * time.Second},
		{"ctctest trades", detect.ClusterConfig{MinShare: -1}, clusterParams{medium: 1e5, high: 5e5, critical: 1e6,
			maxGap: 2 * time.Second, minOrders: 3, minOrder: 1e4, minShare: 0}, ctctest.Trades(ctctest.TradeGen{}), 15 * time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctctest.TestDetector(t, ctctest.DetectorSpec{
				New:      func() ctc.Detector { return stripMessages(newCluster(t, c.cfg)) },
				Lateness: c.lateL,
				Trades:   c.gen,
				Oracle:   clusterOracle(c.p),
			})
		})
	}
}

// The generator must make the laws bite: many inputs hold clusters, of every severity, and some
// clusters fail only the share rule.
func TestClusterTradesHoldClusters(t *testing.T) {
	t.Parallel()
	sev := map[ctc.Severity]int{}
	var withAlerts, shareOnly int
	noShare := defaultClusterParams
	noShare.minShare = 0
	for i := range 200 {
		trades := clusterTrades().Example(i)
		out := ctctest.Run(newCluster(t, detect.ClusterConfig{}), trades)
		if len(out.Alerts) > 0 {
			withAlerts++
		}
		for _, a := range out.Alerts {
			sev[a.Severity]++
		}
		shareOnly += len(clusterOracle(noShare)(trades).Alerts) - len(out.Alerts)
	}
	t.Logf("%d of 200 inputs raise alerts; severities %v; %d clusters fail only the share rule", withAlerts, sev, shareOnly)
	if withAlerts < 80 || sev[ctc.Medium] == 0 || sev[ctc.High] == 0 || sev[ctc.Critical] == 0 || shareOnly == 0 {
		t.Fatalf("the generator exercises too little: %d of 200 inputs with alerts, severities %v, %d failing the share rule only",
			withAlerts, sev, shareOnly)
	}
}

// clusterTrade makes a trade of about quote on ex/sym at clusterT0+at, with id as its trade id.
func clusterTrade(ex, sym string, id int64, at time.Duration, price, quote float64, side ctc.Side) ctc.Trade {
	qty := math.Round(quote/price*1e6) / 1e6
	ts := clusterT0.Add(at)
	return ctc.Trade{EventID: ctc.NewEventIDInt(ex, sym, id), Exchange: ex, Symbol: sym, Price: price,
		Quantity: qty, QuoteVolume: price * qty, Side: side, Timestamp: ts, IngestionTimestamp: ts}
}

// run feeds trades to every detector, then ends the input.
func runAll(trades []ctc.Trade, ds ...ctc.Detector) ctc.Output {
	var out ctc.Output
	for i := range trades {
		for _, d := range ds {
			d.Observe(&trades[i], &out)
		}
	}
	for _, d := range ds {
		d.Advance(ctc.EndOfTime, &out)
	}
	return out
}

// The acceptance case of the issue: eight buys of about $30k, 0.5 s apart, on one instrument,
// raise exactly one cluster alert and no whale alert with the defaults of both detectors.
func TestClusterEightBuysOfThirtyK(t *testing.T) {
	t.Parallel()
	var trades []ctc.Trade
	var sum, pq, qty float64
	for i := range 8 {
		tr := clusterTrade(ctc.Binance, "BTC-USDT", int64(i), 10*time.Second+time.Duration(i)*500*time.Millisecond,
			60_000+float64(i), 30_000+float64(i*250), ctc.Buy)
		trades = append(trades, tr)
		sum += tr.QuoteVolume
		pq += tr.Price * tr.Quantity
		qty += tr.Quantity
	}
	out := runAll(trades, detect.NewWhale(detect.WhaleConfig{}), newCluster(t, detect.ClusterConfig{}))
	if len(out.Whales) != 0 || len(out.Alerts) != 1 {
		t.Fatalf("want one alert and no whale, got %d whales and alerts %+v", len(out.Whales), out.Alerts)
	}
	a := out.Alerts[0]
	first, last := trades[0].Timestamp, trades[7].Timestamp
	want := ctc.Alert{
		AlertID:   ctc.NewAlertID(detect.WhaleCluster, ctc.Binance, "BTC-USDT", "buy|"+ctc.WindowKey(first)),
		AlertType: "whale_cluster", Symbol: "BTC-USDT", Exchange: ctc.Binance, Severity: ctc.Medium,
		ThresholdValue: 100_000, ActualValue: a.ActualValue, WindowStart: first, DetectedAt: last,
		Message: a.Message, TTLEpoch: last.Add(24 * time.Hour).Unix(),
	}
	if d := gocmp.Diff(want, a); d != "" {
		t.Fatalf("alert (-want +got):\n%s", d)
	}
	if math.Abs(a.ActualValue-sum) > 1e-6 {
		t.Errorf("ActualValue %v, want the summed quote volume %v", a.ActualValue, sum)
	}
	vwap := fmt.Sprintf("VWAP %.2f", pq/qty)
	for _, s := range []string{"split", "cluster", "$247.0k buy", "8 orders (8 trades)", "over 3.5s", vwap, "100% of the volume", "no order over $100.0k"} {
		if !strings.Contains(a.Message, s) {
			t.Errorf("message %q does not say %q", a.Message, s)
		}
	}
	t.Log(a.Message)
}

// A cluster is decided when the watermark (newest trade − Lateness) passes its last order +
// MaxGap, not before: until then a next order could still extend it.
func TestClusterDecidedWhenWatermarkPassesLastPlusGap(t *testing.T) {
	t.Parallel()
	d := newCluster(t, detect.ClusterConfig{})
	var out ctc.Output
	for i := range 4 {
		tr := clusterTrade(ctc.Coinbase, "ETH-USD", int64(i), time.Duration(i)*time.Second, 3000, 40_000, ctc.Sell)
		d.Observe(&tr, &out)
	}
	// Last order at 3 s: decided once the watermark passes 5 s, i.e. a trade after 20 s.
	other := clusterTrade(ctc.Binance, "BTC-USDT", 100, 20*time.Second, 60000, 100, ctc.Buy)
	d.Observe(&other, &out)
	if len(out.Alerts) != 0 {
		t.Fatalf("decided at watermark = last + MaxGap: %+v", out.Alerts)
	}
	d.Advance(clusterT0.Add(20*time.Second+time.Millisecond), &out)
	if len(out.Alerts) != 1 || out.Alerts[0].Severity != ctc.Medium || math.Abs(out.Alerts[0].ActualValue-160_000) > 0.01 {
		t.Fatalf("want one medium cluster of $160k once the watermark passes 5 s, got %+v", out.Alerts)
	}
	if !strings.Contains(out.Alerts[0].Message, "$160.0k sell") {
		t.Errorf("message %q", out.Alerts[0].Message)
	}
	// A trade behind the watermark is late: reported, changing nothing.
	late := clusterTrade(ctc.Coinbase, "ETH-USD", 9, 4*time.Second, 3000, 40_000, ctc.Sell)
	d.Observe(&late, &out)
	d.Advance(ctc.EndOfTime, &out)
	if len(out.Late) != 1 || out.Late[0].Detector != "whale_cluster" || len(out.Alerts) != 1 {
		t.Fatalf("late trade: want it reported late and no new alert, got %d late, %d alerts", len(out.Late), len(out.Alerts))
	}
}

// Orders are rebuilt first: fills of one (exchange, symbol, side, timestamp) are one order.
func TestClusterRebuildsOrders(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name   string
		orders [][]float64 // per order, 1 s apart: the fills' quote volumes
		want   string      // what the message says, or "" for no alert
	}{
		{"one sweep of five fills is one order, and a whale", [][]float64{{30e3, 30e3, 30e3, 30e3, 30e3}}, ""},
		{"one sweep below the whale threshold is no cluster", [][]float64{{30e3, 30e3, 30e3}}, ""},
		{"three sweeps of three fills", [][]float64{{12e3, 12e3, 12e3}, {12e3, 12e3, 12e3}, {12e3, 12e3, 12e3}}, "3 orders (9 trades)"},
		{"fills below the floor make an order above it", [][]float64{{6e3, 6e3}, {40e3}, {40e3}, {30e3}}, "4 orders (5 trades)"},
		{"two orders are not enough", [][]float64{{60e3}, {60e3}}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var trades []ctc.Trade
			for i, fills := range c.orders {
				for j, q := range fills {
					trades = append(trades, clusterTrade(ctc.Binance, "SOL-USDT", int64(len(trades)), time.Duration(i)*time.Second,
						150+0.01*float64(j), q, ctc.Buy))
				}
			}
			out := runAll(trades, newCluster(t, detect.ClusterConfig{}))
			switch {
			case c.want == "" && len(out.Alerts) != 0:
				t.Fatalf("want no alert, got %+v", out.Alerts)
			case c.want != "" && (len(out.Alerts) != 1 || !strings.Contains(out.Alerts[0].Message, c.want)):
				t.Fatalf("want one alert saying %q, got %+v", c.want, out.Alerts)
			}
		})
	}
}

// A whale order is the whale detector's: it neither joins a cluster, nor breaks it, nor dilutes
// its share; the whale detector reports it and the cluster is reported without it.
func TestClusterLeavesWhaleOrdersToTheWhaleDetector(t *testing.T) {
	t.Parallel()
	quotes := []float64{40e3, 40e3, 250e3, 40e3}
	var trades []ctc.Trade
	for i, q := range quotes {
		trades = append(trades, clusterTrade(ctc.Binance, "BTC-USDT", int64(i), time.Duration(i)*time.Second, 60000, q, ctc.Buy))
	}
	out := runAll(trades, detect.NewWhale(detect.WhaleConfig{}), newCluster(t, detect.ClusterConfig{}))
	var types []ctc.AlertType
	for _, a := range out.Alerts {
		types = append(types, a.AlertType)
	}
	slices.Sort(types)
	if !slices.Equal(types, []ctc.AlertType{"whale", "whale_cluster"}) {
		t.Fatalf("want a whale and a cluster alert, got %v", out.Alerts)
	}
	for _, a := range out.Alerts {
		if a.AlertType == detect.WhaleCluster && (!strings.Contains(a.Message, "3 orders") || a.ActualValue > 121e3 ||
			!strings.Contains(a.Message, "100% of the volume")) {
			t.Errorf("cluster alert counts the whale: %+v", a)
		}
	}
	// Without the third $40k there are two orders and no cluster, whatever the whale adds.
	out = runAll(trades[:3], detect.NewWhale(detect.WhaleConfig{}), newCluster(t, detect.ClusterConfig{}))
	if len(out.Alerts) != 1 || out.Alerts[0].AlertType != ctc.Whale {
		t.Fatalf("want the whale alone, got %+v", out.Alerts)
	}
}

// Large orders in a busy market are not a split whale: the cluster must be most of the flow.
func TestClusterShareOfTheFlow(t *testing.T) {
	t.Parallel()
	var trades []ctc.Trade
	for i := range 8 {
		at := time.Duration(i) * 500 * time.Millisecond
		trades = append(trades, clusterTrade(ctc.Binance, "BTC-USDT", int64(len(trades)), at, 60000, 30e3, ctc.Buy))
		// A busy two-sided book around it: $30k a side every half second, in $5k orders.
		for j := range 12 {
			side := []ctc.Side{ctc.Buy, ctc.Sell}[j%2]
			trades = append(trades, clusterTrade(ctc.Binance, "BTC-USDT", int64(len(trades)), at+time.Duration(j+1)*30*time.Millisecond,
				60000, 5e3, side))
		}
	}
	if out := runAll(trades, newCluster(t, detect.ClusterConfig{})); len(out.Alerts) != 0 {
		t.Fatalf("a quarter of a busy market's flow raised %+v", out.Alerts)
	}
	out := runAll(trades, newCluster(t, detect.ClusterConfig{MinShare: 0.2}))
	// $240k of the $660k traded from the first order to the last.
	if len(out.Alerts) != 1 || !strings.Contains(out.Alerts[0].Message, "36% of the volume") {
		t.Fatalf("with MinShare 0.2 want one alert at 36%% of the flow, got %+v", out.Alerts)
	}
}

// Each order must come within MaxGap of the previous one: exactly MaxGap chains, a millisecond
// more does not. Sides and instruments never mix.
func TestClusterGapsSidesAndInstruments(t *testing.T) {
	t.Parallel()
	build := func(gap time.Duration, f func(i int) (ex, sym string, side ctc.Side)) []ctc.Trade {
		var trades []ctc.Trade
		for i := range 6 {
			ex, sym, side := f(i)
			trades = append(trades, clusterTrade(ex, sym, int64(i), time.Duration(i)*gap, 100, 45e3, side))
		}
		return trades
	}
	same := func(int) (string, string, ctc.Side) { return ctc.Binance, "ETH-USDT", ctc.Sell }
	for _, c := range []struct {
		name   string
		trades []ctc.Trade
		want   int
	}{
		{"gaps of exactly MaxGap", build(2*time.Second, same), 1},
		{"gaps a millisecond over", build(2*time.Second+time.Millisecond, same), 0},
		{"alternating sides", build(time.Second, func(i int) (string, string, ctc.Side) {
			return ctc.Binance, "ETH-USDT", []ctc.Side{ctc.Buy, ctc.Sell}[i%2]
		}), 2},
		{"alternating exchanges", build(time.Second, func(i int) (string, string, ctc.Side) {
			return []string{ctc.Binance, ctc.Coinbase}[i%2], "ETH-USD", ctc.Buy
		}), 2},
		{"alternating symbols", build(time.Second, func(i int) (string, string, ctc.Side) {
			return ctc.Binance, []string{"ETH-USDT", "ETH-USDC"}[i%2], ctc.Buy
		}), 2},
		{"alternating symbols, 1.5 s apart", build(1500*time.Millisecond, func(i int) (string, string, ctc.Side) {
			return ctc.Binance, []string{"ETH-USDT", "ETH-USDC"}[i%2], ctc.Buy
		}), 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			out := runAll(c.trades, newCluster(t, detect.ClusterConfig{}))
			if len(out.Alerts) != c.want {
				t.Fatalf("want %d alerts, got %+v", c.want, out.Alerts)
			}
		})
	}
}

// Against the simulator's ground truth, through the pipeline with the default detectors and the
// cluster detector beside them, as a command would run it: every injected whale cluster raises
// exactly one whale_cluster alert, of its severity, spanning its orders; every cluster alert is an
// injected cluster (give or take an ordinary order next to it); and no cluster trade raises a
// whale alert.
func TestClusterFindsTheSimulatorsWhaleClusters(t *testing.T) {
	t.Parallel()
	hours := 3 * time.Hour
	if testing.Short() {
		hours = time.Hour
	}
	for _, seed := range []int64{1, 2} {
		src, err := sim.New(sim.Config{Seed: seed, Start: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), Duration: hours, WhaleClusters: true})
		if err != nil {
			t.Fatal(err)
		}
		th := detect.DefaultThresholds()
		ds, err := th.Detectors()
		if err != nil {
			t.Fatal(err)
		}
		chain, _ := quality.New(quality.Config{})
		mem := memory.New()
		p, err := ctc.NewPipeline(src, ctc.WithChecker(chain),
			ctc.WithDetectors(append(ds, newCluster(t, th.ClusterConfig()))...), ctc.WithSinks(mem))
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		out := mem.Contents().Output
		var clusters []ctc.Alert
		for _, a := range out.Alerts {
			if a.AlertType == detect.WhaleCluster {
				clusters = append(clusters, a)
			}
		}
		var injected, whales int
		for _, e := range src.Injected() {
			switch e.Kind {
			case sim.Whale:
				whales++
				continue
			case sim.WhaleCluster:
			default:
				continue
			}
			injected++
			want := ctc.Medium
			if e.Magnitude > 1e6 {
				want = ctc.Critical
			} else if e.Magnitude > 5e5 {
				want = ctc.High
			}
			n := 0
			for _, a := range clusters {
				// An ordinary order of $10k or more on the same side, within 2 s, joins the cluster.
				if a.Exchange == e.Exchange && a.Symbol == e.Symbol && !a.WindowStart.After(e.Start) && !a.DetectedAt.Before(e.End) &&
					a.DetectedAt.Sub(a.WindowStart) < e.End.Sub(e.Start)+10*time.Second {
					n++
					if a.Severity != want || a.ActualValue < e.Magnitude-1e-6 {
						t.Errorf("seed %d: cluster %s found as %s %s", seed, e.Detail, a.Severity, a.Message)
					}
				}
			}
			if n != 1 {
				t.Errorf("seed %d: injected cluster %s at %v raised %d alerts, want 1", seed, e.Detail, e.Start, n)
			}
		}
		if injected < 7 || len(clusters) != injected {
			t.Errorf("seed %d: %d cluster alerts for %d injected clusters", seed, len(clusters), injected)
		}
		if len(out.Whales) != whales {
			t.Errorf("seed %d: %d whale alerts for %d injected whales: a cluster's order raised one", seed, len(out.Whales), whales)
		}
		t.Logf("seed %d: %d injected clusters, %d cluster alerts, e.g. %s", seed, injected, len(clusters), clusters[0].Message)
	}
}

func TestClusterConfigValidation(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		cfg  detect.ClusterConfig
		want string
	}{
		{detect.ClusterConfig{Medium: 2e6}, "medium"},
		{detect.ClusterConfig{MaxGap: -time.Second}, "max gap"},
		{detect.ClusterConfig{MinOrders: 1}, "min orders"},
		{detect.ClusterConfig{MinOrder: 2e5}, "min order"},
		{detect.ClusterConfig{MinShare: 1.5}, "min share"},
		{detect.ClusterConfig{MinShare: math.NaN()}, "min share"},
		{detect.ClusterConfig{Lateness: -time.Second}, "lateness"},
	} {
		_, err := detect.NewCluster(c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: want an error about %q, got %v", c.cfg, c.want, err)
		}
	}
	th := detect.DefaultThresholds()
	th.Whale = 50_000
	if cfg := th.ClusterConfig(); cfg.Medium != 50_000 || cfg.High != 250_000 || cfg.Critical != 500_000 || cfg.Validate() != nil {
		t.Errorf("Thresholds.ClusterConfig = %+v", cfg)
	}
}

func TestClusterRestoreRefusesGarbage(t *testing.T) {
	t.Parallel()
	d := newCluster(t, detect.ClusterConfig{})
	for _, b := range [][]byte{nil, []byte("not a snapshot")} {
		if err := d.Restore(b); err == nil || !strings.HasPrefix(err.Error(), "cluster: restore") {
			t.Errorf("Restore(%q) = %v, want a cluster: restore error", b, err)
		}
	}
}

func ExampleNewCluster() {
	d, err := detect.NewCluster(detect.ClusterConfig{}) // split whales over $100k, orders ≤ 2 s apart
	if err != nil {
		fmt.Println(err)
		return
	}
	var out ctc.Output
	t0 := time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC)
	for i := range 8 { // eight buys of $30k, half a second apart: no whale, but one split whale
		tr := ctc.Trade{EventID: ctc.NewEventIDInt(ctc.Binance, "BTC-USDT", int64(i)), Exchange: ctc.Binance,
			Symbol: "BTC-USDT", Price: 60_000, Quantity: 0.5, QuoteVolume: 30_000, Side: ctc.Buy,
			Timestamp: t0.Add(time.Duration(i) * 500 * time.Millisecond)}
		d.Observe(&tr, &out)
	}
	d.Advance(ctc.EndOfTime, &out)
	for _, a := range out.Alerts {
		fmt.Printf("%s %s %s\n", a.AlertType, a.Severity, a.Message)
	}
	// Output:
	// whale_cluster medium BTC-USDT on binance: $240.0k buy split into a cluster of 8 orders (8 trades) over 3.5s, VWAP 60000.00, 100% of the volume traded; no order over $100.0k (cluster over $100.0k)
}

// A snapshot is read back from a checkpoint file: whatever its bytes, Restore refuses it or
// gives a detector that keeps working.
func FuzzClusterRestore(f *testing.F) {
	for i := range 8 {
		trades := clusterTrades().Example(i)
		d := newCluster(f, detect.ClusterConfig{})
		var out ctc.Output
		for j := range trades[:len(trades)/2] {
			d.Observe(&trades[j], &out)
		}
		b, err := d.Snapshot()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	more := clusterTrades().Example(99)
	f.Fuzz(func(t *testing.T, b []byte) {
		d := newCluster(t, detect.ClusterConfig{})
		if d.Restore(b) != nil {
			return
		}
		var out ctc.Output
		for i := range more {
			d.Observe(&more[i], &out)
		}
		d.Advance(ctc.EndOfTime, &out)
		if _, err := d.Snapshot(); err != nil {
			t.Fatal(err)
		}
	})
}
