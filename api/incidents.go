package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/incident"
)

// incidentReach bounds the alerts /alerts reads to group them: the hot store's retention before
// since (an incident that began up to a day before it is grouped from its first alert), and at
// most incidentFetch alerts, newest first (beyond them the oldest incidents may start late).
const (
	incidentReach = ctc.AlertTTL
	incidentFetch = 5000
)

// serveIncidents answers /alerts in the incidents view: the alerts of the query's type and symbol
// from incidentReach before since, grouped, the incidents with an alert since since, newest
// first, as many as the limit. Each is its latest revision as incident.Incident.AppendJSON
// writes it (the alert fields, then "incident"); an incident is closed when the API's clock is
// past its last alert + cooldown + settle.
func (h *handler) serveIncidents(w http.ResponseWriter, r *http.Request, q ctc.AlertQuery, now time.Time) int {
	since, limit, cursor := q.Since, q.Limit, q.Before
	q.Since, q.Limit, q.Before = since.Add(-incidentReach), incidentFetch, ctc.AlertKey{}
	if since.IsZero() {
		q.Since = since
	}
	alerts, err := h.store.QueryAlerts(r.Context(), q)
	if err != nil {
		return h.storeFailed(w, r, "/alerts", err)
	}
	view, err := incident.Group(alerts, *h.incidents, now)
	if err != nil {
		return h.storeFailed(w, r, "/alerts", err)
	}
	// The view is ordered by (last alert, id), newest first: a cursor is such a key.
	n := 0
	for _, in := range view {
		if !in.Last.Before(since) && n < limit && cursor.After(&ctc.Alert{DetectedAt: in.Last, AlertID: in.ID}) {
			view[n] = in
			n++
		}
	}
	view = view[:n]
	var next *ctc.AlertKey
	if n == limit && n > 0 {
		next = &ctc.AlertKey{DetectedAt: view[n-1].Last, AlertID: view[n-1].ID}
	}
	return respond(w, func(b []byte) []byte {
		b = append(b, `{"alerts":[`...)
		for i := range view {
			if i > 0 {
				b = append(b, ',')
			}
			b = view[i].AppendJSON(b)
		}
		b = append(b, `],"count":`...)
		b = strconv.AppendInt(b, int64(len(view)), 10)
		return append(appendNext(b, next), `,"view":"incidents"}`...)
	})
}
