package binance

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/source/binance/binancetest"
)

// Binance answers HTTP 451 to addresses it does not serve (AWS's US regions among them). The
// live source stops with ErrRegionBlocked after one handshake — no reconnect loop — and says
// what to do; a History request gets it at once, without retries.
func TestRegionBlocked(t *testing.T) {
	t.Parallel()
	srv := binancetest.New(t)
	srv.Block(true)
	sl := &sleeps{}
	src := mustNew(t, Config{Symbols: []string{"BTCUSDT"}, StreamURL: srv.WSURL, RESTURL: srv.URL, Sleep: sl.sleep})
	defer src.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var rec ctc.Record
	err := src.Next(ctx, &rec)
	if !errors.Is(err, ErrRegionBlocked) || !strings.Contains(err.Error(), "451") || !strings.Contains(err.Error(), "data-stream.binance.vision") {
		t.Fatalf("Next: %v, want ErrRegionBlocked with the way out", err)
	}
	if err2 := src.Next(ctx, &rec); !errors.Is(err2, ErrRegionBlocked) {
		t.Errorf("the next Next: %v, want the same error", err2)
	}
	if n := len(sl.get()); n != 0 {
		t.Errorf("the source slept %d times between reconnects: it should not retry a 451", n)
	}

	h := &History{Endpoint: srv.URL, Sleep: sl.sleep}
	_, err = h.Page(ctx, "BTCUSDT", -1, 1700000000000, 1700000060000, 1000)
	var se *StatusError
	if !errors.Is(err, ErrRegionBlocked) || !errors.As(err, &se) || se.Status != 451 {
		t.Fatalf("History: %v, want a 451 StatusError matching ErrRegionBlocked", err)
	}
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("History made %d requests, want 1 (a 451 is not retried)", n)
	}
}
