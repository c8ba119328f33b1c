package api

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/coattailcapital/ctc"
)

// apiError is the body of every error response: what is wrong, which parameter (if one is to
// blame) and what it allows.
type apiError struct {
	Message   string `json:"error"`
	Parameter string `json:"parameter,omitempty"`
	Allowed   string `json:"allowed,omitempty"`
	// RequestID is set on server errors: the id the log line of the failure carries.
	RequestID string `json:"request_id,omitempty"`
}

func (e *apiError) Error() string { return e.Message }

func writeError(w http.ResponseWriter, code int, e apiError) int {
	b, err := json.Marshal(e)
	if err != nil { // cannot happen for three strings; keep the answer valid JSON anyway
		b = []byte(`{"error":"internal error"}`)
	}
	return writeJSON(w, code, b)
}

// quoteTrunc quotes a client-supplied string for an error message, cut to 64 bytes so that an
// error never echoes a huge input back.
func quoteTrunc(s string) string {
	if len(s) > 64 {
		cut := 64
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return strconv.Quote(s)
}

// The parameters each endpoint takes, in the order they are listed in error messages.
var (
	alertsParams     = []string{"type", "symbol", "limit", "since"}
	alertsViewParams = []string{"type", "symbol", "limit", "since", "view", "cursor"}
	seriesParams     = []string{"symbol", "since"}
)

const maxParams = 6

// params are the values of a query string, at the positions of the endpoint's parameter names.
// An empty value counts as absent, so a form that submits "type=" asks for every type.
type params [maxParams]string

// parseParams splits a raw query string. It rejects what a caller cannot have meant: a parameter
// the endpoint does not take, one given twice, a malformed escape.
func parseParams(raw string, names []string) (params, *apiError) {
	var p params
	var seen [maxParams]bool
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		if part == "" {
			continue
		}
		rawKey, rawVal, _ := strings.Cut(part, "=")
		if rawKey == "" {
			return p, &apiError{
				Message:   fmt.Sprintf("a parameter has no name (%s); give name=value", quoteTrunc(part)),
				Parameter: part,
				Allowed:   strings.Join(names, ", "),
			}
		}
		key, err := url.QueryUnescape(rawKey)
		if err != nil {
			return p, &apiError{
				Message:   fmt.Sprintf("parameter name %s is not a valid URL query escape: %v", quoteTrunc(rawKey), err),
				Parameter: rawKey,
				Allowed:   strings.Join(names, ", "),
			}
		}
		i := index(names, key)
		if i < 0 {
			return p, unknownParam(key, names)
		}
		val, err := url.QueryUnescape(rawVal)
		if err != nil {
			return p, &apiError{
				Message:   fmt.Sprintf("%s is not a valid URL query escape: %v", key, err),
				Parameter: key,
				Allowed:   "a percent-encoded value",
			}
		}
		if seen[i] {
			return p, &apiError{
				Message:   fmt.Sprintf("%s is given more than once; give it once", key),
				Parameter: key,
				Allowed:   "one value",
			}
		}
		seen[i] = true
		p[i] = val
	}
	return p, nil
}

func index(names []string, key string) int {
	for i, n := range names {
		if n == key {
			return i
		}
	}
	return -1
}

func unknownParam(key string, names []string) *apiError {
	if len(names) == 0 {
		return &apiError{
			Message:   fmt.Sprintf("unknown parameter %s: this endpoint takes no parameters", quoteTrunc(key)),
			Parameter: key,
			Allowed:   "no parameters",
		}
	}
	allowed := strings.Join(names, ", ")
	return &apiError{
		Message:   fmt.Sprintf("unknown parameter %s: this endpoint takes %s", quoteTrunc(key), allowed),
		Parameter: key,
		Allowed:   allowed,
	}
}

// parseAlertsQuery turns the query string of /alerts into a store query: type a well-formed
// alert type (built-in or a detector's own), symbol a valid symbol, limit 1..MaxLimit (default DefaultLimit), since RFC 3339
// (default now − DefaultAlertsSince).
func parseAlertsQuery(raw string, now time.Time) (ctc.AlertQuery, *apiError) {
	q, _, e := parseAlertsQueryWith(raw, now, alertsParams)
	return q, e
}

// The views of /alerts.
const (
	viewRaw       = "raw"
	viewIncidents = "incidents"
)

// parseAlertsQueryWith parses names (alertsParams, or alertsViewParams where view is allowed:
// "raw" or "incidents", returned as given, "" when absent; and cursor, into q.Before).
func parseAlertsQueryWith(raw string, now time.Time, names []string) (ctc.AlertQuery, string, *apiError) {
	p, e := parseParams(raw, names)
	if e != nil {
		return ctc.AlertQuery{}, "", e
	}
	var view string
	if len(names) > 4 {
		switch view = p[4]; view {
		case "", viewRaw, viewIncidents:
		default:
			return ctc.AlertQuery{}, "", &apiError{Message: "unknown view " + quoteTrunc(view), Parameter: "view", Allowed: "raw, incidents"}
		}
	}
	q, e := alertsQueryOf(p, now)
	if e == nil && len(names) > 5 && p[5] != "" {
		k, ok := decodeCursor(p[5])
		if !ok {
			return ctc.AlertQuery{}, "", &apiError{Message: "cursor " + quoteTrunc(p[5]) + " is not one this API gave", Parameter: "cursor",
				Allowed: "the next value of a previous /alerts answer"}
		}
		q.Before = k
	}
	return q, view, e
}

// A cursor is opaque to clients: base64url of "<detected_at unix ns>.<alert id>", the key of
// the last entry of the page it follows (for incidents: its last alert's time and its id).
func encodeCursor(k ctc.AlertKey) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(k.DetectedAt.UnixNano(), 10) + "." + k.AlertID.String()))
}

func decodeCursor(c string) (ctc.AlertKey, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) > 64 {
		return ctc.AlertKey{}, false
	}
	ns, id, ok := strings.Cut(string(b), ".")
	if !ok {
		return ctc.AlertKey{}, false
	}
	n, err := strconv.ParseInt(ns, 10, 64)
	if err != nil {
		return ctc.AlertKey{}, false
	}
	u, err := uuid.Parse(id)
	if err != nil || len(id) != 36 {
		return ctc.AlertKey{}, false
	}
	k := ctc.AlertKey{DetectedAt: time.Unix(0, n).UTC(), AlertID: u}
	return k, !k.IsZero()
}

// alertsQueryOf builds the store query of /alerts' first four parameters.
func alertsQueryOf(p params, now time.Time) (ctc.AlertQuery, *apiError) {
	q := ctc.AlertQuery{Limit: DefaultLimit, Since: now.Add(-DefaultAlertsSince)}
	if v := p[0]; v != "" {
		t, e := parseType(v)
		if e != nil {
			return ctc.AlertQuery{}, e
		}
		q.Type = t
	}
	if v := p[1]; v != "" {
		s, e := parseSymbol("symbol", v)
		if e != nil {
			return ctc.AlertQuery{}, e
		}
		q.Symbol = s
	}
	if v := p[2]; v != "" {
		n, e := parseLimit(v)
		if e != nil {
			return ctc.AlertQuery{}, e
		}
		q.Limit = n
	}
	if v := p[3]; v != "" {
		t, e := parseSince(v)
		if e != nil {
			return ctc.AlertQuery{}, e
		}
		q.Since = t
	}
	return q, nil
}

// seriesQuery is a parsed /volumes or /spreads query.
type seriesQuery struct {
	symbol string
	since  time.Time
}

// parseSeriesQuery parses symbol (required) and since (default now − DefaultSeriesSince).
func parseSeriesQuery(raw string, now time.Time) (seriesQuery, *apiError) {
	p, e := parseParams(raw, seriesParams)
	if e != nil {
		return seriesQuery{}, e
	}
	q := seriesQuery{since: now.Add(-DefaultSeriesSince)}
	if p[0] == "" {
		return seriesQuery{}, &apiError{
			Message:   "symbol is required, e.g. ?symbol=BTC-USDT",
			Parameter: "symbol",
			Allowed:   symbolAllowed,
		}
	}
	if q.symbol, e = parseSymbol("symbol", p[0]); e != nil {
		return seriesQuery{}, e
	}
	if v := p[1]; v != "" {
		if q.since, e = parseSince(v); e != nil {
			return seriesQuery{}, e
		}
	}
	return q, nil
}

const typeAllowed = "an alert type: 1 to 64 lower-case letters, digits or '_', starting with a letter (volume_spike, whale, spread, or a detector's own)"

// parseType accepts any well-formed alert type, not only the built-in ones: a user's detector
// raises alerts of its own types, and the stores keep and query them like the others.
func parseType(v string) (ctc.AlertType, *apiError) {
	ok := len(v) >= 1 && len(v) <= 64 && 'a' <= v[0] && v[0] <= 'z'
	for i := 0; ok && i < len(v); i++ {
		c := v[i]
		ok = 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_'
	}
	if ok {
		return ctc.AlertType(v), nil
	}
	return "", &apiError{
		Message:   fmt.Sprintf("type must be %s, got %s", typeAllowed, quoteTrunc(v)),
		Parameter: "type",
		Allowed:   typeAllowed,
	}
}

const (
	maxSymbolLen  = 32
	symbolAllowed = "1 to 32 letters, digits, '-', '_' or '.', starting with a letter or digit, e.g. BTC-USDT (case-insensitive)"
)

// parseSymbol checks a symbol and returns it in upper case, the form every source normalizes
// symbols to, so that btc-usdt finds BTC-USDT.
func parseSymbol(param, v string) (string, *apiError) {
	ok := len(v) >= 1 && len(v) <= maxSymbolLen && v[0] != '-' && v[0] != '_' && v[0] != '.'
	upper := true
	for i := 0; ok && i < len(v); i++ {
		c := v[i]
		switch {
		case 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.':
		case 'a' <= c && c <= 'z':
			upper = false
		default:
			ok = false
		}
	}
	if !ok {
		return "", &apiError{
			Message:   fmt.Sprintf("%s must be %s, got %s", param, symbolAllowed, quoteTrunc(v)),
			Parameter: param,
			Allowed:   symbolAllowed,
		}
	}
	if !upper {
		v = strings.ToUpper(v)
	}
	return v, nil
}

var limitAllowed = fmt.Sprintf("1..%d", MaxLimit)

func parseLimit(v string) (int, *apiError) {
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, &apiError{
			Message:   fmt.Sprintf("limit must be an integer %s, got %s", limitAllowed, quoteTrunc(v)),
			Parameter: "limit",
			Allowed:   limitAllowed,
		}
	}
	if n < 1 || n > MaxLimit {
		return 0, &apiError{
			Message:   fmt.Sprintf("limit must be %s, got %d", limitAllowed, n),
			Parameter: "limit",
			Allowed:   limitAllowed,
		}
	}
	return n, nil
}

const sinceAllowed = "an RFC 3339 time, e.g. 2024-05-01T12:00:00Z"

// parseSince parses an RFC 3339 time. A '+' in an unescaped offset arrives as a space (the query
// encoding of '+'), so "12:00:00 02:00" is read as "12:00:00+02:00" rather than refused.
func parseSince(v string) (time.Time, *apiError) {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil && strings.Count(v, " ") == 1 {
		t, err = time.Parse(time.RFC3339Nano, strings.Replace(v, " ", "+", 1))
	}
	// A zone can move a time at the edge of the format out of it (0000-01-01T00:30:00+01:00 is in
	// year -1 in UTC): such a time could not be written back, and no alert is that old or new.
	if y := t.UTC().Year(); err == nil && (y < 1 || y > 9999) {
		err = errors.New("out of range")
	}
	if err != nil {
		return time.Time{}, &apiError{
			Message:   fmt.Sprintf("since must be %s, got %s", sinceAllowed, quoteTrunc(v)),
			Parameter: "since",
			Allowed:   sinceAllowed,
		}
	}
	return t.UTC(), nil
}
