package evidence

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"pgregory.net/rapid"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/detect"
)

var propMarkets = []marketKey{
	{ctc.Binance, "BTC-USDT"}, {ctc.Coinbase, "BTC-USD"}, {ctc.Binance, "ETH-USDT"}, {ctc.Coinbase, "SOL-USD"},
}

type propInput struct {
	cfg    Config
	trades []ctc.Trade
	alerts []ctc.Alert
}

func genInput(t *rapid.T) propInput {
	var in propInput
	span := rapid.Int64Range(1, 3*3600*1000).Draw(t, "span_ms")
	n := rapid.IntRange(0, 400).Draw(t, "trades")
	for i := range n {
		m := propMarkets[rapid.IntRange(0, len(propMarkets)-1).Draw(t, "market")]
		ts := t0.Add(time.Duration(rapid.Int64Range(0, span).Draw(t, "ts")) * time.Millisecond)
		p := rapid.Float64Range(50, 150).Draw(t, "price")
		q := rapid.Float64Range(0.01, 5).Draw(t, "qty")
		if rapid.IntRange(0, 50).Draw(t, "bad") == 0 { // counted and left out
			p = rapid.SampledFrom([]float64{0, -1, math.NaN(), math.Inf(1)}).Draw(t, "badprice")
		}
		tr := ctc.Trade{EventID: ctc.NewEventIDInt(m.exchange, m.symbol, int64(i)), Exchange: m.exchange, Symbol: m.symbol,
			Price: p, Quantity: q, QuoteVolume: p * q, Timestamp: ts}
		in.trades = append(in.trades, tr)
		if rapid.IntRange(0, 20).Draw(t, "dup") == 0 { // a trade held twice counts once
			in.trades = append(in.trades, tr)
		}
	}
	na := rapid.IntRange(0, 25).Draw(t, "alerts")
	for i := range na {
		var a ctc.Alert
		switch rapid.IntRange(0, 4).Draw(t, "type") {
		case 0, 1:
			a.AlertType = []ctc.AlertType{ctc.Whale, detect.WhaleCluster}[rapid.IntRange(0, 1).Draw(t, "whaletype")]
			m := propMarkets[rapid.IntRange(0, len(propMarkets)-1).Draw(t, "amarket")]
			a.Exchange, a.Symbol = m.exchange, m.symbol
			a.Message = a.Symbol + " on " + a.Exchange + ": $150.0k " + rapid.SampledFrom([]string{"buy", "sell", "??"}).Draw(t, "side") + " of 1"
		case 2:
			a.AlertType, a.Exchange = ctc.Spread, detect.SpreadExchange
			a.Symbol = rapid.SampledFrom([]string{"BTC", "ETH", "SOL"}).Draw(t, "instrument")
			a.ActualValue = rapid.SampledFrom([]float64{-1.2, 0.7, 2.5}).Draw(t, "spread")
		case 3:
			a.AlertType = ctc.VolumeSpike
			m := propMarkets[rapid.IntRange(0, len(propMarkets)-1).Draw(t, "vmarket")]
			a.Exchange, a.Symbol = m.exchange, m.symbol
		default:
			a.AlertType, a.Exchange, a.Symbol = "my_type", "kraken", "BTC-EUR"
		}
		a.Severity = ctc.Severity(rapid.IntRange(1, 4).Draw(t, "severity"))
		a.DetectedAt = t0.Add(time.Duration(rapid.Int64Range(-60_000, span).Draw(t, "at")) * time.Millisecond)
		a.AlertID = ctc.NewAlertID(a.AlertType, a.Exchange, a.Symbol, string(rune('a'+i))+a.DetectedAt.String())
		in.alerts = append(in.alerts, a)
		if rapid.IntRange(0, 10).Draw(t, "adup") == 0 {
			in.alerts = append(in.alerts, a)
		}
	}
	if rapid.Bool().Draw(t, "short") {
		in.cfg.Horizons = []Horizon{{10 * time.Second, 2 * time.Second}, {time.Minute, 0}, {5 * time.Minute, 30 * time.Second}}
	}
	in.cfg.Reference = time.Duration(rapid.IntRange(0, 30).Draw(t, "ref_s")) * time.Second
	in.cfg.Baseline = rapid.IntRange(-1, 6).Draw(t, "baseline")
	in.cfg.Seed = rapid.Uint64().Draw(t, "seed")
	if rapid.Bool().Draw(t, "bounded") {
		in.cfg.From = t0.Add(time.Duration(rapid.Int64Range(0, span/2).Draw(t, "from")) * time.Millisecond)
		in.cfg.To = in.cfg.From.Add(time.Duration(rapid.Int64Range(1, span).Draw(t, "len")) * time.Millisecond)
	}
	return in
}

// oracle judges every alert the plain way — every VWAP a pass over every trade, its sums exact
// (math/big, wide enough for any float64 sum) and rounded once — and summarizes with the same
// statistics.
func oracle(cfg Config, alerts []ctc.Alert, trades []ctc.Trade) *Report {
	cfg = cfg.withDefaults()
	type key struct {
		id [16]byte
		ts int64
	}
	seen := map[key]bool{}
	var ts []ctc.Trade
	for _, t := range trades {
		k := key{t.EventID, t.Timestamp.UnixNano()}
		if !seen[k] && t.Price > 0 && t.Quantity > 0 && !math.IsInf(t.Price*t.Quantity, 0) {
			seen[k] = true
			ts = append(ts, t)
		}
	}
	vwap := func(exchange, symbol string, lo, hi int64) (float64, bool) {
		pq, q := new(big.Float).SetPrec(2200), new(big.Float).SetPrec(2200)
		for _, t := range ts {
			if x := t.Timestamp.UnixNano(); t.Exchange == exchange && t.Symbol == symbol && x >= lo && x <= hi {
				pq.Add(pq, big.NewFloat(float64(t.Price*t.Quantity)))
				q.Add(q, big.NewFloat(t.Quantity))
			}
		}
		fpq, _ := pq.Float64()
		fq, _ := q.Float64()
		return fpq / fq, fq > 0
	}
	span := func(exchange, symbol string) (lo, hi int64, ok bool) {
		for _, t := range ts {
			if t.Exchange == exchange && t.Symbol == symbol {
				x := t.Timestamp.UnixNano()
				if !ok || x < lo {
					lo = x
				}
				if !ok || x > hi {
					hi = x
				}
				ok = true
			}
		}
		return lo, hi, ok
	}
	type leg struct{ exchange, symbol string }
	moves := func(legs []leg, at int64) []float64 {
		out := make([]float64, len(cfg.Horizons))
		for i, h := range cfg.Horizons {
			out[i] = math.NaN()
			c, w := at+int64(h.After), int64(h.HalfWidth)
			r, ok := 0.0, true
			for k, l := range legs {
				v0, ok0 := vwap(l.exchange, l.symbol, at-int64(cfg.Reference), at)
				vh, okh := vwap(l.exchange, l.symbol, c-w, c+w)
				if !ok0 || !okh {
					ok = false
					break
				}
				if k == 0 {
					r += vh/v0 - 1
				} else {
					r -= vh/v0 - 1
				}
			}
			if ok {
				out[i] = r * 1e4
			}
		}
		return out
	}
	byID := map[[16]byte]ctc.Alert{}
	for _, a := range alerts {
		byID[a.AlertID] = a
	}
	var ids [][16]byte
	for id := range byID {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b [16]byte) int { return bytes.Compare(a[:], b[:]) })
	var js []judged
	for _, id := range ids {
		a := byID[id]
		legs := []leg{{a.Exchange, a.Symbol}}
		if a.AlertType == ctc.Spread {
			legs = []leg{{ctc.Binance, a.Symbol + "-USDT"}, {ctc.Coinbase, a.Symbol + "-USD"}}
		}
		j := judged{alert: &a, dir: DirectionOf(a), moves: moves(legs, a.DetectedAt.UnixNano())}
		lo, hi, ok := int64(math.MinInt64), int64(math.MaxInt64), true
		for _, l := range legs {
			f, t, has := span(l.exchange, l.symbol)
			ok = ok && has
			lo, hi = max(lo, f), min(hi, t)
		}
		lo += int64(cfg.Reference)
		if !cfg.From.IsZero() {
			lo = max(lo, cfg.From.UnixNano())
		}
		if !cfg.To.IsZero() {
			hi = min(hi, cfg.To.UnixNano()-1)
		}
		if ok && cfg.Baseline > 0 && hi >= lo {
			rng := rand.New(rand.NewPCG(cfg.Seed, binary.BigEndian.Uint64(id[:8])^binary.BigEndian.Uint64(id[8:])))
			for range cfg.Baseline {
				j.pseudo = append(j.pseudo, moves(legs, lo+rng.Int64N(hi-lo+1))...)
			}
		}
		js = append(js, j)
	}
	r := summarize(cfg, js)
	r.Alerts, r.Trades = len(ids), len(trades)
	if len(ts) > 0 {
		first := slices.MinFunc(ts, func(a, b ctc.Trade) int { return a.Timestamp.Compare(b.Timestamp) })
		last := slices.MaxFunc(ts, func(a, b ctc.Trade) int { return a.Timestamp.Compare(b.Timestamp) })
		r.FirstTrade, r.LastTrade = first.Timestamp.UTC(), last.Timestamp.UTC()
	}
	return r
}

// The report is the plain batch computation's, to the last bit: every sum is exact, rounded once.
func TestPropertyOracle(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		in := genInput(t)
		var tr Trades
		tr.Add(in.trades...)
		got, err := Evaluate(in.cfg, in.alerts, &tr)
		if err != nil {
			t.Fatal(err)
		}
		want := oracle(in.cfg, in.alerts, in.trades)
		sameJSON(t, want, got)
		if d := gocmp.Diff(want, got, cmpopts.EquateEmpty(), cmpopts.EquateNaNs()); d != "" {
			t.Fatalf("report differs from the oracle (-oracle +Evaluate):\n%s", d)
		}
	})
}

// sameJSON fails unless got encodes to want's bytes.
func sameJSON(t interface {
	Helper()
	Fatalf(string, ...any)
}, want, got *Report) {
	t.Helper()
	w, err := json.Marshal(want)
	if err != nil {
		t.Fatalf("%v", err)
	}
	g, err := json.Marshal(got)
	if err != nil {
		t.Fatalf("%v", err)
	}
	if !bytes.Equal(w, g) {
		t.Fatalf("JSON differs:\nwant %s\n got %s", w, g)
	}
}

// Order, batching and repetition of the input change nothing, to the last bit.
func TestPropertyOrderInsensitive(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		in := genInput(t)
		var tr Trades
		tr.Add(in.trades...)
		want, err := Evaluate(in.cfg, in.alerts, &tr)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "shuffle"), 1))
		trades, alerts := slices.Clone(in.trades), slices.Clone(in.alerts)
		rng.Shuffle(len(trades), func(i, j int) { trades[i], trades[j] = trades[j], trades[i] })
		rng.Shuffle(len(alerts), func(i, j int) { alerts[i], alerts[j] = alerts[j], alerts[i] })
		if len(alerts) > 0 {
			alerts = append(alerts, alerts[0])
		}
		var tr2 Trades
		for len(trades) > 0 {
			k := rapid.IntRange(1, max(1, len(trades))).Draw(t, "batch")
			tr2.Add(trades[:k]...)
			if rapid.IntRange(0, 8).Draw(t, "again") == 0 {
				tr2.Add(trades[:k]...) // delivered twice
			}
			trades = trades[k:]
		}
		got, err := Evaluate(in.cfg, alerts, &tr2)
		if err != nil {
			t.Fatal(err)
		}
		got.Trades = want.Trades // counts what was added, duplicates included
		if d := gocmp.Diff(want, got); d != "" {
			t.Fatalf("another order gave another report:\n%s", d)
		}
	})
}
