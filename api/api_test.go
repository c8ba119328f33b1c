package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/quality"
)

var testNow = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)

func testQuality() quality.Stats {
	return quality.Stats{Processed: 10_000, Passed: 9_940, Failed: 48, Duplicate: 12, Late: 7, Warnings: 3,
		FailedByReason: map[ctc.Reason]int64{ctc.Malformed: 20, ctc.Incomplete: 8, ctc.Invalid: 20}, QualityScore: 99.4}
}

func newTestHandler(t testing.TB, cfg Config) http.Handler {
	t.Helper()
	if cfg.Store == nil {
		cfg.Store = newFixture(testNow).store(t)
	}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return testNow }
	}
	if cfg.StreamMaxAge == 0 {
		// Streams end soon, so that headless Chromium's virtual time (which waits while a request
		// is open) moves on; the page reconnects by itself.
		cfg.StreamPoll, cfg.StreamMaxAge = 50*time.Millisecond, 300*time.Millisecond
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

type response struct {
	code   int
	header http.Header
	body   []byte
}

func do(t testing.TB, h http.Handler, method, target string, hdr ...string) response {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return response{rec.Code, rec.Header(), rec.Body.Bytes()}
}

func get(t testing.TB, h http.Handler, target string) response {
	return do(t, h, http.MethodGet, target)
}

func decode[T any](t testing.TB, r response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("body is not the JSON expected: %v\n%s", err, r.body)
	}
	return v
}

type alertsBody struct {
	Alerts []ctc.Alert `json:"alerts"`
	Count  int         `json:"count"`
}

func TestAlerts(t *testing.T) {
	t.Parallel()
	f := newFixture(testNow)
	h := newTestHandler(t, Config{Store: f.store(t)})
	vis := f.visible()
	filter := func(keep func(a ctc.Alert) bool) []ctc.Alert {
		var out []ctc.Alert
		for _, a := range vis {
			if keep(a) {
				out = append(out, a)
			}
		}
		return out
	}
	tests := []struct {
		query string
		want  []ctc.Alert
	}{
		{"", vis},
		{"?limit=3", vis[:3]},
		{"?limit=200", vis},
		{"?type=whale", filter(func(a ctc.Alert) bool { return a.AlertType == ctc.Whale })},
		{"?type=spread&limit=1", vis[1:2]},
		{"?symbol=eth-usd", filter(func(a ctc.Alert) bool { return a.Symbol == "ETH-USD" })},
		{"?symbol=BTC-USDT&type=volume_spike", filter(func(a ctc.Alert) bool { return a.Symbol == "BTC-USDT" && a.AlertType == ctc.VolumeSpike })},
		{"?since=" + testNow.Add(-3*time.Minute).Format(time.RFC3339), vis[:3]},
		{"?since=" + strings.Replace(testNow.Add(-3*time.Minute).In(time.FixedZone("", 7200)).Format(time.RFC3339), "+", "%2B", 1), vis[:3]},
		{"?since=" + testNow.Add(-3*time.Minute).In(time.FixedZone("", 7200)).Format(time.RFC3339), vis[:3]}, // '+' unescaped: arrives as a space
		{"?since=2000-01-01T00:00:00Z", f.alerts[:len(f.alerts)-1]},                                          // older than 24 h, never the expired one
		{"?type=&symbol=&limit=&since=", vis},                                                                // empty values are defaults
		{"?symbol=DOGE-USD", nil},
	}
	for _, tt := range tests {
		r := get(t, h, "/alerts"+tt.query)
		if r.code != http.StatusOK {
			t.Errorf("GET /alerts%s: status %d, want 200: %s", tt.query, r.code, r.body)
			continue
		}
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("GET /alerts%s: Content-Type %q", tt.query, ct)
		}
		got := decode[alertsBody](t, r)
		if got.Count != len(got.Alerts) {
			t.Errorf("GET /alerts%s: count %d for %d alerts", tt.query, got.Count, len(got.Alerts))
		}
		if diff := cmp.Diff(tt.want, got.Alerts, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("GET /alerts%s: alerts differ (-want +got):\n%s", tt.query, diff)
		}
		if tt.query == "" && !bytes.Contains(r.body, []byte(`\u003cimg src=x onerror=alert(1)\u003e \u0026 \"quotes\"`)) {
			t.Errorf("the hostile message is not escaped as the ctc encoder escapes it:\n%s", r.body)
		}
	}
	if !bytes.HasPrefix(get(t, h, "/alerts?limit=1").body, []byte(`{"alerts":[{"alert_id":"`)) {
		t.Error("alerts are not written with their own encoder")
	}
}

func TestAlertsDefaults(t *testing.T) {
	t.Parallel()
	st := &recordingStore{Store: newFixture(testNow).store(t)}
	h := newTestHandler(t, Config{Store: st})
	get(t, h, "/alerts")
	want := ctc.AlertQuery{Limit: 50, Since: testNow.Add(-24 * time.Hour)}
	if diff := cmp.Diff([]ctc.AlertQuery{want}, st.queries); diff != "" {
		t.Errorf("default query (-want +got):\n%s", diff)
	}
}

func TestBadParameters(t *testing.T) {
	t.Parallel()
	h := newTestHandler(t, Config{})
	tests := []struct {
		target, param, allowed string
		msg                    string // a part of the message
	}{
		{"/alerts?limit=500", "limit", "1..200", "limit must be 1..200, got 500"},
		{"/alerts?limit=0", "limit", "1..200", "limit must be 1..200, got 0"},
		{"/alerts?limit=ten", "limit", "1..200", `limit must be an integer 1..200, got "ten"`},
		{"/alerts?limit=99999999999999999999", "limit", "1..200", "limit must be an integer"},
		{"/alerts?type=Whale!", "type", typeAllowed, `type must be an alert type: 1 to 64 lower-case letters, digits or '_', starting with a letter (volume_spike, whale, spread, or a detector's own), got "Whale!"`},
		{"/alerts?type=" + strings.Repeat("a", 65), "type", typeAllowed, "type must be an alert type"},
		{"/alerts?since=yesterday", "since", sinceAllowed, `since must be an RFC 3339 time`},
		{"/alerts?since=2024-13-01T00:00:00Z", "since", sinceAllowed, "since must be"},
		{"/alerts?symbol=%3Cscript%3E", "symbol", symbolAllowed, `\u003cscript\u003e`},
		{"/alerts?symbol=" + strings.Repeat("A", 33), "symbol", symbolAllowed, "symbol must be"},
		{"/alerts?symbol=-USD", "symbol", symbolAllowed, "symbol must be"},
		{"/alerts?sort=asc", "sort", "type, symbol, limit, since, view, cursor", `unknown parameter "sort": this endpoint takes type, symbol, limit, since, view, cursor`},
		{"/alerts?limit=5&limit=6", "limit", "one value", "limit is given more than once"},
		{"/alerts?limit=%zz", "limit", "a percent-encoded value", "not a valid URL query escape"},
		{"/alerts?%zz=1", "%zz", "type, symbol, limit, since, view, cursor", "parameter name"},
		{"/alerts?type;limit=5", "type;limit", "type, symbol, limit, since, view, cursor", "unknown parameter"},
		{"/volumes", "symbol", symbolAllowed, "symbol is required"},
		{"/volumes?symbol=BTC-USDT&limit=5", "limit", "symbol, since", "unknown parameter"},
		{"/spreads?symbol=BTC&since=now", "since", sinceAllowed, "since must be"},
		{"/metrics/", "symbol", symbolAllowed, "give one symbol in the path"},
		{"/metrics", "symbol", symbolAllowed, "give one symbol in the path"},
		{"/metrics/BTC%2FUSD", "symbol", symbolAllowed, "give one symbol in the path"},
		{"/metrics/B%20TC", "symbol", symbolAllowed, "symbol must be"},
		{"/metrics/BTC?window=5m", "window", "no parameters", "this endpoint takes no parameters"},
		{"/healthz?verbose=1", "verbose", "no parameters", "takes no parameters"},
		{"/symbols?x", "x", "no parameters", "takes no parameters"},
	}
	for _, tt := range tests {
		r := get(t, h, tt.target)
		if r.code != http.StatusBadRequest {
			t.Errorf("GET %s: status %d, want 400: %s", tt.target, r.code, r.body)
			continue
		}
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("GET %s: Content-Type %q", tt.target, ct)
		}
		e := decode[apiError](t, r)
		if e.Parameter != tt.param || e.Allowed != tt.allowed {
			t.Errorf("GET %s: parameter %q allowed %q, want %q and %q", tt.target, e.Parameter, e.Allowed, tt.param, tt.allowed)
		}
		if !strings.Contains(string(r.body), tt.msg) && !strings.Contains(e.Message, tt.msg) {
			t.Errorf("GET %s: message %q does not say %q", tt.target, e.Message, tt.msg)
		}
	}
	// The exact body the issue asks for.
	r := get(t, h, "/alerts?limit=500")
	if want := `{"error":"limit must be 1..200, got 500","parameter":"limit","allowed":"1..200"}`; string(r.body) != want {
		t.Errorf("body %s, want %s", r.body, want)
	}
}

type metricsBody struct {
	Symbol            string             `json:"symbol"`
	Instrument        string             `json:"instrument"`
	AsOf              time.Time          `json:"as_of"`
	Since             time.Time          `json:"since"`
	Volumes           []ctc.VolumeWindow `json:"volumes"`
	Spread            *ctc.SpreadWindow  `json:"spread"`
	AlertCounts       map[string]int     `json:"alert_counts"`
	AlertCountsCapped bool               `json:"alert_counts_capped"`
	LastWhale         *ctc.Alert         `json:"last_whale"`
}

func TestMetricsSymbol(t *testing.T) {
	t.Parallel()
	f := newFixture(testNow)
	h := newTestHandler(t, Config{Store: f.store(t)})
	lastVol := func(sym string) ctc.VolumeWindow {
		var v ctc.VolumeWindow
		for _, w := range f.volumes {
			if w.Symbol == sym {
				v = w
			}
		}
		return v
	}
	lastSpread := f.spreads[len(f.spreads)-1]
	tests := []struct {
		path string
		want metricsBody
	}{
		{"/metrics/BTC-USDT", metricsBody{
			Symbol: "BTC-USDT", Instrument: "BTC",
			Volumes:     []ctc.VolumeWindow{lastVol("BTC-USDT")},
			Spread:      &lastSpread,
			AlertCounts: map[string]int{"volume_spike": 1, "whale": 1, "spread": 2},
			LastWhale:   &f.alerts[0],
		}},
		{"/metrics/btc-usd", metricsBody{
			Symbol: "BTC-USD", Instrument: "BTC",
			Volumes:     []ctc.VolumeWindow{lastVol("BTC-USD")},
			Spread:      &lastSpread,
			AlertCounts: map[string]int{"volume_spike": 0, "whale": 1, "spread": 2},
			LastWhale:   &f.alerts[6],
		}},
		{"/metrics/BTC", metricsBody{ // a bare instrument covers both of its symbols
			Symbol: "BTC", Instrument: "BTC",
			Volumes:     []ctc.VolumeWindow{lastVol("BTC-USD"), lastVol("BTC-USDT")},
			Spread:      &lastSpread,
			AlertCounts: map[string]int{"volume_spike": 1, "whale": 2, "spread": 2},
			LastWhale:   &f.alerts[0],
		}},
		{"/metrics/ETH-USD", metricsBody{
			Symbol: "ETH-USD", Instrument: "ETH",
			Volumes:     []ctc.VolumeWindow{lastVol("ETH-USD")},
			AlertCounts: map[string]int{"volume_spike": 1, "whale": 1, "spread": 0},
			LastWhale:   &f.alerts[3],
		}},
		{"/metrics/NOPE-USD", metricsBody{ // unknown: the same shape, empty
			Symbol: "NOPE-USD", Instrument: "NOPE",
			Volumes:     []ctc.VolumeWindow{},
			AlertCounts: map[string]int{"volume_spike": 0, "whale": 0, "spread": 0},
		}},
	}
	for _, tt := range tests {
		r := get(t, h, tt.path)
		if r.code != http.StatusOK {
			t.Errorf("GET %s: status %d: %s", tt.path, r.code, r.body)
			continue
		}
		got := decode[metricsBody](t, r)
		tt.want.AsOf, tt.want.Since = testNow, testNow.Add(-24*time.Hour)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("GET %s (-want +got):\n%s", tt.path, diff)
		}
		if tt.want.Spread == nil && !bytes.Contains(r.body, []byte(`"spread":null`)) {
			t.Errorf("GET %s: no spread should be written as null: %s", tt.path, r.body)
		}
	}
}

func TestSeries(t *testing.T) {
	t.Parallel()
	f := newFixture(testNow)
	h := newTestHandler(t, Config{Store: f.store(t)})

	type volumesBody struct {
		Symbol  string             `json:"symbol"`
		Since   time.Time          `json:"since"`
		Volumes []ctc.VolumeWindow `json:"volumes"`
		Count   int                `json:"count"`
	}
	var want []ctc.VolumeWindow
	for _, v := range f.volumes {
		if v.Symbol == "BTC-USDT" {
			want = append(want, v)
		}
	}
	got := decode[volumesBody](t, get(t, h, "/volumes?symbol=BTC-USDT"))
	if diff := cmp.Diff(volumesBody{"BTC-USDT", testNow.Add(-time.Hour), want, len(want)}, got); diff != "" {
		t.Errorf("/volumes (-want +got):\n%s", diff)
	}
	since := testNow.Add(-10 * time.Minute)
	got = decode[volumesBody](t, get(t, h, "/volumes?symbol=BTC-USDT&since="+since.Format(time.RFC3339)))
	if len(got.Volumes) != 9 || got.Volumes[0].WindowStart.Before(since) {
		t.Errorf("/volumes since 10 min: %d windows from %v", len(got.Volumes), got.Volumes[0].WindowStart)
	}

	// A bare instrument: the windows of all its symbols, by time, then symbol.
	got = decode[volumesBody](t, get(t, h, "/volumes?symbol=BTC"))
	if len(got.Volumes) != 80 || got.Symbol != "BTC" {
		t.Fatalf("/volumes?symbol=BTC: %d windows of %s, want 80", len(got.Volumes), got.Symbol)
	}
	for i := 0; i < 80; i += 2 {
		a, b := got.Volumes[i], got.Volumes[i+1]
		if !a.WindowStart.Equal(b.WindowStart) || a.Symbol != "BTC-USD" || b.Symbol != "BTC-USDT" {
			t.Fatalf("/volumes?symbol=BTC: windows %d and %d are %s %v and %s %v", i, i+1, a.Symbol, a.WindowStart, b.Symbol, b.WindowStart)
		}
	}

	type spreadsBody struct {
		Symbol  string             `json:"symbol"`
		Since   time.Time          `json:"since"`
		Spreads []ctc.SpreadWindow `json:"spreads"`
		Count   int                `json:"count"`
	}
	for _, sym := range []string{"BTC", "BTC-USDT", "btc-usd"} {
		got := decode[spreadsBody](t, get(t, h, "/spreads?symbol="+sym))
		if diff := cmp.Diff(spreadsBody{"BTC", testNow.Add(-time.Hour), f.spreads, len(f.spreads)}, got); diff != "" {
			t.Errorf("/spreads?symbol=%s (-want +got):\n%s", sym, diff)
		}
	}
	if r := get(t, h, "/spreads?symbol=DOGE"); r.code != 200 || string(r.body) != `{"symbol":"DOGE","since":"2025-03-14T14:09:26.000Z","spreads":[],"count":0}` {
		t.Errorf("/spreads of an unknown instrument: %d %s", r.code, r.body)
	}
}

func TestSmallEndpoints(t *testing.T) {
	t.Parallel()
	h := newTestHandler(t, Config{Quality: testQuality})
	tests := []struct{ target, body string }{
		{"/symbols", `{"instruments":["BTC","ETH"],"symbols":[{"symbol":"BTC-USD","instrument":"BTC"},{"symbol":"BTC-USDT","instrument":"BTC"},{"symbol":"ETH-USD","instrument":"ETH"}]}`},
		{"/healthz", `{"status":"ok"}`},
		{"/quality", string(testQuality().AppendJSON(nil))},
	}
	for _, tt := range tests {
		r := get(t, h, tt.target)
		if r.code != http.StatusOK || string(r.body) != tt.body || r.header.Get("Content-Type") != "application/json" {
			t.Errorf("GET %s: %d %q %s, want 200 %s", tt.target, r.code, r.header.Get("Content-Type"), r.body, tt.body)
		}
	}
	// Without a quality func, /quality is a clear 404.
	r := get(t, newTestHandler(t, Config{}), "/quality")
	if e := decode[apiError](t, r); r.code != http.StatusNotFound || !strings.Contains(e.Message, "Config.Quality") {
		t.Errorf("/quality without Quality: %d %s", r.code, r.body)
	}
}

func TestMethodsAndPaths(t *testing.T) {
	t.Parallel()
	h := newTestHandler(t, Config{})
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		for _, p := range []string{"/alerts", "/metrics/BTC", "/", "/prometheus"} {
			r := do(t, h, m, p)
			if r.code != http.StatusMethodNotAllowed || r.header.Get("Allow") != "GET, HEAD, OPTIONS" {
				t.Errorf("%s %s: %d Allow %q, want 405 with Allow", m, p, r.code, r.header.Get("Allow"))
			}
			if e := decode[apiError](t, r); !strings.Contains(e.Message, "use GET") {
				t.Errorf("%s %s: message %q", m, p, e.Message)
			}
		}
	}
	if r := do(t, h, http.MethodHead, "/alerts"); r.code != http.StatusOK {
		t.Errorf("HEAD /alerts: %d", r.code)
	}
	if r := do(t, h, http.MethodOptions, "/alerts"); r.code != http.StatusNoContent || r.header.Get("Allow") == "" {
		t.Errorf("OPTIONS /alerts: %d Allow %q", r.code, r.header.Get("Allow"))
	}
	for _, p := range []string{"/nope", "/alerts/", "/static/nope.js", "/metric/BTC", "/ALERTS"} {
		r := get(t, h, p)
		if r.code != http.StatusNotFound || r.header.Get("Content-Type") != "application/json" {
			t.Errorf("GET %s: %d %s, want a JSON 404", p, r.code, r.body)
		}
		if e := decode[apiError](t, r); !strings.Contains(e.Allowed, "/alerts") {
			t.Errorf("GET %s: the 404 does not list the endpoints: %s", p, r.body)
		}
	}
}

func TestCORS(t *testing.T) {
	t.Parallel()
	none := newTestHandler(t, Config{})
	r := do(t, none, http.MethodGet, "/alerts", "Origin", "https://a.example")
	if r.header.Get("Access-Control-Allow-Origin") != "" || r.header.Get("Vary") != "" {
		t.Errorf("CORS headers without CORSOrigins: %v", r.header)
	}

	h := newTestHandler(t, Config{CORSOrigins: []string{"https://dash.example.com", "http://localhost:3000/"}})
	r = do(t, h, http.MethodGet, "/alerts", "Origin", "https://dash.example.com")
	if r.header.Get("Access-Control-Allow-Origin") != "https://dash.example.com" || r.header.Get("Vary") != "Origin" {
		t.Errorf("allowed origin: %v", r.header)
	}
	r = do(t, h, http.MethodGet, "/alerts", "Origin", "http://localhost:3000")
	if r.header.Get("Access-Control-Allow-Origin") != "http://localhost:3000" {
		t.Errorf("allowed origin given with a trailing slash: %v", r.header)
	}
	r = do(t, h, http.MethodGet, "/alerts", "Origin", "https://evil.example")
	if r.header.Get("Access-Control-Allow-Origin") != "" || r.header.Get("Vary") != "Origin" || r.code != 200 {
		t.Errorf("other origin: %d %v", r.code, r.header)
	}
	r = do(t, h, http.MethodOptions, "/alerts", "Origin", "https://dash.example.com",
		"Access-Control-Request-Method", "GET", "Access-Control-Request-Headers", "x-requested-with")
	if r.code != http.StatusNoContent || r.header.Get("Access-Control-Allow-Methods") != "GET, HEAD, OPTIONS" ||
		r.header.Get("Access-Control-Allow-Headers") != "x-requested-with" || r.header.Get("Access-Control-Max-Age") == "" {
		t.Errorf("preflight: %d %v", r.code, r.header)
	}
	r = do(t, h, http.MethodOptions, "/alerts", "Origin", "https://evil.example", "Access-Control-Request-Method", "GET")
	if r.header.Get("Access-Control-Allow-Origin") != "" || r.header.Get("Access-Control-Allow-Methods") != "" {
		t.Errorf("preflight from another origin: %v", r.header)
	}

	star := newTestHandler(t, Config{CORSOrigins: []string{"*"}})
	r = do(t, star, http.MethodGet, "/metrics/BTC", "Origin", "https://anyone.example")
	if r.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf(`"*": %v`, r.header)
	}
}

func TestStoreErrors(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	st := newFixture(testNow).store(t)
	st.FailQueries(-1, errors.New("disk on fire at /var/lib/ctc/alerts.db"))
	h := newTestHandler(t, Config{Store: st, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	for _, p := range []string{"/alerts", "/metrics/BTC-USDT", "/metrics/BTC", "/volumes?symbol=BTC-USDT", "/spreads?symbol=BTC", "/symbols"} {
		r := get(t, h, p)
		if r.code != http.StatusInternalServerError {
			t.Errorf("GET %s: %d, want 500", p, r.code)
		}
		if strings.Contains(string(r.body), "disk on fire") || !strings.Contains(decode[apiError](t, r).Message, "internal error") {
			t.Errorf("GET %s: the body leaks or lacks the message: %s", p, r.body)
		}
	}
	if !strings.Contains(logs.String(), "disk on fire") {
		t.Errorf("the store error is not logged:\n%s", logs.String())
	}
	// The id the client gets (header and body) is the one the log line carries; a client's own
	// sane id is kept, a hostile one replaced.
	r := do(t, h, http.MethodGet, "/symbols", RequestIDHeader, "req-42.a_b")
	if id := decode[apiError](t, r).RequestID; id != "req-42.a_b" || r.header.Get(RequestIDHeader) != id ||
		!strings.Contains(logs.String(), "request_id=req-42.a_b") {
		t.Errorf("request id: header %q, body %q, log:\n%s", r.header.Get(RequestIDHeader), id, logs.String())
	}
	r = do(t, h, http.MethodGet, "/symbols", RequestIDHeader, "evil\" id\nnext=1")
	if id := r.header.Get(RequestIDHeader); len(id) != 16 || decode[apiError](t, r).RequestID != id || !strings.Contains(logs.String(), "request_id="+id) {
		t.Errorf("a hostile request id was not replaced: %q", id)
	}
	if r := get(t, h, "/healthz"); r.header.Get(RequestIDHeader) == "" {
		t.Error("a 200 has no request id")
	}
}

func TestPrometheus(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	var ps ctc.Stats
	ps.Records, ps.Trades, ps.Alerts = 1234, 1200, 9
	reg.MustRegister(NewCollector(func() ctc.Stats { return ps }, testQuality))
	h := newTestHandler(t, Config{Registerer: reg, Quality: testQuality})
	get(t, h, "/alerts")
	get(t, h, "/alerts?limit=500")
	get(t, h, "/metrics/BTC-USDT")
	get(t, h, "/metrics/ETH-USD")
	get(t, h, "/no/such/path/1")
	get(t, h, "/no/such/path/2")

	r := get(t, h, "/prometheus")
	if r.code != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
		t.Fatalf("/prometheus: %d %q", r.code, r.header.Get("Content-Type"))
	}
	body := string(r.body)
	for _, want := range []string{
		`ctc_api_requests_total{code="200",route="/alerts"} 1`,
		`ctc_api_requests_total{code="400",route="/alerts"} 1`,
		`ctc_api_requests_total{code="200",route="/metrics/{symbol}"} 2`,
		`ctc_api_requests_total{code="404",route="unmatched"} 2`,
		`ctc_api_request_duration_seconds_bucket{code="200",route="/alerts",le="+Inf"} 1`,
		`ctc_pipeline_records_total 1234`,
		`ctc_pipeline_alerts_total 9`,
		`ctc_quality_failed_total{reason="invalid"} 20`,
		`ctc_quality_failed_total{reason="malformed"} 20`,
		`ctc_quality_score_ratio 0.994`,
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("/prometheus lacks %q", want)
		}
	}
	if regexp.MustCompile(`route="/no/`).MatchString(body) {
		t.Error("raw paths leak into the route label")
	}

	// A second handler on the same registry shares the metrics instead of failing.
	if _, err := New(Config{Store: newFixture(testNow).store(t), Registerer: reg}); err != nil {
		t.Errorf("second handler on one registry: %v", err)
	}
	// A Registerer that cannot gather needs a Gatherer.
	if _, err := New(Config{Store: newFixture(testNow).store(t), Registerer: onlyRegisterer{reg}}); err == nil {
		t.Error("New accepted a Registerer that is no Gatherer without a Gatherer")
	}
	// The default registry serves the Go runtime metrics too.
	if body := string(get(t, newTestHandler(t, Config{}), "/prometheus").body); !strings.Contains(body, "go_goroutines") {
		t.Error("the default registry has no Go collector")
	}
}

type onlyRegisterer struct{ prometheus.Registerer }

func TestCollectorWithoutFuncs(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(nil, func() quality.Stats { return quality.Stats{QualityScore: 100} }))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, mf := range mfs {
		names = append(names, mf.GetName())
		if mf.GetName() == "ctc_quality_failed_total" && len(mf.GetMetric()) != 3 {
			t.Errorf("ctc_quality_failed_total has %d reasons, want all 3 even at zero", len(mf.GetMetric()))
		}
	}
	for _, n := range names {
		if strings.HasPrefix(n, "ctc_pipeline_") {
			t.Errorf("%s exported without a pipeline func", n)
		}
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	if _, err := New(Config{}); err == nil || !strings.Contains(err.Error(), "Store") {
		t.Errorf("New without a store: %v", err)
	}
}

func TestNewServer(t *testing.T) {
	t.Parallel()
	h := newTestHandler(t, Config{})
	s := NewServer("127.0.0.1:0", h)
	if s.Addr != "127.0.0.1:0" || s.Handler != h || s.ReadHeaderTimeout != 5*time.Second || s.ReadTimeout != 10*time.Second ||
		s.WriteTimeout != 30*time.Second || s.IdleTimeout != 120*time.Second || s.MaxHeaderBytes != 64<<10 {
		t.Errorf("NewServer: %+v", s)
	}
}

// Start serves on the port it was given (0: one it chose, in the URL) until stop, and refuses an
// address already taken.
func TestStart(t *testing.T) {
	t.Parallel()
	url, stop, err := Start("127.0.0.1:0", newTestHandler(t, Config{}))
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("GET /healthz: %d", res.StatusCode)
	}
	if _, _, err := Start(strings.TrimPrefix(url, "http://"), http.NotFoundHandler()); err == nil {
		t.Error("Start on an address in use succeeded")
	}
	stop()
	if _, err := http.Get(url + "/healthz"); err == nil {
		t.Error("the server still answers after stop")
	}
}

func TestDashboardAssets(t *testing.T) {
	t.Parallel()
	h := newTestHandler(t, Config{})
	for _, tt := range []struct{ path, ctype, contains string }{
		{"/", "text/html", `<script src="static/app.js" defer></script>`},
		{"/index.html", "text/html", "<table"},
		{"/?type=whale&anything=goes", "text/html", "<table"}, // the page's own parameters are its script's business
		{"/static/app.js", "text/javascript", "textContent"},
		{"/static/style.css", "text/css", ".sev-critical"},
		{"/static/favicon.svg", "image/svg+xml", "<svg"},
	} {
		r := get(t, h, tt.path)
		if r.code != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), tt.ctype) || !strings.Contains(string(r.body), tt.contains) {
			t.Errorf("GET %s: %d %q, want %s containing %q", tt.path, r.code, r.header.Get("Content-Type"), tt.ctype, tt.contains)
		}
		if tt.ctype == "text/html" && !strings.Contains(r.header.Get("Content-Security-Policy"), "script-src 'self'") {
			t.Errorf("GET %s: no Content-Security-Policy", tt.path)
		}
		if etag := r.header.Get("ETag"); etag == "" {
			t.Errorf("GET %s: no ETag", tt.path)
		} else if r := do(t, h, http.MethodGet, tt.path, "If-None-Match", etag); r.code != http.StatusNotModified {
			t.Errorf("GET %s with its ETag: %d, want 304", tt.path, r.code)
		}
	}
}

// TestDashboardNeverParsesHTML holds the dashboard to its rule: data reaches the page through
// textContent and setAttribute only.
func TestDashboardNeverParsesHTML(t *testing.T) {
	t.Parallel()
	js, err := os.ReadFile("dashboard/app.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "DOMParser", "createContextualFragment"} {
		if strings.Contains(string(js), bad) {
			t.Errorf("app.js uses %s", bad)
		}
	}
	html, err := os.ReadFile("dashboard/index.html")
	if err != nil {
		t.Fatal(err)
	}
	if regexp.MustCompile(`<script>|\son[a-z]+=|https?://`).Match(html) {
		t.Error("index.html has inline script, an inline handler or an external URL")
	}
}

func TestConcurrentRequests(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	h := newTestHandler(t, Config{Registerer: reg, Quality: testQuality})
	srv := httptest.NewServer(h)
	defer srv.Close()
	done := make(chan error)
	for i := range 8 {
		go func() {
			var err error
			for j := range 25 {
				target := []string{"/alerts", "/metrics/BTC", "/volumes?symbol=BTC-USDT", "/prometheus", "/quality"}[(i+j)%5]
				resp, e := http.Get(srv.URL + target)
				if e != nil {
					err = e
					break
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					err = errors.New(target + ": " + resp.Status)
					break
				}
			}
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// With an instrument map, a symbol whose base differs from its instrument's (XBT-USD for BTC)
// finds the instrument's spreads, as the partition key and the spread join name them.
func TestSpreadsFollowTheInstrumentRule(t *testing.T) {
	t.Parallel()
	get := func(h http.Handler, target string) string {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", target, rec.Code, rec.Body)
		}
		return rec.Body.String()
	}
	byBase := get(newTestHandler(t, Config{}), "/spreads?symbol=BTC")
	if !strings.Contains(byBase, `"symbol":"BTC"`) {
		t.Fatalf("the fixture has no BTC spreads: %s", byBase)
	}
	if got := get(newTestHandler(t, Config{}), "/spreads?symbol=XBT-USD"); got == byBase {
		t.Fatal("without a map, XBT-USD found BTC's spreads")
	}
	mapped := newTestHandler(t, Config{Instruments: ctc.Instruments{"XBT-USD": "BTC"}})
	if got := get(mapped, "/spreads?symbol=XBT-USD"); got != byBase {
		t.Errorf("with XBT-USD → BTC:\n%s\nwant\n%s", got, byBase)
	}
}
