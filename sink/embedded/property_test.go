package embedded_test

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"pgregory.net/rapid"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/sink/embedded"
)

// oracle is the plain model of a hot store: the latest version of each record in a map, filtered
// and sorted on every query.
type oracle struct {
	alerts  map[uuid.UUID]ctc.Alert
	volumes map[string]ctc.VolumeWindow
	spreads map[string]ctc.SpreadWindow
}

func newOracle() *oracle {
	return &oracle{alerts: map[uuid.UUID]ctc.Alert{}, volumes: map[string]ctc.VolumeWindow{}, spreads: map[string]ctc.SpreadWindow{}}
}

// write applies a batch at now as the store should: aggregates replace what they find, an alert
// replaces the stored one unless that one was emitted later, and a record that has expired
// already is not stored but removes what it replaces.
func (o *oracle) write(b *ctc.Batch, now time.Time) {
	for _, a := range b.Output.Alerts {
		old, ok := o.alerts[a.AlertID]
		switch {
		case ok && a.EmittedAt.Before(old.EmittedAt):
		case a.TTLEpoch <= now.Unix():
			delete(o.alerts, a.AlertID)
		default:
			o.alerts[a.AlertID] = a
		}
	}
	for _, v := range b.Output.Volumes {
		o.volumes[fmt.Sprint(v.Symbol, "|", v.Exchange, "|", v.WindowStart.UnixNano())] = v
	}
	for _, w := range b.Output.Spreads {
		o.spreads[fmt.Sprint(w.Symbol, "|", w.WindowStart.UnixNano())] = w
	}
}

// purge forgets the expired alerts, as Compact deletes them: a version written afterwards is then
// stored whatever its emitted_at (a live hot store only ever sees one ttl_epoch per alert id,
// since it is detected_at + 24 h, so this matters only to the generator's mixed versions).
func (o *oracle) purge(now time.Time) {
	for id, a := range o.alerts {
		if a.TTLEpoch <= now.Unix() {
			delete(o.alerts, id)
		}
	}
}

func aggLive(end time.Time, now time.Time) bool { return end.Add(ctc.AlertTTL).Unix() > now.Unix() }

func (o *oracle) query(q ctc.AlertQuery, now time.Time) []ctc.Alert {
	out := []ctc.Alert{}
	for _, a := range o.alerts {
		if a.TTLEpoch > now.Unix() && (q.Type == "" || a.AlertType == q.Type) && (q.Symbol == "" || a.Symbol == q.Symbol) &&
			!a.DetectedAt.Before(q.Since) {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b ctc.Alert) int {
		return cmp.Or(b.DetectedAt.Compare(a.DetectedAt), slices.Compare(b.AlertID[:], a.AlertID[:]))
	})
	return out[:min(len(out), q.Limit)]
}

func (o *oracle) volumesOf(symbol string, since, now time.Time) []ctc.VolumeWindow {
	out := []ctc.VolumeWindow{}
	for _, v := range o.volumes {
		if aggLive(v.WindowEnd, now) && (symbol == "" || v.Symbol == symbol) && !v.WindowStart.Before(since) {
			out = append(out, v)
		}
	}
	slices.SortFunc(out, func(a, b ctc.VolumeWindow) int {
		return cmp.Or(a.WindowStart.Compare(b.WindowStart), cmp.Compare(a.Symbol, b.Symbol), cmp.Compare(a.Exchange, b.Exchange))
	})
	return out
}

func (o *oracle) spreadsOf(symbol string, since, now time.Time) []ctc.SpreadWindow {
	out := []ctc.SpreadWindow{}
	for _, w := range o.spreads {
		if aggLive(w.WindowEnd, now) && (symbol == "" || w.Symbol == symbol) && !w.WindowStart.Before(since) {
			out = append(out, w)
		}
	}
	slices.SortFunc(out, func(a, b ctc.SpreadWindow) int {
		return cmp.Or(a.WindowStart.Compare(b.WindowStart), cmp.Compare(a.Symbol, b.Symbol))
	})
	return out
}

func (o *oracle) symbols(now time.Time) []string {
	out := []string{}
	for _, a := range o.alerts {
		if a.TTLEpoch > now.Unix() {
			out = append(out, a.Symbol)
		}
	}
	for _, v := range o.volumes {
		if aggLive(v.WindowEnd, now) {
			out = append(out, v.Symbol)
		}
	}
	for _, w := range o.spreads {
		if aggLive(w.WindowEnd, now) {
			out = append(out, w.Symbol)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

var (
	propBase    = time.Date(2024, 3, 12, 14, 0, 0, 0, time.UTC)
	propTypes   = []ctc.AlertType{ctc.VolumeSpike, ctc.Whale, ctc.Spread}
	propSymbols = []string{"BTC-USDT", "ETH-USDT", "BTC"}
)

// TestMatchesOracle: after any sequence of writes (with repeated identities, expired records and
// out-of-order times), clock moves, compactions, flushes and reopens, every query equals the oracle's.
func TestMatchesOracle(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(rt *rapid.T) {
		dir, err := os.MkdirTemp("", "embedded-prop")
		if err != nil {
			rt.Fatal(err)
		}
		defer os.RemoveAll(dir)
		path := filepath.Join(dir, "hot.ctc")
		var clock atomic.Int64
		clock.Store(propBase.Add(ctc.AlertTTL).UnixNano())
		now := func() time.Time { return time.Unix(0, clock.Load()).UTC() }
		ctx := context.Background()
		s, err := embedded.Open(path, embedded.WithClock(now), embedded.WithJanitorInterval(0))
		if err != nil {
			rt.Fatal(err)
		}
		defer func() { s.Close(ctx) }()
		o := newOracle()

		// Times range over a few minutes either side of the clock's start, a day after propBase
		// for alerts (whose ttl_epoch is drawn freely) and on propBase for aggregates (which live
		// a day after their window ends), so that expiry happens as the clock moves.
		genTime := func(rt *rapid.T, base time.Time, label string) time.Time {
			return base.Add(time.Duration(rapid.IntRange(-300, 300).Draw(rt, label)) * time.Second).
				Add(time.Duration(rapid.SampledFrom([]int{0, 0, 1, 500, 999}).Draw(rt, label+"_ms")) * time.Millisecond)
		}
		alertBase := propBase.Add(ctc.AlertTTL)
		genAlert := func(rt *rapid.T) ctc.Alert {
			typ := rapid.SampledFrom(propTypes).Draw(rt, "type")
			sym := rapid.SampledFrom(propSymbols).Draw(rt, "symbol")
			// Few ids, so that rewrites are common; a rewrite may change any field.
			id := uuid.NewSHA1(ctc.Namespace, []byte{byte(rapid.IntRange(0, 11).Draw(rt, "id"))})
			at := genTime(rt, alertBase, "detected")
			return ctc.Alert{
				AlertID: id, AlertType: typ, Symbol: sym, Exchange: ctc.Binance, Severity: ctc.Severity(rapid.IntRange(1, 4).Draw(rt, "sev")),
				ZScore: rapid.Float64().Draw(rt, "z"), ActualValue: rapid.Float64Range(-1e9, 1e9).Draw(rt, "actual"),
				WindowStart: at.Add(-time.Minute), DetectedAt: at, Message: rapid.String().Draw(rt, "message"),
				TTLEpoch: alertBase.Unix() + int64(rapid.IntRange(-120, 900).Draw(rt, "ttl")),
				// A rewrite may be emitted earlier (it then loses), at the same time or later.
				EmittedAt: alertBase.Add(time.Duration(rapid.IntRange(0, 3).Draw(rt, "emitted")) * time.Second),
			}
		}
		genVolume := func(rt *rapid.T) ctc.VolumeWindow {
			start := propBase.Add(time.Duration(rapid.IntRange(-5, 15).Draw(rt, "vstart")) * time.Minute)
			return ctc.VolumeWindow{
				Symbol: rapid.SampledFrom(propSymbols[:2]).Draw(rt, "vsymbol"), Exchange: rapid.SampledFrom([]string{ctc.Binance, ctc.Coinbase}).Draw(rt, "exchange"),
				WindowStart: start, WindowEnd: start.Add(time.Minute), TradeCount: rapid.Int64().Draw(rt, "count"),
				TotalVolume: rapid.Float64().Draw(rt, "total"), AvgPrice: rapid.Float64().Draw(rt, "avg"),
			}
		}
		genSpread := func(rt *rapid.T) ctc.SpreadWindow {
			start := propBase.Add(time.Duration(rapid.IntRange(-10, 30).Draw(rt, "sstart")) * 30 * time.Second)
			return ctc.SpreadWindow{
				Symbol: rapid.SampledFrom([]string{"BTC", "ETH"}).Draw(rt, "ssymbol"), WindowStart: start, WindowEnd: start.Add(30 * time.Second),
				BinanceVWAP: rapid.Float64().Draw(rt, "bvwap"), SpreadPct: rapid.Float64Range(-5, 5).Draw(rt, "pct"),
			}
		}
		genSince := func(rt *rapid.T, base time.Time) time.Time {
			if rapid.Bool().Draw(rt, "no_since") {
				return time.Time{}
			}
			return genTime(rt, base, "since")
		}

		rt.Repeat(map[string]func(*rapid.T){
			"write": func(rt *rapid.T) {
				b := &ctc.Batch{}
				for range rapid.IntRange(0, 6).Draw(rt, "alerts") {
					b.Output.Alerts = append(b.Output.Alerts, genAlert(rt))
				}
				for range rapid.IntRange(0, 3).Draw(rt, "volumes") {
					b.Output.Volumes = append(b.Output.Volumes, genVolume(rt))
				}
				for range rapid.IntRange(0, 2).Draw(rt, "spreads") {
					b.Output.Spreads = append(b.Output.Spreads, genSpread(rt))
				}
				if err := s.Write(ctx, b); err != nil {
					rt.Fatal(err)
				}
				o.write(b, now())
			},
			"tick": func(rt *rapid.T) {
				clock.Add(int64(rapid.IntRange(0, 120_000).Draw(rt, "ms")) * int64(time.Millisecond))
			},
			"compact": func(rt *rapid.T) {
				if err := s.Compact(ctx); err != nil {
					rt.Fatal(err)
				}
				o.purge(now())
			},
			"flush": func(rt *rapid.T) {
				if err := s.Flush(ctx); err != nil {
					rt.Fatal(err)
				}
			},
			"reopen": func(rt *rapid.T) {
				if err := s.Close(ctx); err != nil {
					rt.Fatal(err)
				}
				if s, err = embedded.Open(path, embedded.WithClock(now), embedded.WithJanitorInterval(0)); err != nil {
					rt.Fatal(err)
				}
			},
			"query": func(rt *rapid.T) {
				q := ctc.AlertQuery{Limit: rapid.IntRange(1, 20).Draw(rt, "limit"), Since: genSince(rt, alertBase)}
				if rapid.Bool().Draw(rt, "by_type") {
					q.Type = rapid.SampledFrom(propTypes).Draw(rt, "qtype")
				}
				if rapid.Bool().Draw(rt, "by_symbol") {
					q.Symbol = rapid.SampledFrom(propSymbols).Draw(rt, "qsymbol")
				}
				got, err := s.QueryAlerts(ctx, q)
				if err != nil {
					rt.Fatal(err)
				}
				if diff := gocmp.Diff(o.query(q, now()), got); diff != "" {
					rt.Fatalf("QueryAlerts(%+v) at %s (-oracle +store):\n%s", q, now().Format(time.RFC3339Nano), diff)
				}
			},
			"volumes": func(rt *rapid.T) {
				sym := rapid.SampledFrom(append(propSymbols, "")).Draw(rt, "vq")
				since := genSince(rt, propBase)
				got, err := s.Volumes(ctx, sym, since)
				if err != nil {
					rt.Fatal(err)
				}
				if diff := gocmp.Diff(o.volumesOf(sym, since, now()), got); diff != "" {
					rt.Fatalf("Volumes(%q, %s) (-oracle +store):\n%s", sym, since, diff)
				}
			},
			"spreads": func(rt *rapid.T) {
				sym := rapid.SampledFrom([]string{"BTC", "ETH", "SOL", ""}).Draw(rt, "sq")
				since := genSince(rt, propBase)
				got, err := s.Spreads(ctx, sym, since)
				if err != nil {
					rt.Fatal(err)
				}
				if diff := gocmp.Diff(o.spreadsOf(sym, since, now()), got); diff != "" {
					rt.Fatalf("Spreads(%q, %s) (-oracle +store):\n%s", sym, since, diff)
				}
			},
			"symbols": func(rt *rapid.T) {
				got, err := s.Symbols(ctx)
				if err != nil {
					rt.Fatal(err)
				}
				if diff := gocmp.Diff(o.symbols(now()), got); diff != "" {
					rt.Fatalf("Symbols (-oracle +store):\n%s", diff)
				}
			},
		})
	})
}
