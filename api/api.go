package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/incident"
	"github.com/coattailcapital/ctc/quality"
)

// Store is what the API reads. The embedded store and the in-memory store implement it; so does
// any ctc.AlertStore that can also list aggregates.
type Store interface {
	// QueryAlerts returns the alerts q selects, newest first, never an expired one.
	QueryAlerts(ctx context.Context, q ctc.AlertQuery) ([]ctc.Alert, error)
	// Volumes returns the volume windows of symbol, on every exchange, that start at or after
	// since, oldest first.
	Volumes(ctx context.Context, symbol string, since time.Time) ([]ctc.VolumeWindow, error)
	// Spreads returns the spread windows of instrument (e.g. BTC) that start at or after since,
	// oldest first.
	Spreads(ctx context.Context, instrument string, since time.Time) ([]ctc.SpreadWindow, error)
	// Symbols returns every symbol the store knows, sorted.
	Symbols(ctx context.Context) ([]string, error)
}

// Config configures the handler New returns.
type Config struct {
	// Store is where alerts and aggregates are read. Required.
	Store Store
	// Instruments names the instrument of a symbol for /spreads and /metrics (spread windows and
	// alerts are kept by instrument): nil is the default rule, ctc.InstrumentOf; give the spread
	// detector's pairs (detect.SpreadConfig.InstrumentMap) when their bases differ.
	Instruments ctc.Instruments
	// Now is the clock behind the default time ranges (24 h of alerts, 1 h of chart series).
	// Default time.Now.
	Now func() time.Time
	// Quality returns the quality counters served at /quality and shown on the dashboard.
	// Optional: without it /quality answers 404 and the dashboard hides the score. It is called
	// once per /quality request, concurrently with everything else, so it must be safe for that.
	Quality func() quality.Stats
	// CORSOrigins lists the origins allowed to call the API from a browser, e.g.
	// "https://dash.example.com"; "*" allows any origin. Empty: no CORS headers at all.
	CORSOrigins []string
	// Registerer is where the API's own metrics register. Default: a new registry, which also
	// gets the Go runtime and process collectors.
	Registerer prometheus.Registerer
	// Gatherer is what /prometheus serves. Default: Registerer when it is also a Gatherer (as a
	// *prometheus.Registry is), else the new default registry.
	Gatherer prometheus.Gatherer
	// Logger receives the details of store failures, which clients see only as a generic 500.
	// Default: discard.
	Logger *slog.Logger
	// StreamPoll is how often /alerts/stream asks the store for new alerts; default
	// DefaultStreamPoll.
	StreamPoll time.Duration
	// StreamMaxAge, when > 0, ends each /alerts/stream response after that long; the browser
	// reconnects with Last-Event-ID and loses nothing. It suits proxies that cut long responses
	// and spreads clients over servers. Default 0: a stream lasts as long as its client.
	StreamMaxAge time.Duration
	// NoStream answers /alerts/stream with 501, for hosts that send a response only when the
	// handler returns (API Gateway and Lambda): the dashboard then polls /alerts.
	NoStream bool
	// SpreadThreshold is the spread detector's alert threshold in percent, drawn on the
	// dashboard's spread chart and served in /spreads as threshold_pct; 0 leaves it out.
	SpreadThreshold float64
	// Incidents, when set, makes incidents the default view of /alerts: the stored alerts grouped
	// by incident.Group under this policy (give the notifier's, so that the list shows what was
	// delivered), one entry per incident, its latest revision. ?view=raw lists every alert, as
	// /alerts does when Incidents is nil.
	Incidents *incident.Policy
	// Market, when set, says where the watched market's event time has got to, served in
	// /healthz and shown on the dashboard beside the wall-clock time of its last update: for a
	// replay or a simulation at N× speed the two differ, and alert times are event times.
	Market func() Market
	// Keys, when not empty, are the API keys: every endpoint but /healthz and the dashboard's
	// own files (which hold no data) then answers 401 unless the request sends
	// "Authorization: Bearer <key>" or carries the session cookie that POST /session sets for
	// such a request. The cookie (HttpOnly, SameSite=Strict, Secure over https) is how the
	// dashboard authenticates its event stream, which a browser cannot give a header; it is an
	// HMAC of its expiry under the key, never the key. Keys are at least 16 bytes; read them from
	// a file or the environment, never a flag. Nothing the API logs holds a key or a cookie.
	Keys []string
	// SessionTTL is how long a session cookie lasts without use (each request in its second
	// half renews it); default DefaultSessionTTL.
	SessionTTL time.Duration
	// Evidence, when set, gives the last evidence report (package evidence, as JSON) served at
	// /evidence and shown in the dashboard's evidence panel; EvidenceFile serves a file. Without
	// it, or when it returns ErrNoEvidence, /evidence answers 404 and the panel stays hidden.
	Evidence func(context.Context) ([]byte, error)
}

// The time ranges the parameters default to.
const (
	// DefaultAlertsSince is how far back /alerts looks without since: the hot store's retention.
	DefaultAlertsSince = ctc.AlertTTL
	// DefaultSeriesSince is how far back /volumes and /spreads look without since.
	DefaultSeriesSince = time.Hour
	// DefaultLimit and MaxLimit bound /alerts?limit.
	DefaultLimit = 50
	MaxLimit     = 200
)

// handler serves the API and the dashboard. Every field is set by New and read-only after it,
// so one handler serves any number of requests concurrently.
type handler struct {
	store   Store
	inst    ctc.Instruments
	now     func() time.Time
	quality func() quality.Stats
	log     *slog.Logger
	cors    corsPolicy
	metrics *apiMetrics
	prom    http.Handler
	assets  map[string]*asset

	streamPoll      time.Duration
	streamMaxAge    time.Duration
	noStream        bool
	spreadThreshold float64
	incidents       *incident.Policy
	market          func() Market
	auth            auth
	evidence        func(context.Context) ([]byte, error)
}

// New returns the API and dashboard as one http.Handler (see the package documentation for the
// endpoints). It fails if cfg.Store is nil or the API metrics cannot be registered.
func New(cfg Config) (http.Handler, error) {
	if cfg.Store == nil {
		return nil, errors.New("api: Config.Store is required")
	}
	h := &handler{
		store:   cfg.Store,
		inst:    cfg.Instruments,
		now:     cfg.Now,
		quality: cfg.Quality,
		log:     cfg.Logger,
		cors:    newCORSPolicy(cfg.CORSOrigins),

		streamPoll:      cfg.StreamPoll,
		streamMaxAge:    cfg.StreamMaxAge,
		noStream:        cfg.NoStream,
		spreadThreshold: cfg.SpreadThreshold,
		incidents:       cfg.Incidents,
		market:          cfg.Market,
		evidence:        cfg.Evidence,
	}
	var err error
	if h.auth, err = newAuth(cfg.Keys, cfg.SessionTTL, func() time.Time { return h.now() }); err != nil {
		return nil, err
	}
	if h.streamPoll <= 0 {
		h.streamPoll = DefaultStreamPoll
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	reg, gat := cfg.Registerer, cfg.Gatherer
	if reg == nil {
		r := prometheus.NewRegistry()
		r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		reg = r
		if gat == nil {
			gat = r
		}
	}
	if gat == nil {
		g, ok := reg.(prometheus.Gatherer)
		if !ok {
			return nil, errors.New("api: Config.Gatherer is required when Config.Registerer is not a prometheus.Gatherer")
		}
		gat = g
	}
	m, err := newAPIMetrics(reg)
	if err != nil {
		return nil, err
	}
	h.metrics = m
	h.prom = promhttp.HandlerFor(gat, promhttp.HandlerOpts{ErrorLog: slogPromLogger{h.log}})
	h.assets, err = loadAssets()
	if err != nil {
		return nil, err
	}
	return h, nil
}

// route is one endpoint: its pattern (the metrics label) and what serves it.
type route struct {
	pattern string
	serve   func(h *handler, w http.ResponseWriter, r *http.Request, arg string) int
}

var (
	routeAlerts     = &route{"/alerts", (*handler).serveAlerts}
	routeStream     = &route{"/alerts/stream", (*handler).serveAlertStream}
	routeMetrics    = &route{"/metrics/{symbol}", (*handler).serveMetrics}
	routeVolumes    = &route{"/volumes", (*handler).serveVolumes}
	routeSpreads    = &route{"/spreads", (*handler).serveSpreads}
	routeSymbols    = &route{"/symbols", (*handler).serveSymbols}
	routeQuality    = &route{"/quality", (*handler).serveQuality}
	routeHealthz    = &route{"/healthz", (*handler).serveHealthz}
	routePrometheus = &route{"/prometheus", (*handler).servePrometheus}
	routeDashboard  = &route{"/", (*handler).serveAsset}
	routeStatic     = &route{"/static/{file}", (*handler).serveAsset}
	routeSession    = &route{"/session", (*handler).serveSession}
	routeOpenAPI    = &route{"/openapi.json", (*handler).serveOpenAPI}
	routeNotFound   = &route{"unmatched", (*handler).serveNotFound}
)

var exactRoutes = map[string]*route{
	"/alerts":        routeAlerts,
	"/alerts/stream": routeStream,
	"/volumes":       routeVolumes,
	"/spreads":       routeSpreads,
	"/symbols":       routeSymbols,
	"/quality":       routeQuality,
	"/healthz":       routeHealthz,
	"/prometheus":    routePrometheus,
	"/evidence":      routeEvidence,
	"/session":       routeSession,
	"/openapi.json":  routeOpenAPI,
	"/":              routeDashboard,
	"/index.html":    routeDashboard,
}

// endpoints is what a 404 lists.
const endpoints = "/alerts, /alerts/stream, /metrics/{symbol}, /volumes, /spreads, /symbols, /quality, /healthz, /prometheus, /evidence, /session, /openapi.json, / (dashboard)"

// match finds the route of a path and its argument (the symbol of /metrics/{symbol}, the asset
// path of the dashboard).
func match(path string) (*route, string) {
	if rt, ok := exactRoutes[path]; ok {
		if rt == routeDashboard {
			return rt, "/index.html"
		}
		return rt, ""
	}
	if sym, ok := strings.CutPrefix(path, "/metrics/"); ok {
		return routeMetrics, sym
	}
	if path == "/metrics" {
		return routeMetrics, ""
	}
	if strings.HasPrefix(path, "/static/") {
		return routeStatic, path
	}
	return routeNotFound, path
}

const allowedMethods = "GET, HEAD, OPTIONS"

// ServeHTTP routes the request, applies CORS and the method rules, and records the request's
// metrics under its route pattern (so that paths a client invents add no label values).
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rt, arg := match(r.URL.Path)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	id := requestID(r)
	w.Header().Set(RequestIDHeader, id)
	r = r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id))
	code := h.serve(rt, arg, w, r)
	h.metrics.observe(rt.pattern, code, time.Since(start))
}

func (h *handler) serve(rt *route, arg string, w http.ResponseWriter, r *http.Request) int {
	preflight := h.cors.apply(w.Header(), r)
	if rt == routeNotFound || (rt == routeSession && r.Method != http.MethodOptions) {
		return rt.serve(h, w, r, arg)
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		if h.auth.enabled() && !open(rt) {
			if code, ok := h.authorize(w, r); !ok {
				return code
			}
		}
		return rt.serve(h, w, r, arg)
	case http.MethodOptions:
		w.Header().Set("Allow", allowedMethods)
		if preflight {
			h.cors.preflight(w.Header(), r)
		}
		w.WriteHeader(http.StatusNoContent)
		return http.StatusNoContent
	}
	w.Header().Set("Allow", allowedMethods)
	return writeError(w, http.StatusMethodNotAllowed, apiError{
		Message: fmt.Sprintf("method %s is not allowed on %s; use GET", quoteTrunc(r.Method), rt.pattern),
		Allowed: allowedMethods,
	})
}

func (h *handler) serveNotFound(w http.ResponseWriter, r *http.Request, path string) int {
	return writeError(w, http.StatusNotFound, apiError{
		Message: fmt.Sprintf("no endpoint at %s", quoteTrunc(path)),
		Allowed: endpoints,
	})
}

// bufPool holds response buffers; responses are built whole, then written with one Write and a
// Content-Length.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// writeJSON writes body (a JSON document) with the API's headers.
func writeJSON(w http.ResponseWriter, code int, body []byte) int {
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	w.Write(body) //nolint:errcheck // the client went away; nothing to do
	return code
}

// respond builds a 200 JSON body with fill and writes it.
func respond(w http.ResponseWriter, fill func(b []byte) []byte) int {
	bp := bufPool.Get().(*[]byte)
	b := fill((*bp)[:0])
	code := writeJSON(w, http.StatusOK, b)
	if cap(b) <= 1<<20 { // keep no huge buffer alive
		*bp = b[:0]
		bufPool.Put(bp)
	}
	return code
}

// storeFailed answers a store error: a generic message for the client, the detail in the log.
func (h *handler) storeFailed(w http.ResponseWriter, r *http.Request, route string, err error) int {
	ctx := r.Context()
	if ctx.Err() != nil {
		// The client went away or the server's deadline passed: not the store's fault.
		h.log.DebugContext(ctx, "api: request ended before the store answered", "route", route, "err", err)
		return writeError(w, http.StatusServiceUnavailable, apiError{Message: "the request was cancelled before the store answered"})
	}
	id, _ := ctx.Value(requestIDKey{}).(string)
	h.log.ErrorContext(ctx, "api: store query failed", "request_id", id, "route", route, "url", r.URL.String(), "err", err)
	if errors.Is(err, context.DeadlineExceeded) {
		return writeError(w, http.StatusGatewayTimeout, apiError{Message: "the store did not answer in time; try again", RequestID: id})
	}
	return writeError(w, http.StatusInternalServerError, apiError{
		Message: "internal error: the store failed to answer; the server log has the details under this request_id", RequestID: id})
}

// slogPromLogger lets promhttp report its errors through the handler's logger.
type slogPromLogger struct{ log *slog.Logger }

func (l slogPromLogger) Println(v ...any) { l.log.Error("api: /prometheus: " + fmt.Sprint(v...)) }

// RequestIDHeader carries a request's id: the client's own when it sent a sane one (letters,
// digits, '-', '_', '.', at most 64), else one the handler makes. Every answer has it, a 5xx
// answer also in its body, and the log line of a store failure names it, so that a user's
// report leads to the line.
const RequestIDHeader = "X-Request-Id"

type requestIDKey struct{}

var requestIDOK = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

func requestID(r *http.Request) string {
	if v := r.Header.Get(RequestIDHeader); requestIDOK.MatchString(v) {
		return v
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Market is where the watched market is in event time.
type Market struct {
	// EventTime is the newest trade's time (ctc.Pipeline.EventTime); zero before any.
	EventTime time.Time
	// Simulated says the market is the simulator's (or a replay's): its times are not now.
	Simulated bool
	// Speed is how fast event time runs against the wall clock (10 for the default run); 0 when
	// it follows the trades as they come (a live feed, a replay as fast as it reads).
	Speed float64
}
