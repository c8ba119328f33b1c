package api

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/coattailcapital/ctc"
)

// noParams rejects any query parameter on an endpoint that takes none.
func noParams(w http.ResponseWriter, r *http.Request) (int, bool) {
	if _, e := parseParams(r.URL.RawQuery, nil); e != nil {
		return writeError(w, http.StatusBadRequest, *e), false
	}
	return 0, true
}

// GET /alerts?type=&symbol=&limit=&since=&view=
func (h *handler) serveAlerts(w http.ResponseWriter, r *http.Request, _ string) int {
	now := h.now()
	q, view, e := parseAlertsQueryWith(r.URL.RawQuery, now, alertsViewParams)
	if e != nil {
		return writeError(w, http.StatusBadRequest, *e)
	}
	if view == viewIncidents && h.incidents == nil {
		return writeError(w, http.StatusBadRequest, apiError{Message: "this API groups no incidents (api.Config.Incidents is not set)", Parameter: "view", Allowed: "raw"})
	}
	if h.incidents != nil && view != viewRaw {
		return h.serveIncidents(w, r, q, now)
	}
	alerts, err := h.store.QueryAlerts(r.Context(), q)
	if err != nil {
		return h.storeFailed(w, r, "/alerts", err)
	}
	if len(alerts) > q.Limit { // a store that ignores Limit must not make the API do so
		alerts = alerts[:q.Limit]
	}
	var next *ctc.AlertKey
	if len(alerts) == q.Limit {
		k := ctc.KeyOf(&alerts[len(alerts)-1])
		next = &k
	}
	return respond(w, func(b []byte) []byte {
		b = append(b, `{"alerts":[`...)
		for i := range alerts {
			if i > 0 {
				b = append(b, ',')
			}
			b = alerts[i].AppendJSON(b)
		}
		b = append(b, `],"count":`...)
		b = strconv.AppendInt(b, int64(len(alerts)), 10)
		return append(appendNext(b, next), '}')
	})
}

// appendNext writes the answer's "next": the cursor of the page after this one, or null when
// this page was the last (it held fewer than the limit).
func appendNext(b []byte, next *ctc.AlertKey) []byte {
	b = append(b, `,"next":`...)
	if next == nil {
		return append(b, "null"...)
	}
	return ctc.AppendJSONString(b, encodeCursor(*next))
}

// GET /volumes?symbol=&since=; a bare instrument (BTC) gives the windows of all its symbols.
func (h *handler) serveVolumes(w http.ResponseWriter, r *http.Request, _ string) int {
	q, e := parseSeriesQuery(r.URL.RawQuery, h.now())
	if e != nil {
		return writeError(w, http.StatusBadRequest, *e)
	}
	syms, err := h.symbolsOf(r.Context(), q.symbol)
	if err != nil {
		return h.storeFailed(w, r, "/volumes", err)
	}
	var vs []ctc.VolumeWindow
	for _, s := range syms {
		v, err := h.store.Volumes(r.Context(), s, q.since)
		if err != nil {
			return h.storeFailed(w, r, "/volumes", err)
		}
		vs = append(vs, v...)
	}
	if len(syms) > 1 {
		slices.SortStableFunc(vs, func(a, b ctc.VolumeWindow) int {
			return cmp.Or(a.WindowStart.Compare(b.WindowStart), cmp.Compare(a.Symbol, b.Symbol), cmp.Compare(a.Exchange, b.Exchange))
		})
	}
	return respond(w, func(b []byte) []byte {
		b = seriesHead(b, q.symbol, q.since, "volumes")
		for i := range vs {
			if i > 0 {
				b = append(b, ',')
			}
			b = vs[i].AppendJSON(b)
		}
		return seriesTail(b, len(vs))
	})
}

// GET /spreads?symbol=&since=; the symbol may be a trade symbol (BTC-USDT) or an instrument (BTC).
func (h *handler) serveSpreads(w http.ResponseWriter, r *http.Request, _ string) int {
	q, e := parseSeriesQuery(r.URL.RawQuery, h.now())
	if e != nil {
		return writeError(w, http.StatusBadRequest, *e)
	}
	inst := h.inst.Of(q.symbol)
	ss, err := h.store.Spreads(r.Context(), inst, q.since)
	if err != nil {
		return h.storeFailed(w, r, "/spreads", err)
	}
	return respond(w, func(b []byte) []byte {
		b = seriesHead(b, inst, q.since, "spreads")
		for i := range ss {
			if i > 0 {
				b = append(b, ',')
			}
			b = ss[i].AppendJSON(b)
		}
		b = seriesTail(b, len(ss))
		if h.spreadThreshold > 0 {
			// {"symbol":…,"count":N} → {"symbol":…,"count":N,"threshold_pct":T}
			b = append(b[:len(b)-1], `,"threshold_pct":`...)
			b = strconv.AppendFloat(b, h.spreadThreshold, 'g', -1, 64)
			b = append(b, '}')
		}
		return b
	})
}

func seriesHead(b []byte, symbol string, since time.Time, field string) []byte {
	b = append(b, `{"symbol":`...)
	b = ctc.AppendJSONString(b, symbol)
	b = append(b, `,"since":"`...)
	b = ctc.AppendTime(b, since)
	b = append(b, `","`...)
	b = append(b, field...)
	return append(b, `":[`...)
}

func seriesTail(b []byte, n int) []byte {
	b = append(b, `],"count":`...)
	b = strconv.AppendInt(b, int64(n), 10)
	return append(b, '}')
}

// GET /symbols
func (h *handler) serveSymbols(w http.ResponseWriter, r *http.Request, _ string) int {
	if code, ok := noParams(w, r); !ok {
		return code
	}
	syms, err := h.store.Symbols(r.Context())
	if err != nil {
		return h.storeFailed(w, r, "/symbols", err)
	}
	// Two typed lists: the instruments (what spread windows and alerts are kept by, BTC) — those
	// the store names and those of its exchange symbols — and the exchange symbols (BTC-USDT), each
	// with its instrument.
	var instruments, symbols []string
	for _, s := range syms {
		inst := h.inst.Of(s)
		if !slices.Contains(instruments, inst) {
			instruments = append(instruments, inst)
		}
		if inst != s {
			symbols = append(symbols, s)
		}
	}
	slices.Sort(instruments)
	return respond(w, func(b []byte) []byte {
		b = append(b, `{"instruments":[`...)
		for i, s := range instruments {
			if i > 0 {
				b = append(b, ',')
			}
			b = ctc.AppendJSONString(b, s)
		}
		b = append(b, `],"symbols":[`...)
		for i, s := range symbols {
			if i > 0 {
				b = append(b, ',')
			}
			b = ctc.AppendJSONString(append(b, `{"symbol":`...), s)
			b = ctc.AppendJSONString(append(b, `,"instrument":`...), h.inst.Of(s))
			b = append(b, '}')
		}
		return append(b, "]}"...)
	})
}

// GET /quality
func (h *handler) serveQuality(w http.ResponseWriter, r *http.Request, _ string) int {
	if code, ok := noParams(w, r); !ok {
		return code
	}
	if h.quality == nil {
		return writeError(w, http.StatusNotFound, apiError{
			Message: "quality statistics are not available: this server was started without a quality chain (api.Config.Quality)",
		})
	}
	s := h.quality()
	return respond(w, s.AppendJSON)
}

// GET /healthz
func (h *handler) serveHealthz(w http.ResponseWriter, r *http.Request, _ string) int {
	if code, ok := noParams(w, r); !ok {
		return code
	}
	if h.market == nil {
		return writeJSON(w, http.StatusOK, []byte(`{"status":"ok"}`))
	}
	m := h.market()
	b := append([]byte(nil), `{"status":"ok","market":{"event_time":`...)
	if m.EventTime.IsZero() {
		b = append(b, "null"...)
	} else {
		b = append(b, '"')
		b = ctc.AppendTime(b, m.EventTime)
		b = append(b, '"')
	}
	b = append(b, `,"simulated":`...)
	b = strconv.AppendBool(b, m.Simulated)
	b = append(b, `,"speed":`...)
	b = strconv.AppendFloat(b, m.Speed, 'g', -1, 64)
	return writeJSON(w, http.StatusOK, append(b, "}}"...))
}

// GET /prometheus
func (h *handler) servePrometheus(w http.ResponseWriter, r *http.Request, _ string) int {
	rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
	h.prom.ServeHTTP(rec, r)
	return rec.code
}

// statusRecorder remembers the status code a wrapped handler writes.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.code = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Limits of what /metrics/{symbol} reads.
const (
	// metricsLookback is how far back /metrics looks for the latest windows and counts alerts.
	metricsLookback = 24 * time.Hour
	// recentLookback is tried first for the latest windows, which a live store has within minutes.
	recentLookback = 15 * time.Minute
	// countCap bounds the alerts read per symbol to count them; a count that reaches it is reported
	// as capped rather than read without bound.
	countCap = 10000
)

// GET /metrics/{symbol}: the latest volume window per exchange, the latest spread of the
// instrument, alert counts by type in the last 24 h and the newest whale. A symbol the store has
// never seen gets the same shape with empty values: it is not an error to ask.
func (h *handler) serveMetrics(w http.ResponseWriter, r *http.Request, arg string) int {
	if arg == "" || strings.Contains(arg, "/") {
		return writeError(w, http.StatusBadRequest, apiError{
			Message:   "give one symbol in the path, e.g. /metrics/BTC-USDT",
			Parameter: "symbol",
			Allowed:   symbolAllowed,
		})
	}
	sym, e := parseSymbol("symbol", arg)
	if e != nil {
		return writeError(w, http.StatusBadRequest, *e)
	}
	if code, ok := noParams(w, r); !ok {
		return code
	}
	ctx := r.Context()
	now := h.now()
	since := now.Add(-metricsLookback)
	inst := h.inst.Of(sym)

	syms, err := h.symbolsOf(ctx, sym)
	if err != nil {
		return h.storeFailed(w, r, "/metrics/{symbol}", err)
	}

	// Latest volume window of each (symbol, exchange).
	var latest []ctc.VolumeWindow
	for _, s := range syms {
		vs, err := h.latestVolumes(r, s, now)
		if err != nil {
			return h.storeFailed(w, r, "/metrics/{symbol}", err)
		}
		latest = append(latest, vs...)
	}
	slices.SortFunc(latest, func(a, b ctc.VolumeWindow) int {
		return cmp.Or(cmp.Compare(a.Symbol, b.Symbol), cmp.Compare(a.Exchange, b.Exchange))
	})

	var spread *ctc.SpreadWindow
	ss, err := h.store.Spreads(ctx, inst, now.Add(-recentLookback))
	if err == nil && len(ss) == 0 {
		ss, err = h.store.Spreads(ctx, inst, since)
	}
	if err != nil {
		return h.storeFailed(w, r, "/metrics/{symbol}", err)
	}
	if len(ss) > 0 {
		spread = &ss[len(ss)-1]
	}

	// Alerts about the symbols, and spread alerts, which carry the instrument as their symbol.
	alertSyms := syms
	if inst != sym {
		alertSyms = append(alertSyms, inst)
	}
	counts := map[ctc.AlertType]int{ctc.VolumeSpike: 0, ctc.Whale: 0, ctc.Spread: 0}
	capped := false
	var lastWhale *ctc.Alert
	for _, s := range alertSyms {
		as, err := h.store.QueryAlerts(ctx, ctc.AlertQuery{Symbol: s, Since: since, Limit: countCap})
		if err != nil {
			return h.storeFailed(w, r, "/metrics/{symbol}", err)
		}
		capped = capped || len(as) >= countCap
		for i := range as {
			a := &as[i]
			counts[a.AlertType]++
			if a.AlertType == ctc.Whale && (lastWhale == nil || newer(a, lastWhale)) {
				lastWhale = a
			}
		}
	}

	return respond(w, func(b []byte) []byte {
		b = append(b, `{"symbol":`...)
		b = ctc.AppendJSONString(b, sym)
		b = append(b, `,"instrument":`...)
		b = ctc.AppendJSONString(b, inst)
		b = append(b, `,"as_of":"`...)
		b = ctc.AppendTime(b, now)
		b = append(b, `","since":"`...)
		b = ctc.AppendTime(b, since)
		b = append(b, `","volumes":[`...)
		for i := range latest {
			if i > 0 {
				b = append(b, ',')
			}
			b = latest[i].AppendJSON(b)
		}
		b = append(b, `],"spread":`...)
		if spread != nil {
			b = spread.AppendJSON(b)
		} else {
			b = append(b, "null"...)
		}
		b = append(b, `,"alert_counts":{`...)
		b = appendCounts(b, counts)
		b = append(b, `},"alert_counts_capped":`...)
		b = strconv.AppendBool(b, capped)
		b = append(b, `,"last_whale":`...)
		if lastWhale != nil {
			b = lastWhale.AppendJSON(b)
		} else {
			b = append(b, "null"...)
		}
		return append(b, '}')
	})
}

// symbolsOf returns the market symbols a symbol parameter stands for: the symbol itself and, for
// a bare instrument (BTC), every known symbol of it (BTC-USD, BTC-USDT).
func (h *handler) symbolsOf(ctx context.Context, sym string) ([]string, error) {
	syms := []string{sym}
	if strings.Contains(sym, "-") {
		return syms, nil
	}
	all, err := h.store.Symbols(ctx)
	if err != nil {
		return nil, err
	}
	for _, s := range all {
		if strings.HasPrefix(s, sym+"-") {
			syms = append(syms, s)
		}
	}
	return syms, nil
}

// latestVolumes returns the newest window of each exchange of symbol, looking back a few minutes
// first and the whole lookback only if that finds nothing.
func (h *handler) latestVolumes(r *http.Request, symbol string, now time.Time) ([]ctc.VolumeWindow, error) {
	vs, err := h.store.Volumes(r.Context(), symbol, now.Add(-recentLookback))
	if err == nil && len(vs) == 0 {
		vs, err = h.store.Volumes(r.Context(), symbol, now.Add(-metricsLookback))
	}
	if err != nil {
		return nil, err
	}
	var out []ctc.VolumeWindow
	for i := len(vs) - 1; i >= 0; i-- { // oldest first: the newest of each exchange is met first from the end
		if !slices.ContainsFunc(out, func(v ctc.VolumeWindow) bool { return v.Exchange == vs[i].Exchange }) {
			out = append(out, vs[i])
		}
	}
	return out, nil
}

// newer orders alerts as the store does: by DetectedAt, then AlertID.
func newer(a, b *ctc.Alert) bool {
	if !a.DetectedAt.Equal(b.DetectedAt) {
		return a.DetectedAt.After(b.DetectedAt)
	}
	return slices.Compare(a.AlertID[:], b.AlertID[:]) > 0
}

// appendCounts writes the built-in types first, in their usual order, then any other type a
// custom detector raised, sorted.
func appendCounts(b []byte, counts map[ctc.AlertType]int) []byte {
	builtin := []ctc.AlertType{ctc.VolumeSpike, ctc.Whale, ctc.Spread}
	var other []ctc.AlertType
	for t := range counts {
		if !slices.Contains(builtin, t) {
			other = append(other, t)
		}
	}
	slices.Sort(other)
	for i, t := range append(builtin, other...) {
		if i > 0 {
			b = append(b, ',')
		}
		b = ctc.AppendJSONString(b, string(t))
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(counts[t]), 10)
	}
	return b
}
