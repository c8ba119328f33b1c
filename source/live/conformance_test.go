package live_test

import (
	"context"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/ctctest"
	"github.com/coattailcapital/ctc/source/binance/binancetest"
	"github.com/coattailcapital/ctc/source/coinbase/coinbasetest"
	"github.com/coattailcapital/ctc/source/live"
)

// TestConformance runs ctctest.TestSource on the merged market against binancetest and
// coinbasetest: once both have subscribed, 3 Binance trades, Coinbase's last_match and 2 matches.
func TestConformance(t *testing.T) {
	t.Parallel()
	f := ctctest.SourceFeatures{Live: true, Records: 6,
		// Binance's test trade times follow the wall clock, and which exchange's trade comes
		// first depends on scheduling.
		Nondeterministic: true,
	}
	ctctest.TestSource(t, f, func(t *testing.T) ctc.Source {
		bn := binancetest.New(t)
		cb := coinbasetest.New("ETH-USD")
		t.Cleanup(cb.Close)
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		src, err := live.New(ctx, live.Config{Bases: []string{"ETH"}, BinanceWS: bn.WSURL, BinanceREST: bn.URL,
			CoinbaseWS: cb.URL, CoinbaseREST: cb.RESTURL})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		t.Cleanup(func() { close(done) })
		go func() {
			// The merge connects both exchanges at once; some subtests close it before they have.
			for !bn.WaitConnects(1, "ethusdt@aggTrade", 10*time.Millisecond) || !cb.WaitSubscribed(1, 10*time.Millisecond) {
				select {
				case <-done:
					return
				default:
				}
			}
			bn.Publish("ETHUSDT", 3)
			cb.Match("ETH-USD")
			cb.Match("ETH-USD")
		}()
		return src
	})
}
