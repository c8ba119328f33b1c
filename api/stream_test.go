package api

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/sink/memory"
)

// event is one Server-Sent Event as a client reads it.
type event struct{ name, id, data string }

// readEvents reads events from an open stream into a channel until the body ends.
func readEvents(t *testing.T, res *http.Response) <-chan event {
	out := make(chan event, 64)
	go func() {
		defer close(out)
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		var e event
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if e.name != "" {
					out <- e
				}
				e = event{}
			case strings.HasPrefix(line, "event: "):
				e.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "id: "):
				e.id = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "data: "):
				e.data = strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return out
}

func openStream(t *testing.T, url, lastID string) (*http.Response, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/event-stream" {
		cancel()
		t.Fatalf("stream: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	return res, func() { cancel(); res.Body.Close() }
}

func streamAlert(n int, typ ctc.AlertType, at time.Time) ctc.Alert {
	a := ctc.Alert{AlertType: typ, Exchange: ctc.Binance, Symbol: "BTC-USDT", Severity: ctc.High,
		DetectedAt: at, EmittedAt: at, Message: "m", TTLEpoch: at.Add(ctc.AlertTTL).Unix()}
	a.AlertID = ctc.NewAlertID(typ, a.Exchange, a.Symbol, string(rune('a'+n)))
	return a
}

// The stream sends the alerts raised after it opened — including one detected out of order —
// with its filters, and a client reconnecting with Last-Event-ID gets what it missed, once.
func TestAlertStream(t *testing.T) {
	store := memory.NewAlertStore(time.Now)
	now := time.Now().UTC().Truncate(time.Millisecond)
	write := func(as ...ctc.Alert) {
		if err := store.Write(t.Context(), &ctc.Batch{Output: ctc.Output{Alerts: as}}); err != nil {
			t.Fatal(err)
		}
	}
	write(streamAlert(0, ctc.Whale, now.Add(-time.Minute))) // before the stream: not sent
	h, err := New(Config{Store: store, StreamPoll: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer srv.CloseClientConnections() // first: a failed test leaves streams open

	res, stop := openStream(t, srv.URL+"/alerts/stream?type=whale", "")
	events := readEvents(t, res)
	next := func() event {
		t.Helper()
		select {
		case e := <-events:
			return e
		case <-time.After(3 * time.Second):
			t.Fatal("no event within 3 s")
		}
		return event{}
	}
	write(streamAlert(1, ctc.Whale, now), streamAlert(2, ctc.Spread, now)) // the spread is filtered out
	e1 := next()
	if e1.name != "alert" || !strings.Contains(e1.data, streamAlert(1, ctc.Whale, now).AlertID.String()) {
		t.Fatalf("first event %+v", e1)
	}
	write(streamAlert(3, ctc.Whale, now.Add(-30*time.Second))) // detected out of order, after the stream saw a newer one
	e3 := next()
	if !strings.Contains(e3.data, streamAlert(3, ctc.Whale, now).AlertID.String()) {
		t.Fatalf("the late alert: %+v", e3)
	}
	stop()

	// Reconnect after e1 (as if e3 was lost), while a new alert arrives: e3 is older than e1's
	// cursor, so only the new one comes.
	write(streamAlert(4, ctc.Whale, now.Add(time.Second)))
	res, stop = openStream(t, srv.URL+"/alerts/stream?type=whale", e1.id)
	defer stop()
	events = readEvents(t, res)
	e4 := next()
	if !strings.Contains(e4.data, streamAlert(4, ctc.Whale, now).AlertID.String()) {
		t.Fatalf("after reconnecting: %+v", e4)
	}
	select {
	case e := <-events:
		t.Fatalf("an event sent twice or out of the filter: %+v", e)
	case <-time.After(200 * time.Millisecond):
	}
}

func TestAlertStreamRejectsBadRequests(t *testing.T) {
	h, err := New(Config{Store: memory.NewAlertStore(time.Now)})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ url, lastID string }{{"/alerts/stream?type=Nope!", ""}, {"/alerts/stream", "garbage"}} {
		req := httptest.NewRequest(http.MethodGet, c.url, nil)
		if c.lastID != "" {
			req.Header.Set("Last-Event-ID", c.lastID)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusBadRequest {
			t.Errorf("%s (Last-Event-ID %q): %d", c.url, c.lastID, rec.Code)
		}
	}
}

// A host that cannot stream answers 501 at once, so that the dashboard falls back to polling.
func TestAlertStreamRefusedWhereItCannotStream(t *testing.T) {
	h, err := New(Config{Store: memory.NewAlertStore(time.Now), NoStream: true})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/alerts/stream", nil))
	if rec.Code != http.StatusNotImplemented || !strings.Contains(rec.Body.String(), "poll /alerts") {
		t.Fatalf("%d %s", rec.Code, rec.Body.String())
	}
}
