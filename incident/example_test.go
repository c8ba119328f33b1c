package incident_test

import (
	"fmt"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/incident"
)

// A spread that stays open for twelve minutes raises 24 alerts; people hear of it three times.
func ExampleGrouper() {
	g, _ := incident.NewGrouper(incident.Policy{Cooldown: 2 * time.Minute, Settle: time.Minute})
	start := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	var revs []incident.Incident
	for i := range 24 {
		at := start.Add(time.Duration(i) * 30 * time.Second)
		sev := ctc.Medium
		if i >= 6 {
			sev = ctc.High
		}
		a := ctc.Alert{AlertID: ctc.NewAlertID(ctc.Spread, "binance-coinbase", "BTC", ctc.WindowKey(at)),
			AlertType: ctc.Spread, Symbol: "BTC", Severity: sev, DetectedAt: at, Message: "spread 0.6%"}
		revs = g.Observe(&a, revs)
	}
	revs = g.Advance(start.Add(time.Hour), revs)
	for _, r := range revs {
		fmt.Printf("rev %d %-9s %s\n", r.Revision, r.Status, r.Summary())
	}
	// Output:
	// rev 1 opened    opened
	// rev 2 escalated escalated to high, 7 alerts since 12:00:00 UTC
	// rev 3 closed    closed at 12:13:30 UTC, 24 alerts since 12:00:00 UTC
}
