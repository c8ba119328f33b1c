package api_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/coattailcapital/ctc/api"
	"github.com/coattailcapital/ctc/source/feed"
)

func TestFeedCollector(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(api.NewFeedCollector(map[string]func() feed.StatsSnapshot{
		"binance": func() feed.StatsSnapshot {
			return feed.StatsSnapshot{Messages: 10, Reconnects: 2, GapsUnrepaired: 1, LagMillis: 250}
		},
		"coinbase": func() feed.StatsSnapshot { return feed.StatsSnapshot{Messages: 7} },
	}))
	want := `
# HELP ctc_feed_messages_total Frames received from the exchange.
# TYPE ctc_feed_messages_total counter
ctc_feed_messages_total{source="binance"} 10
ctc_feed_messages_total{source="coinbase"} 7
# HELP ctc_feed_lag_seconds Latest lag between a trade's exchange time and its receipt.
# TYPE ctc_feed_lag_seconds gauge
ctc_feed_lag_seconds{source="binance"} 0.25
ctc_feed_lag_seconds{source="coinbase"} 0
# HELP ctc_feed_gaps_unrepaired_total Gaps that could not be filled (reported, never silent).
# TYPE ctc_feed_gaps_unrepaired_total counter
ctc_feed_gaps_unrepaired_total{source="binance"} 1
ctc_feed_gaps_unrepaired_total{source="coinbase"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "ctc_feed_messages_total", "ctc_feed_lag_seconds", "ctc_feed_gaps_unrepaired_total"); err != nil {
		t.Fatal(err)
	}
}
