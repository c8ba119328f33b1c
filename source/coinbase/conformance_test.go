package coinbase_test

import (
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/ctctest"
	"github.com/coattailcapital/ctc/source/coinbase"
	"github.com/coattailcapital/ctc/source/coinbase/coinbasetest"
	"github.com/coattailcapital/ctc/source/feed"
)

// TestConformance runs ctctest.TestSource against coinbasetest: once the source has subscribed,
// the server sends the last_match of two products, matches of both, a jump over trade ids that
// the source repairs from REST, a malformed frame and an error frame — 12 records, then silence.
// With the clock fixed, every source opened gives the same records.
func TestConformance(t *testing.T) {
	t.Parallel()
	f := ctctest.SourceFeatures{Live: true, Records: 12}
	ctctest.TestSource(t, f, func(t *testing.T) ctc.Source {
		srv := coinbasetest.New("BTC-USD", "ETH-USD")
		t.Cleanup(srv.Close)
		src, err := coinbase.New(coinbase.Config{Products: []string{"BTC-USD", "ETH-USD"}, WSURL: srv.URL, RESTURL: srv.RESTURL,
			Backoff: feed.Backoff{Initial: time.Millisecond, Max: 10 * time.Millisecond, Rand: func() float64 { return 0.5 }},
			Now:     func() time.Time { return time.Date(2024, 1, 2, 3, 5, 0, 0, time.UTC) }})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		t.Cleanup(func() { close(done) })
		go func() {
			// The source connects at its first Next, which some subtests never make.
			for !srv.WaitSubscribed(1, 10*time.Millisecond) {
				select {
				case <-done:
					return
				default:
				}
			}
			for range 3 {
				srv.Match("BTC-USD")
			}
			srv.Match("ETH-USD")
			srv.Match("ETH-USD")
			srv.Skip("BTC-USD", 2)
			srv.Match("BTC-USD")
			srv.Send([]byte(`{"type":"match","trade_id":`))
			srv.SendError("rate limit exceeded", "too many requests")
		}()
		return src
	})
}
