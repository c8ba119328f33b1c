package live_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/source/binance/binancetest"
	"github.com/coattailcapital/ctc/source/coinbase/coinbasetest"
	"github.com/coattailcapital/ctc/source/live"
)

func TestParseBases(t *testing.T) {
	t.Parallel()
	if got := live.ParseBases(" btc, ETH,,sol ,btc"); !slices.Equal(got, []string{"BTC", "ETH", "SOL"}) {
		t.Errorf("ParseBases = %v", got)
	}
	if got := live.ParseBases(" , "); len(got) != 0 {
		t.Errorf("ParseBases of nothing = %v", got)
	}
}

func TestNewRefuses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	if _, err := live.New(ctx, live.Config{}); err == nil {
		t.Error("New without bases succeeded")
	}
	if _, err := live.New(ctx, live.Config{Bases: []string{"BTC"}, BinanceWS: "::"}); err == nil {
		t.Error("New with a bad URL succeeded")
	}
	// A closed port on loopback: the reachability check fails at once, naming the host.
	_, err := live.New(ctx, live.Config{Bases: []string{"BTC"}, BinanceWS: "ws://127.0.0.1:1", BinanceREST: "http://127.0.0.1:1",
		CoinbaseWS: "ws://127.0.0.1:1", CoinbaseREST: "http://127.0.0.1:1", DialTimeout: 2 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("New with an unreachable endpoint = %v", err)
	}
}

// Both exchanges' trades come out of the merged source, each record owning its bytes.
func TestMergedExchanges(t *testing.T) {
	t.Parallel()
	bn := binancetest.New(t)
	cb := coinbasetest.New("ETH-USD")
	defer cb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	src, err := live.New(ctx, live.Config{Bases: []string{"ETH"}, BinanceWS: bn.WSURL, BinanceREST: bn.URL,
		CoinbaseWS: cb.URL, CoinbaseREST: cb.RESTURL})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close(context.Background())
	if !bn.WaitConnects(1, "ethusdt@aggTrade", 10*time.Second) || !cb.WaitSubscribed(1, 10*time.Second) {
		t.Fatal("the sources did not subscribe")
	}
	bn.Publish("ETHUSDT", 3)
	for range 2 {
		cb.Match("ETH-USD")
	}
	count := map[string]int{}
	var rec ctc.Record
	for count[ctc.Binance] < 3 || count[ctc.Coinbase] < 3 { // Coinbase: last_match, then 2
		rec.Reset()
		if err := src.Next(ctx, &rec); err != nil {
			t.Fatalf("Next: %v (so far %v)", err, count)
		}
		count[rec.Trade.Exchange]++
	}
	if src.Stats[ctc.Binance]().Messages == 0 {
		t.Errorf("Binance stats = %+v", src.Stats[ctc.Binance]())
	}
}
