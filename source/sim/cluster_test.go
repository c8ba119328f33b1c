package sim_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/source/sim"
)

var clusterDay = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

func drain(t *testing.T, s *sim.Source) []ctc.Trade {
	t.Helper()
	var trades []ctc.Trade
	var rec ctc.Record
	for {
		err := s.Next(context.Background(), &rec)
		if errors.Is(err, ctc.ErrEndOfInput) {
			return trades
		}
		if err != nil {
			t.Fatal(err)
		}
		trades = append(trades, rec.Trade)
	}
}

func runSim(t *testing.T, cfg sim.Config) ([]ctc.Trade, []sim.Event) {
	t.Helper()
	s, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return drain(t, s), s.Injected()
}

// Whale clusters are opt-in: without Config.WhaleClusters none is injected, and with it the market
// is the same trade for trade up to the first cluster, which takes the fourth place in the rotation.
func TestWhaleClustersAreOptIn(t *testing.T) {
	t.Parallel()
	cfg := sim.Config{Seed: 4, Start: clusterDay, Duration: 30 * time.Minute}
	plain, plainEv := runSim(t, cfg)
	cfg.WhaleClusters = true
	withC, withEv := runSim(t, cfg)
	for _, e := range plainEv {
		if e.Kind == sim.WhaleCluster {
			t.Fatalf("a whale cluster without WhaleClusters: %+v", e)
		}
	}
	var kinds []sim.Kind
	for _, e := range withEv[:8] {
		kinds = append(kinds, e.Kind)
	}
	want := []sim.Kind{sim.Whale, sim.SpreadDislocation, sim.VolumeBurst, sim.WhaleCluster}
	if !slices.Equal(kinds, append(want, want...)) {
		t.Fatalf("rotation with WhaleClusters: %v", kinds)
	}
	first := withEv[3].Start
	n := slices.IndexFunc(withC, func(tr ctc.Trade) bool { return !tr.Timestamp.Before(first) })
	if n < 1000 || !slices.Equal(plain[:n], withC[:n]) {
		t.Fatalf("the %d trades before the first cluster differ from the run without clusters", n)
	}
	if slices.Equal(plain[n:min(len(plain), n+10)], withC[n:n+10]) {
		t.Fatal("the first cluster changed nothing")
	}
}

// Every injected cluster is what it says: 6, 8 or 12 orders half a second apart on one
// (exchange, symbol) and side, each of one to three fills at one instant, each between $10k and
// $100k, summing to its Magnitude, over $100k, $500k and $1M in turn. Apart from the whales, no
// trade crosses $100k.
func TestWhaleClustersShape(t *testing.T) {
	t.Parallel()
	for _, seed := range []int64{1, 2} {
		trades, events := runSim(t, sim.Config{Seed: seed, Start: clusterDay, Duration: time.Hour, WhaleClusters: true})
		type okey struct {
			ex, sym string
			side    ctc.Side
			ts      int64
		}
		orders := map[okey][]ctc.Trade{}
		for _, tr := range trades {
			k := okey{tr.Exchange, tr.Symbol, tr.Side, tr.Timestamp.UnixNano()}
			orders[k] = append(orders[k], tr)
		}
		whales := map[string]bool{}
		bands := map[int]int{}
		clusters := 0
		for _, e := range events {
			if e.Kind == sim.Whale {
				whales[e.EventID.String()] = true
			}
			if e.Kind != sim.WhaleCluster {
				continue
			}
			clusters++
			side := ctc.Buy
			if strings.Contains(e.Detail, " sell ") {
				side = ctc.Sell
			}
			n := int(e.End.Sub(e.Start)/(500*time.Millisecond)) + 1
			if !slices.Contains([]int{6, 8, 12}, n) || e.End.Sub(e.Start)%(500*time.Millisecond) != 0 {
				t.Fatalf("seed %d: cluster %v–%v is not 6, 8 or 12 orders 0.5 s apart", seed, e.Start, e.End)
			}
			var sum float64
			for i := range n {
				fills := orders[okey{e.Exchange, e.Symbol, side, e.Start.Add(time.Duration(i) * 500 * time.Millisecond).UnixNano()}]
				var q float64
				for _, f := range fills {
					q += f.QuoteVolume
				}
				if len(fills) == 0 || len(fills) > 4 || q < 10_000 || q > 100_000 {
					t.Errorf("seed %d: order %d of the cluster at %v: %d fills, $%.0f", seed, i, e.Start, len(fills), q)
				}
				sum += q
			}
			// A normal trade of the same side at the same millisecond joins an order: rare, and never less.
			if sum < e.Magnitude-1e-6 || sum > e.Magnitude+20_000 {
				t.Errorf("seed %d: cluster at %v sums to $%.0f, its Magnitude is $%.0f", seed, e.Start, sum, e.Magnitude)
			}
			switch {
			case e.Magnitude > 1_000_000:
				bands[3]++
			case e.Magnitude > 500_000:
				bands[2]++
			case e.Magnitude > 100_000:
				bands[1]++
			}
		}
		if clusters < 7 || bands[1] == 0 || bands[2] == 0 || bands[3] == 0 {
			t.Fatalf("seed %d: %d clusters in an hour by band %v, want 7 in all three", seed, clusters, bands)
		}
		for _, tr := range trades {
			if tr.QuoteVolume > 100_000 && !whales[tr.EventID.String()] {
				t.Fatalf("seed %d: a trade of $%.0f that is no whale: %v", seed, tr.QuoteVolume, tr.String())
			}
		}
	}
}

// A cluster is reported once its last trade has been emitted, with Jitter too, and jitter only
// reorders the trades.
func TestWhaleClustersReportedAfterTheirLastTrade(t *testing.T) {
	t.Parallel()
	cfg := sim.Config{Seed: 5, Start: clusterDay, Duration: 15 * time.Minute, InjectEvery: sim.MinInjectEvery, WhaleClusters: true}
	plain, plainEv := runSim(t, cfg)
	cfg.Jitter = 3 * time.Second
	s, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var jittered []ctc.Trade
	seen := map[time.Time]int{}
	var rec ctc.Record
	for s.Next(context.Background(), &rec) == nil {
		jittered = append(jittered, rec.Trade)
		seen[rec.Trade.Timestamp]++
		for _, e := range s.Injected() {
			if e.Kind == sim.WhaleCluster && seen[e.End] == 0 {
				t.Fatalf("cluster ending %v reported before a trade of its last order was emitted", e.End)
			}
		}
	}
	// Jitter changes the order of delivery, and with it the ingestion times and the order in which
	// events are reported, nothing else.
	norm := func(ts []ctc.Trade) []ctc.Trade {
		for i := range ts {
			ts[i].IngestionTimestamp = time.Time{}
		}
		slices.SortFunc(ts, func(a, b ctc.Trade) int { return strings.Compare(a.EventID.String(), b.EventID.String()) })
		return ts
	}
	if !slices.Equal(norm(plain), norm(jittered)) {
		t.Fatal("jitter changed the trades of a run with whale clusters")
	}
	byStart := func(evs []sim.Event) []sim.Event {
		slices.SortStableFunc(evs, func(a, b sim.Event) int { return a.Start.Compare(b.Start) })
		return evs
	}
	if got := byStart(s.Injected()); !slices.Equal(byStart(plainEv), got) {
		t.Fatalf("jitter changed the injected events:\n%v\n%v", plainEv, got)
	}
}

// Seek resumes a run with whale clusters anywhere, in the middle of a cluster too, with the same
// trades and events.
func TestWhaleClustersSeek(t *testing.T) {
	t.Parallel()
	cfg := sim.Config{Seed: 6, Start: clusterDay, Duration: 8 * time.Minute, WhaleClusters: true}
	all, events := runSim(t, cfg)
	mid := slices.IndexFunc(events, func(e sim.Event) bool { return e.Kind == sim.WhaleCluster })
	if mid < 0 {
		t.Fatal("no cluster in 8 minutes")
	}
	inCluster := slices.IndexFunc(all, func(tr ctc.Trade) bool { return tr.Timestamp.After(events[mid].Start) })
	for _, n := range []int{inCluster, inCluster + 3, len(all) / 3} {
		s, err := sim.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Seek(context.Background(), ctc.Position{Partition: "sim", Offset: int64(n)}); err != nil {
			t.Fatal(err)
		}
		if rest := drain(t, s); !slices.Equal(rest, all[n:]) {
			t.Fatalf("after seeking to %d: %d trades differ from the %d of the run", n, len(rest), len(all)-n)
		}
		if !slices.Equal(s.Injected(), events) {
			t.Fatalf("after seeking to %d: events %v, want %v", n, s.Injected(), events)
		}
	}
}

// A demo that shows split whales injects them with WhaleClusters.
func ExampleConfig_whaleClusters() {
	src, err := sim.New(sim.Config{Seed: 1, Start: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		Duration: 7 * time.Minute, WhaleClusters: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	var rec ctc.Record
	for src.Next(context.Background(), &rec) == nil {
	}
	for _, e := range src.Injected() {
		if e.Kind == sim.WhaleCluster {
			fmt.Printf("%s–%s %s $%.0fk\n%s\n", e.Start.Format("15:04:05.0"), e.End.Format("15:04:05.0"), e.Kind,
				math.Round(e.Magnitude/1000), e.Detail)
		}
	}
	// Output:
	// 00:06:10.0–00:06:12.5 whale_cluster $150k
	// binance BTC-USDT: sell $150145 in 6 orders (12 trades), 500ms apart, none over $100k
}
