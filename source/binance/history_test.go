package binance

import (
	"context"
	"errors"
	"testing"
	"time"

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

func TestHistoryLoadPages(t *testing.T) {
	h, srv, _ := newHistory(t, time.Now())
	ts := srv.Skip("BTCUSDT", 2500)
	from, to := time.UnixMilli(ts[10].Time), time.UnixMilli(ts[2409].Time)
	var ids []int64
	var nexts []int64
	err := h.Load(context.Background(), "BTCUSDT", from, to, -1, func(page []AggTrade, next int64) error {
		for _, a := range page {
			ids = append(ids, a.ID)
		}
		nexts = append(nexts, next)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 2400 || ids[0] != ts[10].ID || ids[2399] != ts[2409].ID || len(nexts) != 3 {
		t.Fatalf("%d ids (%d..%d), %d pages", len(ids), ids[0], ids[len(ids)-1], len(nexts))
	}
	for i := 1; i < len(ids); i++ {
		if ids[i] != ids[i-1]+1 {
			t.Fatalf("ids not consecutive at %d", i)
		}
	}
	for _, q := range srv.Requests() {
		if q.Get("limit") != "1000" {
			t.Fatalf("request %v", q)
		}
	}
}
