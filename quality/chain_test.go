package quality

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
)

var t0 = time.Date(2024, 1, 15, 10, 30, 0, 123e6, time.UTC)

// trade returns a valid trade with the given id seed and event time.
func trade(id int, ts time.Time) ctc.Trade {
	return ctc.Trade{
		EventID:     ctc.NewEventIDInt(ctc.Binance, "BTC-USDT", int64(id)),
		Exchange:    ctc.Binance,
		Symbol:      "BTC-USDT",
		Price:       43250.12,
		Quantity:    0.015,
		QuoteVolume: 43250.12 * 0.015,
		Side:        ctc.Buy,
		Timestamp:   ts,
	}
}

func jsonRecord(t ctc.Trade) *ctc.Record { return &ctc.Record{Data: t.AppendJSON(nil)} }

func mustNew(t interface {
	Helper()
	Fatal(...any)
}, cfg Config) *Chain {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCheckVerdicts(t *testing.T) {
	t.Parallel()
	good := trade(1, t0)
	edit := func(f func(*ctc.Trade)) ctc.Trade {
		tr := good
		f(&tr)
		return tr
	}
	tests := []struct {
		name string
		cfg  Config
		rec  *ctc.Record
		want ctc.Verdict
	}{
		{"pass", Config{}, jsonRecord(good), ctc.Verdict{}},
		{"source error", Config{}, &ctc.Record{Data: []byte("junk"), Err: errors.New("binance: bad frame")},
			ctc.Verdict{Status: ctc.Fail, Reason: ctc.Malformed, Detail: "binance: bad frame"}},
		{"malformed", Config{}, &ctc.Record{Data: []byte(`{"price":`)},
			ctc.Verdict{Status: ctc.Fail, Reason: ctc.Malformed, Detail: "malformed JSON at byte 9: unexpected end of input"}},
		{"incomplete", Config{}, &ctc.Record{Data: []byte(rec(nil, "quantity"))},
			ctc.Verdict{Status: ctc.Fail, Reason: ctc.Incomplete, Detail: "missing field quantity"}},
		{"invalid", Config{}, &ctc.Record{Data: []byte(rec(map[string]string{"price": `"abc"`}))},
			ctc.Verdict{Status: ctc.Fail, Reason: ctc.Invalid, Detail: `price must be a finite number > 0, got "abc" (a string)`}},
		{"exchange not configured", Config{}, jsonRecord(edit(func(t *ctc.Trade) { t.Exchange = "kraken" })),
			ctc.Verdict{Status: ctc.Fail, Reason: ctc.Invalid, Detail: `exchange must be one of binance, coinbase, got "kraken"`}},
		{"exchange configured", Config{Exchanges: []string{"kraken"}}, jsonRecord(edit(func(t *ctc.Trade) { t.Exchange = "kraken" })),
			ctc.Verdict{}},
		{"default exchanges replaced", Config{Exchanges: []string{"kraken"}}, jsonRecord(good),
			ctc.Verdict{Status: ctc.Fail, Reason: ctc.Invalid, Detail: `exchange must be one of kraken, got "binance"`}},
		{"symbol not BASE-QUOTE", Config{}, jsonRecord(edit(func(t *ctc.Trade) { t.Symbol = "BTCUSDT" })),
			ctc.Verdict{Status: ctc.Fail, Reason: ctc.Invalid, Detail: `symbol must be BASE-QUOTE in uppercase letters and digits (e.g. BTC-USDT), got "BTCUSDT"`}},
		{"symbol lower case", Config{}, jsonRecord(edit(func(t *ctc.Trade) { t.Symbol = "btc-usdt" })),
			ctc.Verdict{Status: ctc.Fail, Reason: ctc.Invalid, Detail: `symbol must be BASE-QUOTE in uppercase letters and digits (e.g. BTC-USDT), got "btc-usdt"`}},
		{"symbol two dashes", Config{}, jsonRecord(edit(func(t *ctc.Trade) { t.Symbol = "BTC-US-DT" })),
			ctc.Verdict{Status: ctc.Fail, Reason: ctc.Invalid, Detail: `symbol must be BASE-QUOTE in uppercase letters and digits (e.g. BTC-USDT), got "BTC-US-DT"`}},
		{"symbol not allowed", Config{Symbols: []string{"ETH-USDT", "BTC-USD"}}, jsonRecord(good),
			ctc.Verdict{Status: ctc.Fail, Reason: ctc.Invalid, Detail: `symbol must be one of the configured symbols (BTC-USD, ETH-USDT), got "BTC-USDT"`}},
		{"symbol allowed", Config{Symbols: []string{"ETH-USDT", "BTC-USDT"}}, jsonRecord(good), ctc.Verdict{}},
		{"side before exchange", Config{}, &ctc.Record{Data: []byte(rec(map[string]string{"exchange": `"kraken"`, "side": `"x"`}))},
			ctc.Verdict{Status: ctc.Fail, Reason: ctc.Invalid, Detail: `side must be buy or sell, got "x"`}},
		{"late", Config{}, jsonRecord(edit(func(t *ctc.Trade) { t.IngestionTimestamp = t.Timestamp.Add(5*time.Minute + time.Millisecond) })),
			ctc.Verdict{Late: true}},
		{"just in time", Config{}, jsonRecord(edit(func(t *ctc.Trade) { t.IngestionTimestamp = t.Timestamp.Add(5 * time.Minute) })),
			ctc.Verdict{}},
		{"ingested before the trade", Config{}, jsonRecord(edit(func(t *ctc.Trade) { t.IngestionTimestamp = t.Timestamp.Add(-time.Hour) })),
			ctc.Verdict{}},
		{"late with MaxIngestDelay", Config{MaxIngestDelay: time.Second}, jsonRecord(edit(func(t *ctc.Trade) { t.IngestionTimestamp = t.Timestamp.Add(2 * time.Second) })),
			ctc.Verdict{Late: true}},
		{"inconsistent", Config{}, jsonRecord(edit(func(t *ctc.Trade) { t.QuoteVolume *= 1.0011 })),
			ctc.Verdict{Warning: true}},
		{"within tolerance", Config{}, jsonRecord(edit(func(t *ctc.Trade) { t.QuoteVolume *= 1.0009 })),
			ctc.Verdict{}},
		{"within tolerance below", Config{}, jsonRecord(edit(func(t *ctc.Trade) { t.QuoteVolume *= 0.9991 })),
			ctc.Verdict{}},
		{"inconsistent below", Config{}, jsonRecord(edit(func(t *ctc.Trade) { t.QuoteVolume *= 0.9989 })),
			ctc.Verdict{Warning: true}},
		{"wider tolerance", Config{Tolerance: 0.01}, jsonRecord(edit(func(t *ctc.Trade) { t.QuoteVolume *= 1.005 })),
			ctc.Verdict{}},
		{"late and inconsistent", Config{}, jsonRecord(edit(func(t *ctc.Trade) {
			t.QuoteVolume *= 2
			t.IngestionTimestamp = t.Timestamp.Add(time.Hour)
		})), ctc.Verdict{Late: true, Warning: true}},
		{"missing quote_volume is consistent", Config{}, &ctc.Record{Data: []byte(rec(nil, "quote_volume"))}, ctc.Verdict{}},
		// Records a source decoded itself.
		{"decoded pass", Config{}, &ctc.Record{Decoded: true, Trade: good}, ctc.Verdict{}},
		{"decoded with bytes", Config{}, &ctc.Record{Decoded: true, Trade: good, Data: []byte("not JSON")}, ctc.Verdict{}},
		{"decoded incomplete", Config{}, &ctc.Record{Decoded: true, Trade: edit(func(t *ctc.Trade) { t.EventID = uuid.Nil; t.Symbol = "" })},
			ctc.Verdict{Status: ctc.Fail, Reason: ctc.Incomplete, Detail: "missing fields event_id, symbol"}},
		{"decoded no timestamp", Config{}, &ctc.Record{Decoded: true, Trade: edit(func(t *ctc.Trade) { t.Timestamp = time.Time{} })},
			ctc.Verdict{Status: ctc.Fail, Reason: ctc.Incomplete, Detail: "missing field timestamp"}},
		{"decoded zero price", Config{}, &ctc.Record{Decoded: true, Trade: edit(func(t *ctc.Trade) { t.Price = 0 })},
			ctc.Verdict{Status: ctc.Fail, Reason: ctc.Invalid, Detail: "price must be a finite number > 0, got 0"}},
		{"decoded NaN quantity", Config{}, &ctc.Record{Decoded: true, Trade: edit(func(t *ctc.Trade) { t.Quantity = math.NaN() })},
			ctc.Verdict{Status: ctc.Fail, Reason: ctc.Invalid, Detail: "quantity must be a finite number > 0, got NaN"}},
		{"decoded infinite price", Config{}, &ctc.Record{Decoded: true, Trade: edit(func(t *ctc.Trade) { t.Price = math.Inf(1) })},
			ctc.Verdict{Status: ctc.Fail, Reason: ctc.Invalid, Detail: "price must be a finite number > 0, got +Inf"}},
		{"decoded no side", Config{}, &ctc.Record{Decoded: true, Trade: edit(func(t *ctc.Trade) { t.Side = ctc.SideUnknown })},
			ctc.Verdict{Status: ctc.Fail, Reason: ctc.Invalid, Detail: "side must be buy or sell, got unknown"}},
		{"decoded exchange", Config{}, &ctc.Record{Decoded: true, Trade: edit(func(t *ctc.Trade) { t.Exchange = "Binance" })},
			ctc.Verdict{Status: ctc.Fail, Reason: ctc.Invalid, Detail: `exchange must be one of binance, coinbase, got "Binance"`}},
		{"decoded symbol", Config{}, &ctc.Record{Decoded: true, Trade: edit(func(t *ctc.Trade) { t.Symbol = "BTC_USDT" })},
			ctc.Verdict{Status: ctc.Fail, Reason: ctc.Invalid, Detail: `symbol must be BASE-QUOTE in uppercase letters and digits (e.g. BTC-USDT), got "BTC_USDT"`}},
		{"decoded negative quote volume", Config{}, &ctc.Record{Decoded: true, Trade: edit(func(t *ctc.Trade) { t.QuoteVolume = -1 })},
			ctc.Verdict{Status: ctc.Fail, Reason: ctc.Invalid, Detail: "quote_volume must be a finite number > 0, got -1"}},
		{"decoded product overflow", Config{}, &ctc.Record{Decoded: true, Trade: edit(func(t *ctc.Trade) { t.Price, t.Quantity, t.QuoteVolume = 1e300, 1e300, 1 })},
			ctc.Verdict{Status: ctc.Fail, Reason: ctc.Invalid, Detail: "price × quantity must be a finite number > 0, got 1e+300 × 1e+300"}},
		{"decoded year 10000", Config{}, &ctc.Record{Decoded: true, Trade: edit(func(t *ctc.Trade) { t.Timestamp = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) })},
			ctc.Verdict{Status: ctc.Fail, Reason: ctc.Invalid, Detail: "timestamp must be between years 0001 and 9999 in UTC, got 10000-01-01 00:00:00 +0000 UTC"}},
		{"decoded ingestion year 0", Config{}, &ctc.Record{Decoded: true, Trade: edit(func(t *ctc.Trade) { t.IngestionTimestamp = time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC) })},
			ctc.Verdict{Status: ctc.Fail, Reason: ctc.Invalid, Detail: "ingestion_timestamp must be between years 0001 and 9999 in UTC, got 0000-01-01 00:00:00 +0000 UTC"}},
		{"decoded late", Config{}, &ctc.Record{Decoded: true, Trade: edit(func(t *ctc.Trade) { t.IngestionTimestamp = t.Timestamp.Add(time.Hour) })},
			ctc.Verdict{Late: true}},
		{"decoded inconsistent", Config{}, &ctc.Record{Decoded: true, Trade: edit(func(t *ctc.Trade) { t.QuoteVolume = 1 })},
			ctc.Verdict{Warning: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := mustNew(t, tt.cfg)
			var tr ctc.Trade
			got := c.Check(tt.rec, &tr)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Check (-want +got):\n%s", diff)
			}
			s := c.Stats()
			want := Stats{Processed: 1, FailedByReason: map[ctc.Reason]int64{ctc.Malformed: 0, ctc.Incomplete: 0, ctc.Invalid: 0}, QualityScore: 100}
			if got.Status == ctc.Fail {
				want.Failed, want.QualityScore = 1, 0
				want.FailedByReason[got.Reason] = 1
			} else {
				want.Passed = 1
			}
			if got.Late {
				want.Late = 1
			}
			if got.Warning {
				want.Warnings = 1
			}
			if diff := cmp.Diff(want, s); diff != "" {
				t.Errorf("Stats (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckLeavesTheTrade(t *testing.T) {
	t.Parallel()
	c := mustNew(t, Config{})
	in := trade(1, t0.In(time.FixedZone("X", 3600)))
	in.QuoteVolume = 0 // missing: set to price × quantity
	in.IngestionTimestamp = t0.Add(time.Second).In(time.FixedZone("Y", -7200))

	r := &ctc.Record{Decoded: true, Trade: in}
	var out ctc.Trade
	if v := c.Check(r, &out); v.Status != ctc.Pass {
		t.Fatalf("Check: %+v", v)
	}
	want := trade(1, t0)
	want.IngestionTimestamp = t0.Add(time.Second)
	if out != want {
		t.Errorf("the trade left in t:\n%s", cmp.Diff(want, out))
	}
	if out.Timestamp.Location() != time.UTC || out.IngestionTimestamp.Location() != time.UTC {
		t.Errorf("timestamps not in UTC: %v %v", out.Timestamp, out.IngestionTimestamp)
	}

	// In place, as the pipeline calls it, and for JSON records.
	r = &ctc.Record{Decoded: true, Trade: trade(2, t0)}
	r.Trade.QuoteVolume = 0
	if v := c.Check(r, &r.Trade); v.Status != ctc.Pass || r.Trade.QuoteVolume != 43250.12*0.015 {
		t.Errorf("in place: %+v, %+v", v, r.Trade)
	}
	r = jsonRecord(trade(3, t0))
	if v := c.Check(r, &r.Trade); v.Status != ctc.Pass || r.Trade != trade(3, t0) {
		t.Errorf("JSON in place: %+v, %+v", v, r.Trade)
	}
	// A nil trade is tolerated.
	if v := c.Check(jsonRecord(trade(4, t0)), nil); v.Status != ctc.Pass {
		t.Errorf("nil trade: %+v", v)
	}
}

// TestCheckReusesSlots: the chain's decoder keeps its slots between records; a field absent from
// a short record must not be read from where a longer one had it.
func TestCheckReusesSlots(t *testing.T) {
	t.Parallel()
	c := mustNew(t, Config{})
	long := `{"pad":"` + strings.Repeat("x", 500) + `",` + rec(nil)[1:] // side far in
	short := rec(nil, "side")
	if v := c.Check(&ctc.Record{Data: []byte(long)}, new(ctc.Trade)); v.Status != ctc.Pass {
		t.Fatalf("long record: %+v", v)
	}
	if v := c.Check(&ctc.Record{Data: []byte(short)}, new(ctc.Trade)); v.Detail != "side must be buy or sell, but the field is missing" {
		t.Errorf("short record: %+v", v)
	}
}

func TestDuplicate(t *testing.T) {
	t.Parallel()
	c := mustNew(t, Config{})
	first := trade(1, t0)
	if v := c.Check(jsonRecord(first), new(ctc.Trade)); v.Status != ctc.Pass {
		t.Fatalf("first: %+v", v)
	}
	// The same trade again, from JSON or decoded, with another timestamp or not: a duplicate, which
	// is not a dead letter (no Fail, no Reason) and is not counted as passed or failed.
	again := first
	again.Timestamp = t0.Add(-time.Minute)
	for _, r := range []*ctc.Record{jsonRecord(first), {Decoded: true, Trade: first}, jsonRecord(again)} {
		v := c.Check(r, new(ctc.Trade))
		if v.Status != ctc.Duplicate || v.Reason != "" || v.Late || v.Warning {
			t.Errorf("again: %+v, want a Duplicate", v)
		}
	}
	// A duplicate is not flagged late or inconsistent either: it is dropped before those checks.
	lateDup := first
	lateDup.IngestionTimestamp = t0.Add(time.Hour)
	lateDup.QuoteVolume = 1
	if v := c.Check(jsonRecord(lateDup), new(ctc.Trade)); v.Status != ctc.Duplicate || v.Late || v.Warning {
		t.Errorf("late duplicate: %+v", v)
	}
	// A failed record is not remembered: its id may pass later.
	bad := trade(2, t0)
	bad.Side = ctc.SideUnknown
	if v := c.Check(jsonRecord(bad), new(ctc.Trade)); v.Status != ctc.Fail {
		t.Fatalf("bad: %+v", v)
	}
	if v := c.Check(jsonRecord(trade(2, t0)), new(ctc.Trade)); v.Status != ctc.Pass {
		t.Errorf("after a failure: %+v", v)
	}
	s := c.Stats()
	want := Stats{Processed: 7, Passed: 2, Failed: 1, Duplicate: 4,
		FailedByReason: map[ctc.Reason]int64{ctc.Malformed: 0, ctc.Incomplete: 0, ctc.Invalid: 1},
		QualityScore:   score(2, 7)}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Errorf("Stats (-want +got):\n%s", diff)
	}
}

// TestDedupWindowEdges checks the exact semantics: a duplicate iff remembered time >= max − window.
// score is passed / processed × 100 in float64, as the chain computes it.
func score(passed, processed int64) float64 { return float64(passed) / float64(processed) * 100 }

func TestDedupWindowEdges(t *testing.T) {
	t.Parallel()
	for _, w := range []time.Duration{time.Hour, time.Minute, 90 * time.Second, time.Second, time.Millisecond, 36 * time.Hour} {
		t.Run(w.String(), func(t *testing.T) {
			t.Parallel()
			c := mustNew(t, Config{DedupWindow: w})
			check := func(id int, ts time.Time, want ctc.Status) {
				t.Helper()
				if v := c.Check(&ctc.Record{Decoded: true, Trade: trade(id, ts)}, new(ctc.Trade)); v.Status != want {
					t.Fatalf("trade %d at t0%+v: status %v, want %v", id, ts.Sub(t0), v.Status, want)
				}
			}
			check(1, t0, ctc.Pass)
			check(2, t0.Add(w), ctc.Pass) // max − window = t0: trade 1 is exactly at the edge
			check(1, t0.Add(w), ctc.Duplicate)
			check(1, t0, ctc.Duplicate)
			check(3, t0.Add(w+time.Nanosecond), ctc.Pass) // the edge moves past trade 1
			check(1, t0.Add(w), ctc.Pass)                 // forgotten: passes, and is remembered again
			check(1, t0.Add(w), ctc.Duplicate)
			check(2, t0, ctc.Duplicate) // remembered at t0 + w, within the window
			// A trade older than the window passes and is not remembered.
			check(4, t0, ctc.Pass)
			check(4, t0, ctc.Pass)
			// Far ahead: everything before is forgotten.
			check(5, t0.Add(1000*w), ctc.Pass)
			check(2, t0.Add(w), ctc.Pass)
			check(5, t0.Add(999*w), ctc.Duplicate)
			if n := c.dd.len(); n != 1 {
				t.Errorf("remembered %d ids, want 1 (trade 5)", n)
			}
		})
	}
}

// TestDedupMemoryBounded: three hours of unique ids, one per second of event time, leave at most
// one window (plus one bucket of 1/60 of it) in memory.
func TestDedupMemoryBounded(t *testing.T) {
	t.Parallel()
	c := mustNew(t, Config{})
	const perHour = 3600
	peak := 0
	for i := range 3 * perHour {
		ts := t0.Add(time.Duration(i) * time.Second)
		if v := c.Check(&ctc.Record{Decoded: true, Trade: trade(i, ts)}, new(ctc.Trade)); v.Status != ctc.Pass {
			t.Fatalf("trade %d: %+v", i, v)
		}
		peak = max(peak, c.dd.len())
	}
	if bound := perHour + perHour/60 + 1; peak > bound {
		t.Errorf("remembered up to %d ids, want <= %d", peak, bound)
	}
	if n := c.dd.len(); n < perHour+1 {
		t.Errorf("remembers %d ids, fewer than the %d of the last hour", n, perHour+1)
	}
	if live := int(c.dd.tail - c.dd.head); live > peak+perHour/60 {
		t.Errorf("the log holds %d entries for %d ids", live, c.dd.len())
	}
	if slots := len(c.dd.index); slots > 4*peak {
		t.Errorf("the index has %d slots for at most %d ids", slots, peak)
	}

	// After a burst, the table gives its memory back once the burst is out of the window.
	for i := range 50_000 {
		c.Check(&ctc.Record{Decoded: true, Trade: trade(1e6+i, t0.Add(3*time.Hour))}, new(ctc.Trade))
	}
	if slots := len(c.dd.index); slots < 100_000 {
		t.Fatalf("the table has %d slots for 50,000 ids", slots)
	}
	c.Check(&ctc.Record{Decoded: true, Trade: trade(2e6, t0.Add(10*time.Hour))}, new(ctc.Trade))
	if n, slots := c.dd.len(), len(c.dd.index); n != 1 || slots != minIndex || len(c.dd.log) != minLog {
		t.Errorf("after the burst: %d ids in %d slots and a log of %d, want 1 in %d and %d", n, slots, len(c.dd.log), minIndex, minLog)
	}
}

func TestCheckPassDoesNotAllocate(t *testing.T) {
	if testing.CoverMode() != "" {
		t.Skip("coverage counters change allocation counts")
	}
	c := mustNew(t, Config{})
	// Fill a window first, so that buckets are evicted and reused while measuring.
	i := 0
	next := func() *ctc.Record {
		i++
		return jsonRecord(trade(i, t0.Add(time.Duration(i)*time.Second)))
	}
	recs := make([]*ctc.Record, 20000)
	for j := range recs {
		recs[j] = next()
	}
	for _, r := range recs[:10000] {
		c.Check(r, &r.Trade)
	}
	j := 10000
	var tr ctc.Trade
	n := testing.AllocsPerRun(5000, func() {
		r := recs[j]
		j++
		if v := c.Check(r, &tr); v.Status != ctc.Pass {
			t.Fatalf("%+v", v)
		}
	})
	if n != 0 {
		t.Errorf("%v allocations per passing record, want 0", n)
	}
	dup := recs[j-1]
	if n := testing.AllocsPerRun(100, func() { c.Check(dup, &tr) }); n != 0 {
		t.Errorf("%v allocations per duplicate, want 0", n)
	}
}

func TestStatsJSON(t *testing.T) {
	t.Parallel()
	c := mustNew(t, Config{})
	if got, want := string(c.Stats().AppendJSON(nil)), `{"processed":0,"passed":0,"failed":0,"duplicate":0,"late":0,"warnings":0,"quality_score":100,"failed_by_reason":{"incomplete":0,"invalid":0,"malformed":0}}`; got != want {
		t.Errorf("empty stats:\n got %s\nwant %s", got, want)
	}
	late := trade(2, t0)
	late.IngestionTimestamp = t0.Add(time.Hour)
	for _, r := range []*ctc.Record{jsonRecord(trade(1, t0)), jsonRecord(trade(1, t0)), jsonRecord(late),
		{Data: []byte("{")}, {Data: []byte("{}")}} {
		c.Check(r, new(ctc.Trade))
	}
	want := `{"processed":5,"passed":2,"failed":2,"duplicate":1,"late":1,"warnings":0,"quality_score":40,"failed_by_reason":{"incomplete":1,"invalid":0,"malformed":1}}`
	s := c.Stats()
	b, err := s.MarshalJSON()
	if err != nil || string(b) != want {
		t.Errorf("MarshalJSON = %s, %v\nwant %s", b, err, want)
	}
	var back Stats
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(s, back); diff != "" {
		t.Errorf("JSON round trip (-want +got):\n%s", diff)
	}
}

func TestConfig(t *testing.T) {
	t.Parallel()
	c := mustNew(t, Config{})
	want := Config{Exchanges: []string{"binance", "coinbase"}, DedupWindow: time.Hour,
		MaxIngestDelay: 5 * time.Minute, Tolerance: 0.001, MaxPrice: 1e9, MaxQuantity: 1e15, MaxQuoteVolume: 1e10}
	if diff := cmp.Diff(want, c.Config()); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	if err := (Config{}).Validate(); err != nil {
		t.Errorf("the zero Config: %v", err)
	}
	bad := Config{Exchanges: []string{"binance", ""}, Symbols: []string{"BTC-USDT", "btcusdt"},
		DedupWindow: -time.Second, MaxIngestDelay: -1, Tolerance: math.NaN()}
	err := bad.Validate()
	for _, s := range []string{"Exchanges[1] must not be empty", `Symbols[1] must be BASE-QUOTE in uppercase letters and digits (e.g. BTC-USDT), got "btcusdt"`,
		"DedupWindow must be >= 0 (0 means the default, 1h0m0s), got -1s", "MaxIngestDelay must be >= 0", "Tolerance must be a finite number >= 0"} {
		if err == nil || !strings.Contains(err.Error(), s) {
			t.Errorf("Validate() = %v, want it to say %q", err, s)
		}
	}
	if _, err := New(bad); err == nil {
		t.Error("New accepted an invalid config")
	}
	// New copies the slices it is given.
	ex := []string{"kraken"}
	c = mustNew(t, Config{Exchanges: ex})
	ex[0] = "binance"
	if v := c.Check(jsonRecord(trade(1, t0)), new(ctc.Trade)); v.Status != ctc.Fail {
		t.Errorf("the chain saw a change to the caller's slice: %+v", v)
	}
}

func TestStatsAdd(t *testing.T) {
	a := Stats{Processed: 10, Passed: 7, Failed: 2, Duplicate: 1, Late: 1, Warnings: 1, FailedByReason: map[ctc.Reason]int64{ctc.Invalid: 2}}
	b := Stats{Processed: 10, Passed: 9, Failed: 1, FailedByReason: map[ctc.Reason]int64{ctc.Malformed: 1}}
	var sum Stats
	sum.Add(a)
	sum.Add(b)
	if sum.Processed != 20 || sum.Passed != 16 || sum.Failed != 3 || sum.Duplicate != 1 || sum.Late != 1 || sum.Warnings != 1 ||
		sum.FailedByReason[ctc.Invalid] != 2 || sum.FailedByReason[ctc.Malformed] != 1 || sum.QualityScore != 80 {
		t.Fatalf("sum %+v", sum)
	}
}
