package api

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/incident"
	"github.com/coattailcapital/ctc/sink/memory"
)

// With Config.Incidents, /alerts lists incidents: a spread open for 20 minutes (40 alerts) is one
// entry, still open, with its count and revision, and a whale 10 minutes after another of the same symbol
// opens a second; ?view=raw lists every alert. The entries are what incident.Group says.
func TestAlertsIncidentView(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	var alerts []ctc.Alert
	add := func(typ ctc.AlertType, sym string, at time.Time, sev ctc.Severity) {
		alerts = append(alerts, ctc.Alert{AlertID: ctc.NewAlertID(typ, ctc.Binance, sym, ctc.WindowKey(at)), AlertType: typ,
			Symbol: sym, Exchange: ctc.Binance, Severity: sev, WindowStart: at, DetectedAt: at, EmittedAt: at,
			TTLEpoch: at.Add(ctc.AlertTTL).Unix(), Message: string(typ)})
	}
	for i := range 40 {
		sev := ctc.Medium
		if i == 25 {
			sev = ctc.Critical
		}
		add(ctc.Spread, "BTC", now.Add(-25*time.Minute+time.Duration(i)*30*time.Second), sev)
	}
	add(ctc.Whale, "ETH-USDT", now.Add(-20*time.Minute), ctc.High)
	add(ctc.Whale, "ETH-USDT", now.Add(-10*time.Minute), ctc.High)
	store := memory.NewAlertStore(func() time.Time { return now })
	if err := store.Write(context.Background(), &ctc.Batch{Output: ctc.Output{Alerts: alerts}}); err != nil {
		t.Fatal(err)
	}
	pol := incident.Policy{}
	h := newTestHandler(t, Config{Store: store, Now: func() time.Time { return now }, Incidents: &pol})

	type entry struct {
		AlertID  string `json:"alert_id"`
		Severity string `json:"severity"`
		Incident *struct {
			ID       string `json:"id"`
			Revision int    `json:"revision"`
			Status   string `json:"status"`
			Open     bool   `json:"open"`
			Count    int    `json:"count"`
		} `json:"incident"`
	}
	type body struct {
		Alerts []entry `json:"alerts"`
		Count  int     `json:"count"`
		View   string  `json:"view"`
	}
	r := get(t, h, "/alerts")
	if r.code != http.StatusOK {
		t.Fatalf("%d %s", r.code, r.body)
	}
	got := decode[body](t, r)
	want, _ := incident.Group(alerts, pol, now)
	if got.View != "incidents" || got.Count != 3 || len(want) != 3 {
		t.Fatalf("view %q, %d entries (Group: %d), want 3 incidents: %s", got.View, got.Count, len(want), r.body)
	}
	for i, e := range got.Alerts {
		w := want[i]
		if e.Incident == nil || e.AlertID != w.ID.String() || e.Incident.ID != w.ID.String() || e.Incident.Count != w.Count ||
			e.Incident.Revision != int(w.Revision) || e.Incident.Status != w.Status.String() || e.Severity != w.Severity.String() {
			t.Errorf("entry %d: %+v %+v, want %+v", i, e, e.Incident, w)
		}
	}
	spread := got.Alerts[0] // newest last alert first: the spread's at −5.5 min, the whales at −10 and −20 min
	if spread.Incident.Count != 40 || spread.Severity != "critical" || !spread.Incident.Open || spread.Incident.Revision != 2 {
		t.Errorf("the spread incident: %+v %+v", spread, spread.Incident)
	}
	if e := got.Alerts[2]; e.Incident.Status != "closed" || e.Incident.Open {
		t.Errorf("the first whale's incident should be closed 20 min later: %+v", e.Incident)
	}

	raw := decode[body](t, get(t, h, "/alerts?view=raw&limit=200"))
	if raw.Count != len(alerts) || raw.View != "" || raw.Alerts[0].Incident != nil {
		t.Errorf("view=raw: %d alerts, want %d, without incidents", raw.Count, len(alerts))
	}
	if got := decode[body](t, get(t, h, "/alerts?type=whale&limit=1")); got.Count != 1 || got.Alerts[0].Incident.Count != 1 {
		t.Errorf("type=whale&limit=1: %+v", got)
	}
	if got := decode[body](t, get(t, h, "/alerts?since="+now.Add(-15*time.Minute).Format(time.RFC3339))); got.Count != 2 {
		t.Errorf("since 15 min ago: %d incidents, want the two with an alert since (the spread began before it)", got.Count)
	}
	if r := get(t, h, "/alerts?view=mine"); r.code != http.StatusBadRequest {
		t.Errorf("view=mine: %d", r.code)
	}
	plain := newTestHandler(t, Config{Store: store, Now: func() time.Time { return now }})
	if r := get(t, plain, "/alerts?view=incidents"); r.code != http.StatusBadRequest {
		t.Errorf("view=incidents without Config.Incidents: %d", r.code)
	}
	if r := get(t, plain, "/alerts?view=raw"); r.code != http.StatusOK {
		t.Errorf("view=raw without Config.Incidents: %d", r.code)
	}
}
