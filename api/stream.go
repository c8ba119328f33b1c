package api

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// The stream's timing.
const (
	// DefaultStreamPoll is how often /alerts/stream asks the store for new alerts.
	DefaultStreamPoll = time.Second
	// StreamHeartbeat is how often a quiet stream sends a comment, so that proxies and browsers
	// keep the connection open and a dead one is noticed.
	StreamHeartbeat = 15 * time.Second
	// StreamLag is how far behind the newest alert the stream keeps looking, in event time:
	// detectors raise alerts out of detected_at order (a volume window closes after a whale of a
	// later second), and an alert that late is still sent once.
	StreamLag = 10 * time.Minute
)

// cursor orders alerts as the stream sends them: by detected_at, then alert id.
type cursor struct {
	at time.Time
	id uuid.UUID
}

func (c cursor) less(o cursor) bool {
	if c := c.at.Compare(o.at); c != 0 {
		return c < 0
	}
	return bytes.Compare(c.id[:], o.id[:]) < 0
}

// String is the event id: detected_at in Unix milliseconds, '.', the alert id.
func (c cursor) String() string { return strconv.FormatInt(c.at.UnixMilli(), 10) + "." + c.id.String() }

func parseCursor(s string) (cursor, bool) {
	ms, id, ok := strings.Cut(s, ".")
	if !ok {
		return cursor{}, false
	}
	n, err := strconv.ParseInt(ms, 10, 64)
	if err != nil {
		return cursor{}, false
	}
	u, err := uuid.Parse(id)
	if err != nil {
		return cursor{}, false
	}
	return cursor{time.UnixMilli(n).UTC(), u}, true
}

// GET /alerts/stream?type=&symbol= — Server-Sent Events: one "alert" event per new alert (data:
// the alert's JSON, id: its cursor), a comment every StreamHeartbeat. Without Last-Event-ID the
// stream sends the alerts raised after it opened; with it (a browser's EventSource sends it when it
// reconnects) the ones after that event, so a reconnect loses nothing the store still holds in
// detected_at order. An alert detected more than StreamLag out of order is sent while connected
// but not after a reconnect.
func (h *handler) serveAlertStream(w http.ResponseWriter, r *http.Request, _ string) int {
	q, e := parseAlertsQuery(r.URL.RawQuery, h.now())
	if e != nil {
		return writeError(w, http.StatusBadRequest, *e)
	}
	fl, ok := w.(http.Flusher)
	if !ok || h.noStream {
		return writeError(w, http.StatusNotImplemented, apiError{Message: "this server cannot stream: poll /alerts"})
	}
	q.Limit = MaxLimit
	seen := map[uuid.UUID]time.Time{}
	var from cursor // send alerts after it
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		c, ok := parseCursor(id)
		if !ok {
			return writeError(w, http.StatusBadRequest, apiError{Message: fmt.Sprintf("Last-Event-ID %s is not an event id of this stream", quoteTrunc(id))})
		}
		from = c
	} else {
		// Everything the store holds now counts as sent.
		q1 := q
		q1.Since = time.Time{}
		q1.Limit = 1
		newest, err := h.store.QueryAlerts(r.Context(), q1)
		if err != nil {
			return h.storeFailed(w, r, "/alerts/stream", err)
		}
		if len(newest) > 0 {
			from = cursor{newest[0].DetectedAt, newest[0].AlertID}
			q1.Since, q1.Limit = from.at.Add(-StreamLag), MaxLimit
			recent, err := h.store.QueryAlerts(r.Context(), q1)
			if err != nil {
				return h.storeFailed(w, r, "/alerts/stream", err)
			}
			for _, a := range recent {
				seen[a.AlertID] = a.DetectedAt
			}
		}
	}

	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	buf := []byte(": ctc alert stream\nretry: 2000\n\n")
	if _, err := w.Write(buf); err != nil {
		return http.StatusOK
	}
	fl.Flush()

	poll := time.NewTicker(h.streamPoll)
	defer poll.Stop()
	var maxAge <-chan time.Time
	if h.streamMaxAge > 0 {
		t := time.NewTimer(h.streamMaxAge)
		defer t.Stop()
		maxAge = t.C
	}
	lastWrite := time.Now()
	resuming := !from.at.IsZero() && len(seen) == 0
	for {
		select {
		case <-r.Context().Done():
			return http.StatusOK
		case <-maxAge:
			return http.StatusOK
		case <-poll.C:
		}
		newest := from.at
		for _, t := range seen {
			if t.After(newest) {
				newest = t
			}
		}
		q.Since = time.Time{}
		if !newest.IsZero() {
			q.Since = newest.Add(-StreamLag)
		}
		alerts, err := h.store.QueryAlerts(r.Context(), q)
		if err != nil {
			h.log.WarnContext(r.Context(), "api: /alerts/stream: store query failed; retrying", "err", err)
			continue
		}
		slices.Reverse(alerts) // oldest first
		buf = buf[:0]
		for i := range alerts {
			a := &alerts[i]
			if _, dup := seen[a.AlertID]; dup {
				continue
			}
			seen[a.AlertID] = a.DetectedAt
			c := cursor{a.DetectedAt, a.AlertID}
			if resuming && !from.less(c) {
				continue // the client had it before it reconnected
			}
			buf = append(buf, "event: alert\nid: "...)
			buf = append(buf, c.String()...)
			buf = append(buf, "\ndata: "...)
			buf = a.AppendJSON(buf)
			buf = append(buf, "\n\n"...)
		}
		resuming = false
		// Forget what has fallen behind the lag: it can no longer come back.
		for id, t := range seen {
			if t.Before(newest.Add(-2 * StreamLag)) {
				delete(seen, id)
			}
		}
		if len(buf) == 0 && time.Since(lastWrite) >= StreamHeartbeat {
			buf = append(buf, ": heartbeat\n\n"...)
		}
		if len(buf) > 0 {
			if _, err := w.Write(buf); err != nil {
				return http.StatusOK
			}
			fl.Flush()
			lastWrite = time.Now()
		}
	}
}
