package dynamodb_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/internal/awstest"
	"github.com/coattailcapital/ctc/sink/dynamodb"
)

func write(t *testing.T, st *dynamodb.Store, b *ctc.Batch) {
	t.Helper()
	if err := st.Write(t.Context(), b); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

func query(t *testing.T, st *dynamodb.Store, q ctc.AlertQuery) []ctc.Alert {
	t.Helper()
	got, err := st.QueryAlerts(t.Context(), q)
	if err != nil {
		t.Fatalf("QueryAlerts(%+v): %v", q, err)
	}
	return got
}

func TestWriteRetriesUnprocessedItems(t *testing.T) {
	t.Parallel()
	c := &interceptor{withhold: 5, withholdCalls: 3}
	st := newStore(t, interceptedClient(t, c), dynamodb.Config{Now: func() time.Time { return testNow }, BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond})
	as := alerts(60, "unprocessed")
	write(t, st, &ctc.Batch{Output: ctc.Output{Alerts: as}})
	// The first chunk of 25 gets 5 items left unprocessed, their retry 4 of 5, the next 3 of 4,
	// the fourth call is whole; then the other two chunks (25 and 10 puts) go through.
	if c.withheld != 12 {
		t.Fatalf("the interceptor withheld %d items, want 12: the test does not provoke what it should", c.withheld)
	}
	if got := c.count("BatchWriteItem"); got != 6 {
		t.Errorf("BatchWriteItem calls: %d, want 6 (3 chunks + 3 retries of unprocessed items); puts per call %v", got, c.items)
	}
	if want := []int{20, 1, 1, 3, 25, 10}; !slices.Equal(c.items, want) {
		t.Errorf("puts per BatchWriteItem call %v, want %v", c.items, want)
	}
	got := query(t, st, ctc.AlertQuery{Limit: 1000})
	want := slices.Clone(as) // newest first already
	if diff := cmp.Diff(ids(want), ids(got)); diff != "" {
		t.Errorf("alerts stored after retries (-want +got):\n%s", diff)
	}
}

func TestWriteGivesUpOnUnprocessedItems(t *testing.T) {
	t.Parallel()
	c := &interceptor{withhold: 4, withholdCalls: -1}
	st := newStore(t, interceptedClient(t, c), dynamodb.Config{Now: func() time.Time { return testNow }, MaxAttempts: 3, BaseBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
	as := alerts(10, "give-up")
	err := st.Write(t.Context(), &ctc.Batch{Output: ctc.Output{Alerts: as}})
	var ue *dynamodb.UnprocessedError
	if !errors.As(err, &ue) {
		t.Fatalf("Write with items always left unprocessed: %v, want an *UnprocessedError", err)
	}
	// 10 puts: 6 reach the server, then 1 of the 4 left, then 1 of the 3 left; 2 remain.
	if ue.Attempts != 3 || ue.Items[st.Config().AlertsTable] != 2 || len(ue.Items) != 1 {
		t.Errorf("UnprocessedError %+v, want 3 attempts and 2 alerts left", ue)
	}
	if got := c.count("BatchWriteItem"); got != 3 {
		t.Errorf("BatchWriteItem calls: %d, want MaxAttempts = 3", got)
	}
	if got := query(t, st, ctc.AlertQuery{Limit: 100}); len(got) != 8 || c.withheld != 9 {
		t.Errorf("%d alerts stored, %d withheld in all; want the 8 the server accepted and 9", len(got), c.withheld)
	}
	// Writing the batch again once the table recovers completes it.
	c.mu.Lock()
	c.withholdCalls = 0
	c.mu.Unlock()
	write(t, st, &ctc.Batch{Output: ctc.Output{Alerts: as}})
	if got := query(t, st, ctc.AlertQuery{Limit: 100}); !slices.Equal(ids(got), ids(as)) {
		t.Errorf("after writing the batch again: %v, want %v", ids(got), ids(as))
	}
}

func TestWriteRetriesThrottling(t *testing.T) {
	t.Parallel()
	c := &interceptor{throttleCalls: 3}
	st := newStore(t, interceptedClient(t, c), dynamodb.Config{Now: func() time.Time { return testNow }, BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond})
	as := alerts(30, "throttled")
	write(t, st, &ctc.Batch{Output: ctc.Output{Alerts: as}})
	if got := c.count("BatchWriteItem"); got != 5 {
		t.Errorf("BatchWriteItem calls: %d, want 5 (3 throttled + 2 chunks)", got)
	}
	if got := query(t, st, ctc.AlertQuery{Limit: 100}); !slices.Equal(ids(got), ids(as)) {
		t.Errorf("alerts after throttling: %d of %d", len(got), len(as))
	}

	c2 := &interceptor{throttleCalls: -1}
	st2 := newStore(t, interceptedClient(t, c2), dynamodb.Config{Now: func() time.Time { return testNow }, MaxAttempts: 4, BaseBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
	err := st2.Write(t.Context(), &ctc.Batch{Output: ctc.Output{Alerts: as}})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ProvisionedThroughputExceededException" {
		t.Fatalf("Write to a table throttled for good: %v, want the throttling error", err)
	}
	if got := c2.count("BatchWriteItem"); got != 4 {
		t.Errorf("BatchWriteItem calls: %d, want MaxAttempts = 4", got)
	}
}

func TestWriteCancelledDuringBackoff(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	c := &interceptor{throttleCalls: -1, onBatchWrite: cancel}
	st := newStore(t, interceptedClient(t, c), dynamodb.Config{Now: func() time.Time { return testNow }, BaseBackoff: time.Hour, MaxBackoff: time.Hour})
	start := time.Now()
	err := st.Write(ctx, &ctc.Batch{Output: ctc.Output{Alerts: alerts(3, "cancel")}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Write cancelled while backing off: %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > time.Minute {
		t.Errorf("Write took %v to notice the cancellation", d)
	}
}

func TestWriteDoesNotRetryRejectedItems(t *testing.T) {
	t.Parallel()
	c := &interceptor{}
	st := newStore(t, interceptedClient(t, c), dynamodb.Config{Now: func() time.Time { return testNow }})
	a := alerts(1, "huge")
	a[0].Message = strings.Repeat("x", 500<<10) // over DynamoDB's 400 KB item limit
	err := st.Write(t.Context(), &ctc.Batch{Output: ctc.Output{Alerts: a}})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationException" {
		t.Fatalf("Write of an item over 400 KB: %v, want the server's ValidationException", err)
	}
	if got := c.count("BatchWriteItem"); got != 1 {
		t.Errorf("BatchWriteItem calls: %d, want 1 (a rejected item is not retried)", got)
	}
}

func TestWriteRejectsBadInput(t *testing.T) {
	t.Parallel()
	c := &interceptor{}
	st := newStore(t, interceptedClient(t, c), dynamodb.Config{Now: func() time.Time { return testNow }})
	good := alerts(3, "good")
	for _, tc := range []struct {
		name string
		b    ctc.Batch
		want string
	}{
		{"no symbol", ctc.Batch{Output: ctc.Output{Alerts: append(slices.Clone(good), ctc.Alert{AlertType: ctc.Whale, TTLEpoch: math.MaxInt64})}}, "empty alert_type or symbol"},
		{"no type", ctc.Batch{Output: ctc.Output{Alerts: []ctc.Alert{{Symbol: "BTC-USDT"}}}}, "empty alert_type or symbol"},
		{"year 10000", ctc.Batch{Output: ctc.Output{Alerts: []ctc.Alert{{AlertType: ctc.Whale, Symbol: "BTC-USDT", DetectedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}}}}, "0000-9999"},
		{"year -1", ctc.Batch{Output: ctc.Output{Alerts: []ctc.Alert{{AlertType: ctc.Whale, Symbol: "BTC-USDT", EmittedAt: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)}}}}, "0000-9999"},
		{"unknown severity", ctc.Batch{Output: ctc.Output{Alerts: []ctc.Alert{{AlertType: ctc.Whale, Symbol: "BTC-USDT", Severity: 9}}}}, "severity"},
		{"volume without symbol", ctc.Batch{Output: ctc.Output{Alerts: good, Volumes: []ctc.VolumeWindow{{Exchange: ctc.Binance}}}}, "no symbol"},
		{"spread without symbol", ctc.Batch{Output: ctc.Output{Spreads: []ctc.SpreadWindow{{}}}}, "no symbol"},
		{"spread in year 10000", ctc.Batch{Output: ctc.Output{Spreads: []ctc.SpreadWindow{{Symbol: "BTC", WindowEnd: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}}}}, "0000-9999"},
	} {
		err := st.Write(t.Context(), &tc.b)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Write returned %v, want an error about %q", tc.name, err, tc.want)
		}
	}
	if n := c.count("BatchWriteItem") + c.count("UpdateItem"); n != 0 {
		t.Errorf("%d writes reached the server; a batch with a bad record must write nothing", n)
	}
	if got := query(t, st, ctc.AlertQuery{Limit: 10}); len(got) != 0 {
		t.Errorf("%d alerts stored from rejected batches", len(got))
	}
	for _, limit := range []int{0, -1, math.MinInt} {
		if _, err := st.QueryAlerts(t.Context(), ctc.AlertQuery{Limit: limit}); err == nil || !strings.Contains(err.Error(), "limit must be >= 1") {
			t.Errorf("QueryAlerts(limit %d): %v, want a limit error", limit, err)
		}
	}
}

func TestPaging(t *testing.T) {
	t.Parallel()
	c := &interceptor{}
	st := newStore(t, interceptedClient(t, c), dynamodb.Config{Now: func() time.Time { return testNow }, PageSize: 2})
	as := alerts(45, "paging")
	// Five alerts that tie on detected_at with the 10th whale, and a few expired ones in between:
	// the ties must come in alert_id order, the expired ones must not use up the limit.
	tie := as[27].DetectedAt
	for i := range 5 {
		a := alerts(1, fmt.Sprint("tie", i))[0]
		a.AlertType, a.Symbol, a.DetectedAt, a.TTLEpoch = ctc.Whale, "BTC-USDT", tie, tie.Add(ctc.AlertTTL).Unix()
		as = append(as, a)
	}
	for i := range 6 {
		a := alerts(1, fmt.Sprint("expired", i))[0]
		a.AlertType, a.DetectedAt, a.TTLEpoch = ctc.Whale, testNow.Add(-time.Duration(3*i+2)*time.Second), testNow.Unix()
		as = append(as, a)
	}
	write(t, st, &ctc.Batch{Output: ctc.Output{Alerts: as}})
	live := slices.DeleteFunc(slices.Clone(as), func(a ctc.Alert) bool { return a.TTLEpoch <= testNow.Unix() })
	slices.SortFunc(live, func(a, b ctc.Alert) int {
		if c := b.DetectedAt.Compare(a.DetectedAt); c != 0 {
			return c
		}
		return strings.Compare(b.AlertID.String(), a.AlertID.String())
	})
	for _, q := range []ctc.AlertQuery{
		{Type: ctc.Whale, Limit: 12},
		{Type: ctc.Whale, Limit: 1000},
		{Symbol: "BTC-USDT", Limit: 9},
		{Type: ctc.Whale, Symbol: "BTC-USDT", Limit: 7},
		{Limit: 25},
		{Limit: 1000, Since: tie},
	} {
		before := c.count("Query")
		got := query(t, st, q)
		var want []ctc.Alert
		for _, a := range live {
			if (q.Type == "" || a.AlertType == q.Type) && (q.Symbol == "" || a.Symbol == q.Symbol) && !a.DetectedAt.Before(q.Since) && len(want) < q.Limit {
				want = append(want, a)
			}
		}
		if diff := cmp.Diff(ids(want), ids(got)); diff != "" {
			t.Errorf("QueryAlerts(%+v) with 2-item pages (-want +got):\n%s", q, diff)
		}
		if pages := c.count("Query") - before; pages <= len(want)/2 {
			t.Errorf("QueryAlerts(%+v) read %d pages for %d alerts, want more than %d: paging is not exercised", q, pages, len(want), len(want)/2)
		}
	}
}

func TestIdempotentOnAlertID(t *testing.T) {
	t.Parallel()
	st := newStore(t, nil, dynamodb.Config{Now: func() time.Time { return testNow }})
	as := alerts(30, "idem")
	changed := slices.Clone(as[:10])
	for i := range changed {
		changed[i].Message, changed[i].Severity = "rewritten", ctc.Critical
	}
	// Twice in one batch (the last wins), and again in later batches.
	write(t, st, &ctc.Batch{Output: ctc.Output{Alerts: append(slices.Clone(as), changed...)}})
	write(t, st, &ctc.Batch{Output: ctc.Output{Alerts: changed}})
	got := query(t, st, ctc.AlertQuery{Limit: 100})
	want := append(slices.Clone(changed), as[10:]...)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("alerts after rewrites (-want +got):\n%s", diff)
	}
	client := awstest.DynamoDBClient(t)
	out, err := client.Scan(t.Context(), &ddb.ScanInput{TableName: aws.String(st.Config().AlertsTable), Select: types.SelectCount})
	if err != nil {
		t.Fatal(err)
	}
	if out.Count != 30 {
		t.Errorf("the table holds %d items, want one per alert_id = 30", out.Count)
	}
}

func TestRoundTripExact(t *testing.T) {
	t.Parallel()
	st := newStore(t, nil, dynamodb.Config{Now: func() time.Time { return time.Unix(0, 0) }})
	floats := []float64{0, math.Copysign(0, -1), math.NaN(), math.Inf(1), math.Inf(-1), math.SmallestNonzeroFloat64,
		math.MaxFloat64, -math.MaxFloat64, 1e-130, 1e-129, 1.0000000000000002e-129, 9e125, 1e125, 1e126, 0.1 + 0.2, 1.0 / 3,
		-2.2250738585072014e-308, 65_432.109_876_543_21, 1e21, 1e-8, 123456789012345678}
	times := []time.Time{
		{}, time.Unix(0, 1).UTC(), time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
		time.Date(2024, 2, 29, 12, 0, 0, 123_456_789, time.FixedZone("X", -7*3600-1800)),
	}
	var as []ctc.Alert
	var vs []ctc.VolumeWindow
	for i := range floats {
		f := func(j int) float64 { return floats[(i+j)%len(floats)] }
		tm := func(j int) time.Time { return times[(i+j)%len(times)] }
		sym := fmt.Sprint("SYM", i, "-USDT")
		as = append(as, ctc.Alert{
			AlertID: ctc.NewAlertID(ctc.Whale, ctc.Binance, sym, "exact"), AlertType: "tÿpe \"quoted\"\n", Symbol: sym,
			Severity: ctc.Severity(i % 5), ZScore: f(0), ThresholdValue: f(1), ActualValue: f(2),
			WindowStart: tm(1), DetectedAt: tm(0), EmittedAt: tm(2), TTLEpoch: math.MaxInt64 - int64(i), Message: []string{"", "ünïcode ✓", "\x00\x01"}[i%3],
			Exchange: []string{"", ctc.Binance}[i%2],
		})
		vs = append(vs, ctc.VolumeWindow{Symbol: sym, Exchange: ctc.Coinbase, WindowStart: tm(3), WindowEnd: time.Date(9000, 1, 1, 0, 0, 0, 7, time.UTC),
			TradeCount: math.MaxInt64 - int64(i), TotalVolume: f(3), AvgPrice: f(4), MaxPrice: f(5), MinPrice: f(6), BuyVolume: f(7), SellVolume: f(8)})
	}
	write(t, st, &ctc.Batch{Output: ctc.Output{Alerts: as, Volumes: vs}})
	bits := func(f float64) uint64 {
		if math.IsNaN(f) {
			return 0x7ff8000000000001 // every NaN is one NaN
		}
		return math.Float64bits(f)
	}
	exact := cmp.Options{cmp.Comparer(func(a, b float64) bool { return bits(a) == bits(b) }), cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })}
	for _, a := range as {
		got := query(t, st, ctc.AlertQuery{Symbol: a.Symbol, Limit: 10})
		if len(got) != 1 {
			t.Errorf("alert of %s: %d results", a.Symbol, len(got))
			continue
		}
		if diff := cmp.Diff(a, got[0], exact); diff != "" {
			t.Errorf("alert of %s does not round-trip (-written +read):\n%s", a.Symbol, diff)
		}
		if got[0].DetectedAt.Location() != time.UTC {
			t.Errorf("detected_at read back in %v, want UTC", got[0].DetectedAt.Location())
		}
	}
	for _, v := range vs {
		got, err := st.Volumes(t.Context(), v.Symbol, time.Time{})
		if err != nil || len(got) != 1 {
			t.Errorf("Volumes(%s): %d, %v", v.Symbol, len(got), err)
			continue
		}
		if diff := cmp.Diff(v, got[0], exact); diff != "" {
			t.Errorf("volume window of %s does not round-trip (-written +read):\n%s", v.Symbol, diff)
		}
	}
}

// aggregates returns volume windows of two symbols on two exchanges and spread windows of two
// instruments, a minute apart over the hour before testNow.
func aggregates() ([]ctc.VolumeWindow, []ctc.SpreadWindow) {
	var vs []ctc.VolumeWindow
	var ss []ctc.SpreadWindow
	for m := 60; m >= 1; m-- {
		start := testNow.Add(-time.Duration(m) * time.Minute)
		for _, sym := range []string{"ETH-USDT", "BTC-USDT"} {
			for _, ex := range []string{ctc.Coinbase, ctc.Binance} {
				vs = append(vs, ctc.VolumeWindow{Symbol: sym, Exchange: ex, WindowStart: start, WindowEnd: start.Add(time.Minute),
					TradeCount: int64(m), TotalVolume: float64(m) * 1000.5, AvgPrice: 100 + float64(m)/3, MaxPrice: 200, MinPrice: 50, BuyVolume: 600, SellVolume: 400.5})
			}
		}
		for _, inst := range []string{"ETH", "BTC"} {
			ss = append(ss, ctc.SpreadWindow{Symbol: inst, WindowStart: start, WindowEnd: start.Add(30 * time.Second),
				BinanceVWAP: 100 + float64(m), CoinbaseVWAP: 100, SpreadPct: float64(m)})
		}
	}
	return vs, ss
}

func TestAggregates(t *testing.T) {
	t.Parallel()
	var now atomic.Int64
	now.Store(testNow.UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()).UTC() }
	st := newStore(t, nil, dynamodb.Config{Now: clock, PageSize: 7})
	vs, ss := aggregates()
	// A rewritten window replaces the first version, in the same batch or a later one.
	stale := vs[5]
	stale.TradeCount = -1
	write(t, st, &ctc.Batch{Output: ctc.Output{Volumes: append([]ctc.VolumeWindow{stale}, vs[:100]...), Spreads: ss[:50]}})
	write(t, st, &ctc.Batch{Output: ctc.Output{Volumes: append(vs[100:], stale, vs[5]), Spreads: ss[50:]}})

	sortV := func(v []ctc.VolumeWindow) []ctc.VolumeWindow {
		v = slices.Clone(v)
		slices.SortFunc(v, func(a, b ctc.VolumeWindow) int {
			if c := a.WindowStart.Compare(b.WindowStart); c != 0 {
				return c
			}
			return strings.Compare(a.Symbol+"|"+a.Exchange, b.Symbol+"|"+b.Exchange)
		})
		return v
	}
	since := testNow.Add(-20 * time.Minute)
	for _, tc := range []struct {
		symbol string
		since  time.Time
	}{{"BTC-USDT", time.Time{}}, {"BTC-USDT", since}, {"", time.Time{}}, {"", since}, {"NOPE", time.Time{}}, {"BTC-USDT", time.Date(10001, 1, 1, 0, 0, 0, 0, time.UTC)}} {
		want := []ctc.VolumeWindow{}
		for _, v := range vs {
			if (tc.symbol == "" || v.Symbol == tc.symbol) && !v.WindowStart.Before(tc.since) {
				want = append(want, v)
			}
		}
		got, err := st.Volumes(t.Context(), tc.symbol, tc.since)
		if err != nil {
			t.Fatal(err)
		}
		if got == nil {
			t.Errorf("Volumes(%q) returned nil, want an empty slice", tc.symbol)
		}
		if diff := cmp.Diff(sortV(want), got, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
			t.Errorf("Volumes(%q, %v) (-want +got):\n%s", tc.symbol, tc.since, diff)
		}
	}
	for _, tc := range []struct {
		symbol string
		since  time.Time
	}{{"BTC", time.Time{}}, {"ETH", since}, {"", since}, {"BTC-USDT", time.Time{}}} {
		want := []ctc.SpreadWindow{}
		for _, w := range ss {
			if (tc.symbol == "" || w.Symbol == tc.symbol) && !w.WindowStart.Before(tc.since) {
				want = append(want, w)
			}
		}
		slices.SortStableFunc(want, func(a, b ctc.SpreadWindow) int {
			if c := a.WindowStart.Compare(b.WindowStart); c != 0 {
				return c
			}
			return strings.Compare(a.Symbol, b.Symbol)
		})
		got, err := st.Spreads(t.Context(), tc.symbol, tc.since)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) }), cmpEmpty); diff != "" {
			t.Errorf("Spreads(%q, %v) (-want +got):\n%s", tc.symbol, tc.since, diff)
		}
	}
	write(t, st, &ctc.Batch{Output: ctc.Output{Alerts: alerts(4, "symbols")}})
	symbols := func(when string, want ...string) {
		t.Helper()
		got, err := st.Symbols(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got, cmpEmpty); diff != "" {
			t.Errorf("Symbols %s (-want +got):\n%s", when, diff)
		}
	}
	symbols("now", "BTC", "BTC-USDT", "ETH", "ETH-USDT")

	// Expiry: a window lives until a day after its end; a registry entry an hour longer.
	now.Store(vs[0].WindowEnd.Add(ctc.AlertTTL).UnixNano()) // the first minute's windows expire
	got, err := st.Volumes(t.Context(), "BTC-USDT", time.Time{})
	if err != nil || len(got) != 59*2 {
		t.Errorf("Volumes a day after the first window ended: %d windows (%v), want 118", len(got), err)
	}
	now.Store(testNow.Add(ctc.AlertTTL).UnixNano())
	got, err = st.Volumes(t.Context(), "", time.Time{})
	if err != nil || len(got) != 0 {
		t.Errorf("Volumes a day after the last window ended: %d windows (%v), want none", len(got), err)
	}
	sp, err := st.Spreads(t.Context(), "", time.Time{})
	if err != nil || len(sp) != 0 {
		t.Errorf("Spreads a day after the last window ended: %d windows (%v), want none", len(sp), err)
	}
	now.Store(testNow.Add(ctc.AlertTTL + time.Hour + time.Minute).UnixNano())
	symbols("a day and an hour after everything expired")
}

var cmpEmpty = cmp.Comparer(func(a, b []string) bool { return slices.Equal(a, b) })

func TestNewAndConfig(t *testing.T) {
	t.Parallel()
	client := awstest.DynamoDBClient(t)
	if _, err := dynamodb.New(nil, dynamodb.Config{}); err == nil {
		t.Error("New(nil client) succeeded")
	}
	for _, cfg := range []dynamodb.Config{
		{PageSize: -1},
		{MaxAttempts: -2},
		{BaseBackoff: time.Second, MaxBackoff: time.Millisecond},
		{AlertsTable: "t", AggregatesTable: "t"},
	} {
		if _, err := dynamodb.New(client, cfg); err == nil {
			t.Errorf("New(%+v) succeeded, want an error", cfg)
		}
		if err := dynamodb.CreateTables(t.Context(), client, cfg); err == nil {
			t.Errorf("CreateTables(%+v) succeeded, want an error", cfg)
		}
	}
	st, err := dynamodb.New(client, dynamodb.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if c := st.Config(); c.AlertsTable != "coattail-alerts" || c.AggregatesTable != "coattail-aggregates" || c.Now == nil || c.MaxAttempts != dynamodb.DefaultMaxAttempts {
		t.Errorf("defaults: %+v", c)
	}
}

func TestCreateTables(t *testing.T) {
	t.Parallel()
	client := awstest.DynamoDBClient(t)
	cfg := dynamodb.Config{AlertsTable: awstest.Name(t, "alerts"), AggregatesTable: awstest.Name(t, "aggs")}
	for range 2 { // the second call finds the tables there
		if err := dynamodb.CreateTables(t.Context(), client, cfg); err != nil {
			t.Fatal(err)
		}
	}
	out, err := client.DescribeTable(t.Context(), &ddb.DescribeTableInput{TableName: aws.String(cfg.AlertsTable)})
	if err != nil {
		t.Fatal(err)
	}
	keys := func(ks []types.KeySchemaElement) string {
		var s []string
		for _, k := range ks {
			s = append(s, *k.AttributeName+":"+string(k.KeyType))
		}
		return strings.Join(s, ",")
	}
	tb := out.Table
	if got := keys(tb.KeySchema); got != "alert_id:HASH,detected_at:RANGE" {
		t.Errorf("alerts table key %s", got)
	}
	if tb.BillingModeSummary == nil || tb.BillingModeSummary.BillingMode != types.BillingModePayPerRequest {
		t.Errorf("alerts table billing %+v, want PAY_PER_REQUEST", tb.BillingModeSummary)
	}
	idx := map[string]string{}
	for _, x := range tb.GlobalSecondaryIndexes {
		idx[*x.IndexName] = keys(x.KeySchema) + " " + string(x.Projection.ProjectionType) + " " + string(x.IndexStatus)
	}
	want := map[string]string{
		"type-time-index":   "alert_type:HASH,detected_at:RANGE ALL ACTIVE",
		"symbol-time-index": "symbol:HASH,detected_at:RANGE ALL ACTIVE",
	}
	if diff := cmp.Diff(want, idx); diff != "" {
		t.Errorf("alerts table indexes (-want +got):\n%s", diff)
	}
	out, err = client.DescribeTable(t.Context(), &ddb.DescribeTableInput{TableName: aws.String(cfg.AggregatesTable)})
	if err != nil {
		t.Fatal(err)
	}
	if got := keys(out.Table.KeySchema); got != "series:HASH,sk:RANGE" {
		t.Errorf("aggregates table key %s", got)
	}
}
