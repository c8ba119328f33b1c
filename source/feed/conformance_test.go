package feed_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/ctctest"
	"github.com/coattailcapital/ctc/source/feed"
	"github.com/coattailcapital/ctc/source/replay"
)

func TestMergeConformance(t *testing.T) {
	t.Parallel()
	var lines strings.Builder
	for _, tr := range trades(ctc.Coinbase, "ETH-USD", 30) {
		lines.Write(tr.AppendJSON(nil))
		lines.WriteString("\n")
	}
	ndjson := lines.String()
	fromLines := func(t *testing.T, partition string) ctc.Source {
		src, err := replay.New(strings.NewReader(ndjson), replay.WithPartition(partition))
		if err != nil {
			t.Fatal(err)
		}
		return src
	}
	fromTrades := func(partition string) ctc.Source {
		return replay.Trades(trades(ctc.Binance, "BTC-USDT", 40), replay.WithPartition(partition))
	}
	for _, c := range []struct {
		name string
		f    ctctest.SourceFeatures
		open func(t *testing.T) ctc.Source
	}{
		{"one source", ctctest.SourceFeatures{Records: 30}, func(t *testing.T) ctc.Source {
			return feed.NewMerge(fromLines(t, "lines"))
		}},
		// Which source's record comes first depends on scheduling.
		{"two sources", ctctest.SourceFeatures{Records: 70, Nondeterministic: true}, func(t *testing.T) ctc.Source {
			return feed.NewMerge(fromLines(t, "lines"), fromTrades("trades"))
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctctest.TestSource(t, c.f, c.open)
		})
	}
}

func TestCaptureSourceConformance(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	w := feed.NewCaptureWriter(&buf)
	at := time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC)
	for i, f := range []string{"1", "2", "-", "x", "1", "3", "-", "1"} {
		w.Write(at.Add(time.Duration(i)*time.Second), []byte(f))
	}
	w.Flush()
	capture := buf.String()
	f := ctctest.SourceFeatures{Records: 9}
	ctctest.TestSource(t, f, func(t *testing.T) ctc.Source {
		return feed.NewCaptureSource(strings.NewReader(capture), decodeQty, "cap")
	})
}

// TestLimitConformance runs ctctest.TestSource on the first 25 records of a 40-trade replay.
func TestLimitConformance(t *testing.T) {
	t.Parallel()
	ctctest.TestSource(t, ctctest.SourceFeatures{Records: 25}, func(t *testing.T) ctc.Source {
		return feed.Limit(replay.Trades(trades(ctc.Binance, "BTC-USDT", 40), replay.WithPartition("p")), 25)
	})
}
