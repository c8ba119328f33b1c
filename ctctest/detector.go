package ctctest

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"pgregory.net/rapid"

	"github.com/coattailcapital/ctc"
)

// DetectorSpec describes a detector to TestDetector.
type DetectorSpec struct {
	// New returns a fresh detector. Required.
	New func() ctc.Detector
	// Lateness is the detector's allowed lateness: reordering trades by less than this must not
	// change its output. Zero skips the reordering law (for detectors that promise nothing about
	// order).
	Lateness time.Duration
	// Trades generates the input, in event-time order. Default: Trades(TradeGen{}).
	Trades *rapid.Generator[[]ctc.Trade]
	// Oracle, when set, computes the expected output from all the trades at once, in plain batch
	// style: the streaming output (after the end of input) must equal it, compared as sorted
	// collections with floats equal to a relative 1e-9.
	Oracle func(trades []ctc.Trade) ctc.Output
}

// TestDetector checks the laws every ctc detector must obey (DESIGN §8), each as a rapid property:
//
//   - order: delivering the trades in any order that displaces none of them by Lateness or more
//     gives the same output (as a collection), and no trade is late;
//   - snapshot: snapshotting at any point and continuing in a fresh detector restored from the
//     snapshot gives exactly the output of an uninterrupted run (for ctc.Snapshotter detectors);
//     snapshots of equal states are equal bytes;
//   - batches: cutting the input into arbitrary batches, each processed by a fresh detector
//     restored from the previous batch's snapshot (how Lambda invocations run it), gives exactly
//     the output of one run;
//   - oracle: the streaming output equals spec.Oracle's batch computation.
//
// Outputs are compared with EmittedAt cleared: it is processing time, not part of the result.
func TestDetector(t *testing.T, spec DetectorSpec) {
	t.Helper()
	if spec.New == nil {
		t.Fatal("ctctest: DetectorSpec.New is required")
	}
	gen := spec.Trades
	if gen == nil {
		gen = Trades(TradeGen{})
	}
	check := rapid.Check
	_, snap := spec.New().(ctc.Snapshotter)

	if spec.Lateness > 0 {
		t.Run("order", func(t *testing.T) {
			check(t, func(rt *rapid.T) {
				trades := gen.Draw(rt, "trades")
				want := Run(spec.New(), trades)
				shuffled := ShuffleWithin(rt, trades, spec.Lateness)
				got := Run(spec.New(), shuffled)
				if n := len(got.Late); n > 0 {
					rt.Fatalf("%d trades reported late although none was displaced by %s or more; first: %v",
						n, spec.Lateness, got.Late[0].Trade.String())
				}
				if d := cmp.Diff(Canonical(want), Canonical(got)); d != "" {
					rt.Fatalf("reordering within %s changed the output (-in order +reordered):\n%s", spec.Lateness, d)
				}
			})
		})
	}
	t.Run("snapshot", func(t *testing.T) {
		if !snap {
			t.Skipf("%T does not implement ctc.Snapshotter: nothing to restore", spec.New())
		}
		check(t, func(rt *rapid.T) {
			trades := gen.Draw(rt, "trades")
			k := rapid.IntRange(0, len(trades)).Draw(rt, "cut")
			want := Run(spec.New(), trades)

			d := spec.New()
			var out ctc.Output
			for i := range trades[:k] {
				d.Observe(&trades[i], &out)
			}
			b1 := mustSnapshot(rt, d)
			b2 := mustSnapshot(rt, d)
			if !bytes.Equal(b1, b2) {
				rt.Fatalf("two snapshots of the same state differ (%d and %d bytes)", len(b1), len(b2))
			}
			d2 := spec.New()
			if err := d2.(ctc.Snapshotter).Restore(b1); err != nil {
				rt.Fatalf("restore: %v", err)
			}
			for i := range trades[k:] {
				d2.Observe(&trades[k+i], &out)
			}
			d2.Advance(ctc.EndOfTime, &out)
			if diff := cmp.Diff(clean(want), clean(out)); diff != "" {
				rt.Fatalf("snapshot after %d of %d trades and restore changed the output (-uninterrupted +restored):\n%s", k, len(trades), diff)
			}
		})
	})
	t.Run("batches", func(t *testing.T) {
		if !snap {
			t.Skipf("%T does not implement ctc.Snapshotter: its state cannot cross batches", spec.New())
		}
		check(t, func(rt *rapid.T) {
			trades := gen.Draw(rt, "trades")
			want := Run(spec.New(), trades)
			cuts := rapid.SliceOfN(rapid.IntRange(0, len(trades)), 0, 8).Draw(rt, "cuts")
			cuts = append(cuts, 0, len(trades))
			sort.Ints(cuts)
			var out ctc.Output
			var state []byte
			for i := 1; i < len(cuts); i++ {
				d := spec.New()
				if state != nil {
					if err := d.(ctc.Snapshotter).Restore(state); err != nil {
						rt.Fatalf("restore before batch %d: %v", i, err)
					}
				}
				for j := cuts[i-1]; j < cuts[i]; j++ {
					d.Observe(&trades[j], &out)
				}
				if i == len(cuts)-1 {
					d.Advance(ctc.EndOfTime, &out)
				}
				state = mustSnapshot(rt, d)
			}
			if diff := cmp.Diff(clean(want), clean(out)); diff != "" {
				rt.Fatalf("batches cut at %v changed the output (-one run +batches):\n%s", cuts, diff)
			}
		})
	})
	if spec.Oracle != nil {
		t.Run("oracle", func(t *testing.T) {
			check(t, func(rt *rapid.T) {
				trades := gen.Draw(rt, "trades")
				got := Run(spec.New(), trades)
				want := spec.Oracle(slices.Clone(trades))
				if d := cmp.Diff(Canonical(want), Canonical(got), cmpopts.EquateApprox(1e-9, 1e-9)); d != "" {
					rt.Fatalf("streaming output differs from the batch oracle (-oracle +streaming):\n%s", d)
				}
			})
		})
	}
}

func mustSnapshot(rt *rapid.T, d ctc.Detector) []byte {
	b, err := d.(ctc.Snapshotter).Snapshot()
	if err != nil {
		rt.Fatalf("snapshot: %v", err)
	}
	return b
}

// Run feeds trades to d in the order given, then advances it to ctc.EndOfTime, and returns
// everything it emitted.
func Run(d ctc.Detector, trades []ctc.Trade) ctc.Output {
	var out ctc.Output
	for i := range trades {
		d.Observe(&trades[i], &out)
	}
	d.Advance(ctc.EndOfTime, &out)
	return out
}

// ShuffleWithin returns a random reordering of trades (which must be in event-time order) in
// which no trade arrives after another whose timestamp is lateness or more ahead of it: each trade
// is delivered at its time plus a random delay below lateness. Within the lateness bound a
// detector must not call any of them late.
func ShuffleWithin(t *rapid.T, trades []ctc.Trade, lateness time.Duration) []ctc.Trade {
	type keyed struct {
		at int64
		t  ctc.Trade
	}
	ks := make([]keyed, len(trades))
	for i, tr := range trades {
		delay := rapid.Int64Range(0, int64(lateness)-1).Draw(t, fmt.Sprintf("delay%d", i))
		ks[i] = keyed{tr.Timestamp.UnixNano() + delay, tr}
	}
	sort.SliceStable(ks, func(i, j int) bool { return ks[i].at < ks[j].at })
	out := make([]ctc.Trade, len(ks))
	for i, k := range ks {
		out[i] = k.t
	}
	return out
}

// Canonical returns out with every slice sorted by its JSON encoding and EmittedAt cleared, so
// that two outputs holding the same records in different orders compare equal.
func Canonical(out ctc.Output) ctc.Output {
	c := clean(out)
	sortByJSON(c.Alerts, func(a *ctc.Alert) []byte { return a.AppendJSON(nil) })
	sortByJSON(c.Volumes, func(v *ctc.VolumeWindow) []byte { return v.AppendJSON(nil) })
	sortByJSON(c.Spreads, func(s *ctc.SpreadWindow) []byte { return s.AppendJSON(nil) })
	sortByJSON(c.Whales, func(w *ctc.WhaleTrade) []byte { return w.AppendJSON(nil) })
	sortByJSON(c.Late, func(l *ctc.LateTrade) []byte { return l.AppendJSON(nil) })
	return c
}

func clean(out ctc.Output) ctc.Output {
	c := ctc.Output{
		Alerts:  slices.Clone(out.Alerts),
		Volumes: slices.Clone(out.Volumes),
		Spreads: slices.Clone(out.Spreads),
		Whales:  slices.Clone(out.Whales),
		Late:    slices.Clone(out.Late),
	}
	for i := range c.Alerts {
		c.Alerts[i].EmittedAt = time.Time{}
	}
	return c
}

func sortByJSON[T any](s []T, enc func(*T) []byte) {
	keys := make(map[*T][]byte, len(s))
	for i := range s {
		keys[&s[i]] = enc(&s[i])
	}
	idx := make([]int, len(s))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return bytes.Compare(keys[&s[idx[a]]], keys[&s[idx[b]]]) < 0 })
	sorted := make([]T, len(s))
	for i, j := range idx {
		sorted[i] = s[j]
	}
	copy(s, sorted)
}

// TradeGen shapes the trades Trades generates. Zero fields take defaults.
type TradeGen struct {
	// Start is the first possible event time; default 2024-01-15T10:00:00Z.
	Start time.Time
	// Span is how much event time the trades cover; default 40 minutes.
	Span time.Duration
	// MaxTrades bounds the number of trades; default 400.
	MaxTrades int
	// Symbols lists the (exchange, symbol) pairs to draw from; default BTC and ETH on Binance
	// (X-USDT) and Coinbase (X-USD), plus SOL-USDT on Binance only.
	Symbols [][2]string
}

// Trades returns a generator of valid trades in event-time order, at millisecond precision, with
// prices that sometimes dislocate between exchanges, quantities spanning five orders of magnitude
// (so volume spikes and whales occur), and repeated timestamps.
func Trades(g TradeGen) *rapid.Generator[[]ctc.Trade] {
	if g.Start.IsZero() {
		g.Start = time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC)
	}
	if g.Span <= 0 {
		g.Span = 40 * time.Minute
	}
	if g.MaxTrades <= 0 {
		g.MaxTrades = 400
	}
	if len(g.Symbols) == 0 {
		g.Symbols = [][2]string{{ctc.Binance, "BTC-USDT"}, {ctc.Coinbase, "BTC-USD"},
			{ctc.Binance, "ETH-USDT"}, {ctc.Coinbase, "ETH-USD"}, {ctc.Binance, "SOL-USDT"}}
	}
	return rapid.Custom(func(t *rapid.T) []ctc.Trade {
		n := rapid.IntRange(0, g.MaxTrades).Draw(t, "n")
		spanMs := g.Span.Milliseconds()
		// Clustered offsets: some stretches are busy, which is what makes volume spikes.
		offsets := make([]int64, n)
		for i := range offsets {
			if i > 0 && rapid.IntRange(0, 3).Draw(t, "cluster") == 0 {
				offsets[i] = min(spanMs, offsets[i-1]+rapid.Int64Range(0, 2000).Draw(t, "near"))
			} else {
				offsets[i] = rapid.Int64Range(0, spanMs).Draw(t, "offset")
			}
		}
		slices.Sort(offsets)
		trades := make([]ctc.Trade, n)
		for i := range trades {
			sym := g.Symbols[rapid.IntRange(0, len(g.Symbols)-1).Draw(t, "symbol")]
			base := 100.0
			if sym[0] == ctc.Coinbase && rapid.IntRange(0, 9).Draw(t, "dislocate") == 0 {
				base *= 1 + rapid.Float64Range(-0.03, 0.03).Draw(t, "shift")
			}
			price := roundTo(base*(1+rapid.Float64Range(-0.002, 0.002).Draw(t, "noise")), 1e-2)
			qty := roundTo(math.Pow(10, rapid.Float64Range(-2, 3.7).Draw(t, "log_qty")), 1e-6)
			if qty <= 0 {
				qty = 0.000001
			}
			side := ctc.Buy
			if rapid.Bool().Draw(t, "sell") {
				side = ctc.Sell
			}
			ts := g.Start.Add(time.Duration(offsets[i]) * time.Millisecond)
			trades[i] = ctc.Trade{
				EventID:  ctc.NewEventIDInt(sym[0], sym[1], int64(i)),
				Exchange: sym[0], Symbol: sym[1],
				Price: price, Quantity: qty, QuoteVolume: price * qty,
				Side: side, Timestamp: ts, IngestionTimestamp: ts.Add(5 * time.Millisecond),
			}
		}
		return trades
	})
}

func roundTo(v, unit float64) float64 { return math.Round(v/unit) * unit }
