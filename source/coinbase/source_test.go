package coinbase_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/source/coinbase"
	"github.com/coattailcapital/ctc/source/coinbase/coinbasetest"
	"github.com/coattailcapital/ctc/source/feed"
)

type harness struct {
	t    *testing.T
	srv  *coinbasetest.Server
	src  *coinbase.Source
	mu   sync.Mutex
	gaps []feed.Gap
}

func newHarness(t *testing.T, mod func(*coinbase.Config), products ...string) *harness {
	t.Helper()
	return newHarnessMode(t, false, mod, products...)
}

// newHarnessMode runs the Exchange feed, or with advanced the Advanced Trade feed read with the
// documented taker-side meaning (which is what coinbasetest sends).
func newHarnessMode(t *testing.T, advanced bool, mod func(*coinbase.Config), products ...string) *harness {
	t.Helper()
	h := &harness{t: t}
	if advanced {
		h.srv = coinbasetest.NewAdvanced(products...)
		inner := mod
		mod = func(o *coinbase.Config) {
			o.Advanced, o.AdvancedSide = true, coinbase.DefaultAdvancedSide
			if inner != nil {
				inner(o)
			}
		}
	} else {
		h.srv = coinbasetest.New(products...)
	}
	opt := coinbase.Config{
		Products: products, WSURL: h.srv.URL, RESTURL: h.srv.RESTURL,
		Backoff:      feed.Backoff{Initial: time.Millisecond, Max: 10 * time.Millisecond, Rand: func() float64 { return 0.5 }},
		StaleTimeout: 5 * time.Second,
		OnGap:        func(g feed.Gap) { h.mu.Lock(); h.gaps = append(h.gaps, g); h.mu.Unlock() },
	}
	if mod != nil {
		mod(&opt)
	}
	src, err := coinbase.New(opt)
	if err != nil {
		t.Fatal(err)
	}
	h.src = src
	t.Cleanup(func() {
		h.src.Close(context.Background())
		h.srv.Close()
	})
	return h
}

// next reads one record with a deadline.
func (h *harness) next() ctc.Record {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var rec ctc.Record
	if err := h.src.Next(ctx, &rec); err != nil {
		h.t.Fatalf("Next: %v", err)
	}
	return rec
}

// trade reads the next record and requires it to be the given scripted trade.
func (h *harness) trade(want coinbasetest.Trade) {
	h.t.Helper()
	rec := h.next()
	if rec.Err != nil || !rec.Decoded {
		h.t.Fatalf("want trade %d, got record err=%v data=%s", want.ID, rec.Err, rec.Data)
	}
	if rec.Trade.EventID != ctc.NewEventIDInt("coinbase", want.Product, want.ID) || !rec.Trade.Timestamp.Equal(want.Time) {
		h.t.Fatalf("want trade %s %d, got %+v", want.Product, want.ID, rec.Trade)
	}
	side := ctc.Buy
	if want.Side == "buy" {
		side = ctc.Sell
	}
	if rec.Trade.Side != side {
		h.t.Fatalf("trade %d: side %v, maker side %s", want.ID, rec.Trade.Side, want.Side)
	}
	if rec.Trade.IngestionTimestamp.IsZero() || len(rec.Data) == 0 {
		h.t.Fatalf("trade %d: no ingestion time or data", want.ID)
	}
}

func (h *harness) waitSub(n int) {
	h.t.Helper()
	if !h.srv.WaitSubscribed(n, 10*time.Second) {
		h.t.Fatalf("subscription %d never came", n)
	}
}

func (h *harness) gapList() []feed.Gap {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]feed.Gap(nil), h.gaps...)
}

// start reads the first last_match (historical, emitted once) in a goroutine-free way: the server
// only sends it after the subscription, which the first Next performs.
func (h *harness) start(product string) {
	h.t.Helper()
	hist := h.srv.History(product)
	h.trade(hist[len(hist)-1])
}

func TestTradesInOrderAndLastMatchDedup(t *testing.T) {
	h := newHarness(t, nil, "BTC-USD", "ETH-USD")
	// The first Next connects; the two last_matches are historical but new to us.
	h.start("BTC-USD")
	h.start("ETH-USD")
	var want []coinbasetest.Trade
	for i := range 20 {
		p := "BTC-USD"
		if i%3 == 0 {
			p = "ETH-USD"
		}
		want = append(want, h.srv.Match(p))
	}
	for _, w := range want {
		h.trade(w)
	}
	if g := h.gapList(); len(g) != 0 {
		t.Fatalf("gaps %v", g)
	}
	st := h.src.Stats()
	if st.Trades != 22 || st.GapsDetected != 0 || st.Reconnects != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestDropRepairedFromREST(t *testing.T) {
	h := newHarness(t, nil, "BTC-USD")
	h.start("BTC-USD")
	a := h.srv.Match("BTC-USD")
	h.trade(a)
	h.srv.Drop()
	// Trades happen while the connection is down: the feed never sends them.
	missed := h.srv.Skip("BTC-USD", 5)
	// The next Next notices the drop, reconnects, and the last_match (the newest missed trade)
	// reveals the rest, which come from REST in id order.
	for _, m := range missed {
		h.trade(m)
	}
	b := h.srv.Match("BTC-USD")
	h.trade(b)
	g := h.gapList()
	if len(g) != 1 || !g[0].Repaired || g[0].FirstID != missed[0].ID || g[0].LastID != missed[3].ID {
		t.Fatalf("gaps %v", g)
	}
	st := h.src.Stats()
	if st.Reconnects != 1 || st.GapsRepaired != 1 || st.GapsUnrepaired != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestSequenceGapRepaired(t *testing.T) {
	h := newHarness(t, func(o *coinbase.Config) { o.RESTPageLimit = 2 }, "BTC-USD")
	h.start("BTC-USD")
	skipped := h.srv.Skip("BTC-USD", 7)
	next := h.srv.Match("BTC-USD")
	for _, s := range skipped {
		h.trade(s)
	}
	h.trade(next)
	g := h.gapList()
	if len(g) != 1 || !g[0].Repaired || g[0].FirstID != skipped[0].ID || g[0].LastID != skipped[6].ID {
		t.Fatalf("gaps %v", g)
	}
	if h.srv.RESTCalls() < 4 {
		t.Fatalf("paging by 2 needs at least 4 calls for 7 trades, made %d", h.srv.RESTCalls())
	}
}

func TestHeartbeatRevealsTailGap(t *testing.T) {
	h := newHarness(t, nil, "BTC-USD")
	h.start("BTC-USD")
	skipped := h.srv.Skip("BTC-USD", 3)
	h.srv.Heartbeat("BTC-USD")
	for _, s := range skipped {
		h.trade(s)
	}
	m := h.srv.Match("BTC-USD")
	h.trade(m)
	if g := h.gapList(); len(g) != 1 || !g[0].Repaired {
		t.Fatalf("gaps %v", g)
	}
}

func TestUnrepairableGapReported(t *testing.T) {
	h := newHarness(t, nil, "BTC-USD")
	h.start("BTC-USD")
	s1 := h.srv.Skip("BTC-USD", 2)
	lost := h.srv.Lose("BTC-USD", 2)
	s2 := h.srv.Skip("BTC-USD", 1)
	m := h.srv.Match("BTC-USD")
	for _, s := range append(s1, s2...) {
		h.trade(s)
	}
	h.trade(m)
	g := h.gapList()
	if len(g) != 1 || g[0].Repaired || g[0].FirstID != lost[0].ID || g[0].LastID != lost[1].ID {
		t.Fatalf("gaps %v", g)
	}
	if st := h.src.Stats(); st.GapsDetected != 1 || st.GapsUnrepaired != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// A gap's REST page with one unusable element (a price that is not a number) repairs the rest of
// the gap and reports that one trade as an unrepaired gap: the page decoder's rule, the one a
// backfill of the same day follows.
func TestRepairBadPageElement(t *testing.T) {
	h := newHarness(t, nil, "BTC-USD")
	h.start("BTC-USD")
	skipped := h.srv.Skip("BTC-USD", 3)
	var elems []string
	for i := len(skipped) - 1; i >= 0; i-- { // newest first, as Coinbase pages
		s := skipped[i]
		price := strconv.Quote(s.Price)
		if i == 1 {
			price = `"12,5"`
		}
		elems = append(elems, fmt.Sprintf(`{"time":%q,"trade_id":%d,"price":%s,"size":%q,"side":%q}`,
			s.Time.UTC().Format(time.RFC3339Nano), s.ID, price, s.Size, s.Side))
	}
	h.srv.AnswerREST(coinbasetest.RESTAnswer{Body: "[" + strings.Join(elems, ",") + "]"})
	m := h.srv.Match("BTC-USD")
	h.trade(skipped[0])
	h.trade(skipped[2])
	h.trade(m)
	g := h.gapList()
	if len(g) != 1 || g[0].Repaired || g[0].FirstID != skipped[1].ID || g[0].LastID != skipped[1].ID {
		t.Fatalf("gaps %v", g)
	}
	if st := h.src.Stats(); st.GapsDetected != 1 || st.GapsUnrepaired != 1 || st.GapsRepaired != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestRESTDownGapReported(t *testing.T) {
	h := newHarness(t, nil, "BTC-USD")
	h.start("BTC-USD")
	skipped := h.srv.Skip("BTC-USD", 2)
	h.srv.FailREST(100)
	m := h.srv.Match("BTC-USD")
	h.trade(m)
	g := h.gapList()
	if len(g) != 1 || g[0].Repaired || g[0].FirstID != skipped[0].ID || g[0].LastID != skipped[1].ID {
		t.Fatalf("gaps %v", g)
	}
}

func TestMalformedAndErrorFrames(t *testing.T) {
	h := newHarness(t, nil, "BTC-USD")
	h.start("BTC-USD")
	h.srv.Send([]byte(`{"type":"match","trade_id":`))
	h.srv.SendError("Failed to subscribe", "FOO-BAR is not a valid product")
	m := h.srv.Match("BTC-USD")
	rec := h.next()
	if !errors.Is(rec.Err, coinbase.ErrMalformed) || string(rec.Data) != `{"type":"match","trade_id":` {
		t.Fatalf("malformed: %+v", rec)
	}
	rec = h.next()
	var xe *coinbase.ExchangeError
	if !errors.As(rec.Err, &xe) || xe.Reason != "FOO-BAR is not a valid product" {
		t.Fatalf("error frame: %+v", rec)
	}
	h.trade(m)
	if st := h.src.Stats(); st.Malformed != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestStaleReconnects(t *testing.T) {
	h := newHarness(t, func(o *coinbase.Config) { o.StaleTimeout = 300 * time.Millisecond }, "BTC-USD")
	h.srv.HeartbeatEvery(50 * time.Millisecond)
	h.start("BTC-USD")
	// Heartbeats keep a quiet market's connection alive past the stale timeout.
	done := make(chan ctc.Record, 1)
	next := func() {
		var rec ctc.Record
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		h.src.Next(ctx, &rec)
		done <- rec
	}
	go next()
	time.Sleep(time.Second)
	if st := h.src.Stats(); st.Reconnects != 0 {
		t.Fatalf("reconnected with heartbeats flowing: %+v", st)
	}
	m := h.srv.Match("BTC-USD")
	if rec := <-done; rec.Trade.EventID != ctc.NewEventIDInt("coinbase", "BTC-USD", m.ID) {
		t.Fatalf("got %+v", rec)
	}
	// A stalled connection (open, silent) is given up and replaced; what was scripted during the
	// stall comes back through the new subscription and REST.
	h.srv.Stall(true)
	go next()
	m1 := h.srv.Match("BTC-USD")
	m2 := h.srv.Match("BTC-USD")
	h.waitSub(2) // the stall outlasted the stale timeout
	h.srv.Stall(false)
	rec := <-done
	if rec.Trade.EventID != ctc.NewEventIDInt("coinbase", "BTC-USD", m1.ID) {
		t.Fatalf("after stale reconnect got %+v", rec)
	}
	h.trade(m2)
	if st := h.src.Stats(); st.Reconnects < 1 || st.GapsRepaired != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestCaptureReplays(t *testing.T) {
	var buf bytes.Buffer
	cw := feed.NewCaptureWriter(&buf)
	h := newHarness(t, func(o *coinbase.Config) { o.Capture = cw }, "BTC-USD")
	h.start("BTC-USD")
	m := h.srv.Match("BTC-USD")
	h.trade(m)
	h.src.Close(context.Background()) // flushes
	r := feed.NewCaptureReader(&buf)
	var ids []int64
	for {
		_, frame, err := r.Next()
		if err != nil {
			break
		}
		_, info, err := coinbase.DecodeFrame(frame, nil)
		if err != nil {
			t.Fatalf("%s: %v", frame, err)
		}
		if info.Kind == coinbase.KindMatch || info.Kind == coinbase.KindLastMatch {
			ids = append(ids, info.TradeID)
		}
	}
	if len(ids) != 2 || ids[1] != m.ID {
		t.Fatalf("replayed trade ids %v", ids)
	}
}

func TestBackoffDelays(t *testing.T) {
	var mu sync.Mutex
	var slept []time.Duration
	bo := feed.Backoff{Initial: 100 * time.Millisecond, Max: time.Second, Rand: func() float64 { return 0.25 }}
	h := newHarness(t, func(o *coinbase.Config) {
		o.Backoff = bo
		o.Sleep = func(ctx context.Context, d time.Duration) error {
			mu.Lock()
			slept = append(slept, d)
			mu.Unlock()
			return ctx.Err() // no real wait: the fake clock
		}
	}, "BTC-USD")
	h.start("BTC-USD")
	h.srv.RejectDials(5)
	h.srv.Drop()
	m := h.srv.Match("BTC-USD") // sent to nobody; repaired from REST after the reconnect
	h.trade(m)
	mu.Lock()
	defer mu.Unlock()
	if len(slept) != 6 {
		t.Fatalf("slept %v, want 6 delays", slept)
	}
	for i, d := range slept {
		if d != bo.Delay(i) {
			t.Fatalf("delay %d = %v, want %v (all %v)", i, d, bo.Delay(i), slept)
		}
	}
	if slept[5] != 625*time.Millisecond {
		t.Fatalf("capped delay %v", slept[5])
	}
}

func TestCloseStopsEverything(t *testing.T) {
	before := runtime.NumGoroutine()
	srv := coinbasetest.New("BTC-USD")
	src, err := coinbase.New(coinbase.Config{Products: []string{"BTC-USD"}, WSURL: srv.URL, RESTURL: srv.RESTURL})
	if err != nil {
		t.Fatal(err)
	}
	var rec ctc.Record
	if err := src.Next(context.Background(), &rec); err != nil {
		t.Fatal(err)
	}
	srv.Skip("BTC-USD", 1)
	srv.Heartbeat("BTC-USD") // exercises the REST client too
	if err := src.Next(context.Background(), &rec); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- src.Next(context.Background(), &rec) }() // blocks: nothing more is sent
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	if err := src.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, coinbase.ErrClosed) {
			t.Fatalf("Next after Close: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Next still blocked 2 s after Close")
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Close took %v", d)
	}
	srv.Close()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

func TestContextCancelEndsNext(t *testing.T) {
	h := newHarness(t, nil, "BTC-USD")
	h.start("BTC-USD")
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	var rec ctc.Record
	go func() { errc <- h.src.Next(ctx, &rec) }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Next ignored the cancelled context")
	}
	// The source carries on with a fresh context: the trade sent meanwhile is repaired.
	m := h.srv.Match("BTC-USD")
	h.trade(m)
}

func TestNewRejectsBadProducts(t *testing.T) {
	for _, p := range [][]string{nil, {"BTCUSD"}} {
		if _, err := coinbase.New(coinbase.Config{Products: p}); err == nil {
			t.Errorf("%v accepted", p)
		}
	}
	_ = fmt.Sprint()
}

// TestRandomFailures scripts random trades, drops, wire losses (repairable), real losses
// (unrepairable), heartbeats and malformed frames, and checks the invariant: every trade REST
// knows comes out exactly once, in trade-id order per product, and exactly the lost ones are
// reported as unrepaired gaps.
func TestRandomFailures(t *testing.T) {
	for seed := range uint64(8) {
		advanced := seed%2 == 1
		t.Run(fmt.Sprintf("seed=%d,advanced=%v", seed, advanced), func(t *testing.T) {
			prods := []string{"BTC-USD", "ETH-USD"}
			h := newHarnessMode(t, advanced, func(o *coinbase.Config) { o.RESTPageLimit = 3 }, prods...)
			r := rand.New(rand.NewPCG(seed, 7))
			got := map[string][]int64{}
			recs := make(chan ctc.Record, 1024)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() {
				defer close(recs)
				for {
					var rec ctc.Record
					if err := h.src.Next(ctx, &rec); err != nil {
						return
					}
					recs <- rec
				}
			}()
			h.waitSub(1)
			hidden := map[int64]bool{}
			for range 300 {
				p := prods[r.IntN(2)]
				switch x := r.IntN(100); {
				case x < 70:
					h.srv.Match(p)
				case x < 80:
					h.srv.Skip(p, 1+r.IntN(4))
				case x < 85:
					for _, l := range h.srv.Lose(p, 1+r.IntN(3)) {
						hidden[l.ID*10+int64(len(p))] = true
					}
				case x < 90:
					h.srv.Heartbeat(p)
				case x < 93:
					h.srv.Send([]byte(`{"type":"match",`))
				default:
					h.srv.Drop()
					time.Sleep(time.Millisecond)
				}
			}
			final := map[string]int64{}
			for _, p := range prods {
				final[p] = h.srv.Match(p).ID
				h.srv.Heartbeat(p)
			}
			timeout := time.After(20 * time.Second)
			for got["BTC-USD"] == nil || got["BTC-USD"][len(got["BTC-USD"])-1] != final["BTC-USD"] ||
				got["ETH-USD"] == nil || got["ETH-USD"][len(got["ETH-USD"])-1] != final["ETH-USD"] {
				select {
				case rec := <-recs:
					if rec.Err != nil {
						continue
					}
					var id int64
					for _, tr := range h.srv.History(rec.Trade.Symbol) {
						if ctc.NewEventIDInt("coinbase", tr.Product, tr.ID) == rec.Trade.EventID {
							id = tr.ID
						}
					}
					if id == 0 {
						t.Fatalf("unknown trade %+v", rec.Trade)
					}
					got[rec.Trade.Symbol] = append(got[rec.Trade.Symbol], id)
				case <-timeout:
					t.Fatalf("stuck; got %v, final %v, stats %+v", got, final, h.src.Stats())
				}
			}
			for _, p := range prods {
				var want []int64
				for _, tr := range h.srv.History(p) {
					if !tr.Hidden {
						want = append(want, tr.ID)
					}
				}
				if fmt.Sprint(got[p]) != fmt.Sprint(want) {
					t.Fatalf("%s:\n got %v\nwant %v", p, got[p], want)
				}
			}
			reported := map[int64]bool{}
			for _, g := range h.gapList() {
				if g.Repaired {
					continue
				}
				for id := g.FirstID; id <= g.LastID; id++ {
					reported[id*10+int64(len(g.Symbol))] = true
				}
			}
			if fmt.Sprint(reported) != fmt.Sprint(hidden) {
				t.Fatalf("unrepaired gaps %v, lost %v", reported, hidden)
			}
		})
	}
}

func TestAdvancedTrade(t *testing.T) {
	h := newHarnessMode(t, true, nil, "BTC-USD", "ETH-USD")
	// The snapshot after subscribing is historical but new to us: emitted once, in id order.
	h.start("BTC-USD")
	h.start("ETH-USD")
	a := h.srv.Match("BTC-USD")
	h.trade(a)
	h.srv.Drop()
	missed := h.srv.Skip("BTC-USD", 3)
	for _, m := range missed {
		h.trade(m) // two from REST, the newest from the snapshot after the reconnect
	}
	lost := h.srv.Lose("ETH-USD", 2)
	b := h.srv.Match("ETH-USD")
	h.trade(b)
	g := h.gapList()
	if len(g) != 2 || !g[0].Repaired || g[1].Repaired || g[1].FirstID != lost[0].ID || g[1].LastID != lost[1].ID {
		t.Fatalf("gaps %v", g)
	}
}

func TestAdvancedNeedsSideMeaning(t *testing.T) {
	if _, err := coinbase.New(coinbase.Config{Products: []string{"BTC-USD"}, Advanced: true}); err == nil {
		t.Fatal("Advanced without AdvancedSide accepted")
	}
	// Read with the other meaning, the same frames give the opposite sides: the choice matters.
	srv := coinbasetest.NewAdvanced("BTC-USD")
	defer srv.Close()
	src, err := coinbase.New(coinbase.Config{Products: []string{"BTC-USD"}, WSURL: srv.URL, RESTURL: srv.RESTURL,
		Advanced: true, AdvancedSide: coinbase.SideIsMaker})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close(context.Background())
	var rec ctc.Record
	if err := src.Next(context.Background(), &rec); err != nil {
		t.Fatal(err)
	}
	first := srv.History("BTC-USD")[0]
	want := ctc.Buy // the maker's own side: the taker-side frame read as if it were the maker's
	if first.Side == "sell" {
		want = ctc.Sell
	}
	if rec.Trade.Side != want {
		t.Fatalf("SideIsMaker: maker %s gave %v", first.Side, rec.Trade.Side)
	}
}

func TestRESTRetried(t *testing.T) {
	h := newHarness(t, nil, "BTC-USD")
	h.start("BTC-USD")
	skipped := h.srv.Skip("BTC-USD", 2)
	h.srv.FailREST(2) // two 500s, then the history
	m := h.srv.Match("BTC-USD")
	h.trade(skipped[0])
	h.trade(skipped[1])
	h.trade(m)
	if g := h.gapList(); len(g) != 1 || !g[0].Repaired {
		t.Fatalf("gaps %v", g)
	}
	if n := h.srv.RESTCalls(); n != 3 {
		t.Fatalf("%d REST calls, want 3", n)
	}
}
