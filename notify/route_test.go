package notify_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/ctctest"
	"github.com/coattailcapital/ctc/notify"
	"github.com/coattailcapital/ctc/notify/notifytest"
)

// recorder is a destination that accepts everything at once.
type recorder struct {
	name string
	mu   sync.Mutex
	got  []notify.Notification
}

func (r *recorder) Name() string { return r.name }

func (r *recorder) Send(_ context.Context, n *notify.Notification) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, *n)
	return nil
}

type delivery struct {
	ID   string
	Rev  uint32
	Dest string
}

// The deliveries a notifier makes are exactly those a plain evaluation of the rules gives: every
// alert, in the order written, goes to each destination of every rule it matches, unless that
// destination already got the same alert at a revision at least as high.
func TestRoutingProperty(t *testing.T) {
	t.Parallel()
	types := []ctc.AlertType{ctc.VolumeSpike, ctc.Whale, ctc.Spread, "liquidation_cascade"}
	symbols := []string{"BTC-USDT", "ETH-USDT", "SOL-USD"}
	exchanges := []string{ctc.Binance, ctc.Coinbase}
	rapid.Check(t, func(t *rapid.T) {
		nd := rapid.IntRange(1, 4).Draw(t, "destinations")
		var names []string
		var recs []*recorder
		var opts []notify.Option
		for i := range nd {
			r := &recorder{name: fmt.Sprintf("d%d", i)}
			names, recs, opts = append(names, r.name), append(recs, r), append(opts, notify.WithDestination(r))
		}
		rules := rapid.SliceOfN(rapid.Custom(func(t *rapid.T) notify.Rule {
			return notify.Rule{
				Types:       rapid.SliceOfNDistinct(rapid.SampledFrom(types), 0, 2, rapid.ID).Draw(t, "types"),
				Symbols:     rapid.SliceOfNDistinct(rapid.SampledFrom(symbols), 0, 2, rapid.ID).Draw(t, "symbols"),
				Exchanges:   rapid.SliceOfNDistinct(rapid.SampledFrom(exchanges), 0, 1, rapid.ID).Draw(t, "exchanges"),
				MinSeverity: ctc.Severity(rapid.IntRange(0, 4).Draw(t, "min")),
				To:          rapid.SliceOfNDistinct(rapid.SampledFrom(names), 1, nd, rapid.ID).Draw(t, "to"),
			}
		}), 0, 5).Draw(t, "rules")
		alerts := rapid.SliceOfN(rapid.Custom(func(t *rapid.T) ctc.Alert {
			typ := rapid.SampledFrom(types).Draw(t, "type")
			sym := rapid.SampledFrom(symbols).Draw(t, "symbol")
			ex := rapid.SampledFrom(exchanges).Draw(t, "exchange")
			// Few windows, so that the same alert comes back, at other severities too.
			start := t0.Add(time.Duration(rapid.IntRange(0, 2).Draw(t, "window")) * time.Minute)
			return ctc.Alert{AlertID: ctc.NewAlertID(typ, ex, sym, ctc.WindowKey(start)), AlertType: typ, Symbol: sym, Exchange: ex,
				Severity: ctc.Severity(rapid.IntRange(1, 4).Draw(t, "severity")), WindowStart: start, DetectedAt: start.Add(time.Minute)}
		}), 0, 30).Draw(t, "alerts")

		n, err := notify.New(&notify.Config{Rules: rules, Incidents: notify.Incidents{Off: true}}, opts...)
		if err != nil {
			t.Fatal(err)
		}
		// The alerts in batches of random sizes.
		for rest := alerts; len(rest) > 0; {
			k := rapid.IntRange(1, len(rest)).Draw(t, "batch")
			if err := n.Write(context.Background(), batch(rest[:k]...)); err != nil {
				t.Fatal(err)
			}
			rest = rest[k:]
		}
		if err := n.Close(context.Background()); err != nil {
			t.Fatal(err)
		}

		// The plain evaluation.
		want := map[string][]delivery{}
		delivered := map[delivery]uint32{} // (id, dest) → highest revision
		for _, a := range alerts {
			for _, d := range names {
				matched := false
				for _, r := range rules {
					if slices.Contains(r.To, d) && plainMatch(r, a) {
						matched = true
					}
				}
				if !matched {
					continue
				}
				k := delivery{ID: a.AlertID.String(), Dest: d}
				if old, ok := delivered[k]; ok && old >= uint32(a.Severity) {
					continue
				}
				delivered[k] = uint32(a.Severity)
				want[d] = append(want[d], delivery{a.AlertID.String(), uint32(a.Severity), d})
			}
			// Route says the same, in config order.
			var route []string
			for _, d := range names {
				for _, r := range rules {
					if slices.Contains(r.To, d) && plainMatch(r, a) {
						route = append(route, d)
						break
					}
				}
			}
			if got := n.Route(&a); !slices.Equal(got, route) {
				t.Fatalf("Route = %v, want %v", got, route)
			}
		}
		got := map[string][]delivery{}
		for _, r := range recs {
			for _, x := range r.got {
				got[r.name] = append(got[r.name], delivery{x.Alert.AlertID.String(), x.Revision, r.name})
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("deliveries, per destination in order (-plain evaluation +notifier):\n%s", diff)
		}
	})
}

// The notifier passes the sink conformance suite, with a signature-verifying webhook receiver as
// its storage: what the sink has "made durable" at Flush is what the receiver accepted. Flush
// waits for delivery, Write after Close fails, a cancelled Write queues nothing, and an alert
// written again (also with a later emitted_at) is delivered once.
func TestConformance(t *testing.T) {
	t.Parallel()
	receivers := map[ctc.Sink]*notifytest.Server{}
	var mu sync.Mutex
	ctctest.TestSink(t, ctctest.SinkFeatures{Alerts: true, IdempotentAlerts: true},
		func(t *testing.T) ctc.Sink {
			wh := notifytest.NewWebhook(t, hmacKey)
			n, _ := setup{dests: []string{webhookDest("hook", wh)}, secrets: map[string]string{"hmac": hmacKey},
				delivery: `{"backoff_base": "1ms", "backoff_max": "2ms"}`}.open(t)
			mu.Lock()
			receivers[n] = wh
			mu.Unlock()
			return n
		},
		func(t *testing.T, s ctc.Sink) *ctc.Batch {
			mu.Lock()
			wh := receivers[s]
			mu.Unlock()
			var b ctc.Batch
			for _, r := range wh.Accepted() {
				if !r.Duplicate {
					b.Output.Alerts = append(b.Output.Alerts, *r.Alert)
				}
			}
			return &b
		})
}

// plainMatch is the rule as the package documentation states it, written apart from Rule.Matches.
func plainMatch(r notify.Rule, a ctc.Alert) bool {
	in := func(list []string, v string) bool { return len(list) == 0 || slices.Contains(list, v) }
	var types []string
	for _, t := range r.Types {
		types = append(types, string(t))
	}
	return in(types, string(a.AlertType)) && in(r.Symbols, a.Symbol) && in(r.Exchanges, a.Exchange) && a.Severity >= r.MinSeverity
}
