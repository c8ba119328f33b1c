package replay

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/ctctest"
)

// conformanceNDJSON is a replay file as the jsonl sink writes it, with what real files also hold:
// a byte-order mark, CRLF line ends, blank lines, a line that is not JSON, a line longer than the
// read buffer (assembled apart from it) and no newline after the last line.
func conformanceNDJSON() string {
	var b strings.Builder
	b.WriteString("\xef\xbb\xbf")
	at := time.Date(2024, 3, 12, 14, 0, 0, 0, time.UTC)
	for i := range 40 {
		tr := ctc.Trade{Exchange: ctc.Binance, Symbol: "BTC-USDT", Price: 67_000 + float64(i), Quantity: 0.5,
			QuoteVolume: 33_500 + 0.5*float64(i), Side: ctc.Side(1 + i%2), Timestamp: at.Add(time.Duration(i) * 250 * time.Millisecond)}
		tr.EventID = ctc.NewEventIDInt(tr.Exchange, tr.Symbol, int64(i))
		b.Write(tr.AppendJSON(nil))
		switch i {
		case 7:
			b.WriteString("\r\n\n  \n")
		case 11:
			b.WriteString("\nnot json at all\n")
		case 20:
			fmt.Fprintf(&b, "\n{\"padding\":%q}\n", strings.Repeat("x", readBufSize+100))
		case 39:
		default:
			b.WriteString("\n")
		}
	}
	return b.String()
}

func TestConformance(t *testing.T) {
	t.Parallel()
	ndjson := conformanceNDJSON()
	csv := csvSample + "3000000003,oops,1,1,1,1704067200999,true,true\n\n3000000004,42001,2,5,6,1704067201000,false,true\n"
	at := time.Date(2024, 3, 12, 14, 0, 0, 0, time.UTC)
	var trades []ctc.Trade
	for i := range 25 {
		tr := ctc.Trade{Exchange: ctc.Coinbase, Symbol: "ETH-USD", Price: 3_480.5, Quantity: float64(i + 1),
			QuoteVolume: 3_480.5 * float64(i+1), Side: ctc.Buy, Timestamp: at.Add(time.Duration(i) * time.Second)}
		tr.EventID = ctc.NewEventIDInt(tr.Exchange, tr.Symbol, int64(i))
		trades = append(trades, tr)
	}
	for _, c := range []struct {
		name    string
		records int
		open    func(t *testing.T) ctc.Source
	}{
		{"Open NDJSON", 42, func(t *testing.T) ctc.Source {
			path := filepath.Join(t.TempDir(), "trades.jsonl")
			if err := os.WriteFile(path, []byte(ndjson), 0o644); err != nil {
				t.Fatal(err)
			}
			src, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			return src
		}},
		{"New BinanceCSV", 4, func(t *testing.T) ctc.Source {
			return mustNew(t, csv, WithFormat(BinanceCSV), WithInstrument(ctc.Binance, "BTC-USDT"))
		}},
		{"Trades", len(trades), func(t *testing.T) ctc.Source { return Trades(trades, WithPartition("mem")) }},
		// Paced on a clock that moves only when slept on: a replay that is not a bulk source.
		{"paced NDJSON", 42, func(t *testing.T) ctc.Source {
			clk := &fakeClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
			return mustNew(t, ndjson, WithSpeed(4), WithClock(clk.Now, clk.Sleep))
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctctest.TestSource(t, ctctest.SourceFeatures{Records: c.records}, c.open)
		})
	}
}
