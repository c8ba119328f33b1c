package api

import (
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/coattailcapital/ctc/source/feed"
)

// NewFeedCollector exports live sources' counters (feed.Stats) as Prometheus metrics, labelled by
// source name (e.g. "binance", "coinbase"):
//
//	ctc_feed_messages_total{source}         frames received (rate() gives messages/s)
//	ctc_feed_trades_total{source}           trades produced
//	ctc_feed_malformed_total{source}        frames that did not decode
//	ctc_feed_reconnects_total{source}
//	ctc_feed_gaps_detected_total{source}
//	ctc_feed_gaps_repaired_total{source}
//	ctc_feed_gaps_unrepaired_total{source}
//	ctc_feed_lag_seconds{source}            latest trade's receive time − exchange time
//
// The funcs (the sources' Stats methods) are called at scrape time and must be safe for that.
func NewFeedCollector(sources map[string]func() feed.StatsSnapshot) prometheus.Collector {
	names := make([]string, 0, len(sources))
	for n := range sources {
		names = append(names, n)
	}
	slices.Sort(names)
	return &feedCollector{sources: sources, names: names}
}

type feedCollector struct {
	sources map[string]func() feed.StatsSnapshot
	names   []string
}

var (
	descFeedMessages   = counterDesc("ctc_feed_messages_total", "Frames received from the exchange.", "source")
	descFeedTrades     = counterDesc("ctc_feed_trades_total", "Trades produced by the source.", "source")
	descFeedMalformed  = counterDesc("ctc_feed_malformed_total", "Frames that did not decode.", "source")
	descFeedReconnects = counterDesc("ctc_feed_reconnects_total", "Reconnections to the exchange.", "source")
	descFeedDetected   = counterDesc("ctc_feed_gaps_detected_total", "Gaps in the trade sequence found.", "source")
	descFeedRepaired   = counterDesc("ctc_feed_gaps_repaired_total", "Gaps filled from the exchange's REST history.", "source")
	descFeedUnrepaired = counterDesc("ctc_feed_gaps_unrepaired_total", "Gaps that could not be filled (reported, never silent).", "source")
	descFeedLag        = prometheus.NewDesc("ctc_feed_lag_seconds", "Latest lag between a trade's exchange time and its receipt.", []string{"source"}, nil)
)

func (c *feedCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descFeedMessages, descFeedTrades, descFeedMalformed, descFeedReconnects,
		descFeedDetected, descFeedRepaired, descFeedUnrepaired, descFeedLag} {
		ch <- d
	}
}

func (c *feedCollector) Collect(ch chan<- prometheus.Metric) {
	for _, n := range c.names {
		s := c.sources[n]()
		for _, m := range []struct {
			d *prometheus.Desc
			v int64
		}{{descFeedMessages, s.Messages}, {descFeedTrades, s.Trades}, {descFeedMalformed, s.Malformed},
			{descFeedReconnects, s.Reconnects}, {descFeedDetected, s.GapsDetected}, {descFeedRepaired, s.GapsRepaired},
			{descFeedUnrepaired, s.GapsUnrepaired}} {
			ch <- prometheus.MustNewConstMetric(m.d, prometheus.CounterValue, float64(m.v), n)
		}
		ch <- prometheus.MustNewConstMetric(descFeedLag, prometheus.GaugeValue, float64(s.LagMillis)/1000, n)
	}
}
