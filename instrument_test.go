package ctc_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/detect"
	"github.com/coattailcapital/ctc/partrunner"
	sinkkinesis "github.com/coattailcapital/ctc/sink/kinesis"
)

// One rule: the partition key, the shard runner's routing and the spread join name an
// instrument alike, under the default rule and under a configured pair whose bases differ.
func TestOneInstrumentRule(t *testing.T) {
	for _, sym := range []string{"BTC-USDT", "BTC-USD", "ETH-USDT", "SOL-USD", "BTC", "X-Y-Z", "-USD"} {
		want := ctc.InstrumentOf(sym)
		if got := sinkkinesis.PartitionKey(sym); got != want {
			t.Errorf("PartitionKey(%q) = %q, InstrumentOf %q", sym, got, want)
		}
		if got := partrunner.Instrument(sym); got != want {
			t.Errorf("partrunner.Instrument(%q) = %q, InstrumentOf %q", sym, got, want)
		}
		if got := ctc.Instruments(nil).Of(sym); got != want {
			t.Errorf("nil Instruments.Of(%q) = %q, InstrumentOf %q", sym, got, want)
		}
	}
	cfg := detect.SpreadConfig{Instruments: []detect.Instrument{{Name: "BTC", Binance: "BTC-USDT", Coinbase: "XBT-USD"}}}
	m := cfg.InstrumentMap()
	if m.Of("XBT-USD") != "BTC" || m.Of("BTC-USDT") != "BTC" || m.Of("ETH-USD") != "ETH" {
		t.Fatalf("the configured pair's map: %v", m)
	}
	// The spread detector joins the pair under the name the map gives both legs.
	s, err := detect.NewSpread(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var out ctc.Output
	at := time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC)
	for _, tr := range []ctc.Trade{
		{Exchange: ctc.Binance, Symbol: "BTC-USDT", Price: 100, Quantity: 1, Timestamp: at},
		{Exchange: ctc.Coinbase, Symbol: "XBT-USD", Price: 98, Quantity: 1, Timestamp: at},
	} {
		s.Observe(&tr, &out)
	}
	s.Advance(ctc.EndOfTime, &out)
	if len(out.Spreads) != 1 || out.Spreads[0].Symbol != m.Of("XBT-USD") {
		t.Fatalf("spreads %+v, want one joined window of %s", out.Spreads, m.Of("XBT-USD"))
	}
}

func ExampleInstruments() {
	var rule ctc.Instruments // the default: the base asset
	fmt.Println(rule.Of("BTC-USDT"), rule.Of("BTC-USD"))
	pairs := ctc.Instruments{"XBT-USD": "BTC"} // a pair whose bases differ
	fmt.Println(pairs.Of("XBT-USD"), pairs.Of("BTC-USDT"), pairs.Of("ETH-USD"))
	// Output:
	// BTC BTC
	// BTC BTC ETH
}
