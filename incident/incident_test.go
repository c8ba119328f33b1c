package incident_test

import (
	"cmp"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"pgregory.net/rapid"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/incident"
)

var t0 = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

func alert(typ ctc.AlertType, sym string, at time.Duration, sev ctc.Severity) ctc.Alert {
	d := t0.Add(at)
	return ctc.Alert{AlertID: ctc.NewAlertID(typ, "binance", sym, ctc.WindowKey(d)), AlertType: typ, Symbol: sym,
		Exchange: "binance", Severity: sev, DetectedAt: d, WindowStart: d, Message: string(typ) + " " + sym}
}

// A spread that stays open for 40 minutes, one alert every 30 s, becomes one incident with five
// revisions: opened, escalated, ongoing at 30 min, and closed after the cooldown and settle.
func TestPersistentSpread(t *testing.T) {
	t.Parallel()
	g, err := incident.NewGrouper(incident.Policy{})
	if err != nil {
		t.Fatal(err)
	}
	var revs []incident.Incident
	for i := range 80 {
		sev := ctc.High
		if i < 10 {
			sev = ctc.Medium
		}
		a := alert(ctc.Spread, "BTC", time.Duration(i)*30*time.Second, sev)
		revs = g.Observe(&a, revs)
	}
	revs = g.Advance(t0.Add(39*time.Minute+30*time.Second+incident.DefaultCooldown+incident.DefaultSettle-time.Nanosecond), revs)
	if len(revs) != 3 {
		t.Fatalf("before the settle: %d revisions, want opened, escalated, ongoing: %+v", len(revs), revs)
	}
	revs = g.Advance(t0.Add(39*time.Minute+30*time.Second+incident.DefaultCooldown+incident.DefaultSettle), revs)
	var got []string
	for _, r := range revs {
		got = append(got, r.Status.String())
		if r.ID != revs[0].ID {
			t.Fatalf("revision %d has id %s, want the incident's %s", r.Revision, r.ID, revs[0].ID)
		}
	}
	if want := []string{"opened", "escalated", "ongoing", "closed"}; !slices.Equal(got, want) {
		t.Fatalf("revisions %v, want %v", got, want)
	}
	last := revs[len(revs)-1]
	if last.Revision != 4 || last.Count != 80 || last.Severity != ctc.High ||
		!last.ClosedAt.Equal(t0.Add(39*time.Minute+30*time.Second+incident.DefaultCooldown)) {
		t.Fatalf("closed revision %+v", last)
	}
	a := last.Alert()
	if a.AlertID != last.ID || a.Severity != ctc.High || !a.WindowStart.Equal(t0) {
		t.Fatalf("as an alert: %+v", a)
	}
}

// A gap of the cooldown opens a new incident; other keys are independent.
func TestGapAndKeys(t *testing.T) {
	t.Parallel()
	alerts := []ctc.Alert{
		alert(ctc.Whale, "BTC", 0, ctc.High),
		alert(ctc.Whale, "ETH", time.Minute, ctc.High),
		alert(ctc.Whale, "BTC", 4*time.Minute, ctc.High),
		alert(ctc.VolumeSpike, "BTC", 5*time.Minute, ctc.Low),
		alert(ctc.Whale, "BTC", 9*time.Minute, ctc.High), // exactly the cooldown after 4 min: new
	}
	view, err := incident.Group(alerts, incident.Policy{}, t0.Add(10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(view) != 4 {
		t.Fatalf("%d incidents, want 4: %+v", len(view), view)
	}
	var open, closed int
	for _, in := range view {
		if in.Open() {
			open++
		} else {
			closed++
		}
	}
	if open != 2 || closed != 2 {
		t.Fatalf("open %d closed %d, want 2 and 2 (ETH's whale and BTC's whales of 0–4 min are closed by 10 min)", open, closed)
	}
}

// model is the plain batch computation: per key, alerts sorted by event time, split where one
// comes the cooldown or more after the previous; revisions counted by walking each run.
type modelIncident struct {
	id       uuid.UUID
	count    int
	sev      ctc.Severity
	first    time.Time
	last     time.Time
	revision uint32
	closed   bool
}

func model(alerts []ctc.Alert, p incident.Policy, now time.Time) map[uuid.UUID]modelIncident {
	type key struct {
		t ctc.AlertType
		s string
	}
	by := map[key][]ctc.Alert{}
	for _, a := range alerts {
		by[key{a.AlertType, a.Symbol}] = append(by[key{a.AlertType, a.Symbol}], a)
	}
	out := map[uuid.UUID]modelIncident{}
	for k, as := range by {
		slices.SortFunc(as, func(a, b ctc.Alert) int {
			return cmp.Or(a.DetectedAt.Compare(b.DetectedAt), slices.Compare(a.AlertID[:], b.AlertID[:]))
		})
		cool := p.CooldownOf(k.t)
		var cur *modelIncident
		var reminded int64
		flush := func(gap bool) { // a gap closes the incident before it; otherwise event time must
			if cur != nil {
				if gap || !now.Before(cur.last.Add(cool+incident.DefaultSettle)) {
					cur.closed = true
					cur.revision++
				}
				out[cur.id] = *cur
			}
		}
		for _, a := range as {
			if cur != nil && a.DetectedAt.Sub(cur.last) >= cool {
				flush(true)
				cur = nil
			}
			if cur == nil {
				cur = &modelIncident{id: a.AlertID, count: 1, sev: a.Severity, first: a.DetectedAt, last: a.DetectedAt, revision: 1}
				reminded = 0
				continue
			}
			cur.count++
			cur.last = a.DetectedAt
			rev := false
			if due := int64(a.DetectedAt.Sub(cur.first) / incident.DefaultRemind); due > reminded {
				reminded, rev = due, true
			}
			if a.Severity > cur.sev {
				cur.sev, rev = a.Severity, true
			}
			if rev {
				cur.revision++
			}
		}
		flush(false)
	}
	return out
}

// The streaming Grouper — fed alerts in event-time order, advanced at random in between (never
// past an alert yet to come), snapshotted and restored at random — ends with the same incidents
// as Group and as the plain model, and every revision it emits counts up by one per incident.
func TestGrouperMatchesBatch(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		p := incident.Policy{}
		if rapid.Bool().Draw(t, "per-type cooldown") {
			p.Cooldowns = map[ctc.AlertType]time.Duration{ctc.Whale: time.Minute}
		}
		n := rapid.IntRange(0, 200).Draw(t, "n")
		var alerts []ctc.Alert
		at := time.Duration(0)
		for i := range n {
			at += time.Duration(rapid.Int64Range(0, int64(8*time.Minute)).Draw(t, "gap")) / time.Second * time.Second
			a := alert(rapid.SampledFrom([]ctc.AlertType{ctc.Whale, ctc.Spread, ctc.VolumeSpike}).Draw(t, "type"),
				rapid.SampledFrom([]string{"BTC", "ETH"}).Draw(t, "symbol"), at,
				ctc.Severity(rapid.IntRange(1, 4).Draw(t, "severity")))
			a.AlertID = uuid.NewSHA1(uuid.Nil, []byte{byte(i), byte(i >> 8)}) // distinct even at one time
			alerts = append(alerts, a)
		}
		slices.SortFunc(alerts, func(a, b ctc.Alert) int { // a pipeline's order: event time, then id
			return cmp.Or(a.DetectedAt.Compare(b.DetectedAt), slices.Compare(a.AlertID[:], b.AlertID[:]))
		})
		end := t0.Add(at + time.Duration(rapid.Int64Range(0, int64(20*time.Minute)).Draw(t, "tail")))

		g, _ := incident.NewGrouper(p)
		var revs []incident.Incident
		for i := range alerts {
			if rapid.Bool().Draw(t, "advance") {
				lo := t0
				if i > 0 {
					lo = alerts[i-1].DetectedAt
				}
				span := alerts[i].DetectedAt.Sub(lo)
				revs = g.Advance(lo.Add(time.Duration(rapid.Int64Range(0, int64(span)).Draw(t, "to"))), revs)
			}
			if rapid.Bool().Draw(t, "snapshot") {
				b, err := g.Snapshot()
				if err != nil {
					t.Fatal(err)
				}
				g, _ = incident.NewGrouper(p)
				if err := g.Restore(b); err != nil {
					t.Fatal(err)
				}
			}
			revs = g.Observe(&alerts[i], revs)
		}
		revs = g.Advance(end, revs)

		lastRev := map[uuid.UUID]incident.Incident{}
		for _, r := range revs {
			if prev, ok := lastRev[r.ID]; (ok && r.Revision != prev.Revision+1) || (!ok && (r.Revision != 1 || r.Status != incident.Opened)) {
				t.Fatalf("incident %s: revision %d (%s) after %d", r.ID, r.Revision, r.Status, prev.Revision)
			}
			lastRev[r.ID] = r
		}
		view, err := incident.Group(alerts, p, end)
		if err != nil {
			t.Fatal(err)
		}
		want := model(alerts, p, end)
		if len(view) != len(want) || len(lastRev) != len(want) {
			t.Fatalf("incidents: view %d, stream %d, model %d", len(view), len(lastRev), len(want))
		}
		for _, in := range view {
			m, ok := want[in.ID]
			if !ok {
				t.Fatalf("view has incident %s the model has not", in.ID)
			}
			if in.Count != m.count || in.Severity != m.sev || !in.First.Equal(m.first) || !in.Last.Equal(m.last) ||
				in.Revision != m.revision || in.Open() == m.closed {
				t.Fatalf("incident %s: view %+v, model %+v", in.ID, in, m)
			}
			if s := lastRev[in.ID]; s.Revision != in.Revision || s.Status != in.Status {
				t.Fatalf("incident %s: stream ended at revision %d %s, view %d %s", in.ID, s.Revision, s.Status, in.Revision, in.Status)
			}
		}
	})
}

func TestPolicyValidate(t *testing.T) {
	t.Parallel()
	for _, p := range []incident.Policy{{Cooldown: -1}, {Settle: -time.Second}, {Cooldowns: map[ctc.AlertType]time.Duration{ctc.Whale: 0}}} {
		if _, err := incident.NewGrouper(p); err == nil {
			t.Errorf("%+v: no error", p)
		}
	}
}

func FuzzRestore(f *testing.F) {
	g, _ := incident.NewGrouper(incident.Policy{})
	a := alert(ctc.Whale, "BTC", 0, ctc.High)
	g.Observe(&a, nil)
	b, _ := g.Snapshot()
	f.Add(b)
	f.Add([]byte(`{"v":1,"open":[{"revision":0}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		g, _ := incident.NewGrouper(incident.Policy{})
		if err := g.Restore(b); err != nil {
			return
		}
		a := alert(ctc.Whale, "BTC", time.Hour, ctc.High)
		g.Observe(&a, nil)
		g.Advance(ctc.EndOfTime, nil)
		if _, err := g.Snapshot(); err != nil {
			t.Fatal(err)
		}
	})
}
