package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/ctc/source/binance/binancetest"
	"github.com/coattailcapital/ctc/source/coinbase/coinbasetest"
)

// By default a range is loaded from both exchanges: Binance's symbols and, by the default
// instrument rule, Coinbase's products; -exchange coinbase loads Coinbase's alone.
func TestLoaderBothExchanges(t *testing.T) {
	bsrv := binancetest.New(t)
	btc := bsrv.Skip("BTCUSDT", 300)
	start := time.UnixMilli(btc[0].Time).Truncate(time.Second)
	end := time.UnixMilli(btc[len(btc)-1].Time).Truncate(time.Second).Add(time.Second)
	cb := coinbasetest.New()
	defer cb.Close()
	var cbt []coinbasetest.Trade
	for i := range 2000 { // from a minute before the range to 40 s after it, one every 50 ms
		cbt = append(cbt, coinbasetest.Trade{ID: int64(70_000 + i), Price: "100.10", Size: "0.5", Side: "sell",
			Time: start.Add(-time.Minute + time.Duration(i)*50*time.Millisecond)})
	}
	cb.Load("BTC-USD", cbt...)
	inRange := 0
	for _, t := range cbt {
		if !t.Time.Before(start) && t.Time.Before(end.Add(time.Millisecond)) {
			inRange++
		}
	}
	dir := t.TempDir()
	args := []string{"-symbols", "BTCUSDT", "-from", start.Format(time.RFC3339), "-to", end.Format(time.RFC3339),
		"-endpoint", bsrv.URL, "-coinbase-endpoint", cb.RESTURL, "-coinbase-rps", "1000"}
	for _, c := range []struct {
		exchange       string
		binance, cbase int
	}{{"", len(btc), inRange}, {"coinbase", 0, inRange}} {
		out := filepath.Join(dir, "t"+c.exchange+".ndjson")
		a := append(args, "-out", out)
		if c.exchange != "" {
			a = append(a, "-exchange", c.exchange)
		}
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), a, &stdout, &stderr, false); code != 0 {
			t.Fatalf("%s: exit %d: %s", c.exchange, code, stderr.String())
		}
		got := map[string]int{}
		for _, m := range lines(t, out) {
			got[m["exchange"].(string)+" "+m["symbol"].(string)]++
			if m["exchange"] == "coinbase" && m["side"] != "buy" {
				t.Fatalf("a maker sell is an aggressor buy: %v", m)
			}
		}
		if got["binance BTC-USDT"] != c.binance || got["coinbase BTC-USD"] != c.cbase {
			t.Fatalf("-exchange %q: %v, want %d Binance and %d Coinbase trades", c.exchange, got, c.binance, c.cbase)
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), append(args, "-out", filepath.Join(dir, "x"), "-exchange", "kraken"), &stdout, &stderr, false); code != 2 ||
		!strings.Contains(stderr.String(), "binance, coinbase or both") {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
}
