package ctctest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/coattailcapital/ctc"
)

// AlertStoreFeatures declares where an alert store may depart from the strictest reading of the
// ctc.AlertStore contract, or what it does not serve. The in-memory, embedded and DynamoDB stores
// meet all of it. A field belongs here only when a real store cannot meet a rule and users can
// live with the difference — say, a store whose reads may lag its writes.
type AlertStoreFeatures struct {
	// NoAggregates says the store keeps alerts only: it is not an AggregateStore, and the
	// dashboard's charts and symbol picker cannot run on it.
	NoAggregates bool
	// SymbolsLinger is how long after its last alert or window expired Symbols may still list a
	// symbol: the DynamoDB store keeps a registry of symbols whose entries outlive the data they
	// name by up to an hour, so that listing them needs no scan. 0: not at all.
	SymbolsLinger time.Duration
}

// TestAlertStore checks that a hot alert store meets the contract of ctc.AlertStore (DESIGN §3.4).
// Every subtest calls newStore for a fresh, empty store; newStore should register any cleanup with
// t.Cleanup. The store must read the current time only through now, which the suite moves forward
// (never back) to test expiry.
//
// The rules checked, each in its own subtest, over a realistic alert history (volume spikes at
// 60 s window ends, where alerts of several symbols tie on detected_at; whales at millisecond trade
// times; spreads of instruments at 30 s window ends; a user detector's own alert type; about one
// alert in five already past its ttl_epoch):
//
//   - ByType, BySymbol, ByTypeSince, All, TypeAndSymbol: the access patterns of the DynamoDB table
//     and their combinations return exactly what a filter and sort over everything written gives.
//   - SinceInclusive: Since keeps alerts detected at exactly Since, whatever its time zone.
//   - Limit: Limit 1, 50 and 200 return that many alerts, the newest; a Limit beyond what is stored
//     returns everything.
//   - InvalidLimit: Limit < 1 is an error, and the store keeps working.
//   - Order: newest first by DetectedAt, ties broken by AlertID descending (as bytes, which is the
//     order of the UUIDs' text form).
//   - Idempotent: an alert written twice, in one batch or in several, or rewritten with changed
//     values (a later emitted_at, another severity or message, as a reprocessing run gives), is
//     stored once. Which version a store keeps is its choice, but every query must return the same
//     one.
//   - Expiry: an alert whose TTLEpoch <= now (in Unix seconds) is never returned, by any access
//     pattern, whether or not the store has removed it yet; it does not use up the Limit; an alert
//     written already expired never appears.
//   - UnknownSymbol: a query that matches nothing returns an empty, non-nil slice (so that it
//     encodes as [] in JSON) and no error, on an empty store too.
//   - EmptyBatch: batches with no alerts (none at all, or only trades, aggregates and dead letters)
//     are written without error and store nothing.
//   - Copies: the caller overwrites the batch as soon as Write returns, and may modify what a query
//     returned: neither changes what the store holds.
//   - Paging: Before pages through every pattern's answer — ties on detected_at included — one
//     page after another, each the key of the previous page's last alert, with alerts written
//     between pages (newer ones, and older ones at a page's boundary time), so that the pages
//     together are every alert stored when the first was read, once each, in order.
//   - Concurrent: queries of every pattern run while batches are written (run the tests with -race);
//     every result is well ordered, filtered and made of alerts as written.
//   - CancelledContext: Write with a cancelled context stores all of the batch or none of it;
//     QueryAlerts with a cancelled context returns an error wrapping context.Canceled.
//   - Aggregates: the volume and spread windows and the symbols the API reads (AggregateStore):
//     by symbol or all, since a time (inclusive), oldest first, floats to the bit, written twice
//     but kept once, gone a day after their window ended; Symbols is every live symbol, sorted.
//   - ExactValues: floats from 1e-8 to 1e12 (and across the JSON encoders' format boundaries),
//     millisecond timestamps from 1970 to 2099 given in any time zone, the zero emitted_at, and
//     unicode, quotes and control characters in messages and types come back exactly.
//
// Times are compared as instants, so a store may return them in UTC.
func TestAlertStore(t *testing.T, f AlertStoreFeatures, newStore func(t *testing.T, now func() time.Time) ctc.AlertStore) {
	t.Helper()
	s := &alertSuite{f: f, newStore: newStore}
	t.Run("ByType", s.byType)
	t.Run("BySymbol", s.bySymbol)
	t.Run("ByTypeSince", s.byTypeSince)
	t.Run("All", s.all)
	t.Run("TypeAndSymbol", s.typeAndSymbol)
	t.Run("SinceInclusive", s.sinceInclusive)
	t.Run("Limit", s.limit)
	t.Run("InvalidLimit", s.invalidLimit)
	t.Run("Order", s.order)
	t.Run("Paging", s.paging)
	t.Run("Idempotent", s.idempotent)
	t.Run("Expiry", s.expiry)
	t.Run("UnknownSymbol", s.unknownSymbol)
	t.Run("EmptyBatch", s.emptyBatch)
	t.Run("Copies", s.copies)
	t.Run("Concurrent", s.concurrent)
	t.Run("CancelledContext", s.cancelledContext)
	t.Run("ExactValues", s.exactValues)
	t.Run("Aggregates", s.aggregates)
}

type alertSuite struct {
	f        AlertStoreFeatures
	newStore func(t *testing.T, now func() time.Time) ctc.AlertStore
}

// alertNow is the suite's usual present: the history ends shortly before it.
var alertNow = time.Date(2024, 3, 13, 9, 30, 0, 0, time.UTC)

// fakeClock is the time a store under test sees. Reads may come from the store's own goroutines.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock(t time.Time) *fakeClock {
	c := &fakeClock{}
	c.set(t)
	return c
}

func (c *fakeClock) Now() time.Time      { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) set(t time.Time)     { c.ns.Store(t.UnixNano()) }
func (c *fakeClock) add(d time.Duration) { c.ns.Add(int64(d)) }

// alertFixture is a store under test with its clock and everything written to it.
type alertFixture struct {
	t       *testing.T
	st      ctc.AlertStore
	clock   *fakeClock
	written []ctc.Alert
}

func (s *alertSuite) open(t *testing.T, now time.Time) *alertFixture {
	t.Helper()
	c := newFakeClock(now)
	st := s.newStore(t, c.Now)
	if st == nil {
		t.Fatal("newStore returned nil")
	}
	return &alertFixture{t: t, st: st, clock: c}
}

// write writes alerts as one batch (with a trade and a volume window beside them, as the pipeline's
// batches have) and remembers them for the oracle.
func (f *alertFixture) write(alerts ...ctc.Alert) {
	f.t.Helper()
	b := &ctc.Batch{Output: ctc.Output{Alerts: slices.Clone(alerts)}}
	if len(alerts) > 0 && len(alerts)%2 == 0 {
		a := alerts[0]
		b.Trades = []ctc.Trade{{
			EventID: ctc.NewEventID(a.Exchange, a.Symbol, a.AlertID.String()), Exchange: a.Exchange, Symbol: a.Symbol,
			Price: 100, Quantity: 1, QuoteVolume: 100, Side: ctc.Buy, Timestamp: a.DetectedAt,
		}}
		b.Output.Volumes = []ctc.VolumeWindow{{
			Symbol: a.Symbol, Exchange: a.Exchange, WindowStart: a.WindowStart, WindowEnd: a.DetectedAt,
			TradeCount: 1, TotalVolume: 100, AvgPrice: 100, MaxPrice: 100, MinPrice: 100, BuyVolume: 100,
		}}
	}
	if err := f.st.Write(f.t.Context(), b); err != nil {
		f.t.Fatalf("Write of %d alerts: %v", len(alerts), err)
	}
	f.written = append(f.written, alerts...)
}

// writeHistory writes alerts in batches of 0 to 24, in a slightly shuffled order: detectors emit
// alerts of different keys out of detected_at order, and a batch may carry none.
func (f *alertFixture) writeHistory(seed uint64, alerts []ctc.Alert) {
	f.t.Helper()
	r := rand.New(rand.NewPCG(seed, 0xa1e27))
	alerts = slices.Clone(alerts)
	for i := range alerts {
		j := min(len(alerts)-1, i+r.IntN(4))
		alerts[i], alerts[j] = alerts[j], alerts[i]
	}
	for len(alerts) > 0 {
		n := min(len(alerts), r.IntN(25))
		f.write(alerts[:n]...)
		alerts = alerts[n:]
	}
}

func (f *alertFixture) query(q ctc.AlertQuery) ([]ctc.Alert, bool) {
	f.t.Helper()
	got, err := f.st.QueryAlerts(f.t.Context(), q)
	if err != nil {
		f.t.Errorf("QueryAlerts(%s): %v", describe(q), err)
		return nil, false
	}
	return got, true
}

// check compares a query's result with the oracle's.
func (f *alertFixture) check(q ctc.AlertQuery) {
	f.t.Helper()
	got, ok := f.query(q)
	if !ok {
		return
	}
	diffAlerts(f.t, describe(q), expectAlerts(f.written, q, f.clock.Now()), got)
}

// expectAlerts is the oracle: the last version written of each alert, filtered and sorted as the
// contract says.
func expectAlerts(written []ctc.Alert, q ctc.AlertQuery, now time.Time) []ctc.Alert {
	last := map[uuid.UUID]ctc.Alert{}
	for _, a := range written {
		last[a.AlertID] = a
	}
	out := []ctc.Alert{}
	for _, a := range last {
		if matches(a, q) && !expired(a, now) {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, newestFirst)
	return out[:min(len(out), max(q.Limit, 0))]
}

func matches(a ctc.Alert, q ctc.AlertQuery) bool {
	return (q.Type == "" || a.AlertType == q.Type) && (q.Symbol == "" || a.Symbol == q.Symbol) &&
		(q.Since.IsZero() || !a.DetectedAt.Before(q.Since)) && q.Before.After(&a)
}

func expired(a ctc.Alert, now time.Time) bool { return a.TTLEpoch <= now.Unix() }

// newestFirst is the order of every query result.
func newestFirst(a, b ctc.Alert) int {
	if c := b.DetectedAt.Compare(a.DetectedAt); c != 0 {
		return c
	}
	return slices.Compare(b.AlertID[:], a.AlertID[:])
}

// diffAlerts reports how got differs from want: a count, then the first differing position, so that
// a wrong result of 200 alerts reads as one line and one alert.
func diffAlerts(t *testing.T, what string, want, got []ctc.Alert) {
	t.Helper()
	n := min(len(want), len(got))
	for i := range n {
		w, g := normalAlert(want[i]), normalAlert(got[i])
		if !cmp.Equal(w, g) {
			t.Errorf("QueryAlerts(%s): %d alerts, want %d; first difference at [%d] (-want +got):\n%s",
				what, len(got), len(want), i, cmp.Diff(w, g))
			return
		}
	}
	if len(want) != len(got) {
		var extra ctc.Alert
		which := "missing"
		if len(got) > n {
			extra, which = got[n], "unexpected"
		} else {
			extra = want[n]
		}
		t.Errorf("QueryAlerts(%s): %d alerts, want %d; the first %d agree, then %s: %s %s %s %s",
			what, len(got), len(want), n, which, extra.AlertID, extra.AlertType, extra.Symbol,
			extra.DetectedAt.UTC().Format(ctc.TimeLayout))
	}
}

func describe(q ctc.AlertQuery) string {
	var parts []string
	if q.Type != "" {
		parts = append(parts, fmt.Sprintf("type=%q", q.Type))
	}
	if q.Symbol != "" {
		parts = append(parts, fmt.Sprintf("symbol=%q", q.Symbol))
	}
	if !q.Since.IsZero() {
		parts = append(parts, "since="+q.Since.Format(time.RFC3339Nano))
	}
	if !q.Before.IsZero() {
		parts = append(parts, "before="+q.Before.DetectedAt.Format(time.RFC3339Nano)+"/"+q.Before.AlertID.String())
	}
	return strings.Join(append(parts, fmt.Sprintf("limit=%d", q.Limit)), " ")
}

// A user detector's alert type: stores must not assume the built-in three.
const customAlertType ctc.AlertType = "liquidation_cascade"

var historyTypes = []ctc.AlertType{ctc.VolumeSpike, ctc.Whale, ctc.Spread, customAlertType}

// spreadExchange is what the spread detector writes as an alert's exchange.
const spreadExchange = "binance-coinbase"

// alertHistory returns n distinct alerts raised over the 30 h before now, oldest first, the way the
// built-in detectors raise them (see TestAlertStore).
func alertHistory(seed uint64, n int, now time.Time) []ctc.Alert {
	r := rand.New(rand.NewPCG(seed, 0x41e27))
	seen := map[uuid.UUID]bool{}
	var out []ctc.Alert
	var burst time.Time // a minute in which several keys spike at once
	for len(out) < n {
		in := sampleInstruments[r.IntN(len(sampleInstruments))]
		exchange, symbol := ctc.Binance, in.base+"-USDT"
		if r.IntN(3) == 0 {
			exchange, symbol = ctc.Coinbase, in.base+"-USD"
		}
		at := now.Add(-time.Duration(r.Int64N(int64(30 * time.Hour)))).Truncate(time.Millisecond)
		var a ctc.Alert
		switch k := r.IntN(10); {
		case k < 4:
			end := at.Truncate(time.Minute)
			if !burst.IsZero() && r.IntN(2) == 0 {
				end = burst
			}
			burst = end
			start := end.Add(-time.Minute)
			z := 2.5 + 4*r.Float64()
			threshold, sev := 2.5, ctc.Medium
			if z > 3.5 {
				threshold, sev = 3.5, ctc.High
			}
			vol := quantize(in.price*r.ExpFloat64()*300, 2)
			a = ctc.Alert{
				AlertID: ctc.NewAlertID(ctc.VolumeSpike, exchange, symbol, ctc.WindowKey(start)), AlertType: ctc.VolumeSpike,
				Severity: sev, ZScore: z, ThresholdValue: threshold, ActualValue: vol, WindowStart: start, DetectedAt: end,
				Message: fmt.Sprintf("%s on %s: volume $%.1fk in 1m0s is %.2fσ above the 1 h mean", symbol, exchange, vol/1e3, z),
			}
		case k < 7:
			qv := quantize(100_000*(1.01+4*r.ExpFloat64()), 2)
			sev, threshold := ctc.Medium, 100_000.0
			switch {
			case qv > 1_000_000:
				sev, threshold = ctc.Critical, 1_000_000
			case qv > 500_000:
				sev, threshold = ctc.High, 500_000
			}
			event := ctc.NewEventIDInt(exchange, symbol, 4_000_000_000+r.Int64N(1e9))
			a = ctc.Alert{
				AlertID: ctc.NewAlertID(ctc.Whale, exchange, symbol, event.String()), AlertType: ctc.Whale,
				Severity: sev, ThresholdValue: threshold, ActualValue: qv, WindowStart: at, DetectedAt: at,
				Message: fmt.Sprintf("%s on %s: $%.2fM buy of %g (over $%.0fk) 🐋", symbol, exchange, qv/1e6, quantize(qv/in.price, in.lot), threshold/1e3),
			}
		case k < 9:
			start := at.Truncate(30 * time.Second)
			pct := (0.5 + 2*r.ExpFloat64()) * float64(1-2*r.IntN(2))
			sev, threshold := ctc.Low, 0.5
			switch {
			case math.Abs(pct) > 2:
				sev, threshold = ctc.High, 2
			case math.Abs(pct) > 1:
				sev, threshold = ctc.Medium, 1
			}
			exchange, symbol = spreadExchange, in.base
			a = ctc.Alert{
				AlertID: ctc.NewAlertID(ctc.Spread, exchange, symbol, ctc.WindowKey(start)), AlertType: ctc.Spread,
				Severity: sev, ThresholdValue: threshold, ActualValue: pct, WindowStart: start, DetectedAt: start.Add(30 * time.Second),
				Message: fmt.Sprintf("%s: Binance ↔ Coinbase spread %+.3f%% over 30s", symbol, pct),
			}
		default:
			a = ctc.Alert{
				AlertID: ctc.NewAlertID(customAlertType, exchange, symbol, ctc.WindowKey(at)), AlertType: customAlertType,
				Severity: sampleSeverities[r.IntN(len(sampleSeverities))], ZScore: -r.ExpFloat64(), ThresholdValue: 0.8,
				ActualValue: 0.8 + r.Float64()/5, WindowStart: at.Add(-5 * time.Minute), DetectedAt: at,
				Message: sampleMessages[r.IntN(len(sampleMessages))],
			}
		}
		if seen[a.AlertID] {
			continue
		}
		seen[a.AlertID] = true
		a.Symbol, a.Exchange = symbol, exchange
		a.TTLEpoch = a.DetectedAt.Add(ctc.AlertTTL).Unix()
		if r.IntN(5) != 0 {
			a.EmittedAt = a.DetectedAt.Add(time.Duration(r.IntN(1500)) * time.Millisecond)
		}
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b ctc.Alert) int { return -newestFirst(a, b) })
	return out
}

// historySymbols returns the symbols of alerts, sorted, plus one that has none.
func historySymbols(alerts []ctc.Alert) []string {
	var syms []string
	for _, a := range alerts {
		syms = append(syms, a.Symbol)
	}
	slices.Sort(syms)
	return append(slices.Compact(syms), "XRP-USDT")
}

func (s *alertSuite) withHistory(t *testing.T, seed uint64, n int) *alertFixture {
	f := s.open(t, alertNow)
	f.writeHistory(seed, alertHistory(seed, n, alertNow))
	return f
}

func (s *alertSuite) byType(t *testing.T) {
	f := s.withHistory(t, 1, 600)
	for _, typ := range append(historyTypes, "never_written") {
		for _, limit := range []int{50, 1000} {
			f.check(ctc.AlertQuery{Type: typ, Limit: limit})
		}
	}
}

func (s *alertSuite) bySymbol(t *testing.T) {
	f := s.withHistory(t, 2, 600)
	for _, sym := range historySymbols(f.written) {
		for _, limit := range []int{50, 1000} {
			f.check(ctc.AlertQuery{Symbol: sym, Limit: limit})
		}
	}
}

func (s *alertSuite) byTypeSince(t *testing.T) {
	f := s.withHistory(t, 3, 600)
	for _, typ := range historyTypes {
		all := expectAlerts(f.written, ctc.AlertQuery{Type: typ, Limit: math.MaxInt}, alertNow)
		sinces := []time.Time{alertNow.Add(-time.Hour), alertNow.Add(-6 * time.Hour), alertNow.Add(-23 * time.Hour),
			alertNow.Add(-29 * time.Hour), alertNow.Add(time.Hour)}
		if len(all) > 10 {
			sinces = append(sinces, all[10].DetectedAt, all[len(all)-1].DetectedAt)
		}
		for _, since := range sinces {
			for _, limit := range []int{50, 1000} {
				f.check(ctc.AlertQuery{Type: typ, Since: since, Limit: limit})
			}
		}
	}
}

func (s *alertSuite) all(t *testing.T) {
	f := s.withHistory(t, 4, 600)
	for _, limit := range []int{1, 50, 200, 10_000} {
		f.check(ctc.AlertQuery{Limit: limit})
		f.check(ctc.AlertQuery{Since: alertNow.Add(-3 * time.Hour), Limit: limit})
	}
}

func (s *alertSuite) typeAndSymbol(t *testing.T) {
	f := s.withHistory(t, 5, 600)
	for _, typ := range historyTypes {
		for _, sym := range historySymbols(f.written) {
			f.check(ctc.AlertQuery{Type: typ, Symbol: sym, Limit: 50})
			f.check(ctc.AlertQuery{Type: typ, Symbol: sym, Since: alertNow.Add(-12 * time.Hour), Limit: 1000})
		}
	}
}

// patterns returns a query of every access pattern with the given Since and Limit, filtering on
// the type and symbol of a.
func patterns(a ctc.Alert, since time.Time, limit int) []ctc.AlertQuery {
	return []ctc.AlertQuery{
		{Since: since, Limit: limit},
		{Type: a.AlertType, Since: since, Limit: limit},
		{Symbol: a.Symbol, Since: since, Limit: limit},
		{Type: a.AlertType, Symbol: a.Symbol, Since: since, Limit: limit},
	}
}

// sameKeyAlerts returns n whale alerts of one symbol and exchange at the given detection times.
func sameKeyAlerts(times ...time.Time) []ctc.Alert {
	var out []ctc.Alert
	for i, at := range times {
		id := ctc.NewAlertID(ctc.Whale, ctc.Binance, "BTC-USDT", fmt.Sprint("trade-", i))
		out = append(out, ctc.Alert{
			AlertID: id, AlertType: ctc.Whale, Symbol: "BTC-USDT", Exchange: ctc.Binance, Severity: ctc.High,
			ThresholdValue: 500_000, ActualValue: 612_345.67 + float64(i), WindowStart: at, DetectedAt: at,
			Message: fmt.Sprintf("whale %d", i), TTLEpoch: at.Add(ctc.AlertTTL).Unix(), EmittedAt: at.Add(time.Second),
		})
	}
	return out
}

func (s *alertSuite) sinceInclusive(t *testing.T) {
	f := s.open(t, alertNow)
	at := alertNow.Add(-2 * time.Hour).Add(137 * time.Millisecond)
	ms := time.Millisecond
	alerts := sameKeyAlerts(at.Add(-ms), at, at, at.Add(ms), at.Add(time.Hour))
	f.write(alerts...)
	ist := time.FixedZone("IST", 5*3600+1800)
	for _, since := range []time.Time{at, at.In(ist), at.Add(-ms), at.Add(ms), at.Add(time.Hour), at.Add(time.Hour + ms)} {
		for _, q := range patterns(alerts[0], since, 50) {
			f.check(q)
		}
	}
	// The point of the subtest, spelled out: both alerts at exactly Since are returned.
	if got, ok := f.query(ctc.AlertQuery{Since: at.In(ist), Limit: 50}); ok && len(got) != 4 {
		t.Errorf("QueryAlerts(since=%s): %d alerts, want 4 (two at since, one later, one an hour later)", at.In(ist).Format(time.RFC3339Nano), len(got))
	}
}

func (s *alertSuite) limit(t *testing.T) {
	f := s.withHistory(t, 6, 700)
	live := expectAlerts(f.written, ctc.AlertQuery{Limit: math.MaxInt}, alertNow)
	if len(live) <= 200 {
		t.Fatalf("fixture: %d live alerts, want more than 200", len(live))
	}
	for _, limit := range []int{1, 50, 200} {
		for _, q := range patterns(live[0], time.Time{}, limit) {
			f.check(q)
		}
		if got, ok := f.query(ctc.AlertQuery{Limit: limit}); ok && len(got) != limit {
			t.Errorf("QueryAlerts(limit=%d) returned %d alerts with %d live ones stored", limit, len(got), len(live))
		}
	}
	f.check(ctc.AlertQuery{Limit: len(live) + 1})
	f.check(ctc.AlertQuery{Limit: math.MaxInt})
	if got, ok := f.query(ctc.AlertQuery{Limit: math.MaxInt}); ok && len(got) != len(live) {
		t.Errorf("QueryAlerts(limit=max) returned %d alerts, want every live one: %d", len(got), len(live))
	}
}

func (s *alertSuite) invalidLimit(t *testing.T) {
	f := s.withHistory(t, 7, 100)
	a := f.written[len(f.written)-1]
	for _, limit := range []int{0, -1, math.MinInt} {
		for _, q := range patterns(a, time.Time{}, limit) {
			got, err := f.st.QueryAlerts(t.Context(), q)
			if err == nil {
				t.Errorf("QueryAlerts(%s) = %d alerts and no error, want an error", describe(q), len(got))
			}
		}
	}
	f.check(ctc.AlertQuery{Limit: 50})
}

func (s *alertSuite) order(t *testing.T) {
	f := s.open(t, alertNow)
	r := rand.New(rand.NewPCG(8, 8))
	// Forty alerts of every type and many symbols detected in the same millisecond, among others a
	// millisecond either side, written in a random order.
	tie := alertNow.Add(-time.Hour).Truncate(time.Minute)
	var alerts []ctc.Alert
	for _, a := range alertHistory(8, 120, alertNow) {
		if len(alerts) < 40 {
			a.DetectedAt = tie
		} else if len(alerts) < 80 {
			a.DetectedAt = tie.Add(time.Duration(r.IntN(3)-1) * time.Millisecond)
		}
		a.TTLEpoch = a.DetectedAt.Add(ctc.AlertTTL).Unix()
		alerts = append(alerts, a)
	}
	r.Shuffle(len(alerts), func(i, j int) { alerts[i], alerts[j] = alerts[j], alerts[i] })
	for i := 0; i < len(alerts); i += 7 {
		f.write(alerts[i:min(i+7, len(alerts))]...)
	}
	for _, q := range []ctc.AlertQuery{{Limit: 200}, {Limit: 10}, {Since: tie, Limit: 200}, {Type: ctc.VolumeSpike, Limit: 200}} {
		f.check(q)
		got, ok := f.query(q)
		if !ok {
			continue
		}
		for i := 1; i < len(got); i++ {
			if newestFirst(got[i-1], got[i]) >= 0 {
				t.Errorf("QueryAlerts(%s): [%d] %s at %s comes after [%d] %s at %s; want newest first, then alert_id descending",
					describe(q), i, got[i].AlertID, got[i].DetectedAt.UTC().Format(ctc.TimeLayout),
					i-1, got[i-1].AlertID, got[i-1].DetectedAt.UTC().Format(ctc.TimeLayout))
				break
			}
		}
	}
}

func (s *alertSuite) paging(t *testing.T) {
	f := s.open(t, alertNow)
	r := rand.New(rand.NewPCG(13, 13))
	// Many ties: a third of the alerts share one of five detection times.
	ties := make([]time.Time, 5)
	for i := range ties {
		ties[i] = alertNow.Add(-time.Duration(1+i) * time.Hour).Truncate(time.Minute)
	}
	var alerts []ctc.Alert
	for i, a := range alertHistory(13, 300, alertNow) {
		if i%3 == 0 {
			a.DetectedAt = ties[r.IntN(len(ties))]
			a.TTLEpoch = a.DetectedAt.Add(ctc.AlertTTL).Unix()
		}
		alerts = append(alerts, a)
	}
	f.write(alerts...)
	later := alertHistory(14, 60, alertNow) // written between pages
	extra := 0                              // numbers the alerts written at a page's boundary
	for _, base := range patterns(alerts[0], time.Time{}, 0) {
		for _, size := range []int{1, 7, 50} {
			if size == 1 && base.Type == "" && base.Symbol == "" {
				continue // 300 pages: the other sizes cover it
			}
			want := expectAlerts(f.written, ctc.AlertQuery{Type: base.Type, Symbol: base.Symbol, Limit: math.MaxInt}, alertNow)
			var got []ctc.Alert
			q := ctc.AlertQuery{Type: base.Type, Symbol: base.Symbol, Limit: size}
			for page := 0; ; page++ {
				res, ok := f.query(q)
				if !ok {
					return
				}
				got = append(got, res...)
				if len(res) < size {
					break
				}
				if len(got) > len(want)+2*len(later)+size {
					t.Errorf("paging %s by %d does not end: %d alerts read, %d stored", describe(q), size, len(got), len(want))
					return
				}
				q.Before = ctc.KeyOf(&res[len(res)-1])
				if page < len(later) {
					// A newer alert (it belongs to no later page) and an older one at this page's
					// boundary time with a larger id (it belongs before the boundary: no later page).
					n := later[page]
					n.DetectedAt = alertNow.Add(-time.Second)
					n.TTLEpoch = n.DetectedAt.Add(ctc.AlertTTL).Unix()
					o := res[len(res)-1]
					extra++
					o.AlertID = uuid.UUID{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, byte(extra >> 8), byte(extra)}
					if slices.Compare(o.AlertID[:], res[len(res)-1].AlertID[:]) > 0 {
						f.write(n, o)
					}
				}
			}
			if len(got) != len(want) {
				t.Errorf("paging %s by %d: %d alerts in all, want the %d stored at the first page", describe(q), size, len(got), len(want))
				continue
			}
			diffAlerts(t, "pages of "+describe(ctc.AlertQuery{Type: base.Type, Symbol: base.Symbol, Limit: size}), want, got)
		}
	}
}

func (s *alertSuite) idempotent(t *testing.T) {
	f := s.open(t, alertNow)
	hist := alertHistory(9, 150, alertNow)
	f.writeHistory(9, hist)
	f.writeHistory(10, hist)                    // a replay after a restart
	f.write(append(hist[:5:5], hist[:5]...)...) // twice in one batch

	// A reprocessing run rewrites some alerts with other values but the same identity.
	versions := map[uuid.UUID][]ctc.Alert{}
	for _, a := range hist {
		versions[a.AlertID] = []ctc.Alert{a}
	}
	var changed []ctc.Alert
	for i, a := range hist {
		if i%3 != 0 {
			continue
		}
		a.EmittedAt = a.DetectedAt.Add(90 * time.Second)
		a.Severity = ctc.Critical
		a.ActualValue *= 1.5
		a.ZScore += 1
		a.Message = "reprocessed: " + a.Message
		changed = append(changed, a)
		versions[a.AlertID] = append(versions[a.AlertID], a)
	}
	f.write(changed...)

	kept := map[uuid.UUID]ctc.Alert{}
	for _, q := range append(patterns(hist[len(hist)-1], time.Time{}, math.MaxInt), patterns(hist[0], time.Time{}, math.MaxInt)...) {
		got, ok := f.query(q)
		if !ok {
			continue
		}
		// The same alerts, in the same order, as the oracle, whichever version each one is.
		want := expectAlerts(f.written, q, alertNow)
		if gotIDs, wantIDs := alertIDs(got), alertIDs(want); !slices.Equal(gotIDs, wantIDs) {
			t.Errorf("QueryAlerts(%s): alert ids differ from one copy of each alert written (-want +got):\n%s", describe(q), cmp.Diff(wantIDs, gotIDs))
			continue
		}
		for _, a := range got {
			a = normalAlert(a)
			if !slices.ContainsFunc(versions[a.AlertID], func(v ctc.Alert) bool { return cmp.Equal(normalAlert(v), a) }) {
				t.Errorf("QueryAlerts(%s): alert %s differs from every version written (-first +got):\n%s",
					describe(q), a.AlertID, cmp.Diff(normalAlert(versions[a.AlertID][0]), a))
				continue
			}
			if k, ok := kept[a.AlertID]; ok && !cmp.Equal(k, a) {
				t.Errorf("QueryAlerts(%s): alert %s comes back as another version than in an earlier query (-earlier +now):\n%s",
					describe(q), a.AlertID, cmp.Diff(k, a))
			}
			kept[a.AlertID] = a
		}
	}
}

func alertIDs(alerts []ctc.Alert) []string {
	ids := make([]string, len(alerts))
	for i, a := range alerts {
		ids[i] = a.AlertID.String()
	}
	return ids
}

func (s *alertSuite) expiry(t *testing.T) {
	// Half a second past a whole second: expiry is by whole Unix seconds (ttl_epoch <= now).
	now := alertNow.Add(500 * time.Millisecond)
	f := s.open(t, now)
	sec := now.Unix()
	// Alerts whose ttl_epoch is not detected_at + 24 h, so that a store must read ttl_epoch: the
	// newest of them expires first.
	times := []time.Time{now.Add(-time.Minute), now.Add(-2 * time.Minute), now.Add(-3 * time.Minute),
		now.Add(-4 * time.Minute), now.Add(-5 * time.Minute), now.Add(-6 * time.Minute), now.Add(-7 * time.Minute)}
	alerts := sameKeyAlerts(times...)
	ttls := []int64{sec - 1, sec, sec + 1, sec + 2, sec + 60, sec - 3600, sec + 3600}
	for i := range alerts {
		alerts[i].TTLEpoch = ttls[i]
	}
	// Others of another type and symbol that live a day, so that every pattern has neighbours.
	hist := alertHistory(11, 60, alertNow)
	f.write(alerts...)
	f.writeHistory(11, hist)

	checkAll := func(when string) {
		t.Helper()
		for _, limit := range []int{1, 3, 100} {
			for _, q := range patterns(alerts[0], time.Time{}, limit) {
				f.check(q)
			}
			f.check(ctc.AlertQuery{Type: ctc.Whale, Symbol: alerts[0].Symbol, Since: now.Add(-4 * time.Minute), Limit: limit})
		}
		got, ok := f.query(ctc.AlertQuery{Limit: math.MaxInt})
		if !ok {
			return
		}
		for _, a := range got {
			if expired(a, f.clock.Now()) {
				t.Errorf("%s: QueryAlerts returned alert %s with ttl_epoch %d at now = %s (%d)", when, a.AlertID,
					a.TTLEpoch, f.clock.Now().Format(time.RFC3339Nano), f.clock.Now().Unix())
			}
		}
	}
	checkAll("at the start")
	if got, ok := f.query(ctc.AlertQuery{Type: ctc.Whale, Symbol: alerts[0].Symbol, Limit: 1}); ok &&
		(len(got) != 1 || got[0].AlertID != alerts[2].AlertID) {
		t.Errorf("QueryAlerts(limit=1) with the two newest alerts expired: got %v, want [%s] (the newest live one)", alertIDs(got), alerts[2].AlertID)
	}

	// An alert written already expired, as a replay of old input writes them, never shows.
	old := sameKeyAlerts(now.Add(-30 * time.Hour))[0]
	old.AlertID = uuid.NewSHA1(ctc.Namespace, []byte("expired on arrival"))
	f.write(old)
	checkAll("after writing an expired alert")

	f.clock.set(time.Unix(sec+1, 0)) // exactly the ttl of alerts[2]
	checkAll("one second later")
	f.clock.add(90 * time.Second)
	checkAll("a minute and a half later")
	f.clock.set(alertNow.Add(31 * time.Hour))
	checkAll("a day later")
	if got, ok := f.query(ctc.AlertQuery{Limit: math.MaxInt}); ok && len(got) != 0 {
		t.Errorf("QueryAlerts a day after every ttl_epoch: %d alerts, want none", len(got))
	}
}

func (s *alertSuite) unknownSymbol(t *testing.T) {
	f := s.open(t, alertNow)
	empty := func(when string, q ctc.AlertQuery) {
		t.Helper()
		got, err := f.st.QueryAlerts(t.Context(), q)
		switch {
		case err != nil:
			t.Errorf("%s: QueryAlerts(%s): %v, want an empty result and no error", when, describe(q), err)
		case got == nil:
			t.Errorf("%s: QueryAlerts(%s) returned nil, want an empty non-nil slice", when, describe(q))
		case len(got) != 0:
			t.Errorf("%s: QueryAlerts(%s) returned %d alerts, want none", when, describe(q), len(got))
		}
	}
	empty("empty store", ctc.AlertQuery{Limit: 50})
	empty("empty store", ctc.AlertQuery{Type: ctc.Whale, Symbol: "BTC-USDT", Limit: 50})
	f.writeHistory(12, alertHistory(12, 200, alertNow))
	empty("unknown symbol", ctc.AlertQuery{Symbol: "NOPE-USDT", Limit: 50})
	empty("unknown type", ctc.AlertQuery{Type: "no_such_type", Limit: 50})
	empty("unknown type and symbol", ctc.AlertQuery{Type: "no_such_type", Symbol: "NOPE-USDT", Limit: 50})
	empty("known type, unknown symbol", ctc.AlertQuery{Type: ctc.Whale, Symbol: "NOPE-USDT", Limit: 50})
	empty("a type the symbol never had", ctc.AlertQuery{Type: ctc.Whale, Symbol: "BTC", Limit: 50})
	empty("since in the future", ctc.AlertQuery{Since: alertNow.Add(time.Hour), Limit: 50})
	empty("symbol differing only in case", ctc.AlertQuery{Symbol: "btc-usdt", Limit: 50})
}

func (s *alertSuite) emptyBatch(t *testing.T) {
	f := s.open(t, alertNow)
	ctx := t.Context()
	nothing := func(b *ctc.Batch, what string) {
		t.Helper()
		if err := f.st.Write(ctx, b); err != nil {
			t.Errorf("Write of %s: %v", what, err)
		}
	}
	nothing(&ctc.Batch{}, "an empty batch")
	sb := sampleBatch(70, 4)
	sb.Output.Alerts = nil
	nothing(sb, "a batch with everything but alerts")
	f.check(ctc.AlertQuery{Limit: 50})

	f.writeHistory(13, alertHistory(13, 100, alertNow))
	b := sampleBatch(71, 5)
	b.Reset() // emptied, with storage behind its slices
	nothing(b, "a reset batch")
	nothing(&ctc.Batch{Trades: sampleBatch(72, 3).Trades}, "a batch of trades only")
	f.check(ctc.AlertQuery{Limit: 200})
	f.check(ctc.AlertQuery{Type: ctc.VolumeSpike, Limit: 200})
}

func (s *alertSuite) copies(t *testing.T) {
	f := s.open(t, alertNow)
	hist := alertHistory(14, 80, alertNow)
	b := &ctc.Batch{Output: ctc.Output{Alerts: slices.Clone(hist[:40])}}
	if err := f.st.Write(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	f.written = append(f.written, hist[:40]...)
	// The pipeline overwrites the batch in place and builds the next one in the same slice.
	for i := range b.Output.Alerts {
		b.Output.Alerts[i] = ctc.Alert{AlertID: b.Output.Alerts[i].AlertID, AlertType: "scribbled", Message: "scribbled", TTLEpoch: 1}
	}
	b.Output.Alerts = append(b.Output.Alerts[:0], hist[40:]...)
	if err := f.st.Write(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	f.written = append(f.written, hist[40:]...)
	for i := range b.Output.Alerts {
		b.Output.Alerts[i].Message, b.Output.Alerts[i].ActualValue = "scribbled", -1
	}
	b.Reset()
	f.check(ctc.AlertQuery{Limit: 200})

	// A caller may keep and modify a result.
	got, ok := f.query(ctc.AlertQuery{Limit: 200})
	if !ok || len(got) == 0 {
		t.Fatalf("no alerts to modify: %d", len(got))
	}
	for i := range got {
		got[i].Message, got[i].Symbol, got[i].DetectedAt = "modified by the caller", "MOD-USDT", time.Time{}
	}
	_ = append(got[:0], ctc.Alert{Message: "appended by the caller"})
	f.check(ctc.AlertQuery{Limit: 200})
	f.check(ctc.AlertQuery{Symbol: hist[0].Symbol, Limit: 200})
}

func (s *alertSuite) concurrent(t *testing.T) {
	f := s.open(t, alertNow)
	hist := alertHistory(15, 400, alertNow)
	byID := map[uuid.UUID]ctc.Alert{}
	for _, a := range hist {
		byID[a.AlertID] = normalAlert(a)
	}
	syms := historySymbols(hist)
	var done atomic.Bool
	var wg sync.WaitGroup
	for reader := range 4 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(reader), 15))
			for n := 0; n < 20 || !done.Load(); n++ {
				q := ctc.AlertQuery{Limit: []int{1, 50, 200}[r.IntN(3)]}
				if r.IntN(2) == 0 {
					q.Type = historyTypes[r.IntN(len(historyTypes))]
				}
				if r.IntN(2) == 0 {
					q.Symbol = syms[r.IntN(len(syms))]
				}
				if r.IntN(3) == 0 {
					q.Since = alertNow.Add(-time.Duration(r.IntN(24)) * time.Hour)
				}
				got, err := f.st.QueryAlerts(context.Background(), q)
				if err != nil {
					t.Errorf("QueryAlerts(%s) while writing: %v", describe(q), err)
					return
				}
				if msg := checkResult(got, q, byID, alertNow); msg != "" {
					t.Errorf("QueryAlerts(%s) while writing: %s", describe(q), msg)
					return
				}
			}
		})
	}
	for i := 0; i < len(hist); i += 5 {
		if err := f.st.Write(context.Background(), &ctc.Batch{Output: ctc.Output{Alerts: slices.Clone(hist[i:min(i+5, len(hist))])}}); err != nil {
			t.Errorf("Write while querying: %v", err)
			break
		}
		f.written = append(f.written, hist[i:min(i+5, len(hist))]...)
	}
	done.Store(true)
	wg.Wait()
	for _, typ := range historyTypes {
		f.check(ctc.AlertQuery{Type: typ, Limit: 200})
	}
	f.check(ctc.AlertQuery{Limit: 1000})
}

// checkResult checks what can be checked of a result while writes are under way: it holds at most
// Limit alerts, live, matching the query, in order, each as written.
func checkResult(got []ctc.Alert, q ctc.AlertQuery, written map[uuid.UUID]ctc.Alert, now time.Time) string {
	if len(got) > q.Limit {
		return fmt.Sprintf("%d alerts, more than the limit", len(got))
	}
	for i, a := range got {
		w, ok := written[a.AlertID]
		switch {
		case !ok:
			return fmt.Sprintf("alert %s was never written", a.AlertID)
		case !cmp.Equal(w, normalAlert(a)):
			return fmt.Sprintf("alert %s differs from what was written (-written +got):\n%s", a.AlertID, cmp.Diff(w, normalAlert(a)))
		case !matches(a, q):
			return fmt.Sprintf("alert %s (%s %s at %s) does not match the query", a.AlertID, a.AlertType, a.Symbol, a.DetectedAt.Format(time.RFC3339Nano))
		case expired(a, now):
			return fmt.Sprintf("alert %s is expired", a.AlertID)
		case i > 0 && newestFirst(got[i-1], a) >= 0:
			return fmt.Sprintf("alerts [%d] and [%d] are out of order", i-1, i)
		}
	}
	return ""
}

func (s *alertSuite) cancelledContext(t *testing.T) {
	f := s.open(t, alertNow)
	hist := alertHistory(16, 40, alertNow)
	f.write(hist[:20]...)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := f.st.Write(ctx, &ctc.Batch{Output: ctc.Output{Alerts: slices.Clone(hist[20:])}})
	switch {
	case err == nil:
		f.written = append(f.written, hist[20:]...)
	case !errors.Is(err, context.Canceled):
		t.Errorf("Write with a cancelled context returned %v, want nil or an error wrapping context.Canceled", err)
	}
	f.check(ctc.AlertQuery{Limit: 100})
	if got, err := f.st.QueryAlerts(ctx, ctc.AlertQuery{Limit: 50}); !errors.Is(err, context.Canceled) {
		t.Errorf("QueryAlerts with a cancelled context: %d alerts, error %v; want an error wrapping context.Canceled", len(got), err)
	}
	f.check(ctc.AlertQuery{Type: ctc.Whale, Limit: 100})
}

// exactAlerts returns alerts whose values storage formats lose (see extremeBatch): the clock for
// them is the Unix epoch, before every ttl_epoch.
func exactAlerts() []ctc.Alert {
	floats := []float64{1e-8, 1e12, 0.1 + 0.2, 1.0 / 3, 65_432.109_876_543_21, 9.99e-7, 1e-6, 2.5e-7,
		123_456_789_012.345_67, -3.750_000_000_000_000_4, 9.999_999_999_999_999e20, 1e21, 0.000_123_45, -1e-8, 0}
	ist := time.FixedZone("IST", 5*3600+1800)
	nyc := time.FixedZone("EST", -5*3600)
	times := []time.Time{
		time.UnixMilli(1).UTC(),
		time.Date(2024, 2, 29, 23, 59, 59, 999e6, time.UTC),
		time.Date(2038, 1, 19, 3, 14, 8, 123e6, time.UTC),
		time.Date(2099, 12, 31, 23, 59, 59, 999e6, time.UTC),
		time.Date(2024, 7, 1, 5, 30, 0, 1e6, ist),
		time.Date(2025, 1, 1, 0, 0, 0, 0, nyc),
		time.Date(1999, 12, 31, 23, 59, 59, 500e6, time.UTC),
	}
	types := []ctc.AlertType{ctc.VolumeSpike, ctc.Whale, ctc.Spread, customAlertType, "ümlaut_tÿpe", `quote"type`}
	symbols := []string{"BTC-USDT", "1000PEPE-USDT", "ETH-USD", "BTC", "ÄÖÜ-USD"}
	var out []ctc.Alert
	for i := range 3 * len(floats) {
		fl := func(j int) float64 { return floats[(i+j)%len(floats)] }
		tm := func(j int) time.Time { return times[(i+j)%len(times)] }
		typ, sym := types[i%len(types)], symbols[i%len(symbols)]
		a := ctc.Alert{
			AlertID: ctc.NewAlertID(typ, ctc.Coinbase, sym, fmt.Sprint("exact-", i)), AlertType: typ, Symbol: sym,
			Exchange: []string{ctc.Binance, ctc.Coinbase, spreadExchange}[i%3], Severity: sampleSeverities[i%len(sampleSeverities)],
			ZScore: -fl(0), ThresholdValue: fl(3), ActualValue: fl(4), WindowStart: tm(1), DetectedAt: tm(0),
			Message: sampleMessages[i%len(sampleMessages)], TTLEpoch: tm(0).Add(ctc.AlertTTL).Unix(), EmittedAt: tm(2),
		}
		if i%4 == 3 {
			a.EmittedAt = time.Time{}
		}
		out = append(out, a)
	}
	return out
}

func (s *alertSuite) exactValues(t *testing.T) {
	f := s.open(t, time.Unix(0, 0).UTC())
	alerts := exactAlerts()
	f.write(alerts[:len(alerts)/2]...)
	f.write(alerts[len(alerts)/2:]...)
	f.check(ctc.AlertQuery{Limit: 1000})
	seen := map[string]bool{}
	for _, a := range alerts {
		if seen[string(a.AlertType)+"|"+a.Symbol] {
			continue
		}
		seen[string(a.AlertType)+"|"+a.Symbol] = true
		for _, q := range patterns(a, time.Time{}, 1000) {
			f.check(q)
		}
		f.check(ctc.AlertQuery{Symbol: a.Symbol, Since: a.DetectedAt, Limit: 1000})
	}
}
