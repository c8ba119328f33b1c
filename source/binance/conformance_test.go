package binance

import (
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/ctctest"
	"github.com/coattailcapital/ctc/source/binance/binancetest"
)

// TestConformance runs ctctest.TestSource against binancetest: once the source has subscribed,
// the server sends trades of two symbols, a malformed frame and a jump over ids that the source
// repairs from REST — 11 records, then silence.
func TestConformance(t *testing.T) {
	t.Parallel()
	f := ctctest.SourceFeatures{Live: true, Records: 11,
		// binancetest's trade times follow the wall clock.
		Nondeterministic: true,
	}
	ctctest.TestSource(t, f, func(t *testing.T) ctc.Source {
		srv := binancetest.New(t)
		src := mustNew(t, Config{Symbols: []string{"BTCUSDT", "ETH-USDT"}, StreamURL: srv.WSURL, RESTURL: srv.URL,
			Sleep: (&sleeps{}).sleep, StaleTimeout: 5 * time.Second, ControlInterval: time.Millisecond})
		done := make(chan struct{})
		t.Cleanup(func() { close(done) })
		go func() {
			// The source connects at its first Next, which some subtests never make.
			for !srv.WaitConnects(1, "btcusdt@aggTrade", 10*time.Millisecond) || !srv.WaitConnects(1, "ethusdt@aggTrade", 10*time.Millisecond) {
				select {
				case <-done:
					return
				default:
				}
			}
			srv.Publish("BTCUSDT", 4)
			srv.SendRaw([]byte(`{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","s":"BTCUSDT"`))
			srv.Publish("ETHUSDT", 3)
			srv.Skip("BTCUSDT", 2)
			srv.Publish("BTCUSDT", 1)
		}()
		return src
	})
}

// TestHistorySourceConformance runs ctctest.TestSource on a HistorySource over binancetest's REST
// history: 2,300 aggregate trades in the range (three pages), with trades just before and after
// it. All the sources read one server, so that they read the same history.
func TestHistorySourceConformance(t *testing.T) {
	t.Parallel()
	srv := binancetest.New(t)
	srv.Skip("BTCUSDT", 5)
	in := srv.Skip("BTCUSDT", 2300)
	srv.Skip("BTCUSDT", 5)
	from, to := time.UnixMilli(in[0].Time), time.UnixMilli(in[len(in)-1].Time)
	f := ctctest.SourceFeatures{Records: len(in)}
	ctctest.TestSource(t, f, func(t *testing.T) ctc.Source {
		h := &History{Endpoint: srv.URL, Sleep: (&sleeps{}).sleep}
		src, err := h.Source("BTC-USDT", from, to)
		if err != nil {
			t.Fatal(err)
		}
		return src
	})
}
