package evidence

import (
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/coattailcapital/ctc"
)

// distinct drops the second of a trade held twice (same event id and time), as Trades does.
func distinct(trades []ctc.Trade) []ctc.Trade {
	type key struct {
		id [16]byte
		ts int64
	}
	seen := map[key]bool{}
	var out []ctc.Trade
	for _, t := range trades {
		k := key{t.EventID, t.Timestamp.UnixNano()}
		if !seen[k] {
			seen[k] = true
			out = append(out, t)
		}
	}
	return out
}

// feed gives trades to f in a shuffled order and in random batches.
func feed(t *rapid.T, label string, trades []ctc.Trade, f func(...ctc.Trade)) {
	trades = slices.Clone(trades)
	rng := rand.New(rand.NewPCG(rapid.Uint64().Draw(t, label+"_shuffle"), 2))
	rng.Shuffle(len(trades), func(i, j int) { trades[i], trades[j] = trades[j], trades[i] })
	for len(trades) > 0 {
		k := rapid.IntRange(1, len(trades)).Draw(t, label+"_batch")
		f(trades[:k]...)
		trades = trades[k:]
	}
}

// A Plan fed each trade once, in two passes of different orders and batches, gives Evaluate's
// report to the last bit — and the exact oracle's.
func TestPropertyPlanTwoPasses(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		in := genInput(t)
		once := distinct(in.trades)
		var tr Trades
		tr.Add(once...)
		want, err := Evaluate(in.cfg, in.alerts, &tr)
		if err != nil {
			t.Fatal(err)
		}
		p, err := NewPlan(in.cfg, in.alerts)
		if err != nil {
			t.Fatal(err)
		}
		feed(t, "first", once, p.Observe)
		p.Seal()
		feed(t, "second", once, p.Accumulate)
		got, err := p.Report()
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, want, got)
		sameJSON(t, oracle(in.cfg, in.alerts, once), got)
	})
}

// Report refuses a second pass that is not the first one's trades.
func TestPlanPassesDiffer(t *testing.T) {
	t.Parallel()
	trades := steady(ctc.Binance, "BTC-USDT", -time.Hour, 2*time.Hour, func(time.Duration) float64 { return 100 })
	a := alert(ctc.Whale, ctc.Medium, ctc.Binance, "BTC-USDT", 0, "BTC-USDT on binance: $150.0k buy of 1 at 100.00", 150_000)
	moved := slices.Clone(trades)
	moved[10].Price++
	for name, second := range map[string][]ctc.Trade{
		"one missing": trades[1:],
		"one twice":   append(slices.Clone(trades), trades[5]),
		"one changed": moved,
		"other market": append(slices.Clone(trades[1:]), ctc.Trade{EventID: trades[0].EventID, Exchange: ctc.Coinbase,
			Symbol: "BTC-USD", Price: 1, Quantity: 1, Timestamp: trades[0].Timestamp}),
	} {
		p, err := NewPlan(Config{}, []ctc.Alert{a})
		if err != nil {
			t.Fatal(err)
		}
		p.Observe(trades...)
		p.Seal()
		p.Accumulate(second...)
		if _, err := p.Report(); err == nil || !strings.Contains(err.Error(), "same trades") {
			t.Errorf("%s: Report gave %v, want an error that asks for the same trades", name, err)
		}
	}
}

// Misuse of the passes is reported; without windows, the second pass can be skipped.
func TestPlanSequence(t *testing.T) {
	t.Parallel()
	trades := steady(ctc.Binance, "BTC-USDT", 0, time.Hour, func(time.Duration) float64 { return 100 })
	p, _ := NewPlan(Config{}, nil)
	if _, err := p.Report(); err == nil {
		t.Error("Report before Seal did not fail")
	}
	p.Accumulate(trades...)
	if _, err := p.Report(); err == nil || !strings.Contains(err.Error(), "before Seal") {
		t.Errorf("Accumulate before Seal: Report gave %v", err)
	}

	p, _ = NewPlan(Config{}, nil)
	p.Observe(trades...)
	p.Seal()
	p.Observe(trades...)
	if _, err := p.Report(); err == nil || !strings.Contains(err.Error(), "after Seal") {
		t.Errorf("Observe after Seal: Report gave %v", err)
	}

	p, _ = NewPlan(Config{}, nil)
	p.Observe(trades...)
	p.Seal()
	r, err := p.Report()
	if err != nil || p.Windows() != 0 || r.Trades != len(trades) || !r.FirstTrade.Equal(t0) {
		t.Errorf("no alerts, no second pass: %v, %d windows, %+v", err, p.Windows(), r)
	}
	if _, err := NewPlan(Config{Baseline: 5000}, nil); err == nil {
		t.Error("NewPlan took an invalid Config")
	}
}

// An expansion's rounded sum is the exact sum rounded once (math/big's), whatever the order, over
// values of every magnitude and sign.
func TestPropertyExpansion(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 60).Draw(t, "n")
		vs := make([]float64, n)
		exact := new(big.Float).SetPrec(2200)
		for i := range vs {
			m := rapid.Float64Range(1, 2).Draw(t, "mantissa")
			e := rapid.IntRange(-60, 60).Draw(t, "exp")
			if rapid.IntRange(0, 9).Draw(t, "tiny") == 0 {
				e = rapid.IntRange(-1074, 1000).Draw(t, "wide")
			}
			v := math.Ldexp(m, e)
			if rapid.Bool().Draw(t, "neg") {
				v = -v
			}
			vs[i] = v
			exact.Add(exact, big.NewFloat(v))
		}
		want, _ := exact.Float64()
		var e expansion
		for _, v := range vs {
			e = e.add(v)
		}
		if got := e.round(); got != want {
			t.Fatalf("sum %v, want %v", got, want)
		}
		slices.Reverse(vs)
		var r expansion
		for _, v := range vs {
			r = r.add(v)
		}
		var d expansion
		d = d.addAll(r, 1).addAll(e, -1)
		if got := d.round(); got != 0 {
			t.Fatalf("the sum minus itself in another order is %v", got)
		}
	})
	var e expansion
	e = e.add(math.MaxFloat64).add(math.MaxFloat64).add(-math.MaxFloat64)
	if !math.IsNaN(e.round()) {
		t.Errorf("an overflowed sum rounds to %v, want NaN", e.round())
	}
}
