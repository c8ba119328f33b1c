package coinbase_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/ctctest"
	"github.com/coattailcapital/ctc/source/coinbase"
	"github.com/coattailcapital/ctc/source/coinbase/coinbasetest"
	"github.com/coattailcapital/ctc/source/feed"
)

// fakeClock is the clock of a History and of the server's rate limit: sleeping advances it.
type fakeClock struct {
	mu     sync.Mutex
	t      time.Time
	sleeps []time.Duration
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	c.sleeps = append(c.sleeps, d)
	return nil
}

// waits are the sleeps that were not the pacing's.
func (c *fakeClock) waits(pace time.Duration) []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []time.Duration
	for _, d := range c.sleeps {
		if d > pace {
			out = append(out, d)
		}
	}
	return out
}

func history(srv *coinbasetest.Server, clk *fakeClock) *coinbase.History {
	return &coinbase.History{Endpoint: srv.RESTURL, Now: clk.Now, Sleep: clk.Sleep,
		Backoff: feed.Backoff{Initial: time.Second, Max: 4 * time.Second, Rand: func() float64 { return 0.5 }}}
}

var day = time.Date(2024, 3, 5, 0, 0, 0, 0, time.UTC)

// layout scripts n trades of product from id first, one every step, starting at start; every
// hideEvery-th (when > 0) is missing from REST.
func layout(product string, first int64, n int, start time.Time, step time.Duration, hideEvery int) []coinbasetest.Trade {
	out := make([]coinbasetest.Trade, n)
	for i := range out {
		id := first + int64(i)
		side := "buy"
		if id%3 == 0 {
			side = "sell"
		}
		out[i] = coinbasetest.Trade{ID: id, Product: product, Price: fmt.Sprintf("%d.%02d", 60000+id%500, id%100),
			Size: fmt.Sprintf("0.%04d", 1+id%9999), Side: side, Time: start.Add(time.Duration(i) * step),
			Hidden: hideEvery > 0 && i%hideEvery == hideEvery-1}
	}
	return out
}

// oracle is the batch answer: the visible trades in [from, to), in id order.
func oracle(ts []coinbasetest.Trade, from, to time.Time) []coinbasetest.Trade {
	var out []coinbasetest.Trade
	for _, t := range ts {
		if !t.Hidden && !t.Time.Before(from) && t.Time.Before(to) {
			out = append(out, t)
		}
	}
	return out
}

// tb is what the helpers need of a *testing.T or a *rapid.T.
type tb interface {
	Helper()
	Fatalf(format string, args ...any)
}

// drain reads src to its end.
func drain(t tb, src ctc.Source) []ctc.Record {
	t.Helper()
	var out []ctc.Record
	for {
		var rec ctc.Record
		err := src.Next(context.Background(), &rec)
		if errors.Is(err, ctc.ErrEndOfInput) {
			return out
		}
		if err != nil {
			t.Fatalf("after %d records: %v", len(out), err)
		}
		out = append(out, rec)
	}
}

// check compares records with the scripted trades they must be, field by field.
func check(t tb, got []ctc.Record, want []coinbasetest.Trade) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
	for i, w := range want {
		r := got[i]
		side := ctc.Buy // the maker sold: the aggressor bought
		if w.Side == "buy" {
			side = ctc.Sell
		}
		if !r.Decoded || r.Err != nil || r.Position != (ctc.Position{Partition: w.Product, Offset: w.ID}) ||
			r.Trade.EventID != ctc.NewEventIDInt(ctc.Coinbase, w.Product, w.ID) || r.Trade.Exchange != ctc.Coinbase ||
			r.Trade.Symbol != w.Product || r.Trade.Side != side || !r.Trade.Timestamp.Equal(w.Time.Truncate(time.Microsecond)) {
			t.Fatalf("record %d: %+v, want trade %+v", i, r, w)
		}
	}
}

// A past day: the search finds its first trade in a long history, the walk stops at its end,
// and the records are the day's trades, oldest first, decoded as the live feed decodes them.
func TestHistorySourceLoadsADay(t *testing.T) {
	t.Parallel()
	srv := coinbasetest.New()
	defer srv.Close()
	// 3 days of trades, one every 20 s, ids from 5,000,000, every 97th missing from REST.
	all := layout("BTC-USD", 5_000_000, 3*4320, day.Add(-24*time.Hour), 20*time.Second+time.Microsecond, 97)
	if err := srv.Load("BTC-USD", all...); err != nil {
		t.Fatal(err)
	}
	clk := newClock()
	h := history(srv, clk)
	h.PageLimit = 100
	src, err := h.Source("btc-usd", day, day.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var pages int
	src.OnPage(func(time.Time, int64) { pages++ })
	got := drain(t, src)
	want := oracle(all, day, day.Add(24*time.Hour))
	check(t, got, want)
	// The search costs a logarithm of the distance, not a walk through the day after.
	if search := src.Requests() - pages; search > 20 {
		t.Fatalf("the search took %d requests", search)
	}
	// Paced at the default rate: 8 requests a second.
	if d := clk.Now().Sub(newClock().Now()); d < time.Duration(src.Requests()-1)*time.Second/8 {
		t.Fatalf("%d requests in %v of the fake clock: not paced", src.Requests(), d)
	}
	for _, q := range srv.RESTRequests() {
		if q.Get("limit") != "100" || q.Has("before") && q.Has("after") {
			t.Fatalf("request %v", q)
		}
	}
}

// The batch oracle, over random layouts of trade ids (holes of absent and hidden ids) and times
// (bursts in one microsecond, long quiet spells), random page sizes and ranges, and a resume
// after a random record.
func TestHistorySourceMatchesBatch(t *testing.T) {
	t.Parallel()
	srv := coinbasetest.New()
	defer srv.Close()
	var seq atomic.Int64
	rapid.Check(t, func(rt *rapid.T) {
		product := fmt.Sprintf("P%d-USD", seq.Add(1))
		n := rapid.IntRange(0, 600).Draw(rt, "n")
		id := rapid.Int64Range(1, 1_000_000).Draw(rt, "first")
		at := day
		var all []coinbasetest.Trade
		for i := range n {
			switch rapid.IntRange(0, 9).Draw(rt, "idgap") {
			case 0:
				id += rapid.Int64Range(2, 5000).Draw(rt, "hole")
			default:
				id++
			}
			switch rapid.IntRange(0, 9).Draw(rt, "timegap") {
			case 0:
			case 1:
				at = at.Add(time.Duration(rapid.Int64Range(1, 48).Draw(rt, "hours")) * time.Hour)
			default:
				at = at.Add(time.Duration(rapid.Int64Range(1, 90_000_000).Draw(rt, "us")) * time.Microsecond)
			}
			all = append(all, coinbasetest.Trade{ID: id, Price: "100.5", Size: "0.25", Side: []string{"buy", "sell"}[i%2], Time: at,
				Hidden: rapid.IntRange(0, 19).Draw(rt, "hidden") == 0})
		}
		if err := srv.Load(product, all...); err != nil {
			rt.Fatal(err)
		}
		for i := range all {
			all[i].Product = product
		}
		span := at.Sub(day) + time.Hour
		from := day.Add(time.Duration(rapid.Int64Range(-int64(time.Hour), int64(span)).Draw(rt, "from")))
		if n > 0 && rapid.Bool().Draw(rt, "exact") {
			from = all[rapid.IntRange(0, n-1).Draw(rt, "fromTrade")].Time
		}
		to := from.Add(time.Duration(rapid.Int64Range(0, int64(span)).Draw(rt, "len")))
		clk := newClock()
		h := history(srv, clk)
		h.PageLimit = rapid.IntRange(1, 60).Draw(rt, "limit")
		// The exchange may answer fewer trades than asked for.
		srv.CapPage(rapid.IntRange(0, h.PageLimit).Draw(rt, "pageCap"))
		src, err := h.Source(product, from, to)
		if err != nil {
			rt.Fatal(err)
		}
		want := oracle(all, from, to)
		got := drain(rt, src)
		check(rt, got, want)
		if len(want) == 0 {
			return
		}
		k := rapid.IntRange(0, len(want)-1).Draw(rt, "resumeAfter")
		again, _ := h.Source(product, from, to)
		if err := again.Seek(context.Background(), got[k].Position); err != nil {
			rt.Fatal(err)
		}
		check(rt, drain(rt, again), want[k+1:])
	})
}

// 429s are waited out (Retry-After, else the back-off), both when the server's limit is
// outrun and when it answers 429 regardless; a client paced under the limit meets none.
func TestHistoryRateLimits(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		rps        float64
		retryAfter string
		limited    bool
	}{{10, "1", false}, {100, "1", true}, {100, "", true}} {
		t.Run(fmt.Sprint(c.rps, "/s retry-after ", c.retryAfter), func(t *testing.T) {
			t.Parallel()
			srv := coinbasetest.New()
			defer srv.Close()
			all := layout("ETH-USD", 1, 3000, day, time.Second, 0)
			srv.Load("ETH-USD", all...)
			clk := newClock()
			srv.Clock = clk.Now
			srv.RateLimit(10, 15, c.retryAfter)
			h := history(srv, clk)
			h.PageLimit, h.RequestsPerSecond = 50, c.rps
			src, _ := h.Source("ETH-USD", day.Add(500*time.Second), day.Add(2500*time.Second))
			check(t, drain(t, src), oracle(all, day.Add(500*time.Second), day.Add(2500*time.Second)))
			if got := srv.Limited() > 0; got != c.limited {
				t.Fatalf("%d answers were 429", srv.Limited())
			}
			waits := clk.waits(time.Second / time.Duration(c.rps))
			if c.limited && c.retryAfter == "1" && (len(waits) == 0 || waits[0] != time.Second) {
				t.Fatalf("waits %v, want Retry-After's 1 s", waits)
			}
		})
	}

	srv := coinbasetest.New()
	defer srv.Close()
	srv.Load("BTC-USD", layout("BTC-USD", 10, 5, day, time.Second, 0)...)
	srv.AnswerREST(coinbasetest.RESTAnswer{Status: 429, RetryAfter: "7"}, coinbasetest.RESTAnswer{Status: 429})
	clk := newClock()
	p, err := history(srv, clk).Page(context.Background(), "BTC-USD", coinbase.Newest, 0)
	if err != nil || len(p.Trades) != 5 || p.Before != 14 || p.After != 10 {
		t.Fatalf("%+v %v", p, err)
	}
	if w := clk.waits(time.Second / 8); len(w) != 2 || w[0] != 7*time.Second || w[1] < 500*time.Millisecond || w[1] > 4*time.Second {
		t.Fatalf("waits %v, want 7 s (Retry-After) then the back-off's", w)
	}
}

// A 4xx other than 429 is an error at once, that says so; 5xx, stalls and truncated pages are
// retried, and reported once the retries are spent.
func TestHistoryFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := coinbasetest.New()
	defer srv.Close()
	srv.Load("BTC-USD", layout("BTC-USD", 10, 5, day, time.Second, 0)...)
	clk := newClock()
	h := history(srv, clk)

	before := len(srv.RESTRequests())
	_, err := h.Page(ctx, "DOGE-XYZ", coinbase.Newest, 0)
	var se *coinbase.StatusError
	if !errors.As(err, &se) || se.Status != http.StatusNotFound || !se.Permanent() || !coinbase.IsPermanent(err) {
		t.Fatalf("an unknown product: %v", err)
	}
	if n := len(srv.RESTRequests()) - before; n != 1 {
		t.Fatalf("an unknown product was asked for %d times", n)
	}
	src, _ := h.Source("BTC-USD", day, day.Add(time.Hour))
	srv.AnswerREST(coinbasetest.RESTAnswer{Status: http.StatusBadRequest})
	var rec ctc.Record
	if err := src.Next(ctx, &rec); !coinbase.IsPermanent(err) || !errors.As(err, &se) || se.Status != 400 {
		t.Fatalf("a 400: %v", err)
	}
	// The next Next tries again and succeeds: nothing was consumed.
	if got := drain(t, src); len(got) != 5 {
		t.Fatalf("%d records after the 400", len(got))
	}

	h.Client = &http.Client{Timeout: 50 * time.Millisecond}
	srv.AnswerREST(coinbasetest.RESTAnswer{Stall: true}, coinbasetest.RESTAnswer{Status: 502},
		coinbasetest.RESTAnswer{Body: `[{"trade_id":12,"price":"1`}, coinbasetest.RESTAnswer{Body: `{"message":"not a page"}`})
	if p, err := h.Page(ctx, "BTC-USD", coinbase.After(12), 0); err != nil || len(p.Trades) != 2 {
		t.Fatalf("after a stall, a 502 and two bad pages: %+v %v", p, err)
	}
	h.MaxRetries = 2
	srv.FailREST(3)
	if _, err := h.Page(ctx, "BTC-USD", coinbase.Newest, 0); !errors.As(err, &se) || se.Status != 500 || se.Permanent() {
		t.Fatalf("three 500s: %v", err)
	}
	srv.AnswerREST(coinbasetest.RESTAnswer{Status: 429}, coinbasetest.RESTAnswer{Status: 429}, coinbasetest.RESTAnswer{Status: 429})
	if _, err := h.Page(ctx, "BTC-USD", coinbase.Newest, 0); !errors.As(err, &se) || se.Status != 429 {
		t.Fatalf("429s without end: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := h.Page(cctx, "BTC-USD", coinbase.Newest, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled context: %v", err)
	}
	if _, err := h.Source("BTCUSD", day, day); err == nil {
		t.Fatal("a product without a quote was accepted")
	}
	if _, err := h.Source("BTC-USD", day, day.Add(-1)); err == nil {
		t.Fatal("a reversed range was accepted")
	}
	if err := src.Seek(ctx, ctc.Position{Partition: "ETH-USD", Offset: 3}); err == nil {
		t.Fatal("seeking to another product's position succeeded")
	}
}

// An element with a trade id and a bad field is a dead letter where it falls; one before the
// range is not.
func TestHistoryBadElements(t *testing.T) {
	t.Parallel()
	srv := coinbasetest.New()
	defer srv.Close()
	all := layout("BTC-USD", 100, 40, day, time.Second, 0)
	all[5].Price = "-1"     // before the range
	all[20].Price = "cheap" // inside it
	all[39].Side = "both"   // the last trade of the history
	srv.Load("BTC-USD", all...)
	h := history(srv, newClock())
	h.PageLimit = 7
	src, _ := h.Source("BTC-USD", day.Add(10*time.Second), day.Add(time.Hour))
	got := drain(t, src)
	if len(got) != 30 || got[10].Err == nil || got[10].Position.Offset != 120 || string(got[10].Data[:1]) != "{" ||
		got[29].Err == nil || got[29].Position.Offset != 139 || got[9].Err != nil {
		t.Fatalf("%d records: %+v … %+v", len(got), got[10], got[len(got)-1])
	}
	if !errors.Is(got[10].Err, coinbase.ErrMalformed) {
		t.Fatalf("the bad element's error: %v", got[10].Err)
	}
}

// A newer page that does not continue from the cursor is connected to it by older pages: the
// trades between are loaded; when a few older pages do not reach back to the cursor, the load
// stops: the history skipped trades.
func TestHistoryCursorSkipped(t *testing.T) {
	t.Parallel()
	srv := coinbasetest.New()
	defer srv.Close()
	all := layout("BTC-USD", 100, 30, day, time.Second, 0)
	srv.Load("BTC-USD", all...)
	// Asked before=100, the answer starts at 120.
	jump := coinbasetest.RESTAnswer{Body: `[{"time":"2024-03-05T00:00:21Z","trade_id":121,"price":"1","size":"1","side":"buy"},{"time":"2024-03-05T00:00:20Z","trade_id":120,"price":"1","size":"1","side":"buy"}]`}
	for _, c := range []struct {
		limit int
		ok    bool
	}{{5, true}, {2, false}} {
		h := history(srv, newClock())
		h.PageLimit = c.limit
		src, _ := h.Source("BTC-USD", day, day.Add(time.Hour))
		if err := src.Seek(context.Background(), ctc.Position{Partition: "BTC-USD", Offset: 100}); err != nil {
			t.Fatal(err)
		}
		srv.AnswerREST(jump)
		if !c.ok {
			var rec ctc.Record
			if err := src.Next(context.Background(), &rec); !errors.Is(err, coinbase.ErrCursorSkipped) || !coinbase.IsPermanent(err) {
				t.Fatalf("limit %d: %v", c.limit, err)
			}
			continue
		}
		got := drain(t, src)
		if len(got) != 29 || got[0].Position.Offset != 101 || got[28].Position.Offset != 129 {
			t.Fatalf("limit %d: %d records", c.limit, len(got))
		}
		for i := 1; i < len(got); i++ {
			if got[i].Position.Offset != got[i-1].Position.Offset+1 {
				t.Fatalf("record %d: %v after %v", i, got[i].Position, got[i-1].Position)
			}
		}
	}
}

// TestHistorySourceConformance runs ctctest.TestSource on a HistorySource over coinbasetest's
// REST history: 1,500 trades in the range (pages of 200), a hole of hidden ids in it and trades
// before and after it.
func TestHistorySourceConformance(t *testing.T) {
	t.Parallel()
	srv := coinbasetest.New()
	t.Cleanup(srv.Close)
	all := layout("SOL-USD", 7_000, 1_700, day, 250*time.Millisecond, 0)
	for i := 800; i < 830; i++ {
		all[i].Hidden = true
	}
	srv.Load("SOL-USD", all...)
	from, to := all[100].Time, all[1630].Time
	want := oracle(all, from, to)
	ctctest.TestSource(t, ctctest.SourceFeatures{Records: len(want)}, func(t *testing.T) ctc.Source {
		h := history(srv, newClock())
		h.PageLimit = 200
		src, err := h.Source("SOL-USD", from, to)
		if err != nil {
			t.Fatal(err)
		}
		return src
	})
}
