package binance

import (
	"context"
	"errors"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/internal/clock"
	"github.com/coattailcapital/ctc/source/binance/binancetest"
	"github.com/coattailcapital/ctc/source/feed"
)

type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

// sleep records the delay and waits only briefly, so that tests run fast but a failing dial does
// not spin.
func (r *sleeps) sleep(ctx context.Context, d time.Duration) error {
	r.mu.Lock()
	r.d = append(r.d, d)
	r.mu.Unlock()
	return clock.Sleep(ctx, time.Millisecond)
}

func (r *sleeps) get() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Duration(nil), r.d...)
}

type harness struct {
	t    *testing.T
	srv  *binancetest.Server
	src  *Source
	gaps chan feed.Gap
	sl   *sleeps
}

func newHarness(t *testing.T, mod func(*Config)) *harness {
	h := &harness{t: t, srv: binancetest.New(t), gaps: make(chan feed.Gap, 100), sl: &sleeps{}}
	cfg := Config{Symbols: []string{"BTCUSDT"}, StreamURL: h.srv.WSURL, RESTURL: h.srv.URL,
		Sleep: h.sl.sleep, StaleTimeout: 5 * time.Second, ControlInterval: time.Millisecond,
		OnGap: func(g feed.Gap) { h.gaps <- g }}
	if mod != nil {
		mod(&cfg)
	}
	h.src = mustNew(t, cfg)
	t.Cleanup(func() { h.src.Close(context.Background()) })
	h.src.start()
	h.waitConnects(1)
	return h
}

func (h *harness) waitConnects(n int) {
	h.t.Helper()
	if !h.srv.WaitConnects(n, "btcusdt@aggTrade", 5*time.Second) {
		h.t.Fatalf("no subscribed connection #%d (connects %d)", n, h.srv.Connects())
	}
}

func (h *harness) next() ctc.Record {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var rec ctc.Record
	if err := h.src.Next(ctx, &rec); err != nil {
		h.t.Fatalf("Next: %v", err)
	}
	return rec
}

// expectIDs reads trades and checks their event ids against the scripted trades, in order.
func (h *harness) expectIDs(want []binancetest.Trade) {
	h.t.Helper()
	for _, w := range want {
		rec := h.next()
		if rec.Err != nil || !rec.Decoded {
			h.t.Fatalf("record %+v, want trade %d", rec, w.ID)
		}
		if id := ctc.NewEventIDInt("binance", "BTC-USDT", w.ID); rec.Trade.EventID != id {
			h.t.Fatalf("got trade at %v (%v), want id %d", rec.Trade.Timestamp, rec.Trade.EventID, w.ID)
		}
		wantSide := ctc.Buy
		if w.BuyerMaker {
			wantSide = ctc.Sell
		}
		if rec.Trade.Side != wantSide || rec.Trade.Symbol != "BTC-USDT" || rec.Trade.IngestionTimestamp.IsZero() {
			h.t.Fatalf("trade %+v", rec.Trade)
		}
	}
}

func cat(a ...[]binancetest.Trade) (out []binancetest.Trade) {
	for _, x := range a {
		out = append(out, x...)
	}
	return out
}

func TestSourceNoTradeLostAcrossDrop(t *testing.T) {
	h := newHarness(t, nil)
	first := h.srv.Publish("BTCUSDT", 5)
	h.expectIDs(first)
	h.srv.Drop()
	missed := h.srv.Skip("BTCUSDT", 3) // traded while the connection was down: only REST has them
	h.waitConnects(2)
	after := h.srv.Publish("BTCUSDT", 2)
	h.expectIDs(cat(missed, after))
	if st := h.src.Stats(); st.Reconnects != 1 || st.GapsRepaired != 1 || st.GapsUnrepaired != 0 || st.Trades != 10 {
		t.Fatalf("stats %+v", st)
	}
	if g := <-h.gaps; !g.Repaired || g.FirstID != missed[0].ID || g.LastID < missed[2].ID {
		t.Fatalf("gap %v", g)
	}
}

func TestSourceGapRepairedInOrder(t *testing.T) {
	h := newHarness(t, nil)
	a := h.srv.Publish("BTCUSDT", 2)
	b := h.srv.Skip("BTCUSDT", 4)
	c := h.srv.Publish("BTCUSDT", 1)
	h.expectIDs(cat(a, b, c))
	if g := <-h.gaps; !g.Repaired || g.FirstID != b[0].ID || g.LastID != b[3].ID {
		t.Fatalf("gap %v", g)
	}
}

func TestSourceGapReportedWhenRESTCannotFill(t *testing.T) {
	h := newHarness(t, nil)
	a := h.srv.Publish("BTCUSDT", 1)
	h.srv.Lose("BTCUSDT", 2)
	b := h.srv.Publish("BTCUSDT", 1)
	h.expectIDs(cat(a, b))
	if g := <-h.gaps; g.Repaired || g.FirstID != a[0].ID+1 || g.LastID != a[0].ID+2 {
		t.Fatalf("gap %v", g)
	}
	h.srv.RESTDown(true)
	h.srv.Skip("BTCUSDT", 1)
	c := h.srv.Publish("BTCUSDT", 1)
	h.expectIDs(c)
	if g := <-h.gaps; g.Repaired || !strings.Contains(g.Reason, "REST failed") {
		t.Fatalf("gap %v", g)
	}
	if st := h.src.Stats(); st.GapsDetected != 2 || st.GapsUnrepaired != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestSourceMalformedFramesDoNotStop(t *testing.T) {
	h := newHarness(t, nil)
	h.srv.SendRaw([]byte(`{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","s":"BTCUSDT"`))
	h.srv.SendRaw([]byte(`{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","s":"BTCUSDT","a":1,"p":"x","q":"1","T":1,"m":true}}`))
	h.srv.SendRaw([]byte(`{"stream":"btcusdt@depth","data":{"e":"depthUpdate","b":[],"a":[]}}`))
	for range 2 {
		if rec := h.next(); rec.Err == nil || len(rec.Data) == 0 {
			t.Fatalf("record %+v, want a malformed one", rec)
		}
	}
	h.expectIDs(h.srv.Publish("BTCUSDT", 2))
	if st := h.src.Stats(); st.Malformed != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestSourceServerShutdownReconnects(t *testing.T) {
	h := newHarness(t, nil)
	h.expectIDs(h.srv.Publish("BTCUSDT", 1))
	h.srv.Shutdown()
	h.waitConnects(2)
	h.expectIDs(h.srv.Publish("BTCUSDT", 1))
	if s := h.sl.get(); len(s) != 0 {
		t.Fatalf("a planned reconnect backed off: %v", s)
	}
}

func TestSourceStaleReconnects(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.StaleTimeout = 150 * time.Millisecond })
	h.expectIDs(h.srv.Publish("BTCUSDT", 1)) // a first id, from which a reconnect catches up
	h.srv.Stall(true)
	time.Sleep(300 * time.Millisecond)
	h.srv.Stall(false)
	h.waitConnects(2)
	// The trade may reach a connection the source is just giving up as stale; the catch-up after
	// the next connection still delivers it.
	h.expectIDs(h.srv.Publish("BTCUSDT", 1))
	if st := h.src.Stats(); st.Reconnects < 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestSourcePlannedReconnectBeforeAgeLimit(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxConnAge = 200 * time.Millisecond })
	h.expectIDs(h.srv.Publish("BTCUSDT", 1))
	h.waitConnects(2)
	h.expectIDs(h.srv.Publish("BTCUSDT", 1))
	if s := h.sl.get(); len(s) != 0 {
		t.Fatalf("a planned reconnect backed off: %v", s)
	}
}

func TestSourcePongEchoesPayload(t *testing.T) {
	h := newHarness(t, nil)
	h.srv.Ping("payload-123")
	h.srv.SendRaw([]byte(`{"e":"aggTrade"}`)) // something to read, so that the ping is processed
	h.next()
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if p := h.srv.Pongs(); len(p) == 1 && p[0] == "payload-123" {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("pongs %q", h.srv.Pongs())
}

func TestSourceBackoffDelays(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: every dial fails at once
	sl := &sleeps{}
	b := feed.Backoff{Initial: 10 * time.Millisecond, Max: 40 * time.Millisecond, Rand: func() float64 { return 0.5 }}
	src := mustNew(t, Config{Symbols: []string{"BTCUSDT"}, StreamURL: "ws://" + addr, Backoff: b, Sleep: sl.sleep})
	src.start()
	deadline := time.Now().Add(5 * time.Second)
	for len(sl.get()) < 5 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if err := src.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := sl.get()[:5]
	for i, d := range got {
		if want := b.Delay(i); d != want {
			t.Fatalf("delays %v: #%d is %v, want %v", got, i, d, want)
		}
	}
}

func TestSourceCloseStopsGoroutines(t *testing.T) {
	srv := binancetest.New(t)
	base := runtime.NumGoroutine()
	src := mustNew(t, Config{Symbols: []string{"BTCUSDT", "ETHUSDT", "SOLUSDT"}, MaxStreams: 1,
		StreamURL: srv.WSURL, RESTURL: srv.URL, ControlInterval: time.Millisecond})
	src.start()
	if !srv.WaitConnects(3, "", 5*time.Second) {
		t.Fatal("three connections expected (one stream each)")
	}
	nextDone := make(chan error, 1)
	go func() {
		var rec ctc.Record
		nextDone <- src.Next(context.Background(), &rec)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	if err := src.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Close took %v", d)
	}
	if err := <-nextDone; !errors.Is(err, ctc.ErrClosed) {
		t.Fatalf("Next after Close: %v", err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines, baseline %d\n%s", n, base, buf[:runtime.Stack(buf, true)])
	}
}

func TestSourceContextCancelEndsNext(t *testing.T) {
	h := newHarness(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	var rec ctc.Record
	if err := h.src.Next(ctx, &rec); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next: %v", err)
	}
}

func TestSourceSubscribesPaced(t *testing.T) {
	srv := binancetest.New(t)
	sl := &sleeps{}
	src := mustNew(t, Config{Symbols: []string{"BTCUSDT", "ETHUSDT", "SOLUSDT"}, SubscribeBatch: 1,
		StreamURL: srv.WSURL, RESTURL: srv.URL, ControlInterval: 200 * time.Millisecond, Sleep: sl.sleep})
	defer src.Close(context.Background())
	src.start()
	if !srv.WaitConnects(1, "solusdt@aggTrade", 5*time.Second) {
		t.Fatal("not subscribed")
	}
	if got := sl.get(); len(got) != 2 || got[0] != 200*time.Millisecond || got[1] != 200*time.Millisecond {
		t.Fatalf("pauses between SUBSCRIBE messages %v, want two of 200ms", got)
	}
	if srv.Connections() != 1 {
		t.Fatalf("%d connections", srv.Connections())
	}
}

func TestSourceRawTrades(t *testing.T) {
	srv := binancetest.New(t)
	src := mustNew(t, Config{Symbols: []string{"BNBBTC"}, RawTrades: true, StreamURL: srv.WSURL, RESTURL: srv.URL})
	defer src.Close(context.Background())
	src.start()
	if !srv.WaitConnects(1, "bnbbtc@trade", 5*time.Second) {
		t.Fatal("not subscribed to the trade stream")
	}
	srv.SendRaw([]byte(`{"stream":"bnbbtc@trade","data":{"e":"trade","E":1,"s":"BNBBTC","t":12345,"p":"0.001","q":"100","T":1672515782136,"m":true,"M":true}}`))
	srv.SendRaw([]byte(`{"stream":"bnbbtc@trade","data":{"e":"trade","E":1,"s":"BNBBTC","t":12349,"p":"0.001","q":"100","T":1672515782136,"m":false,"M":true}}`))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, want := range []struct {
		id   int64
		side ctc.Side
	}{{12345, ctc.Sell}, {12349, ctc.Buy}} {
		var rec ctc.Record
		if err := src.Next(ctx, &rec); err != nil {
			t.Fatal(err)
		}
		if rec.Trade.EventID != ctc.NewEventIDInt("binance", "BNB-BTC", want.id) || rec.Trade.Side != want.side {
			t.Fatalf("%+v", rec.Trade)
		}
	}
	if st := src.Stats(); st.GapsDetected != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestSourceCapture(t *testing.T) {
	var buf strings.Builder
	cw := feed.NewCaptureWriter(&buf)
	h := newHarness(t, func(c *Config) { c.Capture = cw })
	ts := h.srv.Publish("BTCUSDT", 2)
	h.expectIDs(ts)
	if err := h.src.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := feed.NewCaptureReader(strings.NewReader(buf.String()))
	var trades []ctc.Trade
	for {
		_, frame, err := r.Next()
		if err != nil {
			break
		}
		trades, _, err = DecodeFrame(frame, nil, trades)
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(trades) != 2 || trades[1].EventID != ctc.NewEventIDInt("binance", "BTC-USDT", ts[1].ID) {
		t.Fatalf("replayed %+v", trades)
	}
}

func TestSourceRepairIsBounded(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxRepair = 3 })
	a := h.srv.Publish("BTCUSDT", 1)
	b := h.srv.Skip("BTCUSDT", 5)
	c := h.srv.Publish("BTCUSDT", 1)
	h.expectIDs(cat(a, b[:3], c))
	if g := <-h.gaps; g.Repaired || g.FirstID != b[3].ID || g.LastID != b[4].ID || !strings.Contains(g.Reason, "MaxRepair") {
		t.Fatalf("gap %v", g)
	}
}

func TestSourceRefusedSubscriptionBacksOff(t *testing.T) {
	srv := binancetest.New(t)
	srv.RefuseSubscribe(true)
	sl := &sleeps{}
	src := mustNew(t, Config{Symbols: []string{"BTCUSDT"}, StreamURL: srv.WSURL, RESTURL: srv.URL, Sleep: sl.sleep})
	defer src.Close(context.Background())
	src.start()
	deadline := time.Now().Add(5 * time.Second)
	for len(sl.get()) < 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if len(sl.get()) < 2 || srv.Connects() < 2 {
		t.Fatalf("sleeps %v, connects %d", sl.get(), srv.Connects())
	}
	srv.RefuseSubscribe(false)
	if !srv.WaitConnects(1, "btcusdt@aggTrade", 5*time.Second) {
		t.Fatal("never subscribed after the refusals stopped")
	}
}

func TestSourceCatchUpBeforeAnyTradeSeen(t *testing.T) {
	h := newHarness(t, nil)
	h.srv.Drop()
	missed := h.srv.Skip("BTCUSDT", 2)
	h.waitConnects(2)
	after := h.srv.Publish("BTCUSDT", 1)
	h.expectIDs(cat(missed, after))
	if g := <-h.gaps; !g.Repaired || g.FirstID != missed[0].ID {
		t.Fatalf("gap %v", g)
	}
}

func mustNew(t testing.TB, cfg Config) *Source {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
