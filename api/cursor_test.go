package api

import (
	"context"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"pgregory.net/rapid"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/incident"
	"github.com/coattailcapital/ctc/sink/memory"
)

type pageBody struct {
	Alerts []ctc.Alert `json:"alerts"`
	Count  int         `json:"count"`
	Next   *string     `json:"next"`
}

// Paging /alerts with next, while alerts keep arriving (at any time, ties included), returns
// every alert stored when the first page was read exactly once, in the store's order across
// pages, and nothing else but alerts written meanwhile: the model is the set stored at the
// first page.
func TestAlertsCursorModel(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	rapid.Check(t, func(rt *rapid.T) {
		store := memory.NewAlertStore(func() time.Time { return now })
		h := newTestHandler(t, Config{Store: store, Now: func() time.Time { return now }})
		n := 0
		gen := func(label string) ctc.Alert {
			n++
			at := now.Add(-time.Duration(rapid.IntRange(0, 40).Draw(rt, label)) * time.Minute) // many ties
			typ := rapid.SampledFrom([]ctc.AlertType{ctc.Whale, ctc.Spread}).Draw(rt, label+" type")
			return ctc.Alert{AlertID: uuid.NewSHA1(uuid.Nil, []byte(strconv.Itoa(n))), AlertType: typ, Symbol: "BTC-USDT",
				Exchange: ctc.Binance, Severity: ctc.High, DetectedAt: at, WindowStart: at, EmittedAt: at,
				TTLEpoch: at.Add(ctc.AlertTTL).Unix(), Message: "m"}
		}
		write := func(as ...ctc.Alert) {
			if err := store.Write(context.Background(), &ctc.Batch{Output: ctc.Output{Alerts: as}}); err != nil {
				rt.Fatal(err)
			}
		}
		var first []ctc.Alert
		for range rapid.IntRange(0, 60).Draw(rt, "stored") {
			first = append(first, gen("at"))
		}
		write(first...)
		typ := rapid.SampledFrom([]string{"", "whale"}).Draw(rt, "filter")
		limit := rapid.IntRange(1, 9).Draw(rt, "limit")
		model := map[uuid.UUID]bool{}
		for _, a := range first {
			if typ == "" || string(a.AlertType) == typ {
				model[a.AlertID] = true
			}
		}
		later := map[uuid.UUID]bool{}
		seen := map[uuid.UUID]bool{}
		var got []ctc.Alert
		cursor := ""
		for page := 0; ; page++ {
			v := url.Values{"limit": {strconv.Itoa(limit)}}
			if typ != "" {
				v.Set("type", typ)
			}
			if cursor != "" {
				v.Set("cursor", cursor)
			}
			r := get(t, h, "/alerts?"+v.Encode())
			if r.code != 200 {
				rt.Fatalf("page %d: %d %s", page, r.code, r.body)
			}
			b := decode[pageBody](t, r)
			for _, a := range b.Alerts {
				if seen[a.AlertID] {
					rt.Fatalf("page %d repeats %s", page, a.AlertID)
				}
				seen[a.AlertID] = true
				if !model[a.AlertID] && !later[a.AlertID] {
					rt.Fatalf("page %d has %s, which was never stored", page, a.AlertID)
				}
			}
			got = append(got, b.Alerts...)
			if (b.Next == nil) != (len(b.Alerts) < limit) {
				rt.Fatalf("page %d: %d alerts of %d, next %v", page, len(b.Alerts), limit, b.Next)
			}
			if b.Next == nil {
				break
			}
			cursor = *b.Next
			if page > 1000 {
				rt.Fatal("paging does not end")
			}
			for range rapid.IntRange(0, max(0, min(3, 30-page))).Draw(rt, "arrivals") { // concurrent inserts, for 30 pages
				a := gen("arrival")
				later[a.AlertID] = true
				write(a)
			}
		}
		for id := range model {
			if !seen[id] {
				rt.Fatalf("alert %s, stored at the first page, never came", id)
			}
		}
		if !slices.IsSortedFunc(got, func(a, b ctc.Alert) int {
			if c := b.DetectedAt.Compare(a.DetectedAt); c != 0 {
				return c
			}
			return slices.Compare(b.AlertID[:], a.AlertID[:])
		}) {
			rt.Fatal("the pages together are not newest first")
		}
	})
}

// A cursor not given by the API is a 400; the incidents view pages too.
func TestCursorErrorsAndIncidents(t *testing.T) {
	t.Parallel()
	h := newTestHandler(t, Config{})
	for _, c := range []string{"x", "bm90IGEgY3Vyc29y", "MTIzLjEyMw"} {
		if r := get(t, h, "/alerts?cursor="+url.QueryEscape(c)); r.code != 400 {
			t.Errorf("cursor %q: %d", c, r.code)
		}
	}
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	store := memory.NewAlertStore(func() time.Time { return now })
	var alerts []ctc.Alert
	for i, sym := range []string{"BTC", "ETH", "SOL", "DOGE"} {
		at := now.Add(-time.Duration(i) * time.Minute)
		alerts = append(alerts, ctc.Alert{AlertID: ctc.NewAlertID(ctc.Spread, "", sym, ctc.WindowKey(at)), AlertType: ctc.Spread, Symbol: sym,
			Severity: ctc.Medium, DetectedAt: at, WindowStart: at, TTLEpoch: at.Add(ctc.AlertTTL).Unix()})
	}
	_ = store.Write(context.Background(), &ctc.Batch{Output: ctc.Output{Alerts: alerts}})
	pol := incident.Policy{}
	h = newTestHandler(t, Config{Store: store, Now: func() time.Time { return now }, Incidents: &pol})
	var syms []string
	cursor := ""
	for range 10 {
		target := "/alerts?limit=3"
		if cursor != "" {
			target += "&cursor=" + cursor
		}
		b := decode[pageBody](t, get(t, h, target))
		for _, a := range b.Alerts {
			syms = append(syms, a.Symbol)
		}
		if b.Next == nil {
			break
		}
		cursor = *b.Next
	}
	if !slices.Equal(syms, []string{"BTC", "ETH", "SOL", "DOGE"}) {
		t.Errorf("incident pages: %v", syms)
	}
}
