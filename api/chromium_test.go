package api

import (
	"bytes"
	"context"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/incident"
)

// The dashboard test drives Debian's headless Chromium against a real server. scripts/test.sh
// installs Chromium (scripts/ensure-chromium.sh) and sets CTC_REQUIRE_CHROMIUM=1, so that a
// missing browser fails the test command instead of skipping the check. CTC_WRITE_SCREENSHOT=1
// also writes docs/dashboard.png, the README's screenshot.

// chromium finds the browser, or fails or skips the test as the environment asks.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CTC_REQUIRE_CHROMIUM") == "1" {
		t.Fatal("chromium is not on PATH and CTC_REQUIRE_CHROMIUM=1: run scripts/ensure-chromium.sh to install Debian's chromium")
	}
	t.Skip("chromium is not on PATH (run scripts/ensure-chromium.sh, or set CTC_REQUIRE_CHROMIUM=1 to make this a failure)")
	return ""
}

// runChromium loads url in a fresh headless profile and returns what Chromium prints. The
// background-networking flags keep it from calling home, which on a machine without internet
// access would stall it; virtual time lets the page's 2 s polling run a few rounds in well under
// the budget's real duration.
func runChromium(t *testing.T, bin, url string, extra ...string) (stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	args := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
		"--no-first-run", "--no-default-browser-check", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--disable-extensions",
		"--disable-default-apps", "--metrics-recording-only", "--mute-audio", "--hide-scrollbars",
		"--enable-logging=stderr", "--v=0",
		"--user-data-dir=" + t.TempDir(),
		"--virtual-time-budget=5000",
	}
	args = append(args, extra...)
	args = append(args, url)
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v after %v\nstderr:\n%s", url, err, time.Since(start).Round(time.Millisecond), tail(errb.String(), 4000))
	}
	t.Logf("chromium %s %s: %v", strings.Join(extra, " "), url, time.Since(start).Round(time.Millisecond))
	return out.String(), errb.String()
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// consoleErrors returns the page's uncaught errors and console errors from Chromium's log.
func consoleErrors(stderr string) []string {
	var errs []string
	for line := range strings.Lines(stderr) {
		if strings.Contains(line, "Uncaught") || (strings.Contains(line, "CONSOLE") && strings.Contains(line, ":ERROR:")) {
			errs = append(errs, strings.TrimSpace(line))
		}
	}
	return errs
}

var rowRE = regexp.MustCompile(`<tr class="([^"]*)" data-alert-id="([^"]+)" data-type="([^"]+)">`)

type renderedRow struct{ class, id, typ string }

func rows(dom string) []renderedRow {
	var out []renderedRow
	for _, m := range rowRE.FindAllStringSubmatch(dom, -1) {
		out = append(out, renderedRow{m[1], m[2], m[3]})
	}
	return out
}

// element returns the serialized element that starts with open, up to the first close after it.
func element(t *testing.T, dom, open, close string) string {
	t.Helper()
	i := strings.Index(dom, open)
	if i < 0 {
		t.Fatalf("the page has no %s", open)
	}
	j := strings.Index(dom[i:], close)
	if j < 0 {
		t.Fatalf("%s is not closed by %s", open, close)
	}
	return dom[i : i+j+len(close)]
}

func TestDashboardInChromium(t *testing.T) {
	bin := chromium(t)
	start := time.Now()
	f := newFixture(time.Now())
	var alertPolls atomic.Int64
	// The page streams alerts; streams end after 300 ms so that Chromium's virtual time, which
	// waits while a request is open, moves on between them (the browser reconnects by itself).
	h := newTestHandler(t, Config{Store: f.store(t), Now: func() time.Time { return f.now }, Quality: testQuality,
		SpreadThreshold: 0.5, StreamPoll: 50 * time.Millisecond, StreamMaxAge: 300 * time.Millisecond})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/alerts" {
			alertPolls.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()

	t.Run("everything", func(t *testing.T) {
		dom, stderr := runChromium(t, bin, srv.URL+"/", "--dump-dom")
		if errs := consoleErrors(stderr); len(errs) > 0 {
			t.Errorf("the page logged errors:\n%s", strings.Join(errs, "\n"))
		}
		if !strings.Contains(dom, `data-state="live"`) {
			t.Errorf("the status is not live: %s", element(t, dom, `<div class="status"`, "</div>"))
		}

		// Every alert the API returns, newest first, with its severity's class.
		want := f.visible()
		got := rows(dom)
		if len(got) != len(want) {
			t.Fatalf("%d alert rows, want %d", len(got), len(want))
		}
		for i, a := range want {
			r := got[i]
			if r.id != a.AlertID.String() {
				t.Errorf("row %d is alert %s, want %s (%s)", i, r.id, a.AlertID, a.Message)
			}
			if !strings.Contains(" "+r.class+" ", " sev-"+a.Severity.String()+" ") || r.typ != string(a.AlertType) {
				t.Errorf("row %d: class %q type %q, want sev-%s and %s", i, r.class, r.typ, a.Severity, a.AlertType)
			}
		}
		// The hostile message is text: escaped in the DOM, no element made of it.
		tbody := element(t, dom, `<tbody id="alerts-body">`, "</tbody>")
		escaped := `<td class="message">` + html.EscapeString(hostileMessage)
		escaped = strings.ReplaceAll(escaped, "&#34;", `"`) // text nodes serialize quotes as they are
		if !strings.Contains(tbody, escaped+"</td>") {
			t.Errorf("the hostile message is not rendered as text; want %s in\n%s", escaped, tbody)
		}
		if strings.Contains(tbody, "<img") || strings.Contains(dom, `src="x"`) {
			t.Error("the hostile message became an element")
		}
		for _, cls := range []string{"sev-low", "sev-medium", "sev-high", "sev-critical"} {
			if !strings.Contains(tbody, `class="badge `+cls+`"`) {
				t.Errorf("no %s badge", cls)
			}
		}

		// Charts of the first symbol, the instrument BTC: a bar per volume window of each of its
		// markets, the spread line and its breaches.
		vol := element(t, dom, `<div class="chart" id="volume-chart">`, "</svg>")
		if n := strings.Count(vol, `<rect class="bar"`); n != 80 {
			t.Errorf("volume chart: %d bars, want 80 (one per 60 s window of BTC-USD and of BTC-USDT)", n)
		}
		spread := element(t, dom, `<div class="chart" id="spread-chart">`, "</svg>")
		if !strings.Contains(spread, `<path d="M`) || !strings.Contains(spread, `class="line"`) {
			t.Error("spread chart: no line")
		}
		if n := strings.Count(spread, `class="breach"`); n != 2 {
			t.Errorf("spread chart: %d breaches of ±0.5 %%, want 2", n)
		}

		// Cards: the quality score and the chart symbol's metrics.
		for _, want := range []string{
			`<p class="big good" id="quality-score">99.40 %</p>`,
			`9,940 of 10,000 records passed`,
			`<span id="m-symbol">BTC</span>`,
			`<p class="big" id="m-total">5</p>`,
			`<p class="big" id="m-spread">+1.210 %</p>`,
			`<p class="big" id="m-whale">$1.52M</p>`,
		} {
			if !strings.Contains(dom, want) {
				t.Errorf("the page does not show %s", want)
			}
		}
		if n := alertPolls.Load(); n < 1 {
			t.Errorf("the page fetched /alerts %d times", n)
		}
		if !strings.Contains(spread, "alert threshold ±0.5 %") {
			t.Error("spread chart: no threshold line from /spreads' threshold_pct")
		}
	})

	t.Run("filtered", func(t *testing.T) {
		dom, _ := runChromium(t, bin, srv.URL+"/?type=whale&symbol=btc-usdt", "--dump-dom")
		got := rows(dom)
		var want []ctc.Alert
		for _, a := range f.visible() {
			if a.AlertType == ctc.Whale && a.Symbol == "BTC-USDT" {
				want = append(want, a)
			}
		}
		if len(got) != len(want) {
			t.Fatalf("filtered: %d rows, want %d", len(got), len(want))
		}
		for i, a := range want {
			if got[i].id != a.AlertID.String() || got[i].typ != "whale" {
				t.Errorf("filtered row %d: %+v, want %s", i, got[i], a.AlertID)
			}
		}
		// The selects show the filter the URL gave, and the charts follow the symbol.
		if !strings.Contains(dom, `<span id="volume-title">BTC-USDT</span>`) {
			t.Error("the charts do not follow the symbol filter")
		}
	})

	t.Run("a detector's own alert type", func(t *testing.T) {
		at := f.now.Add(-2 * time.Minute)
		own := ctc.Alert{
			AlertID: ctc.NewAlertID("buy_pressure", ctc.Binance, "BTC-USDT", "1"), AlertType: "buy_pressure",
			Symbol: "BTC-USDT", Exchange: ctc.Binance, Severity: ctc.Medium, ActualValue: 0.93, ThresholdValue: 0.85,
			WindowStart: at.Add(-time.Minute), DetectedAt: at, Message: "buyers took 93 % of the window",
			TTLEpoch: at.Add(ctc.AlertTTL).Unix(), EmittedAt: at,
		}
		alerts := append([]ctc.Alert{own}, f.alerts...) // newest first
		store := newStore(t, func() time.Time { return f.now }, alerts, f.volumes, f.spreads)
		h := newTestHandler(t, Config{Store: store, Now: func() time.Time { return f.now }})
		srv := httptest.NewServer(h)
		defer srv.Close()
		dom, stderr := runChromium(t, bin, srv.URL+"/?type=buy_pressure", "--dump-dom")
		if errs := consoleErrors(stderr); len(errs) > 0 {
			t.Errorf("the page logged errors:\n%s", strings.Join(errs, "\n"))
		}
		got := rows(dom)
		if len(got) != 1 || got[0].typ != "buy_pressure" || got[0].id != own.AlertID.String() {
			t.Fatalf("rows %+v, want the one buy_pressure alert", got)
		}
		sel := element(t, dom, `<select id="f-type"`, "</select>")
		if !strings.Contains(sel, `<option value="buy_pressure">buy_pressure</option>`) {
			t.Errorf("the type filter does not offer the detector's type:\n%s", sel)
		}
	})

	t.Run("incidents view", func(t *testing.T) {
		// Five spread alerts 30 s apart are one open incident: one row, marked open with its count.
		var alerts []ctc.Alert
		for i := range 5 {
			at := f.now.Add(-3*time.Minute + time.Duration(i)*30*time.Second)
			alerts = append(alerts, ctc.Alert{AlertID: ctc.NewAlertID(ctc.Spread, "", "SOL", ctc.WindowKey(at)), AlertType: ctc.Spread,
				Symbol: "SOL", Severity: ctc.Medium, WindowStart: at, DetectedAt: at, EmittedAt: at, Message: "SOL spread 0.7 %",
				TTLEpoch: at.Add(ctc.AlertTTL).Unix()})
		}
		slices.Reverse(alerts) // newest first
		store := newStore(t, func() time.Time { return f.now }, alerts, f.volumes, f.spreads)
		h := newTestHandler(t, Config{Store: store, Now: func() time.Time { return f.now }, Incidents: &incident.Policy{}})
		srv := httptest.NewServer(h)
		defer srv.Close()
		dom, stderr := runChromium(t, bin, srv.URL+"/", "--dump-dom")
		if errs := consoleErrors(stderr); len(errs) > 0 {
			t.Errorf("the page logged errors:\n%s", strings.Join(errs, "\n"))
		}
		got := rows(dom)
		if len(got) != 1 || got[0].id != alerts[4].AlertID.String() {
			t.Fatalf("rows %+v, want one: the incident, under its first alert's id", got)
		}
		if !strings.Contains(dom, `<span class="incident open" title="incident `+alerts[4].AlertID.String()+`, revision 1">open · 5 alerts</span>`) {
			t.Errorf("the row does not show the open incident and its count:\n%s", element(t, dom, `<tbody id="alerts-body"`, "</tbody>"))
		}
	})

	t.Run("market clock", func(t *testing.T) {
		h := newTestHandler(t, Config{Store: f.store(t), Now: func() time.Time { return f.now }, Quality: testQuality,
			Market: func() Market {
				return Market{EventTime: time.Date(2026, 12, 6, 23, 10, 0, 0, time.UTC), Simulated: true, Speed: 10}
			}})
		srv := httptest.NewServer(h)
		defer srv.Close()
		dom, _ := runChromium(t, bin, srv.URL+"/", "--dump-dom")
		if st := element(t, dom, `<span id="status"`, "</span>"); !strings.Contains(st, "market time 23:10:00 UTC (simulated, 10×)") {
			t.Errorf("the status does not show the simulated market time: %s", st)
		}
	})

	t.Run("quality not configured", func(t *testing.T) {
		h := newTestHandler(t, Config{Store: f.store(t), Now: func() time.Time { return f.now }})
		srv := httptest.NewServer(h)
		defer srv.Close()
		dom, stderr := runChromium(t, bin, srv.URL+"/", "--dump-dom")
		if !strings.Contains(dom, `<div class="card" id="quality-card" hidden="">`) {
			t.Errorf("the quality card is not hidden: %s", element(t, dom, `id="quality-card"`, "</div>"))
		}
		if len(rows(dom)) != len(f.visible()) {
			t.Error("the alerts are not shown when /quality is 404")
		}
		if errs := consoleErrors(stderr); len(errs) > 0 {
			t.Logf("console (a 404 is expected here):\n%s", strings.Join(errs, "\n"))
		}
	})

	if os.Getenv("CTC_WRITE_SCREENSHOT") == "1" {
		path, err := filepath.Abs(filepath.Join("..", "docs", "dashboard.png"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		runChromium(t, bin, srv.URL+"/", "--screenshot="+path, "--window-size=1280,900")
		if fi, err := os.Stat(path); err != nil || fi.Size() < 10_000 {
			t.Fatalf("screenshot %s: %v", path, err)
		}
		t.Logf("wrote %s", path)
	}
	t.Logf("dashboard checks took %v", time.Since(start).Round(time.Millisecond))
}

// TestDashboardPushesAlerts: an alert raised after the page loaded appears without a reload,
// pushed through /alerts/stream.
func TestDashboardPushesAlerts(t *testing.T) {
	bin := chromium(t)
	f := newFixture(time.Now())
	store := f.store(t)
	h := newTestHandler(t, Config{Store: store, Now: func() time.Time { return f.now }, Quality: testQuality,
		StreamPoll: 20 * time.Millisecond, StreamMaxAge: 400 * time.Millisecond})
	late := ctc.Alert{AlertType: ctc.Whale, Exchange: ctc.Binance, Symbol: "BTC-USDT", Severity: ctc.Critical,
		DetectedAt: f.now, EmittedAt: f.now, TTLEpoch: f.now.Add(ctc.AlertTTL).Unix(), Message: "pushed after the page loaded"}
	late.AlertID = ctc.NewAlertID(ctc.Whale, late.Exchange, late.Symbol, "pushed")
	var streams atomic.Int64
	var mu sync.Mutex
	var pushedAt time.Time   // when a stream sent the late alert's event
	var listedAt []time.Time // when /alerts answered with the late alert
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/alerts/stream":
			if streams.Add(1) == 1 {
				// Raised while the page's first stream is open.
				time.AfterFunc(100*time.Millisecond, func() {
					_ = store.Write(context.Background(), &ctc.Batch{Output: ctc.Output{Alerts: []ctc.Alert{late}}})
				})
			}
			w = &tapWriter{ResponseWriter: w, tap: func(b []byte) {
				if bytes.Contains(b, []byte(late.AlertID.String())) {
					mu.Lock()
					if pushedAt.IsZero() {
						pushedAt = time.Now()
					}
					mu.Unlock()
				}
			}}
		case "/alerts":
			w = &tapWriter{ResponseWriter: w, tap: func(b []byte) {
				if bytes.Contains(b, []byte(late.AlertID.String())) {
					mu.Lock()
					listedAt = append(listedAt, time.Now())
					mu.Unlock()
				}
			}}
		}
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	dom, stderr := runChromium(t, bin, srv.URL+"/", "--dump-dom")
	if errs := consoleErrors(stderr); len(errs) > 0 {
		t.Errorf("the page logged errors:\n%s", strings.Join(errs, "\n"))
	}
	if streams.Load() == 0 {
		t.Fatal("the page never opened /alerts/stream")
	}
	got := rows(dom)
	if len(got) == 0 || got[0].id != late.AlertID.String() {
		t.Fatalf("the alert raised after load is not the first row (%d rows)", len(got))
	}
	// Pushed, not polled: the stream sent the alert before the page first listed it (the page
	// lists alerts on each stream event, and polls /alerts only while no stream is open).
	mu.Lock()
	defer mu.Unlock()
	if pushedAt.IsZero() || len(listedAt) == 0 || listedAt[0].Before(pushedAt) {
		t.Errorf("the alert was not pushed first: stream event at %v, listed at %v", pushedAt, listedAt)
	}
}

// tapWriter shows a handler's response bytes to tap, and passes Flush on (for event streams).
type tapWriter struct {
	http.ResponseWriter
	tap func([]byte)
}

func (w *tapWriter) Write(b []byte) (int, error) { w.tap(b); return w.ResponseWriter.Write(b) }
func (w *tapWriter) Flush()                      { w.ResponseWriter.(http.Flusher).Flush() }

// TestDashboardWithKeys: with API keys, the page without a session shows the sign-in form and no
// data; with the session cookie (set here on the page's own response, as POST /session would
// have set it), the browser carries it on every request, the event stream included, and the
// page shows the alerts.
func TestDashboardWithKeys(t *testing.T) {
	bin := chromium(t)
	f := newFixture(time.Now())
	h := newTestHandler(t, Config{Store: f.store(t), Now: func() time.Time { return f.now }, Quality: testQuality, Keys: []string{testKey}})

	t.Run("no session", func(t *testing.T) {
		srv := httptest.NewServer(h)
		defer srv.Close()
		dom, _ := runChromium(t, bin, srv.URL+"/", "--dump-dom")
		if !strings.Contains(dom, `<form class="login" id="login">`) {
			t.Errorf("the sign-in form is not shown:\n%s", element(t, dom, `<form class="login"`, "</form>"))
		}
		if n := len(rows(dom)); n != 0 {
			t.Errorf("%d alert rows shown without a key", n)
		}
		if !strings.Contains(dom, "Sign in with an API key") {
			t.Errorf("the status does not ask for a key: %s", element(t, dom, `<div class="status"`, "</div>"))
		}
	})

	t.Run("session cookie", func(t *testing.T) {
		var streamsWithCookie atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/" {
				rec := httptest.NewRecorder()
				req := httptest.NewRequest(http.MethodPost, "/session", nil)
				req.Header.Set("Authorization", "Bearer "+testKey)
				h.ServeHTTP(rec, req)
				w.Header()["Set-Cookie"] = rec.Header()["Set-Cookie"]
			}
			if _, err := r.Cookie(SessionCookie); err == nil && r.URL.Path == "/alerts/stream" {
				streamsWithCookie.Add(1)
			}
			h.ServeHTTP(w, r)
		}))
		defer srv.Close()
		dom, stderr := runChromium(t, bin, srv.URL+"/", "--dump-dom")
		if errs := consoleErrors(stderr); len(errs) > 0 {
			t.Errorf("the page logged errors:\n%s", strings.Join(errs, "\n"))
		}
		if !strings.Contains(dom, `<form class="login" id="login" hidden="">`) {
			t.Errorf("the sign-in form is shown with a session")
		}
		if len(rows(dom)) != len(f.visible()) {
			t.Errorf("%d rows, want %d", len(rows(dom)), len(f.visible()))
		}
		if streamsWithCookie.Load() == 0 {
			t.Error("the event stream was never opened with the session cookie")
		}
	})
}

// TestDashboardBearerWithoutSession: behind a gateway that checks a bearer token itself and has
// no /session (API Gateway's JWT authorizer), the dashboard keeps the token it was given in
// memory and sends it as a header on each request. The test types the token into the sign-in
// form with a script added to the page, as a person would.
func TestDashboardBearerWithoutSession(t *testing.T) {
	bin := chromium(t)
	f := newFixture(time.Now())
	h := newTestHandler(t, Config{Store: f.store(t), Now: func() time.Time { return f.now }, Quality: testQuality, NoStream: true})
	const token = "jwt-from-cognito-0123456789"
	var authorized atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/session":
			http.Error(w, `{"message":"Not Found"}`, http.StatusNotFound) // the gateway routes no /session
			return
		case r.URL.Path == "/" || strings.HasPrefix(r.URL.Path, "/static/"):
			if r.URL.Path == "/" {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, r)
				page := strings.Replace(rec.Body.String(), "</body>", `<script>
setTimeout(() => { document.getElementById("login-key").value = "`+token+`"; document.getElementById("login").requestSubmit(); }, 200);
</script></body>`, 1)
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				io.WriteString(w, page)
				return
			}
		case r.Header.Get("Authorization") != "Bearer "+token:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"message":"Unauthorized"}`)
			return
		default:
			authorized.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	dom, _ := runChromium(t, bin, srv.URL+"/", "--dump-dom")
	if !strings.Contains(dom, `<form class="login" id="login" hidden="">`) {
		t.Errorf("the sign-in form is still shown:\n%s", element(t, dom, `<form class="login"`, "</form>"))
	}
	if len(rows(dom)) != len(f.visible()) || authorized.Load() == 0 {
		t.Errorf("%d rows (want %d), %d requests with the token", len(rows(dom)), len(f.visible()), authorized.Load())
	}
}
