package quality

import (
	"strings"
	"testing"

	"github.com/coattailcapital/ctc"
)

// Non-physical values are invalid, within the configured bounds; a detail never echoes more than
// a bounded part of a hostile value.
func TestBoundsAndBoundedDetails(t *testing.T) {
	t.Parallel()
	edit := func(f func(*ctc.Trade)) *ctc.Record {
		tr := trade(1, t0)
		f(&tr)
		return jsonRecord(tr)
	}
	for _, c := range []struct {
		name   string
		cfg    Config
		rec    *ctc.Record
		detail string // a prefix of the detail; "" for a pass
	}{
		{"price 1e300", Config{}, edit(func(t *ctc.Trade) { t.Price = 1e300; t.QuoteVolume = t.Price * t.Quantity }), "price must be at most 1e+09"},
		{"quantity 1e20", Config{}, edit(func(t *ctc.Trade) { t.Quantity = 1e20; t.QuoteVolume = t.Price * t.Quantity }), "quantity must be at most 1e+15"},
		{"quote volume 2e10 given", Config{}, edit(func(t *ctc.Trade) { t.QuoteVolume = 2e10 }), "quote volume must be at most 1e+10"},
		{"quote volume 5e11 computed", Config{}, edit(func(t *ctc.Trade) { t.Price, t.Quantity, t.QuoteVolume = 5e8, 1000, 5e11 }), "quote volume must be at most 1e+10"},
		{"a configured bound", Config{MaxPrice: 1000}, edit(func(t *ctc.Trade) {}), "price must be at most 1000"},
		{"within the defaults", Config{}, edit(func(t *ctc.Trade) { t.Price, t.Quantity, t.QuoteVolume = 1e8, 10, 1e9 }), ""},
	} {
		v := mustNew(t, c.cfg).Check(c.rec, nil)
		switch {
		case c.detail == "" && v.Status != ctc.Pass:
			t.Errorf("%s: %+v, want a pass", c.name, v)
		case c.detail != "" && (v.Status != ctc.Fail || v.Reason != ctc.Invalid || !strings.HasPrefix(v.Detail, c.detail)):
			t.Errorf("%s: %+v, want invalid with %q", c.name, v, c.detail)
		}
	}
	huge := strings.Repeat("S", 50<<20)
	for _, f := range []func(*ctc.Trade){func(t *ctc.Trade) { t.Symbol = huge }, func(t *ctc.Trade) { t.Exchange = huge }} {
		v := mustNew(t, Config{}).Check(edit(f), nil)
		if v.Status != ctc.Fail || len(v.Detail) > maxDetail+len("…") {
			t.Errorf("a 50 MB value: %d-byte detail %.200q", len(v.Detail), v.Detail)
		}
	}
	if err := (Config{MaxPrice: -1}).Validate(); err == nil {
		t.Error("a negative bound was accepted")
	}
}
