package binance

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/source/binance/binancetest"
)

func newHistory(t *testing.T, now time.Time) (*History, *binancetest.Server, *sleeps) {
	srv := binancetest.New(t)
	sl := &sleeps{}
	return &History{Endpoint: srv.URL, Sleep: sl.sleep, Now: func() time.Time { return now }}, srv, sl
}

func TestHistoryRetryAfter(t *testing.T) {
	h, srv, sl := newHistory(t, time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC))
	ts := srv.Skip("BTCUSDT", 3)
	srv.Answer(binancetest.Answer{Status: 429, RetryAfter: 7}, binancetest.Answer{Status: 418, RetryAfter: 120})
	page, err := h.Page(context.Background(), "BTCUSDT", ts[0].ID, 0, 0, 1000)
	if err != nil || len(page) != 3 || page[2].ID != ts[2].ID || page[0].Trade.Symbol != "BTC-USDT" {
		t.Fatalf("%v %+v", err, page)
	}
	if got := sl.get(); len(got) != 2 || got[0] != 7*time.Second || got[1] != 120*time.Second {
		t.Fatalf("sleeps %v", got)
	}
}

func TestHistoryRetries5xxThenGivesUp(t *testing.T) {
	h, srv, sl := newHistory(t, time.Now())
	srv.Skip("BTCUSDT", 1)
	srv.Answer(binancetest.Answer{Status: 502}, binancetest.Answer{Status: 503})
	if _, err := h.Page(context.Background(), "BTCUSDT", 0, 0, 0, 10); err != nil {
		t.Fatal(err)
	}
	if n := len(sl.get()); n != 2 {
		t.Fatalf("%d back-off sleeps, want 2", n)
	}
	srv.RESTDown(true)
	h.MaxRetries = 2
	var se *StatusError
	if _, err := h.Page(context.Background(), "BTCUSDT", 0, 0, 0, 10); !errors.As(err, &se) || se.Status != 503 {
		t.Fatalf("err %v", err)
	}
	srv.RESTDown(false)
	if _, err := h.Page(context.Background(), "NOSUCH", 0, 0, 0, 10); !errors.As(err, &se) || se.Status != 400 {
		t.Fatalf("err %v", err)
	}
}

func TestHistoryWaitsForWeight(t *testing.T) {
	h, srv, sl := newHistory(t, time.Date(2024, 1, 1, 12, 0, 45, 0, time.UTC))
	srv.Skip("BTCUSDT", 1)
	srv.SetWeight(5992) // the next answer reports 5996: one more request fits, the one after does not
	ctx := context.Background()
	for range 2 {
		if _, err := h.Page(ctx, "BTCUSDT", 0, 0, 0, 10); err != nil {
			t.Fatal(err)
		}
	}
	if got := sl.get(); len(got) != 0 {
		t.Fatalf("waited too early: %v", got)
	}
	if _, err := h.Page(ctx, "BTCUSDT", 0, 0, 0, 10); err != nil {
		t.Fatal(err)
	}
	if got := sl.get(); len(got) != 1 || got[0] != 15*time.Second {
		t.Fatalf("sleeps %v, want one of 15s (to the next minute)", got)
	}
}

func TestHistorySourcePagesInRange(t *testing.T) {
	h, srv, _ := newHistory(t, time.Now())
	ts := srv.Skip("BTCUSDT", 2500)
	from, to := time.UnixMilli(ts[10].Time), time.UnixMilli(ts[2409].Time)
	src, err := h.Source("btc-usdt", from, to)
	if err != nil {
		t.Fatal(err)
	}
	var pages []int64
	src.OnPage(func(_ time.Time, n int64) { pages = append(pages, n) })
	ids := drainHistory(t, src)
	if len(ids) != 2400 || ids[0] != ts[10].ID || ids[2399] != ts[2409].ID || len(pages) != 3 || pages[2] != 2400 {
		t.Fatalf("%d ids (%d..%d), pages %v", len(ids), ids[0], ids[len(ids)-1], pages)
	}
	for i := 1; i < len(ids); i++ {
		if ids[i] != ids[i-1]+1 {
			t.Fatalf("ids not consecutive at %d", i)
		}
	}
	for _, q := range srv.Requests() {
		if q.Get("limit") != "1000" || q.Get("symbol") != "BTCUSDT" {
			t.Fatalf("request %v", q)
		}
	}
	var rec ctc.Record
	if err := src.Next(context.Background(), &rec); !errors.Is(err, ctc.ErrEndOfInput) {
		t.Fatalf("after the end: %v", err)
	}

	// A source restored at a checkpoint continues after its aggregate id.
	again, _ := h.Source("BTCUSDT", from, to)
	if err := again.Seek(context.Background(), ctc.Position{Partition: "BTCUSDT", Offset: ids[1499]}); err != nil {
		t.Fatal(err)
	}
	rest := drainHistory(t, again)
	if len(rest) != 900 || rest[0] != ids[1500] {
		t.Fatalf("after seeking: %d ids from %d", len(rest), rest[0])
	}
	if err := again.Seek(context.Background(), ctc.Position{Partition: "ETHUSDT", Offset: 1}); err == nil {
		t.Fatal("seeking to another symbol's position succeeded")
	}
	if _, err := h.Source("BTCUSDT", to, from); err == nil {
		t.Fatal("a reversed range was accepted")
	}
}

// drainHistory reads src to its end and returns the aggregate ids, checking each record.
func drainHistory(t *testing.T, src *HistorySource) []int64 {
	t.Helper()
	var ids []int64
	for {
		var rec ctc.Record
		err := src.Next(context.Background(), &rec)
		if errors.Is(err, ctc.ErrEndOfInput) {
			return ids
		}
		if err != nil {
			t.Fatal(err)
		}
		if !rec.Decoded || rec.Trade.Symbol != "BTC-USDT" || rec.Position.Partition != "BTCUSDT" {
			t.Fatalf("record %+v", rec)
		}
		ids = append(ids, rec.Position.Offset)
	}
}
