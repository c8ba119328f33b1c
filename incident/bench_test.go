package incident_test

import (
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/incident"
)

// One alert into a grouper holding 60 open incidents (20 symbols × 3 types), one every 10 s of
// event time on each key: the notifier's per-alert cost.
func BenchmarkObserve(b *testing.B) {
	syms := make([]string, 20)
	for i := range syms {
		syms[i] = string(rune('A'+i)) + "XX"
	}
	types := []ctc.AlertType{ctc.Whale, ctc.Spread, ctc.VolumeSpike}
	alerts := make([]ctc.Alert, 0, 6000)
	for i := range cap(alerts) {
		at := time.Duration(i/60) * 10 * time.Second
		a := alert(types[i%3], syms[(i/3)%20], at, ctc.Severity(1+i%4))
		alerts = append(alerts, a)
	}
	g, _ := incident.NewGrouper(incident.Policy{})
	var out []incident.Incident
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%len(alerts) == 0 {
			g, _ = incident.NewGrouper(incident.Policy{})
		}
		out = g.Observe(&alerts[i%len(alerts)], out[:0])
	}
}
